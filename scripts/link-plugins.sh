#!/bin/sh
# Fills the repository's plugins/ directory (what the embedded config serves)
# with symlinks to Debian's munin-plugins-core: the core system graphs whose
# autoconf says yes on this machine (as munin-node-configure would pick them),
# and if_/if_err_ for every network interface but loopback.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir="$here/plugins"
core=/usr/share/munin/plugins
mkdir -p "$dir"
for p in cpu load memory df df_inode uptime processes netstat diskstats swap forks threads entropy open_files interrupts vmstat; do
    [ -x "$core/$p" ] || continue
    if MUNIN_LIBDIR=/usr/share/munin "$core/$p" autoconf 2>/dev/null | grep -q '^yes'; then
        ln -sfn "$core/$p" "$dir/$p"
    fi
done
for iface in $(ls /sys/class/net); do
    [ "$iface" = lo ] && continue
    ln -sfn "$core/if_" "$dir/if_$iface"
    ln -sfn "$core/if_err_" "$dir/if_err_$iface"
done
