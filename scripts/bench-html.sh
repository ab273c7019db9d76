#!/bin/sh
# munin-master html benchmark for BENCHMARKS.md: the real munin-html +
# munin-graph --cron (Debian munin 2.0.73, run as user munin) and our
# munin-master html on the same simulated fleet (munin-fleet: 20 plugins of
# 5 fields a node, 4 graphs each), in the same run. Each side's RRDs come
# from two updates of its own master (munin-update / munin-master update,
# update_rate 300) of the same fleet. Per run, alternating:
#   first:  the whole site drawn into a new, empty htmldir (Munin; ours
#           with graph worker processes, one per CPU, and ours drawing
#           in-process). New directories rather than emptied ones: on ext4
#           without a journal (this benchmark machine's root), creating a
#           file within minutes of deleting thousands scans every recently
#           deleted inode (the kernel's recently_deleted()), which no real
#           first render pays; the old sites are deleted at exit;
#   floor:  librrd's bare cost of the same graphs: what our html's graph
#           workers read (captured once with strace, turned into lines by
#           graph-floor.py) drawn by `rrdtool -` reading `graphv PNG
#           ARGS...` lines, in as many processes as ours has graph workers
#           (one per CPU), into a new directory each run. rrdtool writes
#           its PNGs with libpng's defaults, ours faster (see pngfast.rs);
#   steady: after one more update each, the next cron's site (within the
#           same 5-minute step no archive row completes, so neither side
#           has a graph to redraw: this is the pages' cost).
# Usage (as root): scripts/bench-html.sh [NODES]   (default 50), RUNS=3.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
sizes=${1:-50}
work_name=bench-html
# shellcheck source=scripts/bench-master-common.sh
. "$here/scripts/bench-master-common.sh"
master="$here/target/release/munin-master"
for n in $sizes; do
    d="$work/n$n"
    mkdir -p "$d/db" "$d/log" "$d/run" "$d/ours" "$d/log-ours" "$d/run-ours"
    lines=$((n * 4))
    # Both sides' configurations, with the htmldirs of run $1.
    configure() {
        { printf 'dbdir %s/db\nhtmldir %s/www-%s\nlogdir %s/log\nrundir %s/run\n' "$d" "$d" "$1" "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/munin.conf"
        { printf 'dbdir %s/ours\nhtmldir %s/www-ours-%s\nlogdir %s/log-ours\nrundir %s/run-ours\nupdate_rate 300\n' "$d" "$d" "$1" "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/ours.conf"
        sed "s|^htmldir .*|htmldir $d/www-inprocess-$1|" "$d/ours.conf" >"$d/inprocess.conf"
        mkdir -p "$d/www-$1"
        chown -R munin:munin "$d"
    }
    configure 0
    # munin-html needs the limits file: munin-limits is part of the update here.
    munin_update() {
        runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
        runuser -u munin -- /usr/share/munin/munin-limits --config "$d/munin.conf"
    }
    for _ in 1 2; do
        munin_update
        "$master" update --config "$d/ours.conf" >/dev/null
        sleep 1
    done
    # The graphs our first render draws, as `rrdtool -` lines.
    command -v strace >/dev/null || apt-get install -y -qq strace >/dev/null
    sed "s|^htmldir .*|htmldir $d/www-capture|" "$d/ours.conf" >"$d/capture.conf"
    rm -f "$d/ours/munin-rs-state/graphs.json"
    mkdir -p "$work/strace"
    strace -ff -xx -s 100000000 -e trace=read -o "$work/strace/p" "$master" html --config "$d/capture.conf" >/dev/null
    procs=$(nproc)
    echo "== $n nodes x 20 plugins x 5 fields ($((n * 20)) graphs x 4 periods); label wall user sys (s)"
    i=0
    while [ "$i" -lt "$runs" ]; do
        configure $((i + 1))
        rm -f "$d/ours/munin-rs-state/graphs.json"
        timed "first:munin-html" runuser -u munin -- /usr/share/munin/munin-html --config "$d/munin.conf"
        timed "first:munin-graph" runuser -u munin -- /usr/share/munin/munin-graph --cron --config "$d/munin.conf"
        timed "first:munin-master-html" "$master" html --config "$d/ours.conf"
        mkdir -p "$d/floor-$i"
        python3 "$here/scripts/graph-floor.py" "$d/floor-$i" "$work/strace/p".* >"$work/graphs" 2>"$work/graphs.err"
        rm -f "$work/gpart."*
        split -n "l/$procs" "$work/graphs" "$work/gpart."
        timed "first:librrd-graph-floor-$procs-processes" sh -c "for p in $work/gpart.*; do rrdtool - <\"\$p\" >/dev/null & done; wait"
        echo "  floor: $(cat "$work/graphs.err"), $(find "$d/floor-$i" -name '*.png' | wc -l) PNG"
        rm -f "$d/ours/munin-rs-state/graphs.json"
        timed "first:munin-master-html-inprocess" "$master" html --workers 0 --config "$d/inprocess.conf"
        munin_update
        "$master" update --config "$d/ours.conf" >/dev/null
        timed "steady:munin-html" runuser -u munin -- /usr/share/munin/munin-html --config "$d/munin.conf"
        timed "steady:munin-graph" runuser -u munin -- /usr/share/munin/munin-graph --cron --config "$d/munin.conf"
        timed "steady:munin-master-html" "$master" html --config "$d/ours.conf"
        echo "  ours: $(tail -n 1 "$d/log-ours/munin-master-html.log" | cut -d' ' -f2-)"
        w="$d/www-$((i + 1))" o="$d/www-ours-$((i + 1))"
        echo "  files: munin $(find "$w" -name '*.png' | wc -l) PNG $(find "$w" -name '*.html' | wc -l) HTML; ours $(find "$o" -name '*.png' | wc -l) PNG $(find "$o" -name '*.html' | wc -l) HTML"
        i=$((i + 1))
    done
done
echo "== medians (wall, CPU = user + sys), s"
python3 "$here/scripts/bench-medians.py" "$work/results"
