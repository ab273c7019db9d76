//! The munin master: polling the nodes listed in `munin.conf`, storing
//! their values in RRD files, checking limits, and drawing the site.
//!
//! Three rooms, in the order a cron run goes through them, and what they
//! share beside them:
//!
//! - [`poll`]: one conversation with a node, its replies, and what they
//!   mean on disk.
//! - [`store`]: the values into RRD files (librrd in worker processes,
//!   rrdcached, carbon), and what is kept of each host's poll.
//! - [`site`]: the graphs and pages of htmldir, and `serve`.
//! - [`conf`]: munin.conf, includes, host sections and overrides.
//! - [`state`]: last config (hashed), values and status, for the later steps.
//! - [`update`]: a whole run: every host polled, its values stored.
//! - [`limits`]: warning/critical on the last values, contacts told as
//!   munin-limits tells them, and Nagios checks.
//! - [`selfstats`]: the master's own numbers as a graph of its own.
//! - [`lock`]: one update at a time.
//! - [`librrd`]: librrd's C calls the rrd crate lacks, and their lock.
//! - [`explore`]: any-range graphs, CSV/JSON data and `/metrics` for `serve`.
//! - [`expr`]: chained expressions over stored series, drawn by librrd.
//! - [`fleet`]: simulated nodes for tests and benchmarks (`munin-fleet`).

pub mod conf;
pub mod explore;
pub mod expr;
pub mod fleet;
pub mod librrd;
pub mod limits;
pub mod lock;
pub mod poll;
pub mod selfstats;
pub mod site;
pub mod state;
pub mod store;
pub mod update;
