//! Where a host's polled values go: RRD files through the store workers
//! (librrd), or through rrdcached when `rrdcached_socket` is set, and a
//! copy of each stored value to carbon when `carbon_server` is set.
//!
//! With rrdcached, a file that does not exist yet is created by a worker,
//! since rrdcached only updates, and every value, its first included,
//! goes to rrdcached. When rrdcached cannot be reached the values
//! are stored directly instead, and the run says so: never dropped.

use std::time::Duration;

use super::carbon::{self, Carbon};
use super::rrdcached::{self, Cached, Update};
use super::rrdfile;
use super::workers::{Done, JobRef, Pool};
use crate::master::conf::{Host, MasterConf};
use crate::master::poll::plan::FieldPlan;

/// The destinations of one run.
pub struct Sinks {
    pub pool: Pool,
    pub cached: Option<Cached>,
    pub carbon: Option<Carbon>,
    pub carbon_prefix: String,
}

/// What storing one host's fields did.
#[derive(Debug, Default)]
pub struct Stored {
    pub created: usize,
    /// Existing files whose min/max were changed.
    pub tuned: usize,
    pub stored: usize,
    pub errors: Vec<String>,
    /// What was mended while storing (the values were stored).
    pub notes: Vec<String>,
    pub rrd_times: Vec<Duration>,
    /// Values that went through rrdcached.
    pub cached: usize,
    /// Values carbon's queue had no room for.
    pub carbon_dropped: usize,
}

/// Connections rrdcached gets: it runs a thread per client.
const CACHED_CONNECTIONS: usize = 4;

impl Sinks {
    /// Opens what `conf` names. A failure to reach rrdcached is returned
    /// as a message beside sinks that store directly.
    pub async fn open(conf: &MasterConf, pool: Pool) -> (Sinks, Option<String>) {
        let mut warning = None;
        let cached = match &conf.rrdcached_socket {
            Some(address) => match Cached::connect(address, CACHED_CONNECTIONS).await {
                Ok(c) => Some(c),
                Err(e) => {
                    warning = Some(format!("{e}; storing directly this run"));
                    None
                }
            },
            None => None,
        };
        let sinks = Sinks {
            pool,
            cached,
            carbon: conf.carbon_address().map(Carbon::start),
            carbon_prefix: conf.carbon_prefix.clone(),
        };
        (sinks, warning)
    }

    /// Stores `fields` of `host`.
    pub async fn store(&self, host: &Host, fields: &[FieldPlan], step: u64, now: u64) -> Stored {
        let mut out = Stored::default();
        let mut ok = vec![false; fields.len()];
        let mut retry = Vec::new();
        let mut given_up = vec![false; fields.len()];
        // Which fields rrdcached takes: those with a value it can name.
        // Their files are first made ready here (created when missing, or
        // empty; tuned when their plugin changed), so that a new file's
        // first value also goes through rrdcached, which learns the file
        // in the run that creates it rather than in the next one.
        let mut via_cache: Vec<bool> = fields
            .iter()
            .map(|f| {
                self.cached.is_some()
                    && f.value.is_some()
                    && f.path.to_str().is_some_and(rrdcached::can_name)
            })
            .collect();
        if let Some(cached) = &self.cached {
            let prepare: Vec<usize> = (0..fields.len())
                .filter(|&i| {
                    via_cache[i]
                        && (fields[i].tune
                            || !std::fs::metadata(&fields[i].path).is_ok_and(|m| m.len() > 0))
                })
                .collect();
            if !prepare.is_empty() {
                let job = JobRef::Store {
                    step,
                    now,
                    fields: prepare.iter().map(|&i| &fields[i]).collect(),
                    prepare_only: true,
                };
                for (done, &i) in self.pool.store(job).await.into_iter().zip(&prepare) {
                    if !count(done, &mut out) {
                        // Its error is counted; storing directly would
                        // only fail the same way.
                        via_cache[i] = false;
                        given_up[i] = true;
                    }
                }
            }
            let mut updates = Vec::new();
            let mut index = Vec::new();
            for (i, f) in fields.iter().enumerate().filter(|(i, _)| via_cache[*i]) {
                let Some((time, text)) = &f.value else {
                    continue;
                };
                // Spooled points first, oldest first, each its own update
                // (rrdcached applies them in order).
                for (t, v) in &f.earlier {
                    if let Some(value) = rrdfile::value_text(v) {
                        updates.push(Update {
                            file: f.path.to_string_lossy().into_owned(),
                            time: *t,
                            value,
                        });
                        index.push(i);
                    }
                }
                match rrdfile::value_text(text) {
                    Some(value) => {
                        updates.push(Update {
                            file: f.path.to_string_lossy().into_owned(),
                            time: time.unwrap_or(now),
                            value,
                        });
                        index.push(i);
                    }
                    None => out
                        .errors
                        .push(format!("{}: not a value: {text}", f.path.display())),
                }
            }
            match cached.update(updates).await {
                Ok(failed) => {
                    for &i in &index {
                        ok[i] = true;
                    }
                    for (n, message) in failed {
                        let i = index[n];
                        if !rrdcached::is_not_newer(&message) {
                            ok[i] = false;
                            out.errors.push(format!(
                                "{}: rrdcached: {message}",
                                fields[i].path.display()
                            ));
                        }
                    }
                    out.cached = index.iter().filter(|i| ok[**i]).count();
                    out.stored += out.cached;
                }
                Err(e) => {
                    out.errors
                        .push(format!("{e}; {} values stored directly", index.len()));
                    retry = index;
                }
            }
        }
        // Everything else is stored by a worker: fields rrdcached does not
        // take (no rrdcached, no value, a name it cannot carry), and what
        // rrdcached could not be reached for.
        let mut direct: Vec<usize> = (0..fields.len())
            .filter(|&i| !via_cache[i] && !given_up[i])
            .collect();
        // One entry per field: a spooled field had an update per point.
        retry.dedup();
        direct.extend(retry);
        if !direct.is_empty() {
            let job = JobRef::Store {
                step,
                now,
                fields: direct.iter().map(|&i| &fields[i]).collect(),
                prepare_only: false,
            };
            for (done, &i) in self.pool.store(job).await.into_iter().zip(&direct) {
                let has_value = fields[i].value.is_some();
                let updated = matches!(&done.outcome, Ok(o) if o.updated);
                count(done, &mut out);
                if has_value {
                    out.stored += usize::from(updated);
                    ok[i] = updated;
                }
            }
        }
        if let Some(carbon) = &self.carbon {
            let mut lines = String::new();
            let mut count = 0;
            for (f, _) in fields.iter().zip(&ok).filter(|(_, ok)| **ok) {
                let Some((time, text)) = &f.value else {
                    continue;
                };
                let Some(v) = carbon::value(text) else {
                    continue;
                };
                let path = carbon::path(
                    &self.carbon_prefix,
                    &host.groups,
                    &host.name,
                    &f.service,
                    &f.field,
                );
                lines.push_str(&format!("{path} {v} {}\n", time.unwrap_or(now)));
                count += 1;
            }
            if count > 0 && !carbon.send(count, lines) {
                out.carbon_dropped += count;
            }
        }
        out
    }
}

/// Counts what a worker did to one field into `out`; whether it
/// succeeded.
fn count(done: Done, out: &mut Stored) -> bool {
    match done.outcome {
        Ok(o) => {
            if o.touched() {
                out.rrd_times.push(Duration::from_micros(done.micros));
            }
            out.created += usize::from(o.created);
            out.tuned += usize::from(o.tuned);
            out.notes.extend(o.mended);
            true
        }
        Err(e) => {
            out.errors.push(e);
            false
        }
    }
}
