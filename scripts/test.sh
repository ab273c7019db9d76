#!/bin/sh
# The README's test command: install the test dependencies, then run the whole
# test suite. It compares our node with Debian's munin-node and lets the real
# munin-update poll it, which needs root (plugins switch users).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
"$here/scripts/install-deps.sh" --test
cargo test --locked
