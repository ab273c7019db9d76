//! `munin-fleet`'s command line.

use clap::Parser;

use super::{Manual, VERSION};

/// Simulated munin nodes on loopback ports.
#[derive(Debug, Parser)]
#[command(name = "munin-fleet", version = VERSION)]
pub struct Cli {
    /// Number of nodes
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub nodes: usize,
    /// Plugins per node
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub plugins: usize,
    /// Fields per plugin
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub fields: usize,
    /// Group of the printed host sections
    #[arg(long, value_name = "NAME", default_value = "fleet")]
    pub group: String,
}

/// `man munin-fleet`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-fleet starts simulated munin nodes on loopback ports, for tests and \
benchmarks of a master: each node answers cap, list, config, fetch and \
quit with the same plugins, a fifth of their fields DERIVE and the rest \
GAUGE. All nodes run as tasks of one process, so thousands fit on a small \
machine.

It prints one munin.conf host section per node on stdout (the group, the \
node's name node00000.fleet and up, its address and port), then serves \
until it is killed. Its own open-file limit is raised to the hard limit.",
    options: &[],
    sections: &[
        (
            "EXAMPLE",
            "    munin-fleet --nodes 200 --group bench >> munin.conf &

Once the sections are written, munin-master update --config munin.conf \
polls the 200 nodes.",
        ),
        ("SEE ALSO", "munin-master(1)"),
    ],
    subcommands: &[],
};
