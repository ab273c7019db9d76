//! systemd readiness notification (`Type=notify`, as Debian's unit uses).
//!
//! When `NOTIFY_SOCKET` is set, send `READY=1` once the port is bound and the
//! plugins are discovered; without it, do nothing.

use std::os::unix::net::UnixDatagram;

/// Tells systemd the node is ready. Failures are logged, never fatal.
pub fn ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let msg = format!("READY=1\nMAINPID={}\n", std::process::id());
    let result = UnixDatagram::unbound().and_then(|sock| {
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(msg.as_bytes(), &addr)
        } else {
            sock.send_to(msg.as_bytes(), &path)
        }
    });
    if let Err(e) = result {
        tracing::warn!(cause = %e, "cannot notify systemd");
    }
}
