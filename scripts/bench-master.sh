#!/bin/sh
# munin-master update benchmark for BENCHMARKS.md: the real munin-update
# (Debian munin 2.0.73, run as user munin), our munin-master update and the
# bare librrd floor on the same simulated fleet (munin-fleet: 20 plugins of
# 5 fields a node, every fifth field a DERIVE), in the same run, for each
# size given. Everything uses update_rate 300 (Munin's default), so every
# side writes the same 20-plugin x 5-field files. Per size:
#   first:   FIRST runs of each that create every file, each into a new
#            dbdir (the last one is kept for the steady runs);
#   steady:  RUNS runs of each, alternating (what cron does every
#            interval): munin-update, ours, and the floor: the same
#            updates on our files by a minimal librrd loop (`rrdtool -`
#            reading "update FILE TIME:VALUE" lines, no polling, no
#            parsing, no state) in as many processes as ours has store
#            workers (one per CPU);
#   cached:  both masters through rrdcached, each its own fresh rrdcached
#            (journal on, -w 3600, as Debian runs it): first, then RUNS
#            steady runs alternating.
# munin-update runs only up to MUNIN_MAX nodes (default 200: at 1000 a run
# takes it minutes). Wall, CPU (children included: munin-update's forks,
# our store workers, the floor's processes) and the largest process's peak
# RSS from /usr/bin/time; our own log line per run too (phase times, RSS).
# Usage (as root): scripts/bench-master.sh [SIZES...]  default 200;
# RUNS=5 FIRST=3 MUNIN_MAX=200 CACHED_MAX (sizes above it skip the
# rrdcached runs; default none). Disk: about 5 GB per 1000 nodes per dbdir.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
firsts=${FIRST:-3}
munin_max=${MUNIN_MAX:-200}
cached_max=${CACHED_MAX:-1000000}
sizes=${*:-200}
work_name=bench-master
master=$here/target/release/munin-master
# shellcheck source=scripts/bench-master-common.sh
. "$here/scripts/bench-master-common.sh"
procs=$(nproc)
cacheds=
cleanup_cached() {
    for p in $cacheds; do kill "$(cat "$p")" 2>/dev/null || true; done
}
trap 'cleanup_cached; cleanup' EXIT
# cached NAME: a fresh rrdcached of its own, socket $work/NAME.sock.
cached() {
    mkdir -p "$work/$1.journal"
    rrdcached -m 0666 -l "unix:$work/$1.sock" -p "$work/$1.pid" -j "$work/$1.journal" -w 3600 -z 1800 -f 7200 -B -b "$work"
    cacheds="$cacheds $work/$1.pid"
}
# floor LABEL DBDIR: one update of every file under DBDIR by `rrdtool -` in
# $procs processes, at a time after every stored one.
floor() {
    find "$2" -name '*.rrd' >"$work/files"
    t=$(($(date +%s) + 1))
    awk -v t="$t" '{print "update " $0 " " t ":1"}' "$work/files" >"$work/upd"
    rm -f "$work/part."*
    split -n "l/$procs" "$work/upd" "$work/part."
    sleep 2
    timed "$1" sh -c "for p in $work/part.*; do rrdtool - <\"\$p\" >/dev/null & done; wait"
    # The next run's values must be newer than the floor's.
    sleep 2
}
ours_log() { # the run's own line: its phases and peak RSS
    echo "  ours: $(tail -n 1 "$1/log/munin-master-update.log" | cut -d' ' -f2-)"
}
for n in $sizes; do
    d="$work/n$n"
    lines=$((n * 4))
    mkdir -p "$d/log" "$d/run"
    conf() { # dbdir [extra line]: our configuration
        printf 'dbdir %s\nrundir %s/run\nlogdir %s/log\nupdate_rate 300\n%s\n' "$1" "$d" "$d" "${2:-}"
        head -n "$lines" "$work/hosts.conf"
    }
    munin_conf() { # dbdir [extra line]: munin-update's
        printf 'dbdir %s\nhtmldir %s/www\nlogdir %s/log\nrundir %s/run\n%s\n' "$1" "$d" "$d" "$d" "${2:-}"
        head -n "$lines" "$work/hosts.conf"
    }
    with_munin=$([ "$n" -le "$munin_max" ] && echo 1 || echo 0)
    echo "== $n nodes x 20 plugins x 5 fields ($((n * 100)) values), update_rate 300; label wall user sys (s) maxrss (KB)"
    i=1
    while [ "$i" -le "$firsts" ]; do
        mkdir -p "$d/db.$i" "$d/ours.$i"
        conf "$d/ours.$i" >"$d/ours.conf"
        munin_conf "$d/db.$i" >"$d/munin.conf"
        chown -R munin:munin "$d"
        if [ "$with_munin" = 1 ]; then
            timed "first:munin-update" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
        fi
        timed "first:munin-master" "$master" update --config "$d/ours.conf"
        ours_log "$d"
        # What the creates left for the kernel to write is not the next
        # run's cost.
        sync
        i=$((i + 1))
    done
    echo "files: ours $(find "$d/ours.$firsts" -name '*.rrd' | wc -l)"
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 1
        if [ "$with_munin" = 1 ]; then
            timed "steady:munin-update" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
        fi
        timed "steady:munin-master" "$master" update --config "$d/ours.conf"
        ours_log "$d"
        floor "steady:librrd-floor-$procs-processes" "$d/ours.$firsts"
        i=$((i + 1))
    done
    sync
    if [ "$n" -gt "$cached_max" ]; then
        rm -rf "$d"
        continue
    fi
    # Each master through its own fresh rrdcached.
    cached "mc$n"
    cached "oc$n"
    mkdir -p "$d/db-cached" "$d/ours-cached"
    conf "$d/ours-cached" "rrdcached_socket $work/oc$n.sock" >"$d/cached.conf"
    munin_conf "$d/db-cached" "rrdcached_socket $work/mc$n.sock" >"$d/munin-cached.conf"
    chown -R munin:munin "$d"
    if [ "$with_munin" = 1 ]; then
        timed "first:munin-update+rrdcached" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin-cached.conf"
    fi
    timed "first:munin-master+rrdcached" "$master" update --config "$d/cached.conf"
    sync
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 1
        if [ "$with_munin" = 1 ]; then
            timed "steady:munin-update+rrdcached" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin-cached.conf"
        fi
        timed "steady:munin-master+rrdcached" "$master" update --config "$d/cached.conf"
        ours_log "$d"
        i=$((i + 1))
    done
    cleanup_cached
    cacheds=
    rm -rf "$d"
done
echo "== medians (wall, CPU = user + sys), s; per-run ratios against munin-update"
python3 "$here/scripts/bench-medians.py" "$work/results"
