#!/usr/bin/env python3
"""The soak run behind scripts/soak.sh.

Starts, from target/release: our munin-node (built-in plugins), munin-fleet
(200 simulated nodes), stats-gatherer (with a token) and munin-master serve
(graph_strategy cgi, so serve draws graphs); runs munin-master cron every
minute over the 201 nodes. Meanwhile:

good clients   20 agents pushing JSON every 5 s; API readers walking every
               page of aggregate and samples; a browser fetching pages and
               graphs from serve.
hostile ones   idle connections held open to the gatherer, serve and the
               node; header and line tricklers; floods of invented node ids
               and names; bodies over the limit; wrong tokens; methods and
               paths serve refuses; 40 clients holding node sessions.

At the end: every cron exited 0 and stored every value of every node; each
agent's last value is in the snapshot; the good clients got only good
answers; log lines are counted by kind (hostile-caused ones apart); RSS of
every process is sampled every 10 s and reported (start after a minute's
warm-up, end, peak).
"""

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(HERE, "target", "release")
TOKEN = "soak-token"
AGENTS = 20
FLEET = 200

minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
stop = threading.Event()
lock = threading.Lock()
counts = {}
failures = []
cron_times = []


def count(key, n=1):
    with lock:
        counts[key] = counts.get(key, 0) + n


def fail(why):
    with lock:
        failures.append(why)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(port, method, path, body=b"", headers=None, timeout=30):
    """One request with Connection: close; (status, body) or (0, error)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        return status, data.split(b"\r\n\r\n", 1)[-1]
    except OSError as e:
        return 0, str(e).encode()


def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main():
    work = tempfile.mkdtemp(prefix="munin-rs-soak.", dir="/var/tmp")
    os.chmod(work, 0o755)
    procs = {}
    try:
        run(work, procs)
    finally:
        stop.set()
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


def start(procs, name, argv, log):
    procs[name] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def wait_port(port, what):
    end = time.time() + 60
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port}")


def run(work, procs):
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    for b in ["munin-plugins"]:
        shutil.copy(os.path.join(REL, b), bindir)
    plugins = os.path.join(work, "plugins")
    sconf = os.path.join(work, "plugin-conf.d")
    os.makedirs(plugins)
    os.makedirs(sconf)
    for p in ["cpu", "load", "memory", "uptime", "processes", "forks"]:
        os.symlink(os.path.join(bindir, "munin-plugins"), os.path.join(plugins, p))
    node_port, gat_port, web_port = free_port(), free_port(), free_port()
    with open(os.path.join(work, "munin-node.conf"), "w") as f:
        f.write(f"host 127.0.0.1\nport {node_port}\nhost_name soak-node\n"
                f"plugin_state_dir {work}/state\n")
    start(procs, "munin-node", [os.path.join(REL, "munin-node"), "--config", f"{work}/munin-node.conf",
                                "--servicedir", plugins, "--sconfdir", sconf], f"{work}/node.log")
    hosts = os.path.join(work, "hosts.conf")
    procs["munin-fleet"] = subprocess.Popen([os.path.join(REL, "munin-fleet"), "--nodes", str(FLEET)],
                                            stdout=open(hosts, "w"), stderr=subprocess.DEVNULL)
    while open(hosts).read().count("[") < FLEET:
        time.sleep(0.2)
    conf = os.path.join(work, "munin.conf")
    with open(conf, "w") as f:
        f.write(f"dbdir {work}/db\nhtmldir {work}/www\nlogdir {work}/log\nrundir {work}/run\n"
                f"graph_strategy cgi\n[soak;soak-node]\n    address 127.0.0.1\n    port {node_port}\n")
        f.write(open(hosts).read())
    start(procs, "stats-gatherer", [os.path.join(REL, "stats-gatherer"), "--listen", f"127.0.0.1:{gat_port}",
                                    "--statsfile", f"{work}/stats.pickle", "--interval", "10",
                                    "--token", TOKEN, "--max-nodes", "2000", "--retention", "10m"],
          f"{work}/gatherer.log")
    wait_port(node_port, "munin-node")
    wait_port(gat_port, "stats-gatherer")
    master = os.path.join(REL, "munin-master")
    cron(master, conf, work)  # the site exists before serve starts
    start(procs, "serve", [master, "serve", "--port", str(web_port), "--config", conf], f"{work}/serve.log")
    wait_port(web_port, "serve")
    print(f"soak: {minutes} min in {work}: node :{node_port}, gatherer :{gat_port}, serve :{web_port}, "
          f"{FLEET} fleet nodes", flush=True)

    last_push = {}
    threads = [
        threading.Thread(target=cron_loop, args=(master, conf, work)),
        threading.Thread(target=agents, args=(gat_port, last_push)),
        threading.Thread(target=api_reader, args=(gat_port,)),
        threading.Thread(target=browser, args=(web_port, conf, work)),
        threading.Thread(target=idle_holders, args=([gat_port, web_port, node_port],)),
        threading.Thread(target=tricklers, args=(gat_port, web_port, node_port)),
        threading.Thread(target=flooder, args=(gat_port, web_port)),
        threading.Thread(target=node_holders, args=(node_port,)),
    ]
    samples = {name: [] for name in procs}
    for t in threads:
        t.daemon = True
        t.start()
    t0 = time.time()
    end = t0 + minutes * 60
    while time.time() < end:
        for name, p in procs.items():
            if p.poll() is not None:
                fail(f"{name} exited with {p.returncode}")
                stop.set()
            samples[name].append((time.time() - t0, rss(p.pid)))
        if stop.is_set():
            break
        time.sleep(10)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    # One interval for the agents' last push to reach the snapshot.
    time.sleep(12)
    check_snapshot(work, last_push)
    report(work, samples, t0)


def cron(master, conf, work):
    started = time.time()
    r = subprocess.run([master, "cron", "--config", conf], capture_output=True, text=True, timeout=600)
    took = time.time() - started
    count("cron runs")
    if r.returncode != 0:
        fail(f"cron exited {r.returncode}: {r.stderr[:300]}")
    if r.stderr.strip():
        fail(f"cron said: {r.stderr[:300]}")
    try:
        line = open(os.path.join(work, "log", "munin-master-update.log")).read().splitlines()[-1]
    except (OSError, IndexError):
        fail("no update log line")
        return
    m = re.search(r"(\d+) nodes ok, (\d+) failed .*?(\d+) values stored, (\d+) not stored", line)
    if not m:
        fail(f"update log line not understood: {line}")
        return
    ok, failed, stored, not_stored = map(int, m.groups())
    count("values stored", stored)
    if ok != FLEET + 1 or failed or not_stored:
        fail(f"update: {line}")
    with lock:
        cron_times.append(took)


def cron_loop(master, conf, work):
    while not stop.wait(60 - time.time() % 60):
        cron(master, conf, work)


def agents(port, last_push):
    n = 0
    auth = {"Authorization": f"Bearer {TOKEN}"}
    while not stop.wait(5):
        n += 1
        for a in range(AGENTS):
            doc = {"nodeid": f"agent{a:02d}", "nickname": f"agent {a}",
                   "counters": {"storage_server.allocate": n * 10 + a},
                   "stats": {"load_monitor.avg_load": 0.5}}
            status, body = http(port, "POST", "/api/v1/push", json.dumps(doc).encode(), auth)
            count("good pushes")
            if status != 202:
                fail(f"agent push: {status} {body[:200]!r}")
            else:
                last_push[f"agent{a:02d}"] = n * 10 + a


def api_reader(port):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    while not stop.wait(2):
        for q in ["/api/v1/aggregate?period=600&series=5000", "/api/v1/samples?period=60&limit=50000",
                  "/api/v1/nodes", "/api/v1/self"]:
            after = ""
            while not stop.is_set():
                status, body = http(port, "GET", q + after, headers=auth, timeout=120)
                count("good queries")
                if status != 200:
                    fail(f"query {q}: {status} {body[:200]!r}")
                    break
                nxt = json.loads(body).get("next") if q.startswith("/api/v1/a") or "samples" in q else None
                if not nxt:
                    break
                after = "&after=" + nxt.replace("/", "%2F")


def browser(port, conf, work):
    hosts = [f"fleet/node{i:05d}.fleet" for i in range(FLEET)]
    while not stop.wait(1):
        h = random.choice(hosts)
        status, _ = http(port, "GET", f"/{h}/", timeout=120)
        count("good pages")
        if status != 200:
            fail(f"page /{h}/: {status}")
        g = f"/{h}/sim{random.randrange(20):02d}-{random.choice(['day', 'week'])}.png"
        status, body = http(port, "GET", g, timeout=120)
        count("good graphs")
        if status != 200 or not body.startswith(b"\x89PNG"):
            fail(f"graph {g}: {status} {body[:120]!r}")


def connect_from(source, port):
    """A connection from `source` (a 127.x address): the node's per-address
    share must not count the hostile clients against the master's 127.0.0.1."""
    s = socket.socket()
    s.settimeout(5)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def idle_holders(ports):
    held = {p: [] for p in ports}
    node = ports[2]
    while not stop.wait(1):
        for p, conns in held.items():
            want = 100 if p == node else 300
            conns[:] = [c for c in conns if alive(c)]
            while len(conns) < want:
                try:
                    if p == node:
                        conns.append(connect_from(f"127.0.2.{len(conns) + 1}", p))
                    else:
                        conns.append(socket.create_connection(("127.0.0.1", p), timeout=5))
                    count("hostile idle connections")
                except OSError:
                    break
    for conns in held.values():
        for c in conns:
            c.close()


def alive(c):
    try:
        c.setblocking(False)
        data = c.recv(1, socket.MSG_PEEK)
        c.setblocking(True)
        return data != b""
    except BlockingIOError:
        c.setblocking(True)
        return True
    except OSError:
        return False


def trickle(port, text, source="127.0.0.1"):
    try:
        s = connect_from(source, port)
        for b in text:
            if stop.is_set():
                break
            s.send(bytes([b]))
            time.sleep(1)
        s.close()
    except OSError:
        pass
    count("hostile tricklers")


def tricklers(gat, web, node):
    n = 0
    while not stop.wait(5):
        n += 1
        for port, text, source in [(gat, b"GET /api/v1/self HTTP/1.1\r\nHost: x\r\n", "127.0.0.1"),
                                   (web, b"GET / HTTP/1.1\r\nX: y\r\n", "127.0.0.1"),
                                   (node, b"version version version", f"127.0.3.{n % 200 + 1}")]:
            threading.Thread(target=trickle, args=(port, text, source), daemon=True).start()


def flooder(gat, web):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    i = 0
    while not stop.wait(2):
        i += 1
        # Invented names on a few ids (each capped at 10,000 names), and
        # invented ids (capped at --max-nodes).
        names = {f"flood.{i}.{j}.{'p' * 40}": j for j in range(12_000)}
        doc = json.dumps({"nodeid": f"flood{i % 50:02d}", "counters": names}).encode()
        http(gat, "POST", "/api/v1/push", doc, auth)
        for k in range(20):
            http(gat, "POST", f"/api/v1/push/lines?node=spam{i}-{k}", b"x\t1\n", auth)
        http(gat, "POST", "/api/v1/push", b"{}", {"Authorization": "Bearer wrong"})
        http(gat, "POST", "/api/v1/push", b"x" * (1 << 21), auth)
        http(gat, "POST", "/api/v1/push/lines?node=../../x", b"a\t1\n", auth)
        http(gat, "GET", "/api/v1/samples?since=0&limit=100000000", headers=auth)
        http(gat, "GET", "/api/v1/samples")
        for m, p in [("POST", "/"), ("DELETE", "/index.html"), ("GET", "/../../etc/passwd"), ("TRACE", "/")]:
            http(web, m, p)
        count("hostile floods")


def node_holders(port):
    conns = []
    for n in range(40):
        try:
            conns.append(connect_from(f"127.0.1.{n + 1}", port))
        except OSError:
            pass
    while not stop.wait(10):
        for s in conns:
            try:
                s.sendall(b"version\n")
                s.recv(4096)
            except OSError:
                pass
    for s in conns:
        s.close()


def check_snapshot(work, last_push):
    try:
        snap = json.load(open(os.path.join(work, "stats.json")))
    except (OSError, ValueError) as e:
        fail(f"stats.json: {e}")
        return
    for agent, value in last_push.items():
        got = snap.get(agent, {}).get("stats", {}).get("counters", {}).get("storage_server.allocate")
        if got != value:
            fail(f"{agent}: snapshot holds {got}, last pushed {value}")
    count("agents in the snapshot", sum(1 for a in last_push if a in snap))


# Log lines the hostile clients cause by design.
HOSTILE = ["refusing connection", "closing idle", "reached global_timeout", "line_timeout", "left out", "max-nodes", "not kept",
           "values not kept", "new names not kept", "connections open, near the cap", "accept:",
           "denying connection"]


def report(work, samples, t0):
    print(f"\nsoak report ({minutes} min, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print("\n| process | RSS at 1 min | at 5 min (caps reached) | end | peak |\n|---|---|---|---|---|")
    for name, series in samples.items():
        vals = [v for t, v in series if v]
        if not vals:
            continue
        at = lambda m: next((v for t, v in series if t >= m * 60 and v), vals[-1])
        mb = lambda b: f"{b / 2**20:.1f} MB"
        print(f"| {name} | {mb(at(1))} | {mb(at(5))} | {mb(vals[-1])} | {mb(max(vals))} |")
    if cron_times:
        ts = sorted(cron_times)
        print(f"\ncron over {FLEET + 1} nodes: {len(ts)} runs, first {cron_times[0]:.1f} s (creates the files), "
              f"median {ts[len(ts) // 2]:.1f} s, max {ts[-1]:.1f} s")
    print("\n| log | lines | of which caused by hostile clients |\n|---|---|---|")
    for log in ["node.log", "gatherer.log", "serve.log"]:
        try:
            lines = [l for l in open(os.path.join(work, log)) if re.search(r"WARN|ERROR", l)]
        except OSError:
            continue
        hostile = [l for l in lines if any(h in l for h in HOSTILE)]
        print(f"| {log} | {len(lines)} | {len(hostile)} |")
        for l in [l for l in lines if l not in hostile][:10]:
            print(f"    unexpected: {l.strip()[:200]}")
            fail(f"{log}: {l.strip()[:200]}")
    print("\n| counter | value |\n|---|---|")
    for k, v in sorted(counts.items()):
        print(f"| {k} | {v} |")
    print(f"\nchecks: {'all held' if not failures else str(len(failures)) + ' failed'}")
    for f in failures[:20]:
        print(f"  FAILED: {f}")


if __name__ == "__main__":
    main()
