//! What becomes of one host's poll: its values stored (see `sinks`), its
//! plugins' config kept in the state file when its hash changed (files of
//! a changed plugin tuned); [`status`] gives its status and last values
//! for the run's values file. Nodes and the master's own numbers go
//! through here.

use std::path::Path;
use std::time::{Duration, Instant};

use super::rrdfile;
use super::sinks::Sinks;
use crate::master::conf::Host;
use crate::master::poll::plan::HostPlan;
use crate::master::poll::session::PollError;
use crate::master::state::{self, HostStatus};

/// One host's result, in config order.
pub struct HostResult {
    pub host: Host,
    pub plan: Result<HostPlan, PollError>,
    /// Errors storing values.
    pub store_errors: Vec<String>,
    /// What was mended while storing (the values were stored).
    pub notes: Vec<String>,
    pub created: usize,
    pub stored: usize,
    /// librrd calls made for this host: how many, their total and
    /// longest time.
    pub rrd_calls: usize,
    pub rrd_total: Duration,
    pub rrd_max: Duration,
    /// Values that went through rrdcached.
    pub cached: usize,
    /// Values carbon's queue had no room for.
    pub carbon_dropped: usize,
    /// Existing files tuned; whether the config state was rewritten.
    pub tuned: usize,
    pub config_written: Option<bool>,
    /// Where this host's time went.
    pub phases: crate::master::update::Phases,
}

/// The status a poll leaves for the values state: whether the host
/// answered, and each value that can be stored (a garbage value is not a
/// "last value"). Known once the poll is planned, before it is stored.
pub fn status(plan: &Result<HostPlan, PollError>, now: u64) -> HostStatus {
    let mut status = HostStatus {
        polled: now,
        ..HostStatus::default()
    };
    match plan {
        Ok(p) => {
            status.ok = true;
            status.answered = Some(now);
            for f in &p.fields {
                if let Some((t, v)) = &f.value
                    && rrdfile::value_text(v).is_some()
                {
                    let key = format!("{}.{}", f.service, f.field);
                    status.values.insert(key, (t.unwrap_or(now), v.clone()));
                }
            }
        }
        Err(e) => status.error = Some(e.to_string()),
    }
    status
}

/// Stores `plan` of `host` (when there are sinks: not in a dry run) and
/// remembers it.
pub async fn keep(
    host: Host,
    plan: Result<HostPlan, PollError>,
    sinks: Option<&Sinks>,
    dbdir: &Path,
    step: u64,
    now: u64,
) -> HostResult {
    let mut result = HostResult {
        host,
        plan,
        store_errors: Vec::new(),
        notes: Vec::new(),
        created: 0,
        stored: 0,
        rrd_calls: 0,
        rrd_total: Duration::ZERO,
        rrd_max: Duration::ZERO,
        cached: 0,
        carbon_dropped: 0,
        tuned: 0,
        config_written: None,
        phases: Default::default(),
    };
    if let (Some(sinks), Ok(p)) = (sinks, &mut result.plan) {
        // Taken, not copied: once stored, the run keeps only what it
        // reports, so a fleet's plans are never all held at once.
        let mut fields = std::mem::take(&mut p.fields);
        let polled_config = std::mem::take(&mut p.config);
        let from_spool = p.from_spool;
        let reading = Instant::now();
        let path = state::config_path(dbdir, &result.host);
        // A spooled answer holds the plugins with new records only (none
        // when nothing is new): the others keep their saved config, which
        // is read whole. Otherwise the poll is the whole config, and only
        // the saved hashes are read.
        let (old, config, path) = tokio::task::spawn_blocking(move || {
            if from_spool {
                let mut merged = state::load_config(&path).unwrap_or_default();
                let old = state::hashes(&merged);
                merged.plugins.extend(polled_config.plugins);
                (old, merged, path)
            } else {
                let old = state::load_hashes(&path).unwrap_or_default();
                (old, polled_config, path)
            }
        })
        .await
        .expect("reading a file does not panic");
        let changed = state::changed(&old, &config);
        // Only a plugin whose config changed can need its files tuned.
        for f in &mut fields {
            f.tune = changed.contains(&&*f.plugin);
        }
        result.phases.config = reading.elapsed();
        let storing = Instant::now();
        let stored = sinks.store(&result.host, &fields, step, now).await;
        drop(fields);
        result.phases.store = storing.elapsed();
        let writing = Instant::now();
        result.created = stored.created;
        result.tuned = stored.tuned;
        result.stored = stored.stored;
        result.store_errors = stored.errors;
        result.notes = stored.notes;
        result.rrd_calls = stored.rrd_times.len();
        result.rrd_total = stored.rrd_times.iter().sum();
        result.rrd_max = stored.rrd_times.iter().max().copied().unwrap_or_default();
        result.cached = stored.cached;
        result.carbon_dropped = stored.carbon_dropped;
        if state::differs(&old, &config) {
            let saved = tokio::task::spawn_blocking(move || state::save(&path, &config))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            match saved {
                Ok(()) => result.config_written = Some(true),
                Err(e) => result.store_errors.push(e),
            }
        } else {
            result.config_written = Some(false);
        }
        result.phases.config += writing.elapsed();
    }
    result
}
