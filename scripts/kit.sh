# Shared by conformance.sh and bench-node.sh (sourced, not run): a work
# directory holding a runnable copy of the shared conformance kit, and the
# real munin-node and ours started on its fixture.
#
#   kit_setup SHARED_DIR   sets $here, $work, $kit; builds the release binaries
#   free_port              prints a free loopback port
#   start_real_node PORT   sets $real_pid (Debian's munin-node, via the kit)
#   start_our_node PORT    sets $our_pid once it listens; log in $work/our-node.log
#                          ($OUR_LOG if set); $OUR_EXTRA: more munin-node.conf lines

real_pid=
our_pid=

kit_cleanup() {
    [ -n "$real_pid" ] && kill "$real_pid" 2>/dev/null || true
    [ -n "$our_pid" ] && kill "$our_pid" 2>/dev/null || true
    rm -rf "$work"
}

kit_setup() {
    shared=$(cd "$1" && pwd)
    here=$(cd "$(dirname "$0")/.." && pwd)
    work=$(mktemp -d /tmp/munin-rs-kit.XXXXXX)
    chmod 755 "$work"
    trap kit_cleanup EXIT INT TERM
    cargo build --release --locked --manifest-path "$here/Cargo.toml" --bins
    "$here/scripts/materialize-fixture.sh" "$shared/conformance" "$work/kit"
    kit="$work/kit"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_real_node() {
    real_pid=$(PORT=$1 PLUGINS_DIR="$kit/plugins-fixture" PLUGIN_CONF_DIR="$kit/plugin-conf.d-fixture" \
        RUNDIR="$work/real-node" "$kit/run-real-node.sh")
}

start_our_node() {
    log=${OUR_LOG:-$work/our-node.log}
    conf=$work/munin-node-$1.conf
    cat > "$conf" <<CONF
host 127.0.0.1
port $1
host_name munin-fixture.local
allow ^127\.0\.0\.1$
plugin_state_dir $work/state
ignore_file [\#~]\$
ignore_file DEADJOE\$
ignore_file \.bak\$
ignore_file %\$
ignore_file \.dpkg-(tmp|new|old|dist)\$
ignore_file \.rpm(save|new)\$
ignore_file \.pod\$
${OUR_EXTRA:-}
CONF
    "$here/target/release/munin-node" --config "$conf" \
        --servicedir "$kit/plugins-fixture" --sconfdir "$kit/plugin-conf.d-fixture" \
        2> "$log" &
    our_pid=$!
    i=0
    until grep -q "listening on" "$log"; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 "$our_pid" 2>/dev/null; then
            cat "$log" >&2
            echo "our node did not start" >&2
            exit 1
        fi
        sleep 0.1
    done
}
