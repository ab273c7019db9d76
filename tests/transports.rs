//! `ssh://` and `cmd://` node addresses: our master reaches our node's
//! `--stdio` mode through a real sshd (Debian's openssh-server, a forced
//! command) and as a local command, and stores the same RRD files and
//! values as over TCP; no transport process outlives its session.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::munin_update::check_fixed_values;
use crate::support::sshd::Sshd;
use crate::support::{OurNode, is_root, node_fixture, require};

/// munin.conf polling the fixture host at `address` (`global` lines
/// first), storing under `dir/<name>`.
fn conf(dir: &Path, name: &str, address: &str, global: &str) -> PathBuf {
    let db = dir.join(name);
    std::fs::create_dir_all(&db).unwrap();
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}\nhtmldir {0}/www\nlogdir {0}\nrundir {0}\n{global}\n\
             [fixture;munin-fixture.local]\n    address {address}\n    use_node_name yes\n",
            db.display()
        ),
    )
    .unwrap();
    conf
}

fn update(conf: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--config"])
        .arg(conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "munin-master update: {err}");
    err
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("fixture"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rrd"))
        .collect()
}

/// `munin-node --stdio` processes still running with this config.
fn stdio_nodes(config: &Path) -> usize {
    let out = Command::new("pgrep")
        .args(["-f", &format!("--stdio --config {}", config.display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn issue17_ssh_and_cmd_reach_the_stdio_node_and_store_what_tcp_stores() {
    if !(require("root (sshd and plugins' users)", is_root())
        && require(
            "openssh-server (apt-get install openssh-server)",
            Path::new("/usr/sbin/sshd").exists(),
        ))
    {
        return;
    }
    let (plugins, sconf) = node_fixture();
    let node = OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, &sconf);
    let node_conf = node.dir.path().join("munin-node.conf");
    let stdio = format!(
        "{} --stdio --config {} --servicedir {} --sconfdir {}",
        env!("CARGO_BIN_EXE_munin-node"),
        node_conf.display(),
        plugins.display(),
        sconf.display()
    );
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    let tcp = conf(
        w,
        "tcp",
        &format!("127.0.0.1\n    port {}", node.addr.port()),
        "",
    );
    update(&tcp);
    let want = files(&w.join("tcp"));
    assert!(want.len() > 20, "{want:?}");
    check_fixed_values(&w.join("tcp").join("fixture"));

    let cmd = conf(w, "cmd", &format!("cmd://{stdio}"), "");
    let err = update(&cmd);
    assert!(!err.contains("failed"), "{err}");
    assert_eq!(files(&w.join("cmd")), want, "cmd:// stores what TCP stores");
    check_fixed_values(&w.join("cmd").join("fixture"));

    let sshd = Sshd::start(&stdio);
    let ssh = conf(
        w,
        "ssh",
        &format!(
            "ssh://root@127.0.0.1:{}/usr/sbin/munin-node-forced",
            sshd.port
        ),
        &format!("ssh_options {}", sshd.ssh_options()),
    );
    let err = update(&ssh);
    assert!(!err.contains("failed"), "{err}\nsshd: {}", sshd.log());
    assert_eq!(
        files(&w.join("ssh")),
        want,
        "ssh:// stores what TCP stores; sshd: {}",
        sshd.log()
    );
    check_fixed_values(&w.join("ssh").join("fixture"));
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        stdio_nodes(&node_conf),
        0,
        "a --stdio node outlived its session"
    );
}

#[test]
fn issue17_a_transport_command_that_is_no_node_fails_alone_and_is_reaped() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // Talks, but never a banner; then hangs with its stdin open.
    let liar = w.join("liar.sh");
    std::fs::write(
        &liar,
        "#!/bin/sh\necho 'Welcome to a motd'\necho oops >&2\nexec sleep 600\n",
    )
    .unwrap();
    std::fs::set_permissions(&liar, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = conf(
        w,
        "liar",
        &format!("cmd://{} --marker-{}", liar.display(), std::process::id()),
        "timeout 2",
    );
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("munin-fixture.local"), "{err}");
    assert!(err.contains("stderr: oops"), "its stderr is logged: {err}");
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let left = Command::new("pgrep")
        .args(["-f", &format!("--marker-{}", std::process::id())])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}
