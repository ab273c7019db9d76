//! For master tests: a simulated fleet (`munin-fleet`) and the munin.conf
//! that polls it, running `munin-master update`, and reading back what it
//! stored (`rrdtool lastupdate`) and logged.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Running simulated nodes; killed on drop.
pub struct Fleet {
    child: Child,
    /// Their `[group;host]` sections, four lines a node.
    pub hosts: String,
}

impl Fleet {
    pub fn start(nodes: usize, plugins: usize, fields: usize) -> Fleet {
        let mut child = Command::new(env!("CARGO_BIN_EXE_munin-fleet"))
            .args(["--nodes", &nodes.to_string()])
            .args(["--plugins", &plugins.to_string()])
            .args(["--fields", &fields.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut hosts = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        for _ in 0..nodes * 4 {
            out.read_line(&mut hosts).unwrap();
        }
        Fleet { child, hosts }
    }

    /// `dir/munin.conf`: dbdir, rundir and logdir under `dir`, `extra`
    /// global lines, then the fleet's hosts.
    pub fn conf(&self, dir: &Path, extra: &str) -> PathBuf {
        let path = dir.join("munin.conf");
        let text = format!(
            "dbdir {0}/db\nrundir {0}/run\nlogdir {0}/log\n{extra}{1}",
            dir.display(),
            self.hosts
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `munin-master update --config conf`.
pub fn update(conf: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--timeout", "10", "--config"])
        .arg(conf)
        .output()
        .unwrap()
}

/// `update` that must succeed; its output.
pub fn update_ok(conf: &Path) -> std::process::Output {
    let out = update(conf);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `update` that must succeed without a word on stderr.
pub fn update_quiet(conf: &Path) {
    let out = update_ok(conf);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `munin-master CMD --config conf` (with munin.conf's own timeouts) that
/// must succeed; its output.
pub fn master_ok(cmd: &str, conf: &Path) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args([cmd, "--config"])
        .arg(conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "munin-master {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last line of `<dir>/log/munin-master-update.log`.
pub fn log_line(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("log/munin-master-update.log"))
        .unwrap_or_default()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// `rrdtool lastupdate [--daemon ADDR] file`: (time, value).
pub fn last_update(file: &Path, daemon: Option<&str>) -> Option<(u64, String)> {
    let mut c = Command::new("rrdtool");
    c.arg("lastupdate");
    if let Some(d) = daemon {
        c.args(["--daemon", d]);
    }
    let o = c.arg(file).output().ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let (t, v) = text.lines().rev().find_map(|l| l.split_once(':'))?;
    Some((t.trim().parse().ok()?, v.trim().to_string()))
}

/// The last value stored in `file`, as a number.
pub fn last_value(file: &Path) -> Option<f64> {
    last_update(file, None).and_then(|(_, v)| v.parse().ok())
}
