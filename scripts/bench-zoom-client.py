#!/usr/bin/env python3
"""Helpers of scripts/bench-zoom.sh (issue 19), standard library only.

    fill DBDIR NOW DAYS       give every RRD under DBDIR DAYS of 5-minute
                              history ending at NOW (made-up values)
    refresh DBDIR             one more row in every RRD under DBDIR, now
    cgi-server DIR PORT PIDFILE
                              serve DIR, running DIR/cgi-bin/* as CGI: one
                              process forked and exec'd per request
    fcgi-server APP PROCS PORT PIDFILE SOCKET
                              start PROCS processes of the FastCGI
                              application APP listening on SOCKET (their
                              file descriptor 0) and pass each HTTP request
                              under /munin-cgi/munin-cgi-graph/ to them;
                              PIDFILE gets its id and theirs
    run PREFIX HOSTS PLUGINS NOW N LABEL PID OUT
                              N requests at once, each for its own range of
                              its own graph (the hosts of the munin.conf
                              sections in HOSTS, plugins sim00..), under
                              PREFIX; appends a JSON line to OUT; exits 3
                              if processes other than PID's tree and the
                              client took more than 0.5 s + 5% of the
                              machine's CPU time meanwhile
    sample PID                peak RSS of PID's process tree until stdin
                              closes (run starts one)
    table OUT                 medians of the runs in OUT, as Markdown

The ranges depend only on NOW and N, so both servers get the same ones.
"""

import http.client
import http.server
import json
import math
import os
import random
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib

# Munin's dynazoom page asks for 800x400; so does every request here.
SIZE_X, SIZE_Y = 800, 400
STEP = 300


def rrds(dbdir):
    return sorted(os.path.join(d, f) for d, _, names in os.walk(dbdir)
                  for f in names if f.endswith(".rrd"))


def value(path, t):
    """The made-up value of the RRD at `path` at time t: per file a level,
    a daily wave and a 2-hour ripple. The kind of data source is the file
    name's last letter, as Munin names them: GAUGE (-g) takes the value,
    DERIVE and COUNTER (-d, -c) a counter growing at that rate per second
    (in closed form, so any later row continues it), ABSOLUTE (-a) the
    count of a 5-minute step."""
    seed = zlib.crc32(os.path.basename(path).encode())
    level = 10 + seed % 90
    phase = (seed >> 8) % 628 / 100
    day, ripple = 86400 / (2 * math.pi), 7200 / (2 * math.pi)
    kind = path[-5]
    if kind in "dc":
        return str(int(level * (t - 0.4 * day * math.cos(t / day + phase)
                                - 0.1 * ripple * math.cos(t / ripple))))
    v = level * (1 + 0.4 * math.sin(t / day + phase) + 0.1 * math.sin(t / ripple))
    return str(int(v * STEP)) if kind == "a" else f"{v:.2f}"


def rrdtool(dbdir, commands):
    """Runs the commands through one `rrdtool -`; exits on any error."""
    log = open(os.path.join(dbdir, ".rrdtool.log"), "w+")
    rrd = subprocess.Popen(["rrdtool", "-"], stdin=subprocess.PIPE, stdout=log,
                           stderr=subprocess.STDOUT, text=True)
    for c in commands:
        rrd.stdin.write(c + "\n")
    rrd.stdin.close()
    if rrd.wait() != 0:
        sys.exit("rrdtool - failed")
    log.seek(0)
    errors = [line for line in log if line.startswith("ERROR")]
    if errors:
        sys.exit(f"rrdtool: {len(errors)} errors, first: {errors[0].strip()}")


def fill(dbdir, now, days):
    """Recreate each RRD with its own layout (`rrdtool create --template`)
    starting DAYS before NOW, and feed it a row every 5 minutes up to NOW."""
    end = now - now % STEP
    start = end - days * 86400
    files = rrds(dbdir)

    def commands():
        for path in files:
            tmp = path + ".fill"
            yield f"create {tmp} --template {path} --start {start - STEP} --step {STEP}"
            times = range(start, end + 1, STEP)
            for i in range(0, len(times), 200):
                rows = " ".join(f"{t}:{value(path, t)}" for t in times[i:i + 200])
                yield f"update {tmp} {rows}"

    rrdtool(dbdir, commands())
    for path in files:
        os.replace(path + ".fill", path)
    print(f"filled {len(files)} RRDs with {(end - start) // STEP + 1} rows each")


def refresh(dbdir):
    """One more row in each RRD, now: munin-cgi-graph makes a field's
    current value unknown (`Cur: nan`) once its file was last updated more
    than 900 s ago (GraphOld.pm), and on a real site munin-update writes
    every 5 minutes."""
    t = int(time.time())
    rrdtool(dbdir, (f"update {path} {t}:{value(path, t)}" for path in rrds(dbdir)))


class CgiServer(http.server.ThreadingHTTPServer):
    # socketserver's default backlog of 5 would drop most of 200 connects
    # made at once (each retried a second later).
    request_queue_size = 1024
    daemon_threads = True


class CgiHandler(http.server.CGIHTTPRequestHandler):
    def log_message(self, *args):
        pass


def cgi_server(directory, port, pidfile):
    os.chdir(directory)
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")
    CgiServer(("127.0.0.1", int(port)), CgiHandler).serve_forever()


# FastCGI (the open specification, version 1): record types used here.
FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_RESPONDER = 1
FCGI_PREFIX = "/munin-cgi/munin-cgi-graph"


def fcgi_record(kind, content=b""):
    """One record of request 1, padded to 8 bytes."""
    pad = -len(content) % 8
    return struct.pack("!BBHHBx", 1, kind, 1, len(content), pad) + content + bytes(pad)


def fcgi_params(env):
    out = b""
    for k, v in env.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        out += k + v
    return out


def fcgi_call(path, env):
    """The application's output (CGI headers and body) for one request,
    on a connection of its own (no keep-alive)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(fcgi_record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", FCGI_RESPONDER, 0))
                  + fcgi_record(FCGI_PARAMS, fcgi_params(env)) + fcgi_record(FCGI_PARAMS)
                  + fcgi_record(FCGI_STDIN))
        f = s.makefile("rb")
        out = []
        while True:
            head = f.read(8)
            if len(head) < 8:
                break
            _, kind, _, n, pad = struct.unpack("!BBHHBx", head)
            content = f.read(n + pad)[:n]
            if kind == FCGI_STDOUT:
                out.append(content)
            elif kind == FCGI_END_REQUEST:
                break
        return b"".join(out)


class FcgiHandler(http.server.BaseHTTPRequestHandler):
    socket_path = None

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if not path.startswith(FCGI_PREFIX + "/"):
            self.send_error(404)
            return
        env = {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "bench-zoom",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": "HTTP/1.0",
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": FCGI_PREFIX,
            "PATH_INFO": urllib.parse.unquote(path[len(FCGI_PREFIX):]),
            "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": "0",
        }
        try:
            raw = fcgi_call(self.socket_path, env)
        except OSError as e:
            self.send_error(502, str(e))
            return
        head, _, body = raw.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def fcgi_server(app, procs, port, pidfile, socket_path):
    """PROCS application processes on one listening socket (what
    spawn-fcgi -F PROCS does), children of this server."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path)
    listener.listen(1024)
    children = [subprocess.Popen([app], stdin=listener.fileno(), stdout=subprocess.DEVNULL)
                for _ in range(int(procs))]
    FcgiHandler.socket_path = socket_path
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # This server's id first, then its children's: the caller can end them
    # even if this process dies first.
    with open(pidfile, "w") as f:
        f.write("".join(f"{pid}\n" for pid in [os.getpid()] + [c.pid for c in children]))
    try:
        CgiServer(("127.0.0.1", int(port)), FcgiHandler).serve_forever()
    finally:
        for c in children:
            c.kill()


def hosts_of(conf):
    """(group, host) of each `[group;host]` section."""
    out = []
    for line in open(conf):
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            group, host = line[1:-1].split(";", 1)
            out.append((group, host))
    return out


def windows(hosts, plugins, now, n):
    """The n requests' paths: graph k is host k mod hosts, plugin k div
    hosts (so each graph once while n <= hosts x plugins), over a range of
    1 hour to 3 days ending in the last 7 days."""
    rng = random.Random(19)
    paths = []
    for k in range(n):
        group, host = hosts[k % len(hosts)]
        plugin = f"sim{(k // len(hosts)) % plugins:02d}"
        span = rng.randint(3600, 3 * 86400)
        end = now - rng.randint(0, 7 * 86400 - span)
        paths.append(f"/{group}/{host}/{plugin}-pinpoint={end - span},{end}.png"
                     f"?size_x={SIZE_X}&size_y={SIZE_Y}")
    return paths


def fetch(host, port, path):
    """(seconds, ok, bytes, (width, height) or None, error): one GET on its
    own connection. A CGI's `Status:` line reaches the client as a header
    when the server passes the script's output through (http.server does)."""
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection(host, port, timeout=900)
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read()
        c.close()
    except (OSError, http.client.HTTPException) as e:
        return time.perf_counter() - t0, False, 0, None, str(e)
    dt = time.perf_counter() - t0
    status = (r.getheader("Status") or str(r.status)).split()[0]
    png = body[:8] == b"\x89PNG\r\n\x1a\n"
    dims = (int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")) if png else None
    ok = r.status == 200 and status == "200" and png
    err = None if ok else f"{r.status}/{status}: {body[:120]!r}"
    return dt, ok, len(body), dims, err


def tree(root):
    """(RSS kB, processes, CPU seconds) of root and its descendants, from
    /proc/*/stat. The CPU time counts children already waited for (how a
    CGI's requests are counted, once the server has reaped them)."""
    children, rss, cpu = {}, {}, {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields from the third (state) on: ppid, utime, stime, cutime,
        # cstime, rss at 1, 11-14, 21.
        fields = stat[stat.rfind(b")") + 2:].split()
        pid = int(name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * page_kb
        cpu[pid] = sum(int(x) for x in fields[11:15])
    total, count, ticks, todo = 0, 0, 0, [root]
    while todo:
        pid = todo.pop()
        if pid in rss:
            total += rss[pid]
            count += 1
            ticks += cpu[pid]
        todo.extend(children.get(pid, ()))
    return total, count, ticks / os.sysconf("SC_CLK_TCK")


def busy():
    """CPU seconds the whole machine has been busy, from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(x) for x in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def sample(root):
    """Every 50 ms until stdin closes; then prints peak kB and processes."""
    peak, most = 0, 0
    while True:
        kb, count, _ = tree(int(root))
        peak, most = max(peak, kb), max(most, count)
        if select.select([sys.stdin], [], [], 0.05)[0]:
            break
    print(peak, most)


def run(prefix, hosts_conf, plugins, now, n, label, pid, out):
    url = urllib.parse.urlsplit(prefix)
    paths = [url.path.rstrip("/") + p
             for p in windows(hosts_of(hosts_conf), int(plugins), int(now), int(n))]
    busy0, tree0, self0 = busy(), tree(int(pid))[2], os.times()
    sampler = subprocess.Popen([sys.executable, __file__, "sample", pid],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    results = [None] * len(paths)
    gate = threading.Barrier(len(paths) + 1)

    def one(i):
        gate.wait()
        results[i] = fetch(url.hostname, url.port, paths[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    time.sleep(0.2)
    peak, procs = sampler.communicate("")[0].split()
    # Where the machine's CPU time went meanwhile: the server, this client
    # (and its sampler), and anything else, which makes it a bad run.
    self1 = os.times()
    server_cpu = tree(int(pid))[2] - tree0
    client_cpu = sum(self1[:4]) - sum(self0[:4])
    others_cpu = busy() - busy0 - server_cpu - client_cpu
    disturbed = others_cpu > 0.5 + 0.05 * (wall + 0.4) * os.cpu_count()
    lat = sorted(r[0] for r in results)
    good = [r for r in results if r[1]]
    row = {
        "label": label,
        "requests": len(paths),
        "ok": len(good),
        "p50_ms": statistics.median(lat) * 1000,
        # Nearest rank: the 198th of 200.
        "p99_ms": lat[math.ceil(0.99 * len(lat)) - 1] * 1000,
        "max_ms": lat[-1] * 1000,
        "wall_s": wall,
        "peak_rss_kb": int(peak),
        "peak_procs": int(procs),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "others_cpu_s": round(others_cpu, 2),
        "mean_png_bytes": int(statistics.mean(r[2] for r in good)) if good else 0,
        "dims": sorted({f"{r[3][0]}x{r[3][1]}" for r in good}),
        "errors": sorted({r[4] for r in results if r[4]})[:3],
    }
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {label:14} ok {row['ok']}/{row['requests']}  p50 {row['p50_ms']:8.1f} ms"
          f"  p99 {row['p99_ms']:8.1f} ms  max {row['max_ms']:8.1f} ms  wall {wall:6.2f} s"
          f"  peak RSS {row['peak_rss_kb'] / 1024:7.1f} MB ({row['peak_procs']} processes)"
          f"  PNG {row['mean_png_bytes']} B {','.join(row['dims'])}"
          f"  CPU s: server {server_cpu:.1f} client {client_cpu:.1f} others {others_cpu:.1f}")
    for e in row["errors"]:
        print(f"    error: {e}")
    if disturbed:
        print("    (other processes took CPU meanwhile)")
        sys.exit(3)


def table(out):
    rows = {}
    for line in open(out):
        r = json.loads(line)
        rows.setdefault(r["label"], []).append(r)

    def med(label, key):
        v = [r[key] for r in rows[label]]
        return statistics.median(v), min(v), max(v)

    def cell(label, key, unit, scale=1.0, digits=0):
        m, lo, hi = (x * scale for x in med(label, key))
        return f"{m:,.{digits}f} {unit} ({lo:,.{digits}f}–{hi:,.{digits}f})"

    names = {
        "munin": "munin-cgi-graph 2.0.73 as CGI (a process a request)",
        "munin-fcgi": "munin-cgi-graph 2.0.73 as FastCGI (persistent processes)",
        "ours-cold": "munin-master serve, cache cold",
        "ours-warm": "munin-master serve, same requests again (cache warm)",
    }
    print("| server | ok | p50 | p99 | all done | peak RSS (process tree) |")
    print("|---|---|---|---|---|---|")
    for label in names:
        if label not in rows:
            continue
        oks = "/".join(str(r["ok"]) for r in rows[label])
        n = rows[label][0]["requests"]
        print(f"| {names[label]} | {oks} of {n} | {cell(label, 'p50_ms', 'ms', digits=1)} "
              f"| {cell(label, 'p99_ms', 'ms', digits=1)} | {cell(label, 'wall_s', 's', digits=2)} "
              f"| {cell(label, 'peak_rss_kb', 'MB', 1 / 1024, 1)} |")
    print()
    for theirs in ("munin", "munin-fcgi"):
        for ours in ("ours-cold", "ours-warm"):
            if theirs not in rows or ours not in rows:
                continue
            for key in ("p50_ms", "p99_ms"):
                per_run = [m[key] / o[key] for m, o in zip(rows[theirs], rows[ours])]
                ratio = med(theirs, key)[0] / med(ours, key)[0]
                print(f"- {theirs} / {ours} {key[:3]}: {ratio:,.1f}× (ratio of medians; "
                      f"per run {', '.join(f'{x:,.1f}' for x in per_run)})")
            rss = med(theirs, "peak_rss_kb")[0] / med(ours, "peak_rss_kb")[0]
            print(f"- {theirs} / {ours} peak RSS: {rss:,.1f}×")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "fill":
        fill(args[0], int(args[1]), int(args[2]))
    elif cmd == "refresh":
        refresh(args[0])
    elif cmd == "cgi-server":
        cgi_server(*args)
    elif cmd == "fcgi-server":
        fcgi_server(*args)
    elif cmd == "run":
        run(*args)
    elif cmd == "sample":
        sample(args[0])
    elif cmd == "table":
        table(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
