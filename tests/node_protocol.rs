//! The protocol as our node speaks it, on the node fixture: exact replies.

use std::time::{Duration, Instant};

use crate::support::{NOT_SERVED, OurNode, fx_env_fetch_as_root, is_root, node_fixture, require};

/// What `list` shows without capabilities.
pub const FIXTURE_PLUGINS: &str = "cpu fx_cmd fx_counter fx_crlf fx_dirty fx_empty fx_env fx_fail \
    fx_gauge fx_multi_blue fx_multi_red fx_slow if_lo load memory uptime";

fn start() -> OurNode {
    let (plugins, conf) = node_fixture();
    OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, &conf)
}

fn sorted(line: &str) -> String {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    words.sort();
    words.join(" ")
}

#[test]
fn banner_version_and_unknown_commands() {
    let node = start();
    let (mut c, banner) = node.connect();
    assert_eq!(banner, "# munin node at munin-fixture.local\n");
    assert_eq!(
        c.line("version"),
        "munins node on munin-fixture.local version: 2.0.73\n"
    );
    let unknown = "# Unknown command. Try cap, list, nodes, config, fetch, version or quit\n";
    assert_eq!(c.line("blah"), unknown);
    assert_eq!(c.line(""), unknown);
    assert_eq!(c.line(" version"), unknown);
    assert_eq!(c.line("spoolfetch 0"), unknown);
    assert_eq!(
        c.line("Version"),
        "munins node on munin-fixture.local version: 2.0.73\n"
    );
    // Without a key the node offers to be the TLS client, as Munin's does
    // (the session is then TLS, which this client does not speak).
    let (mut c, _) = node.connect();
    assert_eq!(c.line("starttls"), "TLS MAYBE\n");
}

#[test]
fn list_nodes_and_capabilities() {
    let node = start();
    let (mut c, _) = node.connect();
    // Without capabilities: no multigraph plugin, no plugin that is dirty by itself.
    assert_eq!(sorted(&c.line("list")), sorted(FIXTURE_PLUGINS));
    assert_eq!(
        sorted(&c.line("list munin-fixture.local")),
        sorted(FIXTURE_PLUGINS)
    );
    assert_eq!(
        sorted(&c.line("LIST MUNIN-FIXTURE.LOCAL")),
        sorted(FIXTURE_PLUGINS)
    );
    assert_eq!(c.line("list nosuch.invalid"), "\n");
    assert_eq!(c.line("list virtual.example"), "fx_virtual\n");
    assert_eq!(c.line("list switch1.example"), "fx_hostline\n");
    let nodes = c.dot("nodes");
    let mut names: Vec<&str> = nodes.lines().collect();
    assert_eq!(names.pop(), Some("."));
    names.sort();
    assert_eq!(
        names,
        vec!["munin-fixture.local", "switch1.example", "virtual.example"]
    );
    assert_eq!(
        c.line("cap multigraph dirtyconfig"),
        "cap multigraph dirtyconfig\n"
    );
    let with_caps = format!("{FIXTURE_PLUGINS} fx_multigraph fx_alwaysdirty");
    assert_eq!(sorted(&c.line("list")), sorted(&with_caps));
    // A later cap replaces the set: the dirty plugin is gone again.
    assert_eq!(c.line("cap foo"), "cap multigraph dirtyconfig\n");
    assert_eq!(sorted(&c.line("list")), sorted(FIXTURE_PLUGINS));
}

#[test]
fn config_and_fetch_exact_bytes() {
    let node = start();
    let (mut c, _) = node.connect();
    assert_eq!(
        c.dot("config fx_gauge"),
        "graph_title Fixture gauge\ngraph_vlabel degrees\ngraph_category fixture\n\
         graph_info Always reports 21.5.\ntemp.label temperature\ntemp.type GAUGE\n\
         temp.warning 30\ntemp.critical 40\n.\n"
    );
    assert_eq!(c.dot("fetch fx_gauge"), "temp.value 21.5\n.\n");
    assert_eq!(c.dot("fetch fx_gauge\r"), "temp.value 21.5\n.\n");
    assert_eq!(c.dot("fetchfx_gauge"), "temp.value 21.5\n.\n");
    assert_eq!(c.dot("FETCH fx_gauge extra words"), "temp.value 21.5\n.\n");
    assert_eq!(c.dot("fetch  fx_gauge"), "# Unknown service\n.\n");
    // Line endings are normalised, blank lines dropped.
    assert_eq!(c.dot("fetch fx_crlf"), "a.value 1\nb.value 2\n.\n");
    assert_eq!(
        c.dot("config fx_crlf"),
        "graph_title Fixture line endings\ngraph_category fixture\na.label a\nb.label b\n.\n"
    );
    // argv[0] dispatch through symlinks.
    assert_eq!(c.dot("fetch fx_multi_red"), "v.value 10\n.\n");
    assert_eq!(c.dot("fetch fx_multi_blue"), "v.value 20\n.\n");
    // No filtering by node or capability for fetch.
    assert_eq!(c.dot("fetch fx_virtual"), "temp.value 21.5\n.\n");
    let multi = c.dot("fetch fx_multigraph");
    assert!(
        multi.starts_with(
            "multigraph fx_multigraph\nsum.value 5\nmultigraph fx_multigraph.left\nl.value 2\n"
        ),
        "{multi}"
    );
}

#[test]
fn error_replies() {
    let node = start();
    let (mut c, _) = node.connect();
    for name in NOT_SERVED {
        assert_eq!(
            c.dot(&format!("fetch {name}")),
            "# Unknown service\n.\n",
            "fetch {name:?}"
        );
        assert_eq!(
            c.dot(&format!("config {name}")),
            "# Unknown service\n.\n",
            "config {name:?}"
        );
    }
    assert_eq!(c.dot("fetch fx_fail"), "# Bad exit\n.\n");
    assert_eq!(c.dot("fetch fx_empty"), ".\n");
    assert!(
        node.wait_for_log("something broke", Duration::from_secs(5)),
        "stderr is logged:\n{}",
        node.log()
    );
}

#[test]
fn dirtyconfig_is_passed_to_plugins() {
    let node = start();
    let (mut c, _) = node.connect();
    let plain = "graph_title Fixture dirtyconfig\ngraph_category fixture\nmud.label mud\n.\n";
    assert_eq!(c.dot("config fx_dirty"), plain);
    c.line("cap multigraph dirtyconfig");
    assert_eq!(
        c.dot("config fx_dirty"),
        "graph_title Fixture dirtyconfig\ngraph_category fixture\nmud.label mud\nmud.value 3\n.\n"
    );
    // Sticky: a later cap without dirtyconfig does not take it back.
    c.line("cap multigraph");
    assert!(c.dot("config fx_dirty").contains("mud.value 3\n"));
}

#[test]
fn plugin_conf_precedence_user_group_and_command() {
    if !require("root (plugins switch users)", is_root()) {
        return;
    }
    let node = start();
    let (mut c, _) = node.connect();
    assert_eq!(c.dot("fetch fx_env"), fx_env_fetch_as_root() + ".\n");
    assert!(
        c.dot("config fx_env")
            .starts_with("graph_title title from 10-later\n")
    );
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    let cmd = c.dot("fetch fx_cmd");
    assert!(
        cmd.starts_with(&format!(
            "one.value 1\ntwo.value 1\nthree.value 1\nfour.value 11\nuid.value {nobody}\n"
        )),
        "{cmd}"
    );
    assert!(
        node.log().contains("20-broken:4"),
        "parse error names file and line:\n{}",
        node.log()
    );
}

#[test]
fn timeout_answers_at_once_and_kills_the_group() {
    let node = start();
    let (mut c, _) = node.connect();
    let t = Instant::now();
    assert_eq!(c.dot("fetch fx_slow"), "# Timed out\n.\n");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "took {took:?}"
    );
    // Nothing of the plugin is left after the grace period, and no zombie.
    std::thread::sleep(Duration::from_secs(3));
    let kids = crate::support::children_of(node.pid());
    assert!(kids.is_empty(), "leftover children: {kids:?}");
    assert_eq!(
        c.line("version"),
        "munins node on munin-fixture.local version: 2.0.73\n"
    );
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let node = start();
    let (mut c, _) = node.connect();
    let mut burst = Vec::new();
    for _ in 0..200 {
        burst.extend_from_slice(b"version\nfetch fx_gauge\nlist nosuch\n");
    }
    c.send(&burst);
    for i in 0..200 {
        assert_eq!(
            c.read_line(),
            "munins node on munin-fixture.local version: 2.0.73\n",
            "round {i}"
        );
        assert_eq!(c.read_dot(), "temp.value 21.5\n.\n");
        assert_eq!(c.read_line(), "\n");
    }
}

#[test]
fn quit_variants_close_without_a_reply() {
    let node = start();
    for cmd in ["quit\n", "quit \n", "QUIT\n", "quitnow\n", ".\n"] {
        let (mut c, _) = node.connect();
        c.send(cmd.as_bytes());
        assert_eq!(c.read_to_close(), b"", "{cmd:?}");
    }
    // An unterminated last line before EOF is still answered.
    let (mut c, _) = node.connect();
    c.send(b"version");
    c.shutdown_write();
    assert_eq!(
        c.read_to_close(),
        b"munins node on munin-fixture.local version: 2.0.73\n"
    );
}

#[test]
fn slow_plugin_does_not_block_other_clients() {
    let node = start();
    let (mut slow, _) = node.connect();
    slow.send(b"fetch fx_slow\n");
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let (mut quick, _) = node.connect();
    assert_eq!(quick.dot("fetch fx_gauge"), "temp.value 21.5\n.\n");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "blocked for {:?}",
        t.elapsed()
    );
    assert_eq!(slow.read_dot(), "# Timed out\n.\n");
}
