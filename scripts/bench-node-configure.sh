#!/bin/sh
# munin-node-configure for BENCHMARKS.md: ours beside Debian's, alternating,
# on munin-plugins-core's library with Debian's plugin-conf.d and an empty
# plugin directory (so every auto plugin is asked): `--suggest` (autoconf
# and suggest of every plugin) and the plain status table (no plugin runs).
# Medians of RUNS runs each. Run on a quiet machine.
# Usage: bench-node-configure.sh [RUNS]   (as root; munin-node installed;
# after cargo build --release)
set -eu
runs=${1:-11}
here=$(cd "$(dirname "$0")/.." && pwd)
ours=$here/target/release/munin-node-configure
theirs=/usr/sbin/munin-node-configure
[ -x "$ours" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x "$theirs" ] || { echo "needs Debian's munin-node" >&2; exit 1; }
sd=$(mktemp -d)
out=$(mktemp)
trap 'rm -rf "$sd" "$out"' EXIT INT TERM
common="--libdir /usr/share/munin/plugins --servicedir $sd --config /etc/munin/munin-node.conf --sconfdir /etc/munin/plugin-conf.d"
for mode in suggest status; do
    flag=; [ $mode = suggest ] && flag=--suggest
    i=0
    while [ $i -lt "$runs" ]; do
        for who in theirs ours; do
            exe=$theirs; [ $who = ours ] && exe=$ours
            /usr/bin/time -f "$mode $who %e %U %S" -a -o "$out" \
                "$exe" $flag $common >/dev/null 2>&1 || true
        done
        i=$((i + 1))
    done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 5 or parts[0] not in ("suggest", "status"):
        continue  # "Command exited with non-zero status 1": plugin errors
    mode, who, wall, user, system = parts
    rows[(mode, who)].append((float(wall), float(user) + float(system)))
for mode in ("suggest", "status"):
    med = {}
    for who in ("theirs", "ours"):
        v = rows[(mode, who)]
        walls = sorted(w for w, _ in v)
        med[who] = statistics.median(walls)
        cpu = statistics.median(c for _, c in v)
        print(f"{mode:8} {who:6} wall {med[who]:6.3f} s ({walls[0]:.3f}-{walls[-1]:.3f})  cpu {cpu:6.3f} s  runs {len(v)}")
    if med['ours'] >= 0.01:
        print(f"{mode:8} ratio  {med['theirs'] / med['ours']:.1f}x")
    else:
        print(f"{mode:8} ratio  ours below /usr/bin/time's 0.01 s resolution")
PY
