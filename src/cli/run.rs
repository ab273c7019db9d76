//! `munin-run`'s command line.

use std::path::PathBuf;

use clap::Parser;

use super::node::OVERRIDES;
use super::{Manual, VERSION};
use crate::settings::Overrides;

/// Run one Munin plugin the way munin-node does.
#[derive(Debug, Parser)]
#[command(name = "munin-run", version = VERSION)]
pub struct Cli {
    #[command(flatten)]
    pub common: Overrides,
    /// Read plugin settings from this file, not sconfdir.
    #[arg(long, value_name = "FILE")]
    pub sconffile: Option<PathBuf>,
    /// Log debug messages (environment, command line).
    #[arg(long)]
    pub debug: bool,
    /// The plugin (a file name in the plugin directory).
    pub plugin: String,
    /// config, fetch (the default), autoconf, suggest, ...
    pub argument: Option<String>,
}

/// `man munin-run`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-run runs one plugin exactly as munin-node would: the same plugin \
directory and plugin-conf.d, environment, user, group, timeout and output \
limit. It prints the plugin's output and its stderr as they are, for \
debugging a plugin by hand.

Without an argument, or with fetch, the plugin is run without one, as the \
node runs a fetch.",
    options: &[
        OVERRIDES[0],
        OVERRIDES[1],
        OVERRIDES[2],
        OVERRIDES[3],
        OVERRIDES[4],
        (
            "sconffile",
            "Read plugin settings from this one file, in plugin-conf.d's \
             syntax, instead of the files in sconfdir.",
        ),
        (
            "debug",
            "Log debug messages: the plugin's environment and command line.",
        ),
    ],
    sections: &[
        (
            "EXIT STATUS",
            "0 when the plugin succeeded. A plugin that failed gives its own \
             exit status (128 plus the signal number when it was killed). 1 \
             when the plugin is not in the plugin directory, timed out, \
             printed more than max_plugin_output bytes or could not be \
             started, or the configuration could not be read.",
        ),
        (
            "SEE ALSO",
            "munin-node(8), munin-node.conf(5), munin-plugins(1)",
        ),
    ],
    subcommands: &[],
};
