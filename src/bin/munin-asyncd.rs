//! `munin-asyncd`: samples the local node into the spool that
//! `munin-async` serves, as Munin's munin-asyncd does. See
//! [`munin_rs::spool`].

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;

use munin_rs::cli::asyncd::Cli;
use munin_rs::spool::{sampler, writer::Writer};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: all a signal handler may do.
    STOP.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let level = if args.debug || args.verbose {
        tracing::level_filters::LevelFilter::DEBUG
    } else {
        tracing::level_filters::LevelFilter::INFO
    };
    munin_rs::logging::init_cli("munin-asyncd", level);
    let opts = sampler::Options {
        node: args.host.clone(),
        minrate: args.minrate.max(1),
        timeout: Duration::from_secs(args.timeout.max(1)),
        cleanup: !args.nocleanup,
    };
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let handler = nix::sys::signal::SigHandler::Handler(on_signal);
        // SAFETY: the handler only stores to an atomic.
        if let Err(e) = unsafe { nix::sys::signal::signal(sig, handler) } {
            tracing::error!("cannot handle {sig}: {e}");
            return ExitCode::FAILURE;
        }
    }
    // The node may still be starting: munin-asyncd waits too.
    let name = match sampler::node_name(&opts) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("{e}; trying again in 20 s");
            std::thread::sleep(Duration::from_secs(20));
            match sampler::node_name(&opts) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let mut writer = match Writer::open(&args.spooldir, args.interval, args.retain, &name) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!("{}: {e}", args.spooldir.display());
            return ExitCode::FAILURE;
        }
    };
    writer.max_bytes = args.max_spool_bytes;
    let plugins = match sampler::plugins(&writer, &opts) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "spooling {} plugins of {name} into {} every {} s",
        plugins.len(),
        args.spooldir.display(),
        opts.minrate
    );
    sampler::run(&writer, &opts, &plugins, &STOP);
    tracing::info!("stopped");
    ExitCode::SUCCESS
}
