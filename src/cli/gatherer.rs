//! `stats-gatherer`'s command line, which lives beside the config file
//! that takes the same names ([`crate::gatherer::options`]).

pub use crate::gatherer::options::Cli;

use super::Manual;

/// `man stats-gatherer`.
pub const MANUAL: Manual = Manual {
    description: "\
stats-gatherer polls Tahoe-LAFS nodes and takes pushes from agents, keeps \
recent samples behind an HTTP API, and writes the snapshot the \
tahoe-stats(1) plugins read, as the Tahoe-LAFS stats gatherer (removed \
upstream in 2020) did.

Every interval all nodes are polled at once, each under its own deadline, \
and the snapshot is written: a protocol-2 pickle (--statsfile) and the \
same data as stats.json beside it, each replaced atomically. A node that \
stops answering keeps its last entry until --node-expiry. At start the \
old snapshot is read back, so a restart loses nothing.

Every setting can also be given in a configuration file (--config); see \
stats-gatherer.conf(5). The command line wins over the file; tahoe-node \
and provider from both are polled. The HTTP API, its pages and limits \
are described in docs/gatherer.md of the source.",
    options: &[
        (
            "listen",
            "The address of the HTTP API (pushes, samples, aggregates, the \
             gatherer's own counters). Loopback only unless you say otherwise.",
        ),
        (
            "statsfile",
            "The snapshot pickle the plugins read; stats.json is written \
             beside it. Its name must not end in .json.",
        ),
        (
            "interval",
            "Seconds between poll rounds and snapshot writes (s, m, h, d \
             suffixes allowed).",
        ),
        ("timeout", "Deadline of one poll of one node."),
        (
            "retention",
            "How long raw samples are kept for the API (3600, 90m, 2h).",
        ),
        (
            "node_expiry",
            "A node that stops answering keeps its last entry, with its old \
             timestamp, this long; 0 keeps it for ever, as the original \
             gatherer did.",
        ),
        (
            "queue_size",
            "Samples the ingest queue holds before pushes are refused with \
             503.",
        ),
        (
            "max_body",
            "The largest request or reply body, in bytes (413 beyond).",
        ),
        (
            "max_nodes",
            "The most node ids held; a push from a new id past it is refused \
             with 507 until others expire.",
        ),
        (
            "token",
            "A shared token: pushes and data reads must send \
             Authorization: Bearer TOKEN. A token given here shows in the \
             process list; one in --token-file does not.",
        ),
        (
            "tahoe_nodes",
            "A local Tahoe node directory to poll (repeatable): node.url, \
             my_nodeid and the nickname in tahoe.cfg are read again before \
             every poll.",
        ),
        (
            "providers",
            "A remote node to poll (repeatable): its web port's URL, with \
             optional nodeid and nickname (without nodeid, the URL's \
             host:port is the key). Only http:// is polled.",
        ),
    ],
    sections: &[
        (
            "SIGNALS",
            "SIGTERM and SIGINT write a last snapshot and stop the gatherer.",
        ),
        (
            "EXIT STATUS",
            "0 after SIGTERM or SIGINT; 2 when a setting is wrong (the \
             message names it, and the file and line); 1 for other \
             failures, such as an address that cannot be bound.",
        ),
        (
            "FILES",
            "\
/var/lib/munin-rs/stats.pickle, /var/lib/munin-rs/stats.json
    The snapshot.",
        ),
        ("SEE ALSO", "stats-gatherer.conf(5), tahoe-stats(1)"),
    ],
    subcommands: &[],
};
