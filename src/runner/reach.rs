//! Whether a plugin's user can reach the plugin's file at all.
//!
//! The node runs as root and forks most plugins as `nobody`. A plugin
//! directory under a private home (`/root` is mode 700 on Debian) lists
//! fine for root, and every run then fails in `execve` with a bare
//! "Permission denied". This finds the directory on the way that the
//! plugin's user may not pass, so that the log can name it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::PluginSpec;
use super::identity::Switch;

/// For a plugin the node forks as another user straight from its file (no
/// plugin-conf.d `command`): why that user cannot reach it, if it cannot.
pub fn unreachable(spec: &PluginSpec) -> Option<String> {
    if spec.builtin.is_some() || spec.conf.command.is_some() {
        return None;
    }
    let id = spec.identity.as_ref().ok()?;
    let b = blocker(&spec.path, id.switch.as_ref()?)?;
    Some(format!(
        "user {} cannot reach {}: {b} (put the plugins where every plugin user can reach them)",
        id.user_name,
        spec.path.display()
    ))
}

/// The first place on a plugin's path its user may not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// A directory without search (x) permission for the user, or the
    /// plugin file itself without execute permission.
    pub at: PathBuf,
    pub mode: u32,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is mode {:o}", self.at.display(), self.mode & 0o7777)
    }
}

/// Where `switch`'s user is stopped on the way to `path` (through the
/// link in the plugin directory, then through its target), or `None`
/// when every step may be passed or cannot be read.
pub fn blocker(path: &Path, switch: &Switch) -> Option<Blocked> {
    if switch.uid == 0 {
        return None;
    }
    let mut dirs = Vec::new();
    if let Some(parent) = path.parent().and_then(|p| p.canonicalize().ok()) {
        dirs.push(parent);
    }
    let target = path.canonicalize().ok();
    if let Some(parent) = target.as_deref().and_then(Path::parent) {
        dirs.push(parent.to_path_buf());
    }
    for dir in &dirs {
        // From the root down, so that the first blocker is named.
        let mut steps: Vec<&Path> = dir.ancestors().collect();
        steps.reverse();
        for step in steps {
            let meta = std::fs::metadata(step).ok()?;
            if !may(&meta, switch) {
                return Some(Blocked {
                    at: step.to_path_buf(),
                    mode: meta.mode(),
                });
            }
        }
    }
    let target = target?;
    let meta = std::fs::metadata(&target).ok()?;
    (meta.is_file() && !may(&meta, switch)).then(|| Blocked {
        at: target,
        mode: meta.mode(),
    })
}

/// Whether the user may search the directory (or execute the file): the
/// x bit of the owner, group or other class that applies, as the kernel
/// picks the class.
fn may(meta: &std::fs::Metadata, switch: &Switch) -> bool {
    let mode = meta.mode();
    if meta.uid() == switch.uid {
        mode & 0o100 != 0
    } else if meta.gid() == switch.gid || switch.groups.contains(&meta.gid()) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn nobody() -> Switch {
        Switch {
            uid: 65534,
            gid: 65534,
            groups: vec![65534],
        }
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_private_directory_on_the_way_is_named() {
        let top = tempfile::tempdir().unwrap();
        chmod(top.path(), 0o755);
        let home = top.path().join("home");
        let plugins = home.join("project/plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        let plugin = plugins.join("load");
        std::fs::write(&plugin, "#!/bin/sh\n").unwrap();
        chmod(&plugin, 0o755);
        // Owned by whoever runs the test, never uid 65534.
        chmod(&home, 0o700);
        let b = blocker(&plugin, &nobody()).expect("blocked");
        assert_eq!(b.at, home.canonicalize().unwrap());
        assert!(b.to_string().ends_with("home is mode 700"), "{b}");
        chmod(&home, 0o711);
        assert_eq!(blocker(&plugin, &nobody()), None);
        // The file itself without x for others.
        chmod(&plugin, 0o750);
        assert_eq!(
            blocker(&plugin, &nobody()).map(|b| b.mode & 0o777),
            Some(0o750)
        );
    }

    #[test]
    fn a_link_is_followed_to_its_target() {
        let top = tempfile::tempdir().unwrap();
        chmod(top.path(), 0o755);
        let private = top.path().join("private");
        std::fs::create_dir(&private).unwrap();
        let bin = private.join("munin-plugins");
        std::fs::write(&bin, "").unwrap();
        chmod(&bin, 0o755);
        chmod(&private, 0o700);
        let plugins = top.path().join("plugins");
        std::fs::create_dir(&plugins).unwrap();
        symlink(&bin, plugins.join("cpu")).unwrap();
        let b = blocker(&plugins.join("cpu"), &nobody()).expect("blocked");
        assert_eq!(b.at, private.canonicalize().unwrap());
        // Root passes everything.
        let root = Switch {
            uid: 0,
            gid: 0,
            groups: vec![],
        };
        assert_eq!(blocker(&plugins.join("cpu"), &root), None);
    }
}
