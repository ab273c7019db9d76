#!/bin/sh
# munin-master update benchmark for BENCHMARKS.md: the real munin-update
# (Debian munin 2.0.73, run as user munin) and our munin-master update on
# the same simulated fleet (munin-fleet: 20 plugins of 5 fields a node), in
# the same run, for each size given (default: 50 200). Per size: one run of
# each that creates the RRD files, then RUNS steady runs of each (updating
# existing files, what cron does every interval), alternating; wall and CPU
# from /usr/bin/time. Both use update_rate 300 (Munin's default), so both
# write the same files. Also times `munin-master poll` (polling alone), and
# our master with rrdcached_socket pointing at Debian's rrdcached (started
# here with a journal, as Debian runs it, flushing each file hourly), and
# munin-update with the same rrdcached.
# Usage (as root): scripts/bench-master.sh [SIZES...]   RUNS=5 by default.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
sizes=${*:-50 200}
work_name=bench-master
# shellcheck source=scripts/bench-master-common.sh
. "$here/scripts/bench-master-common.sh"
mkdir -p "$work/journal"
rrdcached -m 0666 -l "unix:$work/rrdcached.sock" -p "$work/rrdcached.pid" -j "$work/journal" -w 3600 -z 1800 -f 7200 -B -b "$work"
for n in $sizes; do
    d="$work/n$n"
    mkdir -p "$d/db" "$d/www" "$d/log" "$d/run" "$d/ours" "$d/run-ours" "$d/cached" "$d/run-cached" "$d/db-cached" "$d/run-mc"
    lines=$((n * 4))
    { printf 'dbdir %s/db\nhtmldir %s/www\nlogdir %s/log\nrundir %s/run\n' "$d" "$d" "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/munin.conf"
    { printf 'dbdir %s/ours\nrundir %s/run-ours\nupdate_rate 300\n' "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/ours.conf"
    { printf 'dbdir %s/db-cached\nhtmldir %s/www\nlogdir %s/log\nrundir %s/run-mc\nrrdcached_socket %s/rrdcached.sock\n' "$d" "$d" "$d" "$d" "$work"; head -n "$lines" "$work/hosts.conf"; } >"$d/munin-cached.conf"
    { printf 'dbdir %s/cached\nrundir %s/run-cached\nupdate_rate 300\nrrdcached_socket %s/rrdcached.sock\n' "$d" "$d" "$work"; head -n "$lines" "$work/hosts.conf"; } >"$d/cached.conf"
    chown -R munin:munin "$d"
    echo "== $n nodes x 20 plugins x 5 fields ($((n * 100)) values); label wall user sys (s)"
    timed "create:munin-update" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
    timed "create:munin-master" "$here/target/release/munin-master" update --config "$d/ours.conf"
    timed "create:munin-update+rrdcached" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin-cached.conf"
    timed "create:munin-master+rrdcached" "$here/target/release/munin-master" update --config "$d/cached.conf"
    echo "files: munin-update $(find "$d/db" -name '*.rrd' | wc -l), munin-master $(find "$d/ours" -name '*.rrd' | wc -l)"
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 1
        timed "steady:munin-update" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
        timed "steady:munin-master" "$here/target/release/munin-master" update --config "$d/ours.conf"
        timed "poll:munin-master" "$here/target/release/munin-master" poll --config "$d/ours.conf"
        timed "steady:munin-update+rrdcached" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin-cached.conf"
        timed "steady:munin-master+rrdcached" "$here/target/release/munin-master" update --config "$d/cached.conf"
        i=$((i + 1))
    done
done
echo "== medians (wall, CPU = user + sys), s"
python3 "$here/scripts/bench-medians.py" "$work/results"
