//! Log set-up shared by the binaries, one call at the top of each `main`
//! that logs: daemons ([`init`]: munin-node, munin-run, stats-gatherer) log
//! `tracing` events with time and level to stderr or munin-node.conf's
//! `log_file`; command-line programs ([`init_cli`]: munin-master,
//! munin-fleet) say `program: message`. `RUST_LOG` may name a level
//! (`debug`, `warn`, ...); per-module filters are not supported, to keep
//! the daemon small.
//!
//! The plugin programs (`munin-plugins`, `tahoe-stats`) install none: the
//! code they run reports through its results, which they print on stderr,
//! the channel munin-node keeps for a plugin's errors, and a subscriber
//! would add 71 KB to a program every node carries (743 KB without).
//! The code they share with the node (`plugins`, `tahoe`,
//! `gatherer::plugin`, `proc`, `config`) does not log.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing::level_filters::LevelFilter;

/// Installs the global subscriber. `debug` raises the default level.
pub fn init(debug: bool, log_file: Option<&Path>) -> Result<()> {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(if debug {
            LevelFilter::DEBUG
        } else {
            LevelFilter::INFO
        });
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log_file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .init();
        }
        None => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

/// Installs the global subscriber of a command-line program (munin-master,
/// munin-fleet): each event on stderr as `program: message`, no time or
/// level, the way such programs have always said things, so that cron
/// mails stay plain. Events below `level` are
/// dropped unless `RUST_LOG` names a lower one.
pub fn init_cli(program: &'static str, level: LevelFilter) {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(level);
    // A second init (a test calling main twice) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .event_format(Plain { program })
        .try_init();
}

/// `program: message key=value`, one line per event.
struct Plain {
    program: &'static str,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Plain
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "{}: ", self.program)?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
