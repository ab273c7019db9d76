#!/bin/bash
# Builds the Debian packages of munin-rs into target/debian/:
#   munin-rs-node      munin-node, munin-run, munin-node-configure,
#                      munin-plugins, tahoe-stats (replaces Debian's munin-node)
#   munin-rs-master    munin-master, its timer and the site server
#   munin-rs-gatherer  stats-gatherer
# on Debian 12 with Rust installed, from a clone anywhere: it installs what
# the build needs (scripts/install-deps.sh), builds the release binaries,
# generates the man pages and completions (examples/gen-docs.rs), stages
# each package in a tree under target/debian/build/ and packs it. Lintian,
# when installed (scripts/install-deps.sh --test), checks each .deb; an
# error fails the build. The packages' files, units and maintainer scripts
# are in pkg/ (pkg/README.md); scripts/package-check.sh is the acceptance
# test on a fresh machine.
#
# Why dpkg-deb and a staging tree rather than cargo-deb: dpkg-deb and
# dpkg-shlibdeps come with dpkg and dpkg-dev, which every Debian build
# machine has, while cargo-deb is one more program to build and install
# (cargo install, outside Cargo.lock) and makes one package per crate from
# Cargo.toml metadata; we make three from one crate, with maintainer
# scripts that share code, and keep each package's files in plain view in
# pkg/.
#
# Environment: DEB_REVISION (Debian revision, default 1), DEB_MAINTAINER
# ("Name <address>", default: the author of the last commit),
# CARGO_TARGET_DIR (where cargo builds; the packages go to target/debian/).
set -euo pipefail
umask 022

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf 'package.sh: %s\n' "$*"; }
die() { printf 'package.sh: error: %s\n' "$*" >&2; exit 1; }

version=$(awk -F'"' '/^\[/ { section = $0 } section == "[package]" && /^version *=/ { print $2; exit }' Cargo.toml)
[ -n "$version" ] || die "no version in Cargo.toml's [package]"
debversion=$version-${DEB_REVISION:-1}
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maintainer" ] || die "set DEB_MAINTAINER=\"Name <address>\" (no git history to take it from)"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# The changelog's date is the commit's, so that two builds of one commit
# give the same files.
stamp=$(git log -1 --format=%ct 2>/dev/null || date +%s)
license=$(awk -F'"' '/^\[/ { section = $0 } section == "[package]" && /^license *=/ { print $2; exit }' Cargo.toml)

./scripts/install-deps.sh
cargo build --release --locked
release=${CARGO_TARGET_DIR:-target}/release

out=target/debian
docs=$out/docs
rm -rf "$docs"
say "generating man pages and completions (examples/gen-docs.rs)"
[ -f examples/gen-docs.rs ] || die "examples/gen-docs.rs is missing: the packages need its man pages and completions"
# cargo run --release --example gen-docs, in two steps: SOURCE_DATE_EPOCH
# dates the pages, and is given to the program only, because the cc crate
# rebuilds ring whenever the variable differs from the last build's.
cargo build --quiet --release --locked --example gen-docs
SOURCE_DATE_EPOCH=$stamp "$release/examples/gen-docs" "$docs"

# Which package ships each program, and where.
declare -A pkg_of=(
    [munin-node]=munin-rs-node [munin-run]=munin-rs-node [munin-node-configure]=munin-rs-node
    [munin-plugins]=munin-rs-node [tahoe-stats]=munin-rs-node
    [munin-master]=munin-rs-master
    [stats-gatherer]=munin-rs-gatherer
)
declare -A dir_of=(
    [munin-node]=usr/sbin [munin-run]=usr/sbin [munin-node-configure]=usr/sbin
    [munin-plugins]=usr/bin [tahoe-stats]=usr/bin
    [munin-master]=usr/bin
    [stats-gatherer]=usr/sbin
)
# Built but not packaged: test tools and munin-async's counterparts.
unpackaged="munin-fleet munin-async munin-asyncd"
packages="munin-rs-node munin-rs-master munin-rs-gatherer"

for bin in "${!pkg_of[@]}"; do
    [ -x "$release/$bin" ] || die "$release/$bin was not built"
done

# dpkg-shlibdeps wants a source tree: debian/control naming the packages,
# each staged in debian/<package>/.
work=$out/build
rm -rf "$work" "$out"/*.deb
mkdir -p "$work/debian"
{
    echo "Source: munin-rs"
    for p in $packages; do printf '\nPackage: %s\nArchitecture: any\n' "$p"; done
} >"$work/debian/control"
stage() { echo "$work/debian/$1"; }

# put FILE MODE DEST: DEST is relative to the staged root.
put() {
    install -D -m "$2" "$1" "$3"
}

# The package owning a man page (NAME.SECTION) or completion (a program
# name), or nothing for a page of an unpackaged program.
owner() {
    local name=$1 bin
    name=${name%.conf}
    for bin in "${!pkg_of[@]}"; do
        if [ "$name" = "$bin" ] || [[ $name == "$bin"-* ]]; then
            echo "${pkg_of[$bin]}"
            return
        fi
    done
}

# ---------------------------------------------------------------- files
for bin in "${!pkg_of[@]}"; do
    put "$release/$bin" 0755 "$(stage "${pkg_of[$bin]}")/${dir_of[$bin]}/$bin"
done

# Man pages, gzipped as Debian installs them.
for page in "$docs"/man/man*/*; do
    [ -f "$page" ] || die "gen-docs wrote no man pages in $docs/man"
    file=${page##*/}
    section=${file##*.}
    p=$(owner "${file%.*}")
    if [ -z "$p" ]; then
        for bin in $unpackaged; do
            case ${file%.*} in "$bin" | "$bin"-*) continue 2 ;; esac
        done
        say "warning: man page $file is of no packaged program: not packaged"
        continue
    fi
    mkdir -p "$(stage "$p")/usr/share/man/man$section"
    gzip -9n -c "$page" >"$(stage "$p")/usr/share/man/man$section/$file.gz"
    chmod 0644 "$(stage "$p")/usr/share/man/man$section/$file.gz"
done
# Completions: bash/<bin>, zsh/_<bin>, fish/<bin>.fish.
for shell_dir in bash:usr/share/bash-completion/completions zsh:usr/share/zsh/vendor-completions \
    fish:usr/share/fish/vendor_completions.d; do
    shell=${shell_dir%%:*}
    for f in "$docs/completions/$shell"/*; do
        [ -f "$f" ] || die "gen-docs wrote no $shell completions"
        name=${f##*/}
        name=${name#_}
        name=${name%.fish}
        [ -n "${pkg_of[$name]:-}" ] || continue
        put "$f" 0644 "$(stage "${pkg_of[$name]}")/${shell_dir#*:}/${f##*/}"
    done
done

# munin-rs-node
s=$(stage munin-rs-node)
put pkg/munin-rs-node/munin-node.service 0644 "$s/lib/systemd/system/munin-node.service"
put pkg/munin-rs-node/sysusers.conf 0644 "$s/usr/lib/sysusers.d/munin-rs-node.conf"
put pkg/munin-rs-node/tmpfiles.conf 0644 "$s/usr/lib/tmpfiles.d/munin-rs-node.conf"
# Defaults the postinst copies into /etc only where nothing is.
put etc/munin-node.conf 0644 "$s/usr/share/munin-rs/node/munin-node.conf"
put etc/plugin-conf.d/tahoe 0644 "$s/usr/share/munin-rs/node/plugin-conf.d/tahoe"
put pkg/munin-rs-node/logrotate 0644 "$s/usr/share/munin-rs/node/logrotate"
install -d -m 0755 "$s/etc/munin/plugins"
# The plugin library munin-node-configure searches first: one link per
# plugin our two multi-call programs answer to.
lib=$s/usr/lib/munin-rs/plugins
install -d -m 0755 "$lib"
for name in $("$release/munin-plugins" --list | awk '{ print $1 }'); do
    ln -s ../../../bin/munin-plugins "$lib/$name"
done
for name in $("$release/tahoe-stats" --list | awk '{ print $1 }'); do
    ln -s ../../../bin/tahoe-stats "$lib/$name"
done
[ -L "$lib/cpu" ] && [ -L "$lib/tahoe_files" ] || die "munin-plugins --list or tahoe-stats --list gave no plugins"

# munin-rs-master
s=$(stage munin-rs-master)
for unit in munin-master.service munin-master.timer munin-master-serve.service; do
    put "pkg/munin-rs-master/$unit" 0644 "$s/lib/systemd/system/$unit"
done
put pkg/munin-rs-master/sysusers.conf 0644 "$s/usr/lib/sysusers.d/munin-rs-master.conf"
put pkg/munin-rs-master/tmpfiles.conf 0644 "$s/usr/lib/tmpfiles.d/munin-rs-master.conf"
put pkg/munin-rs-master/munin.conf 0644 "$s/usr/share/munin-rs/master/munin.conf"
put pkg/munin-rs-master/logrotate 0644 "$s/etc/logrotate.d/munin-rs-master"
install -d -m 0755 "$s/etc/munin/munin-conf.d"

# munin-rs-gatherer
s=$(stage munin-rs-gatherer)
put pkg/munin-rs-gatherer/stats-gatherer.service 0644 "$s/lib/systemd/system/stats-gatherer.service"
put pkg/munin-rs-gatherer/sysusers.conf 0644 "$s/usr/lib/sysusers.d/munin-rs-gatherer.conf"
put pkg/munin-rs-gatherer/tmpfiles.conf 0644 "$s/usr/lib/tmpfiles.d/munin-rs-gatherer.conf"
put etc/stats-gatherer.conf 0644 "$s/etc/munin-rs/stats-gatherer.conf"

# ---------------------------------------------------------------- docs
# The licences of the crates linked into the programs, for copyright.
crates() {
    cargo tree --offline --locked -e normal --prefix none --format '{p}|{l}' "$@" |
        sed -e 's/ (proc-macro)//' -e 's/ (\*)//' | grep -v '^munin-rs ' | sort -u |
        awk -F'|' '{ split($1, a, " "); printf " %s %s: %s\n", a[1], a[2], ($2 == "" ? "see the crate" : $2) }'
}
if [ -z "$license" ]; then
    say "warning: Cargo.toml declares no license;"
    say "warning: the copyright files say so (License: not-yet-chosen)"
fi
year=$(date -u -d "@$stamp" +%Y)
for p in $packages; do
    d=$(stage "$p")/usr/share/doc/$p
    install -d -m 0755 "$d"
    case $p in
        munin-rs-master) features= ;;
        *) features=--no-default-features ;;
    esac
    {
        echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
        echo "Upstream-Name: munin-rs"
        echo "Comment: Built from commit $commit by scripts/package.sh. The programs"
        echo " are statically linked with these Rust crates, under their own licences:"
        echo " ."
        # shellcheck disable=SC2086
        crates $features
        echo
        echo "Files: *"
        echo "Copyright: $year The munin-rs authors"
        if [ -n "$license" ]; then
            echo "License: $license"
            if [ -f LICENSE ]; then
                # DEP-5: the licence's text in its own paragraph, each line
                # indented by one space and blank lines written " .".
                echo
                echo "License: $license"
                sed -e 's/^$/./' -e 's/^/ /' LICENSE
            fi
        else
            echo "License: not-yet-chosen"
            echo
            echo "License: not-yet-chosen"
            echo " The munin-rs project has not chosen a licence yet: there is no"
            echo " LICENSE file and Cargo.toml has no license field."
        fi
    } >"$d/copyright"
    chmod 0644 "$d/copyright"
    {
        echo "munin-rs ($debversion) unstable; urgency=medium"
        echo
        echo "  * Built from commit $commit of munin-rs by scripts/package.sh."
        echo
        echo " -- $maintainer  $(date -u -R -d "@$stamp")"
    } | gzip -9n >"$d/changelog.Debian.gz"
    chmod 0644 "$d/changelog.Debian.gz"
done

# ---------------------------------------------------------------- control
for p in $packages; do
    s=$(stage "$p")
    install -d -m 0755 "$s/DEBIAN"
    for script in postinst prerm postrm; do
        sed -e '/^#MUNIN_RS_LIB#$/{r pkg/common/maint-lib.sh' -e 'd}' "pkg/$p/$script" >"$s/DEBIAN/$script"
        chmod 0755 "$s/DEBIAN/$script"
    done
    if [ -f "pkg/$p/triggers" ]; then
        put "pkg/$p/triggers" 0644 "$s/DEBIAN/triggers"
    fi
    if [ -d "$s/etc" ]; then
        (cd "$s" && find etc -type f | sort | sed 's|^|/|') >"$s/DEBIAN/conffiles"
        [ -s "$s/DEBIAN/conffiles" ] || rm "$s/DEBIAN/conffiles"
    fi
    (cd "$s" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
        >"$s/DEBIAN/md5sums"
    chmod 0644 "$s/DEBIAN/md5sums"
    # Depends from the libraries the programs link (dpkg-shlibdeps reads
    # the ELF files and Debian's symbols files).
    elves=$(find "$s/usr" -type f -perm -0100 -printf ' -e%p')
    # shellcheck disable=SC2086
    shlibs=$(cd "$work" && dpkg-shlibdeps -O ${elves//$work\//} | sed -n 's/^shlibs:Depends=//p')
    [ -n "$shlibs" ] || die "dpkg-shlibdeps found no libraries for $p"
    size=$(du -k -s --apparent-size --exclude=DEBIAN "$s" | cut -f1)
    sed -e "s|@VERSION@|$debversion|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
        -e "s|@INSTALLED_SIZE@|$size|" -e "s|@SHLIBS@|$shlibs|" "pkg/$p/control.in" >"$s/DEBIAN/control"
    deb=$out/${p}_${debversion}_$arch.deb
    # Files dated no later than the commit: the same commit, the same .deb.
    SOURCE_DATE_EPOCH=$stamp dpkg-deb --build --root-owner-group -Zxz "$s" "$deb" >/dev/null
    say "built $deb ($(du -h "$deb" | cut -f1), Depends: $shlibs)"
done

# ---------------------------------------------------------------- lintian
if command -v lintian >/dev/null 2>&1; then
    failed=
    for p in $packages; do
        deb=$out/${p}_${debversion}_$arch.deb
        say "lintian $deb"
        lintian --fail-on error "$deb" || failed="$failed $p"
    done
    [ -z "$failed" ] || die "lintian found errors in:$failed"
else
    say "lintian is not installed (scripts/install-deps.sh --test installs it): skipped"
fi
