//! Wall-clock time as Munin counts it: seconds since the Unix epoch. One
//! definition for every part (a clock set before 1970 reads as 0, which
//! no caller has to handle).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether [`read_timezone_once`] set TZ, so that the commands we run for
/// others (contacts) get the environment we were given.
static TZ_ADDED: AtomicBool = AtomicBool::new(false);

/// Sets `TZ=:/etc/localtime` when TZ is unset. With TZ unset, glibc's
/// localtime() stats /etc/localtime on every call, and librrd calls it for
/// every axis label (3% of a graph's time); ":/etc/localtime" is what
/// unset means, and a set TZ is read once.
///
/// # Safety
/// Call first thing in `main`, before any thread exists.
pub unsafe fn read_timezone_once() {
    if std::env::var_os("TZ").is_none() {
        // SAFETY: the caller promises no other thread exists yet.
        unsafe { std::env::set_var("TZ", ":/etc/localtime") };
        TZ_ADDED.store(true, Ordering::Relaxed);
    }
}

/// Whether TZ is ours rather than our caller's (see
/// [`read_timezone_once`]).
pub fn tz_added() -> bool {
    TZ_ADDED.load(Ordering::Relaxed)
}

/// The UTC date `(year, month, day)` of a time in seconds since the epoch,
/// by the proleptic Gregorian calendar (Howard Hinnant's days-to-civil):
/// no time zone database needed.
pub fn civil(secs: i64) -> (i64, i64, i64) {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whole seconds since the epoch.
pub fn now() -> u64 {
    since_epoch(SystemTime::now())
}

/// Seconds since the epoch with their fraction (the gatherer's sample
/// times, as Tahoe-LAFS stamps them).
pub fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whole seconds from the epoch to `t` (a file's mtime, say).
pub fn since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_across_leap_days_and_before_the_epoch() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(951_782_400), (2000, 2, 29));
        assert_eq!(civil(1_800_000_000), (2027, 1, 15));
        assert_eq!(civil(-1), (1969, 12, 31));
    }

    #[test]
    fn before_the_epoch_is_zero() {
        assert_eq!(
            since_epoch(UNIX_EPOCH - std::time::Duration::from_secs(5)),
            0
        );
        assert!(now() > 1_700_000_000);
        assert!(now_f64() >= now() as f64);
    }
}
