//! The rates `diskstats` shows for one device, from two readings of its
//! counters: IOs and bytes per second, utilization, and the average wait
//! and size per request, computed in the order Munin's plugin computes them
//! so that the printed digits agree.

use super::blockdev::Counters;

/// Munin's fixed sector size for the kernel's sector counters.
const SECTOR: f64 = 512.0;

/// One device's rates over `dt` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub rdio: f64,
    pub wrio: f64,
    pub rdbytes: f64,
    pub wrbytes: f64,
    pub util: f64,
    pub svctm: f64,
    pub avgwait: f64,
    pub avgrdwait: f64,
    pub avgwrwait: f64,
    pub avgrdrqsz: f64,
    pub avgwrrqsz: f64,
}

/// A counter's increase, across a 32- or 64-bit wrap.
fn delta(cur: u64, prev: u64) -> f64 {
    if cur >= prev {
        (cur - prev) as f64
    } else if prev <= 1 << 32 {
        ((1u128 << 32) + cur as u128 - prev as u128) as f64
    } else {
        ((1u128 << 64) + cur as u128 - prev as u128) as f64
    }
}

/// The rates between two readings `dt` seconds apart (operations in
/// Munin's order, so the printed digits agree).
pub fn rates(cur: &Counters, prev: &Counters, dt: f64) -> Rates {
    let rio = delta(cur.rd_ios, prev.rd_ios);
    let wio = delta(cur.wr_ios, prev.wr_ios);
    let rt = delta(cur.rd_ticks, prev.rd_ticks);
    let wt = delta(cur.wr_ticks, prev.wr_ticks);
    let rs = delta(cur.rd_sectors, prev.rd_sectors);
    let ws = delta(cur.wr_sectors, prev.wr_sectors);
    let busy = delta(cur.busy_ticks, prev.busy_ticks);
    let tio = rio + wio;
    let per = |n: f64, d: f64| if d != 0.0 { n / d } else { 0.0 };
    Rates {
        rdio: rio / dt,
        wrio: wio / dt,
        rdbytes: (rs / dt) * SECTOR,
        wrbytes: (ws / dt) * SECTOR,
        util: (busy / dt) / 10.0,
        svctm: per(busy / dt, tio / dt) / 1000.0,
        avgwait: per(rt + wt, tio) / 1000.0,
        avgrdwait: per(rt, rio) / 1000.0,
        avgwrwait: per(wt, wio) / 1000.0,
        avgrdrqsz: per((rs * SECTOR) / 1000.0, rio),
        avgwrrqsz: per((ws * SECTOR) / 1000.0, wio),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::blockdev::Counters;

    #[test]
    fn rates_over_five_minutes() {
        let prev = Counters::default();
        let cur = Counters {
            rd_ios: 300,
            rd_sectors: 6000,
            rd_ticks: 600,
            wr_ios: 100,
            wr_sectors: 2000,
            wr_ticks: 400,
            busy_ticks: 1500,
        };
        let r = rates(&cur, &prev, 300.0);
        assert_eq!(r.rdio, 1.0);
        assert_eq!(r.rdbytes, 10240.0);
        assert_eq!(r.util, 0.5);
        assert_eq!(r.avgwait, 0.0025);
        assert_eq!(r.avgrdwait, 0.002);
        assert_eq!(r.avgwrwait, 0.004);
        assert_eq!(r.svctm, 0.00375);
        assert_eq!(r.avgrdrqsz, 10.24);
        let idle = rates(&prev, &prev, 300.0);
        assert_eq!((idle.svctm, idle.avgwait, idle.avgwrrqsz), (0.0, 0.0, 0.0));
    }

    #[test]
    fn counters_wrap() {
        assert_eq!(delta(5, (1 << 32) - 5), 10.0);
        assert_eq!(delta(5, u64::MAX - 4), 10.0);
    }
}
