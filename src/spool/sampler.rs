//! `munin-asyncd`'s loop: every interval, each plugin's `config` and
//! `fetch` from the local node, appended to the spool as one record.
//!
//! As munin-asyncd: the plugin list is read once at start (`cap
//! multigraph`, `list`), a plugin whose config says `update_rate N` is
//! sampled every N seconds (else every `minrate`), one connection serves
//! a whole round, and the spool is cleaned up every ten minutes. Unlike
//! it, every read has a deadline (`timeout`), lines and replies have a
//! length limit, and a node that goes away costs a round, not the daemon.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{meta, sanitise, writer::Writer};

/// Longest line taken from the node.
const MAX_LINE: usize = 64 * 1024;
/// Most lines of one reply kept.
const MAX_LINES: usize = 100_000;
/// Most plugins sampled.
const MAX_PLUGINS: usize = 10_000;
/// How often the spool is cleaned up.
const CLEANUP_EVERY: Duration = Duration::from_secs(600);

/// How to sample.
#[derive(Debug, Clone)]
pub struct Options {
    /// The node, `host:port`.
    pub node: String,
    /// Seconds between samples of a plugin without `update_rate`.
    pub minrate: u64,
    /// Longest wait for the node, per line.
    pub timeout: Duration,
    /// Clean up the spool (age and size bounds).
    pub cleanup: bool,
}

/// A session with the node.
struct Session {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Session {
    fn open(opts: &Options) -> Result<(Session, String), String> {
        // `localhost` is ::1 first on most systems; a node may listen on
        // 127.0.0.1 only: every address is tried.
        let addrs: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(&opts.node)
            .map_err(|e| format!("{}: {e}", opts.node))?
            .collect();
        let mut last = format!("{}: no address", opts.node);
        let mut connected = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, opts.timeout) {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(e) => last = format!("{} ({addr}): {e}", opts.node),
            }
        }
        let s = connected.ok_or(last)?;
        s.set_read_timeout(Some(opts.timeout)).ok();
        s.set_write_timeout(Some(opts.timeout)).ok();
        let w = s.try_clone().map_err(|e| e.to_string())?;
        let mut session = Session {
            r: BufReader::new(s),
            w,
        };
        let banner = session.line().map_err(|e| format!("{}: {e}", opts.node))?;
        let name = banner
            .split("munin node at ")
            .nth(1)
            .and_then(|n| n.split_whitespace().next())
            .unwrap_or("unknown")
            .to_string();
        Ok((session, name))
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut buf = Vec::new();
        let n = std::io::Read::take(&mut self.r, MAX_LINE as u64).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the node closed the connection",
            ));
        }
        if buf.last() != Some(&b'\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line over {MAX_LINE} bytes"),
            ));
        }
        let text = String::from_utf8_lossy(&buf);
        Ok(text.trim_end_matches(['\n', '\r']).to_string())
    }

    fn send(&mut self, cmd: &str) -> std::io::Result<()> {
        self.w.write_all(format!("{cmd}\n").as_bytes())
    }

    /// Lines up to the one starting with `.`.
    fn dot(&mut self, cmd: &str, rows: &mut Vec<String>) -> std::io::Result<()> {
        self.send(cmd)?;
        let mut count = 0;
        loop {
            let l = self.line()?;
            if l.starts_with('.') {
                return Ok(());
            }
            count += 1;
            if count <= MAX_LINES {
                rows.push(l);
            }
        }
    }
}

/// The node's name in its banner (for SPOOL-META's `hostname`).
pub fn node_name(opts: &Options) -> Result<String, String> {
    let (mut s, name) = Session::open(opts)?;
    let _ = s.send("quit");
    Ok(name)
}

/// The node's plugins, as `cap multigraph` and `list` give them; the
/// list is also written to `munin-daemon.list`, as munin-asyncd does.
pub fn plugins(writer: &Writer, opts: &Options) -> Result<Vec<String>, String> {
    let (mut s, _) = Session::open(opts)?;
    let fail = |e: std::io::Error| format!("{}: {e}", opts.node);
    s.send("cap multigraph").map_err(fail)?;
    s.line().map_err(fail)?;
    s.send("list").map_err(fail)?;
    let listed = s.line().map_err(fail)?;
    let _ = s.send("quit");
    let plugins: Vec<String> = listed
        .split_whitespace()
        .take(MAX_PLUGINS)
        .map(str::to_string)
        .collect();
    let names: Vec<String> = plugins.iter().map(|p| sanitise(p)).collect();
    let _ = std::fs::write(writer.dir.join("munin-daemon.list"), names.join(" ") + "\n");
    Ok(plugins)
}

/// Samples until `stop` is set.
pub fn run(writer: &Writer, opts: &Options, plugins: &[String], stop: &AtomicBool) {
    let minrate = opts.minrate.max(1);
    let mut last: HashMap<&str, u64> = HashMap::new();
    let mut cleaned: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let when = crate::clock::now();
        let rates = meta::read(&writer.dir);
        let mut session: Option<Session> = None;
        for plugin in plugins {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let rate = rates
                .get(&format!("plugin_rates/{plugin}"))
                .and_then(|r| r.parse::<u64>().ok())
                .filter(|r| *r > 0)
                .unwrap_or(minrate);
            // Three quarters of the rate, as munin-asyncd: a round that
            // starts a little early still samples.
            if let Some(&prev) = last.get(plugin.as_str())
                && (when as f64) < prev as f64 + rate as f64 * 0.75
            {
                continue;
            }
            last.insert(plugin, when);
            if session.is_none() {
                match Session::open(opts) {
                    Ok((s, _)) => session = Some(s),
                    Err(e) => {
                        tracing::warn!("cannot reach the node, this round is skipped: {e}");
                        break;
                    }
                }
            }
            let s = session.as_mut().expect("opened above");
            match sample(s, plugin) {
                Ok((rows, rate)) => {
                    if let Some(r) = rate
                        && rates.get(&format!("plugin_rates/{plugin}")) != Some(&r.to_string())
                    {
                        let _ = meta::set(
                            &writer.dir,
                            &format!("plugin_rates/{plugin}"),
                            &r.to_string(),
                        );
                    }
                    if let Err(e) = writer.append(when, plugin, &rows) {
                        tracing::error!(
                            "{}: cannot append {plugin}'s record: {e}",
                            writer.dir.display()
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!("{plugin}: {e}; the next plugin gets a new connection");
                    session = None;
                }
            }
        }
        if let Some(mut s) = session {
            let _ = s.send("quit");
        }
        let _ = meta::set(&writer.dir, "lastruntime", &when.to_string());
        if opts.cleanup && cleaned.is_none_or(|c| c.elapsed() >= CLEANUP_EVERY) {
            cleaned = Some(Instant::now());
            match writer.cleanup() {
                Ok(0) => {}
                Ok(n) => tracing::info!("cleanup: {n} spool files removed"),
                Err(e) => tracing::error!("{}: cleanup: {e}", writer.dir.display()),
            }
        }
        let next = (when / minrate + 1) * minrate;
        while !stop.load(Ordering::SeqCst) && crate::clock::now() < next {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One plugin's config and fetch lines, and its `update_rate`.
fn sample(s: &mut Session, plugin: &str) -> std::io::Result<(Vec<String>, Option<u64>)> {
    let mut rows = Vec::new();
    s.dot(&format!("config {plugin}"), &mut rows)?;
    let rate = rows
        .iter()
        .find_map(|r| r.strip_prefix("update_rate "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok());
    s.dot(&format!("fetch {plugin}"), &mut rows)?;
    Ok((rows, rate))
}
