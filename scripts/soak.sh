#!/bin/sh
# Soak test (not in CI): the whole stack for MINUTES (default 30) under a
# mixed load of good and hostile clients, then a report for BENCHMARKS.md:
# RSS of every process (start, end, peak), errors beyond the hostile
# clients' own, and whether every good value was stored.
#
#   scripts/soak.sh 30
#
# See scripts/soak.py for what runs. Exits non-zero when a check fails.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins >/dev/null
exec python3 "$here/scripts/soak.py" "${1:-30}"
