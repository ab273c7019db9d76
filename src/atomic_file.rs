//! Atomic file replacement: a reader sees the old file or the new one,
//! whole, never a part; a failed write (full disk, unwritable directory)
//! leaves the old file as it was.
//!
//! The original gatherer unlinked `stats.pickle` before renaming, so munin
//! could find no file at all; a plain rename over it has no such window.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file beside it, fsynced,
/// renamed over `path`, and the directory fsynced so the rename survives a
/// crash. The error names the file and the step that failed.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write(path, bytes, true)
}

/// As [`replace`] without the fsyncs: readers still see the old file or
/// the new one whole, but a power cut may lose the new one. For files that
/// are made again from the data (the site's pages), where a thousand
/// fsyncs a run would cost more than the pages.
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write(path, bytes, false)
}

/// As [`replace`], with the content written by `fill` into the temporary
/// file as it goes: for files too large to build in memory first. `fill`
/// may still read the old file at `path`.
pub fn replace_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), String> {
    stage_with(path, fill, true)?.commit()
}

/// A new content for a file, written (and fsynced, when asked) beside it
/// but not yet in its place: the caller renames it over the file with
/// [`Staged::commit`] once what the file describes is itself done, so the
/// writing can go on while that work does. Dropped uncommitted, the
/// temporary file goes and the old file stays.
#[must_use = "a staged file is thrown away unless committed"]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    sync: bool,
    committed: bool,
}

impl Staged {
    /// Renames the new content over the file (and fsyncs the directory,
    /// when the content was synced, so the rename survives a crash).
    pub fn commit(mut self) -> Result<(), String> {
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|e| format!("{}: cannot rename into place: {e}", self.path.display()))?;
        self.committed = true;
        if self.sync {
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            // Losing the directory sync only risks the rename after a
            // power cut.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes the new content of `path` by `fill` into its temporary file
/// (fsynced when `sync`), to be put in place by [`Staged::commit`]. The
/// error names the file and the step that failed.
pub fn stage_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
    sync: bool,
) -> Result<Staged, String> {
    let staged = Staged {
        tmp: temp_name(path),
        path: path.to_path_buf(),
        sync,
        committed: false,
    };
    let fail = |step: &str, e: std::io::Error| format!("{}: {step}: {e}", path.display());
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&staged.tmp)
        .map_err(|e| fail("cannot create temporary file", e))?;
    fill(&mut f).map_err(|e| fail("cannot write", e))?;
    if sync {
        f.sync_all().map_err(|e| fail("cannot sync", e))?;
    }
    Ok(staged)
}

fn write(path: &Path, bytes: &[u8], sync: bool) -> Result<(), String> {
    stage_with(path, |f| f.write_all(bytes), sync)?.commit()
}

/// `dir/.name.tmp`: hidden, and in the same file system as the target.
pub fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stats.pickle");
        replace(&p, b"one").unwrap();
        replace(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failure_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stats.pickle");
        replace(&p, b"old").unwrap();
        // A directory where the temporary file would go makes create fail.
        std::fs::create_dir(dir.path().join(".stats.pickle.tmp")).unwrap();
        let e = replace(&p, b"new").unwrap_err();
        assert!(
            e.contains("stats.pickle: cannot create temporary file"),
            "{e}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let e = replace(&dir.path().join("no/such/dir"), b"x").unwrap_err();
        assert!(e.contains("no/such/dir: cannot create"), "{e}");
    }

    #[test]
    fn a_staged_file_takes_its_place_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("values.json");
        replace(&p, b"old").unwrap();
        let staged = stage_with(&p, |f| f.write_all(b"new"), true).unwrap();
        // Written beside the file, which readers still see as it was.
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read(temp_name(&p)).unwrap(), b"new");
        drop(staged);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(!temp_name(&p).exists());
        stage_with(&p, |f| f.write_all(b"new"), true)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
