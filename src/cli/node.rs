//! `munin-node`'s command line.

use clap::Parser;

use super::{Manual, VERSION};
use crate::settings::Overrides;

/// A Munin node: serves plugin data to Munin masters on TCP port 4949.
#[derive(Debug, Parser)]
#[command(name = "munin-node", version = VERSION)]
pub struct Cli {
    #[command(flatten)]
    pub common: Overrides,
    /// Accepted for compatibility: always in the foreground.
    #[arg(long)]
    pub foreground: bool,
    /// Log debug messages.
    #[arg(long)]
    pub debug: bool,
    /// Serve one session on stdin and stdout, then exit.
    #[arg(long)]
    pub stdio: bool,
}

/// The options `munin-node` shares with `munin-run`, as the man pages of
/// both describe them.
pub(crate) const OVERRIDES: &[(&str, &str)] = &[
    (
        "config",
        "The munin-node.conf to read; see munin-node.conf(5). Without it the \
         node reads /etc/munin/munin-node.conf, as Munin's does, or, when \
         that file does not exist, the configuration compiled into it, \
         which stands for /etc/munin/munin-node.conf.",
    ),
    (
        "servicedir",
        "The plugin directory. Default: servicedir in the configuration, \
         else plugins/ beside the configuration file (/etc/munin/plugins \
         for the compiled-in one).",
    ),
    (
        "sconfdir",
        "The plugin-conf.d directory of plugin settings. Default: sconfdir \
         in the configuration, else plugin-conf.d/ beside the configuration \
         file (/etc/munin/plugin-conf.d for the compiled-in one).",
    ),
    (
        "pidebug",
        "Run plugins with MUNIN_DEBUG=1 in their environment.",
    ),
    (
        "paranoia",
        "Run a plugin only if it and its directory are owned by root and \
         no one else may write them. The configuration's paranoia key does \
         the same.",
    ),
];

/// `man munin-node`.
pub const MANUAL: Manual = Manual {
    description: "\
munin-node is the node daemon of munin-rs. It speaks the munin-node \
protocol on TCP port 4949 as Munin 2.0's node does, reads the same \
munin-node.conf and plugin-conf.d, and runs the same plugins, as the same \
users and with the same environment, so that a Munin master cannot tell \
the two apart.

It stays in the foreground and logs to stderr (or log_file). Under \
systemd it says when it is ready (Type=notify). SIGHUP reads the plugin \
directory, plugin-conf.d and the TLS key and certificates again; SIGTERM \
and SIGINT stop it.

Plugins run as nobody unless plugin-conf.d names another user: the daemon \
keeps root to switch to each plugin's user. Started as another user, it \
runs every plugin as that user.",
    options: &[
        OVERRIDES[0],
        OVERRIDES[1],
        OVERRIDES[2],
        OVERRIDES[3],
        OVERRIDES[4],
        (
            "foreground",
            "Accepted for compatibility with Munin's munin-node and its \
             systemd unit: this node never detaches.",
        ),
        ("debug", "Log debug messages."),
        (
            "stdio",
            "Serve one session on stdin and stdout, then exit: for inetd, \
             an ssh forced command (command=\"munin-node --stdio\") or a \
             master's cmd:// address. Logs go to stderr or log_file. When \
             stdin is a socket the access rules apply to its peer; over \
             pipes they do not.",
        ),
    ],
    sections: &[
        (
            "FILES",
            "\
/etc/munin/munin-node.conf
    The configuration; see munin-node.conf(5).

/etc/munin/plugins
    The plugins served: executables or symbolic links to them.

/etc/munin/plugin-conf.d
    Each plugin's user, group, timeout and environment.

/var/lib/munin-node/plugin-state
    Where plugins keep their state (MUNIN_PLUGSTATE).",
        ),
        (
            "EXIT STATUS",
            "0 after SIGTERM or SIGINT (or the end of a --stdio session); 1 \
             when the configuration cannot be read or the port cannot be \
             bound.",
        ),
        (
            "SEE ALSO",
            "munin-node.conf(5), munin-run(8), munin-plugins(1), \
             munin-asyncd(8), munin-master(1)",
        ),
    ],
    subcommands: &[],
};
