//! Storing: a host's planned values into RRD files and the other sinks,
//! and what is remembered of its poll.
//!
//! - [`layout`]: Munin's RRD file names, safe against names from the network.
//! - [`rrdfile`]: creating and updating one RRD file through librrd.
//! - [`tune`]: bringing an existing file's min/max in line with its config.
//! - [`workers`]: worker processes where librrd runs (stores and graphs).
//! - [`sinks`]: where values go: the workers, rrdcached, carbon.
//! - [`rrdcached`]: rrdcached's batch protocol.
//! - [`carbon`]: Graphite's plaintext protocol.
//! - [`keep`]: one host's poll stored and remembered.

pub mod carbon;
pub mod keep;
pub mod layout;
pub mod rrdcached;
pub mod rrdfile;
pub mod sinks;
pub mod tune;
pub mod workers;
