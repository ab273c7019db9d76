//! `tahoe-stats`'s command line. Called under a graph's name (a symlink in
//! the plugin directory) every argument is the plugin's, so the program
//! reads its arguments by hand ([`crate::tahoe::plugin`]); called as
//! `tahoe-stats` it prints [`HELP`] for `--help`. [`command`] describes
//! the same for the man page and shell completions.

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Arg, ArgAction, Command};

use super::{Manual, VERSION};
use crate::tahoe::graphs::GRAPHS;

/// `tahoe-stats --help`.
pub const HELP: &str = "\
usage: tahoe-stats GRAPH [config|fetch|autoconf|suggest]
       tahoe-stats --list | suggest | autoconf
       tahoe-stats --help | --version
Or symlink tahoe-stats as a graph name in the munin plugin directory.
";

/// The command line as clap would see it, for docs and completions only.
pub fn command() -> Command {
    let graphs = GRAPHS
        .iter()
        .map(|g| g.name)
        .chain(["stats_gatherer"])
        .map(PossibleValue::new);
    Command::new("tahoe-stats")
        .version(VERSION)
        .about("The Tahoe-LAFS munin plugins in one program")
        .override_usage(
            "tahoe-stats GRAPH [config|fetch|autoconf|suggest]\n       \
             tahoe-stats --list | suggest | autoconf",
        )
        .arg(
            Arg::new("graph")
                .value_name("GRAPH")
                .help("The graph (tahoe-stats --list names them)")
                .value_parser(PossibleValuesParser::new(graphs))
                .hide_possible_values(true),
        )
        .arg(
            Arg::new("mode")
                .value_name("MODE")
                .help("What the plugin prints (default: fetch)")
                .value_parser(["config", "fetch", "autoconf", "suggest"])
                .hide_possible_values(true),
        )
        .arg(
            Arg::new("list")
                .short('l')
                .long("list")
                .action(ArgAction::SetTrue)
                .help("List the graphs: name, source, title"),
        )
}

/// `man tahoe-stats`.
pub const MANUAL: Manual = Manual {
    description: "\
tahoe-stats holds the Tahoe-LAFS munin plugins in one program, with the \
graphs, fields and numbers of the original Python plugins. It picks its \
graph from the name it is called by (the file name, a trailing .py \
dropped, - read as _), so it is installed by linking it into the plugin \
directory under graph names, for example tahoe_storage_operations_get or \
tahoe-files. Called under a graph's name, every argument is the plugin's: \
config, fetch (or none), autoconf or suggest.

Most graphs read the snapshot stats-gatherer(8) writes, named by the \
statsfile variable in plugin-conf.d (env.statsfile \
/var/lib/munin-rs/stats.pickle): a pickle or its JSON twin. The per-node \
graphs tahoe_files, tahoe_storagespace and tahoe_sharesperfile read the \
directories in env.basedir_<NODE>, tahoe_dirnodes env.basedir, and \
tahoe_nodememory the node directories in env.nodememory_<NODE>. The \
stats_gatherer graph shows the gatherer's own activity, from its HTTP API \
(env.url).

Called as tahoe-stats, the first argument is the graph, or suggest (the \
graphs that have data), autoconf, or --list.",
    options: &[],
    sections: &[
        (
            "EXIT STATUS",
            "0 on success; 1 on any error, said in one line on stderr: no \
             statsfile, a missing or broken snapshot, a name that is no \
             graph. Output printed before the error stays.",
        ),
        (
            "SEE ALSO",
            "stats-gatherer(8), munin-node(8), munin-plugins(1)",
        ),
    ],
    subcommands: &[],
};
