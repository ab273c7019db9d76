//! The master's one door to librrd's C interface, for the calls the `rrd`
//! crate does not wrap (`tune`, `graphv`, `xport`), and the lock librrd's
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
    call(&["tune", file], args, |argc, argv| {
        // SAFETY: argc/argv describe NUL-terminated strings that outlive
        // the call (see `call`).
        unsafe { rrd_sys::rrd_tune(argc, argv) == 0 }
    })
}

/// What librrd says about a graph it drew: the numbers of its info list
/// (`image_width`, `graph_left`, `graph_start`, `value_max`...).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GraphInfo(pub Vec<(String, f64)>);

impl GraphInfo {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// `rrdtool graphv FILE ARGS...` through `rrd_graph_v`; the image is
/// written to FILE, the info list's numbers returned and the list freed.
pub fn graph(file: &str, args: &[String]) -> Result<GraphInfo, String> {
    let mut info_out = GraphInfo::default();
    let mut failed_size = None;
    call(&["graphv", file], args, |argc, argv| {
        // SAFETY: as in `tune`; a non-null info list is ours to free, and
        // read (keys and numbers) before it is.
        unsafe {
            let info = rrd_sys::rrd_graph_v(argc, argv);
            if info.is_null() {
                return false;
            }
            info_out = numbers(info);
            rrd_sys::rrd_info_free(info);
            // Cairo failing to write the image (too tall a legend) leaves an
            // info list and librrd's error set: a failure all the same.
            if rrd_sys::rrd_test_error() != 0 {
                failed_size = info_out
                    .get("image_width")
                    .zip(info_out.get("image_height"));
                return false;
            }
            true
        }
    })
    .map(|()| info_out)
    .map_err(|e| match failed_size {
        Some((w, h)) if w.max(h) > 32_767.0 => format!(
            "{e} (the image would be {w}x{h} pixels; cairo draws at most 32767 in each direction)"
        ),
        Some((w, h)) => format!("{e} (image {w}x{h} pixels)"),
        None => e,
    })
}

/// The numeric entries of a graph's info list.
///
/// # Safety
/// `info` is a valid list from `rrd_graph_v`, not yet freed.
unsafe fn numbers(mut info: *mut rrd_sys::rrd_info_t) -> GraphInfo {
    let mut out = Vec::new();
    // SAFETY: walking the list librrd built, as its docs describe.
    unsafe {
        while !info.is_null() {
            let item = &*info;
            if !item.key.is_null() {
                let value = match item.type_ {
                    rrd_sys::rrd_info_type_RD_I_CNT => Some(item.value.u_cnt as f64),
                    rrd_sys::rrd_info_type_RD_I_VAL => Some(item.value.u_val),
                    rrd_sys::rrd_info_type_RD_I_INT => Some(f64::from(item.value.u_int)),
                    _ => None,
                };
                if let Some(v) = value.filter(|v| v.is_finite()) {
                    let key = CStr::from_ptr(item.key).to_string_lossy().into_owned();
                    out.push((key, v));
                }
            }
            info = item.next;
        }
    }
    GraphInfo(out)
}

/// What `rrdtool xport` gives: rows `step` seconds apart, the first at
/// `start + step`, one value per column (`None`: unknown).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Xported {
    pub start: u64,
    pub end: u64,
    pub step: u64,
    pub legends: Vec<String>,
    pub rows: Vec<Vec<Option<f64>>>,
}

/// `rrdtool xport ARGS...` through `rrd_xport`.
// `c_ulong` is u64 on 64-bit Linux and u32 elsewhere: the conversions are
// needed there and useless here.
#[allow(clippy::useless_conversion)]
pub fn xport(args: &[String]) -> Result<Xported, String> {
    let mut out = None;
    call(&["xport"], args, |argc, argv| {
        let (mut xsize, mut start, mut end) = (0 as c_int, 0, 0);
        let (mut step, mut columns) = (0, 0);
        let mut legends: *mut *mut c_char = std::ptr::null_mut();
        let mut data: *mut f64 = std::ptr::null_mut();
        // SAFETY: as in `tune`; on success librrd hands over `columns`
        // malloc'd legend strings, their array and `rows × columns`
        // values, all copied and then freed here.
        unsafe {
            let ok = rrd_sys::rrd_xport(
                argc,
                argv,
                &mut xsize,
                &mut start,
                &mut end,
                &mut step,
                &mut columns,
                &mut legends,
                &mut data,
            ) == 0;
            let columns = columns as usize;
            let mut names = Vec::with_capacity(columns);
            if !legends.is_null() {
                for i in 0..columns {
                    let l = *legends.add(i);
                    if !l.is_null() {
                        names.push(CStr::from_ptr(l).to_string_lossy().into_owned());
                        libc::free(l.cast());
                    }
                }
                libc::free(legends.cast());
            }
            let mut rows = Vec::new();
            if ok && !data.is_null() && step > 0 && end > start {
                let n = ((end - start) as u64 / u64::from(step)) as usize;
                rows.reserve(n);
                for r in 0..n {
                    rows.push(
                        (0..columns)
                            .map(|c| Some(*data.add(r * columns + c)).filter(|v| !v.is_nan()))
                            .collect(),
                    );
                }
            }
            if !data.is_null() {
                libc::free(data.cast());
            }
            if ok {
                out = Some(Xported {
                    start: start.max(0) as u64,
                    end: end.max(0) as u64,
                    step: u64::from(step),
                    legends: names,
                    rows,
                });
            }
            ok
        }
    })?;
    out.ok_or_else(|| "rrd_xport gave nothing".into())
}

/// Runs one argv-style librrd call under the turn: `head` (the command
/// and, but for xport, the file) then `args`,
/// as argv, `run` returning whether it succeeded; on failure, librrd's
/// error text (or a word naming the call when librrd left none).
fn call(
    head: &[&str],
    args: &[String],
    run: impl FnOnce(c_int, *mut *mut c_char) -> bool,
) -> Result<(), String> {
    let command = head[0];
    let words: Vec<CString> = head
        .iter()
        .copied()
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
