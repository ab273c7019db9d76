//! `munin-master`'s command line: one subcommand per Munin program it
//! replaces. The clap types build without librrd; the binary does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{Manual, VERSION};

/// munin.conf when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/munin/munin.conf";

/// The munin master: polls the nodes of munin.conf into RRD files.
#[derive(Debug, Parser)]
#[command(name = "munin-master", version = VERSION)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll every node and store the values in RRD files under dbdir
    Update(Common),
    /// Dry run of update: print each field's RRD file, type and value
    Poll(Common),
    /// Check warning/critical limits on the last values; tell contacts
    Limits(LimitsArgs),
    /// Nagios/Icinga check of a host's limits (exit 0/1/2/3)
    Check {
        /// munin.conf
        #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The host (its munin.conf name)
        #[arg(long, value_name = "NAME")]
        host: String,
        /// Only this plugin's graphs
        #[arg(long, value_name = "NAME")]
        plugin: Option<String>,
    },
    /// Write the static site in htmldir: pages, and graphs that are due
    Html {
        /// munin.conf
        #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Start no graph after this many seconds
        #[arg(long, value_name = "SECONDS")]
        budget: Option<f64>,
        /// Graph worker processes [default: CPUs; 0: none]
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
    },
    /// update, limits and html in one run: the crontab's every-minute job
    Cron(Common),
    /// Serve htmldir on 127.0.0.1, drawing graphs on demand
    Serve {
        /// munin.conf
        #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Port on 127.0.0.1
        #[arg(long, default_value_t = 8949)]
        port: u16,
        /// Graph worker processes [default: one per CPU]
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
    },
    /// Internal: does the librrd tasks read on stdin (started by update, html, serve)
    #[command(hide = true)]
    Worker,
}

/// The options of update, poll and cron.
#[derive(Debug, Args)]
pub struct Common {
    /// munin.conf
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Only this host (its munin.conf name)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Connect deadline [default: timeout, else 5]
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
    /// Node deadline [default: timeout_fetch_one_node]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Nodes polled at once [default: max_processes]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// librrd worker processes [default: CPUs; 0: none]
    #[arg(long, value_name = "N")]
    pub store_workers: Option<usize>,
}

/// munin-limits' options.
#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// munin.conf
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Tell contacts of these states every run
    #[arg(long, value_name = "STATES")]
    pub always_send: Vec<String>,
    /// --always-send for all four states
    #[arg(long)]
    pub force: bool,
    /// Only this host (repeatable)
    #[arg(long, value_name = "NAME")]
    pub host: Vec<String>,
    /// Only this service (repeatable)
    #[arg(long, value_name = "NAME")]
    pub service: Vec<String>,
    /// Only this contact (repeatable)
    #[arg(long, value_name = "NAME")]
    pub contact: Vec<String>,
}

const CONFIG: (&str, &str) = (
    "config",
    "The munin.conf to read; see munin-master.conf(5).",
);

/// The options of update, poll and cron, as their pages describe them.
const COMMON: &[(&str, &str)] = &[
    CONFIG,
    (
        "host",
        "Poll only this host, by its name in munin.conf (the part after \
         the group's ';').",
    ),
    (
        "connect_timeout",
        "Seconds to wait for a node to accept the connection. Default: \
         munin.conf's timeout, else 5.",
    ),
    (
        "timeout",
        "Seconds a whole session with one node may take. Default: \
         munin.conf's timeout_fetch_one_node, else 60.",
    ),
    (
        "concurrency",
        "How many nodes are polled at once. Default: munin.conf's \
         max_processes, else 256.",
    ),
    (
        "store_workers",
        "Worker processes that write the RRD files through librrd, which \
         serialises the threads of one process. Default: one per CPU; 0 \
         stores in this process.",
    ),
];

const SEE_ALSO: (&str, &str) = (
    "SEE ALSO",
    "munin-master(1), munin-master.conf(5), munin-node(8)",
);

const UPDATE: Manual = Manual {
    description: "\
Polls every node of munin.conf at once, as Munin's munin-update does, and \
stores the values through librrd in Munin's layout under dbdir \
(<dbdir>/<group>/<host>-<plugin>-<field>-<type>.rrd), so that a Munin \
dbdir is updated as it is. Each node has its own connect and session \
deadline: one slow or dead node holds up no other.

A node that cannot be reached is reported on stderr, not a failed run. A \
run that finds the previous one still running says so and exits 0. Each \
run appends one line to <logdir>/munin-master-update.log.",
    options: COMMON,
    sections: &[SEE_ALSO],
    subcommands: &[],
};

const POLL: Manual = Manual {
    description: "\
The dry run of update: polls the nodes as update does and prints one line \
per field, its RRD file, data source type and value, separated by tabs. \
Nothing is written. Exits 1 when a node did not answer.",
    options: COMMON,
    sections: &[SEE_ALSO],
    subcommands: &[],
};

const LIMITS: Manual = Manual {
    description: "\
Judges the last stored values against their warning and critical limits, \
as Munin's munin-limits does, and tells each contact of munin.conf about \
the services whose state changed, with munin-limits' text, arguments and \
environment. No value sent by a node can become shell code in a \
contact's command. States are kept in <dbdir>/munin-rs-state/limits.json.

Exits 1 when a contact could not be told or the states not written, 2 \
when munin.conf cannot be read.",
    options: &[
        CONFIG,
        (
            "always_send",
            "Tell contacts of fields in these states every run, changed or \
             not, whatever their always_send says: critical, warning, \
             unknown and ok, separated by commas or spaces.",
        ),
        ("force", "The same as --always-send for all four states."),
        ("host", "Judge only this host (repeatable)."),
        ("service", "Judge only this service (repeatable)."),
        ("contact", "Tell only this contact (repeatable)."),
    ],
    sections: &[SEE_ALSO],
    subcommands: &[],
};

const CHECK: Manual = Manual {
    description: "\
A Nagios or Icinga plugin over the values update stored: judges one \
host's fields against their limits and prints one status line with \
performance data. States combine as CRITICAL > WARNING > UNKNOWN > OK.",
    options: &[
        CONFIG,
        ("host", "The host to judge, by its name in munin.conf."),
        ("plugin", "Judge only this plugin's graphs."),
    ],
    sections: &[
        (
            "EXIT STATUS",
            "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when munin.conf \
             cannot be read or has no such host).",
        ),
        SEE_ALSO,
    ],
    subcommands: &[],
};

const HTML: Manual = Manual {
    description: "\
Writes the static site into htmldir, as munin-html and munin-graph do: an \
overview, a page per group, host and plugin, problems.html, and the \
graphs, drawn by librrd. A page is written only when its text changed, a \
graph only when it is due (missing, its plugin's config changed, or its \
period's archive moved on since it was drawn). Each run appends one line \
to <logdir>/munin-master-html.log.",
    options: &[
        CONFIG,
        (
            "budget",
            "Start no new graph after this many seconds; the rest are drawn \
             next run.",
        ),
        (
            "workers",
            "Processes drawing graphs (librrd's graph is not thread-safe). \
             Default: one per CPU; 0 draws in this process.",
        ),
    ],
    sections: &[SEE_ALSO],
    subcommands: &[],
};

const CRON: Manual = Manual {
    description: "\
update, limits and html in one run under one lock: the job for the \
crontab, every minute as the munin user:

    * * * * * munin munin-master cron

html gets what is left of 90% of update_rate; graphs not drawn by then \
are drawn next run.",
    options: COMMON,
    sections: &[SEE_ALSO],
    subcommands: &[],
};

const SERVE: Manual = Manual {
    description: "\
Serves htmldir over HTTP on 127.0.0.1, for people without a web server. \
With graph_strategy cgi in munin.conf, cron draws no graph and serve \
draws each one when a browser asks for it, if it is missing or behind its \
host's last answer.",
    options: &[
        CONFIG,
        ("port", "The port on 127.0.0.1 to listen on."),
        ("workers", "Processes drawing graphs. Default: one per CPU."),
    ],
    sections: &[SEE_ALSO],
    subcommands: &[],
};

/// `man munin-master`, and a page per subcommand.
pub const MANUAL: Manual = Manual {
    description: "\
munin-master does the work of Munin's munin-update, munin-limits, \
munin-html and munin-graph, on the same munin.conf, the same RRD files \
and the same dbdir layout: update polls the nodes into RRD files, limits \
and check judge the values, html writes the site, cron does all three \
every minute, and serve shows the site.

Messages go to stderr as \"munin-master: ...\"; under cron only problems \
are said (RUST_LOG=info says more).",
    options: &[],
    sections: &[
        (
            "EXIT STATUS",
            "0 on success. 2 when munin.conf cannot be read or names no host \
             to poll. 1 for other failures; each subcommand's page says \
             more.",
        ),
        (
            "FILES",
            "\
/etc/munin/munin.conf
    The configuration; see munin-master.conf(5).

<dbdir>/munin-rs-state
    What limits and html need from the last update (JSON).

<logdir>/munin-master-update.log, <logdir>/munin-master-html.log
    One line per run.",
        ),
        (
            "SEE ALSO",
            "munin-master.conf(5), munin-node(8), munin-fleet(1)",
        ),
    ],
    subcommands: &[
        ("update", &UPDATE),
        ("poll", &POLL),
        ("limits", &LIMITS),
        ("check", &CHECK),
        ("html", &HTML),
        ("cron", &CRON),
        ("serve", &SERVE),
    ],
};
