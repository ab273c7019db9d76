//! Numbers printed the way the programs we replace printed them, byte for
//! byte, because the text reaches RRD files, graphs and diffs against the
//! originals: Perl's default output (Munin's plugins and master) and
//! Python 2's `str()` of a float (the Tahoe-LAFS plugins' `%s`; the rest of
//! `%s` is in `tahoe::value::Val::percent_s`). Both are C's `%g` at some
//! precision.

/// A number as Perl prints it by default: `%.15g` (integers plainly).
pub fn perl_number(x: f64) -> String {
    format_g(x, 15)
}

/// Python 2's `str(float)`: `%.12g`, plus `.0` when that looks like an integer.
pub fn float_str(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format_g(x, 12);
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        s + ".0"
    } else {
        s
    }
}

/// C's `%.{precision}g` for a finite `x`.
pub fn format_g(x: f64, precision: usize) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // The decimal exponent after rounding to `precision` digits.
    let sci = format!("{:.*e}", precision - 1, x);
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("Rust's {:e} always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if exp < -4 || exp >= precision as i32 {
        let mantissa = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

/// Drops trailing zeros after a decimal point, and the point if bare.
fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from Python: "%.12g" plus ".0" for integral results.
    #[test]
    fn python2_float_str() {
        for (x, want) in [
            (0.1, "0.1"),
            (5.0, "5.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (123456789012.0, "123456789012.0"),
            (1234567890123.0, "1.23456789012e+12"),
            (1.0 / 3.0, "0.333333333333"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (2.5e-7, "2.5e-07"),
            (-1234.5678, "-1234.5678"),
            (0.000123456789012345, "0.000123456789012"),
            (99999999999.99, "100000000000.0"),
            (999999999999.9999, "1e+12"),
            (1e100, "1e+100"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(float_str(x), want, "{x:e}");
        }
    }
}
