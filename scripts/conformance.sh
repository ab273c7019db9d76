#!/bin/sh
# Runs the shared conformance kit (CI has it in ../shared) against our node:
#   1. re-records the reference from the real munin-node on this machine,
#   2. node-check.py (core checks, then --quirks) against our node,
#   3. master-check.sh: the real Munin master polls our node.
# Usage: conformance.sh SHARED_DIR
set -eu
shared=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/munin-rs-conformance.XXXXXX)
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
real_port=$(free_port)
our_port=$(free_port)
while [ "$our_port" = "$real_port" ]; do our_port=$(free_port); done

cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins
"$here/scripts/materialize-fixture.sh" "$shared/conformance" "$work/kit"
kit="$work/kit"

echo "== recording the reference from the real munin-node"
real_pid=$(PORT=$real_port PLUGINS_DIR="$kit/plugins-fixture" PLUGIN_CONF_DIR="$kit/plugin-conf.d-fixture" \
    RUNDIR="$work/real-node" "$kit/run-real-node.sh")
python3 "$kit/node-check.py" --record 127.0.0.1:$real_port "$work/reference"
kill "$real_pid"
real_pid=

echo "== starting our node on the same fixture"
cat > "$work/munin-node.conf" <<CONF
host 127.0.0.1
port $our_port
host_name munin-fixture.local
allow ^127\.0\.0\.1$
plugin_state_dir $work/state
ignore_file [\#~]\$
ignore_file DEADJOE\$
ignore_file \.bak\$
ignore_file %\$
ignore_file \.dpkg-(tmp|new|old|dist)\$
ignore_file \.rpm(save|new)\$
ignore_file \.pod\$
CONF
"$here/target/release/munin-node" --config "$work/munin-node.conf" \
    --servicedir "$kit/plugins-fixture" --sconfdir "$kit/plugin-conf.d-fixture" \
    2> "$work/our-node.log" &
our_pid=$!
i=0
until grep -q "listening on" "$work/our-node.log"; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$our_pid" 2>/dev/null; then
        cat "$work/our-node.log" >&2
        echo "our node did not start" >&2
        exit 1
    fi
    sleep 0.1
done

echo "== node-check.py (core)"
python3 "$kit/node-check.py" 127.0.0.1:$our_port "$work/reference"
echo "== node-check.py --quirks"
python3 "$kit/node-check.py" --quirks 127.0.0.1:$our_port "$work/reference"
echo "== master-check.sh"
"$kit/master-check.sh" 127.0.0.1:$our_port
echo "== conformance: all passed"
