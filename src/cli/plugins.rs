//! `munin-plugins`'s command line. The binary reads its arguments by hand,
//! because it is mostly called under a plugin's name (`cpu config`, through
//! a symlink), where every argument is the plugin's. Called as
//! `munin-plugins` it prints [`HELP`] for `--help`; [`command`] describes
//! the same for the man page and shell completions (`tests/cli.rs` checks
//! that the two name the same options).

use clap::builder::PossibleValue;
use clap::{Arg, ArgAction, Command, ValueHint};

use super::{Manual, VERSION};
use crate::plugins::BUILTIN;

/// `munin-plugins --help`.
pub const HELP: &str = "\
Munin's core system plugins in one program

usage: munin-plugins NAME [config|fetch|autoconf|suggest]
       munin-plugins NAME --check [--sconfdir DIR]
       munin-plugins --list
       munin-plugins --suggest-links DIR
       munin-plugins --help | --version
       (any of these with --root SNAPSHOT_DIR to read a /proc snapshot)
--check judges the values against the plugin's warning/critical limits
(env.<field>_warning and the like from plugin-conf.d, by default
/etc/munin/plugin-conf.d) and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
Or symlink munin-plugins into a munin plugin directory under a plugin name.
";

/// The command line as clap would see it, for docs and completions only.
pub fn command() -> Command {
    let names = BUILTIN.iter().map(|p| PossibleValue::new(p.name()));
    Command::new("munin-plugins")
        .version(VERSION)
        .about("Munin's core system plugins in one program")
        .override_usage(
            "munin-plugins NAME [config|fetch|autoconf|suggest]\n       \
             munin-plugins NAME --check [--sconfdir DIR]\n       \
             munin-plugins --list\n       \
             munin-plugins --suggest-links DIR",
        )
        .arg(
            Arg::new("name")
                .value_name("NAME")
                .help("The plugin: cpu, load, if_eth0, ...")
                .value_parser(clap::builder::PossibleValuesParser::new(names))
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
            Arg::new("check")
                .long("check")
                .action(ArgAction::SetTrue)
                .help("Judge the values as a Nagios plugin"),
        )
        .arg(
            Arg::new("sconfdir")
                .long("sconfdir")
                .value_name("DIR")
                .value_hint(ValueHint::DirPath)
                .help("plugin-conf.d for --check"),
        )
        .arg(
            Arg::new("list")
                .long("list")
                .action(ArgAction::SetTrue)
                .help("List the plugins with their autoconf answers"),
        )
        .arg(
            Arg::new("suggest_links")
                .long("suggest-links")
                .value_name("DIR")
                .value_hint(ValueHint::DirPath)
                .help("Print the ln -s lines for a plugin directory"),
        )
        .arg(
            Arg::new("root")
                .long("root")
                .value_name("DIR")
                .value_hint(ValueHint::DirPath)
                .help("Read a /proc and /sys snapshot instead"),
        )
}

/// `man munin-plugins`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-plugins holds Munin's core Linux plugins in one program: cpu, load, \
memory, swap, uptime, processes, forks, threads, entropy, open_files, \
interrupts, vmstat, netstat, df, df_inode, diskstats, and the wildcards \
if_ and if_err_ (if_eth0 is the traffic of eth0). Each keeps the plugin, \
graph and field names, types and limits of Debian's munin-plugins-core, \
so RRD files and graphs are kept when switching. It reads /proc and /sys \
itself and starts no other program.

It picks the plugin from the name it is called by: link it into the \
plugin directory under plugin names (munin-plugins --suggest-links \
/etc/munin/plugins prints the commands), or call it as munin-plugins NAME. \
Called under a plugin's name, every argument is the plugin's: config, \
fetch (or none), autoconf or suggest.

munin-node runs these plugins in its own process, without a fork, when \
the plugin file is this program and plugin-conf.d sets no user, group or \
command for it.

With --check it is a Nagios plugin: it judges the plugin's current values \
against the warning and critical limits its config prints (env.warning, \
env.<field>_warning, ... from plugin-conf.d) and prints one status line \
with performance data. For DERIVE and COUNTER fields the limits apply to \
the rate, measured over two reads a second apart.",
    options: &[
        (
            "sconfdir",
            "The plugin-conf.d directory --check reads the plugin's settings \
             from. Default: /etc/munin/plugin-conf.d, when it exists.",
        ),
        (
            "list",
            "Print every plugin, whether it is a wildcard, and its autoconf \
             answer on this machine.",
        ),
        (
            "suggest_links",
            "Print the ln -s commands that link this program into the given \
             plugin directory under the name of every plugin whose autoconf \
             says yes (wildcards once per suggestion).",
        ),
        (
            "root",
            "Read /proc and /sys from this snapshot directory instead of the \
             running machine. The environment variable MUNIN_PLUGINS_ROOT \
             does the same.",
        ),
    ],
    sections: &[
        (
            "EXIT STATUS",
            "0 on success; 1 for an unknown plugin or a plugin that failed. \
             With --check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        ),
        (
            "EXAMPLES",
            "\
munin-plugins --suggest-links /etc/munin/plugins | sh
    Enable every plugin that works here.

munin-plugins df --check
    DF WARNING: _dev_vda=93.5 outside warning 92 | ...",
        ),
        ("SEE ALSO", "munin-node(8), munin-run(8), munin-master(1)"),
    ],
    subcommands: &[],
};
