//! Issue 14: `munin-plugins --check` and `munin-master check` judge limits
//! through one module, so on the same values and the same limits they
//! answer the same status word and exit code. Each case is a /proc
//! snapshot for `vmstat` (its `wait` field counts running processes, its
//! `sleep` field blocked ones, `U` when /proc/stat lacks the line) with
//! limits in plugin-conf.d; munin-plugins checks it directly, and our node
//! serves the same plugin with the same plugin-conf.d to a real update.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{OurNode, bin};

struct Case {
    name: &'static str,
    running: u32,
    /// `None`: /proc/stat has no procs_blocked line, so `sleep` is `U`.
    blocked: Option<u32>,
    limits: &'static str,
    want: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "ok",
        running: 7,
        blocked: Some(1),
        limits: "env.wait_warning 5:10\nenv.wait_critical :\nenv.sleep_warning :10\n",
        want: "OK",
    },
    Case {
        name: "warning",
        running: 12,
        blocked: Some(0),
        limits: "env.wait_warning :10\nenv.wait_critical :20\n",
        want: "WARNING",
    },
    Case {
        name: "critical",
        running: 12,
        blocked: Some(0),
        limits: "env.wait_warning 10:\nenv.wait_critical :10\n",
        want: "CRITICAL",
    },
    Case {
        name: "unknown",
        running: 3,
        blocked: None,
        limits: "env.wait_warning :\nenv.sleep_warning 5:10\n",
        want: "UNKNOWN",
    },
    Case {
        name: "critical-unknown",
        running: 30,
        blocked: None,
        limits: "env.wait_critical 5:10\nenv.sleep_warning 10:\n",
        want: "CRITICAL",
    },
    Case {
        name: "warning-unknown",
        running: 3,
        blocked: None,
        limits: "env.wait_warning 10:\nenv.sleep_critical :10\n",
        want: "WARNING",
    },
];

fn exit_code(word: &str) -> i32 {
    match word {
        "OK" => 0,
        "WARNING" => 1,
        "CRITICAL" => 2,
        _ => 3,
    }
}

/// What is wrong with a check's answer to `case`, if anything: its status
/// word (the `word`th of its line) and exit code against the wanted ones.
fn disagreement(
    tool: &str,
    case: &Case,
    out: &std::process::Output,
    word: usize,
) -> Option<String> {
    let line = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    let said = line
        .split_whitespace()
        .nth(word)
        .unwrap_or("")
        .trim_end_matches(':');
    let want = exit_code(case.want);
    (said != case.want || out.status.code() != Some(want)).then(|| {
        format!(
            "{}: {tool}: exit {:?} {line:?}; want {} ({want})",
            case.name,
            out.status.code(),
            case.want
        )
    })
}

/// The case's snapshot and plugin-conf.d under `dir`.
fn prepare(dir: &Path, case: &Case) -> (std::path::PathBuf, std::path::PathBuf) {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("proc")).unwrap();
    let mut stat = format!("cpu  1 2 3 4 5 6 7 0 0 0\nprocs_running {}\n", case.running);
    if let Some(b) = case.blocked {
        stat.push_str(&format!("procs_blocked {b}\n"));
    }
    std::fs::write(root.join("proc/stat"), stat).unwrap();
    let conf = dir.join("plugin-conf.d");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("limits"),
        format!(
            "[vmstat]\nenv.MUNIN_PLUGINS_ROOT {}\n{}",
            root.display(),
            case.limits
        ),
    )
    .unwrap();
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(bin("munin-plugins"), plugins.join("vmstat")).unwrap();
    (plugins, conf)
}

#[test]
fn issue14_plugin_check_and_master_check_agree() {
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut nodes = Vec::new();
    let mut master_conf = format!(
        "dbdir {0}/db\nlogdir {0}/log\nrundir {0}/run\n",
        top.path().display()
    );
    let mut problems = Vec::new();
    for case in CASES {
        let dir = top.path().join(case.name);
        let (plugins, conf) = prepare(&dir, case);
        // munin-plugins, straight from the snapshot.
        let out = Command::new(bin("munin-plugins"))
            .args(["vmstat", "--check", "--sconfdir"])
            .arg(&conf)
            .arg("--root")
            .arg(dir.join("root"))
            .env_clear()
            .output()
            .unwrap();
        // "VMSTAT WARNING: ..."
        problems.extend(disagreement("munin-plugins --check", case, &out, 1));
        let node = OurNode::start("", &plugins, &conf);
        master_conf.push_str(&format!(
            "[agree;{}]\n address 127.0.0.1\n port {}\n use_node_name yes\n",
            case.name,
            node.addr.port()
        ));
        nodes.push(node);
    }
    let conf_path = top.path().join("munin.conf");
    std::fs::write(&conf_path, &master_conf).unwrap();
    let up = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--timeout", "10", "--config"])
        .arg(&conf_path)
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    for case in CASES {
        let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
            .args([
                "check", "--host", case.name, "--plugin", "vmstat", "--config",
            ])
            .arg(&conf_path)
            .output()
            .unwrap();
        // "WARNING: host: ..."
        problems.extend(disagreement("munin-master check", case, &out, 0));
    }
    drop(nodes);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
