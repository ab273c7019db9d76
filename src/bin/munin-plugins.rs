//! `munin-plugins`: Munin's core system plugins in one program, chosen by the
//! name it is called by (symlink it as `cpu`, `if_eth0`, ...), or run as
//! `munin-plugins NAME [config|fetch|autoconf|suggest]`, or as a Nagios
//! check with `--check`. See README.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::time::Duration;

use munin_rs::cli::plugins::HELP;
use munin_rs::config::plugin_conf::PluginConf;
use munin_rs::plugins::{self, Autoconf, BUILTIN, Context, Env, Mode, check};
use munin_rs::proc::ProcRoot;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = args.remove(0);
    let env = Env::from_process();
    let mut root = plugins::root_from_env(&env);
    if let Some(i) = args.iter().position(|a| a == "--root") {
        let Some(dir) = args.get(i + 1).cloned() else {
            eprintln!("munin-plugins: --root needs a directory");
            return ExitCode::FAILURE;
        };
        root = ProcRoot::snapshot(Path::new(&dir));
        args.drain(i..i + 2);
    }
    let sconfdir = match take_option(&mut args, "--sconfdir") {
        Ok(dir) => dir.map(PathBuf::from),
        Err(e) => {
            eprintln!("munin-plugins: {e}");
            return ExitCode::FAILURE;
        }
    };
    let check = take_flag(&mut args, "--check");
    let name = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if check {
        let plugin = if name == "munin-plugins" || name == "munin_plugins" {
            args.first().cloned().unwrap_or_default()
        } else {
            name
        };
        return run_check(&plugin, &root, env, sconfdir.as_deref());
    }
    if name == "munin-plugins" || name == "munin_plugins" {
        return run_self(&args, &root, &env, &argv0);
    }
    run_plugin(&name, args.first().map(String::as_str), &root, &env)
}

/// Removes `flag` from `args`; whether it was there.
fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let at = args.iter().position(|a| a == flag);
    if let Some(i) = at {
        args.remove(i);
    }
    at.is_some()
}

/// Removes `option VALUE` from `args`.
fn take_option(args: &mut Vec<String>, option: &str) -> Result<Option<String>, String> {
    let Some(i) = args.iter().position(|a| a == option) else {
        return Ok(None);
    };
    let Some(value) = args.get(i + 1).cloned() else {
        return Err(format!("{option} needs a value"));
    };
    args.drain(i..i + 2);
    Ok(Some(value))
}

/// Check mode: the plugin's values against its limits, as a Nagios plugin.
fn run_check(name: &str, root: &ProcRoot, mut env: Env, sconfdir: Option<&Path>) -> ExitCode {
    let Some((plugin, wildcard)) = plugins::lookup(name) else {
        println!("UNKNOWN: no plugin called {name:?}");
        return ExitCode::from(3);
    };
    let default = Path::new("/etc/munin/plugin-conf.d");
    let dir = sconfdir.or_else(|| default.is_dir().then_some(default));
    if let Some(dir) = dir {
        let (conf, diags) = PluginConf::load_dir(dir, &[]);
        for d in diags {
            eprintln!("munin-plugins: {d}");
        }
        env.0.extend(conf.resolve(name).env);
    }
    // Check runs have no munin-node to give them a state file (diskstats).
    let scratch = tempfile_dir();
    if env.get("MUNIN_STATEFILE").is_none()
        && let Some(dir) = &scratch
    {
        env.0.push((
            "MUNIN_STATEFILE".into(),
            dir.join("state").display().to_string(),
        ));
    }
    if env.get("MUNIN_CAP_MULTIGRAPH").is_none() {
        env.0.push(("MUNIN_CAP_MULTIGRAPH".into(), "1".into()));
    }
    let cx = Context {
        root,
        arg: wildcard,
        env: &env,
    };
    let (status, line) = check::check(plugin, &cx, Duration::from_secs(1));
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    println!("{line}");
    ExitCode::from(status.exit_code())
}

/// A private directory for one check run's scratch state: created new
/// (never an existing one another user could have planted), mode 0700.
fn tempfile_dir() -> Option<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "munin-plugins-check.{}.{nanos}.{n}",
            std::process::id()
        ));
        if std::fs::DirBuilder::new().mode(0o700).create(&dir).is_ok() {
            return Some(dir);
        }
    }
    // No state then: diskstats prints nothing and its check says UNKNOWN.
    None
}

fn run_self(args: &[String], root: &ProcRoot, env: &Env, argv0: &str) -> ExitCode {
    // Choosing plugins for a munin-node, which always offers multigraph.
    let mut node_env = env.clone();
    if node_env.get("MUNIN_CAP_MULTIGRAPH").is_none() {
        node_env.0.push(("MUNIN_CAP_MULTIGRAPH".into(), "1".into()));
    }
    let env = &node_env;
    match args.first().map(String::as_str) {
        None | Some("--help" | "-h") => {
            print!("{HELP}");
            if args.is_empty() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Some("--version" | "-V") => {
            println!("munin-plugins {}", munin_rs::cli::VERSION);
            ExitCode::SUCCESS
        }
        Some("--list") => {
            for p in BUILTIN {
                let cx = Context { root, arg: "", env };
                let kind = if p.name().ends_with('_') {
                    "wildcard"
                } else {
                    "plain"
                };
                let auto = match p.autoconf(&cx) {
                    Autoconf::Yes => "yes".to_string(),
                    Autoconf::No(why) => format!("no ({why})"),
                };
                println!("{:<14} {:<9} autoconf: {auto}", p.name(), kind);
            }
            ExitCode::SUCCESS
        }
        Some("--suggest-links") => {
            let Some(dir) = args.get(1) else {
                eprintln!("munin-plugins: --suggest-links needs the plugin directory");
                return ExitCode::FAILURE;
            };
            let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from(argv0));
            for p in BUILTIN {
                let cx = Context { root, arg: "", env };
                if p.autoconf(&cx) != Autoconf::Yes {
                    continue;
                }
                let names: Vec<String> = if p.name().ends_with('_') {
                    p.suggest(&cx)
                        .into_iter()
                        .map(|s| format!("{}{s}", p.name()))
                        .collect()
                } else {
                    vec![p.name().to_string()]
                };
                for n in names {
                    println!(
                        "ln -s '{}' '{}'",
                        exe.display(),
                        Path::new(dir).join(n).display()
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Some(plugin) => run_plugin(plugin, args.get(1).map(String::as_str), root, env),
    }
}

fn run_plugin(name: &str, arg: Option<&str>, root: &ProcRoot, env: &Env) -> ExitCode {
    let Some((plugin, wildcard)) = plugins::lookup_for(name, arg) else {
        let names: Vec<&str> = BUILTIN.iter().map(|p| p.name()).collect();
        eprintln!(
            "munin-plugins: no plugin called {name:?}; built in: {}",
            names.join(" ")
        );
        return ExitCode::FAILURE;
    };
    let cx = Context {
        root,
        arg: wildcard,
        env,
    };
    match plugins::run(plugin, Mode::from_arg(arg), &cx) {
        Ok(out) => {
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("munin-plugins: {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
