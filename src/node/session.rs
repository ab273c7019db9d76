//! One client connection: banner, then commands until `quit`, EOF or a limit.
//!
//! Replies are built whole and written with one `write` (the socket also has
//! TCP_NODELAY), so a reply never waits for the client's delayed ACK; the
//! real node writes line by line and loses ~40 ms per reply to that.
//!
//! Limits per connection: the line length (see [`super::connection`]), an
//! idle timeout between commands, and `global_timeout` for the whole session,
//! which also shortens plugin timeouts so that a plugin ends 5 s before the
//! session does (as the real node's nested timeouts do).
//!
//! The stream is any byte stream: a TCP connection, or stdin/stdout in
//! `--stdio` mode. `STARTTLS` swaps it for a TLS session over itself (see
//! [`crate::tls`]); under `tls enabled` or `paranoid` any other command
//! before it ends the session with `# I require TLS. Closing.`, as on
//! Munin's node.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::time::Instant;

use super::Node;
use super::command::Command;
use super::connection::LineReader;
use crate::runner::exec::{Held, Outcome, Report, RunRequest};
use crate::runner::output;
use crate::tls::stream::BoxIo;
use crate::tls::{Side, TlsError};

/// The protocol version we report: the one whose behaviour we reproduce.
pub const PROTOCOL_VERSION: &str = "2.0.73";
/// Longest command line kept; the rest of a longer line is discarded.
pub const MAX_LINE: usize = 64 * 1024;
/// Plugins must finish this long before the session deadline.
const SESSION_MARGIN: Duration = Duration::from_secs(5);

const UNKNOWN_COMMAND: &[u8] =
    b"# Unknown command. Try cap, list, nodes, config, fetch, version or quit\n";
const UNKNOWN_SERVICE: &[u8] = b"# Unknown service\n.\n";
const REQUIRE_TLS: &[u8] = b"# I require TLS. Closing.\n";

type Lines = LineReader<BufReader<BoxIo>>;

/// Per-connection protocol state.
struct Session {
    node: Arc<Node>,
    peer: String,
    caps: HashSet<String>,
    /// Sticky: once announced, plugins get `MUNIN_CAP_DIRTYCONFIG=1`.
    dirtyconfig: bool,
    deadline: Instant,
    /// The node's output budget the reply being sent holds.
    held: Held,
    /// In TLS: each reply line goes in its own TLS record, as Munin's
    /// master reads a record as a line.
    tls: bool,
}

/// Why a session ended, for the log.
enum End {
    Quit,
    Eof,
    Idle,
    /// A line begun and not finished within `line_timeout`.
    Incomplete,
    /// `tls enabled|paranoid` and a command before `STARTTLS`.
    TlsRequired,
    Tls(TlsError),
    Io(std::io::Error),
}

/// Serves one accepted (and admitted) connection to completion. `peer`
/// is the master's address, as plugins see it (`MUNIN_MASTER_IP`).
pub async fn serve(stream: BoxIo, peer: String, node: Arc<Node>) {
    let deadline = Instant::now() + node.settings.global_timeout;
    let mut session = Session {
        peer,
        node,
        caps: HashSet::new(),
        dirtyconfig: false,
        deadline,
        held: Held::default(),
        tls: false,
    };
    let mut last = String::from("<no command received yet>");
    let result = tokio::time::timeout_at(deadline, session.run(stream, &mut last)).await;
    match result {
        Ok(End::Quit | End::Eof) => {}
        Ok(End::Idle) => tracing::info!(peer = %session.peer, "closing idle connection"),
        Ok(End::Incomplete) => tracing::info!(
            peer = %session.peer,
            "closing: a command line was not finished within line_timeout"
        ),
        Ok(End::TlsRequired) => tracing::warn!(
            peer = %session.peer,
            "closing: a command came before STARTTLS and tls is enabled or paranoid"
        ),
        Ok(End::Tls(e)) => tracing::warn!(peer = %session.peer, "closing: TLS failed: {e}"),
        Ok(End::Io(e)) => tracing::debug!(peer = %session.peer, cause = %e, "connection error"),
        Err(_) => {
            tracing::warn!(peer = %session.peer, last = %last, "session reached global_timeout, closing")
        }
    }
}

impl Session {
    async fn run(&mut self, stream: BoxIo, last: &mut String) -> End {
        let mut lines = self.reader(stream);
        let banner = format!("# munin node at {}\n", self.node.settings.fqdn);
        if let Err(e) = self.send(&mut lines, banner.as_bytes()).await {
            return End::Io(e);
        }
        let idle = self.node.settings.idle_timeout;
        let tls_required = self.node.tls().settings.mode.required();
        loop {
            let line = match tokio::time::timeout(idle, lines.next_line()).await {
                Err(_) => return End::Idle,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => return End::Incomplete,
                Ok(Err(e)) => return End::Io(e),
                Ok(Ok(None)) => return End::Eof,
                Ok(Ok(Some(line))) => line,
            };
            if line.truncated {
                tracing::debug!(peer = %self.peer, "command line over {MAX_LINE} bytes cut");
            }
            *last = String::from_utf8_lossy(&line.bytes[..line.bytes.len().min(80)]).into_owned();
            let cmd = Command::parse(&line.bytes);
            if tls_required && !self.tls && cmd != Command::StartTls {
                let _ = self.send(&mut lines, REQUIRE_TLS).await;
                return End::TlsRequired;
            }
            let reply = match cmd {
                Command::Quit => return End::Quit,
                Command::StartTls if !self.tls => {
                    lines = match self.start_tls(lines).await {
                        Ok(l) => l,
                        Err(end) => return end,
                    };
                    continue;
                }
                cmd => self.apply(cmd).await,
            };
            let written = self.send(&mut lines, &reply).await;
            // The reply is sent: its share of the output budget goes back.
            self.held = Held::default();
            if let Err(e) = written {
                return End::Io(e);
            }
        }
    }

    fn reader(&self, stream: BoxIo) -> Lines {
        LineReader::new(BufReader::new(stream), MAX_LINE)
            .with_line_timeout(self.node.settings.line_timeout)
    }

    /// Writes `bytes` and flushes them (stdout buffers). Under TLS, one
    /// record per line; the stream's buffer under TLS still sends the
    /// whole reply in one write.
    async fn send(&self, lines: &mut Lines, bytes: &[u8]) -> std::io::Result<()> {
        let io = lines.get_mut().get_mut();
        if self.tls {
            for line in bytes.split_inclusive(|b| *b == b'\n') {
                io.write_all(line).await?;
            }
        } else {
            io.write_all(bytes).await?;
        }
        io.flush().await
    }

    /// `STARTTLS`: `TLS OK` and the server's role with a key, `TLS MAYBE`
    /// and the client's without (Munin's roles), then the handshake within
    /// the idle timeout.
    async fn start_tls(&mut self, mut lines: Lines) -> Result<Lines, End> {
        let ctx = self.node.tls();
        let (answer, side): (&[u8], _) = if ctx.can_serve() {
            (b"TLS OK\n", Side::Server)
        } else {
            (b"TLS MAYBE\n", Side::Client)
        };
        self.send(&mut lines, answer).await.map_err(End::Io)?;
        let reader = lines.into_inner();
        // What the client sent right after STARTTLS is its first TLS bytes.
        let ahead = reader.buffer().to_vec();
        let stream = reader.into_inner();
        let idle = self.node.settings.idle_timeout;
        let secured = tokio::time::timeout(idle, ctx.secure(stream, ahead, side, &self.peer))
            .await
            .unwrap_or_else(|_| {
                Err(TlsError::Handshake(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no handshake within {} s", idle.as_secs_f64()),
                )))
            })
            .map_err(End::Tls)?;
        self.tls = true;
        tracing::debug!(peer = %self.peer, ?side, "TLS started");
        Ok(self.reader(secured))
    }

    /// The reply to one command.
    async fn apply(&mut self, cmd: Command) -> Vec<u8> {
        let settings = &self.node.settings;
        match cmd {
            Command::List(node) => {
                let node = node.unwrap_or_else(|| settings.fqdn.to_lowercase());
                let registry = self.node.registry();
                let multigraph = self.caps.contains("multigraph");
                let dirty = self.caps.contains("dirtyconfig");
                let mut reply = registry
                    .list(&node, multigraph, dirty)
                    .map(|names| names.join(" "))
                    .unwrap_or_default()
                    .into_bytes();
                reply.push(b'\n');
                reply
            }
            Command::Cap(words) => {
                self.caps = words.into_iter().collect();
                if self.caps.contains("dirtyconfig") {
                    self.dirtyconfig = true;
                }
                b"cap multigraph dirtyconfig\n".to_vec()
            }
            Command::Version => format!(
                "munins node on {} version: {PROTOCOL_VERSION}\n",
                settings.fqdn
            )
            .into_bytes(),
            Command::Nodes => {
                let mut reply = Vec::new();
                for node in self.node.registry().nodes() {
                    reply.extend_from_slice(node.as_bytes());
                    reply.push(b'\n');
                }
                reply.extend_from_slice(b".\n");
                reply
            }
            Command::Fetch(name) => self.run_plugin(&name, None).await,
            Command::Config(name) => self.run_plugin(&name, Some("config")).await,
            // A second STARTTLS inside TLS.
            Command::StartTls => UNKNOWN_COMMAND.to_vec(),
            Command::Unknown => UNKNOWN_COMMAND.to_vec(),
            Command::Quit => Vec::new(),
        }
    }

    async fn run_plugin(&mut self, name: &[u8], arg: Option<&'static str>) -> Vec<u8> {
        let registry = self.node.registry();
        let Some(service) = registry.service(name) else {
            return UNKNOWN_SERVICE.to_vec();
        };
        let spec = &service.spec;
        let until_end = self.deadline.saturating_duration_since(Instant::now());
        let req = RunRequest {
            arg,
            master_ip: &self.peer,
            dirtyconfig: self.dirtyconfig,
            timeout: spec.timeout.min(until_end.saturating_sub(SESSION_MARGIN)),
        };
        let report = self.node.runner.run(spec, &req).await;
        tracing::debug!(plugin = %spec.name, elapsed = ?report.elapsed, "plugin run");
        log_stderr(&spec.name, &report);
        let mut reply = Vec::new();
        self.held = report.held;
        match report.outcome {
            Outcome::Success(out) => {
                let dropped = output::append_lines(&mut reply, &out);
                if dropped > 0 {
                    tracing::warn!(plugin = %spec.name, dropped, "plugin printed lines holding only '.', dropped");
                }
            }
            Outcome::Failed { status, .. } => {
                tracing::warn!(plugin = %spec.name, %status, "plugin exited with an error");
                reply.extend_from_slice(b"# Bad exit\n");
            }
            Outcome::Error(why) => {
                tracing::error!(plugin = %spec.name, cause = %why, "plugin could not run");
                reply.extend_from_slice(b"# Bad exit\n");
            }
            Outcome::TimedOut => {
                tracing::warn!(plugin = %spec.name, timeout = ?req.timeout, "plugin timed out");
                reply.extend_from_slice(b"# Timed out\n");
            }
            Outcome::OutputTooLarge => {
                tracing::error!(plugin = %spec.name, limit = self.node.settings.max_plugin_output,
                    "plugin output over the limit (max_plugin_output), discarded");
                reply.extend_from_slice(b"# Output too large\n");
            }
        }
        reply.extend_from_slice(b".\n");
        reply
    }
}

/// Logs what a plugin wrote to stderr, except `# ` lines (as the real node).
fn log_stderr(plugin: &str, report: &Report) {
    for line in output::lines(&report.stderr) {
        if !line.starts_with(b"# ") {
            tracing::warn!(plugin, stderr = %String::from_utf8_lossy(line), "plugin error output");
        }
    }
}
