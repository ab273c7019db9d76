//! Binding the listening socket from munin-node.conf's `host` and `port`.
//!
//! No `host` line means 127.0.0.1: a node is reachable from the network only
//! when its configuration says so. `host *` binds every address, IPv6 and
//! IPv4 on one dual-stack socket where the system has IPv6 (IPv4 peers then
//! appear as IPv4-mapped addresses, which access control maps back).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context, Result, bail};
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;

/// The listen backlog: masters connect in bursts at the top of the minute.
const BACKLOG: i32 = 1024;

/// Binds `host:port` as described above.
pub async fn bind(host: Option<&str>, port: u16) -> Result<TcpListener> {
    let host = host
        .unwrap_or("127.0.0.1")
        .trim_matches(|c| c == '[' || c == ']');
    if host == "*" {
        let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        return match listen(any6, false) {
            Ok(l) => Ok(l),
            Err(_) => listen(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                true,
            )
            .with_context(|| format!("cannot listen on *:{port}")),
        };
    }
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => match tokio::net::lookup_host((host, port)).await?.next() {
            Some(a) => a,
            None => bail!("host {host:?} has no address"),
        },
    };
    listen(addr, true).with_context(|| format!("cannot listen on {addr}"))
}

fn listen(addr: SocketAddr, v6only: bool) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(v6only)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}
