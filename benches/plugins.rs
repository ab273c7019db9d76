//! Time of one in-process `fetch` (and `config`) of every built-in plugin
//! on this machine, as our node runs them: median and 90th percentile of
//! `RUNS` runs each, in microseconds. `cargo bench --bench plugins`.
//!
//! diskstats runs with a state file, as under the node, so each run reads
//! and rewrites it.

use std::time::Instant;

use munin_rs::plugins::{BUILTIN, Context, Env, Mode, run};
use munin_rs::proc::ProcRoot;

const RUNS: usize = 301;

fn main() {
    let root = ProcRoot::system();
    let dir = std::env::temp_dir().join(format!("munin-plugins-bench.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = Env(vec![
        ("MUNIN_CAP_MULTIGRAPH".into(), "1".into()),
        ("MUNIN_PLUGSTATE".into(), dir.display().to_string()),
        (
            "MUNIN_STATEFILE".into(),
            dir.join("diskstats-127.0.0.1").display().to_string(),
        ),
    ]);
    let iface = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "lo")
        .min()
        .unwrap_or_else(|| "lo".into());
    println!(
        "{:<12} {:>12} {:>12} {:>12}",
        "plugin", "fetch p50", "fetch p90", "config p50"
    );
    let mut worst = 0.0f64;
    for p in BUILTIN {
        let arg = if p.name().ends_with('_') {
            iface.as_str()
        } else {
            ""
        };
        let cx = Context {
            root: &root,
            arg,
            env: &env,
        };
        let time = |mode: Mode| {
            let mut t: Vec<f64> = (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    let out = run(*p, mode, &cx);
                    let us = start.elapsed().as_secs_f64() * 1e6;
                    assert!(out.is_ok(), "{} {mode:?}: {out:?}", p.name());
                    us
                })
                .collect();
            t.sort_by(f64::total_cmp);
            (t[RUNS / 2], t[RUNS * 9 / 10])
        };
        let (f50, f90) = time(Mode::Fetch);
        let (c50, _) = time(Mode::Config);
        worst = worst.max(f50);
        println!(
            "{:<12} {:>9.0} µs {:>9.0} µs {:>9.0} µs",
            format!("{}{arg}", p.name()),
            f50,
            f90,
            c50
        );
    }
    println!("slowest fetch (median): {worst:.0} µs");
    let _ = std::fs::remove_dir_all(&dir);
}
