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
use tokio::time::Instant;

use super::reply::{self, Parsed};
use crate::master::conf::Host;
use crate::master::store::layout;

/// Longest line read from a node.
const MAX_LINE: usize = 64 * 1024;
/// Most lines in one reply.
const MAX_LINES: usize = 100_000;

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
            Failure::ConnectTimeout(_) | Failure::ReplyTimeout | Failure::SendTimeout
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
    #[error("closed the connection")]
    Closed,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("sent a line over {MAX_LINE} bytes")]
    LineTooLong,
    #[error("{0}: reply over {MAX_LINES} lines")]
    TooManyLines(String),
    #[error("not a munin node: {0:?}")]
    NotMunin(String),
    #[error("listed a plugin name that cannot be stored: {0:?}")]
    BadPluginName(String),
}

/// What one host gave.
#[derive(Debug, Default)]
pub struct HostReply {
    /// The name in the node's banner.
    pub node_name: String,
    pub caps: Vec<String>,
    /// Per plugin: its services with config and values.
    pub plugins: Vec<(String, Parsed)>,
}

struct Conn {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    deadline: Instant,
    peer: String,
}

impl Conn {
    fn fail(&self, failure: Failure) -> PollError {
        PollError {
            peer: self.peer.clone(),
            failure,
        }
    }

    async fn line(&mut self) -> Result<String, PollError> {
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
        match tokio::time::timeout_at(self.deadline, read).await {
            Ok(r) => r.map_err(|f| self.fail(f))?,
            Err(_) => return Err(self.fail(Failure::ReplyTimeout)),
        }
        if buf.ends_with(b"\r") {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    async fn send(&mut self, cmd: &str) -> Result<(), PollError> {
        let line = format!("{cmd}\n");
        let write = self.w.write_all(line.as_bytes());
        match tokio::time::timeout_at(self.deadline, write).await {
            Ok(r) => r.map_err(|e| self.fail(Failure::Io(e))),
            Err(_) => Err(self.fail(Failure::SendTimeout)),
        }
    }

    /// Lines up to the `.` that ends a multi-line reply.
    async fn dot(&mut self, cmd: &str) -> Result<Vec<String>, PollError> {
        self.send(cmd).await?;
        let mut lines = Vec::new();
        loop {
            let l = self.line().await?;
            if l == "." {
                return Ok(lines);
            }
            if lines.len() >= MAX_LINES {
                return Err(self.fail(Failure::TooManyLines(cmd.to_string())));
            }
            lines.push(l);
        }
    }
}

/// Polls `host`: connect within `connect`, everything within `total`.
pub async fn poll(host: &Host, connect: Duration, total: Duration) -> Result<HostReply, PollError> {
    let peer = format!("{} ({}:{})", host.name, host.address, host.port);
    let deadline = Instant::now() + total;
    let addr = format!("{}:{}", host.address, host.port);
    let fail = |failure| PollError {
        peer: peer.clone(),
        failure,
    };
    let stream = tokio::time::timeout(connect.min(total), TcpStream::connect(&addr))
        .await
        .map_err(|_| fail(Failure::ConnectTimeout(connect)))?
        .map_err(|e| fail(Failure::Connect(e)))?;
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut c = Conn {
        r: BufReader::new(r),
        w,
        deadline,
        peer,
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
    };
    for plugin in listed.split_whitespace() {
        if layout::service_part(plugin).is_err() || plugin.contains('.') {
            return Err(c.fail(Failure::BadPluginName(plugin.to_string())));
        }
        let config = c.dot(&format!("config {plugin}")).await?;
        let mut parsed = reply::parse(plugin, &config);
        if parsed.services.iter().all(|s| s.values.is_empty()) {
            let fetched = c.dot(&format!("fetch {plugin}")).await?;
            parsed.take_values(reply::parse(plugin, &fetched));
        }
        out.plugins.push((plugin.to_string(), parsed));
    }
    let _ = c.send("quit").await;
    Ok(out)
}
