//! `munin-master update` (and its dry run, `poll`): poll every host at
//! once under a concurrency limit, each under its own deadlines, then store
//! each host's values on a blocking thread while the others are still
//! polled. One line of summary at the end; errors name the host.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::conf::{Host, MasterConf};
use super::plan::{self, HostPlan};
use super::session;
use super::store::{self, Outcome};

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub connect: Duration,
    pub total: Duration,
    pub concurrency: usize,
    /// `false`: print the plan, write nothing.
    pub write: bool,
    pub only_host: Option<String>,
}

/// What a run did, for the summary line.
#[derive(Debug, Default)]
pub struct Summary {
    pub hosts_ok: usize,
    pub hosts_failed: usize,
    pub files_created: usize,
    pub values_stored: usize,
    pub values_failed: usize,
    /// Hosts that failed on a deadline (connect or session).
    pub hosts_timed_out: usize,
    /// librrd create/update calls made, their total and longest time.
    pub rrd_calls: usize,
    pub rrd_total: Duration,
    pub rrd_max: Duration,
    pub wall: Duration,
}

impl Summary {
    /// The one line a run logs, as carbon reports its cache.
    pub fn line(&self) -> String {
        let mean_ms = if self.rrd_calls == 0 {
            0.0
        } else {
            self.rrd_total.as_secs_f64() * 1000.0 / self.rrd_calls as f64
        };
        format!(
            "update: {:.2} s, {} nodes ok, {} failed ({} timed out), {} values stored, {} not stored, {} files created, rrd call mean {:.3} ms max {:.3} ms",
            self.wall.as_secs_f64(),
            self.hosts_ok,
            self.hosts_failed,
            self.hosts_timed_out,
            self.values_stored,
            self.values_failed,
            self.files_created,
            mean_ms,
            self.rrd_max.as_secs_f64() * 1000.0
        )
    }
}

/// One host's result, in config order.
pub struct HostResult {
    pub host: Host,
    pub plan: Result<HostPlan, String>,
    /// Errors storing values.
    pub store_errors: Vec<String>,
    pub created: usize,
    pub stored: usize,
    /// Time of each librrd call made for this host.
    pub rrd_times: Vec<Duration>,
}

/// Polls (and stores) every selected host.
pub async fn run(conf: &MasterConf, opts: &Options) -> (Vec<HostResult>, Summary) {
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let hosts: Vec<Host> = conf
        .hosts
        .iter()
        .filter(|h| opts.only_host.as_ref().is_none_or(|n| *n == h.name))
        .cloned()
        .collect();
    for (i, host) in hosts.into_iter().enumerate() {
        let (limit, opts, dbdir) = (limit.clone(), opts.clone(), conf.dbdir.clone());
        let step = u64::from(host.update_rate.unwrap_or(conf.update_rate));
        tasks.spawn(async move {
            let polled = {
                let _permit = limit.acquire_owned().await;
                session::poll(&host, opts.connect, opts.total).await
            };
            let now = store::now();
            let plan = polled.map(|reply| plan::plan(&dbdir, &host, reply));
            let mut result = HostResult {
                host,
                plan,
                store_errors: Vec::new(),
                created: 0,
                stored: 0,
                rrd_times: Vec::new(),
            };
            if opts.write
                && let Ok(p) = &result.plan
            {
                let fields = p.fields.clone();
                // librrd blocks on disk: never on the polling threads.
                let outcomes = tokio::task::spawn_blocking(move || {
                    fields
                        .iter()
                        .map(|f| {
                            let t = Instant::now();
                            (store::store(f, step, now), t.elapsed())
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
                for (o, took) in outcomes {
                    if !matches!(o, Ok(Outcome::Untouched)) {
                        result.rrd_times.push(took);
                    }
                    match o {
                        Ok(Outcome::Created) => result.created += 1,
                        Ok(Outcome::CreatedAndUpdated) => {
                            result.created += 1;
                            result.stored += 1;
                        }
                        Ok(Outcome::Updated) => result.stored += 1,
                        Ok(Outcome::Untouched) => {}
                        Err(e) => result.store_errors.push(e),
                    }
                }
            }
            (i, result)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(r) => results.push(r),
            Err(e) => tracing::error!("a host task failed: {e}"),
        }
    }
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<HostResult> = results.into_iter().map(|(_, r)| r).collect();
    let mut s = Summary {
        wall: started.elapsed(),
        ..Summary::default()
    };
    for r in &results {
        match &r.plan {
            Ok(_) => s.hosts_ok += 1,
            Err(e) => {
                s.hosts_failed += 1;
                if e.contains("deadline") || e.contains("no connection within") {
                    s.hosts_timed_out += 1;
                }
            }
        }
        for t in &r.rrd_times {
            s.rrd_calls += 1;
            s.rrd_total += *t;
            s.rrd_max = s.rrd_max.max(*t);
        }
        s.files_created += r.created;
        s.values_stored += r.stored;
        s.values_failed += r.store_errors.len();
    }
    (results, s)
}
