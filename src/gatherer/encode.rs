//! The snapshot's two encodings: a protocol-2 pickle with text strings, which
//! Python 2, Python 3 and `tahoe-stats` all load, and the same data as JSON.
//!
//! Layout, as the original gatherer wrote it:
//! `{id: {"timestamp": float, "nickname": str, "stats": {"counters": {...},
//! "stats": {...}}}}`. Key strings are memoized like Python's pickler does,
//! so a metric name shared by 3000 nodes is written once.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::reply::Num;
use super::table::{Entry, Nodes};

/// Python's pickler puts at most this many items under one SETITEMS.
const BATCH: usize = 1000;

/// Encodes the nodes as a protocol-2 pickle.
pub fn pickle(nodes: &Nodes) -> Vec<u8> {
    let mut p = Pickler {
        out: Vec::with_capacity(4096 + nodes.len() * 640),
        memo: HashMap::default(),
        prev: Default::default(),
        next: Default::default(),
    };
    p.out.extend_from_slice(b"\x80\x02");
    let items: Vec<(&str, &Entry)> = nodes.iter().map(|(k, e)| (&**k, &**e)).collect();
    p.dict(&items, |p, (id, e)| {
        p.text(id);
        p.entry(e);
    });
    p.out.push(b'.');
    p.out
}

struct Pickler<'a> {
    out: Vec<u8>,
    memo: HashMap<&'a str, u32>,
    /// The previous node's counter and stat keys with their memo indices.
    prev: [Vec<(&'a str, u32)>; 2],
    next: [Vec<(&'a str, u32)>; 2],
}

impl<'a> Pickler<'a> {
    /// A dict: EMPTY_DICT, then MARK ... SETITEMS per batch.
    fn dict<T: Copy>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, T)) {
        self.out.push(b'}');
        for chunk in items.chunks(BATCH) {
            self.out.push(b'(');
            for item in chunk {
                each(self, *item);
            }
            self.out.push(b'u');
        }
    }

    fn entry(&mut self, e: &'a Entry) {
        self.out.push(b'}');
        self.out.push(b'(');
        self.key("timestamp");
        self.float(e.timestamp);
        self.key("nickname");
        self.text(&e.nickname);
        self.key("stats");
        self.out.push(b'}');
        self.out.push(b'(');
        self.key("counters");
        let counters: Vec<(usize, &'a str, Num)> = e
            .counters
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (i, k.as_str(), *v))
            .collect();
        self.dict(&counters, |p, (i, k, v)| {
            p.section_key(0, i, k);
            p.num(Some(v));
        });
        self.key("stats");
        let stats: Vec<(usize, &'a str, Option<Num>)> = e
            .stats
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (i, k.as_str(), *v))
            .collect();
        self.dict(&stats, |p, (i, k, v)| {
            p.section_key(1, i, k);
            p.num(v);
        });
        self.out.extend_from_slice(b"uu");
        for s in 0..2 {
            std::mem::swap(&mut self.prev[s], &mut self.next[s]);
            self.next[s].clear();
        }
    }

    /// The `i`th key of a section: nodes mostly share their key lists, so
    /// the previous node's key at the same place usually gives the memo
    /// index with one comparison instead of a hash lookup.
    fn section_key(&mut self, section: usize, i: usize, k: &'a str) {
        let id = match self.prev[section].get(i) {
            Some(&(pk, id)) if pk == k => {
                self.memo_get(id);
                id
            }
            _ => self.key(k),
        };
        self.next[section].push((k, id));
    }

    fn memo_get(&mut self, i: u32) {
        match u8::try_from(i) {
            Ok(b) => self.out.extend_from_slice(&[b'h', b]),
            Err(_) => {
                self.out.push(b'j');
                self.out.extend_from_slice(&i.to_le_bytes());
            }
        }
    }

    /// A string that repeats: BINGET when seen before, else BINPUT after
    /// it. Returns its memo index.
    fn key(&mut self, s: &'a str) -> u32 {
        if let Some(&i) = self.memo.get(s) {
            self.memo_get(i);
            return i;
        }
        self.text(s);
        let i = self.memo.len() as u32;
        self.memo.insert(s, i);
        match u8::try_from(i) {
            Ok(b) => self.out.extend_from_slice(&[b'q', b]),
            Err(_) => {
                self.out.push(b'r');
                self.out.extend_from_slice(&i.to_le_bytes());
            }
        }
        i
    }

    /// BINUNICODE: a text string.
    fn text(&mut self, s: &str) {
        self.out.push(b'X');
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn float(&mut self, f: f64) {
        self.out.push(b'G');
        self.out.extend_from_slice(&f.to_be_bytes());
    }

    fn num(&mut self, n: Option<Num>) {
        match n {
            None => self.out.push(b'N'),
            Some(Num::Bool(true)) => self.out.push(0x88),
            Some(Num::Bool(false)) => self.out.push(0x89),
            Some(Num::Float(f)) => self.float(f),
            Some(Num::Int(i)) => self.int(i128::from(i)),
            Some(Num::UInt(u)) => self.int(i128::from(u)),
        }
    }

    /// BININT1/BININT2/BININT where they fit, else LONG1 (two's complement,
    /// little-endian, shortest).
    fn int(&mut self, i: i128) {
        if let Ok(b) = u8::try_from(i) {
            self.out.extend_from_slice(&[b'K', b]);
        } else if let Ok(w) = u16::try_from(i) {
            self.out.push(b'M');
            self.out.extend_from_slice(&w.to_le_bytes());
        } else if let Ok(d) = i32::try_from(i) {
            self.out.push(b'J');
            self.out.extend_from_slice(&d.to_le_bytes());
        } else {
            let bytes = i.to_le_bytes();
            let mut n = bytes.len();
            // Drop sign-extension bytes while the sign bit stays right.
            while n > 1 {
                let (top, next) = (bytes[n - 1], bytes[n - 2]);
                if (top == 0 && next & 0x80 == 0) || (top == 0xff && next & 0x80 != 0) {
                    n -= 1;
                } else {
                    break;
                }
            }
            self.out.extend_from_slice(&[0x8a, n as u8]);
            self.out.extend_from_slice(&bytes[..n]);
        }
    }
}

/// Encodes the nodes as JSON (`stats.json`).
pub fn json(nodes: &Nodes) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096 + nodes.len() * 3072);
    serde_json::to_writer(&mut out, &JsonNodes(nodes)).expect("a Vec takes any JSON");
    out.push(b'\n');
    out
}

struct JsonNodes<'a>(&'a Nodes);

impl Serialize for JsonNodes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(id, e)| (&**id, JsonEntry(e))))
    }
}

struct JsonEntry<'a>(&'a Entry);

impl Serialize for JsonEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("timestamp", &e.timestamp)?;
        m.serialize_entry("nickname", &e.nickname)?;
        m.serialize_entry("stats", &JsonStats(e))?;
        m.end()
    }
}

struct JsonStats<'a>(&'a Entry);

impl Serialize for JsonStats<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("counters", &self.0.counters)?;
        m.serialize_entry("stats", &self.0.stats)?;
        m.end()
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Num::Int(i) => s.serialize_i64(i),
            Num::UInt(u) => s.serialize_u64(u),
            Num::Float(f) => s.serialize_f64(f),
            Num::Bool(b) => s.serialize_bool(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gatherer::reply::NodeStats;
    use crate::gatherer::table::{Source, Table};
    use crate::tahoe::snapshot::Snapshot;

    fn table() -> Nodes {
        let mut t = Table::default();
        let stats = NodeStats {
            counters: vec![
                ("storage_server.allocate".into(), Num::Int(70_000)),
                ("big".into(), Num::UInt(u64::MAX)),
                ("neg".into(), Num::Int(-5_000_000_000)),
            ],
            stats: vec![
                (
                    "storage_server.disk_used".into(),
                    Some(Num::Int(19_928_952_832)),
                ),
                ("load".into(), Some(Num::Float(0.25))),
                ("lat".into(), None),
                ("ok".into(), Some(Num::Bool(true))),
            ],
        };
        t.replace(
            "abcd",
            Entry::new("café", 1700000000.5, stats.clone(), Source::Poll),
        );
        t.replace("efgh", Entry::new("n2", 1700000001.0, stats, Source::Push));
        t.nodes()
    }

    /// Our own reader decodes what we write, exactly.
    #[test]
    fn pickle_round_trips_through_our_reader() {
        let t = table();
        let snap = Snapshot::decode(pickle(&t)).unwrap();
        let nodes = snap.nodes();
        assert_eq!(nodes.len(), 2);
        let (id, e) = nodes[0];
        assert!(id.is_str("abcd"));
        assert!(e.get("nickname").unwrap().is_str("café"));
        assert_eq!(e.get("timestamp").unwrap().as_f64(), Some(1700000000.5));
        let stats = e.get("stats").unwrap();
        let c = stats.get("counters").unwrap();
        let s = stats.get("stats").unwrap();
        let txt = |v: Val<'_>| String::from_utf8(v.percent_s().unwrap().into_owned()).unwrap();
        use crate::tahoe::value::Val;
        assert_eq!(txt(c.get("storage_server.allocate").unwrap()), "70000");
        assert_eq!(txt(c.get("big").unwrap()), "18446744073709551615");
        assert_eq!(txt(c.get("neg").unwrap()), "-5000000000");
        assert_eq!(
            txt(s.get("storage_server.disk_used").unwrap()),
            "19928952832"
        );
        assert_eq!(txt(s.get("load").unwrap()), "0.25");
        assert!(s.get("lat").unwrap().is_none());
        assert_eq!(txt(s.get("ok").unwrap()), "True");
        // The second node's keys come from the memo.
        let e2 = nodes[1].1.get("stats").unwrap().get("counters").unwrap();
        assert_eq!(txt(e2.get("storage_server.allocate").unwrap()), "70000");
    }

    #[test]
    fn json_has_the_same_layout() {
        let v: serde_json::Value = serde_json::from_slice(&json(&table())).unwrap();
        assert_eq!(v["abcd"]["nickname"], "café");
        assert_eq!(v["abcd"]["stats"]["counters"]["big"], u64::MAX);
        assert_eq!(v["efgh"]["stats"]["stats"]["lat"], serde_json::Value::Null);
        assert_eq!(v["efgh"]["timestamp"], 1700000001.0);
    }

    #[test]
    fn long1_is_shortest_twos_complement() {
        let enc = |i: i128| {
            let mut p = Pickler {
                out: Vec::new(),
                memo: HashMap::default(),
                prev: Default::default(),
                next: Default::default(),
            };
            p.int(i);
            p.out
        };
        assert_eq!(enc(255), b"K\xff");
        assert_eq!(enc(65535), b"M\xff\xff");
        assert_eq!(enc(-1), b"J\xff\xff\xff\xff");
        assert_eq!(enc(1 << 31), b"\x8a\x05\x00\x00\x00\x80\x00");
        assert_eq!(enc(-(1 << 31) - 1), b"\x8a\x05\xff\xff\xff\x7f\xff");
    }
}
