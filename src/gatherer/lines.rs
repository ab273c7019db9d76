//! Agent pushes in Kurado's line format: `key<TAB>value<TAB>timestamp`.
//!
//! The key's last dot-part may name the type: `.gauge` (the default when
//! absent), `.counter`, `.derive` or `.absolute`; it is stripped from the
//! stored name. The timestamp is seconds since the epoch and may be left
//! out (the time of arrival is used). Blank lines and `#` comments are
//! skipped. One bad line refuses the whole push, so an agent never has half
//! its report stored; the error names the line.

use super::names;

/// How a metric's values behave, as in munin and RRD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Derive,
    Absolute,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Derive => "derive",
            Kind::Absolute => "absolute",
        }
    }

    /// A rate is meaningful for values that accumulate.
    pub fn accumulates(self) -> bool {
        matches!(self, Kind::Counter | Kind::Derive)
    }
}

/// One pushed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub metric: String,
    pub kind: Kind,
    pub value: f64,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
}

/// Parses a push body; `now_ms` stands in for a missing timestamp.
pub fn parse(body: &str, now_ms: i64) -> Result<Vec<Line>, String> {
    let mut out = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line, now_ms).map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    Ok(out)
}

fn parse_line(line: &str, now_ms: i64) -> Result<Line, String> {
    let mut parts = line.split('\t');
    let key = parts.next().unwrap_or_default();
    let value = parts.next().ok_or("expected key<TAB>value<TAB>timestamp")?;
    let at = parts.next();
    if parts.next().is_some() {
        return Err("more than three tab-separated fields".into());
    }
    let (metric, kind) = split_kind(key);
    names::metric(metric)?;
    let value: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("value {value:?} is not a number"))?;
    let at_ms = match at.map(str::trim) {
        None | Some("") => now_ms,
        Some(t) => {
            let secs = t
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| format!("timestamp {t:?} is not seconds since the epoch"))?;
            check_time(secs, now_ms as f64 / 1000.0)?;
            (secs * 1000.0).round() as i64
        }
    };
    Ok(Line {
        metric: metric.to_string(),
        kind,
        value,
        at_ms,
    })
}

/// How far ahead of our clock a timestamp may be: agents' clocks drift, but
/// a sample from the future would never expire.
pub const MAX_AHEAD: f64 = 300.0;

/// Refuses a time more than [`MAX_AHEAD`] seconds after `now`.
pub fn check_time(secs: f64, now: f64) -> Result<(), String> {
    if secs > now + MAX_AHEAD {
        return Err(format!(
            "timestamp {secs} is {:.0} s ahead of the gatherer's clock (at most {MAX_AHEAD:.0} s)",
            secs - now
        ));
    }
    Ok(())
}

fn split_kind(key: &str) -> (&str, Kind) {
    let kinds = [
        ("gauge", Kind::Gauge),
        ("counter", Kind::Counter),
        ("derive", Kind::Derive),
        ("absolute", Kind::Absolute),
    ];
    key.rsplit_once('.')
        .and_then(|(stem, last)| {
            let (_, kind) = kinds.iter().find(|(name, _)| *name == last)?;
            Some((stem, *kind))
        })
        .unwrap_or((key, Kind::Gauge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_timestamps() {
        const NOW: i64 = 1_800_000_000_000;
        let body = "# agent 1\nload.gauge\t0.5\t1700000000\n\nreq.counter\t10\t1700000000.25\nplain\t3\nb.derive\t-1\t\nc.absolute\t2\t1\n";
        let l = parse(body, NOW).unwrap();
        assert_eq!(l.len(), 5);
        assert_eq!(
            (l[0].metric.as_str(), l[0].kind, l[0].at_ms),
            ("load", Kind::Gauge, 1_700_000_000_000)
        );
        assert_eq!((l[1].kind, l[1].at_ms), (Kind::Counter, 1_700_000_000_250));
        assert_eq!(
            (l[2].metric.as_str(), l[2].kind, l[2].at_ms),
            ("plain", Kind::Gauge, NOW)
        );
        assert_eq!(
            (l[3].kind, l[3].value, l[3].at_ms),
            (Kind::Derive, -1.0, NOW)
        );
        assert_eq!(l[4].kind, Kind::Absolute);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("a\t1\nb\tx\t1\n", 0).unwrap_err(),
            "line 2: value \"x\" is not a number"
        );
        assert_eq!(
            parse("a 1 2", 0).unwrap_err(),
            "line 1: expected key<TAB>value<TAB>timestamp"
        );
        assert!(
            parse("a\t1\tyesterday", 0)
                .unwrap_err()
                .contains("timestamp \"yesterday\"")
        );
        assert!(
            parse("a\t1\t1\t1", 0)
                .unwrap_err()
                .contains("more than three")
        );
        assert!(
            parse("\t1\t1", 0)
                .unwrap_err()
                .starts_with("line 1: metric name")
        );
        assert!(parse("a\tNaN\t1", 0).is_err());
        let ahead = parse("a\t1\t1000\n", 600_000).unwrap_err();
        assert_eq!(
            ahead,
            "line 1: timestamp 1000 is 400 s ahead of the gatherer's clock (at most 300 s)"
        );
        assert!(parse("a\t1\t900\n", 600_000).is_ok());
    }
}
