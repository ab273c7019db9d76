//! Issue 18: every binary's `--version` names it, the Cargo version and the
//! git commit; every `--help` (and each subcommand's) fits one screen of
//! 24 lines and 80 columns; the man pages' texts name only options that
//! exist.
//!
//! The man pages and completions themselves are made by
//! `examples/gen-docs.rs` (which exits non-zero on any error), not run
//! here: it would need a second cargo build inside the test.
//! [`manuals_describe_only_existing_options`] checks the one thing it can
//! trip on that the compiler does not.

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use munin_rs::cli::{self, Manual};

/// The binaries, by name.
const BINARIES: &[(&str, &str)] = &[
    ("munin-node", env!("CARGO_BIN_EXE_munin-node")),
    ("munin-run", env!("CARGO_BIN_EXE_munin-run")),
    ("munin-plugins", env!("CARGO_BIN_EXE_munin-plugins")),
    ("tahoe-stats", env!("CARGO_BIN_EXE_tahoe-stats")),
    ("stats-gatherer", env!("CARGO_BIN_EXE_stats-gatherer")),
    ("munin-master", env!("CARGO_BIN_EXE_munin-master")),
    ("munin-fleet", env!("CARGO_BIN_EXE_munin-fleet")),
    ("munin-async", env!("CARGO_BIN_EXE_munin-async")),
    ("munin-asyncd", env!("CARGO_BIN_EXE_munin-asyncd")),
    (
        "munin-node-configure",
        env!("CARGO_BIN_EXE_munin-node-configure"),
    ),
];

/// Each binary's clap definition (for the hand-parsed ones, the one that
/// describes them), with its manual.
fn commands() -> Vec<(clap::Command, &'static Manual)> {
    vec![
        (cli::node::Cli::command(), &cli::node::MANUAL),
        (cli::run::Cli::command(), &cli::run::MANUAL),
        (cli::plugins::command(), &cli::plugins::MANUAL),
        (cli::tahoe::command(), &cli::tahoe::MANUAL),
        (cli::gatherer::Cli::command(), &cli::gatherer::MANUAL),
        (cli::master::Cli::command(), &cli::master::MANUAL),
        (cli::fleet::Cli::command(), &cli::fleet::MANUAL),
        (
            cli::async_client::Cli::command(),
            &cli::async_client::MANUAL,
        ),
        (cli::asyncd::Cli::command(), &cli::asyncd::MANUAL),
        (
            munin_rs::configure::cli::Cli::command(),
            &munin_rs::configure::cli::MANUAL,
        ),
    ]
}

fn run(exe: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(exe).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_binary_says_its_version_and_commit() {
    let commit = env!("MUNIN_RS_COMMIT");
    assert!(
        !commit.is_empty() && !commit.contains(char::is_whitespace),
        "{commit:?}"
    );
    // Built in a git checkout without an override: the short hash of HEAD
    // (build.rs reruns when HEAD moves, so the build the test runs on has
    // the current one).
    let root = env!("CARGO_MANIFEST_DIR");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(head) = head
        && Path::new(root).join(".git").exists()
        && std::env::var_os("MUNIN_RS_COMMIT").is_none()
    {
        assert_eq!(commit, head, "the commit of the build is not HEAD's");
    }
    let want_version = format!("{} (commit {commit})", env!("CARGO_PKG_VERSION"));
    assert_eq!(cli::VERSION, want_version);
    for (name, exe) in BINARIES {
        for flag in ["--version", "-V"] {
            let (code, out) = run(exe, &[flag]);
            assert_eq!(code, 0, "{name} {flag}");
            assert_eq!(out, format!("{name} {want_version}\n"), "{name} {flag}");
        }
    }
}

/// Lines and widest line of a help text.
fn size(text: &str) -> (usize, usize) {
    let lines = text.lines().count();
    let width = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    (lines, width)
}

fn assert_fits(what: &str, code: i32, text: &str) {
    assert_eq!(code, 0, "{what}");
    let (lines, width) = size(text);
    assert!(lines > 0, "{what}: no help");
    assert!(lines <= 24, "{what}: {lines} lines\n{text}");
    assert!(width <= 80, "{what}: {width} columns\n{text}");
}

#[test]
fn every_help_fits_one_screen() {
    let commands = commands();
    for (name, exe) in BINARIES {
        for flag in ["--help", "-h"] {
            let (code, out) = run(exe, &[flag]);
            assert_fits(&format!("{name} {flag}"), code, &out);
        }
        let (cmd, _) = commands
            .iter()
            .find(|(c, _)| c.get_name() == *name)
            .unwrap_or_else(|| panic!("no clap command for {name}"));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let sub = sub.get_name();
            for flag in ["--help", "-h"] {
                let (code, out) = run(exe, &[sub, flag]);
                assert_fits(&format!("{name} {sub} {flag}"), code, &out);
            }
        }
    }
}

#[test]
fn master_has_the_subcommands_its_manual_and_test_expect() {
    let cmd = cli::master::Cli::command();
    let subs: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    assert_eq!(
        subs,
        ["update", "poll", "limits", "check", "html", "cron", "serve"]
    );
}

#[test]
fn hand_parsed_help_names_every_option() {
    let pairs = [
        (
            env!("CARGO_BIN_EXE_munin-plugins"),
            cli::plugins::HELP,
            cli::plugins::command(),
        ),
        (
            env!("CARGO_BIN_EXE_tahoe-stats"),
            cli::tahoe::HELP,
            cli::tahoe::command(),
        ),
    ];
    for (exe, help, cmd) in pairs {
        assert_eq!(run(exe, &["--help"]), (0, help.to_string()));
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(help.contains(&format!("--{long}")), "--{long}:\n{help}");
            }
        }
    }
}

/// Called under a plugin's name, `--version` is the plugin's argument, as
/// every other argument is: no version line.
#[test]
fn plugin_names_keep_their_arguments() {
    let dir = tempfile::tempdir().unwrap();
    for (link, exe) in [
        ("uptime", env!("CARGO_BIN_EXE_munin-plugins")),
        ("tahoe_files", env!("CARGO_BIN_EXE_tahoe-stats")),
    ] {
        let path = dir.path().join(link);
        std::os::unix::fs::symlink(exe, &path).unwrap();
        for flag in ["--version", "-V", "--help"] {
            let out = Command::new(&path)
                .arg(flag)
                .env_remove("statsfile")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(!stdout.contains(cli::VERSION), "{link} {flag}: {stdout}");
            assert!(!stdout.contains("usage:"), "{link} {flag}: {stdout}");
        }
    }
}

/// What gen-docs refuses: a manual describing an option or subcommand the
/// command does not have, or a subcommand without a manual.
#[test]
fn manuals_describe_only_existing_options() {
    fn check(cmd: &clap::Command, manual: &Manual, what: &str) {
        for (id, _) in manual.options {
            assert!(
                cmd.get_arguments().any(|a| a.get_id() == id),
                "{what}: the manual describes {id:?}, which is no option"
            );
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let m = manual
                .subcommands
                .iter()
                .find(|(n, _)| *n == sub.get_name())
                .unwrap_or_else(|| panic!("{what} {}: no manual", sub.get_name()));
            check(sub, m.1, &format!("{what} {}", sub.get_name()));
        }
        for (name, _) in manual.subcommands {
            assert!(
                cmd.get_subcommands().any(|s| s.get_name() == *name),
                "{what}: the manual has a page for {name:?}, which is no subcommand"
            );
        }
    }
    for (cmd, manual) in commands() {
        // As gen-docs: no page for clap's `help` subcommand.
        let mut cmd = cmd.disable_help_subcommand(true);
        cmd.build();
        let name = cmd.get_name().to_string();
        check(&cmd, manual, &name);
        assert!(!manual.description.is_empty(), "{name}");
    }
}
