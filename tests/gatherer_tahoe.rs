//! The gatherer against a real Tahoe-LAFS 1.20 node from PyPI: the node is
//! created and run on loopback, the gatherer polls it, Python's pickle
//! loads the snapshot, and our tahoe-stats plugins print its values.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::gatherer::Gatherer;
use crate::support::real_node::free_port;
use crate::support::{require, terminate};

/// `tahoe` from the test virtualenv, installed on first use.
fn tahoe() -> Option<PathBuf> {
    let venv_ok = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !require("python3 with venv (apt-get install python3-venv)", venv_ok) {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tahoe-venv.sh");
    let out = Command::new(script).output().unwrap();
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let ok = out.status.success() && path.exists();
    if !require(
        &format!(
            "tahoe-lafs 1.20 from PyPI ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        ok,
    ) {
        return None;
    }
    Some(path)
}

/// A running Tahoe node, stopped on drop.
struct TahoeNode {
    child: Child,
    dir: PathBuf,
}

impl TahoeNode {
    fn start(tahoe: &Path, dir: &Path, nickname: &str) -> TahoeNode {
        let tub = free_port();
        let create = Command::new(tahoe)
            .arg("create-node")
            .arg(format!("--port=tcp:{tub}:interface=127.0.0.1"))
            .arg(format!("--location=tcp:127.0.0.1:{tub}"))
            .arg("--webport=tcp:0:interface=127.0.0.1")
            .arg(format!("--nickname={nickname}"))
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            create.status.success(),
            "tahoe create-node: {}",
            String::from_utf8_lossy(&create.stderr)
        );
        let child = Command::new(tahoe)
            .args(["run", "--allow-stdin-close"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.with_extension("log")).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        TahoeNode {
            child,
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for TahoeNode {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

#[test]
fn polls_a_real_tahoe_node_into_a_snapshot_python_and_tahoe_stats_read() {
    let Some(tahoe) = tahoe() else { return };
    let work = tempfile::tempdir().unwrap();
    let node = TahoeNode::start(&tahoe, &work.path().join("node"), "e2e café");
    let node_dir = node.dir.to_str().unwrap().to_string();
    let g = Gatherer::start(&["--interval", "1", "--tahoe-node", &node_dir]);
    // `tahoe run` writes node.url and my_nodeid a few seconds after start.
    g.wait(
        "the Tahoe node in the snapshot",
        Duration::from_secs(90),
        |g| g.stat("providers_ok_last_round") == 1.0,
    );
    let id = std::fs::read_to_string(node.dir.join("my_nodeid"))
        .unwrap()
        .trim()
        .to_string();
    g.wait("a snapshot with it", Duration::from_secs(5), |g| {
        std::fs::read(&g.statsfile).is_ok_and(|b| b.windows(id.len()).any(|w| w == id.as_bytes()))
    });

    // Python's own pickle module reads the file.
    let py = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, pickle, pickletools, sys\n\
             data = open(sys.argv[1], 'rb').read()\n\
             # Python 2 reads protocols 0 to 2: no opcode of a later one.\n\
             newest = max(op.proto for op, _, _ in pickletools.genops(data))\n\
             assert newest == 2, newest\n\
             d = pickle.loads(data)\n\
             print(json.dumps({k: {'nickname': v['nickname'], 'timestamp': v['timestamp'],\n\
               'stats': v['stats']['stats'], 'counters': v['stats']['counters']} for k, v in d.items()}))",
        )
        .arg(&g.statsfile)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let snap: Value = serde_json::from_slice(&py.stdout).unwrap();
    let entry = &snap[&id];
    assert_eq!(entry["nickname"], "e2e café", "{snap}");
    let age = munin_rs::clock::now_f64() - entry["timestamp"].as_f64().unwrap();
    assert!((0.0..10.0).contains(&age), "fresh: {age}");
    let stats = entry["stats"].as_object().unwrap();
    for key in [
        "storage_server.disk_total",
        "storage_server.disk_used",
        "storage_server.allocated",
        "storage_server.reserved_space",
    ] {
        assert!(stats[key].is_number(), "{key} in {stats:?}");
    }
    assert_eq!(
        stats["storage_server.reserved_space"], 1_000_000_000u64,
        "tahoe's default 1G"
    );
    assert!(entry["counters"].is_object());

    // Our plugins print values for it.
    let plugin = |name: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_tahoe-stats"))
            .arg(name)
            .env("statsfile", &g.statsfile)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // "é" and the space become "_", then "_" and the id's first 4 characters.
    let field = format!("e2e_caf__{}", &id[..4]);
    assert_eq!(
        plugin("tahoe_storage_allocated"),
        format!("{field}.value 0\n")
    );
    let used = plugin("tahoe-storagespace");
    let value: u64 = used
        .trim()
        .strip_prefix(&format!("{field}.value "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(value > 0, "{used}");
    let config = plugin_config(&g.statsfile, "tahoe_storage_allocated");
    assert!(
        config.contains(&format!("{field}.label {field}\n")),
        "{config}"
    );

    // And the gatherer's own graph.
    let own = Command::new(env!("CARGO_BIN_EXE_tahoe-stats"))
        .args(["stats_gatherer"])
        .env("url", format!("http://{}/", g.addr))
        .output()
        .unwrap();
    let own = String::from_utf8(own.stdout).unwrap();
    let polls: f64 = own
        .lines()
        .find_map(|l| l.strip_prefix("polls.value "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(polls >= 1.0, "{own}");
    // Polls before `tahoe run` wrote node.url failed, and are counted.
    let failures = own
        .lines()
        .find_map(|l| l.strip_prefix("poll_failures.value "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(failures.is_some_and(|f| f < polls), "{own}");
}

fn plugin_config(statsfile: &Path, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tahoe-stats"))
        .args([name, "config"])
        .env("statsfile", statsfile)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}
