#!/bin/sh
# Fails when a release binary carries a path of the tree it was built in:
# a default such as env!("CARGO_MANIFEST_DIR") would send a packaged
# program looking for its files in the build machine's checkout.
# Usage: check-build-paths.sh [BINARY...]   (after cargo build --release;
# .ci/run checks all six; a --no-default-features build has no munin-master)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
status=0
bins=${*:-munin-node munin-run munin-node-configure munin-plugins tahoe-stats stats-gatherer munin-master}
for b in $bins; do
    f="$here/target/release/$b"
    if [ ! -x "$f" ]; then
        echo "check-build-paths: $f is missing (cargo build --release first)" >&2
        status=1
        continue
    fi
    found=$(strings -n 6 "$f" | grep -cF "$here" || true)
    if [ "$found" != 0 ]; then
        echo "check-build-paths: $b holds $found strings naming $here:" >&2
        strings -n 6 "$f" | grep -F "$here" | head -n 5 >&2
        status=1
    fi
done
[ $status = 0 ] && echo "check-build-paths: no release binary names $here"
exit $status
