//! The munin master: polling nodes listed in `munin.conf` (and, in later
//! steps, storing into RRD files, limits and HTML).
//!
//! - [`conf`]: munin.conf, includes, host sections and overrides.
//! - [`session`]: one conversation with a node, under deadlines.
//! - [`reply`]: config and fetch replies split into services and fields.
//! - [`layout`]: Munin's RRD file names, safe against names from the network.
//! - [`plan`]: what a poll means on disk: each field's file, type and value.

pub mod conf;
pub mod layout;
pub mod plan;
pub mod reply;
pub mod session;
