//! `munin-plugins` plugins served by our node in-process and forked: two
//! nodes over the same plugin directory of symlinks and the 6.18 kernel
//! snapshot, one with plugin-conf.d asking for nothing (in-process), one
//! with `command %c` (which forces a fork), must answer byte for byte the
//! same, and the same as the program run by hand.

use std::path::Path;

use crate::support::{OurNode, builtin_plugins, fixture};

/// Plugin instances for the snapshot: every plain plugin and the wildcard
/// ones for each of its interfaces.
fn instances(snapshot: &Path) -> Vec<String> {
    let mut names: Vec<String> = builtin_plugins()
        .into_iter()
        .filter(|n| !n.ends_with('_'))
        .collect();
    for e in std::fs::read_dir(snapshot.join("sys/class/net")).unwrap() {
        let i = e.unwrap().file_name().into_string().unwrap();
        names.push(format!("if_{i}"));
        names.push(format!("if_err_{i}"));
    }
    names.sort();
    names
}

/// A node serving `names` from `snapshot`, forking each run or not.
fn node(names: &[String], snapshot: &Path, fork: bool) -> (OurNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // Forked plugins run as nobody: they must write diskstats' state here.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let plugins = dir.path().join("plugins");
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&conf).unwrap();
    for n in names {
        std::os::unix::fs::symlink(crate::support::bin("munin-plugins"), plugins.join(n)).unwrap();
    }
    let state = dir.path().join("diskstats.state");
    std::fs::copy(snapshot.join("state/diskstats"), &state).unwrap();
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let command = if fork { "command %c\n" } else { "" };
    std::fs::write(
        conf.join("munin-plugins"),
        format!(
            "[*]\nenv.MUNIN_PLUGINS_ROOT {}\n{command}\n[diskstats]\nenv.MUNIN_STATEFILE {}\n",
            snapshot.display(),
            state.display()
        ),
    )
    .unwrap();
    (OurNode::start("", &plugins, &conf), dir)
}

#[test]
fn in_process_answers_as_a_forked_run() {
    let snapshot = fixture("proc/6.18");
    let names = instances(&snapshot);
    let (inproc, _d1) = node(&names, &snapshot, false);
    let (forked, _d2) = node(&names, &snapshot, true);
    let (mut a, _) = inproc.connect();
    let (mut b, _) = forked.connect();
    for c in [&mut a, &mut b] {
        c.line("cap multigraph dirtyconfig");
    }
    let mut listed: Vec<String> = a
        .line("list")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, names);
    let mut problems = Vec::new();
    for n in &names {
        for mode in ["config", "fetch"] {
            let (x, y) = (a.dot(&format!("{mode} {n}")), b.dot(&format!("{mode} {n}")));
            if x != y {
                problems.push(format!("{mode} {n}:\n in-process {x:?}\n forked     {y:?}"));
            }
            if x.starts_with("# ") || x.trim() == "." {
                problems.push(format!("{mode} {n}: no answer: {x:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let (ilog, flog) = (inproc.log(), forked.log());
    for n in &names {
        let said = |log: &str| {
            log.lines()
                .any(|l| l.contains("runs in-process") && l.contains(&format!("plugin={n} ")))
        };
        assert!(said(&ilog), "{n} not in-process:\n{ilog}");
        assert!(!said(&flog), "{n} in-process despite `command`:\n{flog}");
    }
}

/// diskstats in-process on the running machine, with nothing but the node
/// to prepare its state directory: the second fetch has rates, and the
/// state sits where a forked run would keep it.
#[test]
fn in_process_diskstats_keeps_its_state_where_a_forked_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let (plugins, conf) = (dir.path().join("plugins"), dir.path().join("conf"));
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&conf).unwrap();
    std::os::unix::fs::symlink(
        crate::support::bin("munin-plugins"),
        plugins.join("diskstats"),
    )
    .unwrap();
    let node = OurNode::start("", &plugins, &conf);
    let (mut c, _) = node.connect();
    c.line("cap multigraph");
    assert_eq!(c.dot("fetch diskstats"), ".\n", "the first run only saves");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = c.dot("fetch diskstats");
    assert!(
        second.contains("multigraph diskstats_iops\n") && second.contains("_rdio.value "),
        "{second}"
    );
    assert!(node.log().contains("runs in-process plugin=diskstats"));
    let user = if crate::support::is_root() {
        "nobody".to_string()
    } else {
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .unwrap()
            .name
    };
    let state = node
        .dir
        .path()
        .join("state")
        .join(user)
        .join("diskstats-127.0.0.1");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.starts_with("munin-rs diskstats 1\n@"), "{text}");
}
