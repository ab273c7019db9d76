//! Test support: starting our node and Debian's real munin-node on loopback,
//! a line-oriented protocol client, and dependency checks.
//!
//! A test that needs something the machine lacks (root, the Debian munin
//! packages) calls [`require`]: under `CI=true` a missing dependency fails
//! the test; elsewhere the test says loudly that it skipped.

#![allow(dead_code)]

pub mod certs;
pub mod client;
pub mod fleet;
pub mod gatherer;
pub mod http;
pub mod real_node;
pub mod session;
pub mod sshd;
pub mod stage;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use client::Client;
pub use session::Session;

/// `tests/fixtures/<rel>`, in the copy every plugin user can reach
/// (see [`stage`]).
pub fn fixture(rel: &str) -> PathBuf {
    stage::root().join("fixtures").join(rel)
}

pub use stage::bin;

/// Whether a dependency is present; see the module docs.
pub fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("missing test dependency under CI: {what}");
    }
    eprintln!("SKIPPED (missing dependency: {what}); run the README test command to install it");
    false
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Gives `dir` and all in it to user munin, as Debian's master scripts
/// run as that user.
pub fn hand_to_munin(dir: &Path) {
    let chown = Command::new("chown")
        .args(["-R", "munin:munin"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(chown.success(), "chown -R munin:munin {}", dir.display());
}

/// Debian's munin-update on `conf` (with `extra` options), as user
/// munin, which must succeed; what it said on stderr and stdout.
pub fn munin_update_ok(conf: &Path, extra: &[&str]) -> String {
    let up = Command::new("runuser")
        .args([
            "-u",
            "munin",
            "--",
            "/usr/share/munin/munin-update",
            "--nofork",
        ])
        .arg("--config_file")
        .arg(conf)
        .args(extra)
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&up.stderr).into_owned() + &String::from_utf8_lossy(&up.stdout);
    assert!(up.status.success(), "munin-update failed:\n{log}");
    log
}

/// Debian's munin-node and plugins, and root to run them.
pub fn require_real_munin() -> bool {
    require("root", is_root())
        && require(
            "munin-node (apt-get install munin-node)",
            Path::new("/usr/sbin/munin-node").exists(),
        )
        && require(
            "munin-plugins-core",
            Path::new("/usr/share/munin/plugins/load").exists(),
        )
}

/// The ignore list of Debian's shipped munin-node.conf.
pub const DEBIAN_IGNORES: &str = "ignore_file [\\#~]$\nignore_file DEADJOE$\nignore_file \\.bak$\n\
    ignore_file %$\nignore_file \\.dpkg-(tmp|new|old|dist)$\nignore_file \\.rpm(save|new)$\n\
    ignore_file \\.pod$\n";

/// Our munin-node, started as a child process on a free loopback port.
pub struct OurNode {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    pub dir: tempfile::TempDir,
}

impl OurNode {
    /// Starts our node with `extra` appended to a base config (host 127.0.0.1,
    /// port 0, host_name munin-fixture.local, Debian's ignore list).
    pub fn start(extra: &str, servicedir: &Path, sconfdir: &Path) -> OurNode {
        Self::try_start(extra, servicedir, sconfdir)
            .unwrap_or_else(|log| panic!("node did not start:\n{log}"))
    }

    /// As [`start`], returning the node's output if it exits instead.
    pub fn try_start(extra: &str, servicedir: &Path, sconfdir: &Path) -> Result<OurNode, String> {
        let dir = tempfile::tempdir().unwrap();
        // Plugins running as nobody must reach their state directory inside.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let conf = dir.path().join("munin-node.conf");
        let text = format!(
            "host 127.0.0.1\nport 0\nhost_name munin-fixture.local\n{DEBIAN_IGNORES}\
             plugin_state_dir {}\n{extra}\n",
            dir.path().join("state").display()
        );
        std::fs::write(&conf, text).unwrap();
        Self::spawn(
            &[
                "--config".as_ref(),
                conf.as_os_str(),
                "--servicedir".as_ref(),
                servicedir.as_os_str(),
                "--sconfdir".as_ref(),
                sconfdir.as_os_str(),
            ],
            dir,
        )
    }

    /// Starts `munin-node` with exactly these arguments (tests of the CLI).
    pub fn spawn(args: &[&std::ffi::OsStr], dir: tempfile::TempDir) -> Result<OurNode, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_munin-node"))
            .args(args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn munin-node");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_string());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(OurNode {
                child,
                addr: addr.parse().expect("listen address"),
                log,
                dir,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err(log.lock().unwrap().clone())
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (logs arrive asynchronously).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn connect(&self) -> (Client, String) {
        Client::connect(self.addr)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for OurNode {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// The plugin names `munin-plugins --list` prints (wildcards end in `_`).
pub fn builtin_plugins() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_munin-plugins"))
        .arg("--list")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// The node fixture: plugins and plugin-conf.d.
pub fn node_fixture() -> (PathBuf, PathBuf) {
    (fixture("node/plugins"), fixture("node/plugin-conf.d"))
}

/// One line of `/proc/<pid>/stat`, the fields the tests look at.
#[derive(Debug)]
pub struct ProcStat {
    pub pid: u32,
    pub state: String,
    pub ppid: u32,
    pub pgrp: i32,
}

/// Every process on the machine.
pub fn processes() -> Vec<ProcStat> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let (Some(state), Some(ppid), Some(pgrp)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        out.push(ProcStat {
            pid,
            state: state.to_string(),
            ppid: ppid.parse().unwrap_or(0),
            pgrp: pgrp.parse().unwrap_or(0),
        });
    }
    out
}

/// Processes whose parent is `pid` (children and zombies).
pub fn children_of(pid: u32) -> Vec<(u32, String)> {
    processes()
        .into_iter()
        .filter(|p| p.ppid == pid)
        .map(|p| (p.pid, p.state))
        .collect()
}

/// Processes in process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.pgrp == pgid)
        .map(|p| p.pid)
        .collect()
}

/// Gives the child soft and hard open-file limits of `n` (as a unit's
/// `LimitNOFILE=n`), so raising the soft limit cannot hide running out.
pub fn limit_nofile(cmd: &mut std::process::Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in between.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Waits (up to 20 s) until the open descriptors of `pid` stop changing
/// for 300 ms: a server has taken every connection offered to it.
pub fn settle(pid: u32) {
    let count = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let end = Instant::now() + Duration::from_secs(20);
    let mut last = count();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(300));
        let now = count();
        if now == last {
            return;
        }
        last = now;
    }
}

/// SIGTERM, up to 10 s to exit, then SIGKILL.
pub fn terminate(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Names in the node fixture that are not plugins (ignored, hidden, not
/// executable, dangling, a directory, no config) or path tricks: never served.
pub const NOT_SERVED: &[&str] = &[
    "nosuch",
    "",
    "fx_gauge~",
    "fx_gauge.dpkg-old",
    ".fx_hidden",
    "fx_ignored.conf",
    "fx_bad+name",
    "fx_notexec",
    "fx_dangling",
    "fx_subdir",
    "fx_noconfig",
    "../plugins/fx_gauge",
    "/bin/true",
    "fx_multi_",
    "fx_multi_red/../fx_gauge",
];

/// What fx_env prints as root: plugin-conf.d precedence, user root, group nogroup.
pub fn fx_env_fetch_as_root() -> String {
    let nogroup = nix::unistd::Group::from_name("nogroup")
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    format!(
        "one.value 5\ntwo.value 7\nthree.value 2\nfour.value 4\nuid.value 0\ngid.value {nogroup}\n"
    )
}

/// A tmpfs of `size` (mount's syntax: `256k`, `1m`) mounted on `dir`, for
/// full-disk tests; unmounted on drop. Needs root.
pub struct SmallTmpfs(PathBuf);

impl SmallTmpfs {
    pub fn mount(dir: &Path, size: &str) -> SmallTmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount a {size} tmpfs on {}", dir.display());
        SmallTmpfs(dir.to_path_buf())
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
