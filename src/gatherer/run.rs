//! The gatherer's main loop: load the old snapshot, serve the API, poll every
//! interval, write the snapshot after each round, expire samples every
//! second, and write a last snapshot on SIGTERM or SIGINT.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use super::api::{self, Api};
use super::collection::Collection;
use super::encode;
use super::fit;
use super::ingest::{self, Shared, State};
use super::metrics;
use super::options::Options;
use super::poll::{self, Poller};
use super::status::Statuses;
use super::table::Table;
use crate::tahoe::snapshot::MAX_FILE;

/// Runs until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> Result<()> {
    if let Some(dir) = opts
        .statsfile
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        // A missing directory is only logged: each write retries, and says why.
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::warn!("cannot create {}: {e}", dir.display());
        }
    }
    let table = load_table(&opts.statsfile)?;
    let state = State {
        table,
        collection: Collection::new(opts.retention.as_millis() as i64),
        max_nodes: opts.max_nodes,
    };
    let (shared, rx) = Shared::new(state, opts.queue_size);
    let consumer = tokio::spawn(ingest::consume(shared.clone(), rx));
    let statuses = Arc::new(Statuses::new(&opts.providers));
    let listener = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    tracing::info!(
        "stats-gatherer on http://{}/, {} providers every {} s, snapshot {}",
        listener.local_addr()?,
        opts.providers.len(),
        opts.interval.as_secs_f64(),
        opts.statsfile.display()
    );
    let (stop_tx, stop) = watch::channel(false);
    let app = api::router(Api {
        shared: shared.clone(),
        statuses: statuses.clone(),
        token: opts.token.as_deref().map(Arc::from),
        max_body: opts.max_body,
        providers: opts.providers.len(),
        heavy: Arc::new(tokio::sync::Semaphore::new(super::query::HEAVY_AT_ONCE)),
        max_nodes: opts.max_nodes,
    });
    let mut server_stop = stop.clone();
    // Polls hold descriptors too: the API's connections leave room for them.
    let limits = crate::httpd::Limits::within(crate::sys::raise_fd_limit(), opts.concurrency);
    tracing::debug!("API connection limits: {limits:?}");
    let server = tokio::spawn(crate::httpd::serve(listener, app, limits, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));
    tokio::spawn(expire_loop(shared.clone(), opts.node_expiry, stop.clone()));

    let poller = Poller::new(opts.timeout, opts.max_body);
    let mut tick = tokio::time::interval(opts.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        let cycle = async {
            poll::round(
                &shared,
                &poller,
                &opts.providers,
                &statuses,
                opts.concurrency,
            )
            .await;
            write_snapshot(&shared, &opts).await;
        };
        tokio::select! {
            () = cycle => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("stopping: writing the last snapshot");
    let _ = stop_tx.send(true);
    // In-flight requests get a moment; a stalled client does not hold the exit.
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    write_snapshot(&shared, &opts).await;
    drop(consumer);
    Ok(())
}

/// Writes the pickle and the JSON beside it; a failure is logged and
/// counted, and the next interval tries again.
pub async fn write_snapshot(shared: &Arc<Shared>, opts: &Options) {
    shared.flush().await;
    let started = Instant::now();
    // The lock is held to count references; encoding runs beside ingest.
    let nodes = shared.state().table.nodes();
    let (pkl_path, json_path) = (opts.statsfile.clone(), opts.json_file());
    let writer = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let fitted = fit::within(nodes, MAX_FILE);
        if !fitted.left_out.is_empty() {
            let named: Vec<String> = fitted
                .left_out
                .iter()
                .take(20)
                .map(|(id, size)| format!("{id} ({size} bytes)"))
                .collect();
            let more = fitted.left_out.len().saturating_sub(named.len());
            tracing::error!(
                "{}: the snapshot would pass the {} MiB the plugins read; the {} largest nodes are left out of it: {}{}",
                pkl_path.display(),
                MAX_FILE >> 20,
                fitted.left_out.len(),
                named.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            );
        }
        let left_out = fitted.left_out.len() as u64;
        let pickle = fitted.pickle;
        let json = encode::json(&fitted.nodes);
        let encoded = started.elapsed();
        if pickle.len() as u64 > MAX_FILE {
            return Err(format!(
                "{}: the snapshot would be {} bytes, over the {} MiB the plugins read",
                pkl_path.display(),
                pickle.len(),
                MAX_FILE >> 20
            ));
        }
        let _one_writer = writer.writing.lock().unwrap_or_else(|p| p.into_inner());
        crate::atomic_file::replace(&pkl_path, &pickle)?;
        crate::atomic_file::replace(&json_path, &json)?;
        Ok((encoded, pickle.len() as u64, left_out))
    })
    .await
    .unwrap_or_else(|e| Err(format!("snapshot writer failed: {e}")));
    let m = &shared.metrics;
    match result {
        Ok((encoded, size, left_out)) => {
            metrics::add(&m.snapshot_writes, 1);
            metrics::set(&m.snapshot_left_out, left_out);
            metrics::set(&m.snapshot_bytes, size);
            metrics::set(&m.snapshot_micros, started.elapsed().as_micros() as u64);
            metrics::set(&m.snapshot_encode_micros, encoded.as_micros() as u64);
        }
        Err(why) => {
            metrics::add(&m.snapshot_failures, 1);
            tracing::error!(
                "snapshot not written (the previous file is kept; retrying next interval): {why}"
            );
        }
    }
}

/// Every second: drop samples past retention and nodes past their expiry.
async fn expire_loop(
    shared: Arc<Shared>,
    node_expiry: Option<Duration>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = crate::clock::now_f64();
        let mut st = shared.state();
        st.collection.expire((now * 1000.0) as i64);
        if let Some(max) = node_expiry {
            let gone = st.table.expire(now, max.as_secs_f64());
            if gone > 0 {
                tracing::info!(
                    "{gone} nodes silent for over {} s left the snapshot",
                    max.as_secs()
                );
            }
        }
    }
}

/// The previous snapshot, so a restart keeps every node. An unreadable file
/// is moved aside (never overwritten) and the gatherer starts empty.
fn load_table(path: &Path) -> Result<Table> {
    if !path.exists() {
        return Ok(Table::default());
    }
    match Table::load(path) {
        Ok((table, skipped)) => {
            tracing::info!("{}: {} nodes reloaded", path.display(), table.len());
            if skipped > 0 {
                tracing::warn!(
                    "{}: {skipped} entries not of the gatherer's shape were left out",
                    path.display()
                );
            }
            Ok(table)
        }
        Err(why) => {
            let aside = PathBuf::from(format!(
                "{}.unreadable-{}",
                path.display(),
                crate::clock::now_f64() as u64
            ));
            if let Err(e) = std::fs::rename(path, &aside) {
                bail!(
                    "{why}; and it cannot be moved aside to {}: {e}",
                    aside.display()
                );
            }
            tracing::warn!(
                "{why}; moved aside to {} and starting empty",
                aside.display()
            );
            Ok(Table::default())
        }
    }
}
