#!/bin/sh
# tahoe-stats benchmark for BENCHMARKS.md: one whole `fetch` process over a
# 40-node and a 3000-node snapshot, as a protocol-0 pickle (what the original
# Python 2 gatherer wrote) and a protocol-2 one (what ours writes), ours next
# to the original Python plugin on the same file, timed by hyperfine
# (apt-get install hyperfine). With valgrind installed, the 3000-node cases
# are also counted in instructions (callgrind), which the machine's noise
# does not move.
# Usage: bench-tahoe.sh ORIGINAL_TAHOE_STATS
#   ORIGINAL_TAHOE_STATS: a local copy of the original plugin (tahoe-lafs git
#   blob bd03aaea: `git show bd03aaea > /tmp/tahoe_stats.orig`), never committed.
set -eu
original=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bin tahoe-stats >/dev/null 2>&1
graph=tahoe_storage_operations_get
# The real interpreter, not a wrapper script (pyenv shims), for valgrind.
python=$(python3 -c 'import sys; print(sys.executable)')
ln -s "$here/target/release/tahoe-stats" "$work/$graph"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(python3 --version)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
for case in 40:py2-0 3000:py2-0 40:py2-2 3000:py2-2; do
    n=${case%%:*}
    format=${case#*:}
    python3 "$here/tests/fixtures/tahoe/make_grid.py" "$n" "$work/grid-$n.json"
    python3 "$here/tests/fixtures/tahoe/make_snapshot.py" "$work/grid-$n.json" "$work/stats-$n.pickle" "$format"
    # Same output, or the comparison means nothing.
    a=$(statsfile="$work/stats-$n.pickle" "$work/$graph" | md5sum)
    b=$(statsfile="$work/stats-$n.pickle" python3 "$here/scripts/tahoe-original.py" "$original" "$graph" | md5sum)
    [ "$a" = "$b" ] || { echo "outputs differ for $n nodes" >&2; exit 1; }
    echo "== $n nodes, $format, $(stat -c %s "$work/stats-$n.pickle") bytes"
    statsfile="$work/stats-$n.pickle" hyperfine -N --warmup 3 --runs 50 \
        --export-json "$work/h-$n.json" \
        -n "munin-rs tahoe-stats" "$work/$graph" \
        -n "original (python3)" "python3 $here/scripts/tahoe-original.py $original $graph" >/dev/null
    python3 - "$work/h-$n.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ours, orig = r[0]["median"] * 1000, r[1]["median"] * 1000
print("  munin-rs %.2f ms, original %.1f ms (medians of %d): %.0fx faster" % (ours, orig, len(r[0]["times"]), orig / ours))
PY
    if [ "$n" -ge 1000 ] && command -v valgrind >/dev/null; then
        count() { statsfile="$work/stats-$n.pickle" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'; }
        a=$(count "$work/$graph")
        b=$(count "$python" "$here/scripts/tahoe-original.py" "$original" "$graph")
        echo "  instructions: munin-rs $a, original $b: $(python3 -c "print('%.1f' % ($b / $a))")x fewer"
    fi
done
