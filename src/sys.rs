//! Small wrappers over the operating system.

use std::ffi::{CStr, CString};

/// Whether the process runs as root (and can switch plugin users).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The host's fully qualified name, as the real node finds it: the canonical
/// name of `hostname()` from the resolver, else the short name.
pub fn fqdn() -> String {
    let short = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    if short.is_empty() {
        return "unknown".to_string();
    }
    canonical_name(&short).unwrap_or(short)
}

/// getaddrinfo(3) with AI_CANONNAME.
fn canonical_name(host: &str) -> Option<String> {
    let c_host = CString::new(host).ok()?;
    // SAFETY: zeroed addrinfo is a valid "no hints" value; we set flags only.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, hints and out-pointer; freed below.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: res is a valid list from getaddrinfo until freeaddrinfo.
    let name = unsafe {
        let canon = (*res).ai_canonname;
        let name = (!canon.is_null()).then(|| CStr::from_ptr(canon).to_string_lossy().into_owned());
        libc::freeaddrinfo(res);
        name
    };
    name.filter(|n| !n.is_empty())
}

/// Hands freed heap memory back to the system. glibc keeps freed memory in
/// per-thread arenas; a daemon that idles between polls should not sit on
/// the peak of its last burst.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// This process's peak resident set size so far, in bytes (0 where the
/// system does not say).
pub fn peak_rss_bytes() -> u64 {
    // SAFETY: getrusage only fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    // Linux counts ru_maxrss in KiB.
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}

/// Caps glibc's malloc arenas at `n`. Each thread that allocates may get an
/// arena of its own, which keeps the peak of whatever was freed in it: a
/// server rebuilding a large index now on one thread, now on another, grows
/// by an index per arena.
pub fn limit_malloc_arenas(n: i32) {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, n);
    }
}

/// Raises the soft open-file limit to the hard limit and returns the limit
/// now in force. Daemons serving many peers need more descriptors than the
/// usual soft limit of 1024 (systemd's default); the hard limit is theirs
/// to take.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        let _ = ORIGINAL_SOFT.compare_exchange(
            0,
            lim.rlim_cur,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        );
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim = want;
            }
        }
    }
    lim.rlim_cur
}

/// The soft open-file limit before [`raise_fd_limit`]; 0 until then.
static ORIGINAL_SOFT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The limits children should run with when this process raised its own:
/// the soft limit it started with, under the hard limit now in force.
pub fn original_fd_limit() -> Option<libc::rlimit> {
    let soft = ORIGINAL_SOFT.load(std::sync::atomic::Ordering::Relaxed);
    if soft == 0 {
        return None;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain syscall on a local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || lim.rlim_cur <= soft {
        return None;
    }
    lim.rlim_cur = soft;
    Some(lim)
}
