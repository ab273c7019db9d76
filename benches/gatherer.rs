//! stats-gatherer benchmark (`cargo bench --bench gatherer [-- PROVIDERS]`):
//!
//! 1. PROVIDERS (default 3000) simulated Tahoe providers on loopback ports,
//!    each answering `/statistics?t=json` with a real-sized reply, polled by
//!    the release `stats-gatherer` every 5 s: round time (first, cold, and
//!    the median of five steady rounds over kept-alive connections), CPU per
//!    round, and the snapshot write (pickle + JSON, fsynced).
//! 2. The reference on the same providers in the same run: the original's
//!    stack (Python + Twisted, `scripts/gatherer-reference.py`) polling them
//!    and writing the original's protocol-0 pickle.
//! 3. Push ingest: 4 agents pushing 1000-line batches over kept-alive
//!    connections for 3 s, three times; samples per second until applied.
//! 4. Memory: 1,000,000 samples (1000 series × 1000) pushed, paced so the
//!    queue never holds a backlog, and held.
//!
//! The simulator runs in this process on one thread, so it shares the
//! machine with the gatherer, as a real co-located agent would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROUNDS: usize = 6;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    munin_rs::sys::raise_fd_limit();
    let work = tempfile::tempdir().unwrap();
    println!(
        "machine: {} CPUs, {}, kernel {}",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        cpu_model(),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addrs = rt.block_on(start_providers(n));
    println!("{n} simulated providers on loopback");

    encode_benchmark(n);
    poll_benchmark(work.path(), &addrs);
    reference(work.path(), &addrs);
    drop(rt);
    push_benchmark(work.path());
    memory_benchmark(work.path());
    idle_connections(work.path());
}

/// Threads and memory with 2000 idle agent connections open: why axum on
/// tokio and not a thread per connection.
fn idle_connections(work: &Path) {
    let dir = work.join("idle");
    std::fs::create_dir_all(&dir).unwrap();
    let g = Gatherer::start(&dir, &["--interval", "3600"]);
    let status = |key: &str| -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", g.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    let (threads0, rss0) = (status("Threads:"), status("VmRSS:"));
    let conns: Vec<Conn> = (0..2000).map(|_| Conn::new(g.addr)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let (threads1, rss1) = (status("Threads:"), status("VmRSS:"));
    println!(
        "\n== 2000 idle connections: threads {threads0} -> {threads1}, RSS {:.1} -> {:.1} MB ==",
        rss0 / 1024.0,
        rss1 / 1024.0
    );
    drop(conns);
}

/// A Tahoe storage node's reply: 13 counters, 39 stats (latencies among
/// them), values moving with each request; about 2.9 KB like a real one.
fn reply(i: usize, k: u64) -> String {
    let c = k * 7 + i as u64;
    let mut counters = String::new();
    for (j, name) in [
        "allocate",
        "write",
        "close",
        "abort",
        "get",
        "read",
        "readv",
        "writev",
        "add-lease",
        "renew",
        "bytes_added",
        "bytes_freed",
    ]
    .iter()
    .enumerate()
    {
        counters.push_str(&format!(
            "\"storage_server.{name}\": {}, ",
            c * (j as u64 + 1)
        ));
    }
    counters.push_str(&format!("\"uploader.files_uploaded\": {c}"));
    let mut stats = format!(
        "\"load_monitor.avg_load\": 0.0{}, \"load_monitor.max_load\": 0.{}, \"cpu_monitor.1min_avg\": 0.00{}, \"cpu_monitor.5min_avg\": 0.0021, \"cpu_monitor.15min_avg\": 0.0019, \"cpu_monitor.total\": {}.25, \"node.uptime\": {}.5, ",
        k % 10,
        k % 7,
        k % 9,
        c,
        c * 60
    );
    for (name, v) in [
        ("allocated", 0),
        ("reserved_space", 1_000_000_000),
        ("disk_total", 270_553_174_016),
        ("disk_used", 19_928_952_832 + c),
        ("disk_free_for_root", 250_624_221_184 - c),
        ("disk_free_for_nonroot", 77_643_796_480 - c),
        ("disk_avail", 76_643_796_480 - c),
        ("accepting_immutable_shares", 1),
        ("total_bucket_count", 4000 + i as u64),
    ] {
        stats.push_str(&format!("\"storage_server.{name}\": {v}, "));
    }
    for op in ["allocate", "write", "close", "get", "read", "writev"] {
        for q in [
            "mean",
            "01_0_percentile",
            "50_0_percentile",
            "99_0_percentile",
        ] {
            stats.push_str(&format!(
                "\"storage_server.latencies.{op}.{q}\": 0.00{}{}, ",
                k % 10,
                i % 10
            ));
        }
        stats.push_str(&format!(
            "\"storage_server.latencies.{op}.samplesize\": null, "
        ));
    }
    stats.truncate(stats.len() - 2);
    format!("{{\"counters\": {{{counters}}}, \"stats\": {{{stats}}}}}")
}

async fn start_providers(n: usize) -> Vec<SocketAddr> {
    let mut addrs = Vec::with_capacity(n);
    for i in 0..n {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(l.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(serve(s, i));
            }
        });
    }
    addrs
}

async fn serve(mut s: tokio::net::TcpStream, i: usize) {
    let mut buf = Vec::with_capacity(1024);
    let mut k = 0u64;
    loop {
        loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.drain(..p + 4);
                break;
            }
            let mut tmp = [0u8; 2048];
            match s.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(r) => buf.extend_from_slice(&tmp[..r]),
            }
        }
        let body = reply(i, k);
        k += 1;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if s.write_all(format!("{head}{body}").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The release gatherer, killed on drop.
struct Gatherer {
    child: Child,
    addr: SocketAddr,
}

impl Gatherer {
    fn start(dir: &Path, extra: &[&str]) -> Gatherer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_stats-gatherer"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--statsfile")
            .arg(dir.join("stats.pickle"))
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < end, "gatherer did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Gatherer { child, addr }
    }

    fn report(&self) -> Value {
        let mut s = TcpStream::connect(self.addr).unwrap();
        write!(s, "GET /api/v1/self HTTP/1.0\r\n\r\n").unwrap();
        let mut r = Vec::new();
        s.read_to_end(&mut r).unwrap();
        let p = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        serde_json::from_slice(&r[p + 4..]).unwrap()
    }

    fn stat(&self, key: &str) -> f64 {
        self.report()[key].as_f64().unwrap()
    }

    /// User + system CPU seconds used so far.
    fn cpu(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
        ticks / 100.0
    }

    fn wait(&self, mut f: impl FnMut(&Value) -> bool, limit: Duration) -> Value {
        let end = Instant::now() + limit;
        loop {
            let r = self.report();
            if f(&r) {
                return r;
            }
            assert!(Instant::now() < end, "timed out; last report {r}");
            // Seldom: each report walks every series to size the buffers.
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Gatherer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The snapshot's encoding alone, in this process: what the gatherer does
/// under its state lock.
fn encode_benchmark(n: usize) {
    use munin_rs::gatherer::{encode, reply, table};
    let mut t = table::Table::default();
    for i in 0..n {
        let doc: Value = serde_json::from_str(&reply(i, 1)).unwrap();
        let stats = reply::parse(&doc).unwrap().stats;
        let e = table::Entry::new(&format!("sim{i}"), 1.7e9, stats, table::Source::Poll);
        t.replace(&format!("node{i:05}"), e);
    }
    let time = |f: &dyn Fn() -> usize| {
        let v: Vec<f64> = (0..11)
            .map(|_| {
                let s = Instant::now();
                std::hint::black_box(f());
                s.elapsed().as_secs_f64()
            })
            .collect();
        median(v) * 1000.0
    };
    let nodes = t.nodes();
    let p = time(&|| encode::pickle(&nodes).len());
    let j = time(&|| encode::json(&nodes).len());
    println!("encode {n} nodes in process: pickle {p:.1} ms, JSON {j:.1} ms (medians of 11)");
}

fn poll_benchmark(work: &Path, addrs: &[SocketAddr]) {
    let n = addrs.len();
    let dir = work.join("poll");
    std::fs::create_dir_all(&dir).unwrap();
    let conf: String = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("provider http://{a}/,nodeid=node{i:05},nickname=sim{i}\n"))
        .collect();
    std::fs::write(dir.join("gatherer.conf"), conf).unwrap();
    let conf = dir.join("gatherer.conf");
    let g = Gatherer::start(
        &dir,
        &[
            "--config",
            conf.to_str().unwrap(),
            "--interval",
            "5",
            "--timeout",
            "10",
        ],
    );
    let (mut rounds, mut writes, mut encodes, mut cpus, mut bytes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0.0);
    let mut cpu_before = g.cpu();
    for k in 1..=ROUNDS {
        let r = g.wait(
            |r| r["snapshot_writes"].as_f64() >= Some(k as f64),
            Duration::from_secs(60),
        );
        let cpu = g.cpu();
        assert_eq!(r["providers_ok_last_round"].as_f64(), Some(n as f64), "{r}");
        rounds.push(r["poll_round_seconds"].as_f64().unwrap());
        writes.push(r["snapshot_write_seconds"].as_f64().unwrap());
        encodes.push(r["snapshot_encode_seconds"].as_f64().unwrap());
        cpus.push(cpu - cpu_before);
        bytes = r["snapshot_bytes"].as_f64().unwrap();
        cpu_before = cpu;
    }
    let r = g.report();
    println!("\n== ours: {n} providers polled every 5 s ({ROUNDS} rounds) ==");
    println!("round times (s): {rounds:.3?}");
    println!("first round (connects): {:.3} s", rounds[0]);
    println!("steady round median: {:.3} s", median(rounds[1..].to_vec()));
    println!(
        "CPU per steady round (median): {:.3} s",
        median(cpus[1..].to_vec())
    );
    println!(
        "snapshot write (pickle {:.0} bytes + JSON, fsynced) median: {:.1} ms, of which encoding {:.1} ms",
        bytes,
        median(writes) * 1000.0,
        median(encodes) * 1000.0
    );
    println!(
        "samples held: {}, RSS {:.1} MB",
        r["samples_held"],
        r["rss_bytes"].as_f64().unwrap() / 1e6
    );
}

fn reference(work: &Path, addrs: &[SocketAddr]) {
    let dir = work.join("reference");
    std::fs::create_dir_all(&dir).unwrap();
    let urls: String = addrs
        .iter()
        .map(|a| format!("http://{a}/statistics?t=json\n"))
        .collect();
    std::fs::write(dir.join("urls"), urls).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = Command::new(root.join("scripts/tahoe-venv.sh"))
        .output()
        .unwrap();
    let tahoe = String::from_utf8_lossy(&venv.stdout).trim().to_string();
    let python = Path::new(&tahoe).with_file_name("python");
    let out = Command::new(&python)
        .arg(root.join("scripts/gatherer-reference.py"))
        .arg(dir.join("urls"))
        .arg(ROUNDS.to_string())
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reference: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("\n== reference: Python + Twisted (treq), same providers, {ROUNDS} rounds ==");
    println!("{r}");
    let write = r["snapshot_write_median"].as_f64().unwrap();
    println!(
        "original's write per reply × {} replies per round: {:.1} s",
        addrs.len(),
        write * addrs.len() as f64
    );
}

/// A kept-alive HTTP/1.1 client for pushes.
struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        let w = TcpStream::connect(addr).unwrap();
        w.set_nodelay(true).unwrap();
        Conn {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
        }
    }

    /// POSTs `body`; returns (status, reply body).
    fn post(&mut self, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        write!(
            self.w,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        self.w.write_all(body).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            line.clear();
            self.r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut reply = vec![0; len];
        self.r.read_exact(&mut reply).unwrap();
        (status, reply)
    }
}

fn push_benchmark(work: &Path) {
    let dir = work.join("push");
    std::fs::create_dir_all(&dir).unwrap();
    let g = Gatherer::start(&dir, &["--interval", "3600"]);
    let mut rates = Vec::new();
    for run in 0..3 {
        let before = g.stat("samples_received");
        let started = Instant::now();
        let agents: Vec<_> = (0..4)
            .map(|a| {
                let addr = g.addr;
                std::thread::spawn(move || {
                    let mut c = Conn::new(addr);
                    let mut accepted = 0u64;
                    let path = format!("/api/v1/push/lines?node=agent{a}&nickname=agent");
                    let mut k = 0u64;
                    while started.elapsed() < Duration::from_secs(3) {
                        let now = munin_rs::clock::now();
                        let body: String = (0..1000)
                            .map(|m| format!("app.metric{m}.counter\t{}\t{now}\n", k * 1000 + m))
                            .collect();
                        let (status, _) = c.post(&path, body.as_bytes());
                        if status == 202 {
                            accepted += 1000;
                        }
                        k += 1;
                    }
                    accepted
                })
            })
            .collect();
        let accepted: u64 = agents.into_iter().map(|t| t.join().unwrap()).sum();
        g.wait(
            |r| r["samples_received"].as_f64() >= Some(before + accepted as f64),
            Duration::from_secs(60),
        );
        let secs = started.elapsed().as_secs_f64();
        rates.push(accepted as f64 / secs);
        println!(
            "push run {run}: {accepted} samples applied in {secs:.2} s = {:.0} samples/s",
            accepted as f64 / secs
        );
    }
    let r = g.report();
    println!(
        "\n== push ingest: median {:.0} samples/s (drops {}) ==",
        median(rates),
        r["queue_drops"]
    );
}

fn memory_benchmark(work: &Path) {
    let dir = work.join("memory");
    std::fs::create_dir_all(&dir).unwrap();
    let g = Gatherer::start(&dir, &["--interval", "3600", "--retention", "2h"]);
    let mut c = Conn::new(g.addr);
    assert_eq!(c.post("/api/v1/push/lines?node=warm", b"x\t1\n").0, 202);
    g.wait(
        |r| r["samples_held"].as_f64() == Some(1.0),
        Duration::from_secs(5),
    );
    let rss0 = g.stat("rss_bytes");
    let now = munin_rs::clock::now();
    for j in 0..1000u64 {
        let ts = now - 3000 + j * 3;
        let body: String = (0..1000)
            .map(|m| format!("series{m}\t{}\t{ts}\n", j + m))
            .collect();
        assert_eq!(
            c.post("/api/v1/push/lines?node=mem", body.as_bytes()).0,
            202
        );
        // Paced: what is measured is memory held, not a queue's backlog
        // that the allocator keeps after it drains.
        if j % 50 == 49 {
            let held = (j + 1) * 1000 + 1;
            g.wait(
                |r| r["samples_held"].as_f64() == Some(held as f64),
                Duration::from_secs(30),
            );
        }
    }
    let r = g.wait(
        |r| r["samples_held"].as_f64() == Some(1_000_001.0),
        Duration::from_secs(60),
    );
    let rss1 = r["rss_bytes"].as_f64().unwrap();
    println!(
        "\n== memory: 1,000,000 samples in 1000 series: RSS +{:.1} MB ({:.1} bytes/sample), sample buffers {:.1} MB ==",
        (rss1 - rss0) / 1e6,
        (rss1 - rss0) / 1e6,
        r["sample_bytes"].as_f64().unwrap() / 1e6
    );
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default()
}
