#!/bin/sh
# Copies the shared conformance kit (../shared/conformance) to DEST so that it
# can be run: the kit's fixture symlinks (cpu -> /usr/share/munin/plugins/cpu,
# test_cmd -> test_env, ...) may arrive as small plain files holding the link
# target; those are turned back into symlinks. Real symlinks are kept as they are.
# Usage: materialize-fixture.sh SHARED_CONFORMANCE_DIR DEST
set -eu
src=$1
dest=$2
rm -rf "$dest"
mkdir -p "$dest"
cp -a "$src/." "$dest/"
chmod -R u+w "$dest"
for f in "$dest/plugins-fixture"/* "$dest/plugins-fixture"/.[!.]*; do
    [ -f "$f" ] && [ ! -L "$f" ] && [ ! -x "$f" ] || continue
    # A link stand-in: one line, no newline, not a script.
    if [ "$(wc -l < "$f")" -eq 0 ] && ! head -c 2 "$f" | grep -q '#!'; then
        target=$(cat "$f")
        rm "$f"
        ln -s "$target" "$f"
    fi
done
