//! A request's time range and image size: Munin's dynazoom parameters
//! (`-pinpoint=START,END` in the path, `size_x`, `size_y`,
//! `start_epoch`, `stop_epoch`) and ours (`start`, `end`, `width`,
//! `height`, `scale`), checked and bounded before anything is drawn.
//!
//! Every number comes from a URL anyone can type, and a graph's memory
//! grows with its pixels, so sizes are capped (cairo itself stops at
//! 32767 pixels a side) and a range must end after it starts, within
//! fifty years either way.

use std::fmt;

/// The smallest and largest graph area, in CSS pixels.
pub const MIN_SIDE: u32 = 16;
pub const MAX_WIDTH: u32 = 4000;
pub const MAX_HEIGHT: u32 = 2000;
/// Device pixels per CSS pixel: 1, or 2 and 3 for HiDPI screens.
pub const MAX_SCALE: u32 = 3;
/// At most this many device pixels in one graph area (32 MB of ARGB).
pub const MAX_PIXELS: u64 = 8_000_000;
/// The shortest range: librrd's axis needs some seconds to label.
pub const MIN_SPAN: u64 = 60;
/// Ranges end at most this far from now, either way.
const FAR: u64 = 50 * 366 * 86400;

/// What is drawn: `start..end` (Unix seconds) in a `width`×`height` graph
/// area, at `scale` device pixels per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: u64,
    pub end: u64,
    pub width: u32,
    pub height: u32,
    pub scale: u32,
}

/// Why a request's range or size was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    /// A parameter that is not a number or time.
    Malformed { name: String, value: String },
    /// A number outside what is drawn.
    OutOfBounds {
        name: String,
        value: u64,
        min: u64,
        max: u64,
    },
    /// `end` not after `start`, or too short a range.
    Empty { start: u64, end: u64 },
    /// Too many pixels in all.
    TooLarge { pixels: u64 },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            WindowError::Malformed { name, value } => write!(
                f,
                "{name}={value:?}: expected Unix seconds, `now`, or `now-` / `-` and seconds \
                 (or a number with s, m, h, d, w, y)"
            ),
            WindowError::OutOfBounds {
                name,
                value,
                min,
                max,
            } => write!(f, "{name}={value}: must be between {min} and {max}"),
            WindowError::Empty { start, end } => write!(
                f,
                "the range {start}..{end} is empty: end must be at least {MIN_SPAN} s after start"
            ),
            WindowError::TooLarge { pixels } => write!(
                f,
                "{pixels} pixels: at most {MAX_PIXELS} (width × height × scale²)"
            ),
        }
    }
}

impl std::error::Error for WindowError {}

/// The query string's `name=value` pairs, percent-decoded (`+` is a
/// space); a repeated name keeps its last value, as munin-cgi-graph's.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding; a broken escape is kept as it is.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len() => {
                // Bytes, not `&s[..]`: an escape's next two bytes need not
                // be characters.
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The last value of any of `names`.
pub fn param<'a>(pairs: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
}

/// A time: Unix seconds, `now`, `now-N` or `-N` (N seconds, or with a
/// unit: `90m`, `36h`, `2d`, `1w`, `1y`) before now.
pub fn parse_time(name: &str, value: &str, now: u64) -> Result<u64, WindowError> {
    let bad = || WindowError::Malformed {
        name: name.into(),
        value: value.chars().take(40).collect(),
    };
    let v = value.trim();
    let back = v
        .strip_prefix("now-")
        .or_else(|| v.strip_prefix('-'))
        .map(Some)
        .unwrap_or(if v == "now" { Some("0") } else { None });
    let t = match back {
        Some(rel) => now.saturating_sub(seconds(rel).ok_or_else(bad)?),
        None => v.parse::<u64>().map_err(|_| bad())?,
    };
    let (lo, hi) = (now.saturating_sub(FAR), now.saturating_add(FAR));
    if !(lo..=hi).contains(&t) {
        return Err(WindowError::OutOfBounds {
            name: name.into(),
            value: t,
            min: lo,
            max: hi,
        });
    }
    Ok(t)
}

/// `N` with an optional unit, as seconds.
fn seconds(text: &str) -> Option<u64> {
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        'w' => 7 * 86400,
        'y' => 365 * 86400,
        c if c.is_ascii_digit() => 0,
        _ => return None,
    };
    let digits = if unit == 0 {
        text
    } else {
        &text[..text.len() - 1]
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(unit.max(1))
}

fn number(name: &str, value: &str, min: u64, max: u64) -> Result<u64, WindowError> {
    let n = value
        .trim()
        .parse::<u64>()
        .map_err(|_| WindowError::Malformed {
            name: name.into(),
            value: value.chars().take(40).collect(),
        })?;
    if !(min..=max).contains(&n) {
        return Err(WindowError::OutOfBounds {
            name: name.into(),
            value: n,
            min,
            max,
        });
    }
    Ok(n)
}

impl Window {
    /// The window a request asks for. `pinpoint` is the path's
    /// `START,END` when there is one; otherwise `start`/`start_epoch` and
    /// `end`/`stop_epoch`, each defaulting to the last `default_span`
    /// seconds before `now`. Sizes default to `default_size`.
    pub fn parse(
        pairs: &[(String, String)],
        pinpoint: Option<&str>,
        now: u64,
        default_span: u64,
        default_size: (u32, u32),
    ) -> Result<Window, WindowError> {
        let (start, end) = match pinpoint {
            Some(pp) => {
                let (s, e) = pp.split_once(',').ok_or_else(|| WindowError::Malformed {
                    name: "pinpoint".into(),
                    value: pp.chars().take(40).collect(),
                })?;
                (parse_time("start", s, now)?, parse_time("end", e, now)?)
            }
            None => {
                let end = match param(pairs, &["end", "stop_epoch"]) {
                    Some(v) => parse_time("end", v, now)?,
                    None => now,
                };
                let start = match param(pairs, &["start", "start_epoch"]) {
                    Some(v) => parse_time("start", v, now)?,
                    None => end.saturating_sub(default_span),
                };
                (start, end)
            }
        };
        if end < start.saturating_add(MIN_SPAN) {
            return Err(WindowError::Empty { start, end });
        }
        let side = |names: &[&str], default: u32, max: u32| match param(pairs, names) {
            Some(v) => number(names[0], v, u64::from(MIN_SIDE), u64::from(max)).map(|n| n as u32),
            None => Ok(default.clamp(MIN_SIDE, max)),
        };
        let width = side(&["width", "size_x"], default_size.0, MAX_WIDTH)?;
        let height = side(&["height", "size_y"], default_size.1, MAX_HEIGHT)?;
        let scale = match param(pairs, &["scale"]) {
            Some(v) => number("scale", v, 1, u64::from(MAX_SCALE))? as u32,
            None => 1,
        };
        let pixels = u64::from(width) * u64::from(height) * u64::from(scale * scale);
        if pixels > MAX_PIXELS {
            return Err(WindowError::TooLarge { pixels });
        }
        Ok(Window {
            start,
            end,
            width,
            height,
            scale,
        })
    }

    pub fn span(&self) -> u64 {
        self.end - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn w(query: &str, pinpoint: Option<&str>) -> Result<Window, WindowError> {
        Window::parse(&query_pairs(query), pinpoint, NOW, 86400, (400, 175))
    }

    #[test]
    fn munin_and_our_parameters() {
        let a = w("size_x=800&size_y=300", Some("1799900000,1799990000")).unwrap();
        assert_eq!(
            a,
            Window {
                start: 1_799_900_000,
                end: 1_799_990_000,
                width: 800,
                height: 300,
                scale: 1
            }
        );
        let b = w("start=-2d&end=now-1h&width=500&height=200&scale=2", None).unwrap();
        assert_eq!((b.start, b.end), (NOW - 2 * 86400, NOW - 3600));
        assert_eq!((b.width, b.height, b.scale), (500, 200, 2));
        let c = w("start_epoch=1799000000&stop_epoch=1799086400", None).unwrap();
        assert_eq!(
            (c.start, c.end, c.width),
            (1_799_000_000, 1_799_086_400, 400)
        );
        let d = w("", None).unwrap();
        assert_eq!((d.start, d.end), (NOW - 86400, NOW));
        assert_eq!(
            w("width=9&width=600", None).unwrap().width,
            600,
            "last wins"
        );
        assert_eq!(decode("a%2Cb+c%zz%"), "a,b c%zz%");
        assert_eq!(decode("%é%4"), "%é%4");
    }

    #[test]
    fn hostile_ranges_and_sizes_are_refused_by_name() {
        for (q, pp, needle) in [
            ("width=99999", None, "width=99999"),
            ("width=abc", None, "width=\"abc\""),
            ("height=0", None, "height=0"),
            ("scale=4", None, "scale=4"),
            ("start=-1x", None, "start=\"-1x\""),
            ("start=99999999999999", None, "start=99999999999999"),
            ("start=-99999999999999999999", None, "start="),
            ("start=1799990000&end=1799990000", None, "empty"),
            ("start=100", None, "start=100"),
            ("start=-1h&end=-2h", None, "empty"),
            ("", Some("1799990000"), "pinpoint"),
            ("", Some("1799990000,1799900000"), "empty"),
            ("width=4000&height=2000&scale=3", None, "pixels"),
        ] {
            let e = w(q, pp).unwrap_err().to_string();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }
}
