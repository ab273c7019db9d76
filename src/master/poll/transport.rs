//! How the master reaches a node: TCP to `address:port`, or a command
//! whose stdin and stdout carry the protocol (`ssh://` and `cmd://`
//! addresses), as munin-update does.
//!
//! - `ssh://[user@]host[:port][/path/to/command] [args]` runs
//!   `SSH_COMMAND SSH_OPTIONS -p PORT [user@]host /path/to/command args`
//!   (`ssh_command` and `ssh_options` from munin.conf's global part; port
//!   22 unless given).
//! - `cmd:///path/to/command [args]` runs the command here. Munin reads
//!   only the URL's path, so `cmd://command` (no third slash) ran nothing
//!   under Munin; here it runs `command`.
//!
//! The line is run as Perl's `exec` runs a string (see
//! [`crate::master::limits::command::perl_exec`]). The child is in its
//! own process group; whatever ends the session, the group is sent
//! SIGTERM, then SIGKILL, and the child is reaped. Its stderr is logged,
//! a bounded number of lines.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::master::limits::command::{Prepared, perl_exec};
use crate::tls::stream::BoxIo;

/// Munin's `ssh_command` and `ssh_options` defaults.
pub const SSH_COMMAND: &str = "ssh";
pub const SSH_OPTIONS: &str = "-o ChallengeResponseAuthentication=no -o StrictHostKeyChecking=no";

/// Lines of a transport command's stderr logged per session.
const STDERR_LINES: usize = 100;
/// Bytes of one such line kept.
const STDERR_LINE: usize = 1024;
/// How long a command may take to exit after `quit` and the closing of its
/// stdin, and after SIGTERM.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Where a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Tcp {
        host: String,
        port: u16,
    },
    /// A command line (from `ssh://` or `cmd://`), run as Perl's exec.
    Command {
        line: String,
    },
}

impl Transport {
    /// Reads a host's `address` (and `port`, for TCP). `ssh` is
    /// `(ssh_command, ssh_options)`.
    pub fn parse(address: &str, port: u16, ssh: (&str, &str)) -> Result<Transport, String> {
        // As Munin: parameters follow the URL after the first spaces.
        let (url, params) = match address.split_once(' ') {
            Some((u, p)) => (u, p.trim_start_matches(' ')),
            None => (address, ""),
        };
        if let Some(rest) = url.strip_prefix("ssh://") {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let (user, hostport) = match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, authority),
            };
            let (host, port) = host_port(hostport)?;
            let port = port.unwrap_or(22);
            if host.is_empty() {
                return Err(format!("{url}: no host"));
            }
            let path = if path == "/" { "" } else { path };
            let user = user.map(|u| format!("{u}@")).unwrap_or_default();
            let (command, options) = ssh;
            return Ok(Transport::Command {
                line: format!("{command} {options} -p {port} {user}{host} {path} {params}"),
            });
        }
        if let Some(rest) = url.strip_prefix("cmd://") {
            if rest.is_empty() {
                return Err(format!("{url}: no command"));
            }
            return Ok(Transport::Command {
                line: format!("{rest} {params}"),
            });
        }
        if let Some((scheme, _)) = url.split_once("://")
            && scheme != "munin"
        {
            return Err(format!("unknown scheme {scheme:?} in address {url:?}"));
        }
        let host = url.strip_prefix("munin://").unwrap_or(url);
        // `munin://host:port` names its port; a plain address uses `port`.
        let (host, port) = match url.starts_with("munin://") {
            true => {
                let (h, p) = host_port(host.trim_end_matches('/'))?;
                (h.to_string(), p.unwrap_or(port))
            }
            false => (host.to_string(), port),
        };
        Ok(Transport::Tcp { host, port })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{s}: no closing ]"))?;
        (h, after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse()
                .map_err(|_| format!("{s}: port {p:?} is not a number"))?,
        ),
    };
    Ok((host, port))
}

/// A running transport command.
pub struct Running {
    child: Child,
    group: Option<Pid>,
    done: bool,
}

/// Starts `line`; `peer` names the node in the log lines of its stderr.
pub fn spawn(line: &str, peer: &str) -> std::io::Result<(BoxIo, Running)> {
    let mut cmd = match perl_exec(line) {
        Prepared::Direct(words) => {
            let (program, args) = words.split_first().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "an empty command")
            })?;
            let mut c = Command::new(program);
            c.args(args);
            c
        }
        Prepared::Shell { script, .. } => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(script);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    let (Some(stdout), Some(stdin), Some(stderr)) =
        (child.stdout.take(), child.stdin.take(), child.stderr.take())
    else {
        return Err(std::io::Error::other("the command's pipes were not opened"));
    };
    tokio::spawn(log_stderr(stderr, peer.to_string()));
    let io: BoxIo = Box::new(tokio::io::join(stdout, stdin));
    Ok((
        io,
        Running {
            child,
            group,
            done: false,
        },
    ))
}

/// Logs the first lines of a command's stderr; the rest is read and
/// dropped so that the command never blocks on a full pipe.
async fn log_stderr(stderr: tokio::process::ChildStderr, peer: String) {
    let mut lines = BufReader::new(stderr.take(1 << 20));
    let mut logged = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if logged == STDERR_LINES {
            tracing::warn!("{peer}: more on stderr, not logged");
            logged += 1;
        }
        if logged < STDERR_LINES {
            let text = String::from_utf8_lossy(&line[..line.len().min(STDERR_LINE)]);
            tracing::warn!("{peer}: stderr: {}", text.trim_end());
            logged += 1;
        }
    }
    // Past the cap: keep draining so that the command is not blocked.
    let mut sink = [0u8; 8192];
    let mut rest = lines.into_inner().into_inner();
    while matches!(rest.read(&mut sink).await, Ok(n) if n > 0) {}
}

impl Running {
    /// Waits for the command to exit (its stdin is closed by now), else
    /// ends its process group; the child is reaped either way.
    pub async fn finish(mut self) -> Option<std::process::ExitStatus> {
        self.done = true;
        if let Ok(Ok(status)) = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            self.signal(Signal::SIGTERM);
            return Some(status);
        }
        self.signal(Signal::SIGTERM);
        if let Ok(Ok(status)) = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            return Some(status);
        }
        self.signal(Signal::SIGKILL);
        self.child.wait().await.ok()
    }

    fn signal(&self, sig: Signal) {
        if let Some(g) = self.group {
            let _ = killpg(g, sig);
        }
    }
}

impl Drop for Running {
    /// A session that failed: the group is killed; tokio reaps the child
    /// (`kill_on_drop`).
    fn drop(&mut self) {
        if !self.done {
            self.signal(Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSH: (&str, &str) = (SSH_COMMAND, SSH_OPTIONS);

    fn line(t: Transport) -> String {
        match t {
            Transport::Command { line } => line,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ssh_addresses_as_munin_builds_them() {
        assert_eq!(
            line(
                Transport::parse(
                    "ssh://munin@node.example:2222/usr/sbin/munin-node --stdio",
                    4949,
                    SSH
                )
                .unwrap()
            ),
            "ssh -o ChallengeResponseAuthentication=no -o StrictHostKeyChecking=no -p 2222 munin@node.example /usr/sbin/munin-node --stdio"
        );
        assert_eq!(
            line(Transport::parse("ssh://node/", 4949, ("ssh", "-q")).unwrap()),
            "ssh -q -p 22 node  "
        );
        assert_eq!(
            line(Transport::parse("ssh://[::1]:22/bin/x", 4949, ("ssh", "")).unwrap()),
            "ssh  -p 22 ::1 /bin/x "
        );
        assert!(Transport::parse("ssh://node:http/x", 4949, SSH).is_err());
        assert!(Transport::parse("ssh:///x", 4949, SSH).is_err());
    }

    #[test]
    fn cmd_and_tcp_addresses() {
        assert_eq!(
            line(Transport::parse("cmd:///usr/bin/munin-node --stdio", 4949, SSH).unwrap()),
            "/usr/bin/munin-node --stdio"
        );
        assert_eq!(
            line(Transport::parse("cmd://munin-node", 4949, SSH).unwrap()),
            "munin-node "
        );
        assert_eq!(
            Transport::parse("10.0.0.1", 4950, SSH).unwrap(),
            Transport::Tcp {
                host: "10.0.0.1".into(),
                port: 4950
            }
        );
        assert_eq!(
            Transport::parse("munin://node:5000", 4949, SSH).unwrap(),
            Transport::Tcp {
                host: "node".into(),
                port: 5000
            }
        );
        assert!(Transport::parse("http://node", 4949, SSH).is_err());
    }

    #[tokio::test]
    async fn a_command_that_ignores_its_stdin_is_ended_and_reaped() {
        let (io, running) = spawn("sleep 600", "test").unwrap();
        drop(io);
        let started = std::time::Instant::now();
        let status = running.finish().await.expect("reaped");
        assert!(!status.success());
        assert!(started.elapsed() < Duration::from_secs(12));
    }
}
