#!/bin/bash
# The README's first command: the whole stack on this machine, on the
# embedded defaults, in the foreground until Ctrl-C.
#
#   stats-gatherer  127.0.0.1:3458  polls the local Tahoe node when one is
#                   configured (TAHOE_NODE=<node dir>, or tahoe-node /
#                   provider lines in etc/stats-gatherer.conf);
#                   otherwise a demo agent pushes three simulated nodes.
#   munin-node      127.0.0.1:4949  munin-plugins and the tahoe-stats graphs.
#   munin-master    cron every minute (update, limits, html) and serve on
#                   http://127.0.0.1:8949/.
#
# Everything runs from the stack directory scripts/stage-stack.sh fills
# (/var/lib/munin-rs/stack as root, where the plugins' user can reach it
# wherever this clone is); the master's dbdir, htmldir and logs are there
# too. Once the first cron has drawn the site, one line says what is
# served: "munin-rs stack ready: ...".
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
stack=$("$here/scripts/stage-stack.sh" | tail -n 1)
bin="$stack/bin"
statsfile=$(awk '$1 == "env.statsfile" {print $2; exit}' "$stack/etc/plugin-conf.d/tahoe")
mkdir -p "$stack/log" "$(dirname "$statsfile")"
echo "munin-rs stack in $stack (binaries, configuration, plugins, RRDs, site, logs)"

pids=()
cleanup() {
    trap - EXIT
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The gatherer, and its providers: a real Tahoe node or the demo agent.
gatherer_conf="$stack/etc/stats-gatherer.conf"
args=(--config "$gatherer_conf" --statsfile "$statsfile")
if [ -n "${TAHOE_NODE:-}" ]; then
    args+=(--tahoe-node "$TAHOE_NODE")
    echo "stats-gatherer: polling the Tahoe node in $TAHOE_NODE"
elif grep -Eq '^(tahoe-node|provider) ' "$gatherer_conf"; then
    echo "stats-gatherer: polling the nodes of $gatherer_conf"
else
    demo=yes
fi
"$bin/stats-gatherer" "${args[@]}" >>"$stack/log/stats-gatherer.log" 2>&1 &
pids+=($!)

# Pushes one simulated node's /statistics?t=json to the gatherer's API,
# over bash's /dev/tcp (nothing to install).
push() {
    local id=$1 nick=$2 n=$3 body
    body=$(printf '{"nodeid":"%s","nickname":"%s","counters":{"storage_server.allocate":%d,"storage_server.get":%d,"storage_server.writev":%d,"storage_server.readv":%d,"storage_server.bytes_added":%d,"storage_server.bytes_freed":%d,"uploader.bytes_uploaded":%d,"uploader.files_uploaded":%d,"mutable.files_published":%d,"mutable.files_retrieved":%d},"stats":{"load_monitor.avg_load":0.%02d,"load_monitor.max_load":0.%02d,"storage_server.allocated":0,"storage_server.consumed":%d,"storage_server.disk_used":%d,"storage_server.total_bucket_count":%d}}' \
        "$id" "$nick" $((n * 3)) $((n * 11)) $((n * 2)) $((n * 17)) $((n * 40000)) $((n * 9000)) \
        $((n * 52000)) $((n / 2)) $((n / 5)) $((n / 3)) $((RANDOM % 90 + 10)) $((RANDOM % 90 + 10)) \
        $((5000000000 + n * 40000)) $((7000000000 + n * 31000)) $((1000 + n)))
    exec 3<>/dev/tcp/127.0.0.1/3458 || return 0
    printf 'POST /api/v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "${#body}" "$body" >&3
    cat <&3 >/dev/null
    exec 3<&-
}
if [ "${demo:-}" = yes ]; then
    echo "stats-gatherer: no Tahoe node configured (set TAHOE_NODE=<node dir>); a demo agent pushes three simulated nodes"
    (
        n=1
        while :; do
            push xfjgwzuhmq3onvlmo6yzbmypprinvgg4 alpha $((n * 7)) 2>/dev/null || true
            push kt3oybaso7cymgkbo4yhrwbsx3vdpbsq beta $((n * 5)) 2>/dev/null || true
            push zwp7f6mvrl3i2yq7lmknqk3f2kwdpxnd gamma $((n * 3)) 2>/dev/null || true
            n=$((n + 1))
            sleep 20
        done
    ) &
    pids+=($!)
fi
# The gatherer writes its snapshot every minute: wait (up to two) for one
# that holds nodes, so the Tahoe graphs get linked.
echo "stats-gatherer: waiting for a snapshot with nodes in $statsfile (up to two minutes)"
for _ in $(seq 1 120); do
    [ -n "$(statsfile="$statsfile" "$bin/tahoe-stats" suggest 2>/dev/null)" ] && break
    sleep 1
done

# 2. The node, with every plugin that has data here linked.
"$here/scripts/link-plugins.sh" "$stack"
"$bin/munin-node" --config "$stack/etc/munin-node.conf" --foreground >>"$stack/log/munin-node.log" 2>&1 &
pids+=($!)

# 3. The master: munin.conf for this machine, cron every minute, serve.
conf="$stack/munin.conf"
cat >"$conf" <<EOF
# Written by scripts/run-stack.sh: the embedded default master config.
dbdir $stack/db
htmldir $stack/www
logdir $stack/log
rundir $stack/run

[localhost.localdomain]
    address 127.0.0.1
    use_node_name yes
EOF
"$bin/munin-master" serve --config "$conf" --port 8949 >>"$stack/log/serve.log" 2>&1 &
pids+=($!)
sleep 1
echo "munin-master: cron every minute with $conf; browse http://127.0.0.1:8949/ (files in $stack/www); Ctrl-C stops everything"

# The status line and Content-Type serve answers for PATH, over bash's
# /dev/tcp (nothing to install).
head_of() {
    local reply
    exec 4<>/dev/tcp/127.0.0.1/8949 || return 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&4
    reply=$(head -c 4096 <&4 | tr -d '\r' | sed -n '1p;/^[Cc]ontent-[Tt]ype:/p' | tr '\n' ' ')
    exec 4<&-
    echo "$reply"
}
# After a cron: the ready line once serve answers the overview and a day
# graph of both kinds, the built-in plugins' and the Tahoe-LAFS ones'.
ready=
check_served() {
    local all tahoe own one_tahoe one_own index g t
    all=$(find "$stack/www" -name '*-day.png' | wc -l)
    tahoe=$(find "$stack/www" -name 'tahoe*-day.png' | wc -l)
    own=$((all - tahoe))
    one_tahoe=$(find "$stack/www" -name 'tahoe*-day.png' | head -n 1)
    one_own=$(find "$stack/www" -name 'load-day.png' | head -n 1)
    if [ "$tahoe" = 0 ] || [ -z "$one_own" ]; then
        echo "munin-rs stack: $all day graphs drawn, $tahoe of them Tahoe-LAFS; waiting for the next cron"
        return
    fi
    index=$(head_of / || true)
    g=$(head_of "${one_own#"$stack/www"}" || true)
    t=$(head_of "${one_tahoe#"$stack/www"}" || true)
    case "$index $g $t" in
        *" 200 "*text/html*" 200 "*image/png*" 200 "*image/png*)
            ready=yes
            echo "munin-rs stack ready: http://127.0.0.1:8949/ serves $all day graphs: $own of built-in plugins, $tahoe of Tahoe-LAFS (${one_tahoe#"$stack/www/"}: $t)" ;;
        *) echo "munin-rs stack: serve answered / with '$index', a graph with '$g', a Tahoe graph with '$t'" ;;
    esac
}
while :; do
    "$bin/munin-master" cron --config "$conf" || echo "munin-master cron: exit $?"
    [ -n "$ready" ] || check_served
    # In the background and waited for: a signal's trap runs at once.
    sleep $((60 - $(date +%s) % 60)) &
    wait $! || true
done
