//! Appending records to the spool, and keeping it bounded.
//!
//! A record is written with one `write` on an append-only descriptor under
//! an exclusive `flock` (munin-async's reader takes a shared one), then
//! `fdatasync`: a record that was reported written survives a crash. A
//! record torn by a crash ends without its newline; the next append first
//! ends that line, so the torn part stands alone as one line the reader
//! skips, and the new record is whole.
//!
//! Bounds: files older than `interval_size × interval_keep` go (by
//! mtime, as munin-async's cleanup), and past `max_bytes` in all the
//! oldest intervals go first.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::{DEFAULT_INTERVAL, DEFAULT_KEEP, files, meta, sanitise};

/// Default bound on the whole spool.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// A spool directory being written.
#[derive(Debug, Clone)]
pub struct Writer {
    pub dir: PathBuf,
    pub interval_size: u64,
    pub interval_keep: u64,
    pub max_bytes: u64,
}

impl Writer {
    /// Opens `dir` (created if missing). Sizes not given come from
    /// SPOOL-META, else munin-async's defaults; what is used is written
    /// back, with the node's `hostname`, for the reader.
    pub fn open(
        dir: &Path,
        interval_size: Option<u64>,
        interval_keep: Option<u64>,
        hostname: &str,
    ) -> std::io::Result<Writer> {
        std::fs::create_dir_all(dir)?;
        let m = meta::read(dir);
        let from_meta = |k: &str| {
            m.get(k)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n > 0)
        };
        let size = interval_size
            .filter(|n| *n > 0)
            .or_else(|| from_meta("interval_size"))
            .unwrap_or(DEFAULT_INTERVAL);
        let keep = interval_keep
            .filter(|n| *n > 0)
            .or_else(|| from_meta("interval_keep"))
            .unwrap_or(DEFAULT_KEEP);
        for (k, v) in [
            ("interval_size", size.to_string()),
            ("interval_keep", keep.to_string()),
            ("hostname", hostname.to_string()),
        ] {
            if m.get(k) != Some(&v) {
                meta::set(dir, k, &v)?;
            }
        }
        Ok(Writer {
            dir: dir.to_path_buf(),
            interval_size: size,
            interval_keep: keep,
            max_bytes: DEFAULT_MAX_BYTES,
        })
    }

    /// The file `plugin`'s record at `when` goes to.
    pub fn file_for(&self, plugin: &str, when: u64) -> PathBuf {
        let start = when - when % self.interval_size;
        self.dir.join(format!(
            "munin-daemon.{}.{start}.{}",
            sanitise(plugin),
            self.interval_size
        ))
    }

    /// Appends one record: `plugin`'s `rows` (its config and fetch lines)
    /// sampled at `when`.
    pub fn append(&self, when: u64, plugin: &str, rows: &[String]) -> std::io::Result<()> {
        let mut record = format!("timestamp {when}\n");
        if !rows.first().is_some_and(|r| r.starts_with("multigraph")) {
            // The file name's form, as munin-async writes it.
            record.push_str(&format!("multigraph {}\n", sanitise(plugin)));
        }
        for row in rows {
            if row.is_empty() || row == "." || row.contains('\n') {
                continue;
            }
            record.push_str(row);
            record.push('\n');
        }
        let path = self.file_for(plugin, when);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let mut file = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| std::io::Error::other(format!("{}: flock: {e}", path.display())))?;
        if torn(&mut file)? {
            record.insert(0, '\n');
        }
        file.write_all(record.as_bytes())?;
        file.sync_data()
    }

    /// Removes what is past the bounds; returns how many files went.
    pub fn cleanup(&self) -> std::io::Result<usize> {
        let max_age = self.interval_size.saturating_mul(self.interval_keep);
        let now = std::time::SystemTime::now();
        let mut removed = 0;
        let mut kept = Vec::new();
        for f in files(&self.dir)? {
            let Ok(md) = std::fs::metadata(&f.path) else {
                continue;
            };
            let age = md
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .map_or(0, |d| d.as_secs());
            if age > max_age {
                std::fs::remove_file(&f.path)?;
                removed += 1;
            } else {
                kept.push((f.start, f.path, md.len()));
            }
        }
        let mut total: u64 = kept.iter().map(|k| k.2).sum();
        kept.sort();
        for (_, path, len) in kept {
            if total <= self.max_bytes {
                break;
            }
            std::fs::remove_file(&path)?;
            total -= len;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Whether the file's last byte is not a newline (a record torn by a
/// crash).
fn torn(file: &mut std::fs::File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::open(dir.path(), Some(3600), None, "node1").unwrap();
        let rows = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        w.append(
            7200,
            "load",
            &rows("graph_title Load\nload.label load\nload.value 0.5\n."),
        )
        .unwrap();
        let path = w.file_for("load", 7300);
        assert!(path.ends_with("munin-daemon.load.7200.3600"));
        // A crash in the middle of the next record.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"timestamp 7260\nmultigraph load\nload.va")
            .unwrap();
        w.append(7320, "load", &rows("multigraph load\nload.value 0.7"))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "timestamp 7200\nmultigraph load\ngraph_title Load\nload.label load\nload.value 0.5\n\
             timestamp 7260\nmultigraph load\nload.va\ntimestamp 7320\nmultigraph load\nload.value 0.7\n"
        );
        let m = meta::read(dir.path());
        assert_eq!(
            (m["interval_size"].as_str(), m["hostname"].as_str()),
            ("3600", "node1")
        );
    }

    #[test]
    fn the_oldest_intervals_go_past_max_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(dir.path(), Some(100), Some(1000), "n").unwrap();
        let row = vec!["x.value 1".to_string()];
        for t in 10..20 {
            w.append(t * 100, "p", &row).unwrap();
        }
        let one = std::fs::metadata(w.file_for("p", 1000)).unwrap().len();
        w.max_bytes = one * 3;
        assert_eq!(w.cleanup().unwrap(), 7);
        let left: Vec<u64> = files(dir.path()).unwrap().iter().map(|f| f.start).collect();
        assert_eq!(left, vec![1700, 1800, 1900]);
    }
}
