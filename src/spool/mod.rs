//! Spooled history, compatible with Munin's munin-async package: values
//! sampled on the node while no master polls, kept on disk, and handed
//! to the next master that asks with `spoolfetch TIMESTAMP`.
//!
//! The files are munin-async's, so either side can be Munin's:
//!
//! - `munin-daemon.<plugin>.<start>.<size>`: one per plugin and interval
//!   (a day by default), records appended in time order, each
//!   `timestamp T`, then `multigraph <plugin>` unless the plugin's reply
//!   begins with one, then the plugin's `config` and `fetch` lines;
//! - `SPOOL-META`: `key:value` lines (`interval_size`, `interval_keep`,
//!   `hostname`, `plugin_rates/<plugin>`, `lastruntime`).
//!
//! - [`meta`]: the SPOOL-META file.
//! - [`writer`]: appending records, crash-safe, and the size and age
//!   bounds.
//! - [`reader`]: `list` and `spoolfetch` answered from the files.
//! - [`sampler`]: `munin-asyncd`'s loop: each plugin's config and values
//!   from the local node, every interval.

pub mod meta;
pub mod reader;
pub mod sampler;
pub mod writer;

use std::path::{Path, PathBuf};

/// munin-async's spool directory.
pub const DEFAULT_DIR: &str = "/var/lib/munin-async";
/// Seconds of records per file (munin-async's default: a day).
pub const DEFAULT_INTERVAL: u64 = 86_400;
/// Intervals kept (munin-async's default: a week of days).
pub const DEFAULT_KEEP: u64 = 7;

/// A plugin's name as it appears in file names: every character but
/// `[A-Za-z0-9_]` becomes `_` (as munin-async writes it).
pub fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One spool file, from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolFile {
    pub plugin: String,
    pub start: u64,
    pub size: u64,
    pub path: PathBuf,
}

/// `munin-daemon.<plugin>.<start>.<size>`, else `None`.
pub fn parse_name(dir: &Path, name: &str) -> Option<SpoolFile> {
    let rest = name.strip_prefix("munin-daemon.")?;
    let (rest, size) = rest.rsplit_once('.')?;
    let (plugin, start) = rest.rsplit_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if plugin.is_empty() || !digits(start) || !digits(size) {
        return None;
    }
    Some(SpoolFile {
        plugin: plugin.to_string(),
        start: start.parse().ok()?,
        size: size.parse().ok()?,
        path: dir.join(name),
    })
}

/// The spool files in `dir`, sorted by name (munin-async's order).
pub fn files(dir: &Path) -> std::io::Result<Vec<SpoolFile>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names.iter().filter_map(|n| parse_name(dir, n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let f = parse_name(Path::new("/s"), "munin-daemon.if_eth0.1700006400.86400").unwrap();
        assert_eq!(
            (f.plugin.as_str(), f.start, f.size),
            ("if_eth0", 1_700_006_400, 86_400)
        );
        assert!(parse_name(Path::new("/s"), "munin-daemon.list").is_none());
        assert!(parse_name(Path::new("/s"), "munin-daemon..1.2").is_none());
        assert!(parse_name(Path::new("/s"), "SPOOL-META").is_none());
        assert_eq!(sanitise("if_eth0.1"), "if_eth0_1");
    }
}
