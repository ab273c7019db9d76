#!/bin/sh
# Installs Tahoe-LAFS 1.20 from PyPI into a virtualenv (default
# target/tahoe-venv), for the gatherer's end-to-end test and for running a
# local node. Idempotent; prints the path of the `tahoe` program.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv="${TAHOE_VENV:-$here/target/tahoe-venv}"
version=1.20.0
if ! "$venv/bin/tahoe" --version 2>/dev/null | grep -q "tahoe-lafs/$version"; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "tahoe-lafs==$version" >&2
fi
echo "$venv/bin/tahoe"
