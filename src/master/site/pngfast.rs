//! Faster PNG encoding for librrd's graphs.
//!
//! Profiling a first render (`perf record munin-master html --workers 0`,
//! 10 nodes × 20 graphs × 4 periods) put 46% of the time in libpng and
//! zlib: cairo, which librrd draws with, encodes its PNGs with libpng's
//! defaults (every row filter tried, zlib level 6), and offers no setting.
//! A graph is flat colour and text, where the row filters and the higher
//! zlib levels buy little size for their time; so `munin-master` exports
//! its own `png_write_info` (see `build.rs`), which cairo's call resolves
//! to: it sets filter None and a low zlib level (`zfast::PNG_LEVEL`) on
//! the stream, then calls
//! libpng's own. Only the `munin-master` binary exports it; anywhere else
//! libpng's defaults apply. The PNGs stay standard PNGs.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

type WriteInfo = unsafe extern "C" fn(*mut c_void, *mut c_void);
type SetLevel = unsafe extern "C" fn(*mut c_void, c_int);
type SetFilter = unsafe extern "C" fn(*mut c_void, c_int, c_int);

/// libpng's own functions, found once.
struct Real {
    write_info: Option<WriteInfo>,
    set_level: Option<SetLevel>,
    set_filter: Option<SetFilter>,
}

fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        // SAFETY: dlsym with NUL-terminated names; each found address is
        // libpng's function of that name, whose C signature the types
        // above spell out (png.h).
        unsafe {
            let find = |handle, name: &std::ffi::CStr| {
                let p = libc::dlsym(handle, name.as_ptr());
                (!p.is_null()).then_some(p)
            };
            Real {
                write_info: find(libc::RTLD_NEXT, c"png_write_info")
                    .map(|p| std::mem::transmute::<*mut c_void, WriteInfo>(p)),
                set_level: find(libc::RTLD_DEFAULT, c"png_set_compression_level")
                    .map(|p| std::mem::transmute::<*mut c_void, SetLevel>(p)),
                set_filter: find(libc::RTLD_DEFAULT, c"png_set_filter")
                    .map(|p| std::mem::transmute::<*mut c_void, SetFilter>(p)),
            }
        }
    })
}

/// libpng's filter-method 0 with only the None filter (png.h).
const PNG_FILTER_NONE: c_int = 0x08;

/// Stands in for libpng's `png_write_info`: faster settings, then the
/// real one.
///
/// # Safety
/// Called by libpng users with a valid write struct and info struct, as
/// the real `png_write_info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn png_write_info(png: *mut c_void, info: *mut c_void) {
    let r = real();
    // SAFETY: the pointers are the caller's, passed on unchanged to
    // libpng's own functions, before any image row is written (which is
    // when libpng reads these settings).
    unsafe {
        if let Some(level) = r.set_level {
            level(png, super::zfast::PNG_LEVEL);
        }
        if let Some(filter) = r.set_filter {
            filter(png, 0, PNG_FILTER_NONE);
        }
        match r.write_info {
            Some(write_info) => write_info(png, info),
            // Cannot happen while libpng is loaded (it is our caller).
            None => std::process::abort(),
        }
    }
}
