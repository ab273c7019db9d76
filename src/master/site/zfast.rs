//! A faster deflate under librrd's PNGs.
//!
//! After [`super::pngfast`] took libpng's filters and high zlib levels
//! away, zlib's level-1 deflate (and its `adler32`) was still 16% of a
//! first render's samples (`perf record`, `bench-html.sh 50`), under
//! libpng, which only calls `deflateInit2_`, `deflate`, `deflateReset`
//! and `deflateEnd`. zlib-rs, a Rust zlib with the same C interface and
//! `z_stream` layout, deflates the same graphs 2.5 times faster at level
//! 2 and into fewer bytes than Debian's zlib at level 1 (400 graphs: 0.14
//! s and 5.4 MB against 0.36 s and 6.1 MB). So `munin-master` exports the
//! deflate half of zlib's interface (see `build.rs`), which the dynamic
//! linker binds libpng's calls to, ahead of `libz.so`.
//!
//! Every deflate entry point any library in the process imports is here
//! (libpng, cairo, gio, libxml2: `ldd` and `nm -D`), so no stream made
//! by one zlib is ever handed to the other; inflating (freetype, fonts)
//! stays with `libz.so`, and its streams are separate. A stream's output
//! is standard deflate whichever zlib wrote it.

use std::ffi::{c_char, c_int};

use libz_rs_sys::{gz_headerp, z_streamp};

/// The zlib level [`super::pngfast`] asks libpng for: zlib-rs's level 1
/// is its quick strategy (faster still, 16% more bytes than Debian's
/// level 1); level 2 writes fewer bytes than Debian's level 1.
pub const PNG_LEVEL: c_int = 2;

/// zlib's `deflateInit_`.
///
/// # Safety
/// As zlib's: a valid `z_stream` and zlib's version string and size.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn deflateInit_(
    strm: z_streamp,
    level: c_int,
    version: *const c_char,
    stream_size: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on as zlib's API takes them.
    unsafe { libz_rs_sys::deflateInit_(strm, level, version, stream_size) }
}

/// zlib's `deflateInit2_`.
///
/// # Safety
/// As zlib's: a valid `z_stream` and zlib's version string and size.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn deflateInit2_(
    strm: z_streamp,
    level: c_int,
    method: c_int,
    window_bits: c_int,
    mem_level: c_int,
    strategy: c_int,
    version: *const c_char,
    stream_size: c_int,
) -> c_int {
    // SAFETY: as above.
    unsafe {
        libz_rs_sys::deflateInit2_(
            strm,
            level,
            method,
            window_bits,
            mem_level,
            strategy,
            version,
            stream_size,
        )
    }
}

/// zlib's `deflate`.
///
/// # Safety
/// As zlib's: a stream set up by this module's `deflateInit*`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn deflate(strm: z_streamp, flush: c_int) -> c_int {
    // SAFETY: as above.
    unsafe { libz_rs_sys::deflate(strm, flush) }
}

/// zlib's `deflateReset`.
///
/// # Safety
/// As zlib's: a stream set up by this module's `deflateInit*`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn deflateReset(strm: z_streamp) -> c_int {
    // SAFETY: as above.
    unsafe { libz_rs_sys::deflateReset(strm) }
}

/// zlib's `deflateEnd`.
///
/// # Safety
/// As zlib's: a stream set up by this module's `deflateInit*`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn deflateEnd(strm: z_streamp) -> c_int {
    // SAFETY: as above.
    unsafe { libz_rs_sys::deflateEnd(strm) }
}

/// zlib's `deflateSetHeader` (gio imports it, for gzip streams).
///
/// # Safety
/// As zlib's: a stream set up by this module's `deflateInit*`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn deflateSetHeader(strm: z_streamp, head: gz_headerp) -> c_int {
    // SAFETY: as above.
    unsafe { libz_rs_sys::deflateSetHeader(strm, head) }
}

/// The exported functions, for `main` to keep linked in.
pub const EXPORTED: [*const (); 6] = [
    deflateInit_ as *const (),
    deflateInit2_ as *const (),
    deflate as *const (),
    deflateReset as *const (),
    deflateEnd as *const (),
    deflateSetHeader as *const (),
];
