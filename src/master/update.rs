//! `munin-master update` (and its dry run, `poll`): poll every host at
//! once under a concurrency limit, each under its own deadlines, then store
//! each host's values on a blocking thread while the others are still
//! polled. One line of summary at the end; errors name the host.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::conf::{Host, MasterConf};
use super::selfstats;
use super::state;
use crate::master::poll::plan;
use crate::master::poll::session;
use crate::master::store::keep::{self, HostResult};
use crate::master::store::sinks::Sinks;
use crate::master::store::workers::Pool;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each session's deadlines and source address.
    pub dial: session::Dial,
    /// munin.conf's `timeout_fetch_all_nodes`: sessions not done by then
    /// are cut, hosts not started are not polled.
    pub all: Option<Duration>,
    pub concurrency: usize,
    /// `false`: print the plan, write nothing.
    pub write: bool,
    pub only_host: Option<String>,
    /// Store worker processes (see `workers`); 0 stores in this process.
    pub store_workers: usize,
    /// Counts the hosts done, for a caller showing progress.
    pub done: Arc<std::sync::atomic::AtomicUsize>,
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
    /// Values that went through rrdcached.
    pub values_cached: usize,
    /// Values sent to carbon, and not sent.
    pub carbon_sent: usize,
    pub carbon_dropped: usize,
    /// Hosts whose config state was rewritten, and left as it was (the
    /// writes the config hash saved); existing files tuned.
    pub configs_written: usize,
    pub configs_unchanged: usize,
    pub files_tuned: usize,
    /// Plugins nodes listed that could not be stored (name, size).
    pub plugins_skipped: usize,
    /// Where the time went, summed over hosts (they overlap).
    pub phases: Phases,
    /// The master process's peak resident set size, in bytes.
    pub peak_rss: u64,
    /// Problems of the run itself (rrdcached, carbon), for stderr.
    pub errors: Vec<String>,
}

/// Time spent in each step of the run. The per-host steps are summed over
/// hosts, which run concurrently, so they add up to more than the wall
/// time; the values state is merged beside them, and only what is left
/// of it once the last host is stored counts here.
#[derive(Debug, Default, Clone, Copy)]
pub struct Phases {
    /// Sessions with the nodes: connecting, asking, reading.
    pub poll: Duration,
    /// Turning replies into files and values.
    pub plan: Duration,
    /// Reading, comparing and writing hosts' config state.
    pub config: Duration,
    /// Waiting for the store workers, rrdcached and carbon.
    pub store: Duration,
    /// The end of the values state's merge (the hosts that came last) and
    /// putting it in place.
    pub values: Duration,
}

impl Summary {
    /// The one line a run logs, as carbon reports its cache.
    pub fn line(&self) -> String {
        let mean_ms = if self.rrd_calls == 0 {
            0.0
        } else {
            self.rrd_total.as_secs_f64() * 1000.0 / self.rrd_calls as f64
        };
        let mut line = format!(
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
        );
        line.push_str(&format!(
            ", config state {} rewritten {} unchanged (writes saved), {} files tuned",
            self.configs_written, self.configs_unchanged, self.files_tuned
        ));
        if self.plugins_skipped > 0 {
            line.push_str(&format!(
                ", {} plugins skipped (names or replies that cannot be stored)",
                self.plugins_skipped
            ));
        }
        if self.values_cached > 0 {
            line.push_str(&format!(", {} through rrdcached", self.values_cached));
        }
        let p = &self.phases;
        line.push_str(&format!(
            "; host time: poll {:.2} s, plan {:.2} s, config state {:.2} s, store {:.2} s; values state {:.2} s; peak RSS {:.1} MB",
            p.poll.as_secs_f64(),
            p.plan.as_secs_f64(),
            p.config.as_secs_f64(),
            p.store.as_secs_f64(),
            p.values.as_secs_f64(),
            self.peak_rss as f64 / 1_048_576.0
        ));
        if self.carbon_sent + self.carbon_dropped > 0 {
            line.push_str(&format!(
                ", carbon {} sent {} dropped",
                self.carbon_sent, self.carbon_dropped
            ));
        }
        line
    }
}

/// Polls (and stores) every selected host.
/// The TLS settings of the hosts that use TLS, each set loaded once: a
/// thousand hosts under the global settings read the key files once.
fn tls_contexts(
    hosts: &[Host],
) -> HashMap<crate::tls::Settings, Result<Arc<crate::tls::Context>, String>> {
    let mut contexts = HashMap::new();
    for h in hosts {
        if h.tls.mode == crate::tls::Mode::Disabled || contexts.contains_key(&h.tls) {
            continue;
        }
        let loaded = crate::tls::Context::load(h.tls.clone()).map(|ctx| {
            for w in &ctx.warnings {
                tracing::warn!("TLS: {w}");
            }
            Arc::new(ctx)
        });
        contexts.insert(h.tls.clone(), loaded);
    }
    contexts
}

/// One session with `host`, within what is left of the run.
async fn poll_one(
    host: &Host,
    opts: &Options,
    tls: Option<&Result<Arc<crate::tls::Context>, String>>,
    since: u64,
    run_deadline: Option<tokio::time::Instant>,
) -> Result<session::HostReply, session::PollError> {
    let mut dial = opts.dial;
    if host.local_address.is_some() {
        dial.local = host.local_address;
    }
    if let Some(left) = run_deadline.map(|d| d - tokio::time::Instant::now()) {
        if left.is_zero() {
            return Err(session::PollError {
                peer: host.name.clone(),
                failure: session::Failure::RunOver(opts.all.unwrap_or_default()),
            });
        }
        dial.total = dial.total.min(left);
    }
    match tls {
        Some(Err(why)) => Err(session::PollError {
            peer: host.name.clone(),
            failure: session::Failure::Tls(why.clone()),
        }),
        Some(Ok(ctx)) => session::poll(host, &dial, Some(ctx), since).await,
        None => session::poll(host, &dial, None, since).await,
    }
}

pub async fn run(conf: &MasterConf, opts: &Options) -> (Vec<HostResult>, Summary) {
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut errors = Vec::new();
    let sinks = if opts.write {
        let pool = match std::env::current_exe() {
            Ok(exe) => Pool::start(exe, opts.store_workers),
            Err(_) => Pool::local(),
        };
        let (sinks, warning) = Sinks::open(conf, pool).await;
        errors.extend(warning);
        Some(sinks)
    } else {
        None
    };
    let sinks = Arc::new(sinks);
    let mut tasks = JoinSet::new();
    let hosts: Vec<Host> = conf
        .hosts
        .iter()
        .filter(|h| h.polled())
        .filter(|h| opts.only_host.as_ref().is_none_or(|n| *n == h.name))
        .cloned()
        .collect();
    let run_deadline = opts.all.map(|all| tokio::time::Instant::now() + all);
    let contexts = tls_contexts(&hosts);
    let spool_path = state::spool_path(&conf.dbdir);
    let mut spool = state::load_spool(&spool_path);
    let me = selfstats::host(conf);
    // The values state is merged beside the polls: each host's status is
    // sent as soon as its poll is planned.
    let (statuses, merging) = if opts.write {
        let (tx, rx) = std::sync::mpsc::channel();
        let incoming = state::Incoming {
            statuses: rx,
            awaited: hosts.iter().chain([&me]).map(state::host_key).collect(),
        };
        // Hosts no longer in munin.conf go; others keep what they had.
        let keep: Option<HashSet<String>> = opts.only_host.is_none().then(|| {
            conf.hosts
                .iter()
                .chain([&me])
                .map(state::host_key)
                .collect()
        });
        let path = state::values_path(&conf.dbdir);
        let merge = tokio::task::spawn_blocking(move || state::stage_values(&path, incoming, keep));
        (Some(tx), Some(merge))
    } else {
        (None, None)
    };
    for (i, host) in hosts.into_iter().enumerate() {
        let tls = contexts.get(&host.tls).cloned();
        let since = spool.get(&state::host_key(&host)).copied().unwrap_or(0);
        let done = opts.done.clone();
        let (limit, opts, dbdir) = (limit.clone(), opts.clone(), conf.dbdir.clone());
        let sinks = sinks.clone();
        let statuses = statuses.clone();
        let step = u64::from(host.update_rate.unwrap_or(conf.update_rate));
        // Taken before the host's task is made, and held until the host is
        // stored, as a munin-update child polls and stores its host: hosts
        // in flight stay bounded when storing is slower than polling (a
        // disk-bound fleet), and a fleet of thousands never has a task
        // (with its session's buffers) waiting per host.
        let permit = limit.acquire_owned().await;
        tasks.spawn(async move {
            let _permit = permit;
            let started = Instant::now();
            let polled = poll_one(&host, &opts, tls.as_ref(), since, run_deadline).await;
            let polled_in = started.elapsed();
            let now = crate::clock::now();
            let planning = Instant::now();
            let plan = polled.map(|reply| plan::plan(&dbdir, &host, reply));
            let planned_in = planning.elapsed();
            if let Some(tx) = statuses {
                // The merge lives until every sender is gone.
                let _ = tx.send((state::host_key(&host), keep::status(&plan, now)));
            }
            let sinks = sinks.as_ref().as_ref();
            let mut result = keep::keep(host, plan, sinks, &dbdir, step, now).await;
            result.phases.poll = polled_in;
            result.phases.plan = planned_in;
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
    let mut results: Vec<HostResult> = results.into_iter().map(|(_, r)| r).collect();
    let mut s = Summary::default();
    for r in &results {
        match &r.plan {
            Ok(p) => {
                s.hosts_ok += 1;
                s.plugins_skipped += p.skipped;
            }
            Err(e) => {
                s.hosts_failed += 1;
                if e.timed_out() {
                    s.hosts_timed_out += 1;
                }
            }
        }
        s.rrd_calls += r.rrd_calls;
        s.rrd_total += r.rrd_total;
        s.rrd_max = s.rrd_max.max(r.rrd_max);
        s.files_created += r.created;
        s.values_stored += r.stored;
        s.values_failed += r.store_errors.len();
        s.values_cached += r.cached;
        s.files_tuned += r.tuned;
        s.phases.poll += r.phases.poll;
        s.phases.plan += r.phases.plan;
        s.phases.config += r.phases.config;
        s.phases.store += r.phases.store;
        match r.config_written {
            Some(true) => s.configs_written += 1,
            Some(false) => s.configs_unchanged += 1,
            None => {}
        }
    }
    s.wall = started.elapsed();
    s.peak_rss = crate::sys::peak_rss_bytes();
    // The master's own numbers, stored like a node's (not counted above).
    if let Some(sinks) = sinks.as_ref().as_ref() {
        let step = u64::from(conf.update_rate);
        let plan = Ok(plan::plan(&conf.dbdir, &me, selfstats::reply(&s)));
        let now = crate::clock::now();
        if let Some(tx) = &statuses {
            let _ = tx.send((state::host_key(&me), keep::status(&plan, now)));
        }
        results.push(keep::keep(me, plan, Some(sinks), &conf.dbdir, step, now).await);
    }
    // Every status is sent: the merge writes the hosts it waited for.
    drop(statuses);
    if let Some(carbon) = Arc::into_inner(sinks).flatten().and_then(|s| s.carbon) {
        let dropped: usize = results.iter().map(|r| r.carbon_dropped).sum();
        let sent = carbon.finish(dropped).await;
        s.carbon_sent = sent.values;
        s.carbon_dropped = sent.dropped;
        errors.extend(sent.error);
    }
    if opts.write {
        // A spooling host asks from the newest time it sent next run, as
        // munin-update moves it: a field that could not be stored is named
        // in the errors, and is not asked for again and again.
        let mut moved = false;
        for r in &results {
            if let Ok(p) = &r.plan
                && let Some(until) = p.spooled_until
            {
                spool.insert(state::host_key(&r.host), until);
                moved = true;
            }
        }
        if moved && let Err(e) = state::save(&spool_path, &spool) {
            errors.push(e);
        }
        // Every value is stored now: the merged state takes its place.
        let finishing = Instant::now();
        let saved = match merging {
            Some(merge) => merge.await.unwrap_or_else(|e| Err(e.to_string())),
            None => Err("the values state was not merged".into()),
        }
        .and_then(|staged| staged.commit());
        if let Err(e) = saved {
            errors.push(e);
        }
        s.phases.values = finishing.elapsed();
    }
    s.peak_rss = crate::sys::peak_rss_bytes();
    s.errors = errors;
    (results, s)
}
