//! The site: htmldir's graphs and pages, and serving them.
//!
//! - [`graphdef`]: a Munin graph as librrd graph arguments.
//! - [`aggregate`]: munin.conf's graphs over other hosts' fields.
//! - [`expressions`]: munin.conf's expression graphs (`name.expr`).
//! - [`render`]: one PNG drawn by librrd.
//! - [`pngfast`]: cheaper PNG encoding for librrd's graphs.
//! - [`zfast`]: a faster deflate under those PNGs.
//! - [`sitemap`]: where pages and graphs live; HTML escaping.
//! - [`pages`]: the site's pages as HTML.
//! - [`html`]: the site written incrementally, graphs on a budget.
//! - [`serve`]: htmldir over HTTP, graphs drawn on demand.

pub mod aggregate;
pub mod expressions;
pub mod graphdef;
pub mod html;
pub mod pages;
pub mod pngfast;
pub mod render;
pub mod serve;
pub mod sitemap;
pub mod zfast;
