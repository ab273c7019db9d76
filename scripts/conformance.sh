#!/bin/sh
# Runs the shared conformance kit (CI has it in ../shared) against our node:
#   1. re-records the reference from the real munin-node on this machine,
#   2. node-check.py (core checks, then --quirks) against our node,
#   3. master-check.sh: the real Munin master polls our node.
# Usage: conformance.sh SHARED_DIR   (as root; needs munin-node and munin)
set -eu
. "$(dirname "$0")/kit.sh"
kit_setup "$1"
real_port=$(free_port)
our_port=$(free_port)

echo "== recording the reference from the real munin-node"
start_real_node "$real_port"
python3 "$kit/node-check.py" --record "127.0.0.1:$real_port" "$work/reference"
kill "$real_pid"
real_pid=

echo "== starting our node on the same fixture"
start_our_node "$our_port"
echo "== node-check.py (core)"
python3 "$kit/node-check.py" "127.0.0.1:$our_port" "$work/reference"
echo "== node-check.py --quirks"
python3 "$kit/node-check.py" --quirks "127.0.0.1:$our_port" "$work/reference"
echo "== master-check.sh"
"$kit/master-check.sh" "127.0.0.1:$our_port"
echo "== conformance: all passed"
