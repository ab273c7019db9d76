//! `munin-plugins NAME --check`: the Nagios/Icinga mode, on kernel
//! snapshots with limits from a plugin-conf.d directory: one status line
//! and exit status 0, 1, 2 or 3.

use std::path::Path;
use std::process::Command;

use crate::support::fixture;

const BIN: &str = env!("CARGO_BIN_EXE_munin-plugins");

fn check(program: &Path, args: &[&str], snapshot: &str, conf: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("limits"), conf).unwrap();
    let out = Command::new(program)
        .args(args)
        .args(["--check", "--sconfdir"])
        .arg(dir.path())
        .args(["--root".as_ref(), fixture(snapshot).as_os_str()])
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one status line: {stdout:?}");
    (out.status.code().unwrap(), stdout.trim_end().to_string())
}

#[test]
fn exit_status_follows_the_worst_value() {
    let bin = Path::new(BIN);
    // 4.19's load is 0.<two digits>; its / is 5..90 % full.
    let cases: &[(&[&str], &str, &str, i32, &str)] = &[
        (
            &["load"],
            "proc/4.19",
            "",
            0,
            "LOAD OK: no warning or critical limits set",
        ),
        (
            &["load"],
            "proc/4.19",
            "[load]\nenv.load_warning 5\n",
            0,
            "LOAD OK: 1 values within limits | load=",
        ),
        (
            &["load"],
            "proc/4.19",
            "[load]\nenv.warning 0.01\n",
            1,
            "LOAD WARNING: load=",
        ),
        (
            &["load"],
            "proc/4.19",
            "[l*]\nenv.warning 0.01\nenv.critical 0.02\n",
            2,
            "LOAD CRITICAL: load=",
        ),
        (
            &["load"],
            "proc/4.19",
            "[load]\nenv.warning 1:\n",
            1,
            "outside warning 1:",
        ),
        (
            &["load"],
            "proc/4.19",
            "[load]\nenv.warning lots\n",
            3,
            "LOAD UNKNOWN: load: warning limit \"lots\"",
        ),
        // df always has limits (92/98 unless set).
        (
            &["df"],
            "proc/4.19",
            "[df]\nenv.critical 1\n",
            2,
            "DF CRITICAL: ",
        ),
        // A broken /proc: UNKNOWN with the reason.
        (
            &["memory"],
            "proc/variants/empty",
            "",
            3,
            "MEMORY UNKNOWN: config failed: MemTotal in /proc/meminfo not found",
        ),
        (
            &["nosuch"],
            "proc/4.19",
            "",
            3,
            "UNKNOWN: no plugin called \"nosuch\"",
        ),
        // A wildcard plugin, and a DERIVE field judged as a rate: the
        // snapshot does not change, so the rate is 0.
        (
            &["if_eno1"],
            "proc/4.19",
            "[if_*]\nenv.down_warning 1:\n",
            1,
            "IF_ENO1 WARNING: down=0 outside warning 1:",
        ),
    ];
    let mut problems = Vec::new();
    for (args, snap, conf, code, want) in cases {
        let (got_code, line) = check(bin, args, snap, conf);
        if got_code != *code || !line.contains(want) {
            problems.push(format!(
                "{args:?} with {conf:?}: exit {got_code} {line:?}; want {code} {want:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn check_through_a_plugin_link() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("load");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let (code, line) = check(&link, &[], "proc/4.19", "[load]\nenv.load_critical 0.001\n");
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("LOAD CRITICAL: load="), "{line}");
}
