#!/bin/sh
# Fills the repository's plugins/ directory (what the embedded config serves)
# with symlinks: our munin-plugins under every name whose autoconf says yes
# on this machine (cpu, load, ..., if_<iface> for each interface, as
# munin-node-configure would pick them; the node runs these in-process),
# and the tahoe-stats graphs when the snapshot named in plugin-conf.d/tahoe
# is there.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir="$here/plugins"
mkdir -p "$dir"
plugins="$here/target/release/munin-plugins"
# Earlier versions linked Debian's scripts under the same names.
find "$dir" -maxdepth 1 -type l -lname '/usr/share/munin/plugins/*' -delete
"$plugins" --suggest-links "$dir" | while read -r _ _ target link; do
    eval "ln -sfn $target $link"
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

# The gatherer's own graphs, when one answers at env.url.
url=$(awk '$1 == "env.url" {print $2; exit}' "$here/plugin-conf.d/tahoe")
if [ -x "$tahoe" ] && [ "$(url="$url" "$tahoe" stats_gatherer autoconf)" = yes ]; then
    ln -sfn "$tahoe" "$dir/stats_gatherer"
fi
