#!/bin/sh
# Node benchmark for BENCHMARKS.md: Debian's munin-node and ours serve the
# same shared conformance fixture; the shared measure-node-latency.py times
# both in the same run, and their idle RSS is read from /proc.
# Usage: bench-node.sh SHARED_DIR [RUNS]   (as root; needs munin-node installed)
set -eu
shared=$(cd "$1" && pwd)
runs=${2:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/munin-rs-bench.XXXXXX)
chmod 755 "$work"
real_pid=
our_pid=
cleanup() {
    [ -n "$real_pid" ] && kill "$real_pid" 2>/dev/null || true
    [ -n "$our_pid" ] && kill "$our_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins >/dev/null 2>&1
"$here/scripts/materialize-fixture.sh" "$shared/conformance" "$work/kit"
kit="$work/kit"
real_port=$(free_port)
real_pid=$(PORT=$real_port PLUGINS_DIR="$kit/plugins-fixture" PLUGIN_CONF_DIR="$kit/plugin-conf.d-fixture" \
    RUNDIR="$work/real-node" "$kit/run-real-node.sh")
our_port=$(free_port)
cat > "$work/munin-node.conf" <<CONF
host 127.0.0.1
port $our_port
host_name munin-fixture.local
allow ^127\.0\.0\.1$
plugin_state_dir $work/state
ignore_file [\#~]\$
ignore_file \.dpkg-(tmp|new|old|dist)\$
CONF
"$here/target/release/munin-node" --config "$work/munin-node.conf" \
    --servicedir "$kit/plugins-fixture" --sconfdir "$kit/plugin-conf.d-fixture" 2> "$work/our.log" &
our_pid=$!
until grep -q "listening on" "$work/our.log"; do sleep 0.1; done
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
