# Sourced by the bench-master scripts (POSIX sh). Expects $here, $sizes and
# a name for the work directory in $work_name; sets $work, starts
# munin-fleet with as many nodes as the largest size (its munin.conf host
# sections in $work/hosts.conf), cleans up at exit, prints the machine, and
# defines `timed LABEL COMMAND...` (wall, user, sys, peak RSS of a run, kept in
# $work/results under the current size $n for bench-medians.py).
cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins >/dev/null 2>&1
work=$(mktemp -d "/var/tmp/$work_name.XXXXXX")
chmod 755 "$work"
fleet_pid=
cleanup() {
    [ -n "$fleet_pid" ] && kill "$fleet_pid" 2>/dev/null
    [ -f "$work/rrdcached.pid" ] && kill "$(cat "$work/rrdcached.pid")" 2>/dev/null && sleep 2
    rm -rf "$work"
}
trap cleanup EXIT
max=0
for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
"$here/target/release/munin-fleet" --nodes "$max" >"$work/hosts.conf" &
fleet_pid=$!
count() { c=$(grep -c '^\[' "$work/hosts.conf" 2>/dev/null) || true; echo "${c:-0}"; }
while [ "$(count)" -lt "$max" ]; do sleep 0.2; done
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
timed() { # label command...
    label=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    echo "$label $(cat "$work/t")"
    echo "$n $label $(cat "$work/t")" >>"$work/results"
    # Errors reported by a run that still exited 0 (a node, a file).
    if [ -s "$work/err" ]; then echo "  stderr: $(head -c 300 "$work/err")"; fi
}
