//! The munin master: polling the nodes listed in `munin.conf`, storing
//! their values in RRD files, checking limits, and drawing the site.
//!
//! - [`conf`]: munin.conf, includes, host sections and overrides.
//! - [`session`]: one conversation with a node, under deadlines.
//! - [`reply`]: config and fetch replies split into services and fields.
//! - [`layout`]: Munin's RRD file names, safe against names from the network.
//! - [`plan`]: what a poll means on disk: each field's file, type and value.
//! - [`store`]: creating and updating the RRD files through librrd.
//! - [`librrd`]: librrd's C calls the rrd crate lacks, and their lock.
//! - [`sinks`]: where values go: the workers, rrdcached, carbon.
//! - [`rrdcached`]: rrdcached's batch protocol.
//! - [`carbon`]: Graphite's plaintext protocol.
//! - [`state`]: last config (hashed), values and status, for the later steps.
//! - [`tune`]: bringing an existing file's min/max in line with its config.
//! - [`keep`]: one host's poll stored and remembered.
//! - [`selfstats`]: the master's own numbers as a graph of its own.
//! - [`update`]: a whole run: every host polled, its values stored.
//! - [`workers`]: store worker processes, where librrd runs.
//! - [`limits`]: warning/critical on the last values, notifications, checks.
//! - [`lock`]: one update at a time.
//! - [`graphdef`]: a Munin graph as librrd graph arguments.
//! - [`render`]: one PNG drawn by librrd.
//! - [`pngfast`]: cheaper PNG encoding for librrd's graphs.
//! - [`sitemap`]: where pages and graphs live; HTML escaping.
//! - [`pages`]: the site's pages as HTML.
//! - [`html`]: the site written incrementally, graphs on a budget.
//! - [`serve`]: htmldir over HTTP, graphs drawn on demand.
//! - [`fleet`]: simulated nodes for tests and benchmarks (`munin-fleet`).

pub mod carbon;
pub mod conf;
pub mod fleet;
pub mod graphdef;
pub mod html;
pub mod keep;
pub mod layout;
pub mod librrd;
pub mod limits;
pub mod lock;
pub mod pages;
pub mod plan;
pub mod pngfast;
pub mod render;
pub mod reply;
pub mod rrdcached;
pub mod selfstats;
pub mod serve;
pub mod session;
pub mod sinks;
pub mod sitemap;
pub mod state;
pub mod store;
pub mod tune;
pub mod update;
pub mod workers;
