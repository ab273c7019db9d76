//! `munin-node-configure`'s command line: Munin's options and defaults.

use std::path::PathBuf;

use crate::cli::{Manual, VERSION};

/// Show which plugins are enabled, and which should be.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "munin-node-configure", version = VERSION)]
pub struct Cli {
    /// Ask the plugins (autoconf, suggest) what to enable.
    #[arg(long)]
    pub suggest: bool,
    /// Print ln -s lines to enable that (implies --suggest).
    #[arg(long)]
    pub shell: bool,
    /// With --shell, also rm -f links no longer suggested.
    #[arg(long)]
    pub remove_also: bool,
    /// Plugin families: auto, manual, contrib (comma list).
    #[arg(long, value_name = "LIST", action = clap::ArgAction::Append)]
    pub families: Vec<String>,
    /// Only 'auto' plugins new since this Munin version.
    #[arg(long, value_name = "VERSION")]
    pub newer: Option<String>,
    /// munin-node.conf [/etc/munin/munin-node.conf].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Plugin directory [/etc/munin/plugins].
    #[arg(long, value_name = "DIR")]
    pub servicedir: Option<PathBuf>,
    /// Plugin settings [/etc/munin/plugin-conf.d].
    #[arg(long, value_name = "DIR")]
    pub sconfdir: Option<PathBuf>,
    /// A plugin library (repeat for more; first wins).
    #[arg(long, value_name = "DIR", action = clap::ArgAction::Append)]
    pub libdir: Vec<PathBuf>,
    /// Print what is done, as '#' lines.
    #[arg(long)]
    pub debug: bool,
    /// Set MUNIN_DEBUG=1 for the plugins.
    #[arg(long)]
    pub pidebug: bool,
    /// Munin's SNMP probing: refused (not supported).
    #[arg(long, value_name = "HOSTS", hide = true)]
    pub snmp: Vec<String>,
}

/// `man munin-node-configure`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-node-configure shows which plugins of the plugin libraries are \
enabled (linked into the plugin directory) and, with --suggest, which \
should be: it reads each plugin's '#%# family' and '#%# capabilities' \
lines, runs 'autoconf' and, for a wildcard plugin that answers yes, \
'suggest', as munin-node would run the plugin (user, group, environment \
and timeout from plugin-conf.d). With --shell it prints the commands that \
bring the plugin directory to the suggestions. Options, table and shell \
lines are those of Munin's tool of the same name.

The libraries are read in order: by default /usr/lib/munin-rs/plugins \
(munin-rs's own plugins, links to munin-plugins and tahoe-stats) and then \
/usr/share/munin/plugins (munin-plugins-core), each when present. A name \
two libraries share is two rows of the table, first library first; its \
link goes to the first library that suggests it, and a service already \
linked is never linked again. With --libdir /usr/share/munin/plugins \
alone the output is Munin's, byte for byte.",
    options: &[
        (
            "families",
            "The plugin families to consider: auto, manual, contrib, \
             snmpauto; comma-separated, or the option repeated. Default: \
             auto with --suggest or --shell, else auto, manual and contrib.",
        ),
        (
            "newer",
            "Only consider 'auto' plugins that the library's plugins.history \
             lists after this Munin version, so that plugins removed by hand \
             are not suggested again after an upgrade. A library without a \
             plugins.history is not filtered.",
        ),
        (
            "libdir",
            "A plugin library to read. Repeat it for several: they are read \
             in the order given, and replace the default list.",
        ),
        (
            "config",
            "munin-node.conf to read (for ignore_file, paranoia and the \
             plugin directory). Default /etc/munin/munin-node.conf when it \
             exists, else munin-node's built-in configuration.",
        ),
    ],
    sections: &[
        (
            "EXIT STATUS",
            "0 on success. 1 when some plugin misbehaved (timed out, failed, \
             printed junk or a wrong answer): the list is printed on stderr, \
             as Munin prints it. 2 when the command line, the configuration \
             or a library directory is unusable, or --snmp was given.",
        ),
        (
            "FILES",
            "/usr/lib/munin-rs/plugins
    munin-rs's plugin library.

/usr/share/munin/plugins
    munin-plugins-core's plugin library.

/etc/munin/plugins
    The plugin directory (links to library plugins).

/etc/munin/plugin-conf.d
    Plugin settings.",
        ),
        (
            "SEE ALSO",
            "munin-node(8), munin-run(8), munin-plugins(1), munin-node.conf(5)",
        ),
    ],
    subcommands: &[],
};
