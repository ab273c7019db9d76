//! tahoe-stats: golden outputs from the original plugin, the error matrix,
//! the per-node disk graphs, and the plugin served by our node.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{OurNode, fixture, require};

const FORMATS: &[&str] = &[
    "py2-0", "py2-1", "py2-2", "py3-0", "py3-1", "py3-2", "py3-3", "py3-4", "py3-5", "json",
];

/// What one run printed.
struct Run {
    stdout: Vec<u8>,
    stderr: String,
    code: i32,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A directory of symlinks to tahoe-stats, as a munin plugin directory holds them.
struct Plugins {
    dir: tempfile::TempDir,
}

impl Plugins {
    fn new() -> Plugins {
        Plugins {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs tahoe-stats under `name` with exactly `env` (plus PATH).
    fn run(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let link = self.dir.path().join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(crate::support::bin("tahoe-stats"), &link).unwrap();
        }
        let out = Command::new(&link)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run {
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }
}

fn python() -> bool {
    require(
        "python3",
        Command::new("python3").arg("--version").output().is_ok(),
    )
}

/// Writes `spec` (a grid.json-style file) as a snapshot in `format`, with
/// timestamps relative to now.
fn snapshot(dir: &Path, spec: &Path, format: &str) -> PathBuf {
    let out = dir.join(format!("stats-{format}"));
    let status = Command::new("python3")
        .arg(fixture("tahoe/make_snapshot.py"))
        .arg(spec)
        .arg(&out)
        .arg(format)
        .status()
        .unwrap();
    assert!(status.success(), "make_snapshot.py {format}");
    out
}

/// Snapshot graphs: every graph, both modes, every pickle protocol and JSON,
/// byte for byte against the original plugin's output (tests/fixtures/tahoe/expected,
/// made by make-expected.sh from the original).
#[test]
fn snapshot_graphs_match_the_original_byte_for_byte() {
    if !python() {
        return;
    }
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let expected_dir = fixture("tahoe/expected");
    let mut graphs: Vec<String> = std::fs::read_dir(expected_dir.join("bytes"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".config")
                .map(str::to_string)
        })
        .collect();
    graphs.sort();
    assert_eq!(graphs.len(), 26);
    let mut problems = Vec::new();
    for format in FORMATS {
        let snap = snapshot(work.path(), &fixture("tahoe/grid.json"), format);
        let kind = if format.starts_with("py2") {
            "bytes"
        } else {
            "text"
        };
        let statsfile = snap.to_str().unwrap();
        for g in &graphs {
            for (mode, args) in [("config", &["config"][..]), ("fetch", &[][..])] {
                let want =
                    std::fs::read(expected_dir.join(kind).join(format!("{g}.{mode}"))).unwrap();
                let got = plugins.run(g, args, &[("statsfile", statsfile)]);
                if got.stdout != want || got.code != 0 {
                    problems.push(format!(
                        "{format} {g} {mode}: exit {} {}\n got {:?}\nwant {:?}",
                        got.code,
                        got.stderr,
                        got.out(),
                        String::from_utf8_lossy(&want)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The hyphen spelling, `.py` names and `tahoe-stats GRAPH` all draw the same.
#[test]
fn every_spelling_reaches_the_same_graph() {
    if !python() {
        return;
    }
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let snap = snapshot(work.path(), &fixture("tahoe/grid.json"), "py2-0");
    let env = [("statsfile", snap.to_str().unwrap())];
    let want = std::fs::read(fixture(
        "tahoe/expected/bytes/tahoe_storage_operations_get.fetch",
    ))
    .unwrap();
    for (name, args) in [
        ("tahoe-storage-operations-get", &[][..]),
        ("tahoe_storage_operations_get.py", &[][..]),
        ("tahoe_storage_operations_get", &["fetch"][..]),
        ("tahoe-stats", &["tahoe_storage_operations_get"][..]),
        (
            "tahoe-stats",
            &["tahoe-storage-operations-get", "fetch"][..],
        ),
    ] {
        let got = plugins.run(name, args, &env);
        assert_eq!(got.stdout, want, "{name} {args:?}: {}", got.stderr);
    }
    // A statsfile* variable other than statsfile itself counts too.
    let got = plugins.run(
        "tahoe_storage_operations_get",
        &[],
        &[("statsfile_grid", snap.to_str().unwrap())],
    );
    assert_eq!(got.stdout, want);
}

#[test]
fn freshness_uses_now_from_after_the_load() {
    if !python() {
        return;
    }
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let snap = snapshot(work.path(), &fixture("tahoe/grid.json"), "json");
    let got = plugins.run(
        "tahoe_runtime_load_avg",
        &[],
        &[("statsfile", snap.to_str().unwrap())],
    );
    let out = got.out();
    assert!(out.contains("alpha_xfjg.value"), "10 s old: fresh");
    assert!(out.contains("_eaaa.value"), "50 s in the future: fresh");
    assert!(!out.contains("bravo"), "400 s old: stale");
    assert!(!out.contains("delta"), "305 s old: stale");
    assert!(!out.contains("foxtrot"), "no timestamp: stale");
    let config = plugins.run(
        "tahoe_runtime_load_avg",
        &["config"],
        &[("statsfile", snap.to_str().unwrap())],
    );
    assert!(
        config.out().contains("bravo_stale_b3lm.label"),
        "config lists stale nodes"
    );
    assert!(config.out().contains("foxtrot_no_timestamp_f5zw.label"));
    assert!(
        !config.out().contains("caf"),
        "a None value drops the node from config too"
    );
}

/// Each broken or hostile snapshot: exit 1, one line naming the file, no stdout.
#[test]
fn malformed_and_hostile_snapshots() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty", b"", "empty file"),
        ("blank", b"  \n", "empty file"),
        ("truncated", b"(dp0\nS'xfjg", "truncated"),
        ("garbage", b"\x00\x01\x02hello", "not a pickle opcode"),
        ("list", b"(lp0\nI1\na.", "top-level value is a list"),
        ("string", b"S'x'\n.", "top-level value is a str"),
        (
            "reduce",
            b"cos\nsystem\n(S'touch /tmp/munin-rs-pwned'\ntR.",
            "refusing opcode GLOBAL",
        ),
        (
            "stack_global",
            b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.",
            "STACK_GLOBAL",
        ),
        ("build", b"(dp0\nb.", "refusing opcode BUILD"),
        ("huge_len", b"\x80\x02T\xff\xff\xff\x7fabc.", "truncated"),
        ("trailing", b"(dp0\n.(dp1\n.", "data after the end"),
        ("bad_json", b"{\"a\": {", "bad JSON"),
        (
            "json_infinity",
            b"{\"a\": {\"timestamp\": Infinity}}",
            "bad JSON",
        ),
        ("json_list", b"[1, 2]", "not a pickle opcode"),
    ];
    for (name, bytes, needle) in cases {
        let path = work.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for args in [&["config"][..], &[][..]] {
            let got = plugins.run(
                "tahoe_runtime_load_avg",
                args,
                &[("statsfile", path.to_str().unwrap())],
            );
            assert_eq!(got.code, 1, "{name} {args:?}: {}", got.stderr);
            assert!(got.stdout.is_empty(), "{name}: printed {:?}", got.out());
            assert!(
                got.stderr.contains(needle),
                "{name}: {:?} lacks {needle:?}",
                got.stderr
            );
            assert!(
                got.stderr.contains(path.to_str().unwrap()),
                "{name}: message names the file"
            );
            assert_eq!(
                got.stderr.lines().count(),
                1,
                "{name}: one line: {:?}",
                got.stderr
            );
        }
    }
    assert!(!Path::new("/tmp/munin-rs-pwned").exists());
    let got = plugins.run(
        "tahoe_runtime_load_avg",
        &[],
        &[("statsfile", big.to_str().unwrap())],
    );
    assert_eq!(got.code, 1);
    assert!(
        got.stderr.contains("over the 64 MiB limit"),
        "{}",
        got.stderr
    );
    let missing = work.path().join("nosuch");
    let got = plugins.run(
        "tahoe_runtime_load_avg",
        &[],
        &[("statsfile", missing.to_str().unwrap())],
    );
    assert_eq!(got.code, 1);
    assert!(
        got.stderr.contains("nosuch") && got.stderr.contains("No such file"),
        "{}",
        got.stderr
    );
}

#[test]
fn setup_errors_come_in_the_originals_order() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    // No statsfile: reported first, even for a name that is no graph.
    for name in ["tahoe_runtime_load_avg", "tahoe_bogus"] {
        let got = plugins.run(name, &[], &[]);
        assert_eq!(got.code, 1);
        assert!(
            got.stderr.contains("statsfile is not set"),
            "{name}: {}",
            got.stderr
        );
    }
    // Unknown graph: exit 1 in both modes, even when nothing would be printed.
    let empty = work.path().join("empty.pickle");
    std::fs::write(&empty, b"(dp0\n.").unwrap();
    for args in [&["config"][..], &[][..]] {
        let got = plugins.run(
            "tahoe_bogus",
            args,
            &[("statsfile", empty.to_str().unwrap())],
        );
        assert_eq!(got.code, 1);
        assert!(got.stdout.is_empty());
        assert!(
            got.stderr.contains("unknown graph") && got.stderr.contains("tahoe_runtime_load_avg"),
            "{}",
            got.stderr
        );
    }
    let got = plugins.run("tahoe-stats", &[], &[]);
    assert_eq!(got.code, 1);
    assert!(got.stderr.contains("Valid graphs"), "{}", got.stderr);
    // An empty dict: the header only, nothing in fetch.
    let got = plugins.run(
        "tahoe_runtime_load_avg",
        &["config"],
        &[("statsfile", empty.to_str().unwrap())],
    );
    assert_eq!(got.code, 0);
    assert_eq!(got.out().lines().count(), 4);
    let got = plugins.run(
        "tahoe_runtime_load_avg",
        &[],
        &[("statsfile", empty.to_str().unwrap())],
    );
    assert_eq!((got.code, got.stdout.len()), (0, 0));
}

/// A node without a nickname or stats section: the nodes before it are
/// printed, then exit 1, as the original's crash left it.
#[test]
fn broken_node_leaves_partial_output() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let json = format!(
        r#"{{"aaaa1": {{"timestamp": {now}, "nickname": "good", "stats": {{"counters": {{}}, "stats": {{"load_monitor.avg_load": 1}}}}}},
            "bbbb2": {{"timestamp": {now}, "stats": {{"counters": {{}}, "stats": {{"load_monitor.avg_load": 2}}}}}},
            "cccc3": {{"timestamp": {now}, "nickname": "never", "stats": {{"counters": {{}}, "stats": {{"load_monitor.avg_load": 3}}}}}}}}"#
    );
    let path = work.path().join("stats.json");
    std::fs::write(&path, json).unwrap();
    let got = plugins.run(
        "tahoe_runtime_load_avg",
        &[],
        &[("statsfile", path.to_str().unwrap())],
    );
    assert_eq!(got.code, 1);
    assert_eq!(got.out(), "good_aaaa.value 1\n");
    assert!(
        got.stderr.contains("bbbb2") && got.stderr.contains("nickname"),
        "{}",
        got.stderr
    );
    let no_section = work.path().join("nosection.json");
    std::fs::write(
        &no_section,
        format!(
            r#"{{"aaaa1": {{"timestamp": {now}, "nickname": "n", "stats": {{"stats": {{}}}}}}}}"#
        ),
    )
    .unwrap();
    let got = plugins.run(
        "tahoe_storage_operations_get",
        &["config"],
        &[("statsfile", no_section.to_str().unwrap())],
    );
    assert_eq!(got.code, 1);
    assert_eq!(
        got.out().lines().count(),
        4,
        "the header was printed: {}",
        got.out()
    );
    assert!(got.stderr.contains("'counters'"), "{}", got.stderr);
}

#[test]
fn list_autoconf_and_suggest() {
    if !python() {
        return;
    }
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let list = plugins.run("tahoe-stats", &["--list"], &[]);
    assert_eq!(list.code, 0);
    assert_eq!(
        list.out().lines().count(),
        32,
        "31 Tahoe graphs and stats_gatherer"
    );
    assert!(list.out().contains("tahoe_helper_fetched_bytes"));
    assert!(
        list.out()
            .lines()
            .last()
            .unwrap()
            .starts_with("stats_gatherer ")
    );
    let snap = snapshot(work.path(), &fixture("tahoe/grid.json"), "py2-2");
    let env = [("statsfile", snap.to_str().unwrap())];
    assert_eq!(
        plugins
            .run("tahoe_runtime_load_avg", &["autoconf"], &env)
            .out(),
        "yes\n"
    );
    let no = plugins.run("tahoe_runtime_load_avg", &["autoconf"], &[]);
    assert_eq!(
        (no.code, no.out().starts_with("no (statsfile is not set")),
        (0, true),
        "{}",
        no.out()
    );
    let bad = plugins.run(
        "tahoe_runtime_load_avg",
        &["autoconf"],
        &[("statsfile", "/nonexistent/stats.pickle")],
    );
    assert!(
        bad.out()
            .starts_with("no (/nonexistent/stats.pickle: cannot read"),
        "{}",
        bad.out()
    );
    let suggest = plugins.run("tahoe-stats", &["suggest"], &env).out();
    for g in [
        "tahoe_runtime_load_avg",
        "tahoe_storage_operations_readv",
        "tahoe_files",
        "tahoe_storagespace",
    ] {
        assert!(
            suggest.lines().any(|l| l == g),
            "{g} missing from {suggest}"
        );
    }
    // The grid has no bytes_freed above 0... but 0 counts; consumed is there; dirnodes has no basedir.
    assert!(suggest.lines().any(|l| l == "tahoe_storage_bytes_freed"));
    assert!(
        !suggest
            .lines()
            .any(|l| l == "tahoe_dirnodes" || l == "tahoe_nodememory")
    );
    assert_eq!(
        plugins.run("tahoe_files", &["suggest"], &env).out(),
        suggest
    );
}

/// tahoe_files and tahoe_storagespace without basedir_* variables graph the
/// snapshot's nodes: bucket counts, and consumed (else disk_used) bytes.
#[test]
fn files_and_storagespace_from_the_snapshot() {
    if !python() {
        return;
    }
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let snap = snapshot(work.path(), &fixture("tahoe/grid.json"), "py2-0");
    let env = [("statsfile", snap.to_str().unwrap())];
    let files = plugins.run("tahoe-files", &[], &env);
    assert_eq!(files.out(), "alpha_xfjg.value 17\n");
    let config = plugins.run("tahoe-files", &["config"], &env).out();
    assert!(
        config.starts_with("graph_title Allmydata Tahoe Filecount\n"),
        "{config}"
    );
    assert!(
        config.contains("alpha_xfjg.draw LINE2\nbravo_stale_b3lm.label bravo_stale_b3lm\n"),
        "{config}"
    );
    let space = plugins.run("tahoe-storagespace", &[], &env);
    assert_eq!(
        space.out(),
        "alpha_xfjg.value 123456789012.0\ncaf___cacw.value 4096\n"
    );
}

fn du(path: &Path) -> String {
    let out = Command::new("du")
        .args(["--bytes", "--summarize"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The 2008 per-node scripts, on real directories: share files counted like
/// os.walk, space equal to `du --bytes --summarize`.
#[test]
fn basedir_graphs_read_the_node_directories() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let make_node = |name: &str, shares: &[&str]| {
        let base = work.path().join(name);
        for s in shares {
            let p = base.join("storage/shares").join(s);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![7u8; 1000 + s.len()]).unwrap();
        }
        std::fs::create_dir_all(base.join("storage/shares/incoming/ab/abcd")).unwrap();
        std::fs::write(base.join("storage/shares/incoming/ab/abcd/0"), b"partial").unwrap();
        base
    };
    let n1 = make_node("one", &["aa/aaaa/0", "aa/aaaa/1", "ab/abcd/5", "cd/cdef/2"]);
    let n2 = make_node("two", &["zz/zzzz/9"]);
    // A hard link is counted once by du.
    std::fs::hard_link(
        n2.join("storage/shares/zz/zzzz/9"),
        n2.join("storage/extra-link"),
    )
    .unwrap();
    let env = [
        ("basedir_one", n1.to_str().unwrap()),
        ("basedir_two", n2.to_str().unwrap()),
        ("statsfile", "/unused"),
    ];
    assert_eq!(
        plugins.run("tahoe-files", &[], &env).out(),
        "one.value 4\ntwo.value 1\n"
    );
    assert_eq!(
        plugins.run("tahoe_files", &["config"], &env).out(),
        "graph_title Allmydata Tahoe Filecount\ngraph_vlabel files\ngraph_category tahoe\n\
         graph_info This graph shows the number of files hosted by this node's StorageServer\n\
         one.label one\none.draw LINE2\ntwo.label two\ntwo.draw LINE2\n"
    );
    let space = plugins.run("tahoe-storagespace", &[], &env).out();
    assert_eq!(
        space,
        format!(
            "one.value {}\ntwo.value {}\n",
            du(&n1.join("storage")),
            du(&n2.join("storage"))
        )
    );
    assert_eq!(
        plugins.run("tahoe_sharesperfile", &[], &env).out(),
        "one.value 1.0\ntwo.value 1.0\n"
    );
    let broken = [("basedir_a", "/nonexistent/node")];
    let got = plugins.run("tahoe_storagespace", &[], &broken);
    assert_eq!(got.code, 1);
    assert!(got.stderr.contains("/nonexistent/node"), "{}", got.stderr);
    assert_eq!(
        plugins.run("tahoe_files", &[], &broken).out(),
        "a.value 0\n",
        "os.walk of nothing is 0"
    );
    assert_eq!(
        plugins.run("tahoe_files", &["autoconf"], &broken).out(),
        "no (no storage directory for a)\n"
    );
    // dirnodes: one vdrive server.
    let vdrive = work.path().join("vd/vdrive");
    std::fs::create_dir_all(&vdrive).unwrap();
    for f in ["root", "d1", "d2"] {
        std::fs::write(vdrive.join(f), b"x").unwrap();
    }
    let vd = [(
        "basedir",
        work.path().join("vd").to_str().unwrap().to_string(),
    )];
    let vd: Vec<(&str, &str)> = vd.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        plugins.run("tahoe_dirnodes", &[], &vd).out(),
        "dirnodes.value 2\n"
    );
    let got = plugins.run("tahoe_dirnodes", &["config"], &[]);
    assert_eq!(got.code, 1);
    assert!(got.stderr.contains("basedir is not set"));
}

#[test]
fn nodememory_reads_the_node_process() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let node = work.path().join("node1");
    std::fs::create_dir(&node).unwrap();
    // Modern `tahoe run` writes "PID CREATE_TIME" to running.process.
    std::fs::write(
        node.join("running.process"),
        format!("{} 1700000000.5\n", sleeper.id()),
    )
    .unwrap();
    let gone = work.path().join("node2");
    std::fs::create_dir(&gone).unwrap();
    let env = [
        ("nodememory_n1", node.to_str().unwrap()),
        ("nodememory_n2", gone.to_str().unwrap()),
    ];
    let config = plugins.run("tahoe_nodememory", &["config"], &env).out();
    assert!(
        config.starts_with("graph_title Memory Consumed by Nodes\n"),
        "{config}"
    );
    assert!(config.contains("n1_VmSize.label VmSize used by n1\nn1_VmSize.draw LINE2\nn1_VmRSS.label VmRSS used by n1\nn1_VmRSS.draw LINE1\n"));
    assert!(
        config.ends_with("\n\n"),
        "trailing blank line, as the original printed it"
    );
    let fetch = plugins.run("tahoe_nodememory", &[], &env).out();
    let status = std::fs::read_to_string(format!("/proc/{}/status", sleeper.id())).unwrap();
    let vmsize: u64 = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        fetch.starts_with(&format!(
            "n1_VmSize.value {}\nn1_VmRSS.value ",
            vmsize * 1024
        )),
        "{fetch}"
    );
    assert_eq!(fetch.lines().count(), 2, "no pid file: no values for n2");
    std::fs::write(node.join("running.process"), "garbage\n").unwrap();
    let got = plugins.run("tahoe_nodememory", &[], &env);
    assert_eq!(got.code, 1);
    assert!(got.stderr.contains("not a pid"), "{}", got.stderr);
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

/// The way the README installs it: symlinks in a plugin directory, statsfile
/// from plugin-conf.d, served by our node.
#[test]
fn served_by_our_node() {
    if !python() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        work.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let snap = snapshot(work.path(), &fixture("tahoe/grid.json"), "py2-0");
    std::fs::set_permissions(&snap, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let plugins = work.path().join("plugins");
    let conf = work.path().join("plugin-conf.d");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::create_dir(&conf).unwrap();
    for g in [
        "tahoe_runtime_load_peak",
        "tahoe-files",
        "tahoe_storage_operations_readv",
    ] {
        std::os::unix::fs::symlink(crate::support::bin("tahoe-stats"), plugins.join(g)).unwrap();
    }
    std::fs::write(
        conf.join("tahoe"),
        format!(
            "[tahoe_*]\nenv.statsfile {0}\n[tahoe-*]\nenv.statsfile {0}\n",
            snap.display()
        ),
    )
    .unwrap();
    let node = OurNode::start("allow ^127\\.0\\.0\\.1$", &plugins, &conf);
    let (mut c, _) = node.connect();
    assert_eq!(
        c.line("list"),
        "tahoe-files tahoe_runtime_load_peak tahoe_storage_operations_readv\n"
    );
    let want = std::fs::read_to_string(fixture(
        "tahoe/expected/bytes/tahoe_runtime_load_peak.fetch",
    ))
    .unwrap();
    assert_eq!(c.dot("fetch tahoe_runtime_load_peak"), want + ".\n");
    assert_eq!(c.dot("fetch tahoe-files"), "alpha_xfjg.value 17\n.\n");
    let config = c.dot("config tahoe_storage_operations_readv");
    assert!(config.contains("alpha_xfjg.type DERIVE\n"), "{config}");
}

/// A protocol-2 pickle written opcode by opcode, for the issue 15 inputs
/// (which Python's pickler would write the same way, only larger).
struct Pickle(Vec<u8>);

impl Pickle {
    fn new() -> Pickle {
        Pickle(vec![0x80, 2])
    }

    fn op(&mut self, op: u8) -> &mut Pickle {
        self.0.push(op);
        self
    }

    /// BININT.
    fn int(&mut self, i: i32) -> &mut Pickle {
        self.op(b'J').0.extend_from_slice(&i.to_le_bytes());
        self
    }

    /// BINFLOAT.
    fn float(&mut self, f: f64) -> &mut Pickle {
        self.op(b'G').0.extend_from_slice(&f.to_be_bytes());
        self
    }

    /// BINUNICODE.
    fn text(&mut self, s: &str) -> &mut Pickle {
        self.op(b'X')
            .0
            .extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    /// LONG_BINPUT of the value on top of the stack.
    fn put(&mut self, i: u32) -> &mut Pickle {
        self.op(b'r').0.extend_from_slice(&i.to_le_bytes());
        self
    }

    /// LONG_BINGET.
    fn get(&mut self, i: u32) -> &mut Pickle {
        self.op(b'j').0.extend_from_slice(&i.to_le_bytes());
        self
    }

    /// A dict of `n` entries, each written by `item(self, i)` (key, then
    /// value), in SETITEMS batches of 1000 as Python's pickler writes them.
    fn dict(&mut self, n: usize, mut item: impl FnMut(&mut Pickle, usize)) -> &mut Pickle {
        self.op(b'}');
        for batch in (0..n).collect::<Vec<_>>().chunks(1000) {
            self.op(b'(');
            for &i in batch {
                item(self, i);
            }
            self.op(b'u');
        }
        self
    }

    fn write(&mut self, path: &Path) {
        self.op(b'.');
        std::fs::write(path, &self.0).unwrap();
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Runs `tahoe-stats` over `statsfile` as `name args`, timed.
fn timed(plugins: &Plugins, name: &str, args: &[&str], statsfile: &Path) -> (Run, f64) {
    let start = std::time::Instant::now();
    let run = plugins.run(name, args, &[("statsfile", statsfile.to_str().unwrap())]);
    (run, start.elapsed().as_secs_f64())
}

/// Issue 15: node ids that are not strings (here 100,000 ints, a 600 KB
/// file) were matched against every node before them (17 s in a release
/// build, 250 s in debug); they are looked up by value now.
#[test]
fn issue15_int_node_ids_are_read_in_linear_time() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("stats.pickle");
    let mut p = Pickle::new();
    p.dict(100_000, |p, i| {
        p.int(i as i32).op(b'}');
    });
    p.write(&path);
    assert!(std::fs::metadata(&path).unwrap().len() > 590_000);
    // No timestamp: every node is stale, so fetch prints nothing.
    let (got, secs) = timed(&plugins, "tahoe_runtime_load_avg", &[], &path);
    assert_eq!((got.code, got.out()), (0, String::new()), "{}", got.stderr);
    assert!(secs < 2.0, "100,000 int node ids took {secs:.2} s");
    // suggest lists the nodes once, not once per graph.
    let (got, secs) = timed(&plugins, "tahoe-stats", &["suggest"], &path);
    assert_eq!((got.code, got.out()), (0, String::new()), "{}", got.stderr);
    assert!(
        secs < 2.0,
        "suggest over 100,000 int node ids took {secs:.2} s"
    );
}

/// The stats of 2,000 nodes as one dict shared through the memo (14 MB):
/// the stat a graph wants comes first, so a lookup that scans from the end
/// read all 600,000 entries again for every node (9 s in a release build,
/// 100 s in debug).
fn shared_stats(path: &Path, now: f64) {
    let mut p = Pickle::new();
    p.dict(2000, |p, i| {
        p.text(&format!("node{i}"));
        p.dict(3, |p, field| match field {
            0 => {
                p.text("timestamp").float(now);
            }
            1 => {
                p.text("nickname").text(&format!("n{i}"));
            }
            _ => {
                p.text("stats");
                if i == 0 {
                    p.dict(2, |p, section| {
                        if section == 0 {
                            p.text("counters").dict(0, |_, _| {});
                        } else {
                            p.text("stats").dict(600_000, |p, j| {
                                if j == 0 {
                                    p.text("load_monitor.avg_load").float(0.5);
                                } else {
                                    p.text(&format!("filler.{j:06}")).int(j as i32);
                                }
                            });
                        }
                    })
                    .put(0);
                } else {
                    p.get(0);
                }
            }
        });
    });
    p.write(path);
}

#[test]
fn issue15_stats_shared_by_2000_nodes_are_indexed_once() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("stats.pickle");
    shared_stats(&path, now_secs());
    assert!(std::fs::metadata(&path).unwrap().len() > 13_500_000);
    let want: String = (0..2000)
        .map(|i| format!("n{i}_node.value 0.5\n"))
        .collect();
    let (got, secs) = timed(&plugins, "tahoe_runtime_load_avg", &[], &path);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert!(
        got.out() == want,
        "fetch printed {} lines",
        got.out().lines().count()
    );
    assert!(
        secs < 2.0,
        "2,000 nodes sharing their stats took {secs:.2} s"
    );
    // suggest looks up every graph's stat in every node.
    let (got, secs) = timed(&plugins, "tahoe-stats", &["suggest"], &path);
    assert_eq!(got.out(), "tahoe_runtime_load_avg\n", "{}", got.stderr);
    assert!(
        secs < 2.0,
        "suggest over 2,000 shared stats took {secs:.2} s"
    );
}

/// 2,000 nodes with one fresh timestamp, nickname and stats each, as
/// `field(p, i, name)` writes them: the first node writes the shared values
/// and puts them in the memo (`timestamp` 0, `nickname` 1, `stats` 2), the
/// others get them from there.
fn shared_nodes(path: &Path, mut field: impl FnMut(&mut Pickle, usize, &str)) {
    let mut p = Pickle::new();
    p.dict(2000, |p, i| {
        p.text(&format!("node{i}"));
        p.dict(3, |p, f| {
            let name = ["timestamp", "nickname", "stats"][f];
            p.text(name);
            field(p, i, name);
        });
    });
    p.write(path);
}

/// Issue 15: a nickname the memo shares was smashed into a series name for
/// every node, printed or not (5 s in a release build, 130 s in debug); now
/// only for the nodes printed. 2,000 nodes sharing a 1 MB nickname and
/// without the graph's stat print nothing.
#[test]
fn issue15_shared_nickname_is_only_read_for_printed_nodes() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("stats.pickle");
    let (now, nick) = (now_secs(), "n".repeat(1 << 20));
    shared_nodes(&path, |p, i, field| match (field, i) {
        ("timestamp", _) => {
            p.float(now);
        }
        ("nickname", 0) => {
            p.text(&nick).put(1);
        }
        ("nickname", _) => {
            p.get(1);
        }
        (_, 0) => {
            p.dict(2, |p, s| {
                p.text(["counters", "stats"][s]).dict(0, |_, _| {});
            })
            .put(2);
        }
        _ => {
            p.get(2);
        }
    });
    let (got, secs) = timed(&plugins, "tahoe_runtime_load_avg", &[], &path);
    assert_eq!((got.code, got.out()), (0, String::new()), "{}", got.stderr);
    assert!(secs < 2.0, "a shared 1 MB nickname took {secs:.2} s");
}

/// Issue 15: an integer timestamp of 10 million digits (protocol 0's INT
/// takes any length) shared through the memo was parsed again for every
/// node (10 s); a number that long is infinite (a fresh node) without
/// parsing.
#[test]
fn issue15_shared_long_timestamp_is_not_parsed_per_node() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("stats.pickle");
    let digits = format!("1{}\n", "0".repeat(10_000_000));
    shared_nodes(&path, |p, i, field| match (field, i) {
        ("timestamp", 0) => {
            p.op(b'I').0.extend_from_slice(digits.as_bytes());
            p.put(0);
        }
        ("timestamp", _) => {
            p.get(0);
        }
        ("nickname", _) => {
            p.text(&format!("n{i}"));
        }
        _ => {
            p.dict(2, |p, s| {
                p.text(["counters", "stats"][s]);
                p.dict(s, |p, _| {
                    p.text("load_monitor.avg_load").int(i as i32);
                });
            });
        }
    });
    let want: String = (0..2000)
        .map(|i| format!("n{i}_node.value {i}\n"))
        .collect();
    let (got, secs) = timed(&plugins, "tahoe_runtime_load_avg", &[], &path);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert!(
        got.out() == want,
        "fetch printed {} lines",
        got.out().lines().count()
    );
    assert!(
        secs < 2.0,
        "a shared 10-million-digit timestamp took {secs:.2} s"
    );
}

/// Issue 15: node ids the memo shares, a 1 MB string and a million-digit
/// int (protocol 0's INT), each the key of 50,000 entries: every use hashed
/// the whole id again (25 s in a release build, 600 s in debug); now a long
/// id is found by node once seen.
#[test]
fn issue15_shared_long_node_ids_are_hashed_once() {
    let plugins = Plugins::new();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("stats.pickle");
    let (id, digits) = ("x".repeat(1 << 20), format!("1{}\n", "0".repeat(1 << 20)));
    let mut p = Pickle::new();
    p.dict(100_000, |p, i| {
        match i {
            0 => {
                p.text(&id).put(0);
            }
            1 => {
                p.op(b'I').0.extend_from_slice(digits.as_bytes());
                p.put(1);
            }
            _ => {
                p.get(i as u32 % 2);
            }
        }
        p.op(b'}');
    });
    p.write(&path);
    // Two nodes, both without a timestamp: fetch prints nothing.
    let (got, secs) = timed(&plugins, "tahoe_runtime_load_avg", &[], &path);
    assert_eq!((got.code, got.out()), (0, String::new()), "{}", got.stderr);
    assert!(
        secs < 2.0,
        "100,000 uses of two long node ids took {secs:.2} s"
    );
}
