//! The expression language (issue 19) against real librrd: RRD files made
//! with the `rrdtool` CLI (known values, unknown stretches, a DERIVE
//! field, multigraph children), each function compiled against a catalog
//! of them and run by `rrdtool xport` and `rrdtool graph`, and the xport
//! output checked value by value against tests/fixtures/expr/reference.py,
//! which computes every function from `rrdtool fetch` of the same files
//! with its own parser and arithmetic. Then a 200-series sum drawn by
//! `rrdtool graph`, timed.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use munin_rs::master::expr::{Source, compile_str};

use crate::support::{self, require};

/// Munin's 300 s step; the first update is one step after `T0`.
const STEP: u64 = 300;
const T0: u64 = 1_699_999_800;
/// Rows of data: 108 hours.
const ROWS: u64 = 1300;
/// The window drawn: a day, well inside the data, so that a day's
/// offset and the moving averages read stored rows.
const START: u64 = T0 + 400 * STEP;
const END: u64 = START + 86400;

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// rrdtool and python3, or a skip (a failure under `CI=true`).
fn dependencies() -> bool {
    require(
        "rrdtool (apt-get install rrdtool)",
        have("rrdtool", "--version"),
    ) && require("python3", have("python3", "--version"))
}

/// Runs commands through one `rrdtool -` (its pipe mode), which must
/// answer `OK` to each.
fn rrdtool_batch(commands: &[String]) {
    let mut child = Command::new("rrdtool")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for c in commands {
            writeln!(stdin, "{c}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let oks = text.lines().filter(|l| l.starts_with("OK")).count();
    assert!(
        out.status.success() && oks == commands.len() && !text.contains("ERROR"),
        "rrdtool -: {oks} of {} OK\n{text}\n{}",
        commands.len(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A field's RRD: `kind` (GAUGE or DERIVE) with `value(i)` at row `i`
/// (1 to `rows`; `None` is an unknown), as `create` and `update` lines.
fn rrd(
    path: &Path,
    kind: &str,
    rows: u64,
    mut value: impl FnMut(u64) -> Option<f64>,
) -> Vec<String> {
    let mut update = format!("update {}", path.display());
    for i in 1..=rows {
        match value(i) {
            Some(v) => update.push_str(&format!(" {}:{v}", T0 + i * STEP)),
            None => update.push_str(&format!(" {}:U", T0 + i * STEP)),
        }
    }
    vec![
        format!(
            "create {} --start {T0} --step {STEP} DS:42:{kind}:600:U:U RRA:AVERAGE:0.5:1:2000",
            path.display()
        ),
        update,
    ]
}

fn source(dir: &Path, groups: &[&str], host: &str, service: &str, field: &str) -> Source {
    Source {
        groups: groups.iter().map(|g| g.to_string()).collect(),
        host: host.into(),
        service: service.into(),
        field: field.into(),
        label: format!("{field} of {service}"),
        file: dir.join(format!("{host}-{service}-{field}.rrd")),
    }
}

/// The test fields and their files: loads with unknown rows and negative
/// values, a DERIVE counter, a gauge that is often 0, multigraph children.
fn catalog(dir: &Path) -> Vec<Source> {
    let cat = vec![
        source(dir, &["web"], "www1.example.com", "load", "load"),
        source(dir, &["web"], "www2.example.com", "load", "load"),
        source(dir, &["web", "frontend"], "fe1", "load", "load"),
        source(dir, &["db"], "db1", "cpu", "user"),
        source(dir, &["db"], "db1", "cpu", "system"),
        source(dir, &["db"], "db1", "diskstats_iops", "rdio"),
        source(dir, &["db"], "db1", "diskstats_iops.sda", "rdio"),
        source(dir, &["db"], "db1", "diskstats_iops.sdb", "rdio"),
    ];
    let f = |i: u64| i as f64;
    let mut counter = 0u64;
    let user = move |i: u64| {
        counter += (i % 5) * STEP;
        // An unknown now and then: the rate after it is unknown too.
        (!i.is_multiple_of(37)).then_some(counter as f64)
    };
    let mut commands = Vec::new();
    commands.extend(rrd(&cat[0].file, "GAUGE", ROWS, |i| {
        (i % 23 != 0).then(|| 1.0 + f(i % 17) * 0.5)
    }));
    commands.extend(rrd(&cat[1].file, "GAUGE", ROWS, |i| {
        (i % 29 != 5 && !(450..470).contains(&i)).then(|| f(i * 7 % 31) / 4.0)
    }));
    commands.extend(rrd(&cat[2].file, "GAUGE", ROWS, |i| {
        (i % 13 != 0).then(|| f(i % 11) - 3.0)
    }));
    commands.extend(rrd(&cat[3].file, "DERIVE", ROWS, user));
    commands.extend(rrd(&cat[4].file, "GAUGE", ROWS, |i| {
        (i % 19 != 0).then(|| f(i % 3))
    }));
    commands.extend(rrd(&cat[5].file, "GAUGE", ROWS, |_| Some(5.0)));
    commands.extend(rrd(&cat[6].file, "GAUGE", ROWS, |i| Some(f(i % 7) * 10.0)));
    commands.extend(rrd(&cat[7].file, "GAUGE", ROWS, |i| {
        (i % 41 != 1).then(|| 100.0 - f(i % 9))
    }));
    rrdtool_batch(&commands);
    cat
}

/// Each function, alone and combined; see docs/expressions.md.
const CASES: &[&str] = &[
    ".series('*:load.load')",
    ".series('web;*:load.load').sum()",
    ".series('*:load.load').avg()",
    ".series('*:load.load').min()",
    ".series('*:load.load').max()",
    ".series('fe1:load.load').abs()",
    ".series('**;*:load.load').scale(2.5)",
    ".series('www1*:load.load').add(10)",
    ".series('www1*:load.load').subtract(.series('www2*:load.load'))",
    ".series('*:load.load').multiply(-3)",
    ".series('www?.example.com:load.load').divide(4)",
    ".series('db1:cpu.user')",
    ".series('db1:cpu.user').divide(.series('db1:cpu.system'))",
    ".series('*:load.load').add(.series('db1:cpu.user'))",
    ".series('db1:diskstats_iops.*.rdio').subtract(.series('web;*:load.load'))",
    ".series('www2*:load.load').derivative()",
    ".series('db1:cpu.user').derivative()",
    ".series('www2*:load.load').movingaverage(5)",
    ".series('www2*:load.load').movingaverage('1h')",
    ".series('www2*:load.load').movingaverage('1000s')",
    ".series('www1*:load.load').offset('-1d')",
    ".series('www1*:load.load').offset(-3600)",
    ".series('www1*:load.load').offset('+2h')",
    ".series('www1*:load.load').subtract(.series('www1*:load.load').offset('-1d'))",
    ".series('www2*:load.load').offset('-1h').movingaverage(4)",
    ".series('www1*:load.load').if(gt, 5, null, unknown)",
    ".series('fe1:load.load').if(eq, 0, -1, null)",
    ".series('fe1:load.load').if(ne, 0, 1, 0)",
    ".series('www1*:load.load').if(le, .series('www2*:load.load'), 1, .series('fe1:load.load'))",
    ".series('*:load.load').if(lt, 2, .series('db1:cpu.system'), 2)",
    ".series('*:load.load').if(ge, .series('web;*;*:load.load'), unknown, null)",
    ".series('db1:diskstats_iops.*.rdio').sum()",
    ".series('db1:*.rdio')",
    ".series('*:load.load').derivative().movingaverage(3).sum().offset('-1d')",
    ".series('*:load.load').abs().max().movingaverage(2).scale(0.5).offset(-600)",
    ".series('web;*:load.load').label('{host}').color('#ff0000').lines(2).stack(),\n\
     .series('fe1:load.load').bars().yaxis(1, -10, 10, 'load'),\n\
     .series('www1*:load.load').yaxis(2, 0, 100, 'right').label('r: {label}')",
];

/// A row of `xport`: its time and each series' value (`None`: unknown).
type Row = (u64, Vec<Option<f64>>);

/// `rrdtool xport --json` of `args` over the window: legend and rows.
fn xport(args: &[String]) -> (Vec<String>, Vec<Row>) {
    let out = Command::new("rrdtool")
        .args(["xport", "--json", "--step", &STEP.to_string()])
        .args(["--start", &START.to_string(), "--end", &END.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rrdtool xport {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let meta = &json["meta"];
    let (start, step) = (
        meta["start"].as_u64().unwrap(),
        meta["step"].as_u64().unwrap(),
    );
    assert_eq!(step, STEP);
    let legend = meta["legend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let rows = json["data"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(k, row)| {
            let values = row.as_array().unwrap().iter().map(|v| v.as_f64()).collect();
            (start + k as u64 * step, values)
        })
        .collect();
    (legend, rows)
}

/// `rrdtool graph` of `args` over the window into `png`; its run time.
fn graph(png: &Path, args: &[String]) -> Duration {
    let began = Instant::now();
    let out = Command::new("rrdtool")
        .arg("graph")
        .arg(png)
        .args(["--start", &START.to_string(), "--end", &END.to_string()])
        .args(["--width", "800", "--height", "300", "--imgformat", "PNG"])
        .args(args)
        .output()
        .unwrap();
    let took = began.elapsed();
    assert!(
        out.status.success(),
        "rrdtool graph {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    took
}

/// What reference.py computes for each case: per case, values by time.
fn reference(catalog: &[Source]) -> Vec<HashMap<String, Vec<Option<f64>>>> {
    let request = serde_json::json!({
        "step": STEP,
        "first": T0,
        "last": T0 + ROWS * STEP,
        "catalog": catalog.iter().map(|s| serde_json::json!({
            "groups": s.groups, "host": s.host, "service": s.service,
            "field": s.field, "file": s.file,
        })).collect::<Vec<_>>(),
        "cases": CASES,
    });
    let mut child = Command::new("python3")
        .arg(support::stage::source_fixture("expr/reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "reference.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 + 1e-9 * a.abs().max(b.abs())
}

#[test]
fn functions_match_the_reference() {
    if !dependencies() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog(dir.path());
    let expected = reference(&cat);
    let mut failures = Vec::new();
    for (case, want) in CASES.iter().zip(&expected) {
        let compiled =
            compile_str(case, &cat, START, END).unwrap_or_else(|e| panic!("{case}:\n{e}"));
        // librrd takes the same elements for the picture.
        graph(&dir.path().join("case.png"), &compiled.graph_args());
        let (legend, rows) = xport(&compiled.xport_args());
        assert!(rows.len() >= 280, "{case}: {} rows", rows.len());
        let (mut known, mut unknown) = (0, 0);
        for (t, got) in &rows {
            let want = &want[&t.to_string()];
            assert_eq!(got.len(), want.len(), "{case}: series at {t}");
            assert_eq!(legend.len(), want.len(), "{case}: legend");
            for (col, (g, w)) in got.iter().zip(want).enumerate() {
                match (g, w) {
                    (Some(g), Some(w)) if close(*g, *w) => known += 1,
                    (None, None) => unknown += 1,
                    _ => failures.push(format!(
                        "{case}: series {col} at {t}: librrd {g:?}, reference {w:?}"
                    )),
                }
            }
        }
        assert!(known > 100, "{case}: only {known} known values");
        eprintln!("{case}: {known} values and {unknown} unknowns agree");
    }
    assert!(
        failures.is_empty(),
        "{} values differ:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn labels_and_exports_of_presentation_functions() {
    if !dependencies() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog(dir.path());
    let c = compile_str(CASES[CASES.len() - 1], &cat, START, END).unwrap();
    let (legend, _) = xport(&c.xport_args());
    assert_eq!(
        legend,
        [
            "www1.example.com",
            "www2.example.com",
            "fe1 load.load",
            "r: load of load"
        ]
    );
    assert_eq!(
        c.options,
        [
            "--lower-limit",
            "-10",
            "--upper-limit",
            "10",
            "--rigid",
            "--vertical-label",
            "load",
            "--right-axis",
            "5:50",
            "--right-axis-label",
            "right"
        ]
    );
}

#[test]
fn errors_name_the_selection() {
    let cat = catalog_without_files();
    let e = compile_str(
        ".series('*:load.load').add(.series('db2:cpu.user'))",
        &cat,
        START,
        END,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "line 1, column 28: selection `db2:cpu.user` matches no series\n  \
         .series('*:load.load').add(.series('db2:cpu.user'))\n                             ^"
    );
}

fn catalog_without_files() -> Vec<Source> {
    let dir = PathBuf::from("/nonexistent");
    vec![
        source(&dir, &["web"], "www1.example.com", "load", "load"),
        source(&dir, &["db"], "db1", "cpu", "user"),
    ]
}

/// The sum of 200 fields drawn by `rrdtool graph`: under a second.
#[test]
fn sum_of_200_series_draws_quickly() {
    if !dependencies() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cat: Vec<Source> = (0..200)
        .map(|h| {
            source(
                dir.path(),
                &["perf"],
                &format!("node{h:03}"),
                "load",
                "load",
            )
        })
        .collect();
    // Field h holds h (unknown every 50th row): the sum is 19900 less
    // what is unknown.
    let commands: Vec<String> = cat
        .iter()
        .enumerate()
        .flat_map(|(h, s)| {
            rrd(&s.file, "GAUGE", 700, move |i| {
                (i % 50 != h as u64 % 50).then_some(h as f64)
            })
        })
        .collect();
    rrdtool_batch(&commands);
    let c = compile_str(".series('*:load.load').sum()", &cat, START, END).unwrap();
    assert_eq!(c.defs.len(), 201);
    let (_, rows) = xport(&c.xport_args());
    for (t, v) in &rows {
        let i = (t - T0) / STEP;
        let missing: u64 = (0..200u64).filter(|h| i % 50 == h % 50).sum();
        assert_eq!(v[0], Some(19900.0 - missing as f64), "at {t}");
    }
    let png = dir.path().join("sum200.png");
    let times: Vec<Duration> = (0..3).map(|_| graph(&png, &c.graph_args())).collect();
    let best = times.iter().min().unwrap();
    eprintln!("200-series sum, rrdtool graph 800x300 of a day: {times:?} (best {best:?})");
    assert!(*best < Duration::from_secs(1), "{times:?}");
}
