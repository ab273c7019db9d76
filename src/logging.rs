//! Log set-up shared by the binaries: `tracing` to stderr, or appended to
//! munin-node.conf's `log_file`. `RUST_LOG` may name a level (`debug`,
//! `warn`, ...); per-module filters are not supported, to keep the daemon
//! small.

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
