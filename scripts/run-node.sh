#!/bin/sh
# munin-node alone on the embedded defaults: install what is needed, build,
# stage the binaries and configuration (scripts/stage-stack.sh), link the
# plugins that have data here, and run the node in the foreground on
# 127.0.0.1:4949.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
stack=$("$here/scripts/stage-stack.sh" | tail -n 1)
echo "munin-node: serving $stack/etc/plugins on 127.0.0.1:4949 (try: printf 'list\\nfetch load\\nquit\\n' | nc 127.0.0.1 4949)"
exec "$stack/bin/munin-node" --config "$stack/etc/munin-node.conf" --foreground
