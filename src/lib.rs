//! munin-rs: a Munin-compatible monitoring system.
//!
//! This crate holds the library shared by the binaries in `src/bin/`. The node
//! server (`munin-node`) and its debugging twin (`munin-run`) are thin `main`s
//! over the modules below.
//!
//! # Layout
//!
//! - [`config`]: the configuration files a Munin node reads: `munin-node.conf`
//!   and the `plugin-conf.d` directory, with the precedence rules of the real
//!   Munin 2.0 node.
//! - [`plugin`]: finding plugins in the plugins directory and running one the
//!   way munin-node does (environment, user and group, timeout, output cap).
//! - [`node`]: the TCP server speaking the munin-node protocol: access control,
//!   line framing, command parsing, the per-connection session and the plugin
//!   registry built at start-up.
//! - [`plugins`]: the built-in plugins of `munin-plugins` (cpu, memory, ...).
//! - [`proc`]: `ProcRoot`, where built-in plugins read /proc and /sys.
//! - [`settings`]: how command-line options, the config file and the built-in
//!   defaults combine into the settings both binaries run with.
//! - [`tahoe`]: the Tahoe-LAFS plugins of the `tahoe-stats` binary.
//! - [`gatherer`]: the `stats-gatherer` daemon that writes their snapshot.
//! - [`master`]: the munin master (`munin-master`): polling nodes into RRD
//!   files, limits, the site. Behind the `master` feature (on by default),
//!   the one part that needs librrd.
//! - [`logging`]: log set-up shared by the binaries.
//! - [`atomic_file`]: replacing a file whole (gatherer snapshot, master state).
//! - [`clock`]: wall-clock seconds since the epoch.
//! - [`numfmt`]: numbers printed as Perl and Python 2 print them.
//! - [`threshold`]: warning/critical limits and the order of severity.
//! - [`sys`]: small wrappers over the operating system (host name, root check).

pub mod atomic_file;
pub mod clock;
pub mod config;
pub mod gatherer;
pub mod logging;
#[cfg(feature = "master")]
pub mod master;
pub mod node;
pub mod numfmt;
pub mod plugin;
pub mod plugins;
pub mod proc;
pub mod settings;
pub mod sys;
pub mod tahoe;
pub mod threshold;
