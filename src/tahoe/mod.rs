//! The Tahoe-LAFS munin plugins behind the `tahoe-stats` multi-call binary.
//!
//! - [`value`]: the decoded snapshot, Python values in one arena.
//! - [`pickle`]: the plain-data pickle decoder (protocols 0 to 5).
//! - [`json`]: the `stats.json` reader.
//! - [`snapshot`]: reading a snapshot file, by content.
//! - [`keys`]: which node a key of the snapshot names.
//! - [`graphs`]: the lookup table of graphs by plugin name.
//! - [`render`]: config and fetch output of snapshot graphs.
//! - [`disk`]: the per-node graphs that read base directories and /proc.
//! - [`plugin`]: the program: dispatch on the name, modes, errors.

pub mod disk;
pub mod graphs;
pub mod json;
pub mod keys;
pub mod pickle;
pub mod plugin;
pub mod render;
pub mod snapshot;
pub mod value;
