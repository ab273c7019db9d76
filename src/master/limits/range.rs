//! munin-limits' reading of `warning` and `critical`, and of the values
//! it compares with them.
//!
//! munin-limits reads a limit more simply than a Nagios range
//! ([`crate::threshold`], which `munin-master check` uses): `lo:hi` with
//! either side empty, or one number meaning `:hi`, each side made only of
//! digits, signs and dots. Anything else is the range `0:0`, so every
//! value but 0 breaches it. A warning of a bare `:` is no warning at all
//! (the field is not checked unless it has a critical), while a bare `:`
//! critical is a range nothing breaches. Both sides keep the text written,
//! because messages show it (`${var:wrange}` of `warning 080` is `:080`),
//! and are compared as Perl compares strings with numbers.

/// One limit: its low and high side as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub lo: Option<String>,
    pub hi: Option<String>,
}

/// Which limit a [`Range`] came from; their odd cases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Warning,
    Critical,
}

impl Range {
    /// The limit `text` of kind `which`; `None` when it sets nothing.
    pub fn parse(text: &str, which: Which) -> Option<Range> {
        let t = text.trim_matches(is_perl_space);
        let side = |s: &str| (!s.is_empty()).then(|| s.to_string());
        if let Some((lo, hi)) = t.split_once(':')
            && limit_chars(lo)
            && limit_chars(hi)
        {
            let r = Range {
                lo: side(lo),
                hi: side(hi),
            };
            // munin-limits builds a warning only from the sides it finds.
            return (which == Which::Critical || r.lo.is_some() || r.hi.is_some()).then_some(r);
        }
        if !t.is_empty() && limit_chars(t) {
            return Some(Range {
                lo: None,
                hi: Some(t.to_string()),
            });
        }
        Some(Range {
            lo: Some("0".into()),
            hi: Some("0".into()),
        })
    }

    /// Whether `value` lies outside.
    pub fn breached(&self, value: f64) -> bool {
        self.lo.as_deref().is_some_and(|lo| value < perl_number(lo))
            || self.hi.as_deref().is_some_and(|hi| value > perl_number(hi))
    }

    /// `lo:hi` as messages show it (`${var:wrange}`).
    pub fn text(range: Option<&Range>) -> String {
        let lo = range.and_then(|r| r.lo.as_deref()).unwrap_or("");
        let hi = range.and_then(|r| r.hi.as_deref()).unwrap_or("");
        format!("{lo}:{hi}")
    }
}

fn limit_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
}

/// Perl's `\s`.
pub fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// A string as a number, the way Perl reads one: leading space, then the
/// longest number at the start (sign, digits, point, exponent, `inf`,
/// `nan`); nothing numeric at all is 0.
pub fn perl_number(s: &str) -> f64 {
    let t = s.trim_start_matches(is_perl_space);
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let negative = b.first() == Some(&b'-');
    // Compared as bytes: the text may hold any character.
    let starts = |name: &str| {
        b[i..]
            .get(..name.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(name.as_bytes()))
    };
    if starts("inf") {
        return if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    if starts("nan") {
        return f64::NAN;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        let frac = digits(&mut j);
        if n + frac > 0 {
            n += frac;
            i = j;
        }
    }
    if n == 0 {
        return 0.0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    t[..i].parse().unwrap_or(0.0)
}

/// A value as munin-limits shows and compares it: `%.2f`.
pub fn two_places(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Inf" } else { "-Inf" }.into()
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(lo: Option<&str>, hi: Option<&str>) -> Option<Range> {
        Some(Range {
            lo: lo.map(str::to_string),
            hi: hi.map(str::to_string),
        })
    }

    #[test]
    fn ranges_as_munin_limits_reads_them() {
        use Which::*;
        assert_eq!(Range::parse("80", Warning), r(None, Some("80")));
        assert_eq!(Range::parse(" 5:10 ", Warning), r(Some("5"), Some("10")));
        assert_eq!(Range::parse("5:", Critical), r(Some("5"), None));
        assert_eq!(Range::parse(":", Warning), None);
        assert_eq!(Range::parse(":", Critical), r(None, None));
        assert_eq!(Range::parse("~:10", Critical), r(Some("0"), Some("0")));
        assert_eq!(Range::parse("@5", Warning), r(Some("0"), Some("0")));
        assert_eq!(Range::parse("", Warning), r(Some("0"), Some("0")));
        assert_eq!(Range::text(r(None, Some("080")).as_ref()), ":080");
        assert_eq!(Range::text(None), ":");
        let lim = Range::parse("5:10", Warning).unwrap();
        assert!(lim.breached(4.99) && lim.breached(10.01));
        assert!(!lim.breached(5.0) && !lim.breached(10.0));
        assert!(Range::parse("junk", Critical).unwrap().breached(0.01));
    }

    #[test]
    fn numbers_as_perl_reads_them() {
        for (s, v) in [
            ("12", 12.0),
            ("  -3.5x", -3.5),
            ("1.2.3", 1.2),
            ("+", 0.0),
            (".", 0.0),
            ("-", 0.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1e", 1.0),
            ("abc", 0.0),
            ("-inf", f64::NEG_INFINITY),
            ("éé", 0.0),
            ("1é", 1.0),
            ("-é", 0.0),
        ] {
            assert_eq!(perl_number(s), v, "{s:?}");
        }
        assert!(perl_number("NaN").is_nan());
        assert_eq!(two_places(85.0), "85.00");
        assert_eq!(two_places(0.125), "0.12");
        assert_eq!(two_places(-0.001), "-0.00");
    }
}
