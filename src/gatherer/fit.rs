//! Keeping the snapshot under the size the plugins read: when the table
//! would encode past it (a flood of invented ids and names), the largest
//! nodes are left out of the file, each named in the log, and the rest is
//! written; refusing the whole file would leave every good node stale.

use std::sync::Arc;

use super::encode;
use super::table::Nodes;

/// A pickle that fits, and the nodes left out of it with their estimated
/// size alone.
pub struct Fitted {
    pub nodes: Nodes,
    pub pickle: Vec<u8>,
    pub left_out: Vec<(Arc<str>, usize)>,
}

/// Encodes `nodes`, leaving out the largest until the pickle is at most
/// `limit` bytes.
pub fn within(nodes: Nodes, limit: u64) -> Fitted {
    let pickle = encode::pickle(&nodes);
    if pickle.len() as u64 <= limit {
        return Fitted {
            nodes,
            pickle,
            left_out: Vec::new(),
        };
    }
    let excess = pickle.len() as u64 - limit;
    drop(pickle);
    // Each node's size alone, estimated (a key's bytes and its opcodes and
    // memo entry); shared key strings make its share of the whole smaller,
    // so the first guess may leave out too few: then more go.
    let mut sized: Vec<(usize, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, e))| {
            let keys: usize = e
                .counters
                .keys()
                .chain(e.stats.keys())
                .map(|k| k.len() + 16)
                .sum();
            (keys + id.len() + e.nickname.len() + 100, i)
        })
        .collect();
    sized.sort_unstable_by(|a, b| b.cmp(a));
    let mut k = 0;
    let mut freed = 0u64;
    while k < sized.len() && freed < excess {
        freed += sized[k].0 as u64;
        k += 1;
    }
    loop {
        let mut out = vec![false; nodes.len()];
        for &(_, i) in &sized[..k] {
            out[i] = true;
        }
        let kept: Nodes = nodes
            .iter()
            .zip(&out)
            .filter(|(_, o)| !**o)
            .map(|(n, _)| n.clone())
            .collect();
        let pickle = encode::pickle(&kept);
        if pickle.len() as u64 <= limit || k == sized.len() {
            let left_out = sized[..k]
                .iter()
                .map(|&(size, i)| (nodes[i].0.clone(), size))
                .collect();
            return Fitted {
                nodes: kept,
                pickle,
                left_out,
            };
        }
        k = (k * 2).max(k + 1).min(sized.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gatherer::reply::{NodeStats, Num};
    use crate::gatherer::table::{Entry, Source};

    fn node(id: &str, names: usize) -> (Arc<str>, Arc<Entry>) {
        let stats = NodeStats {
            counters: (0..names)
                .map(|i| (format!("{id}.metric.{i}"), Num::Int(1)))
                .collect(),
            stats: Vec::new(),
        };
        (
            Arc::from(id),
            Arc::new(Entry::new("", 1.0, stats, Source::Push)),
        )
    }

    #[test]
    fn the_largest_nodes_are_left_out() {
        let nodes: Nodes = vec![node("good", 3), node("flood1", 2000), node("flood2", 2500)];
        let all = encode::pickle(&nodes).len() as u64;
        let f = within(nodes.clone(), all);
        assert!(f.left_out.is_empty());
        let f = within(nodes.clone(), all / 2);
        assert!(f.pickle.len() as u64 <= all / 2);
        let out: Vec<&str> = f.left_out.iter().map(|n| &*n.0).collect();
        assert_eq!(out, vec!["flood2"]);
        let f = within(nodes, 200);
        assert_eq!(f.nodes.len(), 1, "only the small node fits");
        assert_eq!(&*f.nodes[0].0, "good");
    }
}
