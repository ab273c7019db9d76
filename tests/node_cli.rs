//! The munin-node command line and its configuration files.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::support::{OurNode, fixture};

fn write_plugin(dir: &std::path::Path, name: &str, value: u32) {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!("#!/bin/sh\n[ \"$1\" = config ] && {{ echo 'graph_title {name}'; echo 'v.label v'; exit 0; }}\necho 'v.value {value}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    std::fs::create_dir(dir.path().join("plugin-conf.d")).unwrap();
    dir
}

fn run_with_config(dir: tempfile::TempDir, conf_text: &str) -> Result<OurNode, String> {
    let conf = dir.path().join("munin-node.conf");
    std::fs::write(&conf, conf_text).unwrap();
    OurNode::spawn(&[OsStr::new("--config"), conf.as_os_str()], dir)
}

#[test]
fn plugin_dirs_default_to_the_config_files_directory() {
    let dir = tree();
    write_plugin(&dir.path().join("plugins"), "alpha", 1);
    std::fs::write(
        dir.path().join("plugin-conf.d/x"),
        "[alpha]\nenv.X 1\nbogus line here\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let node = run_with_config(
        dir,
        &format!(
            "host 127.0.0.1\nport 0\nhost_name t.example\nplugin_state_dir {}\nfrobnicate yes\n",
            state.display()
        ),
    )
    .unwrap();
    let (mut c, banner) = node.connect();
    assert_eq!(banner, "# munin node at t.example\n");
    assert_eq!(c.line("list"), "alpha\n");
    assert_eq!(c.dot("fetch alpha"), "v.value 1\n.\n");
    let log = node.log();
    assert!(
        log.contains("munin-node.conf:5: unknown key \"frobnicate\""),
        "{log}"
    );
    assert!(log.contains("plugin-conf.d/x:3:"), "{log}");
}

#[test]
fn fatal_config_errors_name_file_and_line() {
    for (text, needle) in [
        ("port 0\nallow ^(127\n", "munin-node.conf:2: allow"),
        (
            "port 0\ncidr_allow 10.0.0.0/99\n",
            "munin-node.conf:2: cidr_allow",
        ),
        ("port nope\n", "munin-node.conf:1: port"),
        ("port 0\ntls sometimes\n", "munin-node.conf:2: tls"),
        (
            "port 0\ntls paranoid\ntls_private_key /nonexistent/key.pem\n",
            "tls paranoid: /nonexistent/key.pem: No such file",
        ),
        (
            "port 0\ndefault_plugin_user no-such-user-munin-rs\nservicedir /nonexistent\n",
            "",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_munin-node"))
            .arg("--config")
            .arg({
                let dir = tempfile::tempdir().unwrap().keep();
                let p = dir.join("munin-node.conf");
                std::fs::write(&p, text).unwrap();
                p
            })
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text:?} should fail");
        assert!(stderr.contains(needle), "{text:?}: {stderr}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_munin-node"))
        .args(["--config", "/nonexistent/munin-node.conf"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/munin-node.conf"));
}

#[test]
fn missing_plugin_directory_is_a_clear_error() {
    let dir = tree();
    let conf = dir.path().join("munin-node.conf");
    std::fs::write(&conf, "port 0\nservicedir /nonexistent/plugins\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_munin-node"))
        .arg("--config")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/plugins"));
}

#[test]
fn sighup_rescans_plugins_and_pid_file_is_written() {
    let dir = tree();
    let plugins = dir.path().join("plugins");
    write_plugin(&plugins, "first", 1);
    let pid_file = dir.path().join("node.pid");
    let state = dir.path().join("state");
    let node = run_with_config(
        dir,
        &format!(
            "port 0\npid_file {}\nplugin_state_dir {}\n",
            pid_file.display(),
            state.display()
        ),
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        node.pid().to_string()
    );
    let (mut c, _) = node.connect();
    assert_eq!(c.line("list"), "first\n");
    write_plugin(&plugins, "second", 2);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(node.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    assert!(
        node.wait_for_log("plugins reloaded", Duration::from_secs(10)),
        "{}",
        node.log()
    );
    assert_eq!(c.line("list"), "first second\n");
    assert_eq!(c.dot("fetch second"), "v.value 2\n.\n");
}

#[test]
fn log_file_receives_the_log() {
    let dir = tree();
    write_plugin(&dir.path().join("plugins"), "p", 1);
    let log = dir.path().join("node.log");
    let conf = dir.path().join("munin-node.conf");
    std::fs::write(
        &conf,
        format!(
            "port 0\nlog_file {}\nplugin_state_dir {}/state\n",
            log.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_munin-node"))
        .arg("--config")
        .arg(&conf)
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("listening on")
    {
        assert!(std::time::Instant::now() < end, "no log in log_file");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn embedded_config_is_valid_and_documented() {
    // The binary runs on its embedded config when given none; here we only
    // check it starts up to the point of binding (4949 may be taken).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_munin-node"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in ["--config", "--servicedir", "--sconfdir", "--foreground"] {
        assert!(help.contains(opt), "{help}");
    }
    let _ = fixture("node");
}

/// Issue 14: a clone under /root (mode 700) left every plugin forked as
/// `nobody` failing with a bare "Permission denied". The node now names
/// the directory that stops the plugin's user, at start and on each run.
#[test]
fn issue14_a_plugin_its_user_cannot_reach_is_named_with_the_blocking_directory() {
    if !crate::support::require("root", crate::support::is_root()) {
        return;
    }
    let dir = tree();
    let private = dir.path().join("home");
    std::fs::create_dir(&private).unwrap();
    write_plugin(&private, "hidden", 3);
    std::os::unix::fs::symlink(private.join("hidden"), dir.path().join("plugins/hidden")).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let state = dir.path().join("state");
    let node = run_with_config(
        dir,
        &format!(
            "host 127.0.0.1\nport 0\nhost_name t.example\nplugin_state_dir {}\n",
            state.display()
        ),
    )
    .unwrap();
    let why = format!(
        "user nobody cannot reach {}",
        node.dir.path().join("plugins/hidden").display()
    );
    let blocker = format!("{} is mode 700", private.display());
    let log = node.log();
    assert!(log.contains(&why) && log.contains(&blocker), "{log}");
    // Served (its config failed, as on Debian's node), and each run says why.
    let (mut c, _) = node.connect();
    assert_eq!(c.dot("fetch hidden"), "# Bad exit\n.\n");
    assert!(
        node.wait_for_log(
            &format!("Permission denied (os error 13): {why}"),
            Duration::from_secs(5)
        ),
        "{}",
        node.log()
    );
}
