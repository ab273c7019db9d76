#!/bin/sh
# Builds the release binaries and installs them, with the embedded default
# configuration, into a stack directory laid out as Munin's /etc/munin:
#
#   STACK/bin/              munin-node, munin-run, munin-plugins, tahoe-stats,
#                           stats-gatherer, munin-master
#   STACK/etc/munin-node.conf, stats-gatherer.conf
#   STACK/etc/plugin-conf.d/  (from the repository's etc/)
#   STACK/etc/plugins/        links to bin/ (scripts/link-plugins.sh)
#
# Prints STACK on its last line. The node forks plugins as `nobody`, which
# cannot enter a clone under a private home (/root is mode 700), so as
# root STACK is /var/lib/munin-rs/stack, a place every user can reach;
# otherwise plugins run as the caller and STACK is target/stack. Set
# MUNIN_RS_STACK to choose.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${MUNIN_RS_STACK:-}" ]; then
    stack=$MUNIN_RS_STACK
elif [ "$(id -u)" = 0 ]; then
    stack=/var/lib/munin-rs/stack
else
    stack=$here/target/stack
fi
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins >&2
mkdir -p "$stack/bin" "$stack/etc/plugins" "$stack/etc/plugin-conf.d"
chmod 755 "$stack" "$stack/bin" "$stack/etc" "$stack/etc/plugins" "$stack/etc/plugin-conf.d"
for b in munin-node munin-run munin-plugins tahoe-stats stats-gatherer munin-master; do
    install -m 755 "$here/target/release/$b" "$stack/bin/$b"
done
install -m 644 "$here/etc/munin-node.conf" "$here/etc/stats-gatherer.conf" "$stack/etc/"
install -m 644 "$here"/etc/plugin-conf.d/* "$stack/etc/plugin-conf.d/"
"$here/scripts/link-plugins.sh" "$stack" >&2
echo "$stack"
