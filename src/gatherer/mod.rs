//! The stats gatherer: polls Tahoe-LAFS nodes' `/statistics?t=json`, takes
//! pushes from agents, keeps recent samples behind an HTTP API and writes
//! the `stats.pickle` snapshot the `tahoe-stats` plugins read.
//!
//! - [`options`]: command line and config file.
//! - [`provider`]: what to poll (URLs, Tahoe node directories).
//! - [`names`]: checks on ids and names from the network.
//! - [`reply`]: a node's `{counters, stats}` reply.
//! - [`lines`]: agent lines `key<TAB>value<TAB>timestamp`.
//! - [`poll`]: the HTTP client and a poll round.
//! - [`status`]: each provider's last poll.
//! - [`ingest`]: the bounded queue and the task applying it.
//! - [`collection`]: recent samples with expiry.
//! - [`aggregate`]: summaries over a period.
//! - [`query`]: the read queries, paged and bounded.
//! - [`table`]: each node's latest entry (the snapshot's content).
//! - [`encode`]: the snapshot as pickle and JSON.
//! - [`fit`]: leaving the largest nodes out of a snapshot too big to read.
//! - [`metrics`]: the gatherer's reports on itself.
//! - [`api`]: the HTTP routes.
//! - [`plugin`]: the `stats_gatherer` munin plugin (in `tahoe-stats`).
//! - [`run`]: the main loop.

pub mod aggregate;
pub mod api;
pub mod collection;
pub mod encode;
pub mod fit;
pub mod ingest;
pub mod lines;
pub mod metrics;
pub mod names;
pub mod options;
pub mod plugin;
pub mod poll;
pub mod provider;
pub mod query;
pub mod reply;
pub mod run;
pub mod status;
pub mod table;
