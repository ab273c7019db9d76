#!/bin/sh
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each with
# cargo-fuzz (libFuzzer, nightly toolchain), JOBS at a time, then prints a
# table: target, runs, seconds, crashes, corpus size. Seeds are in
# fuzz/seeds/<target>; what the fuzzer adds goes to fuzz/corpus/<target>
# (not in git); a crash leaves its input in fuzz/artifacts/<target>/ and
# makes the script fail. A short run (SECONDS=20) is CI's smoke test.
# Usage: fuzz.sh [SECONDS] [TARGET...]
set -eu
secs=${1:-600}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/fuzz"
jobs=${JOBS:-2}
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal >/dev/null
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked >/dev/null 2>&1
fi
# The framing target's TLS key and certificate: made here, never shipped.
if [ ! -f tls/node.pem ]; then
    mkdir -p tls
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout tls/key.pem -out tls/cert.pem -days 36500 -subj "/CN=munin-rs fuzz node" \
        -addext basicConstraints=critical,CA:FALSE >/dev/null 2>&1
    cat tls/key.pem tls/cert.pem > tls/node.pem
fi
if [ $# -gt 0 ]; then
    targets=$*
    for t in $targets; do
        cargo +nightly fuzz build --release "$t" >/dev/null 2>&1 || cargo +nightly fuzz build --release "$t"
    done
else
    targets=$(cargo +nightly fuzz list)
    # One build of them all: shared dependencies are built once.
    cargo +nightly fuzz build --release >/dev/null 2>&1 || cargo +nightly fuzz build --release
fi
mkdir -p logs
run() {
    t=$1
    mkdir -p "corpus/$t" "seeds/$t"
    cargo +nightly fuzz run --release "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        > "logs/$t.log" 2>&1
    echo $? > "logs/$t.status"
}
running=0
for t in $targets; do
    run "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait
failed=0
printf '| target | runs | seconds | crashes | corpus |\n|---|---|---|---|---|\n'
for t in $targets; do
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "logs/$t.log" | tail -1 || true)
    runs=$(echo "$done_line" | awk '{print $2}')
    took=$(echo "$done_line" | awk '{print $5}')
    crashes=$(ls "artifacts/$t" 2>/dev/null | grep -c -E '^(crash|leak|timeout|oom)-' || true)
    corpus=$(ls "corpus/$t" | wc -l)
    status=$(cat "logs/$t.status")
    printf '| %s | %s | %s | %s | %s |\n' "$t" "${runs:-?}" "${took:-?}" "$crashes" "$corpus"
    if [ "$status" != 0 ] || [ "$crashes" != 0 ]; then
        failed=1
        echo "fuzz.sh: $t failed (exit $status); see fuzz/logs/$t.log" >&2
    fi
done
exit $failed
