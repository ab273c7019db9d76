#!/usr/bin/env python3
"""Benchmark for BENCHMARKS.md (issue 4): config and fetch of every core
plugin over one connection, as munin-update polls a node, against

  * Debian's munin-node 2.0.73 running munin-plugins-core's scripts, and
  * our munin-node serving munin-plugins symlinks, once with Debian's own
    /etc/munin/plugin-conf.d (its `user root` for if_* makes those fork) and
    once with no user switch asked (every plugin in-process),

all in the same run, alternating. Prints the median poll time of each and
the ratios. Run as root on Debian with munin-node installed, after
`cargo build --release`:

    python3 scripts/bench-plugins.py [RUNS]
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = "/usr/share/munin/plugins"
DEBIAN_CONF = "/etc/munin/plugin-conf.d"
PLAIN = ["cpu", "load", "memory", "swap", "uptime", "processes", "forks",
         "threads", "entropy", "open_files", "interrupts", "vmstat", "netstat",
         "df", "df_inode", "diskstats"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, what):
    end = time.time() + 120
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not start listening")


def real_node(work, plugins, port):
    """Debian's munin-node with its conf dir moved (see tests/support/real_node.rs)."""
    confdir = os.path.join(work, "real-confdir")
    lib = os.path.join(work, "real-lib/Munin/Common")
    state = os.path.join(work, "real-state")
    for d in (confdir, lib, state):
        os.makedirs(d)
    os.chmod(state, 0o755)
    os.symlink(plugins, os.path.join(confdir, "plugins"))
    os.symlink(DEBIAN_CONF, os.path.join(confdir, "plugin-conf.d"))
    with open("/usr/share/perl5/Munin/Common/Defaults.pm") as f:
        text = f.read()
    text = re.sub(r"^our \$MUNIN_CONFDIR .*$", f"our $MUNIN_CONFDIR = q{{{confdir}}};", text, flags=re.M)
    text = re.sub(r"^our \$MUNIN_PLUGSTATE .*$", f"our $MUNIN_PLUGSTATE = q{{{state}}};", text, flags=re.M)
    with open(os.path.join(lib, "Defaults.pm"), "w") as f:
        f.write(text)
    conf = os.path.join(work, "real.conf")
    with open(conf, "w") as f:
        f.write(f"log_level 4\nlog_file {work}/real.log\npid_file {work}/real.pid\n"
                "background 0\nsetsid 0\nuser root\ngroup root\nhost_name bench\n"
                f"allow ^127\\.0\\.0\\.1$\nhost 127.0.0.1\nport {port}\n")
    env = dict(os.environ, PERL5LIB=os.path.join(work, "real-lib"))
    return subprocess.Popen(["/usr/sbin/munin-node", "--config", conf, "--foreground"],
                            env=env, cwd="/", stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def our_node(work, name, plugins, sconfdir, port):
    conf = os.path.join(work, f"{name}.conf")
    state = os.path.join(work, f"{name}-state")
    with open(conf, "w") as f:
        f.write(f"host 127.0.0.1\nport {port}\nhost_name bench\nallow ^127\\.0\\.0\\.1$\n"
                f"plugin_state_dir {state}\n")
    return subprocess.Popen([os.path.join(HERE, "target/release/munin-node"), "--config", conf,
                             "--servicedir", plugins, "--sconfdir", sconfdir],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, f"{name}.log"), "w"))


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.line()

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def ask(self, cmd, dotted=True):
        self.s.sendall(cmd.encode() + b"\n")
        lines = []
        while True:
            line = self.line()
            if not dotted or line == b".":
                return lines if dotted else line
            lines.append(line)


def poll(port, plugins):
    """One munin-update style session; returns (seconds, values seen)."""
    start = time.perf_counter()
    c = Conn(port)
    c.ask("cap multigraph dirtyconfig", dotted=False)
    values = 0
    for p in plugins:
        c.ask(f"config {p}")
        values += sum(1 for l in c.ask(f"fetch {p}") if b".value " in l)
    c.s.sendall(b"quit\n")
    c.s.close()
    return time.perf_counter() - start, values


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/munin-node"):
        sys.exit("run as root with Debian's munin-node and munin-plugins-core installed")
    ours_bin = os.path.join(HERE, "target/release/munin-plugins")
    iface = sorted(i for i in os.listdir("/sys/class/net") if i != "lo")[0]
    names = PLAIN + [f"if_{iface}", f"if_err_{iface}"]
    work = tempfile.mkdtemp(prefix="bench-plugins.")
    os.chmod(work, 0o755)
    procs = []
    try:
        core_dir, ours_dir, empty_conf = (os.path.join(work, d) for d in ("core", "ours", "noconf"))
        for d in (core_dir, ours_dir, empty_conf):
            os.makedirs(d)
        for n in names:
            base = n if n in PLAIN else n[: n.rindex("_") + 1] if n.startswith("if_err_") else "if_"
            os.symlink(os.path.join(CORE, base), os.path.join(core_dir, n))
            os.symlink(ours_bin, os.path.join(ours_dir, n))
        ports = {k: free_port() for k in ("real", "ours-debian-conf", "ours-in-process")}
        procs.append(real_node(work, core_dir, ports["real"]))
        procs.append(our_node(work, "ours-debian-conf", ours_dir, DEBIAN_CONF, ports["ours-debian-conf"]))
        procs.append(our_node(work, "ours-in-process", ours_dir, empty_conf, ports["ours-in-process"]))
        for (k, port), p in zip(ports.items(), procs):
            wait_listening(port, p, k)
        times = {k: [] for k in ports}
        seen = {}
        for k, port in ports.items():  # warm-up; diskstats saves its first state
            poll(port, names)
        time.sleep(1.1)
        for _ in range(runs):
            for k, port in ports.items():
                t, v = poll(port, names)
                times[k].append(t)
                seen[k] = v
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        lo = {k: min(v) * 1000 for k, v in times.items()}
        hi = {k: max(v) * 1000 for k, v in times.items()}
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
        print(f"machine: {os.cpu_count()} CPUs, {cpu}, kernel {os.uname().release}")
        print(f"date: {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}")
        print(f"plugins ({len(names)}): {' '.join(names)}; {runs} polls each, medians [min-max]")
        for k in ports:
            ratio = med["real"] / med[k]
            print(f"{k:<18} {med[k]:9.1f} ms [{lo[k]:.1f}-{hi[k]:.1f}]  values {seen[k]:4d}  "
                  f"{ratio:6.1f}x faster than real")
        size = os.path.getsize(ours_bin)
        print(f"munin-plugins: {size} bytes (stripped)")
        print(subprocess.run(["ldd", ours_bin], capture_output=True, text=True).stdout.rstrip())
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
