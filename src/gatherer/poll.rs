//! Polling providers: one HTTP GET of `/statistics?t=json` each, all at once
//! under a concurrency limit, each under its own deadline, so a slow or
//! dead provider costs only its own poll.
//!
//! Connections are kept alive between rounds (one idle connection per
//! provider), so a steady round costs one request per provider, not a TCP
//! handshake too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::ingest::{Msg, Shared};
use super::metrics;
use super::provider::{Provider, Target};
use super::reply::{self, Parsed};
use super::status::Statuses;
use super::table::Source;

/// Why a poll failed.
#[derive(Debug, Clone, PartialEq)]
pub enum PollError {
    Timeout(Duration),
    Failed(String),
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollError::Timeout(d) => write!(f, "no complete reply within {} s", d.as_secs_f64()),
            PollError::Failed(why) => f.write_str(why),
        }
    }
}

/// The HTTP client and its limits.
#[derive(Clone)]
pub struct Poller {
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
    max_body: usize,
}

impl Poller {
    pub fn new(timeout: Duration, max_body: usize) -> Poller {
        let mut conn = HttpConnector::new();
        conn.set_connect_timeout(Some(timeout));
        conn.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            // Kept past one interval so the next round reuses it.
            .pool_idle_timeout(Duration::from_secs(600))
            .build(conn);
        Poller {
            client,
            timeout,
            max_body,
        }
    }

    /// Fetches and parses one provider's statistics.
    pub async fn poll(&self, url: &str) -> Result<Parsed, PollError> {
        match tokio::time::timeout(self.timeout, self.fetch(url)).await {
            Ok(r) => r.map_err(PollError::Failed),
            Err(_) => Err(PollError::Timeout(self.timeout)),
        }
    }

    async fn fetch(&self, url: &str) -> Result<Parsed, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let reply = self.client.get(uri).await.map_err(|e| chain(&e))?;
        let status = reply.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let body = Limited::new(reply.into_body(), self.max_body)
            .collect()
            .await
            .map_err(
                |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                    Some(_) => format!("reply over {} bytes", self.max_body),
                    None => format!("reading the reply: {e}"),
                },
            )?
            .to_bytes();
        let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            let head = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
            format!("reply is not JSON ({e}), starts {head:?}")
        })?;
        reply::parse(&doc)
    }
}

/// An error and its sources: hyper-util keeps the OS error ("Connection
/// refused") two levels down.
fn chain(e: &dyn std::error::Error) -> String {
    let mut why = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !why.contains(&text) {
            why = format!("{why}: {text}");
        }
        src = s.source();
    }
    why
}

/// Polls every provider once; returns (ok, failed).
pub async fn round(
    shared: &Arc<Shared>,
    poller: &Poller,
    providers: &[Provider],
    statuses: &Arc<Statuses>,
    concurrency: usize,
) -> (u64, u64) {
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    for (i, p) in providers.iter().enumerate() {
        let (shared, poller, statuses, limit, p) = (
            shared.clone(),
            poller.clone(),
            statuses.clone(),
            limit.clone(),
            p.clone(),
        );
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let result = poll_one(&shared, &poller, &p).await;
            metrics::add(&shared.metrics.polls, 1);
            if let Err(PollError::Timeout(_)) = &result {
                metrics::add(&shared.metrics.poll_timeouts, 1);
            }
            if result.is_err() {
                metrics::add(&shared.metrics.poll_failures, 1);
            }
            let ok = result.is_ok();
            statuses.record(i, &p, result.map_err(|e| e.to_string()));
            ok
        });
    }
    let (mut ok, mut failed) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        // A panicking poll task is a bug; it counts as a failure, never stops the round.
        match r {
            Ok(true) => ok += 1,
            Ok(false) => failed += 1,
            Err(e) => {
                failed += 1;
                tracing::error!("poll task failed: {e}");
            }
        }
    }
    metrics::set(
        &shared.metrics.poll_round_micros,
        started.elapsed().as_micros() as u64,
    );
    metrics::set(&shared.metrics.round_ok, ok);
    metrics::set(&shared.metrics.round_failed, failed);
    (ok, failed)
}

/// Resolves, polls and queues one provider's reply; returns its target.
async fn poll_one(shared: &Shared, poller: &Poller, p: &Provider) -> Result<Target, PollError> {
    let target = p.resolve().map_err(PollError::Failed)?;
    let parsed = poller.poll(&target.url).await?;
    let at = crate::clock::now_f64();
    if !parsed.dropped.is_empty() {
        metrics::add(&shared.metrics.values_dropped, parsed.dropped.len() as u64);
        tracing::debug!("{}: dropped {}", target.url, parsed.dropped.join("; "));
    }
    shared.send(Msg::Report {
        id: target.id.clone(),
        nickname: target.nickname.clone(),
        at,
        stats: parsed.stats,
        source: Source::Poll,
    });
    Ok(target)
}
