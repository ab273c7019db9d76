//! Test support for the stats gatherer: the real binary on a loopback port,
//! a small HTTP client, and fake providers that answer well or badly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::real_node::free_port;
use super::terminate;

/// One HTTP/1.1 exchange (`Connection: close`); returns status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may refuse before reading a large body.
    let _ = s.write_all(body);
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP reply");
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = reply[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n =
            usize::from_str_radix(std::str::from_utf8(&b[..line_end]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[line_end + 2..line_end + 2 + n]);
        b = &b[line_end + 2 + n + 2..];
    }
}

/// One kept-alive HTTP/1.1 connection, for many requests without a
/// socket (and a TIME_WAIT port) each.
pub struct KeepAlive {
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl KeepAlive {
    pub fn connect(addr: SocketAddr) -> KeepAlive {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_nodelay(true).unwrap();
        KeepAlive {
            reader: BufReader::new(s),
            addr,
        }
    }

    /// One request; returns status and body (replies carry Content-Length).
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        // One write: head and body apart meet Nagle and delayed ACKs.
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.reader.get_mut().write_all(&req).unwrap();
        let mut status = 0;
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if status == 0 {
                status = l.split(' ').nth(1).unwrap().parse().unwrap();
            } else if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut reply = vec![0; length];
        self.reader.read_exact(&mut reply).unwrap();
        (status, reply)
    }
}

/// Resident and peak resident memory of a process, in bytes
/// (`VmRSS`, `VmHWM`).
pub fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

/// Resets a process's peak resident memory (`VmHWM`) to its current RSS.
pub fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

/// The gatherer, killed on drop.
pub struct Gatherer {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub statsfile: PathBuf,
    log: PathBuf,
}

impl Gatherer {
    /// Starts it with `args`, a fresh directory and port; waits for the API.
    pub fn start(args: &[&str]) -> Gatherer {
        let dir = tempfile::Builder::new()
            .prefix("gatherer")
            .tempdir()
            .unwrap();
        let statsfile = dir.path().join("stats.pickle");
        Gatherer::start_in(dir, &statsfile, args)
    }

    /// Starts it with a given statsfile; `dir` lives as long as it runs.
    pub fn start_in(dir: tempfile::TempDir, statsfile: &Path, args: &[&str]) -> Gatherer {
        Gatherer::start_with(dir, statsfile, args, None)
    }

    /// Starts it with soft and hard open-file limits of `nofile`, as a
    /// service whose unit sets `LimitNOFILE=1024` runs.
    pub fn start_with_nofile(args: &[&str], nofile: u64) -> Gatherer {
        let dir = tempfile::Builder::new()
            .prefix("gatherer")
            .tempdir()
            .unwrap();
        let statsfile = dir.path().join("stats.pickle");
        Gatherer::start_with(dir, &statsfile, args, Some(nofile))
    }

    fn start_with(
        dir: tempfile::TempDir,
        statsfile: &Path,
        args: &[&str],
        nofile: Option<u64>,
    ) -> Gatherer {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = dir.path().join("gatherer.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stats-gatherer"));
        if let Some(n) = nofile {
            super::limit_nofile(&mut cmd, n);
        }
        let child = cmd
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--statsfile")
            .arg(statsfile)
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let g = Gatherer {
            child,
            addr,
            statsfile: statsfile.to_path_buf(),
            dir,
            log,
        };
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < end,
                "gatherer did not listen; log:\n{}",
                g.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        g
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, body) = http(self.addr, "GET", path, &[], b"");
        assert_eq!(
            status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    /// POSTs `body`; returns status and the JSON reply.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        let (status, reply) = http(self.addr, "POST", path, headers, body);
        let v = serde_json::from_slice(&reply)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply).into_owned()));
        (status, v)
    }

    /// A number from `/api/v1/self`.
    pub fn stat(&self, key: &str) -> f64 {
        self.get("/api/v1/self")[key]
            .as_f64()
            .unwrap_or_else(|| panic!("no {key} in /api/v1/self"))
    }

    /// Waits until `f` holds, polling every 50 ms.
    pub fn wait(&self, what: &str, timeout: Duration, mut f: impl FnMut(&Gatherer) -> bool) {
        let end = Instant::now() + timeout;
        while !f(self) {
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM and wait for the exit (the last snapshot is written).
    pub fn stop(mut self) -> tempfile::TempDir {
        terminate(&mut self.child);
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for Gatherer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a fake provider answers `GET /statistics?t=json`.
#[derive(Clone)]
pub enum Answer {
    Json(String),
    Status(u16),
    Slow(Duration),
    Raw(Vec<u8>),
}

/// A provider on its own port, answering every request the same way until
/// dropped (then it refuses connections).
pub struct FakeProvider {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl FakeProvider {
    pub fn start(answer: Answer) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (answer, stopped) = (answer.clone(), stopped.clone());
                std::thread::spawn(move || serve(conn, &answer, &stopped));
            }
        });
        FakeProvider { addr, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and closes the listener.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, answer: &Answer, stopped: &AtomicBool) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        // Keep-alive: answer requests until the client closes.
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                // Gone: kept-alive connections close too.
                Ok(_) if stopped.load(Ordering::SeqCst) => return,
                Ok(_) => {}
            }
        }
        let (status, body): (u16, Vec<u8>) = match answer {
            Answer::Json(j) => (200, j.clone().into_bytes()),
            Answer::Status(s) => (*s, b"oops".to_vec()),
            Answer::Slow(d) => {
                std::thread::sleep(*d);
                (200, b"{\"stats\": {}}".to_vec())
            }
            Answer::Raw(b) => (200, b.clone()),
        };
        let reason = if status == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if conn
            .write_all(head.as_bytes())
            .and_then(|()| conn.write_all(&body))
            .is_err()
        {
            return;
        }
    }
}

/// A Tahoe-like statistics reply.
pub fn tahoe_reply(allocate: u64, disk_used: u64) -> String {
    serde_json::json!({
        "counters": {"storage_server.allocate": allocate, "storage_server.bytes_added": allocate * 1000},
        "stats": {
            "storage_server.disk_used": disk_used,
            "storage_server.allocated": 0,
            "load_monitor.avg_load": 0.25,
            "storage_server.latencies.get.mean": null,
            "node.uptime": 12.5
        }
    })
    .to_string()
}
