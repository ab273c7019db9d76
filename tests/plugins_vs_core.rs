//! Every `munin-plugins` plugin beside Debian's munin-plugins-core plugin of
//! the same name, on this machine: the same graphs, fields, types and
//! graph attributes in `config` (what decides RRD files and graphs; titles,
//! labels and info texts are free text), and fetched values that agree
//! within the tolerance stated per plugin in [`TOLERANCE`].

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::{is_root, require};

const CORE: &str = "/usr/share/munin/plugins";

/// How far a value of ours may be from Munin's, fetched a moment apart:
/// (plugin, absolute, relative). Counters and gauges move between the two
/// runs; the process counts of Munin's plugins include their own helper
/// processes (sh, ps, awk), which ours, running in one process, do not.
const TOLERANCE: &[(&str, f64, f64)] = &[
    ("cpu", 200.0, 0.01),
    ("load", 0.5, 0.0),
    ("memory", 64.0 * 1024.0 * 1024.0, 0.05),
    ("swap", 10.0, 0.01),
    ("uptime", 0.01, 0.0),
    ("processes", 10.0, 0.0),
    ("forks", 50.0, 0.0),
    ("threads", 30.0, 0.0),
    ("entropy", 256.0, 0.0),
    ("open_files", 100.0, 0.0),
    ("interrupts", 20000.0, 0.01),
    ("vmstat", 5.0, 0.0),
    ("netstat", 50.0, 0.01),
    ("df", 0.1, 0.0),
    ("df_inode", 0.1, 0.0),
    ("if_", 1.0e6, 0.01),
    ("if_err_", 10.0, 0.0),
    // Rates over the same few seconds, but each run's own state file write
    // is I/O the other sees: loose.
    ("diskstats", 1.0e6, 0.5),
];

/// Graph attributes that decide RRD files and how graphs are drawn.
const GRAPH_ATTRS: &[&str] = &["graph_args", "graph_order", "graph_scale", "graph_period"];
/// Field attributes that do; `type` defaults to GAUGE.
const FIELD_ATTRS: &[&str] = &["type", "min", "max", "draw", "negative", "graph", "cdef"];

#[derive(Debug, Default, PartialEq)]
struct Graph {
    attrs: BTreeMap<String, String>,
    fields: BTreeMap<String, BTreeMap<String, String>>,
}

/// `config` output as multigraph section → graph.
fn structure(config: &str) -> BTreeMap<String, Graph> {
    let mut out: BTreeMap<String, Graph> = BTreeMap::new();
    let mut section = String::new();
    for line in config.lines() {
        if let Some(g) = line.strip_prefix("multigraph ") {
            section = g.to_string();
            continue;
        }
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let graph = out.entry(section.clone()).or_default();
        if GRAPH_ATTRS.contains(&key) {
            graph.attrs.insert(key.into(), value.trim().into());
        } else if let Some((field, attr)) = key.split_once('.') {
            let f = graph.fields.entry(field.into()).or_default();
            f.entry("type".into()).or_insert_with(|| "GAUGE".into());
            if FIELD_ATTRS.contains(&attr) {
                f.insert(attr.into(), value.trim().into());
            }
        }
    }
    out
}

/// `fetch` output as (section, field) → value.
fn values(fetch: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    for line in fetch.lines() {
        if let Some(g) = line.strip_prefix("multigraph ") {
            section = g.to_string();
        } else if let Some((f, v)) = line.split_once(".value ") {
            out.insert((section.clone(), f.to_string()), v.trim().to_string());
        }
    }
    out
}

fn run(program: &Path, state: &Path, mode: &str) -> String {
    let out = Command::new(program)
        .arg(mode)
        .env("MUNIN_LIBDIR", "/usr/share/munin")
        .env("MUNIN_PLUGSTATE", state.parent().unwrap())
        .env("MUNIN_STATEFILE", state)
        .env("MUNIN_CAP_MULTIGRAPH", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {mode}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The interface both if_ plugins graph: the first one Munin suggests.
fn interface() -> String {
    let out = Command::new(format!("{CORE}/if_"))
        .arg("suggest")
        .env("MUNIN_LIBDIR", "/usr/share/munin")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .expect("an interface to graph")
        .to_string()
}

#[test]
fn same_graphs_fields_and_values_as_munin_plugins_core() {
    if !require(
        "munin-plugins-core (apt-get install munin-plugins-core)",
        Path::new(CORE).join("diskstats").exists(),
    ) || !require("root (Munin's plugins read some files as root)", is_root())
    {
        return;
    }
    let iface = interface();
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (name, abs, rel) in TOLERANCE {
        let instance = match *name {
            "if_" | "if_err_" => format!("{name}{iface}"),
            _ => name.to_string(),
        };
        // Each dispatches on its name: call both by the plugin's name.
        let ours_link = dir.path().join("ours").join(&instance);
        std::fs::create_dir_all(ours_link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(crate::support::bin("munin-plugins"), &ours_link).unwrap();
        let core_link = dir.path().join("core").join(&instance);
        std::fs::create_dir_all(core_link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(Path::new(CORE).join(name), &core_link).unwrap();

        let (sc, so) = (
            dir.path().join(format!("{instance}.core.state")),
            dir.path().join(format!("{instance}.ours.state")),
        );
        let (cc, oc) = (
            structure(&run(&core_link, &sc, "config")),
            structure(&run(&ours_link, &so, "config")),
        );
        if cc != oc {
            problems.push(format!(
                "{instance} config differs:\n  core {cc:?}\n  ours {oc:?}"
            ));
        }
        // diskstats prints rates from its second run on.
        if *name == "diskstats" {
            run(&core_link, &sc, "fetch");
            run(&ours_link, &so, "fetch");
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
        // diskstats' rates cover each plugin's own last interval, and a
        // burst of disk reads elsewhere (another test starting a browser)
        // can fall into one and not the other: its comparison is retried
        // over fresh intervals before it counts as a difference.
        let attempts = if *name == "diskstats" { 3 } else { 1 };
        let mut found = Vec::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            found.clear();
            let (cv, ov) = (
                values(&run(&core_link, &sc, "fetch")),
                values(&run(&ours_link, &so, "fetch")),
            );
            let (ck, ok): (Vec<_>, Vec<_>) = (cv.keys().collect(), ov.keys().collect());
            if ck != ok {
                found.push(format!(
                    "{instance} fetch fields differ:\n  core {ck:?}\n  ours {ok:?}"
                ));
            }
            for (key, c) in &cv {
                let Some(o) = ov.get(key) else { continue };
                let (Ok(c), Ok(o)) = (c.parse::<f64>(), o.parse::<f64>()) else {
                    if c != o {
                        found.push(format!("{instance} {key:?}: core {c}, ours {o}"));
                    }
                    continue;
                };
                let allowed = abs.max(rel * c.abs().max(o.abs()));
                if (c - o).abs() > allowed {
                    found.push(format!(
                        "{instance} {key:?}: core {c}, ours {o} (allowed ±{allowed})"
                    ));
                }
            }
            if found.is_empty() {
                break;
            }
        }
        problems.extend(found);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
