#!/bin/sh
# Fills STACK/etc/plugins (the plugin directory beside STACK/etc/munin-node.conf;
# see scripts/stage-stack.sh) with symlinks into STACK/bin: munin-plugins
# under every name whose autoconf says yes on this machine (cpu, load, ...,
# if_<iface> for each interface, as munin-node-configure would pick them;
# the node runs these in-process), the tahoe-stats graphs when the snapshot
# named in plugin-conf.d/tahoe holds nodes, and the gatherer's own graphs
# when it answers. Run again to pick up what appeared since.
# Usage: link-plugins.sh STACK
set -eu
stack=${1:?usage: link-plugins.sh STACK}
dir="$stack/etc/plugins"
conf="$stack/etc/plugin-conf.d/tahoe"
plugins="$stack/bin/munin-plugins"
mkdir -p "$dir"
"$plugins" --suggest-links "$dir" | while read -r _ _ target link; do
    eval "ln -sfn $target $link"
done

# tahoe-stats: every snapshot graph, plus tahoe-files and tahoe-storagespace
# (which graph the snapshot's nodes when no basedir_<NODE> is configured).
tahoe="$stack/bin/tahoe-stats"
statsfile=$(awk '$1 == "env.statsfile" {print $2; exit}' "$conf")
if [ "$(statsfile="$statsfile" "$tahoe" autoconf)" = yes ]; then
    for g in $(statsfile="$statsfile" "$tahoe" suggest); do
        case "$g" in
            tahoe_files) ln -sfn "$tahoe" "$dir/tahoe-files" ;;
            tahoe_storagespace) ln -sfn "$tahoe" "$dir/tahoe-storagespace" ;;
            tahoe_sharesperfile|tahoe_dirnodes|tahoe_nodememory) ;;
            *) ln -sfn "$tahoe" "$dir/$g" ;;
        esac
    done
else
    echo "tahoe-stats: no snapshot with nodes at ${statsfile:-?} yet; the Tahoe graphs are linked once it exists (rerun scripts/link-plugins.sh $stack)"
fi

# The gatherer's own graphs, when one answers at env.url.
url=$(awk '$1 == "env.url" {print $2; exit}' "$conf")
if [ "$(url="$url" "$tahoe" stats_gatherer autoconf)" = yes ]; then
    ln -sfn "$tahoe" "$dir/stats_gatherer"
fi
