//! Aggregates of one series over a period: what a monitoring system pulls
//! instead of every raw sample.
//!
//! Percentiles are nearest-rank (the value at rank ⌈p·n⌉ of the sorted
//! samples), so they are always values that were really seen. For counters
//! and derives the rate per second between the first and last sample is
//! given too; a counter that went down (a node restart) has no rate.

use serde::Serialize;

use super::lines::Kind;

/// The summary of the samples in a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub last: f64,
    /// Seconds since the epoch of the last sample.
    pub last_time: f64,
    /// Change per second, for counters and derives.
    pub rate: Option<f64>,
}

/// Summarises `(ms, value)` samples in time order; `None` when empty.
pub fn summarise(kind: Kind, samples: impl Iterator<Item = (i64, f64)>) -> Option<Summary> {
    let points: Vec<(i64, f64)> = samples.collect();
    let (&(t0, first), &(t1, last)) = (points.first()?, points.last()?);
    let mut values: Vec<f64> = points.iter().map(|p| p.1).collect();
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    let rank = |p: f64| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    let rate = if kind.accumulates() && t1 > t0 {
        let r = (last - first) / ((t1 - t0) as f64 / 1000.0);
        (kind == Kind::Derive || r >= 0.0).then_some(r)
    } else {
        None
    };
    Some(Summary {
        count: n,
        min: values[0],
        max: values[n - 1],
        mean: values.iter().sum::<f64>() / n as f64,
        p50: rank(0.50),
        p95: rank(0.95),
        last,
        last_time: t1 as f64 / 1000.0,
        rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_hundred() {
        let s = summarise(
            Kind::Gauge,
            (1..=100).rev().map(|i| (i64::from(200 - i), f64::from(i))),
        )
        .unwrap();
        assert_eq!((s.count, s.min, s.max, s.mean), (100, 1.0, 100.0, 50.5));
        assert_eq!((s.p50, s.p95, s.last), (50.0, 95.0, 1.0));
        assert_eq!(s.rate, None, "gauges have no rate");
    }

    #[test]
    fn small_sets_and_rates() {
        assert_eq!(summarise(Kind::Gauge, std::iter::empty()), None);
        let one = summarise(Kind::Counter, [(5_000, 7.0)].into_iter()).unwrap();
        assert_eq!(
            (one.p50, one.p95, one.rate, one.last_time),
            (7.0, 7.0, None, 5.0)
        );
        let c = summarise(Kind::Counter, [(0, 10.0), (10_000, 30.0)].into_iter()).unwrap();
        assert_eq!(c.rate, Some(2.0));
        let reset = summarise(Kind::Counter, [(0, 10.0), (10_000, 2.0)].into_iter()).unwrap();
        assert_eq!(reset.rate, None, "a counter reset has no rate");
        let d = summarise(Kind::Derive, [(0, 10.0), (10_000, 5.0)].into_iter()).unwrap();
        assert_eq!(d.rate, Some(-0.5));
    }
}
