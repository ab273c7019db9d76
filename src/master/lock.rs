//! One update at a time: an exclusive `flock` on `<rundir>/munin-master-update.lock`.
//!
//! The kernel drops the lock when its holder exits, however it exits, so a
//! killed run never leaves a lock that blocks the next one (the file stays,
//! holding the last holder's pid for messages, and is simply locked again).
//! A run that finds the lock held says so in one line and leaves the work to
//! the run in progress: no piling up under cron, no "Lock already exists"
//! every minute.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

/// Held while the run lasts.
pub struct RunLock(#[allow(dead_code)] Flock<File>);

/// What trying the lock found.
pub enum Acquired {
    Mine(RunLock),
    /// Another run holds it; its pid as written in the file.
    Busy(String),
}

/// Tries the lock in `rundir` (created if missing).
pub fn acquire(rundir: &Path) -> Result<Acquired, String> {
    std::fs::create_dir_all(rundir).map_err(|e| format!("{}: {e}", rundir.display()))?;
    let path = rundir.join("munin-master-update.lock");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut lock) => {
            let pid = std::process::id().to_string();
            // The pid is only for messages: a failed write costs nothing.
            let _ = lock.set_len(0);
            let _ = lock.rewind();
            let _ = lock.write_all(pid.as_bytes());
            Ok(Acquired::Mine(RunLock(lock)))
        }
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Ok(Acquired::Busy(pid.trim().to_string()))
        }
        Err((_, e)) => Err(format!("{}: cannot lock: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_told_who_runs() {
        let d = tempfile::tempdir().unwrap();
        let first = acquire(d.path()).unwrap();
        assert!(matches!(first, Acquired::Mine(_)));
        match acquire(d.path()).unwrap() {
            Acquired::Busy(pid) => assert_eq!(pid, std::process::id().to_string()),
            Acquired::Mine(_) => panic!("locked twice"),
        }
        drop(first);
        assert!(
            matches!(acquire(d.path()).unwrap(), Acquired::Mine(_)),
            "released on drop"
        );
    }
}
