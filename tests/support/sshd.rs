//! Debian's OpenSSH server, started by a test on a loopback port with its
//! own host key and one authorized client key whose sessions all run a
//! forced command, as an admin puts a node behind ssh for Munin.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen (apt-get install openssh-client)");
    assert!(out.status.success(), "{out:?}");
}

impl Sshd {
    /// Starts sshd; every session of the client key runs `forced`.
    pub fn start(forced: &str) -> Sshd {
        let dir = tempfile::Builder::new().prefix("sshd").tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        let public = std::fs::read_to_string(d.join("client_key.pub")).unwrap();
        std::fs::write(
            d.join("authorized_keys"),
            format!("command=\"{forced}\",no-pty,no-port-forwarding,no-agent-forwarding {public}"),
        )
        .unwrap();
        // sshd's privilege separation directory, which a container lacks.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = super::real_node::free_port();
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {0}/host_key\n\
                 AuthorizedKeysFile {0}/authorized_keys\nPidFile {0}/sshd.pid\nStrictModes no\n\
                 UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
                d.display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .expect("/usr/sbin/sshd (apt-get install openssh-server)");
        let mut sshd = Sshd { child, port, dir };
        let end = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = sshd.child.try_wait() {
                panic!("sshd exited with {status}: {}", sshd.log());
            }
            assert!(Instant::now() < end, "sshd did not listen: {}", sshd.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The client key, for `ssh -i`.
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// munin.conf's `ssh_options` for this server: its key, no known-hosts
    /// file, no prompts.
    pub fn ssh_options(&self) -> String {
        format!(
            "-F /dev/null -i {} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR",
            self.client_key().display()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        super::terminate(&mut self.child);
    }
}
