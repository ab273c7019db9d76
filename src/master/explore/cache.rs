//! Drawn any-range graphs, kept while their inputs are unchanged.
//!
//! A graph is keyed by everything that decides its pixels: librrd's
//! arguments (range, size, the graph's config) and when its data last
//! changed. Requests for a graph being drawn wait for that one draw; a
//! failed draw is not kept, so the next request tries again. The cache
//! holds at most [`MAX_BYTES`] of images and forgets the least recently
//! used first, so no sequence of requests grows it without bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::master::librrd::GraphInfo;

/// Images kept at most, in bytes.
pub const MAX_BYTES: usize = 64 << 20;

/// A drawn image and librrd's numbers about it.
#[derive(Debug)]
pub struct Image {
    pub png: Vec<u8>,
    pub info: GraphInfo,
}

type Slot = tokio::sync::OnceCell<Result<Arc<Image>, String>>;

struct Entry {
    slot: Arc<Slot>,
    used: AtomicU64,
}

/// The cache; one per server.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<u64, Entry>>,
    tick: AtomicU64,
}

/// The key of a graph: FNV-1a of its arguments and data stamp.
pub fn key(args: &[String], stamp: u64) -> u64 {
    let mut bytes = Vec::new();
    for a in args {
        bytes.extend_from_slice(a.as_bytes());
        bytes.push(0);
    }
    bytes.extend_from_slice(&stamp.to_le_bytes());
    crate::master::state::fnv1a(&bytes)
}

impl Cache {
    /// The image for `key`, drawn by `draw` unless kept or being drawn.
    pub async fn get_or_draw<F>(&self, key: u64, draw: F) -> Result<Arc<Image>, String>
    where
        F: std::future::Future<Output = Result<Image, String>>,
    {
        let slot = {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry(key).or_insert_with(|| Entry {
                slot: Arc::default(),
                used: AtomicU64::new(0),
            });
            entry
                .used
                .store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
            entry.slot.clone()
        };
        let out = slot
            .get_or_init(|| async { draw.await.map(Arc::new) })
            .await
            .clone();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if out.is_err() {
            // Only this draw's entry: a newer one under the same key stays.
            if map.get(&key).is_some_and(|e| Arc::ptr_eq(&e.slot, &slot)) {
                map.remove(&key);
            }
        } else {
            trim(&mut map, MAX_BYTES);
        }
        out
    }

    /// Images kept, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        (map.len(), bytes(&map))
    }
}

fn bytes(map: &HashMap<u64, Entry>) -> usize {
    map.values()
        .filter_map(|e| e.slot.get())
        .map(|r| r.as_ref().map_or(0, |i| i.png.len()))
        .sum()
}

/// Forgets the least recently used drawn images until `max` bytes remain.
fn trim(map: &mut HashMap<u64, Entry>, max: usize) {
    let mut total = bytes(map);
    if total <= max {
        return;
    }
    let mut by_age: Vec<(u64, u64, usize)> = map
        .iter()
        .filter_map(|(k, e)| {
            let size = e.slot.get()?.as_ref().ok()?.png.len();
            Some((e.used.load(Ordering::Relaxed), *k, size))
        })
        .collect();
    by_age.sort_unstable();
    for (_, k, size) in by_age {
        if total <= max {
            break;
        }
        map.remove(&k);
        total -= size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(n: usize) -> Result<Image, String> {
        Ok(Image {
            png: vec![0; n],
            info: GraphInfo::default(),
        })
    }

    #[tokio::test]
    async fn kept_until_pushed_out_and_failures_retried() {
        let c = Cache::default();
        let a = c.get_or_draw(1, async { image(10) }).await.unwrap();
        let again = c.get_or_draw(1, async { panic!("drawn twice") }).await;
        assert!(Arc::ptr_eq(&a, &again.unwrap()));
        assert!(c.get_or_draw(2, async { Err("no".into()) }).await.is_err());
        assert!(
            c.get_or_draw(2, async { image(5) }).await.is_ok(),
            "retried"
        );
        assert_eq!(c.size(), (2, 15));
        c.get_or_draw(3, async { image(MAX_BYTES - 8) })
            .await
            .unwrap();
        // Key 1 (10 bytes) was used least recently: it went first.
        assert_eq!(c.size(), (2, MAX_BYTES - 3));
        assert_ne!(key(&["a".into()], 1), key(&["a".into()], 2));
        assert_ne!(key(&["ab".into()], 1), key(&["a".into(), "b".into()], 1));
    }
}
