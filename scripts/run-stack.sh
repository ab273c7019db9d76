#!/bin/bash
# The README's first command: the whole stack on this machine, on the
# embedded defaults, in the foreground until Ctrl-C.
#
#   stats-gatherer  127.0.0.1:3458  polls the local Tahoe node when one is
#                   configured (TAHOE_NODE=<node dir>, or tahoe-node /
#                   provider lines in munin-node/stats-gatherer.conf);
#                   otherwise a demo agent pushes three simulated nodes.
#   munin-node      127.0.0.1:4949  plugins/ (munin-plugins and tahoe-stats).
#   munin-master    cron every minute (update, limits, html) into
#                   target/stack/, and serve on http://127.0.0.1:8949/.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
cargo build --release --manifest-path "$here/Cargo.toml" --bins
bin="$here/target/release"
stack="$here/target/stack"
statsfile=$(awk '$1 == "env.statsfile" {print $2; exit}' "$here/plugin-conf.d/tahoe")
mkdir -p "$stack/log" "$(dirname "$statsfile")"

pids=()
cleanup() {
    trap - EXIT
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The gatherer, and its providers: a real Tahoe node or the demo agent.
gatherer_conf="$here/munin-node/stats-gatherer.conf"
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
"$here/scripts/link-plugins.sh"
"$bin/munin-node" --foreground >>"$stack/log/munin-node.log" 2>&1 &
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
while :; do
    "$bin/munin-master" cron --config "$conf" || echo "munin-master cron: exit $?"
    # In the background and waited for: a signal's trap runs at once.
    sleep $((60 - $(date +%s) % 60)) &
    wait $! || true
done
