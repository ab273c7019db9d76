#!/bin/sh
# munin-master cron at fleet scale, for BENCHMARKS.md: can a 3000-node
# fleet (munin-fleet, 20 plugins of 5 fields a node: 60,000 graphs, 240,000
# PNGs) have its whole cycle (update + limits + html) inside a minute with
# no day graph a user opens more than 5 minutes stale? Two ways measured in
# the same run, both through Debian's rrdcached (the update's engine at this
# scale):
#   budget:    graph_strategy cron; html draws day graphs first within the
#              time left of the minute: day graphs drawn per run gives the
#              staleness (60,000 / drawn-per-run minutes);
#   on demand: graph_strategy cgi; cron writes pages only, serve draws a
#              graph when it is asked for: time for a host page and all its
#              graphs as a browser loads them (6 at a time), and how old the
#              data behind it is.
# Usage (as root): scripts/bench-html-large.sh [NODES]  default 3000, RUNS=3.
# Needs about 16 GB of disk under /var/tmp (update_rate 300 files).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
sizes=${1:-3000}
master=$here/target/release/munin-master
work_name=bench-html-large
# shellcheck source=scripts/bench-master-common.sh
. "$here/scripts/bench-master-common.sh"
n=$sizes
d="$work/n$n"
mkdir -p "$d/db" "$d/run" "$d/log" "$d/journal" "$d/www"
lines=$((n * 4))
rrdcached -l "unix:$work/rrdcached.sock" -p "$work/rrdcached.pid" -j "$d/journal" -w 3600 -z 1800 -f 7200 -B -b "$work"
head="update_rate 300\ndbdir $d/db\nhtmldir $d/www\nrundir $d/run\nlogdir $d/log\nrrdcached_socket $work/rrdcached.sock\n"
{ printf "${head}graph_strategy cgi\n"; head -n "$lines" "$work/hosts.conf"; } >"$d/cgi.conf"
{ printf "$head"; head -n "$lines" "$work/hosts.conf"; } >"$d/cron.conf"
echo "== $n nodes x 20 plugins x 5 fields ($((n * 20)) graphs x 4 periods); label wall user sys (s)"
timed "create:munin-master-update" "$master" update --config "$d/cgi.conf"
echo "files: $(find "$d/db" -name '*.rrd' | wc -l), $(du -sh "$d/db" | cut -f1)"
i=0
while [ "$i" -lt "$runs" ]; do
    sleep 2
    timed "cycle:cron-cgi" "$master" cron --config "$d/cgi.conf"
    echo "  $(tail -n 1 "$d/log/munin-master-update.log" | cut -d' ' -f2-5)"
    echo "  $(tail -n 1 "$d/log/munin-master-html.log" | cut -d' ' -f2-)"
    i=$((i + 1))
done
# On demand: serve, and a browser opening host pages.
port=18949
"$master" serve --config "$d/cgi.conf" --port "$port" 2>"$work/serve.err" &
serve_pid=$!
sleep 2
for h in 7 1234 2999; do
    host=$(printf 'node%05d.fleet' "$h")
    python3 - "$port" "fleet/$host/" <<'EOF' >>"$work/page"
import concurrent.futures, re, sys, time, urllib.request
port, page = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}/"
t0 = time.time()
html = urllib.request.urlopen(base + page).read().decode()
imgs = re.findall(r'src="([^"]+\.png)"', html)
def get(src):
    body = urllib.request.urlopen(base + page + src).read()
    assert body.startswith(b"\x89PNG"), src
with concurrent.futures.ThreadPoolExecutor(6) as ex:
    list(ex.map(get, imgs))
print(f"{page} {len(imgs)} {time.time() - t0:.3f}")
EOF
    tail -n 1 "$work/page" | awk '{print "ondemand:host-page " $1 ": " $2 " graphs in " $3 " s (first view)"}'
done
kill "$serve_pid"
# Budget: the same fleet with graph_strategy cron, html given 50 s.
i=0
while [ "$i" -lt "$runs" ]; do
    timed "budget:html-50s" "$master" html --budget 50 --config "$d/cron.conf"
    echo "  $(tail -n 1 "$d/log/munin-master-html.log" | cut -d' ' -f2-)"
    i=$((i + 1))
done
echo "== medians (wall, CPU = user + sys), s"
python3 "$here/scripts/bench-medians.py" "$work/results"
