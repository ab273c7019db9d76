//! The latest entry of every node: what the snapshot file holds.
//!
//! A polled or pushed reply replaces its node's entry; agent lines update
//! single values in it. A node that stops reporting keeps its last entry and
//! timestamp (readers apply their own freshness rule, as `tahoe-stats` does
//! with 300 s) until the node expiry, if one is set. At start-up the table
//! is filled from the existing snapshot, so a restart loses nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::tahoe::snapshot::Snapshot;
use crate::tahoe::value::{Node, Val};

use super::lines::Kind;
use super::reply::{NodeStats, Num};

/// Where an entry's values came from last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Poll,
    Push,
    /// Read from the snapshot at start-up.
    File,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Poll => "poll",
            Source::Push => "push",
            Source::File => "file",
        }
    }
}

/// One node's latest values.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub nickname: String,
    /// Seconds since the epoch when the values arrived.
    pub timestamp: f64,
    pub counters: BTreeMap<String, Num>,
    pub stats: BTreeMap<String, Option<Num>>,
    pub source: Source,
}

impl Entry {
    pub fn new(nickname: &str, timestamp: f64, stats: NodeStats, source: Source) -> Entry {
        Entry {
            nickname: nickname.to_string(),
            timestamp,
            counters: stats.counters.into_iter().collect(),
            stats: stats.stats.into_iter().collect(),
            source,
        }
    }
}

/// Most values one node's entry holds. An agent inventing names (a request
/// id in a metric name) would otherwise grow the snapshot past what the
/// plugins read (64 MiB); values past the cap are dropped and counted.
pub const MAX_KEYS_PER_NODE: usize = 10_000;

/// The snapshot's content at one moment: shared, never copied entries, so
/// the encoder works on it without holding the state lock.
pub type Nodes = Vec<(Arc<str>, Arc<Entry>)>;

/// Node id → latest entry, in id order (the snapshot's order).
#[derive(Debug, Default)]
pub struct Table {
    entries: BTreeMap<Arc<str>, Arc<Entry>>,
}

impl Table {
    pub fn replace(&mut self, id: &str, entry: Entry) {
        match self.entries.get_mut(id) {
            Some(e) => *e = Arc::new(entry),
            None => {
                self.entries.insert(Arc::from(id), Arc::new(entry));
            }
        }
    }

    /// Every entry, cheaply: the lock is held for reference counts only.
    pub fn nodes(&self) -> Nodes {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Replaces a node's entry unless the one held is newer (a push with
    /// an older timestamp, or a reply that arrived late); returns whether it
    /// did.
    pub fn replace_if_newer(&mut self, id: &str, entry: Entry) -> bool {
        if self.get(id).is_some_and(|e| e.timestamp > entry.timestamp) {
            return false;
        }
        self.replace(id, entry);
        true
    }

    /// Sets single values from agent lines: gauges in `stats`, the other
    /// kinds in `counters`. `values` are each metric's newest known value,
    /// so a late push never puts an older value back. Returns how many new
    /// names were dropped at [`MAX_KEYS_PER_NODE`].
    pub fn merge_lines(
        &mut self,
        id: &str,
        nickname: Option<&str>,
        now: f64,
        values: &[(&str, Kind, f64)],
    ) -> usize {
        if !self.entries.contains_key(id) {
            let empty = Entry::new("", now, NodeStats::default(), Source::Push);
            self.entries.insert(Arc::from(id), Arc::new(empty));
        }
        let slot = self.entries.get_mut(id).expect("inserted above");
        // Copies the entry only while a snapshot being encoded still holds it.
        let entry = Arc::make_mut(slot);
        if let Some(n) = nickname {
            entry.nickname = n.to_string();
        }
        entry.timestamp = now;
        entry.source = Source::Push;
        let mut dropped = 0;
        for &(metric, kind, value) in values {
            let v = exact(value);
            let known = entry.stats.contains_key(metric) || entry.counters.contains_key(metric);
            if !known && entry.stats.len() + entry.counters.len() >= MAX_KEYS_PER_NODE {
                dropped += 1;
                continue;
            }
            // Update in place: a new key String only for a new name.
            if kind == Kind::Gauge {
                entry.counters.remove(metric);
                match entry.stats.get_mut(metric) {
                    Some(slot) => *slot = Some(v),
                    None => {
                        entry.stats.insert(metric.to_string(), Some(v));
                    }
                }
            } else {
                entry.stats.remove(metric);
                match entry.counters.get_mut(metric) {
                    Some(slot) => *slot = v,
                    None => {
                        entry.counters.insert(metric.to_string(), v);
                    }
                }
            }
        }
        dropped
    }

    /// Removes entries last updated more than `max_age` seconds before `now`.
    pub fn expire(&mut self, now: f64, max_age: f64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| now - e.timestamp <= max_age);
        before - self.entries.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id).map(|e| &**e)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads an existing snapshot (pickle or JSON). Entries that are not of
    /// the gatherer's shape are skipped and counted in the second value.
    pub fn load(path: &Path) -> Result<(Table, usize), String> {
        let snap = Snapshot::load(path).map_err(|e| e.to_string())?;
        let mut table = Table::default();
        let mut skipped = 0;
        for (k, v) in snap.nodes() {
            let id = k.text().map(|t| String::from_utf8_lossy(t).into_owned());
            match id.zip(entry_of(v)) {
                Some((id, e)) if super::names::node_id(&id).is_ok() => table.replace(&id, e),
                _ => skipped += 1,
            }
        }
        Ok((table, skipped))
    }
}

/// A sample value as the snapshot keeps it: integral values as ints.
fn exact(v: f64) -> Num {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Num::Int(v as i64)
    } else {
        Num::Float(v)
    }
}

fn entry_of(v: Val<'_>) -> Option<Entry> {
    let timestamp = v.get("timestamp")?.as_f64()?;
    let nickname = v
        .get("nickname")
        .and_then(|n| n.text())
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default();
    let stats = v.get("stats")?;
    let mut e = Entry {
        nickname,
        timestamp,
        counters: BTreeMap::new(),
        stats: BTreeMap::new(),
        source: Source::File,
    };
    for (k, n) in stats.get("counters").iter().flat_map(Val::entries) {
        if let (Some(k), Some(Some(n))) = (k.text(), num_of(n)) {
            e.counters
                .insert(String::from_utf8_lossy(k).into_owned(), n);
        }
    }
    for (k, n) in stats.get("stats").iter().flat_map(Val::entries) {
        if let (Some(k), Some(n)) = (k.text(), num_of(n)) {
            e.stats.insert(String::from_utf8_lossy(k).into_owned(), n);
        }
    }
    Some(e)
}

/// A stored number; `Some(None)` for Python's None, `None` for other types.
fn num_of(v: Val<'_>) -> Option<Option<Num>> {
    Some(Some(match v.node() {
        Node::None => return Some(None),
        Node::Bool(b) => Num::Bool(*b),
        Node::Int(i) => Num::Int(*i),
        Node::BigInt(_) => {
            let text = v.percent_s()?;
            match std::str::from_utf8(&text).ok()?.parse::<u64>() {
                Ok(u) => Num::UInt(u),
                Err(_) => Num::Float(v.as_f64()?),
            }
        }
        Node::Float(_) | Node::FloatText(_) => Num::Float(v.as_f64()?),
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_merge_by_kind() {
        let mut t = Table::default();
        t.merge_lines(
            "n",
            Some("nick"),
            10.0,
            &[("a", Kind::Gauge, 1.5), ("b", Kind::Counter, 7.0)],
        );
        t.merge_lines("n", None, 20.0, &[("a", Kind::Derive, 2.0)]);
        let e = t.get("n").unwrap();
        assert_eq!((e.nickname.as_str(), e.timestamp), ("nick", 20.0));
        assert_eq!(e.counters.get("a"), Some(&Num::Int(2)));
        assert_eq!(e.counters.get("b"), Some(&Num::Int(7)));
        assert!(e.stats.is_empty(), "a moved from stats to counters");
    }

    #[test]
    fn an_older_report_does_not_replace_a_newer_one() {
        let mut t = Table::default();
        assert!(t.replace_if_newer(
            "n",
            Entry::new("new", 200.0, NodeStats::default(), Source::Poll)
        ));
        assert!(!t.replace_if_newer(
            "n",
            Entry::new("old", 100.0, NodeStats::default(), Source::Push)
        ));
        assert_eq!(t.get("n").unwrap().nickname, "new");
    }

    #[test]
    fn names_past_the_cap_are_dropped() {
        let mut t = Table::default();
        let names: Vec<String> = (0..MAX_KEYS_PER_NODE + 5)
            .map(|i| format!("m{i}"))
            .collect();
        let values: Vec<(&str, Kind, f64)> = names
            .iter()
            .map(|n| (n.as_str(), Kind::Gauge, 1.0))
            .collect();
        assert_eq!(t.merge_lines("n", None, 1.0, &values), 5);
        assert_eq!(
            t.merge_lines("n", None, 2.0, &[("m0", Kind::Counter, 2.0)]),
            0,
            "known names still update"
        );
        assert_eq!(t.get("n").unwrap().counters.get("m0"), Some(&Num::Int(2)));
    }

    #[test]
    fn expiry_by_age() {
        let mut t = Table::default();
        t.replace(
            "old",
            Entry::new("", 100.0, NodeStats::default(), Source::Poll),
        );
        t.replace(
            "new",
            Entry::new("", 190.0, NodeStats::default(), Source::Poll),
        );
        assert_eq!(t.expire(200.0, 50.0), 1);
        assert!(t.get("old").is_none() && t.get("new").is_some());
    }
}
