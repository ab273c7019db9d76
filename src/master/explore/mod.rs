//! Exploring graphs from `munin-master serve`: any time range at any size,
//! the data behind a graph, and the whole fleet as Prometheus metrics.
//!
//! - [`answer`]: the requests, routed and answered.
//! - [`cache`]: drawn any-range graphs, while their inputs hold.
//! - [`window`]: a request's time range and image size, checked and bounded.
//! - [`export`]: a graph's series as CSV and JSON (librrd's xport).
//! - [`zoom`]: the zoom page (Munin's `dynazoom.html` URL).
//! - [`metrics`]: `/metrics` in Prometheus' text format.

pub mod answer;
pub mod cache;
pub mod export;
pub mod metrics;
pub mod window;
pub mod zoom;
