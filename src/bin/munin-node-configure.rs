//! `munin-node-configure`: shows which plugins are enabled and which
//! should be, from each plugin's own `autoconf` and `suggest`, as Munin's
//! tool does. See `munin_rs::configure`.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use munin_rs::configure::{self, cli::Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match configure::run(&cli) {
        Ok(printed) => {
            let _ = std::io::stdout()
                .lock()
                .write_all(printed.stdout.as_bytes());
            let _ = std::io::stderr()
                .lock()
                .write_all(printed.stderr.as_bytes());
            if printed.plugin_errors {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("munin-node-configure: {e:#}");
            ExitCode::from(2)
        }
    }
}
