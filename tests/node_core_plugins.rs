//! Unmodified plugins from Debian's munin-plugins-core under our node and
//! under the real munin-node, with Debian's own plugin-conf.d: the same
//! plugins are served, `config` is byte-identical, `fetch` has the same
//! fields and well-formed values.

use crate::support::real_node::RealNode;
use crate::support::{OurNode, fixture, require, require_real_munin};

fn value_ok(v: &str) -> bool {
    let v = v.split_once(':').map_or(v, |(t, v)| {
        if t.bytes().all(|b| b.is_ascii_digit()) {
            v
        } else {
            "x"
        }
    });
    v == "U" || v.parse::<f64>().is_ok()
}

/// Field names of a fetch reply, per multigraph section.
fn fields(reply: &str) -> Vec<String> {
    reply
        .lines()
        .filter(|l| *l != ".")
        .map(|l| {
            if l.starts_with("multigraph ") {
                l.to_string()
            } else {
                l.split_whitespace().next().unwrap_or("").to_string()
            }
        })
        .collect()
}

#[test]
fn core_plugins_answer_as_under_the_real_node() {
    if !require_real_munin()
        || !require(
            "/etc/munin/plugin-conf.d (munin-node package)",
            std::path::Path::new("/etc/munin/plugin-conf.d/munin-node").exists(),
        )
    {
        return;
    }
    let plugins = fixture("node/core-plugins");
    let conf = std::path::Path::new("/etc/munin/plugin-conf.d");
    let real = RealNode::start(&plugins, conf, "");
    let ours = OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, conf);
    let (mut rc, _) = real.connect();
    let (mut oc, _) = ours.connect();
    for c in [&mut rc, &mut oc] {
        assert_eq!(
            c.line("cap multigraph dirtyconfig"),
            "cap multigraph dirtyconfig\n"
        );
    }
    let mut real_list: Vec<String> = rc
        .line("list")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut our_list: Vec<String> = oc
        .line("list")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    real_list.sort();
    our_list.sort();
    assert_eq!(our_list, real_list);
    for must in [
        "cpu",
        "load",
        "memory",
        "df",
        "if_lo",
        "processes",
        "netstat",
        "diskstats",
    ] {
        assert!(
            our_list.iter().any(|p| p == must),
            "{must} not served: {our_list:?}"
        );
    }
    let mut problems = Vec::new();
    for p in &real_list {
        let (rconf, oconf) = (
            rc.dot(&format!("config {p}")),
            oc.dot(&format!("config {p}")),
        );
        if rconf != oconf {
            problems.push(format!("config {p}: ours {oconf:?}\nreal {rconf:?}"));
        }
        // Twice: stateful plugins (diskstats) answer fully from the second
        // run, which must come in a later second (Munin's diskstats dies
        // dividing by a zero interval).
        for round in 0..2 {
            if round == 1 && p == "diskstats" {
                std::thread::sleep(std::time::Duration::from_millis(1100));
            }
            let (rf, of) = (rc.dot(&format!("fetch {p}")), oc.dot(&format!("fetch {p}")));
            if fields(&rf) != fields(&of) {
                problems.push(format!("fetch {p} fields: ours {of:?}\nreal {rf:?}"));
            }
            for line in of.lines().filter(|l| l.contains(".value ")) {
                let v = line.split_whitespace().nth(1).unwrap_or("");
                if !value_ok(v) {
                    problems.push(format!("fetch {p}: bad value line {line:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
