//! Our node and Debian's munin-node 2.0.73 on the same fixture, command by
//! command. Replies must be byte-identical where the plugin's output is
//! deterministic, and identical in structure where it is not.

use std::collections::BTreeSet;

use crate::support::real_node::RealNode;
use crate::support::{Client, NOT_SERVED, OurNode, node_fixture, require_real_munin};

/// Plugins whose fetch output changes from one run to the next.
const VARYING_FETCH: &[&str] = &[
    "cpu",
    "if_lo",
    "load",
    "memory",
    "uptime",
    "fx_counter",
    "fx_multigraph",
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A one-line reply compared as a set of words.
    Set,
    /// A `.`-terminated reply compared as a set of lines.
    DotSet,
    Line,
    Dot,
}

/// The first word of every line; `#` and `multigraph` lines in full.
fn structure(reply: &str) -> Vec<String> {
    reply
        .lines()
        .map(|l| {
            if l.starts_with('#') || l.starts_with("multigraph ") || l == "." {
                l.to_string()
            } else {
                l.split_whitespace().next().unwrap_or("").to_string()
            }
        })
        .collect()
}

fn session(c: &mut Client, cmds: &[(String, Kind)]) -> Vec<String> {
    cmds.iter()
        .map(|(cmd, kind)| {
            c.send(cmd.as_bytes());
            match kind {
                Kind::Set | Kind::Line => c.read_line(),
                Kind::Dot | Kind::DotSet => c.read_dot(),
            }
        })
        .collect()
}

fn word_set(reply: &str) -> BTreeSet<String> {
    reply
        .split_whitespace()
        .filter(|w| *w != ".")
        .map(str::to_string)
        .collect()
}

fn compare(cmds: &[(String, Kind)], ours: &[String], real: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for (((cmd, kind), o), r) in cmds.iter().zip(ours).zip(real) {
        let name = cmd.split_whitespace().nth(1).unwrap_or("");
        let same = match kind {
            Kind::Set | Kind::DotSet => {
                word_set(o) == word_set(r) && o.ends_with('\n') && r.ends_with('\n')
            }
            _ if cmd.starts_with("fetch ") && VARYING_FETCH.contains(&name) => {
                structure(o) == structure(r)
            }
            _ => o == r,
        };
        if !same {
            problems.push(format!("{cmd:?}: ours {o:?}, real {r:?}"));
        }
    }
    problems
}

fn plugin_cmds(list: &str) -> Vec<(String, Kind)> {
    let mut names: Vec<&str> = list.split_whitespace().collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| {
            [
                (format!("config {p}\n"), Kind::Dot),
                (format!("fetch {p}\n"), Kind::Dot),
            ]
        })
        .collect()
}

#[test]
fn same_replies_as_debians_munin_node() {
    if !require_real_munin() {
        return;
    }
    let (plugins, conf) = node_fixture();
    let real = RealNode::start(&plugins, &conf, "");
    let ours = OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, &conf);
    let (mut rc, real_banner) = real.connect();
    let (mut oc, our_banner) = ours.connect();
    assert_eq!(our_banner, real_banner);
    let mut problems = Vec::new();

    let plain_list = rc.line("list");
    assert_eq!(
        word_set(&oc.line("list")),
        word_set(&plain_list),
        "plain list"
    );
    let mut plain: Vec<(String, Kind)> = vec![
        ("nodes\n".into(), Kind::DotSet),
        ("version\n".into(), Kind::Line),
        ("list munin-fixture.local\n".into(), Kind::Set),
        ("list nosuch.invalid\n".into(), Kind::Line),
        ("list virtual.example\n".into(), Kind::Set),
        ("list switch1.example\n".into(), Kind::Set),
        ("list \n".into(), Kind::Set),
        ("LIST\n".into(), Kind::Set),
    ];
    plain.extend(plugin_cmds(&plain_list));
    problems.extend(compare(
        &plain,
        &session(&mut oc, &plain),
        &session(&mut rc, &plain),
    ));

    let caps = vec![
        ("cap multigraph dirtyconfig\n".to_string(), Kind::Line),
        ("list\n".into(), Kind::Set),
    ];
    let (o, r) = (session(&mut oc, &caps), session(&mut rc, &caps));
    problems.extend(compare(&caps, &o, &r));
    let mut cap_cmds = plugin_cmds(&r[1]);
    cap_cmds.extend(plugin_cmds("fx_virtual fx_hostline"));
    problems.extend(compare(
        &cap_cmds,
        &session(&mut oc, &cap_cmds),
        &session(&mut rc, &cap_cmds),
    ));

    let mut errors: Vec<(String, Kind)> = [
        "blah\n",
        "\n",
        " version\n",
        "list\0junk\n",
        "cap\n",
        "cap foo bar\n",
        "Version\n",
        "spoolfetch 0\n",
        "list nosuch\n",
        "list\r\n",
        "version\r\n",
    ]
    .iter()
    .map(|c| {
        (
            c.to_string(),
            if c.starts_with("list") {
                Kind::Set
            } else {
                Kind::Line
            },
        )
    })
    .collect();
    let extra = ["fx_gauge\r", "fx_gauge extra", " fx_gauge"];
    for name in NOT_SERVED.iter().chain(extra.iter()) {
        errors.push((format!("fetch {name}\n"), Kind::Dot));
        errors.push((format!("config {name}\n"), Kind::Dot));
    }
    errors.push(("fetchfx_gauge\n".into(), Kind::Dot));
    errors.push(("FETCH fx_gauge\n".into(), Kind::Dot));
    errors.push(("fetch \0\u{ff}\n".into(), Kind::Dot));
    problems.extend(compare(
        &errors,
        &session(&mut oc, &errors),
        &session(&mut rc, &errors),
    ));

    for closer in ["quit\n", "quit \n", "QUIT\n", "quitnow\n", ".\n"] {
        let (mut o, _) = ours.connect();
        let (mut r, _) = real.connect();
        o.send(closer.as_bytes());
        r.send(closer.as_bytes());
        if o.read_to_close() != r.read_to_close() {
            problems.push(format!("closer {closer:?} differs"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
