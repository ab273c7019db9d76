#!/bin/bash
# Acceptance check of the Debian packages, run as root on a throw-away
# Debian 12 machine right after scripts/package.sh built them into
# target/debian/ (the TEST command of ../shared/tools/fresh-machine.sh after
# RUN ./scripts/package.sh). It installs and removes packages: never run it
# on a machine you care about.
#
#  1. Debian's munin-node and munin-plugins-core, configured by hand
#     (another port, loopback, a plugin-conf.d env line): /etc/munin noted.
#  2. Our three packages replace munin-node: /etc/munin unchanged, our
#     binaries in place; munin-run runs Debian's plugins and ours; the
#     node started from the unit's ExecStart answers list and fetch; the
#     master (ExecStart, as munin) polls it into RRD files and a site; the
#     gatherer (ExecStart, as munin) answers its API.
#  3. systemd-analyze verify on every unit we ship.
#  4. dpkg -r and -i of munin-rs-node keep /etc/munin; a purge of all three
#     removes what they created and leaves Debian's config files (still
#     munin-node's conffiles, state "rc") alone.
#  5. lintian finds no error.
#  6. Beside Debian's munin (the master): our timer stands aside, and our
#     purge leaves the munin.conf Debian's package took over.
#  7. On a machine without any Munin: defaults and plugin links created,
#     the munin user made; a purge takes them all away again.
# Each step is printed with its time; the first failure stops the run.
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
debs=$PWD/target/debian
work=$(mktemp -d)
started=$(date +%s)
step_started=$started
summary=
pids=

step() {
    now=$(date +%s)
    if [ -n "${step_name:-}" ]; then
        summary="$summary$(printf '  %-62s %4ss' "$step_name" $((now - step_started)))
"
    fi
    step_name=$1
    step_started=$now
    printf '\n=== %s\n' "$1"
}
ok() { printf '  ok: %s\n' "$*"; }
fail() {
    printf '\nFAILED (%s): %s\n' "${step_name:-}" "$*" >&2
    exit 1
}
cleanup() {
    for pid in $pids; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

apt_install() {
    apt-get install -y -q -o Dpkg::Use-Pty=0 "$@" >"$work/apt.log" 2>&1 || {
        tail -n 40 "$work/apt.log" >&2
        fail "apt-get install $*"
    }
}
status_of() { dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' ' || true; }

# The files and symlinks under /etc/munin, each with its content's hash
# (a link's target for a link).
snapshot() {
    find /etc/munin \( -type f -o -type l \) -print | sort | while read -r f; do
        if [ -L "$f" ]; then
            printf '%s link %s\n' "$f" "$(readlink "$f")"
        else
            printf '%s file %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
        fi
    done
}
same_as() {
    snapshot >"$work/now"
    if ! diff -u "$1" "$work/now" >"$work/diff"; then
        cat "$work/diff" >&2
        fail "/etc/munin changed ($2)"
    fi
    ok "/etc/munin unchanged: $(wc -l <"$1") files and links ($2)"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 1 100); do
        python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" \
            2>/dev/null && return 0
        sleep 0.1
    done
    fail "nothing listens on 127.0.0.1:$1"
}
# Sends protocol lines to the node and prints its answer.
ask() {
    port=$1
    shift
    python3 - "$port" "$@" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(10)
f = s.makefile("rwb")
f.readline()  # banner
for cmd in sys.argv[2:]:
    f.write(cmd.encode() + b"\n")
    f.flush()
    if cmd.startswith(("fetch", "config")):
        while True:
            line = f.readline()
            if not line or line == b".\n":
                break
            sys.stdout.write(line.decode())
    else:
        sys.stdout.write(f.readline().decode())
f.write(b"quit\n")
f.flush()
EOF
}
# The ExecStart= command of an installed unit.
exec_start() {
    sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1"
}
# What runs a command as the units' User=munin does: systemd also sets
# HOME (fontconfig keeps its cache there) and USER. A prefix, not a
# function, so that a command started in the background is the process
# whose id we keep.
as_munin=(setpriv --reuid=munin --regid=munin --init-groups env HOME=/var/lib/munin USER=munin LOGNAME=munin)
start_bg() {
    "$@" >>"$work/daemons.log" 2>&1 &
    pids="$pids $!"
    last_pid=$!
}
stop_bg() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}
node_serves() {
    port=$1
    start_bg $(exec_start munin-node.service)
    wait_port "$port"
    list=$(ask "$port" list)
    for plugin in cpu load uptime; do
        echo " $list " | grep -q " $plugin " || fail "list lacks $plugin: $list"
    done
    ok "list: $list"
    ask "$port" "fetch load" "fetch uptime" "config load" >"$work/fetch"
    grep -q '^load\.value [0-9.]' "$work/fetch" || fail "fetch load: $(cat "$work/fetch")"
    grep -q '^uptime\.value [0-9.]' "$work/fetch" || fail "fetch uptime: $(cat "$work/fetch")"
    grep -qx 'load\.warning 50' "$work/fetch" || fail "config load lacks plugin-conf.d's warning: $(cat "$work/fetch")"
    ok "fetch load, fetch uptime, config load (with plugin-conf.d's env.warning)"
    stop_bg "$last_pid"
}

ls "$debs"/munin-rs-node_*.deb "$debs"/munin-rs-master_*.deb "$debs"/munin-rs-gatherer_*.deb >/dev/null ||
    fail "no packages in $debs: run scripts/package.sh first"
commit=$(git rev-parse --short=12 HEAD)

# ------------------------------------------------------------------------
step "1. Debian's munin-node, configured by hand"
# No daemon may start in this chroot (the host's port 4949 is shared).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
apt-get update -qq
apt_install systemd munin-node munin-plugins-core
[ "$(status_of munin-node)" = ii ] || fail "munin-node not installed"
port=$(free_port)
sed -i -e "s/^port .*/port $port/" -e 's/^host .*/host 127.0.0.1/' /etc/munin/munin-node.conf
grep -qx "port $port" /etc/munin/munin-node.conf || fail "could not set the port"
printf '[load]\nenv.warning 50\n' >/etc/munin/plugin-conf.d/zz-check
for p in cpu load memory; do
    ln -sfn "/usr/share/munin/plugins/$p" "/etc/munin/plugins/$p"
done
# Our uptime plugin, linked now so that /etc/munin stays as it is from
# here on (the link dangles until munin-rs-node is installed).
rm -f /etc/munin/plugins/uptime
ln -s /usr/lib/munin-rs/plugins/uptime /etc/munin/plugins/uptime
# Debian's munin-node-configure, kept (with its Perl modules) to hold ours
# to once munin-node is gone: both then run on the same machine state
# (installing packages can change what plugins find, exim4 for one).
# Readable by all: the plugins it runs as nobody inherit PERL5LIB, and Perl
# stops at an @INC directory it may not read.
keep=/usr/local/lib/debian-munin-node-configure
mkdir -p "$keep"
cp -a /usr/share/perl5/Munin "$keep/"
cp /usr/sbin/munin-node-configure "$keep/"
chmod -R a+rX "$keep"
debian_mnc() { PERL5LIB="$keep" perl "$keep/munin-node-configure" "$@"; }
debian_mnc --suggest >"$work/mnc-check" 2>/dev/null || true
grep -q '^cpu  *| yes  | yes' "$work/mnc-check" ||
    fail "Debian's munin-node-configure --suggest: $(head -5 "$work/mnc-check")"
snapshot >"$work/etc-debian"
ok "munin-node $(dpkg-query -W -f '${Version}' munin-node), port $port, $(wc -l <"$work/etc-debian") files and links in /etc/munin"
dpkg-query -W -f '${Conffiles}\n' munin-node | awk 'NF { print $1 }' >"$work/debian-conffiles"

# ------------------------------------------------------------------------
step "2. munin-rs packages replace Debian's munin-node"
apt_install "$debs"/munin-rs-node_*.deb "$debs"/munin-rs-master_*.deb "$debs"/munin-rs-gatherer_*.deb
[ "$(status_of munin-node)" = rc ] || fail "Debian's munin-node is $(status_of munin-node), not removed (rc)"
for p in munin-rs-node munin-rs-master munin-rs-gatherer; do
    [ "$(status_of "$p")" = ii ] || fail "$p is $(status_of "$p")"
done
ok "munin-node removed (rc), munin-rs-node, -master, -gatherer installed"
# The master's package created the one file that was not there.
grep -v '^/etc/munin/munin.conf ' <(snapshot) >"$work/now-without-munin-conf"
diff -u "$work/etc-debian" "$work/now-without-munin-conf" >&2 || fail "/etc/munin changed"
[ -f /etc/munin/munin.conf ] || fail "munin-rs-master did not create /etc/munin/munin.conf"
ok "/etc/munin unchanged; /etc/munin/munin.conf added by munin-rs-master"
for f in /usr/sbin/munin-node /usr/sbin/munin-run /usr/sbin/munin-node-configure /usr/bin/munin-plugins \
    /usr/bin/tahoe-stats /usr/bin/munin-master /usr/sbin/stats-gatherer; do
    owner=$(dpkg-query -S "$f" | cut -d: -f1)
    case $owner in munin-rs-*) ;; *) fail "$f belongs to $owner" ;; esac
done
ok "programs in place, owned by munin-rs packages"
for link in multi-user.target.wants/munin-node.service timers.target.wants/munin-master.timer \
    multi-user.target.wants/munin-master-serve.service multi-user.target.wants/stats-gatherer.service; do
    [ -L "/etc/systemd/system/$link" ] || fail "not enabled: $link"
done
ok "munin-node.service, munin-master.timer, munin-master-serve.service, stats-gatherer.service enabled"
version=$(munin-node --version)
case $version in
    *munin-rs* | *"$commit"*) ok "munin-node --version: $version" ;;
    *) fail "munin-node --version does not name munin-rs or commit $commit: $version" ;;
esac
for p in cpu load memory uptime; do
    out=$(munin-run "$p" 2>&1) || fail "munin-run $p: $out"
    echo "$out" | grep -q '\.value ' || fail "munin-run $p printed no value: $out"
done
munin-run load config | grep -qx 'load\.warning 50' || fail "munin-run load config ignores plugin-conf.d"
ok "munin-run cpu, load, memory (Debian's plugins), uptime (ours); plugin-conf.d read"
node_serves "$port"
ok "the node started from munin-node.service's ExecStart served Debian's configuration"
core=/usr/share/munin/plugins
debian_mnc --suggest >"$work/mnc-suggest-debian" 2>/dev/null || true
munin-node-configure --suggest --libdir $core >"$work/mnc-suggest-ours" 2>/dev/null || true
diff -u "$work/mnc-suggest-debian" "$work/mnc-suggest-ours" >&2 ||
    fail "munin-node-configure --suggest differs from Debian's on munin-plugins-core's library"
debian_mnc --shell --remove-also >"$work/mnc-shell-debian" 2>/dev/null || true
munin-node-configure --shell --remove-also --libdir $core >"$work/mnc-shell-ours" 2>/dev/null || true
diff -u "$work/mnc-shell-debian" "$work/mnc-shell-ours" >&2 ||
    fail "munin-node-configure --shell --remove-also differs from Debian's"
munin-node-configure --suggest >"$work/mnc-suggest-both" 2>/dev/null || true
[ "$(grep -c '^cpu  *|' "$work/mnc-suggest-both")" = 2 ] ||
    fail "munin-node-configure (both libraries) has no row for our cpu: $(grep '^cpu' "$work/mnc-suggest-both")"
ok "munin-node-configure --suggest, --shell --remove-also: Debian's output on $core ($(wc -l <"$work/mnc-suggest-ours") lines); our library adds $(($(wc -l <"$work/mnc-suggest-both") - $(wc -l <"$work/mnc-suggest-ours"))) rows"

# The master, from its unit, as munin, against that node: the address in
# the munin.conf we created (a file of ours, removed by the purge below).
sed -i "s/^\( *\)address .*/&\n\1port $port/" /etc/munin/munin.conf
grep -qx " *port $port" /etc/munin/munin.conf || fail "could not set the node's port in munin.conf"
snapshot >"$work/etc-ours"
start_bg $(exec_start munin-node.service)
node_pid=$last_pid
wait_port "$port"
"${as_munin[@]}" $(exec_start munin-master.service) ||
    fail "munin-master cron as munin failed"
stop_bg "$node_pid"
ls /var/lib/munin/localdomain/localhost.localdomain-load-load-g.rrd >/dev/null ||
    fail "no RRD file for load: $(find /var/lib/munin -maxdepth 2 | head)"
[ -s /var/cache/munin/www/index.html ] || fail "no /var/cache/munin/www/index.html"
[ -s /var/log/munin/munin-master-update.log ] || fail "no munin-master-update.log"
ok "munin-master cron (ExecStart, user munin): RRD files, site and log written"
gport=$(free_port)
start_bg "${as_munin[@]}" $(exec_start stats-gatherer.service) --listen "127.0.0.1:$gport"
wait_port "$gport"
python3 -c 'import json, sys, urllib.request; json.load(urllib.request.urlopen(sys.argv[1]))' \
    "http://127.0.0.1:$gport/api/v1/self" || fail "the gatherer's /api/v1/self"
stop_bg "$last_pid"
ok "stats-gatherer (ExecStart, user munin) answered /api/v1/self"

# ------------------------------------------------------------------------
step "3. systemd-analyze verify"
units=$(dpkg-query -L munin-rs-node munin-rs-master munin-rs-gatherer | grep -E '^/lib/systemd/system/.+\.(service|timer)$')
# shellcheck disable=SC2086
systemd-analyze verify --man=no $units || fail "systemd-analyze verify"
ok "$(echo $units | wc -w) units:" $units

# ------------------------------------------------------------------------
step "4. remove, reinstall, purge"
dpkg -r munin-rs-node >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r munin-rs-node"; }
[ "$(status_of munin-rs-node)" = rc ] || fail "munin-rs-node is $(status_of munin-rs-node) after dpkg -r"
same_as "$work/etc-ours" "after dpkg -r munin-rs-node"
dpkg -i "$debs"/munin-rs-node_*.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i munin-rs-node"; }
same_as "$work/etc-ours" "after dpkg -i munin-rs-node"
node_serves "$port"
ok "the reinstalled node serves the same configuration"
# The same version again: dpkg runs the upgrade path of every script.
dpkg -i "$debs"/munin-rs-*.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i (upgrade path)"; }
same_as "$work/etc-ours" "after reinstalling all three over themselves"
dpkg --purge munin-rs-node munin-rs-master munin-rs-gatherer >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log"; fail "dpkg --purge"; }
cat "$work/dpkg.log"
for p in munin-rs-node munin-rs-master munin-rs-gatherer; do
    [ -z "$(status_of "$p")" ] || [ "$(status_of "$p")" = pn ] || fail "$p is $(status_of "$p") after the purge"
done
same_as "$work/etc-debian" "after the purge: as Debian's munin-node left it"
while read -r f; do
    [ -e "$f" ] || fail "Debian's conffile $f is gone"
    dpkg-query -S "$f" | grep -q '^munin-node: ' || fail "$f is not munin-node's any more"
done <"$work/debian-conffiles"
ok "Debian's $(wc -l <"$work/debian-conffiles") conffiles are there and still munin-node's ($(status_of munin-node))"
for f in /var/lib/munin/munin-rs-state /var/log/munin/munin-master-update.log /var/log/munin/munin-master-html.log \
    /var/lib/munin-rs /var/lib/munin-rs-dpkg /etc/munin-rs /lib/systemd/system/munin-node.service; do
    [ ! -e "$f" ] || fail "$f is still there after the purge"
done
getent passwd munin >/dev/null || fail "the munin user (Debian's munin-common's) is gone"
left=$(find /etc/systemd/system -name 'munin-node.service' -o -name 'munin-master*' -o -name 'stats-gatherer*')
[ -z "$left" ] || fail "enablement links left: $left"
ok "our state, logs, record, gatherer config, units and their links are gone; the munin user stays (munin-common uses it)"

# ------------------------------------------------------------------------
step "5. lintian"
apt_install lintian
for deb in "$debs"/munin-rs-*.deb; do
    lintian --fail-on error "$deb" || fail "lintian errors in $deb"
done
ok "no lintian errors"

# ------------------------------------------------------------------------
step "6. beside Debian's munin (master)"
apt_install "$debs"/munin-rs-master_*.deb
[ -f /etc/munin/munin.conf ] && ! dpkg-query -S /etc/munin/munin.conf >/dev/null 2>&1 ||
    fail "munin-rs-master did not create an unowned /etc/munin/munin.conf"
# munin.conf exists and no package owns it: dpkg asks whose to keep;
# take Debian's.
apt_install -o Dpkg::Options::=--force-confnew munin
dpkg-query -S /etc/munin/munin.conf | grep -q '^munin: ' || fail "munin.conf is not Debian's munin's"
systemd-analyze condition 'ConditionPathExists=!/usr/bin/munin-cron' >/dev/null 2>&1 &&
    fail "the timer's condition holds although munin-cron is installed"
grep -qx 'ConditionPathExists=!/usr/bin/munin-cron' /lib/systemd/system/munin-master.timer ||
    fail "munin-master.timer lacks the condition"
ok "munin-master.timer's condition fails while Debian's munin is installed"
dpkg --purge munin-rs-master >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --purge munin-rs-master"; }
[ -f /etc/munin/munin.conf ] || fail "our purge removed Debian's munin.conf"
ok "purging munin-rs-master left the munin.conf Debian's munin took over"

# ------------------------------------------------------------------------
step "7. a machine without Munin"
debian_munin=$(dpkg-query -W -f '${Package}\n' 'munin*' | grep -v '^munin-rs-')
# shellcheck disable=SC2086
apt-get purge -y -q $debian_munin >"$work/apt.log" 2>&1 ||
    { tail -n 30 "$work/apt.log"; fail "purging Debian's munin packages"; }
rm -rf /etc/munin /var/lib/munin /var/lib/munin-node /var/log/munin /var/cache/munin /run/munin
getent passwd munin >/dev/null && userdel munin
getent group munin >/dev/null && groupdel munin
apt_install "$debs"/munin-rs-node_*.deb "$debs"/munin-rs-master_*.deb "$debs"/munin-rs-gatherer_*.deb
getent passwd munin >/dev/null || fail "no munin user"
for f in /etc/munin/munin-node.conf /etc/munin/plugin-conf.d/tahoe /etc/munin/munin.conf \
    /etc/logrotate.d/munin-node /etc/munin-rs/stats-gatherer.conf; do
    [ -f "$f" ] || fail "$f was not created"
done
[ "$(stat -c '%a %U %G' /etc/munin/plugin-conf.d)" = "750 root munin" ] ||
    fail "plugin-conf.d is $(stat -c '%a %U %G' /etc/munin/plugin-conf.d)"
[ -L /etc/munin/plugins/cpu ] || fail "no plugins enabled: $(ls /etc/munin/plugins)"
munin-run cpu | grep -q '^user\.value ' || fail "munin-run cpu on the enabled plugin"
ok "user munin, defaults in /etc/munin, $(ls /etc/munin/plugins | wc -l) plugins enabled, munin-run cpu works"
dpkg --purge munin-rs-node munin-rs-master munin-rs-gatherer >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log"; fail "dpkg --purge"; }
left=$(find /etc/munin /etc/munin-rs /etc/logrotate.d/munin-node /var/lib/munin-node /var/lib/munin-rs \
    /var/lib/munin-rs-dpkg /var/lib/munin /var/log/munin /var/cache/munin /run/munin 2>/dev/null || true)
[ -z "$left" ] || fail "left after the purge: $left"
getent passwd munin >/dev/null && fail "the munin user we created is still there"
ok "the purge removed every file, directory and the user munin-rs created"

step "done"
printf '\nSummary (package-check.sh):\n%s  %-62s %4ss\n' "$summary" "total" $(($(date +%s) - started))
