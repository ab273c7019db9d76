//! Debian's real munin-node (2.0.73), run in the foreground on a free port.
//!
//! munin-node has no option for its plugin or plugin-conf.d directory: both
//! come from Munin::Common::Defaults' MUNIN_CONFDIR. It honours PERL5LIB, so
//! we put a copy of that module first on the path with MUNIN_CONFDIR (and
//! MUNIN_PLUGSTATE) pointing into a private directory whose `plugins` and
//! `plugin-conf.d` are symlinks to the fixture.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Client, DEBIAN_IGNORES};

pub struct RealNode {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

/// A loopback port that refuses connections for as long as the returned
/// socket lives: bound, never listening, so no other test's `bind(0)` can
/// be handed it meanwhile (a port from [`free_port`] that a test means to
/// stay down was once taken by the next fake node, which then answered).
pub fn refusing_port() -> (socket2::Socket, u16) {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let port = s.local_addr().unwrap().as_socket().unwrap().port();
    (s, port)
}

/// A port nobody listens on right now, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RealNode {
    pub fn start(servicedir: &Path, sconfdir: &Path, extra: &str) -> RealNode {
        let dir = tempfile::Builder::new()
            .prefix("real-node")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let confdir = d.join("confdir");
        let lib = d.join("lib/Munin/Common");
        let state = d.join("plugin-state");
        for p in [&confdir, &lib, &state] {
            std::fs::create_dir_all(p).unwrap();
        }
        // Plugins running as nobody must reach their state directory.
        for p in [d, state.as_path()] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        std::os::unix::fs::symlink(servicedir, confdir.join("plugins")).unwrap();
        std::os::unix::fs::symlink(sconfdir, confdir.join("plugin-conf.d")).unwrap();
        let defaults =
            std::fs::read_to_string("/usr/share/perl5/Munin/Common/Defaults.pm").unwrap();
        let shadow: String = defaults
            .lines()
            .map(|l| {
                if l.starts_with("our $MUNIN_CONFDIR ") {
                    format!("our $MUNIN_CONFDIR = q{{{}}};", confdir.display())
                } else if l.starts_with("our $MUNIN_PLUGSTATE ") {
                    format!("our $MUNIN_PLUGSTATE = q{{{}}};", state.display())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(lib.join("Defaults.pm"), shadow).unwrap();
        let port = free_port();
        let conf = d.join("munin-node.conf");
        std::fs::write(
            &conf,
            format!(
                "log_level 4\nlog_file {}/munin-node.log\npid_file {}/munin-node.pid\n\
                 background 0\nsetsid 0\nuser root\ngroup root\nhost_name munin-fixture.local\n\
                 {DEBIAN_IGNORES}allow ^127\\.0\\.0\\.1$\nhost 127.0.0.1\nport {port}\n{extra}\n",
                d.display(),
                d.display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/munin-node")
            .arg("--config")
            .arg(&conf)
            .arg("--foreground")
            .env("PERL5LIB", d.join("lib"))
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn /usr/sbin/munin-node");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut node = RealNode { child, addr, dir };
        // It runs every plugin's config before it accepts connections.
        let end = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                let log = std::fs::read_to_string(node.dir.path().join("munin-node.log"))
                    .unwrap_or_default();
                panic!("real munin-node exited with {status}:\n{log}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return node;
            }
            assert!(
                Instant::now() < end,
                "real munin-node did not start listening"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn connect(&self) -> (Client, String) {
        Client::connect(self.addr)
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        // SIGTERM lets Net::Server stop the children serving connections.
        super::terminate(&mut self.child);
    }
}
