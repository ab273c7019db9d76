//! Reaping orphans: the plugins' children that outlive them.
//!
//! A plugin that forks (`sleep 60 &`) leaves children behind when it exits or
//! when its process group is killed. Normally init adopts and reaps them; in
//! a container whose PID 1 does not reap (or when the node is PID 1 itself)
//! they would stay as zombies forever. So the node makes itself a child
//! subreaper: orphans of its plugins are re-parented to the node, and this
//! module reaps them.
//!
//! The node's own plugin children are waited for by the code that spawned
//! them ([`super::exec`]); they are registered here as *managed* so that the
//! orphan reaper never takes their exit status. A child is registered under
//! the same lock that the reaper holds while it checks and reaps a pid, so
//! even a child that exits at once cannot be taken in between.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

static MANAGED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn with_managed<R>(f: impl FnOnce(&mut HashSet<u32>) -> R) -> R {
    // The set holds plain integers; a panic while holding the lock cannot
    // leave it inconsistent, so a poisoned lock is still usable.
    let mut guard = MANAGED.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(HashSet::new))
}

/// Starts a child with `start` (which returns its pid) and marks it as
/// waited for by its spawner, atomically with respect to the reaper.
pub fn spawn_managed<T>(
    start: impl FnOnce() -> std::io::Result<(u32, T)>,
) -> std::io::Result<(u32, T)> {
    with_managed(|m| {
        let (pid, rest) = start()?;
        m.insert(pid);
        Ok((pid, rest))
    })
}

/// The spawner has reaped `pid` (or handed it to tokio's own orphan queue).
pub fn unmanage(pid: u32) {
    with_managed(|m| m.remove(&pid));
}

/// Asks the kernel to re-parent orphaned descendants to this process.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments has no memory effects.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Reaps zombie children of this process that nobody else waits for.
/// Returns how many were reaped.
pub fn reap_orphans() -> usize {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else {
            continue;
        };
        if state != "Z" || ppid.parse::<u32>() != Ok(me) {
            continue;
        }
        let took = with_managed(|m| {
            !m.contains(&pid)
                && waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)).is_ok()
        });
        reaped += usize::from(took);
    }
    reaped
}

/// Reaps orphans whenever children exit, scanning at most once a second.
pub async fn run() {
    let mut sigchld = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(cause = %e, "cannot watch SIGCHLD; orphaned plugin children are left to init");
            return;
        }
    };
    while sigchld.recv().await.is_some() {
        let n = reap_orphans();
        if n > 0 {
            tracing::debug!(reaped = n, "reaped orphaned plugin processes");
        }
        // Signals arriving meanwhile coalesce into one wake-up.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
