//! The bounded ingest queue and the one task that applies it.
//!
//! Every sample, polled or pushed, passes through one queue to one consumer,
//! which takes the state lock once per batch of messages. The queue's bound
//! is counted in samples, what costs memory (about 80 bytes each while
//! queued), not in messages: a push that would take the queue past it is
//! refused (503) and counted as a drop, so memory stays bounded whatever
//! agents send. Poll replies are always queued: there is one per provider
//! per round, so they are bounded by the configuration. A barrier message
//! lets a caller wait until everything sent before it is applied (the
//! snapshot writer does, so a poll round's replies are in the file written
//! after it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::collection::Collection;
use super::lines::{Kind, Line};
use super::metrics::{self, Metrics};
use super::reply::NodeStats;
use super::table::{Entry, Source, Table};

/// One unit of work for the consumer.
#[derive(Debug)]
pub enum Msg {
    /// A whole reply: replaces the node's entry.
    Report {
        id: String,
        nickname: String,
        /// Seconds since the epoch.
        at: f64,
        stats: NodeStats,
        source: Source,
    },
    /// Agent lines: update single values.
    Lines {
        id: String,
        nickname: Option<String>,
        at: f64,
        lines: Vec<Line>,
    },
    Barrier(oneshot::Sender<()>),
}

impl Msg {
    fn samples(&self) -> usize {
        match self {
            Msg::Report { stats, .. } => stats.sample_count(),
            Msg::Lines { lines, .. } => lines.len(),
            Msg::Barrier(_) => 0,
        }
    }
}

/// What the consumer maintains.
#[derive(Debug)]
pub struct State {
    pub table: Table,
    pub collection: Collection,
    /// Most node ids held (`--max-nodes`): a flood of invented ids would
    /// otherwise grow the table, the collection and the snapshot without end.
    pub max_nodes: usize,
}

impl State {
    /// Whether a report from `id` may be kept: a node already held always
    /// is; a new one while there is room.
    pub fn admits(&self, id: &str) -> bool {
        self.table.get(id).is_some() || self.table.len() < self.max_nodes
    }
}

/// State, counters and the queue, shared by all tasks.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    pub metrics: Metrics,
    pub started: Instant,
    tx: mpsc::UnboundedSender<Msg>,
    /// Samples sent and not yet applied.
    queued: AtomicUsize,
    capacity: usize,
    /// Held while a snapshot is written: a write left running by a
    /// cancelled cycle and the last one at exit never share the temp file.
    pub writing: Mutex<()>,
}

/// Why a push was not queued.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// Retry later.
    Full(String),
    /// Never fits: larger than the whole queue.
    TooBig(String),
}

impl Shared {
    /// The shared part and the receiving end for [`consume`]; `capacity`
    /// is in samples.
    pub fn new(state: State, capacity: usize) -> (Arc<Shared>, mpsc::UnboundedReceiver<Msg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            state: Mutex::new(state),
            metrics: Metrics::default(),
            started: Instant::now(),
            tx,
            queued: AtomicUsize::new(0),
            capacity,
            writing: Mutex::new(()),
        };
        (Arc::new(shared), rx)
    }

    /// The state; a panic elsewhere never makes it unusable.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a push; `Err` with a message when it does not fit.
    pub fn try_push(&self, msg: Msg) -> Result<(), Refused> {
        let n = msg.samples();
        if n > self.capacity {
            return Err(Refused::TooBig(format!(
                "{n} samples in one push, more than the whole ingest queue holds ({}); split it",
                self.capacity
            )));
        }
        let fits = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q + n <= self.capacity).then_some(q + n)
            });
        if fits.is_err() {
            metrics::add(&self.metrics.queue_drops, 1);
            metrics::add(&self.metrics.queue_dropped_samples, n as u64);
            return Err(Refused::Full(format!(
                "ingest queue full ({} of {} samples queued); {n} samples dropped, retry later",
                self.queue_length(),
                self.capacity
            )));
        }
        self.enqueue(msg);
        Ok(())
    }

    /// Queues a poll reply.
    pub fn send(&self, msg: Msg) {
        self.queued.fetch_add(msg.samples(), Ordering::AcqRel);
        self.enqueue(msg);
    }

    /// Sends; if the consumer is gone (shutting down), gives the room back.
    fn enqueue(&self, msg: Msg) {
        if let Err(mpsc::error::SendError(msg)) = self.tx.send(msg) {
            self.queued.fetch_sub(msg.samples(), Ordering::AcqRel);
        }
    }

    /// Waits until every message queued before this call is applied.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Barrier(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Samples queued and not yet applied.
    pub fn queue_length(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    pub fn queue_capacity(&self) -> usize {
        self.capacity
    }
}

/// Most messages applied under one lock: long enough to amortise the lock,
/// short enough that API readers never wait long.
const BATCH: usize = 256;

/// Applies queued messages until every sender is gone.
pub async fn consume(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut barriers = Vec::new();
        {
            let mut state = shared.state();
            for msg in batch.drain(..) {
                if let Msg::Barrier(done) = msg {
                    barriers.push(done);
                } else {
                    let queued = msg.samples();
                    let (n, dropped) = apply(&mut state, msg);
                    shared.queued.fetch_sub(queued, Ordering::AcqRel);
                    metrics::add(&shared.metrics.samples_received, n as u64);
                    metrics::add(&shared.metrics.values_dropped, dropped as u64);
                }
            }
        }
        for done in barriers {
            let _ = done.send(());
        }
    }
}

/// Applies one message; returns the samples it added and the values the
/// snapshot could not keep.
pub fn apply(state: &mut State, msg: Msg) -> (usize, usize) {
    match msg {
        Msg::Report {
            id,
            nickname,
            at,
            stats,
            source,
        } => {
            if !state.admits(&id) {
                tracing::warn!(
                    "node {id}: not kept, {} nodes held already (max-nodes)",
                    state.max_nodes
                );
                return (0, stats.sample_count());
            }
            let mut stats = stats;
            let over = stats.cap(super::table::MAX_KEYS_PER_NODE);
            if over > 0 {
                tracing::warn!(
                    "node {id}: {over} values not kept (over {} per node)",
                    super::table::MAX_KEYS_PER_NODE
                );
            }
            let ms = (at * 1000.0) as i64;
            for (k, v) in &stats.counters {
                state.collection.add(&id, k, Kind::Counter, ms, v.as_f64());
            }
            for (k, v) in &stats.stats {
                if let Some(v) = v {
                    state.collection.add(&id, k, Kind::Gauge, ms, v.as_f64());
                }
            }
            let n = stats.sample_count();
            let entry = Entry::new(&nickname, at, stats, source);
            state.table.replace_if_newer(&id, entry);
            (n, over)
        }
        Msg::Lines {
            id,
            nickname,
            at,
            lines,
        } => {
            if !state.admits(&id) {
                tracing::warn!(
                    "node {id}: not kept, {} nodes held already (max-nodes)",
                    state.max_nodes
                );
                return (0, lines.len());
            }
            // In order, each line is appended; lines older than their
            // series' newest are set aside and merged afterwards, one sorted
            // batch per metric (inserting them one by one would move half a
            // buffer each). The last line's kind wins, as sample by sample.
            let mut late: Vec<u32> = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if !state
                    .collection
                    .append(&id, &l.metric, l.kind, l.at_ms, l.value)
                {
                    late.push(i as u32);
                }
            }
            if !late.is_empty() {
                late.sort_unstable_by(|&a, &b| {
                    let (x, y) = (&lines[a as usize], &lines[b as usize]);
                    (x.metric.as_str(), x.at_ms, a).cmp(&(y.metric.as_str(), y.at_ms, b))
                });
                let mut points = Vec::new();
                for run in
                    late.chunk_by(|&a, &b| lines[a as usize].metric == lines[b as usize].metric)
                {
                    points.clear();
                    points.extend(
                        run.iter()
                            .map(|&i| (lines[i as usize].at_ms, lines[i as usize].value)),
                    );
                    let l = &lines[run[0] as usize];
                    let kind = state
                        .collection
                        .last(&id, &l.metric)
                        .map_or(l.kind, |(k, _)| k);
                    state.collection.extend(&id, &l.metric, kind, &points);
                }
            }
            // Each metric's newest value, whichever line brought it.
            let newest: Vec<(&str, Kind, f64)> = lines
                .iter()
                .filter_map(|l| {
                    let (kind, value) = state.collection.last(&id, &l.metric)?;
                    Some((l.metric.as_str(), kind, value))
                })
                .collect();
            let dropped = state
                .table
                .merge_lines(&id, nickname.as_deref(), at, &newest);
            if dropped > 0 {
                tracing::warn!(
                    "node {id}: {dropped} new names not kept in the snapshot (over {} per node)",
                    super::table::MAX_KEYS_PER_NODE
                );
            }
            (lines.len(), dropped)
        }
        Msg::Barrier(_) => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gatherer::lines::Line;

    fn lines(n: usize) -> Msg {
        Msg::Lines {
            id: "n".into(),
            nickname: None,
            at: 1.0,
            lines: (0..n)
                .map(|i| Line {
                    metric: format!("m{i}"),
                    kind: Kind::Gauge,
                    value: 1.0,
                    at_ms: 1000,
                })
                .collect(),
        }
    }

    fn state() -> State {
        State {
            max_nodes: 10,
            table: Table::default(),
            collection: Collection::new(60_000),
        }
    }

    #[test]
    fn a_full_queue_refuses_and_counts() {
        let (shared, _rx) = Shared::new(state(), 7);
        shared.try_push(lines(3)).unwrap();
        let e = shared.try_push(lines(5)).unwrap_err();
        assert_eq!(
            e,
            Refused::Full(
                "ingest queue full (3 of 7 samples queued); 5 samples dropped, retry later".into()
            )
        );
        assert!(matches!(shared.try_push(lines(8)), Err(Refused::TooBig(_))));
        shared.try_push(lines(4)).unwrap();
        let m = shared.metrics.report();
        assert_eq!((m.queue_drops, m.queue_dropped_samples), (1, 5));
        assert_eq!(shared.queue_length(), 7);
    }

    #[test]
    fn late_lines_are_merged_and_the_newest_value_kept() {
        let mut st = state();
        let line = |metric: &str, t: i64, value: f64| Line {
            metric: metric.into(),
            kind: Kind::Gauge,
            value,
            at_ms: t,
        };
        let push = |lines: Vec<Line>| Msg::Lines {
            id: "n".into(),
            nickname: None,
            at: 1.0,
            lines,
        };
        let first = vec![
            line("m", 3_000, 3.0),
            line("m", 1_000, 1.0),
            line("o", 5, 0.5),
            line("m", 2_000, 2.0),
        ];
        assert_eq!(apply(&mut st, push(first)), (4, 0));
        assert_eq!(apply(&mut st, push(vec![line("m", 1_500, 1.5)])), (1, 0));
        let f = crate::gatherer::collection::Filter {
            node: None,
            metric: Some("m".into()),
        };
        let page = st
            .collection
            .page(&f, None, (0, i64::MAX), usize::MAX, usize::MAX);
        let times: Vec<i64> = page.series[0].points.iter().map(|p| p.0).collect();
        assert_eq!(times, vec![1_000, 1_500, 2_000, 3_000]);
        let entry = st.table.get("n").unwrap();
        assert_eq!(
            entry.stats.get("m"),
            Some(&Some(crate::gatherer::reply::Num::Int(3)))
        );
        assert_eq!(
            entry.stats.get("o"),
            Some(&Some(crate::gatherer::reply::Num::Float(0.5)))
        );
    }

    #[tokio::test]
    async fn flush_waits_for_everything_before_it() {
        let (shared, rx) = Shared::new(state(), 4);
        let consumer = tokio::spawn(consume(shared.clone(), rx));
        for _ in 0..10 {
            shared.send(lines(2));
        }
        shared.flush().await;
        assert_eq!(shared.state().collection.held(), 20);
        assert_eq!(
            shared.queue_length(),
            0,
            "polls may pass the bound; all applied now"
        );
        assert_eq!(shared.metrics.report().samples_received, 20);
        consumer.abort();
    }
}
