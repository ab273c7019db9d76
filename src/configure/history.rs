//! `--newer VERSION`: which 'auto' plugins a library gained after a Munin
//! release, from the library's `plugins.history` (`[version]` headers, one
//! plugin per line, `os/plugin` for one operating system's).

use std::collections::HashSet;
use std::path::Path;

/// The plugins added after a version.
#[derive(Debug, Default)]
pub struct History {
    newer: HashSet<String>,
}

/// Why `--newer` cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("version '{version}' is not in {path}")]
    UnknownVersion { version: String, path: String },
}

impl History {
    /// Reads `file` for plugins added after `version` on this operating
    /// system (`linux`). `Ok(None)` when the library has no history file.
    pub fn load(file: &Path, version: &str) -> Result<Option<History>, HistoryError> {
        let text = match std::fs::read(file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(HistoryError::Read {
                    path: file.display().to_string(),
                    source,
                });
            }
        };
        parse(&text, version, std::env::consts::OS)
            .map(Some)
            .ok_or_else(|| HistoryError::UnknownVersion {
                version: version.to_string(),
                path: file.display().to_string(),
            })
    }

    /// Whether an 'auto' plugin is older than the version (and skipped).
    pub fn too_old(&self, name: &str) -> bool {
        !self.newer.contains(name)
    }
}

/// The plugins listed under the versions after `version`; `None` when
/// `version` has no header.
fn parse(text: &str, version: &str, os: &str) -> Option<History> {
    let mut h = History::default();
    // 0: not reached, 1: in `version`'s own section, 2: after it.
    let mut reached = 0u8;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(v) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if v == version {
                reached = 1;
            } else if reached > 0 {
                reached = 2;
            }
        } else if reached < 2 {
            continue;
        } else if let Some((system, plugin)) = line.split_once('/') {
            if system == os {
                h.newer.insert(plugin.to_string());
            }
        } else {
            h.newer.insert(line.to_string());
        }
    }
    (reached > 0).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "# history\n[1.0]\ncpu\n[1.2]\ndf # disk\nlinux/if_\nfreebsd/swap\n[1.4]\nntp_\n";

    #[test]
    fn lists_what_came_after_the_version_for_this_system() {
        let h = parse(TEXT, "1.0", "linux").unwrap();
        assert!(h.too_old("cpu"));
        assert!(!h.too_old("df"));
        assert!(!h.too_old("if_"));
        assert!(h.too_old("swap"));
        assert!(!h.too_old("ntp_"));
        let h = parse(TEXT, "1.2", "linux").unwrap();
        assert!(h.too_old("df"));
        assert!(!h.too_old("ntp_"));
    }

    #[test]
    fn an_unknown_version_is_an_error() {
        assert!(parse(TEXT, "9.9", "linux").is_none());
    }
}
