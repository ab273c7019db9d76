//! `munin-master limits` and `check` across runs of a real update: a node
//! whose value goes OK → WARNING → CRITICAL → OK → U tells the contact of
//! exactly each change, once, and `check` exits 0/1/2/0/3 along the way.

use std::io::Write;
use std::process::Command;

use crate::master_faults::fake_node;

/// `temp` with warning 80, critical 90; its value walks through [`WALK`].
fn walking(cmd: &str, w: &mut std::net::TcpStream) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static FETCHES: AtomicUsize = AtomicUsize::new(0);
    let reply: Vec<u8> = match cmd {
        "cap multigraph dirtyconfig" => b"cap multigraph\n".to_vec(),
        c if c.starts_with("list") => b"temp\n".to_vec(),
        "config temp" => {
            b"graph_title Temperature\ntemp.label inlet\ntemp.warning 80\ntemp.critical 90\n.\n"
                .to_vec()
        }
        "fetch temp" => {
            let n = FETCHES.fetch_add(1, Ordering::SeqCst).min(WALK.len() - 1);
            format!("temp.value {}\n.\n", WALK[n]).into_bytes()
        }
        _ => b"# Unknown command\n".to_vec(),
    };
    let _ = w.write_all(&reply);
}

const WALK: [&str; 6] = ["1", "85", "95", "10", "10", "U"];

fn master(args: &[&str], conf: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(args)
        .arg("--config")
        .arg(conf)
        .output()
        .unwrap()
}

#[test]
fn each_change_is_told_once_and_check_exits_by_state() {
    let dir = tempfile::tempdir().unwrap();
    let port = fake_node("# munin node at lim\n", walking);
    let told = dir.path().join("told.txt");
    let conf = dir.path().join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nrundir {0}/run\nlogdir {0}/log\ncontact.ops.command cat >>{1}; echo \"-- ${{var:worst}}\" >>{1}\n[lab;lim]\n address 127.0.0.1\n port {port}\n unknown_limit 0\n",
            dir.path().display(),
            told.display()
        ),
    )
    .unwrap();
    // Before any update, check knows nothing: UNKNOWN.
    let out = master(&["check", "--host", "lim"], &conf);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let told_text = || std::fs::read_to_string(&told).unwrap_or_default();
    let expect = [
        (
            0,
            0,
            "OK: lim: 1 fields within limits | 'temp.temp'=1;80;90",
        ),
        (
            1,
            1,
            "WARNING: lim: temp.temp WARNING | 'temp.temp'=85;80;90",
        ),
        (
            2,
            2,
            "CRITICAL: lim: temp.temp CRITICAL | 'temp.temp'=95;80;90",
        ),
        (
            0,
            3,
            "OK: lim: 1 fields within limits | 'temp.temp'=10;80;90",
        ),
        (
            0,
            3,
            "OK: lim: 1 fields within limits | 'temp.temp'=10;80;90",
        ),
        (3, 4, "UNKNOWN: lim: temp.temp UNKNOWN"),
    ];
    for (run, (code, messages, line)) in expect.into_iter().enumerate() {
        let up = master(&["update"], &conf);
        assert!(
            up.status.success(),
            "{}",
            String::from_utf8_lossy(&up.stderr)
        );
        let lim = master(&["limits"], &conf);
        assert!(
            lim.status.success() && lim.stderr.is_empty(),
            "run {run}: {}",
            String::from_utf8_lossy(&lim.stderr)
        );
        let out = master(&["check", "--host", "lim", "--plugin", "temp"], &conf);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.trim_end(), line, "run {run}");
        assert_eq!(out.status.code(), Some(code), "run {run}: {stdout}");
        assert_eq!(
            told_text().lines().filter(|l| l.starts_with("-- ")).count(),
            messages,
            "run {run}: {}",
            told_text()
        );
    }
    let text = told_text();
    let states: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("-- ")).collect();
    assert_eq!(states, ["WARNING", "CRITICAL", "OK", "UNKNOWN"], "{text}");
    assert!(
        text.contains(
            "lab :: lim :: Temperature\n\tWARNINGs: inlet is 85.00 (outside range [:80]).\n"
        ),
        "{text}"
    );
    // A plugin the host does not have, and a host munin.conf does not list.
    let out = master(&["check", "--host", "lim", "--plugin", "nope"], &conf);
    assert_eq!(out.status.code(), Some(3));
    let out = master(&["check", "--host", "elsewhere"], &conf);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("UNKNOWN: no host \"elsewhere\""));
}
