//! The per-node graphs of the 2008 scripts, which read each node's base
//! directory (`env.basedir_<NODE>`) or process instead of the snapshot:
//! share files, storage space, shares per file, dirnodes, and memory.
//!
//! Each behaves as its script did: nodes sorted by name, `draw LINE2`, one
//! value per node; a directory that cannot be read stops the output with an
//! error after the nodes already printed (the scripts crashed there), except
//! the share count, which like `os.walk` counts what it can read.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use walkdir::WalkDir;

use super::render::header;

/// `(node, value)` for every environment variable named `<prefix><node>`,
/// sorted by node, then value, as the scripts sorted their tuples.
pub fn prefixed_vars(env: &[(OsString, OsString)], prefix: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = env
        .iter()
        .filter_map(|(k, v)| {
            let k = k.to_str()?;
            let node = k.strip_prefix(prefix)?;
            Some((node.to_string(), v.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}

/// Config of a basedir graph: the header and one LINE2 series per node.
pub fn basedir_config(out: &mut Vec<u8>, head: &[(&str, &str)], nodes: &[(String, String)]) {
    header(out, head);
    for (node, _) in nodes {
        out.extend_from_slice(format!("{node}.label {node}\n{node}.draw LINE2\n").as_bytes());
    }
}

/// Share files under `<basedir>/storage/shares`, not counting `incoming`.
/// Unreadable or missing directories count as empty, as with `os.walk`.
pub fn count_share_files(basedir: &Path) -> u64 {
    let root = basedir.join("storage").join("shares");
    let walk = WalkDir::new(&root)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| {
            !(e.depth() == 1 && e.file_name() == "incoming" && e.file_type().is_dir())
        });
    walk.filter_map(Result::ok)
        .filter(|e| {
            // os.walk files everything that is not a directory, following
            // symlinks for that test.
            let ft = e.file_type();
            !(ft.is_dir() || (ft.is_symlink() && e.path().is_dir()))
        })
        .count() as u64
}

/// What `du --bytes --summarize <dir>` prints: apparent sizes of everything
/// under `dir` (the directory itself included), each inode counted once.
pub fn du_bytes(dir: &Path) -> Result<u64, String> {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    for entry in WalkDir::new(dir) {
        let entry = entry.map_err(|e| format!("du {}: {e}", dir.display()))?;
        let meta = entry
            .metadata()
            .map_err(|e| format!("du {}: {e}", entry.path().display()))?;
        if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        total += meta.len();
    }
    Ok(total)
}

/// Shares per stored file: entries of each storage index directory, over
/// the number of those directories.
pub fn shares_per_file(basedir: &Path) -> Result<f64, String> {
    let root = basedir.join("storage").join("shares");
    let read = |p: &Path| std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()));
    let (mut files, mut shares) = (0u64, 0u64);
    for entry in read(&root)? {
        let entry = entry.map_err(|e| format!("{}: {e}", root.display()))?;
        if entry.file_name() == "incoming" {
            continue;
        }
        files += 1;
        shares += read(&entry.path())?.count() as u64;
    }
    Ok(if files > 0 {
        shares as f64 / files as f64
    } else {
        0.0
    })
}

/// Entries of `<basedir>/vdrive`, not counting `root`.
pub fn dirnodes(basedir: &Path) -> Result<u64, String> {
    let vdrive = basedir.join("vdrive");
    let n = std::fs::read_dir(&vdrive)
        .map_err(|e| format!("{}: {e}", vdrive.display()))?
        .count() as u64;
    Ok(if vdrive.join("root").exists() {
        n - 1
    } else {
        n
    })
}

/// The pid of the Tahoe node running in `nodedir`: `twistd.pid` as written
/// by `tahoe start` (2008), or `running.process` (`tahoe run`, since 1.15).
pub fn node_pid(nodedir: &Path) -> Result<Option<u32>, String> {
    for file in ["twistd.pid", "running.process"] {
        let path = nodedir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let first = text.split_whitespace().next().unwrap_or("");
                return first
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{}: not a pid: {first:?}", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(None)
}

/// The memory fields graphed per node, and their line styles.
pub const MEMORY_FIELDS: [(&str, &str); 2] = [("VmSize", "LINE2"), ("VmRSS", "LINE1")];

/// VmSize and VmRSS in bytes from a `/proc/<pid>/status` text.
pub fn parse_status(text: &str) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    for (field, _) in MEMORY_FIELDS {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| {
                let digits: String = rest
                    .trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse::<u64>().ok()
            });
        if let Some(kb) = value {
            out.push((field, kb * 1024));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let text = "Name:\ttahoe\nVmPeak:\t  9 kB\nVmSize:\t  123456 kB\nVmRSS:\t   4567 kB\n";
        assert_eq!(
            parse_status(text),
            vec![("VmSize", 123456 * 1024), ("VmRSS", 4567 * 1024)]
        );
        assert_eq!(parse_status("Name: x\n"), vec![]);
    }

    #[test]
    fn nodes_sorted_by_name() {
        let env = vec![
            (OsString::from("basedir_b"), OsString::from("/b")),
            (OsString::from("PATH"), OsString::from("/bin")),
            (OsString::from("basedir_a"), OsString::from("/a")),
        ];
        assert_eq!(
            prefixed_vars(&env, "basedir_"),
            vec![("a".into(), "/a".into()), ("b".into(), "/b".into())]
        );
    }

    #[test]
    fn share_files_skip_incoming_and_count_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let shares = dir.path().join("storage/shares");
        for p in ["aa/aaaa", "ab/abcd", "incoming/aa/aaaa"] {
            std::fs::create_dir_all(shares.join(p)).unwrap();
        }
        for f in ["aa/aaaa/0", "aa/aaaa/3", "ab/abcd/1", "incoming/aa/aaaa/2"] {
            std::fs::write(shares.join(f), b"share").unwrap();
        }
        assert_eq!(count_share_files(dir.path()), 3);
        assert_eq!(count_share_files(&dir.path().join("missing")), 0);
        assert_eq!(
            shares_per_file(dir.path()).unwrap(),
            1.0,
            "2 index dirs with 1 entry each"
        );
    }
}
