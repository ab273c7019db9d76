//! `ProcRoot`: where the built-in plugins read the kernel's view of the
//! machine (`/proc`, `/sys`, and file system sizes), so that tests can point
//! them at a snapshot taken on another kernel.
//!
//! A root directory holding `proc/`, `sys/` and `dev/` stands in for the
//! real ones. Its `time` file, when present, holds the Unix time the
//! snapshot was taken, so that stateful plugins (diskstats) compute the same
//! rates on every run.
//! File system sizes (statvfs) cannot be captured as files; a snapshot holds
//! them in `statvfs` (one line per mount point: the mount point, then block
//! size, blocks, free blocks, available blocks, inodes, free inodes; the
//! mount point with spaces escaped as `\040`, as in `/proc/mounts`).

use std::io;
use std::path::{Path, PathBuf};

/// Sizes of one mounted file system, as statvfs(3) reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    pub block_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub blocks_avail: u64,
    pub files: u64,
    pub files_free: u64,
}

/// The machine the plugins look at: the real one, or a snapshot.
#[derive(Debug, Clone)]
pub struct ProcRoot {
    proc: PathBuf,
    sys: PathBuf,
    dev: PathBuf,
    /// `None` for the real machine (the system clock), else the snapshot's
    /// `time` file.
    clock: Option<PathBuf>,
    /// `None` for the real machine (ask the kernel), else the snapshot's file.
    statvfs: Option<PathBuf>,
}

impl Default for ProcRoot {
    fn default() -> Self {
        ProcRoot::system()
    }
}

impl ProcRoot {
    /// The running machine.
    pub fn system() -> ProcRoot {
        ProcRoot {
            proc: "/proc".into(),
            sys: "/sys".into(),
            dev: "/dev".into(),
            clock: None,
            statvfs: None,
        }
    }

    /// A snapshot directory holding `proc/`, `sys/` and `statvfs`.
    pub fn snapshot(dir: &Path) -> ProcRoot {
        ProcRoot {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
            dev: dir.join("dev"),
            clock: Some(dir.join("time")),
            statvfs: Some(dir.join("statvfs")),
        }
    }

    pub fn proc_path(&self, rel: &str) -> PathBuf {
        self.proc.join(rel)
    }

    pub fn sys_path(&self, rel: &str) -> PathBuf {
        self.sys.join(rel)
    }

    pub fn dev_path(&self, rel: &str) -> PathBuf {
        self.dev.join(rel)
    }

    /// Seconds since the Unix epoch: now, or when the snapshot was taken
    /// (a snapshot without a `time` file reads the system clock).
    pub fn now(&self) -> u64 {
        if let Some(t) = self
            .clock
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| t.trim().parse().ok())
        {
            return t;
        }
        crate::clock::now()
    }

    /// A file under /proc, as text.
    pub fn read_proc(&self, rel: &str) -> io::Result<String> {
        read_text(&self.proc.join(rel))
    }

    /// A file under /sys, as text.
    pub fn read_sys(&self, rel: &str) -> io::Result<String> {
        read_text(&self.sys.join(rel))
    }

    /// The numeric entries of /proc: the processes.
    pub fn pids(&self) -> Vec<u32> {
        let Ok(rd) = std::fs::read_dir(&self.proc) else {
            return Vec::new();
        };
        let mut pids: Vec<u32> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Calls `f` with the pid and the text of `/proc/<pid>/<file>` of every
    /// process (in directory order; processes that exit meanwhile are
    /// skipped). One buffer serves every read and the file is read without
    /// a size query: on a busy machine this loop is most of a plugin's time.
    pub fn each_process(&self, file: &str, mut f: impl FnMut(u32, &str)) {
        let Ok(rd) = std::fs::read_dir(&self.proc) else {
            return;
        };
        let mut path = self.proc.clone();
        let mut buf = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            path.push(&name);
            path.push(file);
            let read = read_into(&path, &mut buf);
            path.pop();
            path.pop();
            if read.is_ok() {
                f(pid, &String::from_utf8_lossy(&buf));
            }
        }
    }

    /// Whether this is the running machine's top-level PID namespace, where
    /// /proc lists every task of the kernel (in a container it lists only
    /// the container's, while /proc/loadavg still counts the host's).
    pub fn sees_all_tasks(&self) -> bool {
        // The kernel's fixed inode number of the initial PID namespace.
        const INIT_PID_NS: &str = "pid:[4026531836]";
        self.statvfs.is_none()
            && std::fs::read_link(self.proc.join("self/ns/pid"))
                .is_ok_and(|l| l.as_os_str() == INIT_PID_NS)
    }

    /// Entries of a directory under /sys (e.g. `class/net`), sorted.
    pub fn list_sys(&self, rel: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.sys.join(rel)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }

    /// Sizes of the file system mounted at `mount_point`.
    pub fn statvfs(&self, mount_point: &str) -> io::Result<FsStats> {
        match &self.statvfs {
            None => statvfs_real(mount_point),
            Some(file) => {
                let text = read_text(file)?;
                text.lines()
                    .filter_map(parse_statvfs_line)
                    .find(|(mp, _)| mp == mount_point)
                    .map(|(_, s)| s)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("no statvfs for {mount_point}"),
                        )
                    })
            }
        }
    }
}

fn read_text(path: &Path) -> io::Result<String> {
    let mut buf = Vec::new();
    read_into(path, &mut buf)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Reads a whole file into `buf`. Unlike `std::fs::read` it does not ask
/// for the file's size first: /proc and /sys report 0 or 4096 whatever the
/// contents, so the query is a wasted system call on every read.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    buf.clear();
    if buf.capacity() < 4096 {
        buf.reserve(4096);
    }
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity());
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        buf.resize(len + spare, 0);
        match f.read(&mut buf[len..]) {
            Ok(0) => {
                buf.truncate(len);
                return Ok(());
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(len),
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
}

/// Undoes the octal escapes of /proc/mounts (`\040` for a space).
pub fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_statvfs_line(line: &str) -> Option<(String, FsStats)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some((
        unescape_mount(f.first()?),
        FsStats {
            block_size: n(1)?,
            blocks: n(2)?,
            blocks_free: n(3)?,
            blocks_avail: n(4)?,
            files: n(5)?,
            files_free: n(6)?,
        },
    ))
}

fn statvfs_real(mount_point: &str) -> io::Result<FsStats> {
    let c = std::ffi::CString::new(mount_point)
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: statvfs fills the zeroed struct for a valid C string path.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(FsStats {
        block_size: s.f_frsize as u64,
        blocks: s.f_blocks as u64,
        blocks_free: s.f_bfree as u64,
        blocks_avail: s.f_bavail as u64,
        files: s.f_files as u64,
        files_free: s.f_ffree as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_escapes() {
        assert_eq!(unescape_mount("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(unescape_mount("/plain"), "/plain");
        assert_eq!(unescape_mount("/end\\04"), "/end\\04");
    }

    #[test]
    fn real_root_answers() {
        let root = ProcRoot::system();
        assert!(root.read_proc("loadavg").is_ok());
        assert!(!root.pids().is_empty());
        assert!(root.statvfs("/").unwrap().blocks > 0);
    }

    #[test]
    fn snapshot_statvfs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("statvfs"),
            "/ 4096 100 40 30 1000 900\n/mnt/a\\040b 512 10 5 5 20 10\n",
        )
        .unwrap();
        let root = ProcRoot::snapshot(dir.path());
        assert_eq!(root.statvfs("/").unwrap().blocks_avail, 30);
        assert_eq!(root.statvfs("/mnt/a b").unwrap().block_size, 512);
        assert!(root.statvfs("/nope").is_err());
    }
}
