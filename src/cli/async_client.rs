//! `munin-async`'s command line.

use std::path::PathBuf;

use clap::Parser;

use super::{Manual, VERSION};
use crate::spool;

/// Replays spooled munin-node answers (munin-async).
#[derive(Debug, Parser)]
#[command(name = "munin-async", version = VERSION)]
pub struct Cli {
    /// The spool directory
    #[arg(short = 's', long, value_name = "DIR", default_value = spool::DEFAULT_DIR)]
    pub spooldir: PathBuf,
    /// Name in the banner (default: the spool's, else FQDN)
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Offer `cap spool`: a master then asks `spoolfetch`
    #[arg(long)]
    pub spoolfetch: bool,
    /// Answer `fetch` (with nothing, as munin-async)
    #[arg(long)]
    pub vectorfetch: bool,
    /// Clean the spool up after the session
    #[arg(long)]
    pub cleanup: bool,
    /// Clean the spool up and exit
    #[arg(long)]
    pub cleanupandexit: bool,
    /// Log more
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `man munin-async`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-async answers a master from the spool munin-asyncd(8) writes, on \
stdin and stdout, as Munin's munin-async does: the forced command of an \
ssh key, or a master's cmd:// address. With --spoolfetch it offers the \
spool capability, and a master asking spoolfetch T gets every sample \
taken after T, each with its time, so that an outage of the master \
leaves no gap in the graphs.

It speaks the subset of the protocol a master needs: cap, list, config \
and fetch (answered with nothing: everything is in the spooled answer), \
spoolfetch and quit. Either side may be Munin's own munin-async package.

On the node, the master's key in authorized_keys gets the forced command

    command=\"munin-async --spooldir /var/lib/munin-async --spoolfetch\" ssh-ed25519 ...

and the master's munin.conf an ssh:// address for the node (the forced \
command replaces whatever command the address names).",
    options: &[
        (
            "hostname",
            "The name in the banner. Default: the one in the spool's \
             SPOOL-META, else this machine's fully qualified name.",
        ),
        (
            "spoolfetch",
            "Offer the spool capability (cap answers cap spool), so that a \
             master asks with spoolfetch.",
        ),
        (
            "vectorfetch",
            "Answer fetch, with nothing, as munin-async does.",
        ),
        (
            "cleanup",
            "After the session, remove the spool files older than its \
             interval times its retain (from SPOOL-META).",
        ),
    ],
    sections: &[
        (
            "EXIT STATUS",
            "0 at the end of the session; 1 when the spool directory is \
             missing or cannot be read or cleaned up.",
        ),
        (
            "SEE ALSO",
            "munin-asyncd(8), munin-node(8), munin-master(1)",
        ),
    ],
    subcommands: &[],
};
