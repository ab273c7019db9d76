#!/bin/sh
# Any-range graph benchmark for BENCHMARKS.md (issue 19): 200 requests at
# once, each for its own time range of its own graph of a 50-node site,
# answered by Munin's munin-cgi-graph (Debian munin 2.0.73) and by our
# `munin-master serve` (graph_strategy cgi), from the same RRD files, in
# the same run.
#
# The site: munin-fleet's simulated nodes on loopback (NODES=50, 20 plugins
# of 5 fields each: 4 GAUGE, 1 DERIVE). Debian's munin-update (as user munin) polls them
# once into a dbdir: it creates the RRDs with Munin's layout and writes
# the datafile munin-cgi-graph reads; our `munin-master cron` then polls
# the same nodes into the same dbdir (one more row, our state files and
# pages). Each of the nodes' RRDs is then recreated with the same layout
# (`rrdtool create --template`) and given 8 days of made-up 5-minute
# history up to now. Both servers read that one dbdir. Before each
# measurement every RRD gets one more row (munin-cgi-graph gives a field's
# Cur: as nan once its file is more than 15 minutes old; on a real site
# munin-update writes every 5 minutes); the ranges asked for end before
# these rows.
#
# munin-cgi-graph runs two ways, as user munin, each behind a small Python
# server of scripts/bench-zoom-client.py (a thread per connection, a listen
# backlog of 1024):
#   CGI      (`cgi-server`: http.server's CGI handler) one munin-cgi-graph
#            process forked and exec'd per request, as Debian's Apache
#            configuration runs it without mod_fcgid; munin-cgi-graph uses
#            CGI::Fast, which serves one request and exits when not
#            started by a FastCGI server;
#   FastCGI  (`fcgi-server`) FCGI_PROCS persistent munin-cgi-graph
#            processes (default: one per CPU) accepting on one Unix socket,
#            as spawn-fcgi -F N starts them (Debian's nginx and systemd
#            examples start one); each request is passed to them over
#            FastCGI.
# A query string turns munin-cgi-graph's image cache off: every request
# draws.
#
# The requests (scripts/bench-zoom-client.py `run`): Munin's dynazoom URL
# `/<group>/<host>/<plugin>-pinpoint=START,END.png?size_x=800&size_y=400`
# (under /cgi-bin/munin-cgi-graph for Munin; ours answers the same path),
# graph k = host k mod 50, plugin k div 50 (200 distinct graphs), ranges of
# 1 hour to 3 days within the last 7 days, the same for both servers and
# every run. All 200 are sent at once, each on its own connection; latency
# is from connect to the last byte. Peak RSS is the sum over the server's
# process tree (the Python server and its munin-cgi-graph children; our
# serve and its graph worker processes), sampled from /proc every 50 ms.
#
# Per run (RUNS=3), alternating which goes first: Munin as CGI, Munin as
# FastCGI; ours just started (cache cold), the same 200 requests again
# (cache warm). One request for another range first warms each server up
# and is compared (image size). This machine may be shared: the script
# waits while rustc runs, and measures again what a compiler or any other
# process taking CPU (from /proc/stat) disturbed.
# Prints each run, then a Markdown table of medians.
#
# Usage (as root, Debian's munin installed, from the repository root):
#   scripts/bench-zoom.sh        NODES, PLUGINS, FIELDS, REQUESTS, RUNS,
#                                FCGI_PROCS;
#                                KEEP=1 keeps the work directory.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
nodes=${NODES:-50}
plugins=${PLUGINS:-20}
fields=${FIELDS:-5}
requests=${REQUESTS:-200}
fcgi_procs=${FCGI_PROCS:-$(nproc)}
days=8
py=/usr/bin/python3
master="$here/target/release/munin-master"
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins >/dev/null 2>&1
work=$(mktemp -d /var/tmp/bench-zoom.XXXXXX)
chmod 755 "$work"
# User munin runs the client's CGI server: give it a copy it can read.
client="$work/bench-zoom-client.py"
cp "$here/scripts/bench-zoom-client.py" "$client"
fleet_pid= serve_pid= cgi_pid= fcgi_pid= watch_pid=
# Ends a child of this shell and waits for it (its status is not ours).
stop() {
    if [ -n "$1" ]; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    set +e
    stop "$watch_pid"
    stop "$serve_pid"
    [ -f "$work/cgi.pid" ] && kill "$(cat "$work/cgi.pid")" 2>/dev/null
    stop "$cgi_pid"
    # shellcheck disable=SC2046 # one id a line
    [ -f "$work/fcgi.pid" ] && kill $(cat "$work/fcgi.pid") 2>/dev/null
    stop "$fcgi_pid"
    stop "$fleet_pid"
    if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
free_port() { $py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    tries=0
    until curl -s -o /dev/null "http://127.0.0.1:$1/"; do
        tries=$((tries + 1))
        [ "$tries" -lt 100 ] || { echo "nothing listens on port $1" >&2; exit 1; }
        sleep 0.1
    done
}
# This machine is shared: wait for compilers to finish (also before each
# measurement, and a measurement during which one ran is made again).
quiet() { while [ "$(pgrep -c rustc || true)" -gt 0 ]; do sleep 10; done; }
quiet

"$here/target/release/munin-fleet" --nodes "$nodes" --plugins "$plugins" --fields "$fields" >"$work/hosts.conf" 2>"$work/fleet.log" &
fleet_pid=$!
count() { c=$(grep -c '^\[' "$work/hosts.conf" 2>/dev/null) || true; echo "${c:-0}"; }
while [ "$(count)" -lt "$nodes" ]; do sleep 0.2; done

mkdir -p "$work/db" "$work/log" "$work/run" "$work/cgi-tmp" "$work/www" "$work/cgi/cgi-bin"
ln -s /usr/lib/munin/cgi/munin-cgi-graph "$work/cgi/cgi-bin/munin-cgi-graph"
{
    printf 'dbdir %s/db\nhtmldir %s/www\nlogdir %s/log\nrundir %s/run\n' "$work" "$work" "$work" "$work"
    printf 'cgitmpdir %s/cgi-tmp\ngraph_strategy cgi\n' "$work"
    cat "$work/hosts.conf"
} >"$work/munin.conf"
{
    printf 'dbdir %s/db\nhtmldir %s/www-ours\nlogdir %s/log-ours\nrundir %s/run-ours\n' "$work" "$work" "$work" "$work"
    printf 'graph_strategy cgi\n'
    cat "$work/hosts.conf"
} >"$work/ours.conf"
chown -R munin:munin "$work"

echo "machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), kernel $(uname -r), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== site: $nodes nodes x $plugins plugins x $fields fields, $days days of history"
runuser -u munin -- /usr/share/munin/munin-update --nofork --config_file "$work/munin.conf"
"$master" cron --config "$work/ours.conf" >/dev/null
chown -R munin:munin "$work/db"
# After both updates: the nodes' own counters would follow the made-up
# ones as a spike of the DERIVE fields.
runuser -u munin -- $py "$client" fill "$work/db/fleet" "$(date +%s)" "$days"
echo "RRDs: $(find "$work/db/fleet" -name '*.rrd' | wc -l) (expected $((nodes * plugins * fields)))"
# Both read the RRDs from the page cache, as a running server would.
find "$work/db" -name '*.rrd' -exec cat {} + >/dev/null
now=$(date +%s)

cgi_port=$(free_port)
runuser -u munin -- env MUNIN_CONFIG="$work/munin.conf" \
    $py "$client" cgi-server "$work/cgi" "$cgi_port" "$work/cgi.pid" &
cgi_pid=$!
wait_port "$cgi_port"
munin_url="http://127.0.0.1:$cgi_port/cgi-bin/munin-cgi-graph"
fcgi_port=$(free_port)
runuser -u munin -- env MUNIN_CONFIG="$work/munin.conf" $py "$client" fcgi-server \
    /usr/lib/munin/cgi/munin-cgi-graph "$fcgi_procs" "$fcgi_port" "$work/fcgi.pid" "$work/run/fcgi-graph.sock" \
    2>"$work/fcgi.log" &
fcgi_pid=$!
wait_port "$fcgi_port"
fcgi_url="http://127.0.0.1:$fcgi_port/munin-cgi/munin-cgi-graph"

# One graph over the last day at 800x400, from both: a warm-up, and the
# images compared.
check() { # label url
    curl -s --max-time 120 -D "$work/check-$1.headers" -o "$work/check-$1.png" \
        "$2/fleet/node00000.fleet/sim00-pinpoint=$((now - 86400)),$now.png?size_x=800&size_y=400"
    echo "  $1 check: $(file -b "$work/check-$1.png" | cut -d, -f1-2), $(wc -c <"$work/check-$1.png") bytes"
}

out="$work/results.jsonl"
# One measurement, kept only if no compiler ran meanwhile (checked every
# second) and other processes took little CPU (the client checks);
# otherwise it returns 1 and the caller measures again.
bench() { # label prefix pid
    quiet
    # Fresh data, as on a site updated every 5 minutes: munin-cgi-graph
    # gives a field's Cur: as nan once its file is 15 minutes old.
    runuser -u munin -- $py "$client" refresh "$work/db/fleet"
    sleep 1
    rm -f "$work/disturbed" "$work/one.jsonl"
    (while :; do pgrep -x rustc >/dev/null && touch "$work/disturbed"; sleep 1; done) &
    watch_pid=$!
    $py "$client" run "$2" "$work/hosts.conf" "$plugins" "$now" "$requests" "$1" "$3" "$work/one.jsonl" ||
        { [ $? = 3 ] && touch "$work/disturbed"; } || exit 1
    stop "$watch_pid"
    sleep 2
    if [ -f "$work/disturbed" ]; then
        echo "    (measured again)"
        return 1
    fi
    cat "$work/one.jsonl" >>"$out"
}
munin() {
    until bench munin "$munin_url" "$(cat "$work/cgi.pid")"; do :; done
    until bench munin-fcgi "$fcgi_url" "$(head -n 1 "$work/fcgi.pid")"; do :; done
}
# Our serve, started anew until a cold measurement is undisturbed; then
# the same requests again.
ours() {
    while :; do
        port=$(free_port)
        "$master" serve --config "$work/ours.conf" --port "$port" 2>>"$work/serve.log" &
        serve_pid=$!
        wait_port "$port"
        check ours "http://127.0.0.1:$port"
        bench ours-cold "http://127.0.0.1:$port" "$serve_pid" && break
        stop "$serve_pid"
    done
    until bench ours-warm "http://127.0.0.1:$port" "$serve_pid"; do :; done
    stop "$serve_pid"
    serve_pid=
}
echo "== $requests requests at once, ${runs} runs"
check munin "$munin_url"
check munin-fcgi "$fcgi_url"
run=1
while [ "$run" -le "$runs" ]; do
    echo "run $run ($(date -u +%H:%M:%SZ))"
    if [ $((run % 2)) = 1 ]; then munin; ours; else ours; munin; fi
    run=$((run + 1))
done
if grep -q ERROR "$work/log/munin-cgi-graph.log" 2>/dev/null; then
    echo "munin-cgi-graph.log: $(grep -c ERROR "$work/log/munin-cgi-graph.log") errors, first:"
    grep -m1 ERROR "$work/log/munin-cgi-graph.log"
fi
echo "== medians of $runs runs (range)"
$py "$client" table "$out"
