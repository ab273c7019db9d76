//! One session on stdin and stdout (`munin-node --stdio`): the node as an
//! inetd service, or behind an ssh forced command, or run by a master's
//! `cmd://` address.
//!
//! Access rules apply where there is a peer to apply them to: when stdin is
//! a socket (inetd), its peer address must pass them as a TCP client's
//! would. Over pipes (ssh, a local command) whoever could start the node
//! is already let in; plugins see ssh's client address as
//! `MUNIN_MASTER_IP` when `SSH_CONNECTION` gives one.

use std::net::IpAddr;
use std::sync::Arc;

use nix::sys::socket::{SockaddrStorage, getpeername};

use super::{Node, access, session};

/// Where the session came from, and whether it may be served.
#[derive(Debug, PartialEq, Eq)]
pub enum Peer {
    /// stdin is a socket from this address.
    Socket(IpAddr),
    /// Pipes; the address ssh reports, if any.
    Pipe(Option<IpAddr>),
}

impl Peer {
    /// What stdin is.
    pub fn of_stdin() -> Peer {
        match getpeername::<SockaddrStorage>(0) {
            Ok(addr) => match socket_ip(&addr) {
                Some(ip) => Peer::Socket(access::canonical(ip)),
                None => Peer::Pipe(None),
            },
            Err(_) => Peer::Pipe(ssh_client(std::env::var("SSH_CONNECTION").ok().as_deref())),
        }
    }
}

fn socket_ip(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

/// The client address in `SSH_CONNECTION` (`client port server port`).
fn ssh_client(var: Option<&str>) -> Option<IpAddr> {
    var?.split_whitespace().next()?.parse().ok()
}

/// Serves the one session; returns when it ends.
pub async fn serve(node: Arc<Node>) {
    let peer = Peer::of_stdin();
    let name = match peer {
        Peer::Socket(ip) => {
            if !node.settings.config.access.permits(ip) {
                tracing::warn!(peer = %ip, "denying connection");
                return;
            }
            ip.to_string()
        }
        Peer::Pipe(Some(ip)) => ip.to_string(),
        Peer::Pipe(None) => "stdio".to_string(),
    };
    let io = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    session::serve(Box::new(io), name, node).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_connection_gives_the_client() {
        assert_eq!(
            ssh_client(Some("192.0.2.7 51234 192.0.2.1 22")),
            Some("192.0.2.7".parse().unwrap())
        );
        assert_eq!(ssh_client(Some("")), None);
        assert_eq!(ssh_client(None), None);
    }
}
