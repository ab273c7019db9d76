#!/bin/sh
# The README's first command: install what is needed, build, link the core
# plugins into plugins/, and run munin-node on its embedded configuration
# (127.0.0.1:4949, serving plugins/ with plugin-conf.d/).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
cargo build --release --manifest-path "$here/Cargo.toml" --bins
"$here/scripts/link-plugins.sh"
echo "munin-node: serving $here/plugins on 127.0.0.1:4949 (try: printf 'list\\nfetch load\\nquit\\n' | nc 127.0.0.1 4949)"
exec "$here/target/release/munin-node" --foreground
