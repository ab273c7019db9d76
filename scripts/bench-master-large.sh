#!/bin/sh
# munin-master update at fleet scale, for BENCHMARKS.md: our master alone
# (munin-update needs minutes here) against simulated fleets (munin-fleet,
# 20 plugins of 5 fields a node) with the default update_rate 60 (minute
# points kept 2 days), next to the bare librrd cost of the same updates in
# the same run. Per size: one run that creates the files; RUNS steady runs
# storing directly (store workers); the same updates given to librrd alone
# (`rrdtool -`: one process reading "update FILE TIME:VALUE" lines, no
# polling, no parsing; then two such processes, one per CPU); RUNS steady
# runs through Debian's rrdcached (journal on, as Debian runs it), and the
# time rrdcached then takes to write what it held (-F: flushed at exit).
# Wall and CPU from /usr/bin/time (ours includes its store workers).
# Usage (as root): scripts/bench-master-large.sh [SIZES...]  default 1000 3000,
# RUNS=3. Needs about 10.5 GB of disk per 1000 nodes under /var/tmp.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
sizes=${*:-1000 3000}
master=$here/target/release/munin-master
work_name=bench-large
# shellcheck source=scripts/bench-master-common.sh
. "$here/scripts/bench-master-common.sh"
steady() { # label conf: RUNS steady runs of our master
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 2
        timed "$1" "$master" update --config "$2"
        i=$((i + 1))
    done
}
for n in $sizes; do
    d="$work/n$n"
    mkdir -p "$d/db" "$d/run" "$d/log" "$d/journal"
    lines=$((n * 4))
    { printf 'dbdir %s/db\nrundir %s/run\nlogdir %s/log\n' "$d" "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/direct.conf"
    # Global settings come before the first host section.
    { printf 'rrdcached_socket %s/rrdcached.sock\n' "$work"; cat "$d/direct.conf"; } >"$d/cached.conf"
    echo "== $n nodes x 20 plugins x 5 fields ($((n * 100)) values), update_rate 60; label wall user sys (s)"
    timed "create:munin-master" "$master" update --config "$d/direct.conf"
    echo "files: $(find "$d/db" -name '*.rrd' | wc -l), $(du -sh "$d/db" | cut -f1)"
    steady "steady:munin-master" "$d/direct.conf"
    tail -n 1 "$d/log/munin-master-update.log"
    # librrd alone: the same files, one update each, as fast as it goes.
    find "$d/db" -name '*.rrd' >"$work/files"
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 2
        t=$(($(date +%s) + 1))
        awk -v t="$t" '{print "update " $0 " " t ":1"}' "$work/files" >"$work/upd"
        sleep 1
        timed "librrd:rrdtool-1-process" sh -c "rrdtool - <'$work/upd' | grep -v '^OK' | head -3"
        sleep 2
        t=$(($(date +%s) + 1))
        awk -v t="$t" '{print "update " $0 " " t ":1"}' "$work/files" >"$work/upd"
        split -n l/2 "$work/upd" "$work/part."
        sleep 1
        timed "librrd:rrdtool-2-processes" sh -c "rrdtool - <'$work/part.aa' >/dev/null & rrdtool - <'$work/part.ab' >/dev/null; wait"
        i=$((i + 1))
    done
    rrdcached -l "unix:$work/rrdcached.sock" -p "$work/rrdcached.pid" -j "$d/journal" -w 3600 -z 1800 -f 7200 -F -B -b "$work"
    steady "steady:munin-master+rrdcached" "$d/cached.conf"
    tail -n 1 "$d/log/munin-master-update.log"
    # What rrdcached held, written at its exit (-F: one librrd call per
    # file carrying all the runs' values): the write cost it takes off the
    # runs, paid once per flush interval.
    pid=$(cat "$work/rrdcached.pid")
    start=$(date +%s%N)
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    echo "rrdcached:flush-at-exit $((($(date +%s%N) - start) / 1000000)) ms"
    rm -rf "$d"
done
echo "== medians (wall, CPU = user + sys), s"
python3 "$here/scripts/bench-medians.py" "$work/results"
