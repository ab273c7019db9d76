//! The command line of every binary, as clap definitions the binaries
//! parse with and `examples/gen-docs.rs` turns into man pages and shell
//! completions.
//!
//! One file per binary: [`node`] (`munin-node`), [`run`] (`munin-run`),
//! [`plugins`] (`munin-plugins`), [`tahoe`] (`tahoe-stats`), [`gatherer`]
//! (`stats-gatherer`, whose options live in
//! [`crate::gatherer::options`] beside the config file that takes the
//! same names), [`master`] (`munin-master`), [`fleet`] (`munin-fleet`),
//! [`async_client`] (`munin-async`) and [`asyncd`] (`munin-asyncd`). The
//! node's options shared with `munin-run` are
//! [`crate::settings::Overrides`].
//!
//! `--help` is kept to one screen (24 lines of 80 columns, which
//! `tests/cli.rs` checks): each option's help is one short line, and no
//! option has a `long_help` (one would switch `--help` to clap's long
//! layout, two or three lines per option). What does not fit goes into
//! each file's [`Manual`], which only the man page shows.
//!
//! `munin-plugins` and `tahoe-stats` are called under plugin names and read
//! their arguments by hand; their [`clap::Command`] only describes them
//! for the man page and completions, and their `--help` text is kept
//! beside it.
//!
//! Nothing here needs librrd: the module builds with
//! `--no-default-features`, so a node-only build can make the docs too.

pub mod async_client;
pub mod asyncd;
pub mod fleet;
pub mod gatherer;
pub mod master;
pub mod node;
pub mod plugins;
pub mod run;
pub mod tahoe;

/// What every binary's `--version` says after its name: the crate's
/// version and the git commit it was built from (`unknown` outside a git
/// checkout unless `MUNIN_RS_COMMIT` was set at build time; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MUNIN_RS_COMMIT"),
    ")"
);

/// What a man page says beyond `--help`.
///
/// Text is plain (no roff): paragraphs separated by blank lines. A
/// paragraph whose first line starts at the margin and whose other lines
/// are indented is an item: the first line is the term, the rest its
/// description (`FILE` then what it is, as in a FILES section).
#[derive(Debug, Clone, Copy)]
pub struct Manual {
    /// The DESCRIPTION section.
    pub description: &'static str,
    /// Longer text for options, by argument id (the field name): replaces
    /// the one-line help in the OPTIONS section.
    pub options: &'static [(&'static str, &'static str)],
    /// Sections after OPTIONS: heading (`EXIT STATUS`, `FILES`, `SEE
    /// ALSO`, ...) and text.
    pub sections: &'static [(&'static str, &'static str)],
    /// The pages of subcommands (`munin-master-update`), by subcommand name.
    pub subcommands: &'static [(&'static str, &'static Manual)],
}

impl Manual {
    /// A manual with only a description.
    pub const fn new(description: &'static str) -> Manual {
        Manual {
            description,
            options: &[],
            sections: &[],
            subcommands: &[],
        }
    }
}
