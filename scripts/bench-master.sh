#!/bin/sh
# munin-master update benchmark for BENCHMARKS.md: the real munin-update
# (Debian munin 2.0.73, run as user munin) and our munin-master update on
# the same simulated fleet (munin-fleet: 20 plugins of 5 fields a node), in
# the same run, for each size given (default: 50 200). Per size: one run of
# each that creates the RRD files, then RUNS steady runs of each (updating
# existing files, what cron does every interval), alternating; wall and CPU
# from /usr/bin/time. Both use update_rate 300 (Munin's default), so both
# write the same files. Also times `munin-master poll` (polling alone).
# Usage (as root): scripts/bench-master.sh [SIZES...]   RUNS=5 by default.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
sizes=${*:-50 200}
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins >/dev/null 2>&1
work=$(mktemp -d /var/tmp/bench-master.XXXXXX)
chmod 755 "$work"
fleet_pid=
cleanup() { [ -n "$fleet_pid" ] && kill "$fleet_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
max=0
for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
"$here/target/release/munin-fleet" --nodes "$max" >"$work/hosts.conf" &
fleet_pid=$!
count() { c=$(grep -c '^\[' "$work/hosts.conf" 2>/dev/null) || true; echo "${c:-0}"; }
while [ "$(count)" -lt "$max" ]; do sleep 0.2; done
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
timed() { # label command...
    label=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    echo "$label $(cat "$work/t")"
    # Errors reported by a run that still exited 0 (a node, a file).
    if [ -s "$work/err" ]; then echo "  stderr: $(head -c 300 "$work/err")"; fi
}
for n in $sizes; do
    d="$work/n$n"
    mkdir -p "$d/db" "$d/www" "$d/log" "$d/run" "$d/ours" "$d/run-ours"
    lines=$((n * 4))
    { printf 'dbdir %s/db\nhtmldir %s/www\nlogdir %s/log\nrundir %s/run\n' "$d" "$d" "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/munin.conf"
    { printf 'dbdir %s/ours\nrundir %s/run-ours\nupdate_rate 300\n' "$d" "$d"; head -n "$lines" "$work/hosts.conf"; } >"$d/ours.conf"
    chown -R munin:munin "$d"
    echo "== $n nodes x 20 plugins x 5 fields ($((n * 100)) values); label wall user sys (s)"
    timed "create:munin-update" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
    timed "create:munin-master" "$here/target/release/munin-master" update --config "$d/ours.conf"
    echo "files: munin-update $(find "$d/db" -name '*.rrd' | wc -l), munin-master $(find "$d/ours" -name '*.rrd' | wc -l)"
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 1
        timed "steady:munin-update" runuser -u munin -- /usr/share/munin/munin-update --config_file "$d/munin.conf"
        timed "steady:munin-master" "$here/target/release/munin-master" update --config "$d/ours.conf"
        timed "poll:munin-master" "$here/target/release/munin-master" poll --config "$d/ours.conf"
        i=$((i + 1))
    done
done
