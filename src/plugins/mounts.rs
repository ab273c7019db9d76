//! The file systems `df` and `df_inode` graph: what GNU `df -P -l` lists,
//! from /proc/self/mountinfo and statvfs, which Munin's plugins run df for.
//!
//! Kept: local file systems (no `host:` or `//server` source, no network
//! types), not dummy types (proc, sysfs, ..., `none` unless bind-mounted),
//! not in the plugin's excluded types, with an absolute mount point and
//! blocks. A mount hidden by a later one on the same point is replaced by
//! it. One entry per device: an entry whose source is a path beats one
//! whose is not, else the shorter mount point wins; the survivor keeps the
//! place the device was first seen.

use crate::proc::{FsStats, ProcRoot, unescape_mount};

/// One mounted file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dev: String,
    /// Path inside the file system that is mounted (not `/` for bind mounts).
    pub root: String,
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
}

/// Parses /proc/self/mountinfo; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let h: Vec<&str> = head.split_whitespace().collect();
            let t: Vec<&str> = tail.split_whitespace().collect();
            Some(Mount {
                dev: h.get(2)?.to_string(),
                root: unescape_mount(h.get(3)?),
                mount_point: unescape_mount(h.get(4)?),
                fstype: t.first()?.to_string(),
                source: unescape_mount(t.get(1)?),
            })
        })
        .collect()
}

const REMOTE_TYPES: &[&str] = &[
    "acfs",
    "afs",
    "coda",
    "auristorfs",
    "fhgfs",
    "gpfs",
    "ibrix",
    "ocfs2",
    "vxfs",
];
const DUMMY_TYPES: &[&str] = &[
    "autofs",
    "proc",
    "subfs",
    "debugfs",
    "devpts",
    "fusectl",
    "fuse.portal",
    "mqueue",
    "rpc_pipefs",
    "sysfs",
    "devfs",
    "kernfs",
    "ignore",
];

fn is_remote(m: &Mount) -> bool {
    m.source.contains(':')
        || (m.source.starts_with("//") && matches!(m.fstype.as_str(), "smbfs" | "smb3" | "cifs"))
        || REMOTE_TYPES.contains(&m.fstype.as_str())
        || m.source == "-hosts"
}

fn is_dummy(m: &Mount) -> bool {
    DUMMY_TYPES.contains(&m.fstype.as_str()) || (m.fstype == "none" && m.root == "/")
}

/// A listed file system with its sizes.
#[derive(Debug, Clone)]
pub struct Listed {
    pub mount: Mount,
    pub stats: FsStats,
}

/// What `df -P -l -x <excluded types>` lists, in its order.
pub fn list(root: &ProcRoot, excluded_types: &[&str]) -> Vec<Listed> {
    let Ok(text) = root.read_proc("self/mountinfo") else {
        return Vec::new();
    };
    let mut out: Vec<Listed> = Vec::new();
    for m in parse_mountinfo(&text) {
        if is_remote(&m)
            || is_dummy(&m)
            || excluded_types.contains(&m.fstype.as_str())
            || !m.mount_point.starts_with('/')
        {
            continue;
        }
        // Unreadable (EACCES) or vanished (ENOENT) mounts are skipped, as df does.
        let Ok(stats) = root.statvfs(&m.mount_point) else {
            continue;
        };
        if stats.blocks == 0 {
            continue;
        }
        // What stat() sees at a mount point is its top mount: a later mount
        // on the same point hides the earlier one (in its place in the list).
        if let Some(hidden) = out
            .iter_mut()
            .find(|l| l.mount.mount_point == m.mount_point)
        {
            *hidden = Listed { mount: m, stats };
            continue;
        }
        match out.iter_mut().find(|l| l.mount.dev == m.dev) {
            Some(seen) => {
                let has_path = |x: &Mount| x.source.contains('/');
                let better = (has_path(&m) && !has_path(&seen.mount))
                    || (has_path(&m) == has_path(&seen.mount)
                        && (m.mount_point == seen.mount.mount_point
                            || (m.mount_point.len() < seen.mount.mount_point.len()
                                && m.root.len() <= seen.mount.root.len())));
                if better {
                    *seen = Listed { mount: m, stats };
                }
            }
            None => out.push(Listed { mount: m, stats }),
        }
    }
    out
}

/// df's 1024-byte columns, rounded up as df rounds: (used, available).
pub fn block_columns(s: &FsStats) -> (u64, u64) {
    let kib = |blocks: u64| ((blocks as u128 * s.block_size as u128).div_ceil(1024)) as u64;
    (
        kib(s.blocks.saturating_sub(s.blocks_free)),
        kib(s.blocks_avail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
23 22 0:21 / /proc rw - proc proc rw\n\
24 22 0:5 / /dev rw - devtmpfs udev rw\n\
25 24 0:22 / /dev/shm rw - tmpfs tmpfs rw\n\
26 24 0:22 / /dev/shm rw - tmpfs tmpfs rw\n\
27 22 0:40 / /mnt/nfs rw - nfs4 server:/export rw\n\
28 22 254:0 /srv /srv-bind rw - ext4 /dev/vda rw\n\
29 22 0:41 / /mnt/my\\040disk rw - ext4 /dev/vdb rw\n";

    #[test]
    fn mountinfo_fields() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 8);
        assert_eq!(
            m[0],
            Mount {
                dev: "254:0".into(),
                root: "/".into(),
                mount_point: "/".into(),
                fstype: "ext4".into(),
                source: "/dev/vda".into()
            }
        );
        assert_eq!(m[7].mount_point, "/mnt/my disk");
    }

    #[test]
    fn what_df_lists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/self")).unwrap();
        std::fs::write(dir.path().join("proc/self/mountinfo"), MOUNTINFO).unwrap();
        std::fs::write(
            dir.path().join("statvfs"),
            "/ 4096 100 40 30 1000 900\n/dev 4096 10 10 10 100 90\n/dev/shm 4096 10 10 10 100 90\n\
             /srv-bind 4096 100 40 30 1000 900\n/mnt/my\\040disk 4096 5 1 1 10 1\n/proc 4096 0 0 0 0 0\n",
        )
        .unwrap();
        let root = ProcRoot::snapshot(dir.path());
        let got: Vec<String> = list(&root, &["devtmpfs"])
            .into_iter()
            .map(|l| l.mount.mount_point)
            .collect();
        assert_eq!(
            got,
            vec!["/", "/dev/shm", "/mnt/my disk"],
            "no proc, nfs, excluded type, duplicate or bind mount"
        );
    }

    #[test]
    fn columns_round_up() {
        let s = FsStats {
            block_size: 512,
            blocks: 3,
            blocks_free: 0,
            blocks_avail: 1,
            files: 0,
            files_free: 0,
        };
        assert_eq!(block_columns(&s), (2, 1));
    }
}
