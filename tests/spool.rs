//! Spooled history: while no master polls, a sampler keeps every value;
//! the next poll stores each missed point with its own time, so a master
//! outage leaves no gap (`rrdtool fetch` shows a value at every step).
//! Checked three ways: our munin-asyncd and munin-async with our master;
//! Debian's munin-update over ssh to our munin-async; Debian's
//! munin-asyncd and munin-async (package munin-async) with our master.
//!
//! The rate is one second (the plugin's `update_rate 1`), so a 30 s
//! outage stands for 30 missed intervals: 30 minutes at Munin's usual
//! minute rate, two and a half hours at its default five.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::sshd::Sshd;
use crate::support::{OurNode, hand_to_munin, is_root, munin_update_ok, require, terminate};

/// Seconds no master polls.
const OUTAGE: u64 = 30;

const PLUGIN: &str = "#!/bin/sh\nif [ \"$1\" = config ]; then\n  echo 'graph_title Spooled'\n  echo 'update_rate 1'\n  echo 'v.label v'\n  exit 0\nfi\necho 'v.value 7'\n";

/// A node serving the one `spooltest` plugin.
fn node() -> (OurNode, tempfile::TempDir) {
    let dir = tempfile::Builder::new()
        .prefix("spool-plugins")
        .tempdir()
        .unwrap();
    let plugins = dir.path().join("plugins");
    let conf = dir.path().join("plugin-conf.d");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(plugins.join("spooltest"), PLUGIN).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(plugins.join("spooltest"), PermissionsExt::from_mode(0o755)).unwrap();
    for d in [dir.path(), plugins.as_path(), conf.as_path()] {
        std::fs::set_permissions(d, PermissionsExt::from_mode(0o755)).unwrap();
    }
    let node = OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, &conf);
    (node, dir)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        terminate(&mut self.0);
    }
}

/// A sampler (`program` is ours or Debian's munin-asyncd) of `node` into
/// `spool`; returns once it has written a record.
fn sampler(program: &Path, node: &OurNode, spool: &Path) -> Killed {
    let child = Command::new(program)
        .args(["--host", &node.addr.to_string(), "--spooldir"])
        .arg(spool)
        .args(["--minrate", "1", "--interval", "3600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let s = Killed(child);
    let end = Instant::now() + Duration::from_secs(60);
    while records(spool).is_none_or(|n| n < 3) {
        assert!(Instant::now() < end, "{} wrote no spool", program.display());
        std::thread::sleep(Duration::from_millis(200));
    }
    s
}

/// Records in the spool's `spooltest` files.
fn records(spool: &Path) -> Option<usize> {
    let mut n = 0;
    for e in std::fs::read_dir(spool).ok()?.flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with("munin-daemon.spooltest.")
        {
            n += std::fs::read_to_string(e.path())
                .ok()?
                .lines()
                .filter(|l| l.starts_with("timestamp "))
                .count();
        }
    }
    Some(n)
}

fn munin_conf(dir: &Path, address: &str, global: &str) -> PathBuf {
    let conf = dir.join("munin.conf");
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nlogdir {0}\nrundir {0}\n{global}\n\
             [spool;munin-fixture.local]\n    address {address}\n    update_rate 1\n",
            dir.display()
        ),
    )
    .unwrap();
    conf
}

fn our_update(conf: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--config"])
        .arg(conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("failed"), "{err}");
}

/// `rrdtool fetch` of `file` at its finest step from `from` to its last
/// update: every row must hold 7, and there must be at least `rows`.
fn no_gap(file: &Path, from: u64, rows: usize) {
    let last = Command::new("rrdtool")
        .arg("last")
        .arg(file)
        .output()
        .unwrap();
    let last: u64 = String::from_utf8_lossy(&last.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!(
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&last.stderr)
            )
        });
    let out = Command::new("rrdtool")
        .arg("fetch")
        .arg(file)
        .args([
            "AVERAGE",
            "-r",
            "1",
            "-s",
            &from.to_string(),
            "-e",
            &(last - 1).to_string(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let values: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(t, v)| (t.trim(), v.trim()))
        .collect();
    assert!(
        values.len() >= rows,
        "{} rows over the outage:\n{text}",
        values.len()
    );
    for (t, v) in &values {
        let v: f64 = v.parse().unwrap_or(f64::NAN);
        assert!((v - 7.0).abs() < 1e-9, "a gap at {t}: {v}\n{text}");
    }
}

/// Polls once, waits out the outage, polls again; the points in between
/// were all stored. `update` runs one master.
fn outage(file: &Path, update: &dyn Fn()) {
    update();
    let first = Command::new("rrdtool")
        .arg("last")
        .arg(file)
        .output()
        .unwrap();
    let first: u64 = String::from_utf8_lossy(&first.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!(
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&first.stderr)
            )
        });
    std::thread::sleep(Duration::from_secs(OUTAGE));
    update();
    no_gap(file, first, OUTAGE as usize - 2);
}

fn have_rrdtool() -> bool {
    require(
        "rrdtool",
        Command::new("rrdtool").arg("--version").output().is_ok(),
    )
}

#[test]
fn issue17_our_master_stores_what_our_spool_kept_through_an_outage() {
    if !(require("root (plugins run as nobody)", is_root()) && have_rrdtool()) {
        return;
    }
    let (node, _plugins) = node();
    let work = tempfile::tempdir().unwrap();
    let spool = work.path().join("spool");
    let _asyncd = sampler(
        &PathBuf::from(env!("CARGO_BIN_EXE_munin-asyncd")),
        &node,
        &spool,
    );
    let conf = munin_conf(
        work.path(),
        &format!(
            "cmd://{} --spooldir {} --spoolfetch",
            PathBuf::from(env!("CARGO_BIN_EXE_munin-async")).display(),
            spool.display()
        ),
        "",
    );
    let file = work
        .path()
        .join("db/spool/munin-fixture.local-spooltest-v-g.rrd");
    outage(&file, &|| our_update(&conf));
}

#[test]
fn issue17_real_munin_update_over_ssh_stores_our_spool() {
    if !(require("root", is_root())
        && have_rrdtool()
        && require(
            "munin (apt-get install munin)",
            Path::new("/usr/share/munin/munin-update").exists(),
        )
        && require("openssh-server", Path::new("/usr/sbin/sshd").exists()))
    {
        return;
    }
    let (node, _plugins) = node();
    let work = tempfile::Builder::new()
        .prefix("spool-munin")
        .tempdir()
        .unwrap();
    let w = work.path();
    let spool = w.join("spool");
    let _asyncd = sampler(
        &PathBuf::from(env!("CARGO_BIN_EXE_munin-asyncd")),
        &node,
        &spool,
    );
    let sshd = Sshd::start(&format!(
        "{} --spooldir {} --spoolfetch",
        PathBuf::from(env!("CARGO_BIN_EXE_munin-async")).display(),
        spool.display()
    ));
    // ssh refuses a key others can read: munin's own copy.
    let key = w.join("client_key");
    std::fs::copy(sshd.client_key(), &key).unwrap();
    let options = sshd.ssh_options().replace(
        &sshd.client_key().display().to_string(),
        &key.display().to_string(),
    );
    let conf = munin_conf(
        w,
        &format!(
            "ssh://root@127.0.0.1:{}/usr/sbin/munin-async-forced",
            sshd.port
        ),
        &format!("ssh_options {options}"),
    );
    hand_to_munin(w);
    // munin-update files the spooled points in an RRD of its own 300 s
    // step (the step comes from its config, not the plugin's), so what
    // is checked is what it hands librrd: every point, with its time.
    let run = || {
        let log = munin_update_ok(&conf, &["--debug"]);
        let fatal = log
            .lines()
            .find(|l| l.contains("[FATAL]") || (l.contains("[ERROR]") && !l.contains("Tuning")));
        assert!(fatal.is_none(), "{log}\nsshd: {}", sshd.log());
        log
    };
    let first = run();
    let t1: u64 = first
        .split("set_spoolfetch_timestamp(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no spoolfetch timestamp stored:\n{first}"));
    std::thread::sleep(Duration::from_secs(OUTAGE));
    let second = run();
    let points: Vec<u64> = second
        .lines()
        .find(|l| l.contains("[DEBUG] Updating ") && l.contains("spooltest-v-g.rrd"))
        .and_then(|l| l.split(" with ").nth(1))
        .unwrap_or_else(|| panic!("no update:\n{second}"))
        .split_whitespace()
        .map(|p| {
            let (t, v) = p.split_once(':').unwrap();
            assert_eq!(v, "7", "{p}");
            t.parse().unwrap()
        })
        .collect();
    assert!(points[0] <= t1 + 2, "{t1} then {points:?}");
    assert!(
        points.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= 2),
        "a gap: {points:?}"
    );
    assert!(points.len() >= OUTAGE as usize - 2, "{points:?}");
    let last = Command::new("rrdtool")
        .arg("lastupdate")
        .arg(w.join("db/spool/munin-fixture.local-spooltest-v-g.rrd"))
        .output()
        .unwrap();
    let last = String::from_utf8_lossy(&last.stdout);
    assert!(
        last.contains(&format!("{}: 7", points.last().unwrap())),
        "{last}"
    );
}

#[test]
fn issue17_our_master_stores_debians_munin_async_spool() {
    let asyncd = Path::new("/usr/share/munin/munin-asyncd");
    if !(require("root", is_root())
        && have_rrdtool()
        && require("munin-async (apt-get install munin-async)", asyncd.exists()))
    {
        return;
    }
    let (node, _plugins) = node();
    let work = tempfile::tempdir().unwrap();
    let spool = work.path().join("spool");
    let _asyncd = sampler(asyncd, &node, &spool);
    let conf = munin_conf(
        work.path(),
        &format!(
            "cmd:///usr/share/munin/munin-async --spooldir {} --spoolfetch",
            spool.display()
        ),
        "",
    );
    let file = work
        .path()
        .join("db/spool/munin-fixture.local-spooltest-v-g.rrd");
    outage(&file, &|| our_update(&conf));
}
