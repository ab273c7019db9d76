//! `stats-gatherer`: polls Tahoe-LAFS nodes and takes agent pushes, serves
//! recent samples over HTTP and writes `stats.pickle` for the tahoe-stats
//! plugins. See `munin_rs::gatherer`.

use std::process::ExitCode;

use clap::Parser;
use munin_rs::gatherer::options::{Cli, Options};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = munin_rs::logging::init(cli.debug, None) {
        eprintln!("stats-gatherer: {e:#}");
        return ExitCode::FAILURE;
    }
    let opts = match Options::resolve(cli) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("stats-gatherer: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stats-gatherer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(munin_rs::gatherer::run::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stats-gatherer: {e:#}");
            ExitCode::FAILURE
        }
    }
}
