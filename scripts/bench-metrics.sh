#!/bin/sh
# /metrics benchmark for BENCHMARKS.md (issue 19): a synthetic site of HOSTS
# hosts (default 3000), each with 20 plugins / 23 graphs / 100 fields shaped
# like a Debian node's defaults (cpu, memory, df, diskstats' multigraph
# children, irqstats...; 44 of the 100 fields DERIVE), every value fresh.
#   exposition: metrics::exposition in-process (the ignored test
#               issue19_bench_exposition), median of RUNS, each format;
#   serve:      GET /metrics from `munin-master serve` with curl:
#               "first"  after values.json changed (serve re-reads munin.conf,
#                        the 3000 config files and values.json, then builds
#                        the body: what the first scrape after an update pays),
#               "other"  the first in the other format after that (the
#                        state is read, the body is built),
#               "cached" the next scrapes until the next update;
#               both formats, and the body's size gzipped for reference
#               (serve sends it uncompressed).
# There is no Munin component to compare with; munin_exporter (one node per
# exporter) is the naming reference only.
# Usage: scripts/bench-metrics.sh [HOSTS]; RUNS=5; writes /tmp/bench-metrics.md.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
hosts=${1:-3000}
runs=${RUNS:-5}
out=${OUT:-/tmp/bench-metrics.md}
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bin munin-master >/dev/null 2>&1
work=$(mktemp -d "/var/tmp/bench-metrics.XXXXXX")
serve_pid=
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
machine="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
date=$(date -u +%Y-%m-%dT%H:%MZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $machine"
echo "date: $date"

# In-process: timing and the state written for serve.
(cd "$here" && HOSTS=$hosts RUNS=$runs BENCH_METRICS_DIR=$work \
    cargo test --release --locked --test tests -- --ignored issue19_bench_exposition --nocapture 2>/dev/null) |
    grep '^BENCH' | tee "$work/inprocess"
[ -s "$work/inprocess" ] || { echo "the in-process benchmark failed"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$here/target/release/munin-master" serve --port "$port" --config "$work/munin.conf" 2>"$work/serve.err" &
serve_pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
    i=$((i + 1))
    [ "$i" -lt 200 ] || { echo "serve did not listen"; cat "$work/serve.err"; exit 1; }
    sleep 0.1
done
om='Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
# scrape LABEL [curl options]: one GET, "LABEL seconds bytes" into results.
scrape() {
    label=$1
    shift
    r=$(curl -s -o "$work/body" -w '%{http_code} %{time_total} %{size_download}' "$@" "http://127.0.0.1:$port/metrics")
    set -- $r
    [ "$1" = 200 ] || { echo "$label: HTTP $1"; cat "$work/body"; exit 1; }
    echo "$label $2 $3" >>"$work/results"
}
n=0
while [ "$n" -lt "$runs" ]; do
    # A new values.json (as after an update): serve rebuilds what it serves.
    touch "$work/db/munin-rs-state/values.json"
    scrape first:text
    scrape cached:text
    scrape cached:text
    scrape other:openmetrics -H "$om"
    scrape cached:openmetrics -H "$om"
    scrape cached:openmetrics -H "$om"
    touch "$work/db/munin-rs-state/values.json"
    scrape first:openmetrics -H "$om"
    scrape other:text
    n=$((n + 1))
done
scrape cached:text
gz=$(gzip -c -6 "$work/body" | wc -c)
samples=$(grep -c 'muninlabel=' "$work/body" || true)
rss=$(awk '/VmHWM/ {print $2 / 1024}' "/proc/$serve_pid/status")
load="$load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
python3 - "$work/results" "$work/inprocess" "$hosts" "$runs" "$gz" "$samples" "$rss" "$machine" "$date" "$load" >"$out" <<'EOF'
import collections, statistics, sys
results, inprocess, hosts, runs, gz, samples, rss, machine, date, load = sys.argv[1:]
rows = collections.defaultdict(list)
for line in open(results):
    label, secs, size = line.split()
    rows[label].append((float(secs), int(size)))
print("## /metrics at %s hosts (issue 19)\n" % hosts)
print("`scripts/bench-metrics.sh %s` (RUNS=%s), %s; %s; load average %s.\n"
      % (hosts, runs, date, machine, load))
print("A synthetic site: %s hosts x 20 plugins (23 graphs, diskstats' multigraph "
      "children among them) x 100 fields, 44 of them DERIVE; %s samples with a "
      "field's labels. No Munin component does this; munin_exporter is the naming "
      "reference only.\n" % (hosts, samples))
print("| what | median | range | body |")
print("|---|---:|---:|---:|")
for line in open(inprocess):
    f = dict(kv.split("=") for kv in line.split()[2:])
    print("| `exposition()` in-process, %s | %.0f ms | %.0f-%.0f ms | %.1f MB |" % (
        f["format"], float(f["median_ms"]), float(f["min_ms"]), float(f["max_ms"]),
        int(f["bytes"]) / 1e6))
order = {"first": 0, "other": 1, "cached": 2}
for label in sorted(rows, key=lambda l: (order[l.split(":")[0]], l)):
    v = rows[label]
    secs = [s for s, _ in v]
    print("| serve GET /metrics, %s | %.0f ms | %.0f-%.0f ms | %.1f MB |" % (
        label.replace(":", ", "), statistics.median(secs) * 1e3, min(secs) * 1e3,
        max(secs) * 1e3, statistics.median(b for _, b in v) / 1e6))
print("\nThe text body gzipped (`gzip -6`) is %.1f MB. serve's peak RSS over the run: %.0f MB "
      "(both formats' bodies cached)." % (int(gz) / 1e6, float(rss)))
print("\"first\" is the first scrape after values.json changed: serve re-reads munin.conf, "
      "every host's config and values.json, then builds the body; \"other\" is the first "
      "scrape in the other format after that (the body built, the state already read); "
      "\"cached\" scrapes are answered from the body until the next update. serve sends the "
      "body uncompressed (Prometheus asks for gzip).")
EOF
cat "$out"
