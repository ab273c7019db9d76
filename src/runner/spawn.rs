//! Starting a plugin process without copying the node's address space.
//!
//! `fork()` copies the parent's page tables and makes every page
//! copy-on-write, so its cost grows with the daemon's memory (measured: about
//! 0.35 ms more per run at a few MB than a vfork-style start). glibc's
//! `posix_spawn` avoids that with `clone(CLONE_VM | CLONE_VFORK)`, but it
//! cannot switch to the plugin's user. This module does the same kind of
//! start with the steps plugins need: a new session, the plugin's groups and
//! user, umask 002, cwd `/`, and stdin/stdout/stderr.
//!
//! The child shares the parent's memory until `execve`, so it only runs
//! system calls on data prepared beforehand, on its own stack, with all
//! signals blocked (caught signals are reset to their default before they are
//! unblocked). Credentials are changed with raw system calls: glibc's
//! `setuid()` would try to change the credentials of every thread of the
//! *parent*, whose thread list the child shares. A failure in the child is
//! reported through shared memory (which step, which errno) and the child
//! exits with status 127.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::identity::Switch;

/// Stack for the child until it calls `execve`.
const CHILD_STACK: usize = 64 * 1024;

/// What to start.
pub struct Request<'a> {
    /// argv; `argv[0]` is also the program path.
    pub argv: &'a [String],
    pub env: &'a [(OsString, OsString)],
    pub switch: Option<&'a Switch>,
}

/// A started child: its pid and the parent ends of its stdout and stderr.
pub struct Spawned {
    pub pid: i32,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Everything the child reads, laid out before `clone`.
struct ChildArgs {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdin: libc::c_int,
    stdout: libc::c_int,
    stderr: libc::c_int,
    switch: bool,
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: *const libc::gid_t,
    ngroups: usize,
    /// Highest signal number (SIGRTMAX), read in the parent.
    sigmax: libc::c_int,
    /// The open-file limit the daemon started with (it raised its own), so
    /// plugins that close every descriptor up to the limit stay quick.
    nofile: Option<libc::rlimit>,
    /// Written by the child on failure: the step and its errno.
    failed_step: AtomicI32,
    failed_errno: AtomicI32,
}

const STEPS: &[&str] = &[
    "setsid",
    "setgroups",
    "setgid",
    "setuid",
    "redirect",
    "chdir",
    "execve",
];

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argument"))
}

/// A close-on-exec descriptor numbered 3 or above, so that moving it onto
/// 0, 1 or 2 in the child never collides with another of the three.
fn high_fd(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on a valid descriptor returns a new one we own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((high_fd(r)?, high_fd(w)?))
}

/// Starts the child. Returns once it has called `execve` (or failed to).
pub fn spawn(req: &Request<'_>) -> io::Result<Spawned> {
    let path = cstring(OsStr::new(&req.argv[0]))?;
    let argv_c: Vec<CString> = req
        .argv
        .iter()
        .map(|a| cstring(OsStr::new(a)))
        .collect::<io::Result<_>>()?;
    let env_c: Vec<CString> = req
        .env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            cstring(&kv)
        })
        .collect::<io::Result<_>>()?;
    let argv: Vec<*const libc::c_char> = argv_c
        .iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const libc::c_char> = env_c
        .iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let devnull = high_fd(std::fs::File::open("/dev/null")?.into())?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let groups: &[u32] = req.switch.map_or(&[], |s| &s.groups);
    let args = ChildArgs {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        stdin: devnull.as_raw_fd(),
        stdout: out_w.as_raw_fd(),
        stderr: err_w.as_raw_fd(),
        switch: req.switch.is_some(),
        uid: req.switch.map_or(0, |s| s.uid),
        gid: req.switch.map_or(0, |s| s.gid),
        groups: groups.as_ptr(),
        ngroups: groups.len(),
        sigmax: libc::SIGRTMAX(),
        nofile: crate::sys::original_fd_limit(),
        failed_step: AtomicI32::new(-1),
        failed_errno: AtomicI32::new(0),
    };
    let mut stack = vec![0u8; CHILD_STACK];
    // SAFETY: all signals are blocked around clone so that no handler of
    // ours runs in the child; `args`, the strings and the stack outlive the
    // child's use of them because CLONE_VFORK suspends us until it execs or
    // exits.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let top = stack.as_mut_ptr().add(CHILD_STACK) as usize & !15;
        let pid = libc::clone(
            child_main,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &args as *const ChildArgs as *mut libc::c_void,
        );
        let clone_errno = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if pid < 0 {
            return Err(clone_errno);
        }
        pid
    };
    drop((devnull, out_w, err_w));
    let step = args.failed_step.load(Ordering::SeqCst);
    if step >= 0 {
        // The child has already exited with 127; collect it.
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let errno = io::Error::from_raw_os_error(args.failed_errno.load(Ordering::SeqCst));
        let step = STEPS.get(step as usize).copied().unwrap_or("setup");
        return Err(io::Error::new(errno.kind(), format!("{step}: {errno}")));
    }
    Ok(Spawned {
        pid,
        stdout: out_r,
        stderr: err_r,
    })
}

/// The child, between clone and execve. No allocation, no locks, no Rust
/// runtime: system calls only.
extern "C" fn child_main(raw: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `raw` points at the parent's ChildArgs, alive while we run.
    let a = unsafe { &*(raw as *const ChildArgs) };
    let fail = |step: i32| -> libc::c_int {
        // SAFETY: errno is readable; _exit never returns.
        unsafe {
            a.failed_errno
                .store(*libc::__errno_location(), Ordering::SeqCst);
            a.failed_step.store(step, Ordering::SeqCst);
            libc::syscall(libc::SYS_exit, 127);
        }
        127
    };
    // SAFETY: plain system calls on values prepared by the parent.
    unsafe {
        // Caught signals back to their default, SIGPIPE too (Rust ignores
        // it); ignored ones stay ignored across exec, as usual.
        for sig in 1..=a.sigmax {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && (old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
                && old.sa_sigaction != libc::SIG_DFL
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        if libc::syscall(libc::SYS_setsid) < 0 {
            return fail(0);
        }
        if a.switch {
            if libc::syscall(libc::SYS_setgroups, a.ngroups, a.groups) < 0 {
                return fail(1);
            }
            if libc::syscall(libc::SYS_setgid, a.gid) < 0 {
                return fail(2);
            }
            if a.uid != 0 && libc::syscall(libc::SYS_setuid, a.uid) < 0 {
                return fail(3);
            }
        }
        if libc::dup2(a.stdin, 0) < 0 || libc::dup2(a.stdout, 1) < 0 || libc::dup2(a.stderr, 2) < 0
        {
            return fail(4);
        }
        libc::umask(0o002);
        if let Some(lim) = &a.nofile {
            // Best effort: a plugin with the raised limit still runs.
            libc::setrlimit(libc::RLIMIT_NOFILE, lim);
        }
        if libc::chdir(c"/".as_ptr()) < 0 {
            return fail(5);
        }
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty,
            std::ptr::null_mut::<libc::sigset_t>(),
            8,
        );
        libc::execve(a.path, a.argv, a.envp);
        fail(6)
    }
}

/// Waits for a child started by [`spawn`] without blocking the runtime: a
/// pidfd when the kernel has them (5.3+), else polling.
pub struct Child {
    pub pid: i32,
    pidfd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
}

impl Child {
    pub fn new(pid: i32) -> Child {
        // SAFETY: pidfd_open takes a pid and flags and returns a descriptor.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = (fd >= 0)
            // SAFETY: a fresh descriptor we own.
            .then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
            // SAFETY: an OwnedFd keeps its descriptor open and unchanged for
            // as long as the AsyncFd owns it.
            .and_then(|fd| unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok());
        Child {
            pid,
            pidfd,
            status: None,
        }
    }

    /// Reaps the child if it has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut raw = 0;
        // SAFETY: waiting for our own child without blocking.
        let r = unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) };
        match r {
            0 => Ok(None),
            r if r == self.pid => {
                let s = std::os::unix::process::ExitStatusExt::from_raw(raw);
                self.status = Some(s);
                Ok(Some(s))
            }
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Waits for the child to exit and reaps it.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            match &self.pidfd {
                Some(fd) => fd.readable().await?.clear_ready(),
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    pub fn reaped(&self) -> bool {
        self.status.is_some()
    }
}
