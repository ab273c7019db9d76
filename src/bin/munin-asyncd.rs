//! `munin-asyncd`: samples the local node into the spool that
//! `munin-async` serves, as Munin's munin-asyncd does. See
//! [`munin_rs::spool`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;

use munin_rs::spool::{self, sampler, writer::Writer};

/// Spools munin-node answers while no master polls (munin-asyncd).
#[derive(Debug, Parser)]
#[command(name = "munin-asyncd", version)]
struct Args {
    /// The node, `host:port`.
    #[arg(long, default_value = "localhost:4949")]
    host: String,
    /// The spool directory.
    #[arg(short = 's', long, default_value = spool::DEFAULT_DIR)]
    spooldir: PathBuf,
    /// Seconds of records per spool file.
    #[arg(short = 'i', long)]
    interval: Option<u64>,
    /// Longest wait for the node, in seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// Seconds between samples of a plugin without its own update_rate.
    #[arg(long, default_value_t = 300)]
    minrate: u64,
    /// Intervals (files) kept per plugin.
    #[arg(short = 'r', long)]
    retain: Option<u64>,
    /// Most bytes the whole spool holds; the oldest intervals go first.
    #[arg(long, default_value_t = spool::writer::DEFAULT_MAX_BYTES)]
    max_spool_bytes: u64,
    /// Never clean the spool up.
    #[arg(short = 'n', long)]
    nocleanup: bool,
    /// Accepted for compatibility: plugins are sampled one after another.
    #[arg(long)]
    fork: bool,
    /// Log more.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Log everything.
    #[arg(long)]
    debug: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: all a signal handler may do.
    STOP.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    let args = Args::parse();
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
