//! Polling: what munin-update does with one node.
//!
//! - [`session`]: one conversation with a node, under deadlines, and the
//!   typed reasons it can fail.
//! - [`reply`]: config and fetch replies split into services and fields.
//! - [`plan`]: what a poll means on disk: each field's file, type and value.

pub mod plan;
pub mod reply;
pub mod session;
pub mod transport;
