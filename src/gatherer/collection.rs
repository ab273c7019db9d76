//! The in-memory collection: recent samples per node and metric, expired
//! after the retention period.
//!
//! A sample is 16 bytes (milliseconds, value) in a per-series ring buffer
//! kept in time order, so expiry pops from the front and a time range is two
//! binary searches. Node ids and metric names are interned: 3000 nodes
//! sharing 80 metric names hold 80 strings, not 240,000.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::lines::Kind;

/// One metric of one node.
#[derive(Debug)]
pub struct Series {
    pub kind: Kind,
    points: VecDeque<(i64, f64)>,
}

impl Series {
    /// The samples with `from_ms <= t < to_ms`, oldest first.
    pub fn range(&self, from_ms: i64, to_ms: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        let a = self.points.partition_point(|p| p.0 < from_ms);
        let b = self.points.partition_point(|p| p.0 < to_ms).max(a);
        self.points.range(a..b).copied()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// Which series a query wants: exact names, or a prefix ending in `*`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub node: Option<String>,
    pub metric: Option<String>,
}

impl Filter {
    fn matches(pattern: &Option<String>, name: &str) -> bool {
        match pattern.as_deref() {
            None => true,
            Some(p) => match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => p == name,
            },
        }
    }
}

/// The samples of one series in a time range, copied out so that work on
/// them (JSON, sorting for percentiles) runs without the state lock.
#[derive(Debug)]
pub struct SeriesCopy {
    pub node: String,
    pub metric: String,
    pub kind: Kind,
    pub points: Vec<(i64, f64)>,
}

/// One page of a query's answer.
#[derive(Debug, Default)]
pub struct Page {
    pub series: Vec<SeriesCopy>,
    /// Where the next page starts (the last series here), if there is more.
    pub next: Option<(String, String)>,
    /// A series was cut to the page's point budget.
    pub cut: bool,
}

impl Page {
    fn last_key(&self) -> Option<(String, String)> {
        self.series
            .last()
            .map(|s| (s.node.clone(), s.metric.clone()))
    }

    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// All series, by node and metric.
#[derive(Debug)]
pub struct Collection {
    retention_ms: i64,
    names: HashSet<Arc<str>>,
    nodes: HashMap<Arc<str>, HashMap<Arc<str>, Series>>,
    held: usize,
    expired: u64,
    /// Samples of new series refused at [`MAX_SERIES_PER_NODE`].
    refused: u64,
}

/// Most series one node holds (the snapshot's per-node cap).
pub const MAX_SERIES_PER_NODE: usize = super::table::MAX_KEYS_PER_NODE;

impl Collection {
    pub fn new(retention_ms: i64) -> Collection {
        Collection {
            retention_ms,
            names: HashSet::new(),
            nodes: HashMap::new(),
            held: 0,
            expired: 0,
            refused: 0,
        }
    }

    /// Samples refused because their node held too many series.
    pub fn refused_total(&self) -> u64 {
        self.refused
    }

    fn intern(names: &mut HashSet<Arc<str>>, s: &str) -> Arc<str> {
        match names.get(s) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<str> = Arc::from(s);
                names.insert(a.clone());
                a
            }
        }
    }

    /// Adds one sample.
    pub fn add(&mut self, node: &str, metric: &str, kind: Kind, at_ms: i64, value: f64) {
        self.extend(node, metric, kind, &[(at_ms, value)]);
    }

    /// Adds one sample if it is not older than the series' newest (the
    /// cheap, usual case); `false` leaves it to the caller to [`extend`]
    /// with a sorted batch.
    ///
    /// [`extend`]: Collection::extend
    pub fn append(&mut self, node: &str, metric: &str, kind: Kind, at_ms: i64, value: f64) -> bool {
        let late = self
            .nodes
            .get(node)
            .and_then(|m| m.get(metric))
            .is_some_and(|s| s.kind == kind && s.points.back().is_some_and(|b| b.0 > at_ms));
        if !late {
            self.extend(node, metric, kind, &[(at_ms, value)]);
        }
        !late
    }

    /// Adds samples given in time order. A series whose kind changes starts
    /// again, as its old values mean something else. Pushes may arrive out
    /// of order: a batch older than the series' newest sample is merged in
    /// one pass, never inserted sample by sample (which costs a move of half
    /// the buffer each).
    pub fn extend(&mut self, node: &str, metric: &str, kind: Kind, points: &[(i64, f64)]) {
        let Some(&(first, _)) = points.first() else {
            return;
        };
        let metrics = match self.nodes.get_mut(node) {
            Some(m) => m,
            None => {
                let id = Self::intern(&mut self.names, node);
                self.nodes.entry(id).or_default()
            }
        };
        // As the snapshot's entry, a node holds so many series at most:
        // names invented per push would otherwise pile up until expiry.
        if metrics.len() >= MAX_SERIES_PER_NODE && !metrics.contains_key(metric) {
            self.refused += points.len() as u64;
            return;
        }
        let series = match metrics.get_mut(metric) {
            Some(s) => s,
            None => {
                let name = Self::intern(&mut self.names, metric);
                metrics.entry(name).or_insert(Series {
                    kind,
                    points: VecDeque::new(),
                })
            }
        };
        if series.kind != kind {
            self.held -= series.points.len();
            series.points.clear();
            series.kind = kind;
        }
        match series.points.back() {
            Some(&(last, _)) if last > first => {
                if let [one] = points {
                    let at = series.points.partition_point(|p| p.0 <= one.0);
                    series.points.insert(at, *one);
                } else {
                    let old: Vec<(i64, f64)> = series.points.drain(..).collect();
                    series.points = merge(&old, points).into();
                }
            }
            _ => series.points.extend(points.iter().copied()),
        }
        self.held += points.len();
    }

    /// The kind and newest value of a series.
    pub fn last(&self, node: &str, metric: &str) -> Option<(Kind, f64)> {
        let s = self.nodes.get(node)?.get(metric)?;
        s.points.back().map(|p| (s.kind, p.1))
    }

    /// Drops samples older than the retention period, then empty series and
    /// nodes; returns how many samples went.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let cutoff = now_ms - self.retention_ms;
        let mut gone = 0;
        self.nodes.retain(|_, metrics| {
            metrics.retain(|_, s| {
                let keep = s.points.partition_point(|p| p.0 < cutoff);
                if keep > 0 {
                    s.points.drain(..keep);
                    gone += keep;
                    // Give back memory after a burst, not on every sweep.
                    if s.points.capacity() > 64 && s.points.len() < s.points.capacity() / 4 {
                        s.points.shrink_to(s.points.len() * 2);
                    }
                }
                !s.points.is_empty()
            });
            !metrics.is_empty()
        });
        // A name only the interner still holds is no longer used.
        self.names.retain(|n| Arc::strong_count(n) > 1);
        self.held -= gone;
        self.expired += gone as u64;
        gone
    }

    /// The series a filter selects, sorted by node then metric.
    pub fn select(&self, filter: &Filter) -> Vec<(&str, &str, &Series)> {
        let mut out = Vec::new();
        for (node, metrics) in &self.nodes {
            if !Filter::matches(&filter.node, node) {
                continue;
            }
            for (metric, s) in metrics {
                if Filter::matches(&filter.metric, metric) {
                    out.push((&**node, &**metric, s));
                }
            }
        }
        out.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out
    }

    /// Copies one page of the selected series' samples with `from_ms <= t
    /// < to_ms`: the series after `after` (node, metric), at most
    /// `max_series` of them and `max_points` points in all. Series with no
    /// point in the range are skipped. A series that alone holds more than
    /// `max_points` is cut (oldest first) and the page flagged `cut`.
    pub fn page(
        &self,
        filter: &Filter,
        after: Option<(&str, &str)>,
        (from_ms, to_ms): (i64, i64),
        max_series: usize,
        max_points: usize,
    ) -> Page {
        let mut page = Page::default();
        let mut taken = 0usize;
        let selected = self.select(filter);
        let start = after.map_or(0, |a| selected.partition_point(|s| (s.0, s.1) <= a));
        for &(node, metric, s) in &selected[start..] {
            if page.series.len() == max_series {
                page.next = page.last_key();
                return page;
            }
            let count = s.range(from_ms, to_ms).count();
            if count == 0 {
                continue;
            }
            if taken + count > max_points {
                if page.series.is_empty() {
                    // One series too large for any page: its oldest part.
                    page.cut = true;
                    page.series.push(SeriesCopy {
                        node: node.to_string(),
                        metric: metric.to_string(),
                        kind: s.kind,
                        points: s.range(from_ms, to_ms).take(max_points).collect(),
                    });
                }
                page.next = page.last_key();
                return page;
            }
            taken += count;
            page.series.push(SeriesCopy {
                node: node.to_string(),
                metric: metric.to_string(),
                kind: s.kind,
                points: s.range(from_ms, to_ms).collect(),
            });
        }
        page
    }

    pub fn held(&self) -> usize {
        self.held
    }

    pub fn expired_total(&self) -> u64 {
        self.expired
    }

    pub fn series(&self) -> usize {
        self.nodes.values().map(HashMap::len).sum()
    }

    pub fn retention_ms(&self) -> i64 {
        self.retention_ms
    }

    /// Bytes reserved for samples (ring buffer capacity), for self-reports.
    pub fn sample_bytes(&self) -> usize {
        let per = std::mem::size_of::<(i64, f64)>();
        self.nodes
            .values()
            .flat_map(HashMap::values)
            .map(|s| s.points.capacity() * per)
            .sum()
    }
}

/// Two time-ordered runs as one; on equal times `old` comes first.
fn merge(old: &[(i64, f64)], new: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < new.len() {
        if new[j].0 < old[i].0 {
            out.push(new[j]);
            j += 1;
        } else {
            out.push(old[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&old[i..]);
    out.extend_from_slice(&new[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(c: &Collection, node: &str, metric: &str) -> Vec<(i64, f64)> {
        let f = Filter {
            node: Some(node.into()),
            metric: Some(metric.into()),
        };
        c.select(&f)
            .first()
            .map(|s| s.2.range(i64::MIN, i64::MAX).collect())
            .unwrap_or_default()
    }

    #[test]
    fn expiry_drops_old_samples_series_and_nodes() {
        let mut c = Collection::new(10_000);
        c.add("n1", "a", Kind::Gauge, 1_000, 1.0);
        c.add("n1", "a", Kind::Gauge, 5_000, 2.0);
        c.add("n2", "b", Kind::Gauge, 2_000, 3.0);
        assert_eq!(c.held(), 3);
        assert_eq!(c.expire(12_500), 2, "samples before 2500 go");
        assert_eq!(points(&c, "n1", "a"), vec![(5_000, 2.0)]);
        assert_eq!(c.select(&Filter::default()).len(), 1, "n2 is gone");
        assert_eq!(c.expire(15_001), 1);
        assert_eq!((c.held(), c.series(), c.expired_total()), (0, 0, 3));
        assert!(c.names.is_empty(), "interned names are released");
    }

    #[test]
    fn a_node_holds_a_bounded_number_of_series() {
        let mut c = Collection::new(60_000);
        for i in 0..MAX_SERIES_PER_NODE + 3 {
            c.add("n", &format!("m{i}"), Kind::Gauge, 1_000, 1.0);
        }
        assert_eq!((c.series(), c.refused_total()), (MAX_SERIES_PER_NODE, 3));
        c.add("n", "m0", Kind::Gauge, 2_000, 2.0);
        assert_eq!(
            c.last("n", "m0"),
            Some((Kind::Gauge, 2.0)),
            "known series still grow"
        );
        c.add("other", "m0", Kind::Gauge, 2_000, 2.0);
        assert_eq!(c.series(), MAX_SERIES_PER_NODE + 1);
    }

    #[test]
    fn out_of_order_and_kind_change() {
        let mut c = Collection::new(60_000);
        c.add("n", "m", Kind::Counter, 3_000, 3.0);
        c.add("n", "m", Kind::Counter, 1_000, 1.0);
        c.add("n", "m", Kind::Counter, 2_000, 2.0);
        assert_eq!(
            points(&c, "n", "m"),
            vec![(1_000, 1.0), (2_000, 2.0), (3_000, 3.0)]
        );
        c.extend(
            "n",
            "m",
            Kind::Counter,
            &[(500, 0.5), (2_500, 2.5), (9_000, 9.0)],
        );
        assert_eq!(
            points(&c, "n", "m"),
            vec![
                (500, 0.5),
                (1_000, 1.0),
                (2_000, 2.0),
                (2_500, 2.5),
                (3_000, 3.0),
                (9_000, 9.0)
            ]
        );
        assert_eq!(c.last("n", "m"), Some((Kind::Counter, 9.0)));
        c.add("n", "m", Kind::Gauge, 4_000, 9.0);
        assert_eq!(points(&c, "n", "m"), vec![(4_000, 9.0)]);
        assert_eq!(c.held(), 1);
    }

    #[test]
    fn filters_and_ranges() {
        let mut c = Collection::new(60_000);
        for (m, t) in [("storage.a", 1), ("storage.b", 2), ("cpu", 3)] {
            c.add("n", m, Kind::Gauge, t * 1000, t as f64);
        }
        let f = Filter {
            node: None,
            metric: Some("storage.*".into()),
        };
        let names: Vec<&str> = c.select(&f).iter().map(|s| s.1).collect();
        assert_eq!(names, vec!["storage.a", "storage.b"]);
        let s = c.select(&Filter::default());
        assert_eq!(s[0].2.range(3_000, 4_000).count(), 1);
        assert_eq!(s[0].2.range(3_001, 4_000).count(), 0);
        let all = Filter::default();
        let keys =
            |p: &Page| -> Vec<String> { p.series.iter().map(|s| s.metric.clone()).collect() };
        let whole = c.page(&all, None, (0, 10_000), 3, 3);
        assert_eq!(
            (keys(&whole), whole.next, whole.cut),
            (
                vec!["cpu".to_string(), "storage.a".into(), "storage.b".into()],
                None,
                false
            )
        );
        let first = c.page(&all, None, (0, 10_000), 2, 100);
        assert_eq!(keys(&first), vec!["cpu", "storage.a"]);
        let (n, m) = first.next.clone().unwrap();
        let second = c.page(&all, Some((&n, &m)), (0, 10_000), 2, 100);
        assert_eq!(
            (keys(&second), second.next),
            (vec!["storage.b".to_string()], None)
        );
        let by_points = c.page(&all, None, (0, 10_000), 100, 2);
        assert_eq!(
            (keys(&by_points).len(), by_points.next.is_some()),
            (2, true)
        );
        c.extend("n", "cpu", Kind::Gauge, &[(3_500, 1.0), (3_600, 2.0)]);
        let cut = c.page(&all, None, (0, 10_000), 100, 2);
        assert_eq!((cut.points(), cut.cut, cut.series.len()), (2, true, 1));
        assert_eq!(cut.series[0].points, vec![(3_000, 3.0), (3_500, 1.0)]);
    }
}
