//! The fixture matrix: every `munin-plugins` plugin in every mode against
//! every kernel snapshot of `tests/fixtures/proc/` (README.md there says
//! which are captured and which reconstructed) and every damaged variant,
//! compared with the golden output in the snapshot's `expected/`.
//!
//! Beyond the golden files, each run is checked for what must hold on any
//! kernel: no panic, well-formed `.value` lines, every fetched field
//! declared in `config`, and on damaged input an error that names the file.
//! `UPDATE_EXPECT=1` rewrites the golden files (review the diff).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::builtin_plugins;
// The clone's own files: run as root, and UPDATE_EXPECT rewrites them.
use crate::support::stage::source_fixture;

const BIN: &str = env!("CARGO_BIN_EXE_munin-plugins");

/// Snapshot directories: the kernels, then the variants.
fn snapshots() -> Vec<PathBuf> {
    let base = source_fixture("proc");
    let mut out = Vec::new();
    for dir in [base.clone(), base.join("variants")] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("time").exists())
            .collect();
        v.sort();
        out.extend(v);
    }
    out
}

/// The interfaces of a snapshot (of its base, for a damaged variant).
fn interfaces(snapshot: &Path) -> Vec<String> {
    let base = match std::fs::read_to_string(snapshot.join("BASE")) {
        Ok(b) => source_fixture("proc").join(b.trim()),
        Err(_) => snapshot.to_path_buf(),
    };
    let mut v: Vec<String> = std::fs::read_dir(base.join("sys/class/net"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run(snapshot: &Path, state: &Path, name: &str, mode: &str) -> Run {
    let out = Command::new(BIN)
        .args(["--root".as_ref(), snapshot.as_os_str()])
        .args([name, mode])
        .env_clear()
        .env("MUNIN_CAP_MULTIGRAPH", "1")
        .env("MUNIN_STATEFILE", state)
        .env("MUNIN_PLUGSTATE", state.parent().unwrap())
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// Checks that hold on any input; returns the problems found.
fn invariants(name: &str, config: &Run, fetch: &Run, damaged: bool) -> Vec<String> {
    let mut problems = Vec::new();
    for (mode, r) in [("config", config), ("fetch", fetch)] {
        if r.code == Some(101) || r.stderr.contains("panicked") {
            problems.push(format!("{name} {mode} panicked: {}", r.stderr));
        }
        if r.code != Some(0) && !r.stderr.contains(name) {
            problems.push(format!(
                "{name} {mode}: error does not name the plugin: {:?}",
                r.stderr
            ));
        }
        if r.code != Some(0) && r.stderr.trim().is_empty() {
            problems.push(format!("{name} {mode}: failed silently"));
        }
    }
    if !damaged {
        for (mode, r) in [("config", config), ("fetch", fetch)] {
            if r.code != Some(0) {
                problems.push(format!(
                    "{name} {mode} failed on a sound snapshot: {}",
                    r.stderr
                ));
            }
        }
    }
    if fetch.code != Some(0) {
        return problems;
    }
    // Fields per multigraph section, as declared and as fetched.
    let declared = |text: &str| -> Vec<(String, String)> {
        let mut graph = String::new();
        let mut v = Vec::new();
        for l in text.lines() {
            if let Some(g) = l.strip_prefix("multigraph ") {
                graph = g.to_string();
            } else if let Some((f, _)) = l.split_once(".label ") {
                v.push((graph.clone(), f.to_string()));
            }
        }
        v
    };
    let labels = declared(&config.stdout);
    let mut graph = String::new();
    for l in fetch.stdout.lines() {
        if let Some(g) = l.strip_prefix("multigraph ") {
            graph = g.to_string();
            continue;
        }
        if l.is_empty() {
            continue;
        }
        let Some((f, v)) = l.split_once(".value ") else {
            problems.push(format!("{name} fetch: not a value line: {l:?}"));
            continue;
        };
        if v != "U" && v.parse::<f64>().is_err() {
            problems.push(format!("{name} fetch: bad value {l:?}"));
        }
        if config.code == Some(0) && !labels.contains(&(graph.clone(), f.to_string())) {
            problems.push(format!("{name} fetch: {graph}/{f} not in config"));
        }
    }
    problems
}

#[test]
fn every_plugin_on_every_kernel_matches_its_golden_output() {
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let plain = builtin_plugins();
    let mut problems = Vec::new();
    let mut runs = 0;
    for snap in snapshots() {
        let damaged = snap.parent().unwrap().ends_with("variants");
        let mut names: Vec<String> = plain
            .iter()
            .filter(|n| !n.ends_with('_'))
            .cloned()
            .collect();
        for i in interfaces(&snap) {
            names.push(format!("if_{i}"));
            names.push(format!("if_err_{i}"));
        }
        let expected_dir = snap.join("expected");
        if update {
            let _ = std::fs::remove_dir_all(&expected_dir);
            std::fs::create_dir_all(&expected_dir).unwrap();
        }
        let shown = snap.display().to_string();
        for name in &names {
            let tmp = tempfile::tempdir().unwrap();
            let state = tmp.path().join("state");
            if let Ok(s) = std::fs::read(snap.join("state/diskstats")) {
                std::fs::write(&state, s).unwrap();
            }
            let mut transcript = String::new();
            let mut by_mode = Vec::new();
            for mode in ["autoconf", "suggest", "config", "fetch"] {
                let r = run(&snap, &state, name, mode);
                runs += 1;
                transcript.push_str(&format!("$ munin-plugins {name} {mode}\n{}", r.stdout));
                if !r.stderr.is_empty() {
                    for l in r.stderr.lines() {
                        transcript.push_str(&format!("stderr: {l}\n"));
                    }
                }
                transcript.push_str(&format!("[exit {:?}]\n", r.code));
                by_mode.push(r);
            }
            let transcript = transcript.replace(&shown, "$SNAPSHOT");
            problems.extend(
                invariants(name, &by_mode[2], &by_mode[3], damaged)
                    .into_iter()
                    .map(|p| format!("{}: {p}", snap.display())),
            );
            let file = expected_dir.join(name);
            if update {
                std::fs::write(&file, &transcript).unwrap();
            } else {
                match std::fs::read_to_string(&file) {
                    Ok(want) if want == transcript => {}
                    Ok(want) => problems.push(format!(
                        "{}: differs from the golden output\n--- want\n{want}--- got\n{transcript}",
                        file.display()
                    )),
                    Err(e) => problems.push(format!(
                        "{}: {e} (UPDATE_EXPECT=1 writes it)",
                        file.display()
                    )),
                }
            }
        }
    }
    assert!(runs > 400, "only {runs} runs: fixtures missing?");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
