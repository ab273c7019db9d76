//! `munin-plugins`: Munin's core system plugins in one program, chosen by the
//! name it is called by (symlink it as `cpu`, `if_eth0`, ...), or run as
//! `munin-plugins NAME [config|fetch|autoconf|suggest]`. See README.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use munin_rs::plugins::{self, Autoconf, BUILTIN, Context, Env, Mode};
use munin_rs::proc::ProcRoot;

const USAGE: &str = "usage: munin-plugins NAME [config|fetch|autoconf|suggest]
       munin-plugins --list
       munin-plugins --suggest-links DIR
       (any of these with --root SNAPSHOT_DIR to read a /proc snapshot)
Or symlink munin-plugins into a munin plugin directory under a plugin name.
";

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
    let name = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if name == "munin-plugins" || name == "munin_plugins" {
        return run_self(&args, &root, &env, &argv0);
    }
    run_plugin(&name, args.first().map(String::as_str), &root, &env)
}

fn run_self(args: &[String], root: &ProcRoot, env: &Env, argv0: &str) -> ExitCode {
    match args.first().map(String::as_str) {
        None | Some("--help" | "-h") => {
            print!("{USAGE}");
            if args.is_empty() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
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
    let Some((plugin, wildcard)) = plugins::lookup(name) else {
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
