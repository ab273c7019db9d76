//! The `tahoe-stats` program: which graph to draw, in which mode, from what.
//!
//! Invoked under a graph's name (a symlink in the plugin directory) it is
//! that plugin: no argument or `fetch` prints values, `config` the graph
//! definition, `autoconf` `yes` or `no (reason)`, `suggest` the graphs that
//! have data. Invoked as `tahoe-stats` it takes the graph as its first
//! argument, or `--list`, `suggest`, `autoconf` (and `--help`, `--version`).
//!
//! Checks come in the original's order, so the same broken set-up gives the
//! same first complaint: the `statsfile` variable (the first environment
//! variable whose name starts with `statsfile`), then the file, then the
//! graph name. Every failure is one line on stderr and exit status 1; output
//! printed before a failure stays, as it did when the original crashed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::disk;
use super::graphs::{self, GRAPHS, Kind, SnapshotGraph};
use super::render::{self, Mode, Series, find_section, section};
use super::snapshot::Snapshot;
use super::value::Val;

/// Everything the program reads from its surroundings.
pub struct Invocation {
    pub argv0: String,
    pub args: Vec<String>,
    pub env: Vec<(OsString, OsString)>,
    /// Seconds since the epoch, read once.
    pub now: f64,
}

/// What the program prints and its exit status.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub status: u8,
}

impl Outcome {
    fn fail(mut self, why: impl Into<String>) -> Outcome {
        self.stderr = why.into();
        self.status = 1;
        self
    }
}

/// Runs the program.
pub fn run(inv: &Invocation) -> Outcome {
    let name = graphs::normalize(&inv.argv0);
    if name == "tahoe_stats" {
        return run_self(inv);
    }
    if name == "stats_gatherer" {
        return gatherer_graph(inv, inv.args.first().map(String::as_str));
    }
    run_graph(inv, &name, inv.args.first().map(String::as_str))
}

fn run_self(inv: &Invocation) -> Outcome {
    match inv.args.first().map(String::as_str) {
        Some("--list" | "-l") => Outcome {
            stdout: list(),
            ..Outcome::default()
        },
        Some("--help" | "-h") => Outcome {
            stdout: crate::cli::tahoe::HELP.into(),
            ..Outcome::default()
        },
        Some("--version" | "-V") => Outcome {
            stdout: format!("tahoe-stats {}\n", crate::cli::VERSION).into_bytes(),
            ..Outcome::default()
        },
        Some("suggest") => suggest(inv),
        Some("autoconf") => autoconf_snapshot(inv),
        Some("stats_gatherer" | "stats-gatherer") => {
            gatherer_graph(inv, inv.args.get(1).map(String::as_str))
        }
        Some(graph) => run_graph(
            inv,
            &graphs::normalize(graph),
            inv.args.get(1).map(String::as_str),
        ),
        None => Outcome::default().fail(format!("no graph given. {}", valid_names())),
    }
}

fn valid_names() -> String {
    let names: Vec<&str> = GRAPHS.iter().map(|g| g.name).collect();
    format!("Valid graphs: {}", names.join(", "))
}

/// `--list`: the table, one graph per line: name, source, title.
fn list() -> Vec<u8> {
    let mut out = String::new();
    for g in GRAPHS {
        let (source, title) = match &g.kind {
            Kind::Snapshot(s) => (format!("{}/{}", s.section.key(), s.stat), s.title),
            Kind::Files => ("basedir_<NODE> or statsfile".into(), FILES_HEADER[0].1),
            Kind::StorageSpace => ("basedir_<NODE> or statsfile".into(), SPACE_HEADER[0].1),
            Kind::SharesPerFile => ("basedir_<NODE>".into(), SHARES_HEADER[0].1),
            Kind::Dirnodes => ("basedir".into(), DIRNODES_HEADER[0].1),
            Kind::NodeMemory => ("nodememory_<NODE>".into(), MEMORY_HEADER[0].1),
        };
        out.push_str(&format!("{:<38} {:<48} {title}\n", g.name, source));
    }
    out.push_str(&format!(
        "{:<38} {:<48} Stats gatherer activity (multigraph)\n",
        "stats_gatherer", "url (the gatherer's API)"
    ));
    out.into_bytes()
}

/// `stats_gatherer`: the gatherer's own graphs, from its API (`env.url`).
fn gatherer_graph(inv: &Invocation, arg: Option<&str>) -> Outcome {
    let var = |name: &str| {
        inv.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    };
    let multigraph = var("MUNIN_CAP_MULTIGRAPH").as_deref() == Some("1");
    match crate::gatherer::plugin::run(arg, var("url").as_deref(), multigraph) {
        Ok(text) => Outcome {
            stdout: text.into_bytes(),
            ..Outcome::default()
        },
        Err(e) => Outcome::default().fail(e),
    }
}

fn run_graph(inv: &Invocation, name: &str, arg: Option<&str>) -> Outcome {
    match arg {
        Some("autoconf") => return autoconf_graph(inv, name),
        Some("suggest") => return suggest(inv),
        _ => {}
    }
    let mode = if arg == Some("config") {
        Mode::Config
    } else {
        Mode::Fetch
    };
    let basedirs = disk::prefixed_vars(&inv.env, "basedir_");
    match graphs::lookup(name).map(|g| &g.kind) {
        Some(k @ (Kind::Files | Kind::StorageSpace | Kind::SharesPerFile))
            if !basedirs.is_empty() =>
        {
            basedir_graph(k, mode, &basedirs)
        }
        Some(k @ (Kind::Files | Kind::StorageSpace)) if statsfile(&inv.env).is_some() => {
            with_snapshot(inv, |snap, out| {
                snapshot_fallback(k, snap, mode, inv.now, out)
            })
        }
        Some(k @ (Kind::Files | Kind::StorageSpace | Kind::SharesPerFile)) => {
            basedir_graph(k, mode, &[])
        }
        Some(Kind::Dirnodes) => dirnodes_graph(inv, mode),
        Some(Kind::NodeMemory) => memory_graph(inv, mode),
        Some(Kind::Snapshot(s)) => {
            with_snapshot(inv, |snap, out| snapshot_graph(s, snap, mode, inv.now, out))
        }
        // Not a graph: the original found that out only after loading.
        None => with_snapshot(inv, |_, _| {
            Err(format!("unknown graph {name:?}. {}", valid_names()))
        }),
    }
}

/// The statsfile path: the first variable whose name starts with `statsfile`.
pub fn statsfile(env: &[(OsString, OsString)]) -> Option<PathBuf> {
    env.iter()
        .find(|(k, _)| k.as_encoded_bytes().starts_with(b"statsfile"))
        .map(|(_, v)| PathBuf::from(v))
}

fn load(env: &[(OsString, OsString)]) -> Result<Snapshot, String> {
    let path = statsfile(env).ok_or("statsfile is not set (set env.statsfile in plugin-conf.d)")?;
    Snapshot::load(&path).map_err(|e| e.to_string())
}

/// Loads the snapshot, then renders with `draw`.
fn with_snapshot(
    inv: &Invocation,
    draw: impl FnOnce(&Snapshot, &mut Vec<u8>) -> Result<(), String>,
) -> Outcome {
    let snap = match load(&inv.env) {
        Ok(s) => s,
        Err(e) => return Outcome::default().fail(e),
    };
    let mut out = Outcome::default();
    let result = draw(&snap, &mut out.stdout);
    // The process ends right after this: handing a large snapshot's
    // thousands of allocations back one by one would cost more (about a
    // tenth of a 3000-node run) than letting the exit reclaim them.
    std::mem::forget(snap);
    match result {
        Ok(()) => out,
        Err(e) => out.fail(e),
    }
}

fn snapshot_graph(
    g: &SnapshotGraph,
    snap: &Snapshot,
    mode: Mode,
    now: f64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut head = vec![
        ("graph_title", g.title),
        ("graph_vlabel", g.vlabel),
        ("graph_category", g.category),
        ("graph_info", g.info),
    ];
    if g.base_1024 {
        head.push(("graph_args", "--base 1024"));
    }
    let pick = render::picker(|node| Ok(section(node, g.section.key())?.get(g.stat)));
    let series = Series {
        header: head,
        draw: "LINE1",
        derive: g.derive,
        pick: &pick,
    };
    render::render(&series, snap, mode, now, out)
}

const FILES_HEADER: [(&str, &str); 4] = [
    ("graph_title", "Allmydata Tahoe Filecount"),
    ("graph_vlabel", "files"),
    ("graph_category", "tahoe"),
    (
        "graph_info",
        "This graph shows the number of files hosted by this node's StorageServer",
    ),
];
const SPACE_HEADER: [(&str, &str); 4] = [
    ("graph_title", "Allmydata Tahoe Shareholder Space"),
    ("graph_vlabel", "bytes"),
    ("graph_category", "tahoe"),
    (
        "graph_info",
        "This graph shows the space consumed by this node's StorageServer",
    ),
];
const SHARES_HEADER: [(&str, &str); 4] = [
    ("graph_title", "Allmydata Tahoe Shares Per File"),
    ("graph_vlabel", "shares per file"),
    ("graph_category", "tahoe"),
    (
        "graph_info",
        "This graph shows the number of shares present for each file hosted by this node's StorageServer",
    ),
];
const DIRNODES_HEADER: [(&str, &str); 4] = [
    ("graph_title", "Allmydata Tahoe Dirnode Count"),
    ("graph_vlabel", "dirnodes"),
    ("graph_category", "tahoe"),
    (
        "graph_info",
        "This graph shows the number of directory nodes hosted by this vdrive server",
    ),
];
const MEMORY_HEADER: [(&str, &str); 4] = [
    ("graph_title", "Memory Consumed by Nodes"),
    ("graph_vlabel", "bytes"),
    ("graph_category", "Tahoe"),
    (
        "graph_info",
        "This graph shows the memory used by specific processes",
    ),
];

/// The stat a snapshot fallback reads for `tahoe_files`/`tahoe_storagespace`:
/// the bucket count, and for space the shares' size where the node still
/// reports it (`consumed`, before 2008-12), else the disk use of the
/// filesystem holding the storage directory (`disk_used`).
fn fallback_value<'a>(kind: &Kind, node: Val<'a>) -> Result<Option<Val<'a>>, String> {
    let stats = section(node, "stats")?;
    Ok(match kind {
        Kind::Files => stats.get("storage_server.total_bucket_count"),
        _ => stats
            .get("storage_server.consumed")
            .filter(|v| !v.is_none())
            .or_else(|| stats.get("storage_server.disk_used")),
    })
}

fn snapshot_fallback(
    kind: &Kind,
    snap: &Snapshot,
    mode: Mode,
    now: f64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let head = if matches!(kind, Kind::Files) {
        FILES_HEADER
    } else {
        SPACE_HEADER
    };
    let pick = render::picker(|node| fallback_value(kind, node));
    let series = Series {
        header: head.to_vec(),
        draw: "LINE2",
        derive: false,
        pick: &pick,
    };
    render::render(&series, snap, mode, now, out)
}

fn basedir_graph(kind: &Kind, mode: Mode, nodes: &[(String, String)]) -> Outcome {
    let head: &[(&str, &str)] = match kind {
        Kind::Files => &FILES_HEADER,
        Kind::StorageSpace => &SPACE_HEADER,
        _ => &SHARES_HEADER,
    };
    let mut out = Outcome::default();
    if mode == Mode::Config {
        disk::basedir_config(&mut out.stdout, head, nodes);
        return out;
    }
    for (node, dir) in nodes {
        let dir = Path::new(dir);
        let value = match kind {
            Kind::Files => Ok(disk::count_share_files(dir).to_string()),
            Kind::StorageSpace => disk::du_bytes(&dir.join("storage")).map(|b| b.to_string()),
            _ => disk::shares_per_file(dir).map(|v| format!("{v:.1}")),
        };
        match value {
            Ok(v) => out
                .stdout
                .extend_from_slice(format!("{node}.value {v}\n").as_bytes()),
            Err(e) => return out.fail(format!("node {node}: {e}")),
        }
    }
    out
}

fn env_var<'a>(env: &'a [(OsString, OsString)], name: &str) -> Option<&'a OsString> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn dirnodes_graph(inv: &Invocation, mode: Mode) -> Outcome {
    let Some(basedir) = env_var(&inv.env, "basedir") else {
        return Outcome::default().fail("basedir is not set (set env.basedir in plugin-conf.d)");
    };
    let mut out = Outcome::default();
    if mode == Mode::Config {
        render::header(&mut out.stdout, &DIRNODES_HEADER);
        out.stdout
            .extend_from_slice(b"dirnodes.label dirnodes\ndirnodes.draw LINE2\n");
        return out;
    }
    match disk::dirnodes(Path::new(basedir)) {
        Ok(n) => {
            out.stdout
                .extend_from_slice(format!("dirnodes.value {n}\n").as_bytes());
            out
        }
        Err(e) => out.fail(e),
    }
}

fn memory_graph(inv: &Invocation, mode: Mode) -> Outcome {
    let nodes = disk::prefixed_vars(&inv.env, "nodememory_");
    let mut out = Outcome::default();
    // The original read every pid file first, in both modes.
    let mut pids = Vec::new();
    for (node, dir) in &nodes {
        match disk::node_pid(Path::new(dir)) {
            Ok(Some(pid)) => pids.push((node, pid)),
            Ok(None) => {}
            Err(e) => return out.fail(format!("node {node}: {e}")),
        }
    }
    if mode == Mode::Config {
        render::header(&mut out.stdout, &MEMORY_HEADER);
        for (node, _) in &nodes {
            for (field, draw) in disk::MEMORY_FIELDS {
                let line = format!(
                    "{node}_{field}.label {field} used by {node}\n{node}_{field}.draw {draw}\n"
                );
                out.stdout.extend_from_slice(line.as_bytes());
            }
        }
        // The original printed its config with a trailing blank line.
        out.stdout.push(b'\n');
        return out;
    }
    for (node, pid) in pids {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        for (field, bytes) in disk::parse_status(&status) {
            out.stdout
                .extend_from_slice(format!("{node}_{field}.value {bytes}\n").as_bytes());
        }
    }
    out
}

/// `autoconf` for one graph: `yes`, or `no (why)`; always exit 0.
fn autoconf_graph(inv: &Invocation, name: &str) -> Outcome {
    let answer = match graphs::lookup(name).map(|g| &g.kind) {
        None => format!("no (unknown graph {name:?})"),
        Some(Kind::Files | Kind::StorageSpace | Kind::SharesPerFile) => {
            let basedirs = disk::prefixed_vars(&inv.env, "basedir_");
            let missing: Vec<&str> = basedirs
                .iter()
                .filter(|(_, d)| !Path::new(d).join("storage").is_dir())
                .map(|(n, _)| n.as_str())
                .collect();
            if !basedirs.is_empty() && missing.is_empty() {
                "yes".into()
            } else if !missing.is_empty() {
                format!("no (no storage directory for {})", missing.join(", "))
            } else if name != "tahoe_sharesperfile" && statsfile(&inv.env).is_some() {
                snapshot_answer(&inv.env)
            } else {
                "no (no env.basedir_<NODE> and no env.statsfile)".into()
            }
        }
        Some(Kind::Dirnodes) => match env_var(&inv.env, "basedir") {
            Some(d) if Path::new(d).join("vdrive").is_dir() => "yes".into(),
            Some(_) => "no (no vdrive directory in env.basedir)".into(),
            None => "no (env.basedir is not set)".into(),
        },
        Some(Kind::NodeMemory) => {
            if disk::prefixed_vars(&inv.env, "nodememory_").is_empty() {
                "no (no env.nodememory_<NODE> is set)".into()
            } else {
                "yes".into()
            }
        }
        Some(Kind::Snapshot(_)) => snapshot_answer(&inv.env),
    };
    Outcome {
        stdout: format!("{answer}\n").into_bytes(),
        ..Outcome::default()
    }
}

fn snapshot_answer(env: &[(OsString, OsString)]) -> String {
    match load(env) {
        Ok(_) => "yes".into(),
        Err(e) => format!("no ({e})"),
    }
}

fn autoconf_snapshot(inv: &Invocation) -> Outcome {
    Outcome {
        stdout: format!("{}\n", snapshot_answer(&inv.env)).into_bytes(),
        ..Outcome::default()
    }
}

/// `suggest`: the graphs that have data, one name per line.
fn suggest(inv: &Invocation) -> Outcome {
    let snap = load(&inv.env).ok();
    // Listed once for all the graphs: listing costs a hash lookup per node.
    let nodes = snap.as_ref().map(Snapshot::nodes).unwrap_or_default();
    let basedirs = !disk::prefixed_vars(&inv.env, "basedir_").is_empty();
    let any_node = |f: &dyn Fn(Val<'_>) -> bool| nodes.iter().any(|(_, n)| f(*n));
    let has = |v: Option<Val<'_>>| v.is_some_and(|v| !v.is_none());
    let mut out = Outcome::default();
    for g in GRAPHS {
        let data = match &g.kind {
            Kind::Snapshot(s) => any_node(&|n| {
                find_section(n, s.section.key()).is_some_and(|sec| has(sec.get(s.stat)))
            }),
            Kind::Files | Kind::StorageSpace => {
                basedirs || any_node(&|n| fallback_value(&g.kind, n).is_ok_and(has))
            }
            Kind::SharesPerFile => basedirs,
            Kind::Dirnodes => env_var(&inv.env, "basedir").is_some(),
            Kind::NodeMemory => !disk::prefixed_vars(&inv.env, "nodememory_").is_empty(),
        };
        if data {
            out.stdout.extend_from_slice(g.name.as_bytes());
            out.stdout.push(b'\n');
        }
    }
    out
}
