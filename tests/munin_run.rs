//! munin-run: one plugin, run as the node would run it.

use std::process::{Command, Output};

use crate::support::{fx_env_fetch_as_root, is_root, node_fixture, require};

fn munin_run(args: &[&str]) -> Output {
    let (plugins, conf) = node_fixture();
    let state = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        state.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cfg = state.path().join("munin-node.conf");
    std::fs::write(
        &cfg,
        format!(
            "plugin_state_dir {}/s\nignore_file [\\#~]$\n",
            state.path().display()
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_munin-run"))
        .arg("--config")
        .arg(&cfg)
        .arg("--servicedir")
        .arg(&plugins)
        .arg("--sconfdir")
        .arg(&conf)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn runs_config_and_fetch() {
    let o = munin_run(&["fx_gauge"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "temp.value 21.5\n");
    assert_eq!(
        stdout(&munin_run(&["fx_gauge", "fetch"])),
        "temp.value 21.5\n"
    );
    assert!(stdout(&munin_run(&["fx_gauge", "config"])).starts_with("graph_title Fixture gauge\n"));
    assert_eq!(stdout(&munin_run(&["fx_gauge", "autoconf"])), "yes\n");
    assert_eq!(
        stdout(&munin_run(&["fx_multi_red", "suggest"])),
        "red\nblue\n"
    );
    // Raw output: munin-run shows what the plugin printed, CRs included.
    assert_eq!(
        stdout(&munin_run(&["fx_crlf"])),
        "a.value 1\r\n\n\nb.value 2"
    );
}

#[test]
fn same_environment_and_user_as_the_node() {
    if !require("root (plugins switch users)", is_root()) {
        return;
    }
    assert_eq!(stdout(&munin_run(&["fx_env"])), fx_env_fetch_as_root());
    assert!(stdout(&munin_run(&["fx_cmd"])).contains("four.value 11\n"));
}

#[test]
fn failures_have_exit_codes_and_messages() {
    let o = munin_run(&["nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("# Unknown service 'nosuch'"));
    let o = munin_run(&["fx_gauge~"]);
    assert_eq!(o.status.code(), Some(1), "ignored files are not plugins");
    let o = munin_run(&["fx_fail"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("something broke"));
    let t = std::time::Instant::now();
    let o = munin_run(&["fx_slow"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("timed out"));
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    let o = munin_run(&["../etc/passwd"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid plugin name"));
}
