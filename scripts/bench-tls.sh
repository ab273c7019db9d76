#!/bin/sh
# TLS overhead for BENCHMARKS.md, in one run on one machine:
#  1. our master polling every fixture plugin of our node, plain text and
#     over TLS (`tls paranoid`, verification on);
#  2. Debian's munin-update over TLS (paranoid) to our node and to
#     Debian's munin-node, and in plain text to both.
# Medians of RUNS runs each.
# Usage: bench-tls.sh SHARED_DIR [RUNS]   (as root; munin, munin-node, openssl)
set -eu
. "$(dirname "$0")/kit.sh"
runs=${2:-15}
kit_setup "$1" >/dev/null 2>&1

pki=$work/pki
mkdir -p "$pki"
(
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
        -subj "/CN=Bench CA" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign
    for cn in node master; do
        printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' > $cn.ext
        openssl req -newkey rsa:2048 -nodes -keyout $cn.key -out $cn.csr -subj "/CN=$cn"
        openssl x509 -req -in $cn.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $cn.crt -days 2 -extfile $cn.ext
        cat $cn.key $cn.crt > $cn.pem
    done
) >/dev/null 2>&1
chmod 755 "$pki"
chmod 644 "$pki"/*
tls() {
    printf 'tls paranoid\ntls_verify_certificate yes\ntls_private_key %s\ntls_certificate %s\ntls_ca_certificate %s\n' \
        "$pki/$1.pem" "$pki/$1.pem" "$pki/ca.crt"
}

plain_port=$(free_port)
OUR_LOG=$work/plain.log start_our_node "$plain_port"
plain_pid=$our_pid
tls_port=$(free_port)
OUR_LOG=$work/tls.log OUR_EXTRA=$(tls node) start_our_node "$tls_port"
tls_pid=$our_pid
real_plain=$(free_port)
start_real_node "$real_plain"
real_plain_pid=$real_pid
real_tls=$(free_port)
real_pid=$(PORT=$real_tls PLUGINS_DIR="$kit/plugins-fixture" PLUGIN_CONF_DIR="$kit/plugin-conf.d-fixture" \
    RUNDIR="$work/real-tls" EXTRA_CONF="$(tls node)" "$kit/run-real-node.sh")
trap 'kill $plain_pid $tls_pid $real_plain_pid $real_pid 2>/dev/null; rm -rf "$work"' EXIT INT TERM
sleep 2

# munin.conf for PORT, with TLS lines or none, in its own munin-owned dir.
conf() {
    d=$work/m-$1-$2
    mkdir -p "$d/db"
    {
        printf 'dbdir %s/db\nhtmldir %s/www\nlogdir %s\nrundir %s\n' "$d" "$d" "$d" "$d"
        [ "$2" = tls ] && tls master
        printf '[fixture;munin-fixture.local]\n    address 127.0.0.1\n    port %s\n    use_node_name yes\n' "$1"
    } > "$d/munin.conf"
    chown -R munin:munin "$d"
    echo "$d/munin.conf"
}

# median seconds of RUNS runs of a command
median() {
    python3 - "$runs" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(runs):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    times.append(time.perf_counter() - t)
    if r.returncode != 0:
        sys.exit(f"{cmd}: {r.stderr.decode()[-2000:]}")
print(f"{statistics.median(times):.4f}")
PY
}

master=$here/target/release/munin-master
update="runuser -u munin -- /usr/share/munin/munin-update --nofork --config_file"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), $runs runs each, medians in seconds"
p=$(median "$master" poll --config "$(conf "$plain_port" plain)")
t=$(median "$master" poll --config "$(conf "$tls_port" tls)")
echo "our master poll, our node: plain $p, TLS $t, TLS/plain $(python3 -c "print(f'{$t/$p:.2f}')")"
up=$(median $update "$(conf "$plain_port" plain)")
ut=$(median $update "$(conf "$tls_port" tls)")
rp=$(median $update "$(conf "$real_plain" plain)")
rt=$(median $update "$(conf "$real_tls" tls)")
echo "munin-update, our node: plain $up, TLS $ut, TLS/plain $(python3 -c "print(f'{$ut/$up:.2f}')")"
echo "munin-update, Debian's munin-node: plain $rp, TLS $rt, TLS/plain $(python3 -c "print(f'{$rt/$rp:.2f}')")"
echo "munin-update over TLS: Debian's node / ours $(python3 -c "print(f'{$rt/$ut:.2f}')")"
