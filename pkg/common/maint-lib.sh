# Shared by the maintainer scripts of munin-rs-node, munin-rs-master and
# munin-rs-gatherer. scripts/package.sh pastes this file where a script says
# #MUNIN_RS_LIB#, so each script stands alone: at purge time the package's
# own files are already gone and cannot be sourced.
#
# The rule these helpers keep: a path that one of Debian's munin packages
# also uses (everything under /etc/munin, /etc/logrotate.d/munin-node) is
# never a dpkg conffile of ours. Installing a conffile over a file Debian's
# package left behind makes dpkg prompt (and fail under a non-interactive
# apt), and a purge would delete what the other package still owns. So our
# defaults live under /usr/share/munin-rs/, are copied into place only when
# the file is absent, and every path we create is written down in
# $MUNIN_RS_RECORD/<package>.created; a purge removes only those paths, and
# only while no package claims them. The record is root's alone: kept in a
# directory the munin user could write (/var/lib/munin-rs is the
# gatherer's), it would let that user choose what a purge deletes.

MUNIN_RS_RECORD=/var/lib/munin-rs-dpkg

munin_rs_say() {
    echo "$DPKG_MAINTSCRIPT_PACKAGE: $*"
}

# Whether systemd is the running init (false in a chroot or a container
# without it): only then do start, stop and daemon-reload make sense.
munin_rs_systemd_running() {
    [ -d /run/systemd/system ]
}

# Whether any installed or half-removed package owns PATH (exact path).
munin_rs_owned() {
    dpkg-query -S "$1" >/dev/null 2>&1
}

# Files are recorded per package. Directories go to one list for all our
# packages (several use /var/log/munin or /run/munin) and are removed, when
# empty, by the purge of the last of them.
munin_rs_record() {
    mkdir -p "$MUNIN_RS_RECORD"
    echo "$1" >>"$MUNIN_RS_RECORD/$DPKG_MAINTSCRIPT_PACKAGE.created"
}

munin_rs_record_dir() {
    mkdir -p "$MUNIN_RS_RECORD"
    grep -qsxF "$1" "$MUNIN_RS_RECORD/dirs.created" || echo "$1" >>"$MUNIN_RS_RECORD/dirs.created"
}

# munin_rs_default SRC DEST MODE: copies our default SRC to DEST when
# nothing (not even a dangling symlink) is at DEST, and records it.
munin_rs_default() {
    if [ -e "$2" ] || [ -L "$2" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$2")"
    install -m "$3" "$1" "$2"
    munin_rs_record "$2"
    munin_rs_say "created $2"
}

# munin_rs_dir DIR MODE OWNER:GROUP: creates DIR when absent, and records it.
munin_rs_dir() {
    if [ -d "$1" ]; then
        return 0
    fi
    install -d -m "$2" -o "${3%:*}" -g "${3#*:}" "$1"
    munin_rs_record_dir "$1"
}

# The munin user and group, from our sysusers.d file (same name as the
# package) with systemd-sysusers, else with useradd. Debian's munin-common
# creates the same user; when it exists nothing is done. When we create it,
# a marker says so, for munin_rs_forget_user.
munin_rs_user() {
    if getent passwd munin >/dev/null; then
        return 0
    fi
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers "$DPKG_MAINTSCRIPT_PACKAGE.conf"
    else
        getent group munin >/dev/null || groupadd --system munin
        useradd --system --gid munin --home-dir /var/lib/munin --no-create-home \
            --shell /usr/sbin/nologin --comment "munin monitoring" munin
    fi
    mkdir -p "$MUNIN_RS_RECORD"
    : >"$MUNIN_RS_RECORD/user-munin"
}

# The directories of our tmpfiles.d file: systemd-tmpfiles when present,
# else the same `d PATH MODE USER GROUP` lines read here. Directories that
# did not exist before are recorded.
munin_rs_dirs() {
    conf=/usr/lib/tmpfiles.d/$DPKG_MAINTSCRIPT_PACKAGE.conf
    awk '$1 == "d" { print $2 }' "$conf" | while read -r dir; do
        [ -d "$dir" ] || munin_rs_record_dir "$dir"
    done
    if command -v systemd-tmpfiles >/dev/null 2>&1; then
        systemd-tmpfiles --create "$DPKG_MAINTSCRIPT_PACKAGE.conf" || true
    else
        awk '$1 == "d" { print $2, $3, $4, $5 }' "$conf" |
            while read -r dir mode user group; do
                install -d -m "$mode" -o "$user" -g "$group" "$dir"
            done
    fi
}

# Enables UNITs as dh_installsystemd would: on the first installation, or
# again when the administrator had them enabled; a unit the administrator
# disabled stays disabled. init-system-helpers' deb-systemd-helper works
# without a running systemd (it writes the symlinks), so this also holds
# in a chroot.
munin_rs_enable() {
    command -v deb-systemd-helper >/dev/null || return 0
    for unit in "$@"; do
        # Removes only a mask deb-systemd-helper itself made at a removal.
        deb-systemd-helper unmask "$unit" >/dev/null || true
        # "was-enabled" is true for a unit it has never seen.
        if deb-systemd-helper --quiet was-enabled "$unit"; then
            deb-systemd-helper enable "$unit" >/dev/null || true
        else
            deb-systemd-helper update-state "$unit" >/dev/null || true
        fi
    done
}

# munin_rs_invoke ACTION UNIT...: start, restart or stop through
# deb-systemd-invoke (which honours policy-rc.d and leaves a disabled unit
# alone), only under a running systemd.
munin_rs_invoke() {
    action=$1
    shift
    munin_rs_systemd_running || return 0
    command -v deb-systemd-invoke >/dev/null || return 0
    deb-systemd-invoke "$action" "$@" >/dev/null || true
}

munin_rs_daemon_reload() {
    munin_rs_systemd_running || return 0
    systemctl --system daemon-reload >/dev/null || true
}

# Purge: removes the files this package recorded, newest first. A path
# some package now owns (Debian's munin took over munin.conf, say) stays.
munin_rs_remove_created() {
    list=$MUNIN_RS_RECORD/$DPKG_MAINTSCRIPT_PACKAGE.created
    [ -f "$list" ] || return 0
    tac "$list" | while read -r path; do
        if { [ -e "$path" ] || [ -L "$path" ]; } && ! munin_rs_owned "$path"; then
            rm -f "$path"
            munin_rs_say "removed $path"
        fi
    done
    rm -f "$list"
}

# Whether no other munin-rs package is known to dpkg (installed, or
# removed with its configuration kept).
munin_rs_last() {
    [ -z "$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' 'munin-rs-*' 2>/dev/null |
        awk -v me="$DPKG_MAINTSCRIPT_PACKAGE" '$1 != "not-installed" && $2 != me')" ]
}

# Purge, of the last of our packages: the directories we created, deepest
# first, when empty and owned by no package; then /etc/munin itself on the
# same terms (dpkg made it for our packages and could not remove it while
# plugin-conf.d was still in it).
munin_rs_remove_dirs() {
    list=$MUNIN_RS_RECORD/dirs.created
    if [ -f "$list" ]; then
        awk '{ print length($0), $0 }' "$list" | sort -rn | cut -d' ' -f2- | while read -r dir; do
            if [ -d "$dir" ] && ! munin_rs_owned "$dir"; then
                rmdir "$dir" 2>/dev/null || true
            fi
        done
        rm -f "$list"
    fi
    if [ -d /etc/munin ] && ! munin_rs_owned /etc/munin; then
        rmdir /etc/munin 2>/dev/null || true
    fi
}

# Purge, of the last of our packages: the munin user and group, if one of
# our packages created them and nothing needs them any more: no package of
# Debian's munin family is known to dpkg (in any state but purged), and no
# file under Munin's directories still belongs to them (RRD files are kept
# on purge; their owner stays with them). A user kept then is left to the
# administrator for good.
munin_rs_forget_user() {
    [ -f "$MUNIN_RS_RECORD/user-munin" ] || return 0
    rm -f "$MUNIN_RS_RECORD/user-munin"
    others=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' 'munin*' 2>/dev/null |
        awk -v me="$DPKG_MAINTSCRIPT_PACKAGE" '$1 != "not-installed" && $2 != me { printf " %s", $2 }')
    if [ -n "$others" ]; then
        munin_rs_say "keeping the munin user: these packages use it:$others"
        return 0
    fi
    for dir in /var/lib/munin /var/cache/munin /var/log/munin /var/lib/munin-rs /var/lib/munin-node /run/munin; do
        if [ -d "$dir" ] && [ -n "$(find "$dir" \( -user munin -o -group munin \) -print -quit)" ]; then
            munin_rs_say "keeping the munin user: files under $dir belong to it"
            return 0
        fi
    done
    userdel munin 2>/dev/null || true
    groupdel munin 2>/dev/null || true
    munin_rs_say "removed the munin user and group, which munin-rs created"
}

# Purge: this package's files; with the last of our packages also the
# directories, the user and the record itself.
munin_rs_purge() {
    munin_rs_remove_created
    if munin_rs_last; then
        munin_rs_remove_dirs
        munin_rs_forget_user
        rmdir "$MUNIN_RS_RECORD" 2>/dev/null || true
    fi
}
