//! The master's one door to librrd's C interface, for the calls the `rrd`
//! crate does not wrap (`tune`, `graphv`), and the lock librrd's
//! non-reentrant calls take turns on.
//!
//! librrd's argv-style entry points parse their arguments with getopt and
//! report failures through one process-wide error buffer; both are global
//! state, so every such call (and the crate's `create`, which shares them)
//! runs under [`turn`], clears the buffer first and reads it before the
//! lock is released. Parallelism comes from worker processes instead
//! (see `store::workers`).

use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes librrd's turn for this process. A panic while holding it leaves
/// librrd as usable as before, so poisoning is ignored.
pub fn turn() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `rrdtool tune FILE ARGS...` through `rrd_tune`.
pub fn tune(file: &str, args: &[String]) -> Result<(), String> {
    call("tune", file, args, |argc, argv| {
        // SAFETY: argc/argv describe NUL-terminated strings that outlive
        // the call (see `call`).
        unsafe { rrd_sys::rrd_tune(argc, argv) == 0 }
    })
}

/// `rrdtool graphv FILE ARGS...` through `rrd_graph_v`; the image is
/// written to FILE, the returned info list is freed.
pub fn graph(file: &str, args: &[String]) -> Result<(), String> {
    let mut size = None;
    call("graphv", file, args, |argc, argv| {
        // SAFETY: as in `tune`; a non-null info list is ours to free, and
        // read (keys and counts) before it is.
        unsafe {
            let info = rrd_sys::rrd_graph_v(argc, argv);
            if info.is_null() {
                return false;
            }
            // Cairo failing to write the image (too tall a legend) leaves an
            // info list and librrd's error set: a failure all the same.
            let failed = rrd_sys::rrd_test_error() != 0;
            if failed {
                size = image_size(info);
            }
            rrd_sys::rrd_info_free(info);
            !failed
        }
    })
    .map_err(|e| match size {
        Some((w, h)) if w.max(h) > 32_767 => format!(
            "{e} (the image would be {w}x{h} pixels; cairo draws at most 32767 in each direction)"
        ),
        Some((w, h)) => format!("{e} (image {w}x{h} pixels)"),
        None => e,
    })
}

/// `image_width` and `image_height` from a graph's info list.
///
/// # Safety
/// `info` is a valid list from `rrd_graph_v`, not yet freed.
unsafe fn image_size(mut info: *mut rrd_sys::rrd_info_t) -> Option<(u64, u64)> {
    let (mut w, mut h) = (None, None);
    // SAFETY: walking the list librrd built, as its docs describe.
    unsafe {
        while !info.is_null() {
            let item = &*info;
            if item.type_ == rrd_sys::rrd_info_type_RD_I_CNT && !item.key.is_null() {
                let n: u64 = item.value.u_cnt;
                match std::ffi::CStr::from_ptr(item.key).to_bytes() {
                    b"image_width" => w = Some(n),
                    b"image_height" => h = Some(n),
                    _ => {}
                }
            }
            info = item.next;
        }
    }
    w.zip(h)
}

/// Runs one argv-style librrd call under the turn: `command file args...`
/// as argv, `run` returning whether it succeeded; on failure, librrd's
/// error text (or a word naming the call when librrd left none).
fn call(
    command: &str,
    file: &str,
    args: &[String],
    run: impl FnOnce(c_int, *mut *mut c_char) -> bool,
) -> Result<(), String> {
    let words: Vec<CString> = [command, file]
        .into_iter()
        .chain(args.iter().map(String::as_str))
        .map(|a| CString::new(a).map_err(|_| format!("{a:?} holds a NUL byte")))
        .collect::<Result<_, _>>()?;
    // librrd's getopt may permute this pointer array, which is ours; the
    // strings it points at are not written.
    let mut argv: Vec<*mut c_char> = words.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    let _turn = turn();
    // SAFETY: clearing and reading librrd's error buffer under the turn,
    // with no other librrd call in this process in between.
    unsafe { rrd_sys::rrd_clear_error() };
    if run(argv.len() as c_int, argv.as_mut_ptr()) {
        return Ok(());
    }
    // SAFETY: as above; the buffer is copied before the turn ends.
    let message = unsafe {
        let e = rrd_sys::rrd_get_error();
        (!e.is_null()).then(|| CStr::from_ptr(e).to_string_lossy().into_owned())
    };
    Err(message
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("rrd_{command} failed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librrd_errors_come_back_as_text() {
        let e = tune("/nonexistent/x.rrd", &["--minimum".into(), "42:0".into()]).unwrap_err();
        assert!(e.contains("/nonexistent/x.rrd"), "{e}");
        let e = graph("/tmp/x.png", &["DEF:x=/nonexistent.rrd:42:AVERAGE".into()]).unwrap_err();
        assert!(!e.is_empty());
        assert!(tune("a\0b", &[]).unwrap_err().contains("NUL"));
    }
}
