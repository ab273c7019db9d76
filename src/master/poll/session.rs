//! One conversation with a munin node, as munin-update holds it: banner,
//! `STARTTLS` when the host's `tls` is not `disabled`, `cap multigraph
//! dirtyconfig`, `list`, then `config` (and `fetch` unless the config
//! already carried values) per plugin, `quit`. The node is reached over
//! TCP or through a command ([`super::transport`]); the conversation is
//! the same.
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
use super::transport::{self, Running, Transport};
use crate::master::conf::Host;
use crate::master::store::layout;
use crate::tls::stream::BoxIo;
use crate::tls::{Mode, Side};

/// Longest line read from a node.
const MAX_LINE: usize = 64 * 1024;
/// Bytes read from a node at once: a pipelined batch of replies (20
/// plugins' configs are about 12 KiB) comes in one or two reads.
const READ_BUFFER: usize = 16 * 1024;
/// Lines before the banner that are skipped (an ssh login's motd), as
/// munin-update skips them; past this many the peer is no node.
const MAX_GREETING_LINES: usize = 100;
/// Most lines in one reply.
const MAX_LINES: usize = 100_000;
/// Most bytes of one reply (`config` or `fetch`): a larger one is read to
/// its end and dropped, and the plugin skipped. Munin's largest plugins
/// (multigraph SNMP, diskstats) answer a few hundred KiB.
pub const MAX_REPLY: usize = 4 << 20;
/// Most reply bytes kept from one host; its plugins past it are skipped.
pub const MAX_HOST: usize = 16 << 20;
/// Most bytes and lines of one `spoolfetch` answer: munin-async sends at
/// most six files (days, by default) per plugin at once.
pub const MAX_SPOOL: usize = 128 << 20;
const MAX_SPOOL_LINES: usize = 4_000_000;
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
    #[error("cannot start the command of its address: {0}")]
    Spawn(std::io::Error),
    #[error("{0}")]
    Address(String),
    #[error("could not establish TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Spool(String),
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
    /// The node offered `spool` and this is the newest time in what it
    /// sent: the next `spoolfetch` asks from here.
    pub spooled_until: Option<u64>,
    /// The answer came from `spoolfetch`: it holds only the plugins with
    /// new records, so the others' saved config stays.
    pub from_spool: bool,
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

/// A line as read (its `\n` gone) as text: a `\r` before the end
/// dropped, bytes that are no UTF-8 replaced. Valid text is not copied.
fn text(mut line: Vec<u8>) -> String {
    if line.ends_with(b"\r") {
        line.pop();
    }
    String::from_utf8(line).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
    io: BufReader<BoxIo>,
    /// The transport command, when there is one.
    child: Option<Running>,
    deadline: Instant,
    idle: Option<Duration>,
    peer: String,
    /// Reply bytes kept so far, and the process budget taken for them
    /// (given back when the session ends).
    held: usize,
    room: Option<SemaphorePermit<'static>>,
    /// TLS has just started: under TLS 1.3 a node that refuses this
    /// master's certificate says so only when the first reply is read.
    tls_unproven: bool,
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
        // A line already read in whole is taken at once, without arming a
        // deadline: a pipelined reply arrives as a few reads of many lines.
        if let Some(i) = memchr::memchr(b'\n', self.io.buffer()) {
            let buf = self.io.buffer()[..i].to_vec();
            self.io.consume(i + 1);
            self.tls_unproven = false;
            return Ok(text(buf));
        }
        let (until, late) = self.next_deadline(Failure::ReplyTimeout);
        let mut buf = Vec::new();
        let read = async {
            loop {
                let chunk = self.io.fill_buf().await.map_err(Failure::Io)?;
                if chunk.is_empty() {
                    return Err(Failure::Closed);
                }
                match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        buf.extend_from_slice(&chunk[..i]);
                        self.io.consume(i + 1);
                        return Ok(());
                    }
                    None => {
                        let n = chunk.len();
                        buf.extend_from_slice(chunk);
                        self.io.consume(n);
                        if buf.len() > MAX_LINE {
                            return Err(Failure::LineTooLong);
                        }
                    }
                }
            }
        };
        match tokio::time::timeout_at(until, read).await {
            Ok(Err(f)) if self.tls_unproven && matches!(f, Failure::Io(_) | Failure::Closed) => {
                return Err(self.fail(Failure::Tls(format!(
                    "the node ended the session right after the handshake (it refused this master's certificate?): {f}"
                ))));
            }
            Ok(r) => r.map_err(|f| self.fail(f))?,
            Err(_) => return Err(self.fail(late)),
        }
        self.tls_unproven = false;
        Ok(text(buf))
    }

    async fn send(&mut self, cmd: &str) -> Result<(), PollError> {
        // One write per command: under TLS, one record, which is what
        // Munin's node reads as one command.
        self.write(format!("{cmd}\n").as_bytes()).await
    }

    /// Writes `bytes` in one write and flushes them, before the next
    /// send deadline.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), PollError> {
        let (until, late) = self.next_deadline(Failure::SendTimeout);
        let io = self.io.get_mut();
        let write = async {
            io.write_all(bytes).await?;
            io.flush().await
        };
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
        self.dot_within(cmd, MAX_REPLY, MAX_LINES, MAX_HOST).await
    }

    /// [`Conn::dot`] under other limits (a spooled answer is larger).
    async fn dot_within(
        &mut self,
        cmd: &str,
        max_reply: usize,
        max_lines: usize,
        max_host: usize,
    ) -> Result<Answer, PollError> {
        self.send(cmd).await?;
        self.read_dot(max_reply, max_lines, max_host).await
    }

    /// Sends `cmds` in one write (see [`poll`] for when).
    async fn send_all(&mut self, cmds: &[String]) -> Result<(), PollError> {
        let mut text = String::with_capacity(cmds.iter().map(|c| c.len() + 1).sum());
        for c in cmds {
            text.push_str(c);
            text.push('\n');
        }
        self.write(text.as_bytes()).await
    }

    /// The reply to a command already sent, as [`Conn::dot`] reads it.
    async fn read_dot(
        &mut self,
        max_reply: usize,
        max_lines: usize,
        max_host: usize,
    ) -> Result<Answer, PollError> {
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
            if bytes > max_reply || count > max_lines || self.held + bytes > max_host {
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

/// Opens the way to `host`: a TCP connection, or its address's command.
async fn open(host: &Host, dial: &Dial, peer: &str) -> Result<(BoxIo, Option<Running>), Failure> {
    let transport = match &host.transport {
        Some(t) => t.clone(),
        None => Transport::parse(
            &host.address,
            host.port,
            (transport::SSH_COMMAND, transport::SSH_OPTIONS),
        )
        .map_err(Failure::Address)?,
    };
    match transport {
        Transport::Tcp { host, port } => {
            let addr = format!("{host}:{port}");
            let stream =
                tokio::time::timeout(dial.connect.min(dial.total), connect(&addr, dial.local))
                    .await
                    .map_err(|_| Failure::ConnectTimeout(dial.connect))?
                    .map_err(Failure::Connect)?;
            let _ = stream.set_nodelay(true);
            Ok((Box::new(stream), None))
        }
        Transport::Command { line } => {
            let (io, child) = transport::spawn(&line, peer).map_err(Failure::Spawn)?;
            Ok((io, Some(child)))
        }
    }
}

/// The node's name in a greeting line, as munin-update finds it: a `#`,
/// then `munin` or `lrrd`, `node` or `client`, ` at ` and the name.
pub fn greeting_name(line: &str) -> Option<&str> {
    let hash = line.find('#')?;
    let lower = line[hash..].to_ascii_lowercase();
    [
        "munin node at ",
        "munin client at ",
        "lrrd node at ",
        "lrrd client at ",
    ]
    .iter()
    .filter_map(|p| lower.find(p).map(|i| hash + i + p.len()))
    .min()
    .and_then(|at| line[at..].split(char::is_whitespace).next())
    .filter(|name| !name.is_empty())
}

/// Polls `host` under `dial`'s deadlines; `tls` is the host's TLS
/// context, loaded, when its `tls` is not `disabled`.
///
/// A node that offers `spool` (munin-async) is asked for everything
/// since `spool_since` with one `spoolfetch`, as munin-update asks, and
/// nothing else.
pub async fn poll(
    host: &Host,
    dial: &Dial,
    tls: Option<&crate::tls::Context>,
    spool_since: u64,
) -> Result<HostReply, PollError> {
    let peer = match &host.transport {
        Some(Transport::Command { .. }) => format!("{} ({})", host.name, host.address),
        _ => format!("{} ({}:{})", host.name, host.address, host.port),
    };
    let deadline = Instant::now() + dial.total;
    let (io, child) = open(host, dial, &peer).await.map_err(|failure| PollError {
        peer: peer.clone(),
        failure,
    })?;
    let mut c = Conn {
        io: BufReader::with_capacity(READ_BUFFER, io),
        child,
        deadline,
        idle: dial.idle,
        peer,
        held: 0,
        room: None,
        tls_unproven: false,
    };
    let mut node_name = None;
    // Over a command, an ssh login may print a motd first: munin-update
    // skips such lines. Over TCP the first line must be the greeting, so
    // that a port that is no node fails at once, not at the deadline.
    let skippable = if c.child.is_some() {
        MAX_GREETING_LINES
    } else {
        1
    };
    for _ in 0..skippable {
        let line = c.line().await?;
        if line.is_empty() {
            return Err(c.fail(Failure::NotMunin(line)));
        }
        if let Some(name) = greeting_name(&line) {
            node_name = Some(name.to_string());
            break;
        }
        if c.child.is_none() {
            return Err(c.fail(Failure::NotMunin(line)));
        }
    }
    let node_name = node_name.ok_or_else(|| {
        c.fail(Failure::NotMunin(format!(
            "no greeting in its first {MAX_GREETING_LINES} lines"
        )))
    })?;
    if host.tls.mode != Mode::Disabled {
        start_tls(&mut c, host, tls).await?;
    }
    c.send("cap multigraph dirtyconfig").await?;
    let caps_line = c.line().await?;
    let caps: Vec<String> = caps_line
        .strip_prefix("cap ")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if caps.iter().any(|c| c == "spool") {
        let mut out = spoolfetch(&mut c, spool_since).await?;
        out.node_name = node_name;
        out.caps = caps;
        finish(c, host).await;
        return Ok(out);
    }
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
        ..HostReply::default()
    };
    let mut taken = std::collections::HashSet::new();
    // The plugins to ask, with the names they are stored under.
    let mut asked: Vec<(&str, String)> = Vec::new();
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
        asked.push((plugin, stored));
    }
    // A node that offers dirtyconfig is Munin 2's own or one made to
    // answer as it does, reading commands line by line from a buffered
    // stream: it is sent every `config` at once, then every `fetch` still
    // needed, and answers them in order. Two writes instead of one round
    // trip per plugin and command. Others (embedded nodes that take one
    // packet as one command), TLS (Munin's node reads one record as one
    // command) and transport commands are asked one command at a time, as
    // munin-update asks.
    let pipelined = c.child.is_none()
        && host.tls.mode == Mode::Disabled
        && out.caps.iter().any(|cap| cap == "dirtyconfig");
    if pipelined {
        poll_pipelined(&mut c, &asked, &mut out).await?;
    } else {
        for (plugin, stored) in asked {
            if c.held >= MAX_HOST {
                out.skipped.push(over_host(plugin));
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
    }
    finish(c, host).await;
    Ok(out)
}

/// The skip message of a plugin not asked because the node's replies
/// already passed [`MAX_HOST`].
fn over_host(plugin: &str) -> String {
    format!(
        "plugin {plugin:?} skipped: the node's replies passed {} MiB",
        MAX_HOST >> 20
    )
}

/// Commands sent ahead of their replies at most: a node answers while we
/// write, and with its replies unread and our commands unsent both sides
/// could wait on full socket buffers. 64 commands are a few KiB.
const WINDOW: usize = 64;

/// Every `config` of `asked` in one write (per [`WINDOW`]), their replies
/// in order; then every `fetch` for the plugins whose config held no
/// values, the same way. Limits as one command at a time: a reply past
/// them is read and dropped, so the replies after it stay in step.
async fn poll_pipelined(
    c: &mut Conn,
    asked: &[(&str, String)],
    out: &mut HostReply,
) -> Result<(), PollError> {
    let mut parsed_all = Vec::with_capacity(asked.len());
    for window in asked.chunks(WINDOW) {
        let cmds: Vec<String> = window.iter().map(|(p, _)| format!("config {p}")).collect();
        c.send_all(&cmds).await?;
        for (plugin, stored) in window {
            let over = c.held >= MAX_HOST;
            match c.read_dot(MAX_REPLY, MAX_LINES, MAX_HOST).await? {
                _ if over => out.skipped.push(over_host(plugin)),
                Answer::Lines(config) => {
                    parsed_all.push((plugin, stored, reply::parse(stored, &config)))
                }
                Answer::TooLarge { bytes, lines } => {
                    out.skipped.push(too_large(plugin, "config", bytes, lines))
                }
            }
        }
    }
    let fetch: Vec<usize> = (0..parsed_all.len())
        .filter(|&i| parsed_all[i].2.services.iter().all(|s| s.values.is_empty()))
        .collect();
    let mut dropped = Vec::new();
    for window in fetch.chunks(WINDOW) {
        let cmds: Vec<String> = window
            .iter()
            .map(|&i| format!("fetch {}", parsed_all[i].0))
            .collect();
        c.send_all(&cmds).await?;
        for &i in window {
            let (plugin, stored, parsed) = &mut parsed_all[i];
            match c.read_dot(MAX_REPLY, MAX_LINES, MAX_HOST).await? {
                Answer::Lines(fetched) => parsed.take_values(reply::parse(stored, &fetched)),
                Answer::TooLarge { bytes, lines } => {
                    out.skipped.push(too_large(plugin, "fetch", bytes, lines));
                    dropped.push(i);
                }
            }
        }
    }
    for i in dropped.into_iter().rev() {
        parsed_all.remove(i);
    }
    out.plugins.extend(
        parsed_all
            .into_iter()
            .map(|(_, stored, parsed)| (stored.clone(), parsed)),
    );
    Ok(())
}

/// `quit` (munin-update's own words, with the space), and the transport
/// command's end.
async fn finish(mut c: Conn, host: &Host) {
    let _ = c.send("quit ").await;
    if let Some(child) = c.child.take() {
        drop(c);
        if let Some(status) = child.finish().await
            && !status.success()
        {
            tracing::debug!("{}: the transport command ended with {status}", host.name);
        }
    }
}

/// `spoolfetch SINCE`: one answer of multigraph sections, each value with
/// its time; each section is filed under its plugin (the name before the
/// first dot), as if that plugin had answered config and fetch.
async fn spoolfetch(c: &mut Conn, since: u64) -> Result<HostReply, PollError> {
    let lines = match c
        .dot_within(
            &format!("spoolfetch {since}"),
            MAX_SPOOL,
            MAX_SPOOL_LINES,
            MAX_SPOOL,
        )
        .await?
    {
        Answer::Lines(l) => l,
        Answer::TooLarge { bytes, lines } => {
            return Err(c.fail(Failure::Spool(format!(
                "its spoolfetch answer was {bytes} bytes in {lines} lines, over {} MiB:                  give munin-asyncd a shorter --interval",
                MAX_SPOOL >> 20
            ))));
        }
    };
    let parsed = reply::parse("spool", &lines);
    drop(lines);
    let mut out = HostReply {
        from_spool: true,
        ..HostReply::default()
    };
    out.skipped.extend(parsed.problems);
    let mut newest: Option<u64> = None;
    for service in parsed.services {
        newest = service
            .values
            .iter()
            .filter_map(|v| v.time)
            .chain(newest)
            .max();
        let root = service.name.split('.').next().unwrap_or_default();
        let stored = stored_name(root);
        if let Err(e) = layout::service_part(&stored) {
            out.skipped
                .push(format!("spooled plugin {root:?} skipped: {e}"));
            continue;
        }
        match out.plugins.iter_mut().find(|(p, _)| *p == stored) {
            Some((_, p)) => p.services.push(service),
            None => {
                out.plugins.push((
                    stored,
                    Parsed {
                        services: vec![service],
                        problems: Vec::new(),
                    },
                ));
            }
        }
    }
    out.spooled_until = newest.filter(|n| *n > since);
    Ok(out)
}

/// `STARTTLS`, as munin-update sends it: `TLS OK` makes this side the
/// TLS client, `TLS MAYBE` the server. Any other answer is no TLS: the
/// session goes on in plain text under `tls auto`, and ends under
/// `enabled` and `paranoid`.
async fn start_tls(
    c: &mut Conn,
    host: &Host,
    tls: Option<&crate::tls::Context>,
) -> Result<(), PollError> {
    let ctx = tls.ok_or_else(|| c.fail(Failure::Tls("no TLS settings loaded".into())))?;
    c.send("STARTTLS").await?;
    let answer = c.line().await?;
    let side = if answer.starts_with("TLS OK") {
        Side::Client
    } else if answer.to_ascii_uppercase().starts_with("TLS MAYBE") {
        Side::Server
    } else if host.tls.mode.required() {
        return Err(c.fail(Failure::Tls(format!(
            "the node answered STARTTLS with {answer:?}"
        ))));
    } else {
        tracing::info!(
            "{}: no TLS (the node answered STARTTLS with {answer:?}); going on in plain text (tls auto)",
            c.peer
        );
        return Ok(());
    };
    let placeholder: BoxIo = Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink()));
    let reader = std::mem::replace(&mut c.io, BufReader::new(placeholder));
    let ahead = reader.buffer().to_vec();
    let name = match &host.transport {
        Some(Transport::Tcp { host, .. }) => host.as_str(),
        _ => host.name.as_str(),
    };
    let (until, late) = c.next_deadline(Failure::ReplyTimeout);
    let secured =
        tokio::time::timeout_at(until, ctx.secure(reader.into_inner(), ahead, side, name))
            .await
            .map_err(|_| c.fail(late))?
            .map_err(|e| c.fail(Failure::Tls(e.to_string())))?;
    c.io = BufReader::with_capacity(READ_BUFFER, secured);
    c.tls_unproven = true;
    Ok(())
}

fn too_large(plugin: &str, cmd: &str, bytes: usize, lines: usize) -> String {
    format!(
        "plugin {plugin:?} skipped: its {cmd} reply was {bytes} bytes in {lines} lines, over what one reply may hold \
         ({} MiB, {MAX_LINES} lines, {} MiB for the whole node)",
        MAX_REPLY >> 20,
        MAX_HOST >> 20
    )
}
