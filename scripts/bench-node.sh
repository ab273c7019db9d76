#!/bin/sh
# Node benchmark for BENCHMARKS.md: Debian's munin-node and ours serve the
# same shared conformance fixture; the kit's measure-node-latency.py times
# both in the same run, and their RSS is read from /proc.
# Usage: bench-node.sh SHARED_DIR [RUNS]   (as root; needs munin-node installed)
set -eu
. "$(dirname "$0")/kit.sh"
runs=${2:-30}
kit_setup "$1" >/dev/null 2>&1
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
real_port=$(free_port)
start_real_node "$real_port"
our_port=$(free_port)
start_our_node "$our_port"
sleep 2

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "idle RSS after start: real munin-node $(rss_kb "$real_pid") kB, munin-rs $(rss_kb "$our_pid") kB"
echo "== real munin-node (Debian 2.0.73)"
python3 "$kit/measure-node-latency.py" "127.0.0.1:$real_port" --runs "$runs"
echo "== munin-rs munin-node"
python3 "$kit/measure-node-latency.py" "127.0.0.1:$our_port" --runs "$runs"
# Idle again after the load: one more connection lets the node trim its heap.
printf 'quit\n' | nc -q 1 127.0.0.1 "$our_port" >/dev/null 2>&1 || true
sleep 1
echo "idle RSS after the runs: real munin-node $(rss_kb "$real_pid") kB, munin-rs $(rss_kb "$our_pid") kB"
echo "binary: $(stat -c %s "$here/target/release/munin-node") bytes (stripped)"
