//! `munin-master serve`'s any-range graphs and data exports over a site
//! polled from our node, whose RRDs are then given two days of known
//! history by the `rrdtool` CLI:
//!
//! - every CSV and JSON export equals `rrdtool xport` of the DEF/CDEFs
//!   written here by hand from Munin's meaning of the graph (a plain
//!   field, a `negative` pair, a `cdef`, a munin.conf `sum` aggregate):
//!   same rows, same times, same values;
//! - any-range PNGs (ours and Munin's `-pinpoint=`) are drawn for the range
//!   asked, at the size and scale asked, cached while the data holds;
//! - hostile ranges and sizes get 400 naming the parameter, unknown graphs
//!   404, and a flood of distinct requests is answered (or refused with
//!   503 and Retry-After) without more processes or a crash.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::http::{Reply, get};
use crate::support::{self, OurNode};

const PLUGIN: &str = r#"#!/bin/sh
if [ "$1" = config ]; then
cat <<'EOF'
graph_title Explore
graph_vlabel units per ${graph_period}
plain.label plain
down.label down
down.graph no
up.label traffic
up.negative down
bits.label bits
bits.cdef bits,8,*
EOF
exit 0
fi
echo plain.value 1
echo down.value 2
echo up.value 3
echo bits.value 4
"#;

/// A child killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        support::terminate(&mut self.0);
    }
}

struct Site {
    dir: tempfile::TempDir,
    _node: OurNode,
    _serve: Killed,
    serve_pid: u32,
    port: u16,
    /// The first history row's time and the last's.
    from: u64,
    to: u64,
}

fn rrdtool(args: &[&str]) -> String {
    let out = Command::new("rrdtool").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "rrdtool {:?}: {}",
        &args[..args.len().min(6)],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dbdir`'s file of `field` of the explore plugin.
fn rrd(db: &Path, field: &str) -> PathBuf {
    db.join("lab")
        .join(format!("web.example-explore-{field}-g.rrd"))
}

/// The step of an RRD.
fn step_of(file: &Path) -> u64 {
    let info = rrdtool(&["info", file.to_str().unwrap()]);
    let line = info.lines().find(|l| l.starts_with("step = ")).unwrap();
    line["step = ".len()..].trim().parse().unwrap()
}

/// History every step of the file from `from`, replacing the update's file (same
/// data source, step and archives: `--template`). `value(i)` is row i's
/// value; `None` is unknown.
fn history(file: &Path, from: u64, rows: u64, value: impl Fn(u64) -> Option<f64>) {
    let step = step_of(file);
    let new = file.with_extension("new");
    rrdtool(&[
        "create",
        new.to_str().unwrap(),
        "--template",
        file.to_str().unwrap(),
        "--start",
        &(from - step).to_string(),
    ]);
    let updates: Vec<String> = (0..rows)
        .map(|i| {
            let t = from + i * step;
            match value(i) {
                Some(v) => format!("{t}:{v}"),
                None => format!("{t}:U"),
            }
        })
        .collect();
    for chunk in updates.chunks(200) {
        let mut args = vec!["update", new.to_str().unwrap()];
        args.extend(chunk.iter().map(String::as_str));
        rrdtool(&args);
    }
    std::fs::rename(&new, file).unwrap();
}

fn site() -> Option<Site> {
    if !support::require(
        "rrdtool (apt-get install rrdtool)",
        Path::new("/usr/bin/rrdtool").exists(),
    ) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("explore"), PLUGIN).unwrap();
    for p in [
        &plugins.join("explore"),
        &plugins,
        &dir.path().to_path_buf(),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    let node = OurNode::start("", &plugins, &dir.path().join("conf.d"));
    let conf = dir.path().join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nrundir {0}/run\nlogdir {0}/log\n\
             graph_strategy cgi\n\
             [lab;web.example]\n address 127.0.0.1\n port {1}\n use_node_name yes\n\
             [lab;Totals]\n update no\n\
             explore_sum.graph_title Sum\n\
             explore_sum.total.label total\n\
             explore_sum.total.sum web.example:explore.plain web.example:explore.bits\n\
             doubled.expr .series('lab;web.example:explore.plain').scale(2).label('twice')\n\
             doubled.graph_title Doubled\n",
            dir.path().display(),
            node.addr.port()
        ),
    )
    .unwrap();
    support::fleet::update_ok(&conf);
    let db = dir.path().join("db");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let step = step_of(&rrd(&db, "plain"));
    let rows = 2 * 86400 / step;
    let from = (now - 2 * 86400 - 3600) / step * step;
    // Known shapes: a wave with gaps, negative values, a ramp.
    history(&rrd(&db, "plain"), from, rows, |i| {
        (i % 37 != 5).then(|| 10.0 + 5.0 * (i as f64 / 20.0).sin())
    });
    history(&rrd(&db, "down"), from, rows, |i| Some(i as f64 * 0.25));
    history(&rrd(&db, "up"), from, rows, |i| {
        Some(-3.5 + (i % 11) as f64)
    });
    history(&rrd(&db, "bits"), from, rows, |i| {
        (!i.is_multiple_of(50)).then_some(1000.0 + i as f64)
    });
    let port = support::real_node::free_port();
    let serve = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["serve", "--port", &port.to_string(), "--config"])
        .arg(&conf)
        .spawn()
        .unwrap();
    let serve_pid = serve.id();
    let serve = Killed(serve);
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "serve did not listen");
    Some(Site {
        dir,
        _node: node,
        _serve: serve,
        serve_pid,
        port,
        from,
        to: from + (rows - 1) * step,
    })
}

/// `rrdtool xport --json` of `elements` over `start..end`, `rows` at most:
/// (first row's time, step, rows of values).
fn xport(
    start: u64,
    end: u64,
    rows: u32,
    elements: &[String],
) -> (u64, u64, Vec<Vec<Option<f64>>>) {
    let mut args = vec![
        "xport".to_string(),
        "--json".into(),
        "--start".into(),
        start.to_string(),
        "--end".into(),
        end.to_string(),
        "--maxrows".into(),
        rows.to_string(),
    ];
    args.extend(elements.iter().cloned());
    let text = rrdtool(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let j: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let data = j["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(serde_json::Value::as_f64)
                .collect()
        })
        .collect();
    (
        j["meta"]["start"].as_u64().unwrap(),
        j["meta"]["step"].as_u64().unwrap(),
        data,
    )
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        // The CLI prints 11 significant digits.
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
        _ => false,
    }
}

/// Checks `base`'s JSON and CSV over `start..end` against librrd's xport
/// of `elements` (whose XPORTs are the expected columns, in order).
fn check_export(
    s: &Site,
    base: &str,
    start: u64,
    end: u64,
    width: u32,
    fields: &[&str],
    elements: &[String],
) {
    // `path|query&`: a base with a query of its own (an expression).
    let (base, extra) = base.split_once('|').unwrap_or((base, ""));
    let q = format!("{extra}start={start}&end={end}&width={width}");
    let r = get(s.port, &format!("/{base}.json?{q}"));
    assert_eq!(
        r.status,
        200,
        "{base}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.headers["content-type"], "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let names: Vec<&str> = j["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    if fields.is_empty() {
        assert_eq!(names.len(), 1, "{base}: one series");
    } else {
        assert_eq!(names, fields, "{base}");
    }
    let (first, step, want) = xport(start, end, width, elements);
    assert_eq!(j["step"].as_u64(), Some(step), "{base}");
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{base}: rows");
    assert!(want.len() > 10, "{base}: {} rows", want.len());
    let mut known = 0;
    for (i, (row, w)) in rows.iter().zip(&want).enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(
            row[0].as_u64(),
            Some(first + i as u64 * step),
            "{base} row {i}"
        );
        for (c, v) in w.iter().enumerate() {
            assert!(
                same(row[c + 1].as_f64(), *v),
                "{base} row {i} col {c}: {} vs {v:?}",
                row[c + 1]
            );
            known += usize::from(v.is_some());
        }
    }
    assert!(
        known > want.len() / 2,
        "{base}: mostly known values ({known})"
    );
    let r = get(s.port, &format!("/{base}.csv?{q}"));
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap();
    if !fields.is_empty() {
        assert_eq!(header, format!("time,{}", fields.join(",")));
    }
    let csv: Vec<&str> = lines.collect();
    assert_eq!(csv.len(), want.len(), "{base}: CSV rows");
    for (i, (line, w)) in csv.iter().zip(&want).enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0].parse::<u64>().unwrap(), first + i as u64 * step);
        for (c, v) in w.iter().enumerate() {
            let got = (!cells[c + 1].is_empty()).then(|| cells[c + 1].parse::<f64>().unwrap());
            assert!(
                same(got, *v),
                "{base} CSV row {i} col {c}: {got:?} vs {v:?}"
            );
        }
    }
}

#[test]
fn exports_equal_librrd_xport_for_plain_negative_cdef_and_aggregate_graphs() {
    let Some(s) = site() else { return };
    let db = s.dir.path().join("db");
    let f = |field: &str| rrd(&db, field).display().to_string();
    // Munin's meaning, written out: plain is its value; `up` is drawn with
    // `down` as its negative (exported as stored); bits is ×8; the sum
    // counts an unknown source as 0.
    let graph = [
        format!("DEF:p={}:42:AVERAGE", f("plain")),
        format!("DEF:u={}:42:AVERAGE", f("up")),
        format!("DEF:d={}:42:AVERAGE", f("down")),
        format!("DEF:b={}:42:AVERAGE", f("bits")),
        "CDEF:b8=b,8,*".to_string(),
        "XPORT:p".into(),
        "XPORT:u".into(),
        "XPORT:d".into(),
        "XPORT:b8".into(),
    ];
    let sum = [
        format!("DEF:p={}:42:AVERAGE", f("plain")),
        format!("DEF:b={}:42:AVERAGE", f("bits")),
        "CDEF:s=p,UN,0,p,IF,b,UN,0,b,IF,+".to_string(),
        "XPORT:s".into(),
    ];
    // The last day at full resolution, both days consolidated to 60 rows,
    // and an odd window.
    for (start, end, width) in [
        (s.to - 86400, s.to, 400),
        (s.from, s.to, 60),
        (s.from + 7777, s.from + 7777 + 33333, 123),
    ] {
        check_export(
            &s,
            "lab/web.example/explore",
            start,
            end,
            width,
            &["plain", "up", "down", "bits"],
            &graph,
        );
        check_export(
            &s,
            "lab/Totals/explore_sum",
            start,
            end,
            width,
            &["total"],
            &sum,
        );
        // An expression graph from munin.conf, and one typed in.
        let doubled = [
            format!("DEF:p={}:42:AVERAGE", f("plain")),
            "CDEF:x=p,2,*".to_string(),
            "XPORT:x".into(),
        ];
        check_export(&s, "lab/Totals/doubled", start, end, width, &[], &doubled);
        let abs = [
            format!("DEF:u={}:42:AVERAGE", f("up")),
            "CDEF:x=u,ABS".to_string(),
            "XPORT:x".into(),
        ];
        let typed = "static/expr|expr=.series(%27web.example:explore.up%27).abs()&";
        check_export(&s, typed, start, end, width, &[], &abs);
    }
}

#[test]
fn any_range_graphs_are_drawn_for_the_range_and_size_asked() {
    let Some(s) = site() else { return };
    let (start, end) = (s.from + 3600, s.from + 3600 + 6 * 3600);
    let ours = get(
        s.port,
        &format!("/lab/web.example/explore.png?start={start}&end={end}&width=500&height=200"),
    );
    assert_eq!(ours.status, 200, "{}", String::from_utf8_lossy(&ours.body));
    assert!(ours.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let h = |r: &Reply, k: &str| -> f64 { r.headers[k].parse().unwrap() };
    assert_eq!(h(&ours, "x-graph-start"), start as f64);
    assert_eq!(h(&ours, "x-graph-end"), end as f64);
    assert_eq!(h(&ours, "x-graph-width"), 500.0);
    assert_eq!(h(&ours, "x-graph-height"), 200.0);
    let width = png_width(&ours.body);
    assert_eq!(f64::from(width), h(&ours, "x-image-width"));
    // Munin's dynazoom URL draws the same graph: the cache's copy.
    let munin = get(
        s.port,
        &format!("/lab/web.example/explore-pinpoint={start},{end}.png?size_x=500&size_y=200"),
    );
    assert_eq!(munin.status, 200);
    assert_eq!(munin.body, ours.body);
    // HiDPI: twice the pixels.
    let hi = get(
        s.port,
        &format!(
            "/lab/web.example/explore.png?start={start}&end={end}&width=500&height=200&scale=2"
        ),
    );
    assert_eq!(hi.status, 200);
    assert_eq!(png_width(&hi.body), 2 * width);
    // A period graph's path with a query is that graph over the range.
    let period = get(
        s.port,
        "/lab/Totals/explore_sum-week.png?start=-3d&width=300",
    );
    assert_eq!(
        period.status,
        200,
        "{}",
        String::from_utf8_lossy(&period.body)
    );
    assert_eq!(h(&period, "x-graph-width"), 300.0);
    // Nothing left behind in the scratch directory.
    let scratch = std::env::temp_dir().join(format!("munin-rs-serve-{}-0", s.serve_pid));
    assert_eq!(std::fs::read_dir(&scratch).map_or(0, |d| d.count()), 0);
    for (path, status, needle) in [
        (
            "/lab/web.example/explore.png?width=99999",
            400,
            "width=99999",
        ),
        (
            "/lab/web.example/explore.png?start=abc",
            400,
            "start=\"abc\"",
        ),
        (
            "/lab/web.example/explore.png?start=-1h&end=-2h",
            400,
            "empty",
        ),
        (
            "/lab/web.example/explore.png?width=4000&height=2000&scale=3",
            400,
            "pixels",
        ),
        ("/lab/web.example/explore-pinpoint=1,2,3.png", 400, "start"),
        (
            "/lab/web.example/nosuch.json?start=-1d",
            404,
            "no such graph",
        ),
        ("/lab/../../etc/passwd.csv", 404, ""),
        ("/lab/web.example/nosuch-pinpoint=1,2.png", 404, ""),
        (
            "/static/expr.png?expr=.series(%27*:explore.up%27).sum(",
            400,
            "^",
        ),
        (
            "/static/expr.csv?expr=.series(%27nohost:x.y%27)",
            400,
            "nohost:x.y",
        ),
        ("/static/expr.json", 400, "expr="),
    ] {
        let r = get(s.port, path);
        assert_eq!(
            r.status,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(String::from_utf8_lossy(&r.body).contains(needle), "{path}");
    }
}

#[test]
fn a_flood_of_ranges_queues_or_is_refused_never_forks_or_fails() {
    let Some(s) = site() else { return };
    let before = support::children_of(s.serve_pid).len();
    let port = s.port;
    let from = s.from;
    let threads: Vec<_> = (0..300u64)
        .map(|i| {
            std::thread::spawn(move || {
                let start = from + i * 60;
                get(
                    port,
                    &format!(
                        "/lab/web.example/explore.png?start={start}&end={}&width=300",
                        start + 7200
                    ),
                )
            })
        })
        .collect();
    let mut by_status = BTreeMap::new();
    for t in threads {
        let r = t.join().unwrap();
        if r.status == 503 {
            assert_eq!(r.headers.get("retry-after").map(String::as_str), Some("1"));
        }
        *by_status.entry(r.status).or_insert(0) += 1;
    }
    let ok = by_status.get(&200).copied().unwrap_or(0);
    assert_eq!(
        ok + by_status.get(&503).copied().unwrap_or(0),
        300,
        "{by_status:?}"
    );
    assert!(ok >= 256, "{by_status:?}");
    assert_eq!(
        support::children_of(s.serve_pid).len(),
        before,
        "no process added"
    );
    assert_eq!(
        get(port, "/lab/web.example/explore.json?start=-1d").status,
        200
    );
}

/// A PNG's width from its IHDR.
fn png_width(png: &[u8]) -> u32 {
    u32::from_be_bytes(png[16..20].try_into().unwrap())
}
