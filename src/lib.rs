//! munin-rs: a Munin-compatible monitoring system.
//!
//! This crate holds the library shared by the binaries in `src/bin/`, each
//! a thin `main` over the modules below.
//!
//! # Layout
//!
//! The node side (every binary but the master):
//!
//! - [`config`]: the configuration files a Munin node reads: `munin-node.conf`
//!   and the `plugin-conf.d` directory, with the precedence rules of the real
//!   Munin 2.0 node.
//! - [`settings`]: how command-line options, the config file and the built-in
//!   defaults combine into the settings `munin-node` and `munin-run` run with.
//! - [`runner`]: running a plugin the way munin-node does: finding it in the
//!   plugins directory, its environment, user and group, timeout, output cap.
//! - [`node`]: the TCP server speaking the munin-node protocol: access control,
//!   line framing, command parsing, the per-connection session and the plugin
//!   registry built at start-up.
//! - [`plugins`]: the built-in plugins of `munin-plugins` (cpu, memory, ...),
//!   which the runner may run in-process.
//! - [`proc`]: `ProcRoot`, where built-in plugins read /proc and /sys.
//! - [`tahoe`]: the Tahoe-LAFS plugins of the `tahoe-stats` binary.
//! - [`gatherer`]: the `stats-gatherer` daemon that writes their snapshot.
//! - [`spool`]: spooled history (`munin-asyncd` and `munin-async`), in
//!   munin-async's files.
//!
//! The master, behind the `master` feature (on by default; the one part
//! that needs librrd):
//!
//! - [`master`]: `munin-master`: polling nodes into RRD files, limits, the
//!   site.
//!
//! Shared by both:
//!
//! - [`cli`]: every binary's command line and `--version`, from which
//!   `examples/gen-docs.rs` makes the man pages and shell completions.
//! - [`threshold`]: warning/critical limits and the order of severity
//!   (`munin-plugins --check` and `munin-master limits`/`check`).
//! - [`logging`]: the log set-up of each binary.
//! - [`httpd`]: the HTTP server of the gatherer's API and `munin-master
//!   serve`, with connection, header and stall limits.
//! - [`atomic_file`]: replacing a file whole (gatherer snapshot, master state).
//! - [`clock`]: wall-clock seconds since the epoch.
//! - [`numfmt`]: numbers printed as Perl and Python 2 print them.
//! - [`sys`]: small wrappers over the operating system (host name, root check).
//! - [`tls`]: STARTTLS between master and node, as Munin 2.0 does it.

pub mod atomic_file;
pub mod cli;
pub mod clock;
pub mod config;
pub mod configure;
pub mod gatherer;
pub mod httpd;
pub mod logging;
#[cfg(feature = "master")]
pub mod master;
pub mod node;
pub mod numfmt;
pub mod plugins;
pub mod proc;
pub mod runner;
pub mod settings;
pub mod spool;
pub mod sys;
pub mod tahoe;
pub mod threshold;
pub mod tls;
