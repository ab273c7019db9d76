//! `tahoe-stats`: the Tahoe-LAFS munin plugins in one program, chosen by the
//! name it is called by. See `munin_rs::tahoe::plugin`.

use std::io::Write;
use std::process::ExitCode;

use munin_rs::tahoe::plugin::{Invocation, run};

fn main() -> ExitCode {
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = args.next().unwrap_or_default();
    let now = munin_rs::clock::now_f64();
    let inv = Invocation {
        argv0,
        args: args.collect(),
        env: std::env::vars_os().collect(),
        now,
    };
    let outcome = run(&inv);
    // stdout first, as the original's partial output came before its traceback.
    let _ = std::io::stdout().lock().write_all(&outcome.stdout);
    let _ = std::io::stdout().flush();
    if !outcome.stderr.is_empty() {
        eprintln!("tahoe-stats: {}", outcome.stderr);
    }
    ExitCode::from(outcome.status)
}
