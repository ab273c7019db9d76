//! One conversation with a munin node, as munin-update holds it: banner,
//! `cap multigraph dirtyconfig`, `list`, then `config` (and `fetch` unless
//! the config already carried values) per plugin, `quit`.
//!
//! Every read has a deadline and a length limit, so a node that stalls,
//! trickles a byte a second or sends an endless line costs its own
//! deadline and never more memory than the limit.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::reply::{self, Parsed};
use crate::master::conf::Host;
use crate::master::store::layout;

/// Longest line read from a node.
const MAX_LINE: usize = 64 * 1024;
/// Most lines in one reply.
const MAX_LINES: usize = 100_000;
/// Most bytes of one reply (`config` or `fetch`): a larger one is read to
/// its end and dropped, and the plugin skipped. Munin's largest plugins
/// (multigraph SNMP, diskstats) answer a few hundred KiB.
pub const MAX_REPLY: usize = 4 << 20;
/// Most reply bytes kept from one host; its plugins past it are skipped.
pub const MAX_HOST: usize = 16 << 20;
/// Reply bytes all sessions of the process hold at once, in KiB: with
/// hundreds of nodes polled at once, per-host caps alone would still add
/// up to gigabytes. A session waits for room (under its own deadline).
const PROCESS_KIB: usize = 256 * 1024;
static BUDGET: Semaphore = Semaphore::const_new(PROCESS_KIB);
/// Room is taken from the process budget in steps of this many KiB.
const STEP_KIB: usize = 64;

/// Why the poll of one node failed. `update` counts timeouts apart from
/// other failures, so the kind is a type, never read back from the text
/// (which begins with the host's name).
#[derive(Debug, thiserror::Error)]
#[error("{peer}: {failure}")]
pub struct PollError {
    /// `name (address:port)`.
    pub peer: String,
    pub failure: Failure,
}

impl PollError {
    /// Whether the node ran out of time (to connect, or for the session)
    /// rather than failing outright.
    pub fn timed_out(&self) -> bool {
        matches!(
            self.failure,
            Failure::ConnectTimeout(_)
                | Failure::ReplyTimeout
                | Failure::SendTimeout
                | Failure::Silent(_)
                | Failure::RunOver(_)
        )
    }
}

/// What went wrong with a node.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("no connection within {} s", .0.as_secs_f64())]
    ConnectTimeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("no complete reply before the deadline")]
    ReplyTimeout,
    #[error("could not send before the deadline")]
    SendTimeout,
    #[error("said nothing for {} s (munin.conf `timeout`)", .0.as_secs_f64())]
    Silent(Duration),
    #[error("not polled: the run passed timeout_fetch_all_nodes ({} s)", .0.as_secs_f64())]
    RunOver(Duration),
    #[error("closed the connection")]
    Closed,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("sent a line over {MAX_LINE} bytes")]
    LineTooLong,
    #[error("not a munin node: {0:?}")]
    NotMunin(String),
    #[error("no room in the master's reply budget before the deadline")]
    BudgetTimeout,
}

/// What one host gave.
#[derive(Debug, Default)]
pub struct HostReply {
    /// The name in the node's banner.
    pub node_name: String,
    pub caps: Vec<String>,
    /// Per plugin (by the name it is stored under): its services with
    /// config and values.
    pub plugins: Vec<(String, Parsed)>,
    /// Plugins not stored, each with the reason (name, size).
    pub skipped: Vec<String>,
}

/// A multi-line reply, or how large it was when it was too large to keep.
enum Answer {
    Lines(Vec<String>),
    TooLarge { bytes: usize, lines: usize },
}

/// The name a plugin is stored under, as munin-update files it: every
/// character but `[A-Za-z0-9_]` becomes `_` (`if_eth0.1` → `if_eth0_1`,
/// `tahoe_files.py` → `tahoe_files_py`), so no name reaches a path as it was
/// sent.
pub fn stored_name(plugin: &str) -> String {
    plugin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// How one session may run: munin.conf's `timeout`,
/// `timeout_fetch_one_node` and `local_address`, or the command line's.
#[derive(Debug, Clone, Copy)]
pub struct Dial {
    /// To connect.
    pub connect: Duration,
    /// For the whole session.
    pub total: Duration,
    /// Longest wait for one line or one send, if any.
    pub idle: Option<Duration>,
    /// Connect from this address.
    pub local: Option<std::net::IpAddr>,
}

struct Conn {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    deadline: Instant,
    idle: Option<Duration>,
    peer: String,
    /// Reply bytes kept so far, and the process budget taken for them
    /// (given back when the session ends).
    held: usize,
    room: Option<SemaphorePermit<'static>>,
}

impl Conn {
    fn fail(&self, failure: Failure) -> PollError {
        PollError {
            peer: self.peer.clone(),
            failure,
        }
    }

    /// When the next read or send must be done: the session's deadline,
    /// or sooner under `timeout`; and the failure for missing it.
    fn next_deadline(&self, late: Failure) -> (Instant, Failure) {
        match self.idle {
            Some(idle) if Instant::now() + idle < self.deadline => {
                (Instant::now() + idle, Failure::Silent(idle))
            }
            _ => (self.deadline, late),
        }
    }

    async fn line(&mut self) -> Result<String, PollError> {
        let (until, late) = self.next_deadline(Failure::ReplyTimeout);
        let mut buf = Vec::new();
        let read = async {
            loop {
                let chunk = self.r.fill_buf().await.map_err(Failure::Io)?;
                if chunk.is_empty() {
                    return Err(Failure::Closed);
                }
                match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        buf.extend_from_slice(&chunk[..i]);
                        self.r.consume(i + 1);
                        return Ok(());
                    }
                    None => {
                        let n = chunk.len();
                        buf.extend_from_slice(chunk);
                        self.r.consume(n);
                        if buf.len() > MAX_LINE {
                            return Err(Failure::LineTooLong);
                        }
                    }
                }
            }
        };
        match tokio::time::timeout_at(until, read).await {
            Ok(r) => r.map_err(|f| self.fail(f))?,
            Err(_) => return Err(self.fail(late)),
        }
        if buf.ends_with(b"\r") {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    async fn send(&mut self, cmd: &str) -> Result<(), PollError> {
        let line = format!("{cmd}\n");
        let (until, late) = self.next_deadline(Failure::SendTimeout);
        let write = self.w.write_all(line.as_bytes());
        match tokio::time::timeout_at(until, write).await {
            Ok(r) => r.map_err(|e| self.fail(Failure::Io(e))),
            Err(_) => Err(self.fail(late)),
        }
    }

    /// Takes room in the process budget for `held` bytes in all.
    async fn reserve(&mut self, held: usize) -> Result<(), PollError> {
        let have = self.room.as_ref().map_or(0, |p| p.num_permits()) * 1024;
        if held <= have {
            return Ok(());
        }
        let kib = (held - have).div_ceil(1024).next_multiple_of(STEP_KIB);
        let more = tokio::time::timeout_at(self.deadline, BUDGET.acquire_many(kib as u32))
            .await
            .map_err(|_| self.fail(Failure::BudgetTimeout))?
            .map_err(|_| self.fail(Failure::BudgetTimeout))?;
        match &mut self.room {
            Some(p) => p.merge(more),
            None => self.room = Some(more),
        }
        Ok(())
    }

    /// Lines up to the `.` that ends a multi-line reply. Past
    /// [`MAX_REPLY`] bytes, [`MAX_LINES`] lines or the host's
    /// [`MAX_HOST`], the rest is read and dropped, so the session stays in
    /// step for the next plugin and memory never follows the node.
    async fn dot(&mut self, cmd: &str) -> Result<Answer, PollError> {
        self.send(cmd).await?;
        let mut lines = Vec::new();
        let (mut bytes, mut count, mut over) = (0usize, 0usize, false);
        loop {
            let l = self.line().await?;
            if l == "." {
                break;
            }
            bytes += l.len() + 1;
            count += 1;
            if over {
                continue;
            }
            if bytes > MAX_REPLY || count > MAX_LINES || self.held + bytes > MAX_HOST {
                over = true;
                lines = Vec::new();
                continue;
            }
            self.reserve(self.held + bytes).await?;
            lines.push(l);
        }
        if over {
            return Ok(Answer::TooLarge {
                bytes,
                lines: count,
            });
        }
        self.held += bytes;
        Ok(Answer::Lines(lines))
    }
}

/// Connects to `addr`, from `local` if given (the first of the node's
/// addresses in the same family).
async fn connect(addr: &str, local: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(addr).await;
    };
    let remote = tokio::net::lookup_host(addr)
        .await?
        .find(|a| a.is_ipv4() == local.is_ipv4())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!("no address of the node in the family of local_address {local}"),
            )
        })?;
    let socket = if local.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket
        .bind(std::net::SocketAddr::new(local, 0))
        .map_err(|e| std::io::Error::new(e.kind(), format!("local_address {local}: {e}")))?;
    socket.connect(remote).await
}

/// Polls `host` under `dial`'s deadlines.
pub async fn poll(host: &Host, dial: &Dial) -> Result<HostReply, PollError> {
    let (connect_in, total) = (dial.connect, dial.total);
    let peer = format!("{} ({}:{})", host.name, host.address, host.port);
    let deadline = Instant::now() + total;
    let addr = format!("{}:{}", host.address, host.port);
    let fail = |failure| PollError {
        peer: peer.clone(),
        failure,
    };
    let stream = tokio::time::timeout(connect_in.min(total), connect(&addr, dial.local))
        .await
        .map_err(|_| fail(Failure::ConnectTimeout(connect_in)))?
        .map_err(|e| fail(Failure::Connect(e)))?;
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut c = Conn {
        r: BufReader::new(r),
        w,
        deadline,
        idle: dial.idle,
        peer,
        held: 0,
        room: None,
    };
    let banner = c.line().await?;
    let node_name = banner
        .strip_prefix("# munin node at ")
        .ok_or_else(|| c.fail(Failure::NotMunin(banner.clone())))?
        .trim()
        .to_string();
    c.send("cap multigraph dirtyconfig").await?;
    let caps_line = c.line().await?;
    let caps: Vec<String> = caps_line
        .strip_prefix("cap ")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let list_name = if host.use_node_name {
        node_name.clone()
    } else {
        host.name.clone()
    };
    c.send(&format!("list {list_name}")).await?;
    let listed = c.line().await?;
    let mut out = HostReply {
        node_name,
        caps,
        plugins: Vec::new(),
        skipped: Vec::new(),
    };
    let mut taken = std::collections::HashSet::new();
    for plugin in listed.split_whitespace() {
        let stored = stored_name(plugin);
        if let Err(e) = layout::service_part(&stored) {
            out.skipped.push(format!("plugin {plugin:?} skipped: {e}"));
            continue;
        }
        if !taken.insert(stored.clone()) {
            out.skipped.push(format!(
                "plugin {plugin:?} skipped: another plugin of this node is stored as {stored:?}"
            ));
            continue;
        }
        if c.held >= MAX_HOST {
            out.skipped.push(format!(
                "plugin {plugin:?} skipped: the node's replies passed {} MiB",
                MAX_HOST >> 20
            ));
            continue;
        }
        let config = match c.dot(&format!("config {plugin}")).await? {
            Answer::Lines(l) => l,
            Answer::TooLarge { bytes, lines } => {
                out.skipped.push(too_large(plugin, "config", bytes, lines));
                continue;
            }
        };
        let mut parsed = reply::parse(&stored, &config);
        drop(config);
        if parsed.services.iter().all(|s| s.values.is_empty()) {
            match c.dot(&format!("fetch {plugin}")).await? {
                Answer::Lines(fetched) => parsed.take_values(reply::parse(&stored, &fetched)),
                Answer::TooLarge { bytes, lines } => {
                    out.skipped.push(too_large(plugin, "fetch", bytes, lines));
                    continue;
                }
            }
        }
        out.plugins.push((stored, parsed));
    }
    let _ = c.send("quit").await;
    Ok(out)
}

fn too_large(plugin: &str, cmd: &str, bytes: usize, lines: usize) -> String {
    format!(
        "plugin {plugin:?} skipped: its {cmd} reply was {bytes} bytes in {lines} lines, over what one reply may hold \
         ({} MiB, {MAX_LINES} lines, {} MiB for the whole node)",
        MAX_REPLY >> 20,
        MAX_HOST >> 20
    )
}
