#!/bin/sh
# Fills the repository's plugins/ directory (what the embedded config serves)
# with symlinks: Debian's munin-plugins-core graphs whose autoconf says yes on
# this machine (as munin-node-configure would pick them), if_/if_err_ for
# every network interface but loopback, and the tahoe-stats graphs when the
# snapshot named in plugin-conf.d/tahoe is there.
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

# tahoe-stats: every snapshot graph, plus tahoe-files and tahoe-storagespace
# (which graph the snapshot's nodes when no basedir_<NODE> is configured).
tahoe="$here/target/release/tahoe-stats"
statsfile=$(awk '$1 == "env.statsfile" {print $2; exit}' "$here/plugin-conf.d/tahoe")
if [ -x "$tahoe" ] && [ "$(statsfile="$statsfile" "$tahoe" autoconf)" = yes ]; then
    for g in $(statsfile="$statsfile" "$tahoe" suggest); do
        case "$g" in
            tahoe_files) ln -sfn "$tahoe" "$dir/tahoe-files" ;;
            tahoe_storagespace) ln -sfn "$tahoe" "$dir/tahoe-storagespace" ;;
            tahoe_sharesperfile|tahoe_dirnodes|tahoe_nodememory) ;;
            *) ln -sfn "$tahoe" "$dir/$g" ;;
        esac
    done
else
    echo "tahoe-stats: no snapshot at ${statsfile:-?} yet; the Tahoe graphs are linked once it exists (rerun scripts/link-plugins.sh)"
fi
