//! `munin-asyncd`'s command line.

use std::path::PathBuf;

use clap::Parser;

use super::{Manual, VERSION};
use crate::spool;

/// Spools munin-node answers while no master polls (munin-asyncd).
#[derive(Debug, Parser)]
#[command(name = "munin-asyncd", version = VERSION)]
pub struct Cli {
    /// The node
    #[arg(long, value_name = "HOST:PORT", default_value = "localhost:4949")]
    pub host: String,
    /// Spool directory
    #[arg(short = 's', long, value_name = "DIR", default_value = spool::DEFAULT_DIR)]
    pub spooldir: PathBuf,
    /// Seconds of records per spool file
    #[arg(short = 'i', long, value_name = "SECS")]
    pub interval: Option<u64>,
    /// Longest wait for the node
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub timeout: u64,
    /// Seconds between samples
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub minrate: u64,
    /// Intervals (files) kept per plugin
    #[arg(short = 'r', long, value_name = "N")]
    pub retain: Option<u64>,
    /// Most bytes the spool holds
    #[arg(long, value_name = "BYTES", default_value_t = spool::writer::DEFAULT_MAX_BYTES)]
    pub max_spool_bytes: u64,
    /// Never clean the spool up
    #[arg(short = 'n', long)]
    pub nocleanup: bool,
    /// Accepted for compatibility (no effect)
    #[arg(long)]
    pub fork: bool,
    /// Log more
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Log everything
    #[arg(long)]
    pub debug: bool,
}

/// `man munin-asyncd`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-asyncd samples the local munin node into a spool, as Munin's \
munin-asyncd does: it asks the node for every plugin's config and fetch \
and appends the answers, with their time, to files that munin-async(1) \
serves to a master. A master that was away then gets every sample it \
missed.

The files are munin-async's own (munin-daemon.<plugin>.<start>.<interval> \
and SPOOL-META), so either side may be Munin's. A record is one write \
under a lock, then synced: a crash tears at most the last record, which \
the reader never sends. The spool is bounded: files older than interval \
times retain go every ten minutes, and --max-spool-bytes drops the oldest \
intervals first. SIGTERM and SIGINT stop it after the current sample.",
    options: &[
        ("host", "The node to sample, as host:port."),
        (
            "interval",
            "Seconds of records per spool file. Default: the spool's \
             SPOOL-META, else 86400.",
        ),
        (
            "timeout",
            "Longest wait for any answer of the node, in seconds.",
        ),
        (
            "minrate",
            "Seconds between samples of a plugin whose config sets no \
             update_rate of its own.",
        ),
        (
            "retain",
            "Intervals (spool files) kept per plugin. Default: the spool's \
             SPOOL-META, else 7.",
        ),
        (
            "max_spool_bytes",
            "Most bytes the whole spool may hold; past it the oldest \
             intervals are removed first.",
        ),
        (
            "fork",
            "Accepted for compatibility with Munin's munin-asyncd: plugins \
             are sampled one after another.",
        ),
    ],
    sections: &[
        (
            "EXIT STATUS",
            "0 when stopped by a signal; 1 when the node cannot be reached \
             (after a second try 20 seconds later) or the spool cannot be \
             opened.",
        ),
        (
            "FILES",
            "\
/var/lib/munin-async
    The default spool directory.",
        ),
        ("SEE ALSO", "munin-async(1), munin-node(8)"),
    ],
    subcommands: &[],
};
