//! The master's state for the later steps (each plugin's last config,
//! each host's status and last values), the config hash that saves
//! rewriting it, tuning when a config does change, and a run killed at
//! any moment leaving every RRD and state file whole.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::master_faults::{fake_node, write_conf};
use crate::support::fleet::{Fleet, log_line, update_ok};
use crate::support::real_node::refusing_port;

fn json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A node whose `temp` max is 100 for its first two configs, then 50.
fn max_changes(cmd: &str, w: &mut std::net::TcpStream) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CONFIGS: AtomicUsize = AtomicUsize::new(0);
    let reply: Vec<u8> = match cmd {
        "cap multigraph dirtyconfig" => b"cap multigraph\n".to_vec(),
        c if c.starts_with("list") => b"temp load\n".to_vec(),
        "config temp" => {
            let max = if CONFIGS.fetch_add(1, Ordering::SeqCst) < 2 {
                100
            } else {
                50
            };
            format!("graph_title T\ntemp.label t\ntemp.max {max}\n.\n").into_bytes()
        }
        "config load" => b"graph_title L\nload.label l\n.\n".to_vec(),
        "fetch temp" => b"temp.value 42\n.\n".to_vec(),
        "fetch load" => b"load.value 0.25\n.\n".to_vec(),
        _ => b"# Unknown command\n".to_vec(),
    };
    let _ = w.write_all(&reply);
}

fn rrd_max(file: &Path) -> String {
    let o = Command::new("rrdtool")
        .arg("info")
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("ds[42].max = "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn state_is_kept_rewritten_only_on_change_and_files_tuned() {
    if !crate::support::require(
        "rrdtool",
        Command::new("rrdtool").arg("--version").output().is_ok(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = fake_node("# munin node at st\n", max_changes);
    let (_down, down) = refusing_port();
    let head = format!(
        "dbdir {0}/db\nrundir {0}/run\nlogdir {0}/log\n",
        dir.path().display()
    );
    let conf = write_conf(dir.path(), &head, &[("st", port), ("down", down)]);
    let run = || {
        update_ok(&conf);
        std::thread::sleep(Duration::from_millis(1100));
        log_line(dir.path())
    };
    let line = run();
    assert!(
        line.contains("config state 1 rewritten 0 unchanged"),
        "{line}"
    );
    let state = dir.path().join("db/munin-rs-state");
    let config = json(&state.join("config/g/st.json"));
    let temp = &config["plugins"]["temp"];
    assert_eq!(
        temp["services"][0]["graph"][0],
        serde_json::json!(["graph_title", "T"])
    );
    assert_eq!(
        temp["services"][0]["fields"][0][1][1],
        serde_json::json!(["max", "100"])
    );
    let values = json(&state.join("values.json"));
    let st = &values["hosts"]["g;st"];
    assert_eq!(st["ok"], true);
    assert_eq!(st["values"]["temp.temp"][1], "42");
    assert_eq!(st["values"]["load.load"][1], "0.25");
    let gone = &values["hosts"]["g;down"];
    assert_eq!(gone["ok"], false);
    assert!(
        gone["error"].as_str().unwrap().contains("cannot connect"),
        "{gone}"
    );

    // Same config: the file is not rewritten (its mtime stays), the run
    // counts the write it saved.
    let mtime = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before = mtime(&state.join("config/g/st.json"));
    let line = run();
    assert!(
        line.contains("config state 0 rewritten 1 unchanged (writes saved), 0 files tuned"),
        "{line}"
    );
    assert_eq!(mtime(&state.join("config/g/st.json")), before);
    let file = dir.path().join("db/g/st-temp-temp-g.rrd");
    assert_eq!(rrd_max(&file), "1.0000000000e+02");

    // temp.max becomes 50: that plugin's file is tuned, load's untouched.
    let line = run();
    assert!(
        line.contains("config state 1 rewritten 0 unchanged (writes saved), 1 files tuned"),
        "{line}"
    );
    assert_eq!(rrd_max(&file), "5.0000000000e+01");
    let config = json(&state.join("config/g/st.json"));
    assert_eq!(
        config["plugins"]["temp"]["services"][0]["fields"][0][1][1],
        serde_json::json!(["max", "50"])
    );
}

#[test]
fn a_run_killed_at_any_moment_leaves_whole_files() {
    if !crate::support::require(
        "rrdtool",
        Command::new("rrdtool").arg("--version").output().is_ok(),
    ) {
        return;
    }
    let fleet = Fleet::start(40, 10, 5);
    let dir = tempfile::tempdir().unwrap();
    let conf = fleet.conf(dir.path(), "");
    let state = dir.path().join("db/munin-rs-state");
    let mut killed = 0;
    let started = Instant::now();
    // Kill runs at spread-out moments: during creates, updates, state writes.
    for i in 0..24u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_munin-master"))
            .args(["update", "--config"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so that the test can tell when its store
            // workers are gone too.
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + (i * 37) % 150));
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
            killed += 1;
        }
        let _ = child.wait();
        // A worker of the killed run finishes the file in hand (its stdin
        // closed) and exits; until then it holds that file's lock, which
        // rrdtool would report as "could not lock RRD".
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let end = Instant::now() + Duration::from_secs(30);
        while nix::sys::signal::killpg(group, None).is_ok() {
            assert!(
                Instant::now() < end,
                "the killed run's workers did not exit"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // Every file under its real name is whole: state parses, RRDs open.
        if state.join("values.json").exists() {
            json(&state.join("values.json"));
        }
        let mut infos = String::new();
        let mut files = 0;
        for e in walkdir::WalkDir::new(dir.path().join("db"))
            .into_iter()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.file_type().is_file() {
                continue;
            }
            if name.ends_with(".json") {
                json(e.path());
            } else if name.ends_with(".rrd") {
                infos.push_str(&format!("info {}\n", e.path().display()));
                files += 1;
            }
        }
        // One rrdtool reads them all (`rrdtool -`: a command per line).
        let mut rrdtool = Command::new("rrdtool")
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Written from a thread: rrdtool answers while it reads.
        let mut stdin = rrdtool.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(infos.as_bytes()));
        let o = rrdtool.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        let bad = out.lines().find(|l| l.contains("ERROR"));
        assert!(bad.is_none(), "{bad:?}");
        let oks = out.lines().filter(|l| l.starts_with("OK ")).count();
        assert_eq!(oks, files, "every file answered");
    }
    assert!(killed >= 8, "only {killed} runs were killed mid-way");
    // And a whole run afterwards stores everything.
    update_ok(&conf);
    assert!(
        log_line(dir.path())
            .contains("40 nodes ok, 0 failed (0 timed out), 2000 values stored, 0 not stored"),
        "{}",
        log_line(dir.path())
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}
