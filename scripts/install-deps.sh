#!/bin/sh
# Installs the Debian packages munin-rs needs. With --test, also what the test
# suite compares against (Debian's munin-node, munin master, rrdtool) and the
# browser that opens the site (chromium).
# Debian's own munin-node service is stopped and disabled afterwards: ours
# takes port 4949.
set -eu
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
# librrd-dev, pkg-config and libclang-dev build the rrd crate (munin-master);
# librrd draws the graphs' text with DejaVu. dpkg-dev: scripts/package.sh
# (dpkg-shlibdeps computes the packages' Depends).
packages="munin-plugins-core librrd-dev pkg-config libclang-dev fonts-dejavu-core dpkg-dev"
if [ "${1:-}" = "--test" ]; then
    # python3-dev: Tahoe-LAFS from PyPI builds netifaces from source.
    # net-tools: munin-plugins-core's netstat plugin runs netstat.
    # libnet-ssleay-perl: Munin's TLS (only suggested by its packages);
    # openssl, openssh-*: the tests' CA and sshd; munin-async: the spool.
    # lintian: scripts/package.sh checks the .deb files with it.
    packages="$packages munin-node munin rrdtool rrdcached carbon-c-relay netcat-openbsd python3 python3-venv python3-dev net-tools procps chromium openssl openssh-server openssh-client munin-async libnet-ssleay-perl lintian"
    # prometheus: promtool and prometheus read serve's /metrics. Without its
    # recommends: they bring ipmitool and a node exporter, which would change
    # what munin-plugins-core's ipmi plugin and the machine report.
    lean="prometheus"
fi
# apt_install [apt-get options] -- packages: those not yet installed.
apt_install() {
    opts=
    while [ "$1" != "--" ]; do opts="$opts $1"; shift; done
    shift
    missing=
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "installing:$missing"
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $opts $missing >/dev/null
    fi
}
apt_install -- $packages
apt_install --no-install-recommends -- ${lean:-}
if [ -d /run/systemd/system ] && systemctl is-enabled munin-node >/dev/null 2>&1; then
    $SUDO systemctl disable --now munin-node >/dev/null 2>&1 || true
fi
# The tests start their own prometheus on a free port; Debian's service
# (and the node exporter it recommends) would only scrape this machine.
for unit in prometheus prometheus-node-exporter; do
    if [ -d /run/systemd/system ] && systemctl is-enabled "$unit" >/dev/null 2>&1; then
        $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
done
if [ "${1:-}" = "--test" ]; then
    # Tahoe-LAFS from PyPI for the gatherer's end-to-end test.
    "$(dirname "$0")/tahoe-venv.sh" >/dev/null
fi
