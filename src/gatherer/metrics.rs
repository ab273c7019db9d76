//! The gatherer's reports on itself, as carbon's relay and cache report
//! theirs: counters since start and the last values of gauges. Plain atomics,
//! so counting never takes a lock on the hot path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Counters and gauges updated by the tasks.
#[derive(Debug, Default)]
pub struct Metrics {
    pub polls: AtomicU64,
    pub poll_failures: AtomicU64,
    pub poll_timeouts: AtomicU64,
    pub pushes: AtomicU64,
    pub pushes_rejected: AtomicU64,
    pub samples_received: AtomicU64,
    pub values_dropped: AtomicU64,
    pub queue_drops: AtomicU64,
    pub queue_dropped_samples: AtomicU64,
    pub snapshot_writes: AtomicU64,
    pub snapshot_failures: AtomicU64,
    pub snapshot_micros: AtomicU64,
    pub snapshot_encode_micros: AtomicU64,
    pub snapshot_bytes: AtomicU64,
    /// Nodes the last snapshot left out to stay readable.
    pub snapshot_left_out: AtomicU64,
    pub poll_round_micros: AtomicU64,
    pub round_ok: AtomicU64,
    pub round_failed: AtomicU64,
}

pub fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}

pub fn set(c: &AtomicU64, n: u64) {
    c.store(n, Relaxed);
}

/// Everything `/api/v1/self` reports, read at one moment.
#[derive(Debug, Serialize)]
pub struct Report {
    pub uptime_seconds: f64,
    pub providers: usize,
    pub providers_ok_last_round: u64,
    pub providers_failed_last_round: u64,
    pub poll_round_seconds: f64,
    pub polls: u64,
    pub poll_failures: u64,
    pub poll_timeouts: u64,
    pub pushes: u64,
    pub pushes_rejected: u64,
    pub samples_received: u64,
    pub values_dropped: u64,
    pub samples_held: usize,
    pub samples_expired: u64,
    /// Samples of new series a node had no room for.
    pub samples_refused: u64,
    pub sample_bytes: usize,
    pub series: usize,
    pub nodes: usize,
    pub queue_length: usize,
    pub queue_capacity: usize,
    pub queue_drops: u64,
    pub queue_dropped_samples: u64,
    pub snapshot_writes: u64,
    pub snapshot_failures: u64,
    pub snapshot_write_seconds: f64,
    /// Of which encoding (under the state lock).
    pub snapshot_encode_seconds: f64,
    pub snapshot_bytes: u64,
    pub snapshot_left_out: u64,
    pub rss_bytes: u64,
}

impl Metrics {
    /// Fills the counter part of a report; the caller adds the state part.
    pub fn report(&self) -> Report {
        let g = |c: &AtomicU64| c.load(Relaxed);
        Report {
            uptime_seconds: 0.0,
            providers: 0,
            providers_ok_last_round: g(&self.round_ok),
            providers_failed_last_round: g(&self.round_failed),
            poll_round_seconds: g(&self.poll_round_micros) as f64 / 1e6,
            polls: g(&self.polls),
            poll_failures: g(&self.poll_failures),
            poll_timeouts: g(&self.poll_timeouts),
            pushes: g(&self.pushes),
            pushes_rejected: g(&self.pushes_rejected),
            samples_received: g(&self.samples_received),
            values_dropped: g(&self.values_dropped),
            samples_held: 0,
            samples_expired: 0,
            samples_refused: 0,
            sample_bytes: 0,
            series: 0,
            nodes: 0,
            queue_length: 0,
            queue_capacity: 0,
            queue_drops: g(&self.queue_drops),
            queue_dropped_samples: g(&self.queue_dropped_samples),
            snapshot_writes: g(&self.snapshot_writes),
            snapshot_failures: g(&self.snapshot_failures),
            snapshot_write_seconds: g(&self.snapshot_micros) as f64 / 1e6,
            snapshot_encode_seconds: g(&self.snapshot_encode_micros) as f64 / 1e6,
            snapshot_bytes: g(&self.snapshot_bytes),
            snapshot_left_out: g(&self.snapshot_left_out),
            rss_bytes: rss_bytes(),
        }
    }
}

/// Resident memory of this process, from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page)
}
