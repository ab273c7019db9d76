//! Munin's `warning` and `critical` limits as Nagios ranges, judged in one
//! place for every Nagios-style caller: `munin-plugins NAME --check` (a
//! plugin's live values), `munin-master check` and the pages (the values
//! the update stored). Two copies of these rules once disagreed on the
//! same values, so none of them judges a value itself. The contacts are
//! told by `munin-master limits`, which on purpose reads limits as
//! munin-limits does (`master::limits::range`: its `0:0` for junk, its
//! rounding), since users keep alerts written for it.
//!
//! A limit is Munin's range: `max`, `min:max`, `min:`, `:max`, or `:`
//! (no bound at all, which munin-limits accepts and never breaches). The
//! bounds are inclusive. A text that is none of these is reported as
//! such (UNKNOWN, naming the text) where munin-limits silently read it as
//! `0:0`.
//!
//! Statuses combine in the monitoring-plugins order of severity,
//! CRITICAL > WARNING > UNKNOWN > OK (munin-limits' `worst` too): a field
//! with no value never hides another field's breach.

use serde::{Deserialize, Serialize};

/// A field's (or a check's) status, declared in order of severity so that
/// `max` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    Ok,
    Unknown,
    Warning,
    Critical,
}

impl Status {
    /// The word Nagios, Icinga and Munin print.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// The Nagios plugin exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// The most severe of `statuses`; OK when there are none.
    pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
        statuses.into_iter().max().unwrap_or(Status::Ok)
    }
}

/// A limit text that is not a range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("limit {text:?} is not min:max")]
pub struct BadLimit {
    pub text: String,
}

/// A Munin range: a value is within when `lo <= value <= hi`, a missing
/// bound being no bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

impl Range {
    /// `max`, `min:max`, `min:`, `:max` or `:`; white space around the
    /// numbers is allowed, as munin-limits allows it.
    pub fn parse(text: &str) -> Result<Range, BadLimit> {
        let bad = || BadLimit {
            text: text.to_string(),
        };
        let bound = |b: &str| -> Result<Option<f64>, BadLimit> {
            let b = b.trim();
            if b.is_empty() {
                return Ok(None);
            }
            match b.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(bad()),
            }
        };
        match text.split_once(':') {
            Some((lo, hi)) => Ok(Range {
                lo: bound(lo)?,
                hi: bound(hi)?,
            }),
            None => match bound(text)? {
                Some(hi) => Ok(Range {
                    lo: None,
                    hi: Some(hi),
                }),
                None => Err(bad()),
            },
        }
    }

    pub fn contains(&self, v: f64) -> bool {
        self.lo.is_none_or(|lo| v >= lo) && self.hi.is_none_or(|hi| v <= hi)
    }
}

/// Which of a field's two limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Warning,
    Critical,
}

impl Which {
    /// The attribute's name: `warning` or `critical`.
    pub fn name(self) -> &'static str {
        match self {
            Which::Warning => "warning",
            Which::Critical => "critical",
        }
    }

    fn status(self) -> Status {
        match self {
            Which::Warning => Status::Warning,
            Which::Critical => Status::Critical,
        }
    }
}

/// Why a field has its status.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Within every limit it has.
    Within,
    /// No value to judge (missing, `U`, not a number).
    NoValue,
    /// Outside a limit: WARNING or CRITICAL.
    Outside { which: Which, limit: String },
    /// A limit that is not a range: UNKNOWN.
    BadLimit { which: Which, error: BadLimit },
}

/// One field judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub reason: Reason,
}

/// Judges `value` against a field's limits (either may be absent). A
/// non-finite value counts as no value.
pub fn judge(value: Option<f64>, warning: Option<&str>, critical: Option<&str>) -> Verdict {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return Verdict {
            status: Status::Unknown,
            reason: Reason::NoValue,
        };
    };
    let mut verdict = Verdict {
        status: Status::Ok,
        reason: Reason::Within,
    };
    // Critical first: on equal severity its reason is the one kept.
    for (which, limit) in [(Which::Critical, critical), (Which::Warning, warning)] {
        let Some(text) = limit else { continue };
        let found = match Range::parse(text) {
            Err(error) => Verdict {
                status: Status::Unknown,
                reason: Reason::BadLimit { which, error },
            },
            Ok(r) if !r.contains(v) => Verdict {
                status: which.status(),
                reason: Reason::Outside {
                    which,
                    limit: text.to_string(),
                },
            },
            Ok(_) => continue,
        };
        if found.status > verdict.status {
            verdict = found;
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lo: Option<f64>, hi: Option<f64>) -> Range {
        Range { lo, hi }
    }

    #[test]
    fn munin_range_syntax() {
        assert_eq!(Range::parse("92"), Ok(range(None, Some(92.0))));
        assert_eq!(Range::parse("0:3"), Ok(range(Some(0.0), Some(3.0))));
        assert_eq!(Range::parse(":5"), Ok(range(None, Some(5.0))));
        assert_eq!(Range::parse("-1:"), Ok(range(Some(-1.0), None)));
        assert_eq!(Range::parse(" 10 : 20 "), Ok(range(Some(10.0), Some(20.0))));
        // munin-limits takes ":" as no bound at all.
        assert_eq!(Range::parse(":"), Ok(range(None, None)));
        for bad in ["", " ", "abc", "1:x", "nan", "inf", "1:2:3"] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
        let r = Range::parse("0:3").unwrap();
        assert!(r.contains(0.0) && r.contains(3.0));
        assert!(!r.contains(3.01) && !r.contains(-0.1));
        assert!(Range::parse(":").unwrap().contains(-1e300));
    }

    #[test]
    fn severity_order_is_the_monitoring_plugins_one() {
        use Status::*;
        assert_eq!(Status::worst([Critical, Unknown]), Critical);
        assert_eq!(Status::worst([Unknown, Warning]), Warning);
        assert_eq!(Status::worst([Ok, Unknown]), Unknown);
        assert_eq!(Status::worst([]), Ok);
        assert_eq!(
            [Ok, Warning, Critical, Unknown].map(Status::exit_code),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn judging_one_field() {
        let j = |v: Option<f64>, w: Option<&str>, c: Option<&str>| judge(v, w, c).status;
        assert_eq!(j(Some(5.0), Some("10"), Some("20")), Status::Ok);
        assert_eq!(j(Some(15.0), Some("10"), Some("20")), Status::Warning);
        assert_eq!(j(Some(25.0), Some("10"), Some("20")), Status::Critical);
        assert_eq!(j(None, Some("10"), None), Status::Unknown);
        assert_eq!(j(Some(f64::NAN), Some("10"), None), Status::Unknown);
        assert_eq!(j(Some(1.0), Some(":"), Some(":")), Status::Ok);
        // A bad critical limit does not hide a warning breach.
        let v = judge(Some(15.0), Some("10"), Some("lots"));
        assert_eq!(v.status, Status::Warning);
        assert_eq!(
            v.reason,
            Reason::Outside {
                which: Which::Warning,
                limit: "10".into()
            }
        );
        let v = judge(Some(1.0), Some("lots"), None);
        assert_eq!(
            v.reason,
            Reason::BadLimit {
                which: Which::Warning,
                error: BadLimit {
                    text: "lots".into()
                }
            }
        );
        assert_eq!(v.status, Status::Unknown);
    }
}
