//! Which entries of the plugins directory are plugins.
//!
//! The real node's rules: the entry, after following symlinks, is a regular
//! executable file; its name does not start with `.`, does not end in
//! `.conf`, has only the characters `[-A-Za-z0-9_@.:]`, and matches no
//! `ignore_file` pattern. Dangling links and directories are skipped.
//! With `paranoia` on, a plugin must also be owned by root and writable by
//! nobody else, and so must its directory.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::unistd::{AccessFlags, access};
use regex_lite::Regex;

/// Whether `name` may name a plugin at all (before looking at the file).
/// This is also the check applied to names that arrive from the network.
pub fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with(".conf")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b'.' | b':'))
}

/// What to skip besides the built-in rules.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub ignore: Vec<Regex>,
    pub paranoia: bool,
}

impl Filter {
    /// Whether `dir/name` is a plugin the node serves.
    pub fn is_runnable(&self, dir: &Path, name: &str) -> bool {
        if !is_plugin_name(name) || self.ignore.iter().any(|re| re.is_match(name)) {
            return false;
        }
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            _ => return false,
        }
        if access(&path, AccessFlags::X_OK).is_err() {
            return false;
        }
        !self.paranoia || (safe_permissions(&path) && safe_permissions(dir))
    }

    /// The plugins of `dir`, sorted by name.
    pub fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        let mut names = self.entries(dir)?;
        names.sort();
        Ok(names)
    }

    /// The plugins of `dir` in the order the directory lists them
    /// (munin-node-configure shows that order, as Munin's does).
    pub fn entries(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        Ok(std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| self.is_runnable(dir, name))
            .collect())
    }
}

/// Owned by root, not writable by group (unless the group is root) or others.
fn safe_permissions(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mode = m.mode();
            m.uid() == 0 && (m.gid() == 0 || mode & 0o020 == 0) && mode & 0o002 == 0
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn names() {
        assert!(is_plugin_name("if_eth0"));
        assert!(is_plugin_name("plug@in:a.b-c"));
        assert!(!is_plugin_name(".hidden"));
        assert!(!is_plugin_name("x.conf"));
        assert!(!is_plugin_name("bad+name"));
        assert!(!is_plugin_name("../etc/passwd"));
        assert!(!is_plugin_name("a/b"));
        assert!(!is_plugin_name(""));
    }

    #[test]
    fn directory_rules() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |name: &str, mode: u32| {
            let p = d.join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("good", 0o755);
        write("notexec", 0o644);
        write("backup~", 0o755);
        write(".hidden", 0o755);
        write("x.conf", 0o755);
        symlink("good", d.join("alias")).unwrap();
        symlink("/nonexistent/plugin", d.join("dangling")).unwrap();
        std::fs::create_dir(d.join("subdir")).unwrap();
        let filter = Filter {
            ignore: vec![Regex::new("[#~]$").unwrap()],
            paranoia: false,
        };
        assert_eq!(filter.list(d).unwrap(), vec!["alias", "good"]);
    }
}
