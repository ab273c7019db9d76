//! Debian's real munin-update (2.0.73) polls our node (and Debian's own
//! munin-node): it must store exactly the RRD files the node's config
//! implies, holding the values it served; then our `munin-master` polls the
//! same node and must plan and write exactly the same files and values.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{OurNode, hand_to_munin, is_root, munin_update_ok, node_fixture, require};

/// Munin's file-name form of a field name.
fn sanitise(field: &str) -> String {
    field
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let ok = if i == 0 {
                c.is_ascii_alphabetic() || c == '_'
            } else {
                c.is_ascii_alphanumeric() || c == '_'
            };
            if ok { c } else { '_' }
        })
        .collect()
}

/// `(service, field) -> type` from one plugin's config output.
fn config_fields(plugin: &str, config: &str) -> Vec<(String, String, String)> {
    let mut service = plugin.to_string();
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in config.lines() {
        if let Some(name) = line.strip_prefix("multigraph ") {
            service = name.trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let Some((field, attr)) = key.split_once('.') else {
            continue;
        };
        let field = sanitise(field);
        let entry = match out
            .iter()
            .position(|(s, f, _)| *s == service && *f == field)
        {
            Some(i) => i,
            None => {
                out.push((service.clone(), field.clone(), "GAUGE".into()));
                out.len() - 1
            }
        };
        if attr == "type" {
            out[entry].2 = value.trim().to_string();
        }
    }
    out
}

fn rrdtool(args: &[&str]) -> String {
    let o = Command::new("rrdtool")
        .args(args)
        .output()
        .expect("rrdtool");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn last_value(path: &Path) -> Option<f64> {
    let out = rrdtool(&["lastupdate", path.to_str().unwrap()]);
    out.lines()
        .rev()
        .find(|l| l.contains(':'))
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// The fixture's fixed values, and the fields that never get one.
pub fn check_fixed_values(dir: &Path) {
    for (file, want) in [
        ("fx_gauge-temp-g", 21.5),
        ("fx_multi_red-v-g", 10.0),
        ("fx_multi_blue-v-g", 20.0),
        ("fx_dirty-mud-g", 3.0),
        ("fx_alwaysdirty-dust-g", 9.0),
        ("fx_crlf-a-g", 1.0),
        ("fx_crlf-b-g", 2.0),
        ("fx_multigraph-sum-g", 5.0),
        ("fx_multigraph-left-l-g", 2.0),
        ("fx_env-one-g", 5.0),
        ("fx_cmd-four-g", 11.0),
    ] {
        let path = dir.join(format!("munin-fixture.local-{file}.rrd"));
        assert_eq!(last_value(&path), Some(want), "{}", path.display());
    }
    for never in ["fx_fail-oops-g", "fx_empty-void-g", "fx_slow-late-g"] {
        let path = dir.join(format!("munin-fixture.local-{never}.rrd"));
        assert_eq!(
            last_value(&path),
            None,
            "{} must hold no value",
            path.display()
        );
    }
}

#[test]
fn real_munin_update_stores_what_our_node_serves() {
    if !requirements() {
        return;
    }
    let (plugins, conf) = node_fixture();
    let node = OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, &conf);
    both_masters_store_the_same(node.addr);
}

/// Debian's own munin-node, polled by both masters: our master writes the
/// files munin-update writes for it, with the same values.
#[test]
fn both_masters_store_the_same_from_the_real_node() {
    if !(requirements() && crate::support::require_real_munin()) {
        return;
    }
    let (plugins, conf) = node_fixture();
    let real = crate::support::real_node::RealNode::start(&plugins, &conf, "");
    both_masters_store_the_same(real.addr);
}

pub fn requirements() -> bool {
    if !(require("root (munin-update runs as user munin)", is_root())
        && require(
            "munin (apt-get install munin)",
            Path::new("/usr/share/munin/munin-update").exists(),
        )
        && require(
            "rrdtool",
            Command::new("rrdtool").arg("--version").output().is_ok(),
        )
        && require(
            "user munin",
            nix::unistd::User::from_name("munin")
                .ok()
                .flatten()
                .is_some(),
        ))
    {
        return false;
    }
    true
}

/// Runs Debian's munin-update, then our master, against the node at `addr`.
fn both_masters_store_the_same(addr: std::net::SocketAddr) {
    both_masters_store_the_same_with(addr, "");
}

/// As [`both_masters_store_the_same`], with `global` lines in munin.conf's
/// global part (TLS settings), which both masters read.
pub fn both_masters_store_the_same_with(addr: std::net::SocketAddr, global: &str) {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for d in ["db", "www", "log", "run"] {
        std::fs::create_dir(w.join(d)).unwrap();
    }
    let munin_conf = w.join("munin.conf");
    std::fs::write(
        &munin_conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nlogdir {0}/log\nrundir {0}/run\n{global}\n\
             [fixture;munin-fixture.local]\n    address 127.0.0.1\n    port {1}\n    use_node_name yes\n",
            w.display(),
            addr.port()
        ),
    )
    .unwrap();
    hand_to_munin(w);
    let log = munin_update_ok(&munin_conf, &["--debug"]);
    for bad in [
        "failed to connect",
        "[FATAL]",
        "Got unknown reply",
        "listed no services",
        "Error updating",
        "Timeout error",
        "Could not establish TLS",
        "Could not verify",
        "Bad TLS response",
    ] {
        assert!(!log.contains(bad), "munin-update log has {bad:?}:\n{log}");
    }

    // What the node's config implies, asked the way munin-update asks
    // (over TLS when the node insists, through our own master's session).
    let mut c = crate::support::Session::open(addr, global);
    c.line("cap multigraph dirtyconfig");
    let listed = c.line("list munin-fixture.local");
    let mut expected = BTreeSet::new();
    for plugin in listed.split_whitespace() {
        for (service, field, kind) in config_fields(plugin, &c.dot(&format!("config {plugin}"))) {
            let t = kind.chars().next().unwrap().to_ascii_lowercase();
            expected.insert(format!(
                "munin-fixture.local-{}-{field}-{t}.rrd",
                service.replace('.', "-")
            ));
        }
    }
    let dir: PathBuf = w.join("db/fixture");
    let actual: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}\n{log}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rrd"))
        .collect();
    assert_eq!(actual, expected, "RRD files");

    check_fixed_values(&dir);
    let info = rrdtool(&[
        "info",
        dir.join("munin-fixture.local-fx_counter-seconds-c.rrd")
            .to_str()
            .unwrap(),
    ]);
    assert!(info.contains("ds[42].type = \"COUNTER\""), "{info}");
    assert!(info.contains("ds[42].min = 0.0000000000e+00"), "{info}");
    assert!(info.contains("step = 300"), "{info}");

    // Our master's poll, on the same munin.conf and node, plans exactly
    // the files the real munin-update made, with the values it stored.
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["poll", "--config"])
        .arg(&munin_conf)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "munin-master poll: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planned: BTreeSet<String> = printed
        .lines()
        .map(|l| {
            let path = Path::new(l.split('\t').next().unwrap());
            assert_eq!(path.parent(), Some(dir.as_path()), "{l}");
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(
        planned, actual,
        "munin-master poll plans munin-update's files"
    );
    let value_of = |file: &str| {
        printed
            .lines()
            .find(|l| l.contains(&format!("/munin-fixture.local-{file}.rrd\t")))
            .and_then(|l| l.rsplit('\t').next())
            .map(str::to_string)
    };
    assert_eq!(value_of("fx_gauge-temp-g").as_deref(), Some("21.5"));
    assert_eq!(value_of("fx_multigraph-left-l-g").as_deref(), Some("2"));
    assert_eq!(value_of("fx_fail-oops-g").as_deref(), Some("-"));

    // Our master stores the same files, holding the same values, in a
    // dbdir of its own (minute steps: our default update_rate is 60).
    let ours_conf = w.join("ours.conf");
    std::fs::write(
        &ours_conf,
        std::fs::read_to_string(&munin_conf).unwrap().replace(
            &format!("dbdir {}/db", w.display()),
            &format!("dbdir {}/ours\nupdate_rate 60", w.display()),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--config"])
        .arg(&ours_conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "munin-master update: {err}");
    assert!(!err.contains("cannot"), "{err}");
    let ours = w.join("ours/fixture");
    let stored: BTreeSet<String> = std::fs::read_dir(&ours)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        stored, actual,
        "munin-master update writes munin-update's files"
    );
    check_fixed_values(&ours);
    let info = rrdtool(&[
        "info",
        ours.join("munin-fixture.local-fx_counter-seconds-c.rrd")
            .to_str()
            .unwrap(),
    ]);
    for want in [
        "step = 60",
        "ds[42].type = \"COUNTER\"",
        "ds[42].minimal_heartbeat = 120",
        "ds[42].min = 0.0000000000e+00",
        "rra[0].rows = 2880",
        "rra[11].cf = \"MAX\"",
        "rra[11].pdp_per_row = 1440",
    ] {
        assert!(info.contains(want), "{want} not in {info}");
    }
}
