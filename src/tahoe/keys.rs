//! Which node a key of the snapshot's top-level dict names.
//!
//! [`Snapshot::nodes`](super::snapshot::Snapshot::nodes) lists each key once,
//! at the position where the first key equal to it came. Text keys are equal
//! when their bytes are; any other key is equal to an earlier key when
//! [`Val::same_key`] says so. Comparing such a key with every node before it
//! made a file of 100,000 int ids (600 KB) take 17 s: [`KeyIndex`] finds
//! the same position by hashing what `same_key` compares, so each key costs a
//! few hash lookups.
//!
//! What `same_key` compares, for a key `k` that is not text:
//! - a list or dict: only itself;
//! - an int, big int, None or bool: text keys and these scalars by `%s`;
//! - a float: floats of equal value, and text keys by `%s`; floats whose
//!   text is no number are all equal, and NaN equals no float.
//!
//! A float's `%s` always holds a `.`, an `e`, `inf` or `nan` (see
//! [`crate::numfmt::float_str`]), never an int's digits, `None`, `True` or
//! `False`, so floats and the other scalars never meet.

use std::borrow::Cow;
use std::collections::HashMap;

use super::value::{Node, Val};

/// Where the keys seen so far first came, by what makes keys equal.
#[derive(Default)]
pub struct KeyIndex<'s> {
    /// How many distinct keys there are.
    len: usize,
    /// Containers and long keys, by node, with their position: a container
    /// is only ever equal to itself, and a long key the memo shares (a
    /// string, a big int) is hashed once, not at every use.
    by_node: HashMap<u32, usize>,
    /// Text keys, by their bytes.
    text: HashMap<&'s [u8], usize>,
    /// Ints, big ints, None and bools, by `%s`.
    scalar: HashMap<Cow<'s, [u8]>, usize>,
    /// Floats by value (-0.0 as 0.0, never NaN).
    float: HashMap<u64, usize>,
    /// The first float whose text is no number.
    bad_float: Option<usize>,
}

/// Where a key goes among the distinct keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// An equal key came first, at this position.
    Seen(usize),
    /// A new key: it is the next position.
    New,
}

/// Which rules of `same_key` a key follows.
enum Class<'s> {
    Text(&'s [u8]),
    Container,
    Scalar(Cow<'s, [u8]>),
    /// Its `%s` (text keys compare it) and its value; `None` for text that
    /// is no number.
    Float(Option<(Cow<'s, [u8]>, f64)>),
}

/// Keys longer than this are found by node once seen (see
/// [`KeyIndex::by_node`]); shorter ones cost little more to hash again, and
/// most node ids are shorter (Tahoe's are 32 characters).
const LONG_KEY: usize = 64;

impl Class<'_> {
    /// Whether the key is found by node: containers and long keys. Not
    /// floats, whose text is short, and of which NaN is not even equal to
    /// itself.
    fn by_node(&self) -> bool {
        match self {
            Class::Container => true,
            Class::Text(t) => t.len() > LONG_KEY,
            Class::Scalar(s) => s.len() > LONG_KEY,
            Class::Float(_) => false,
        }
    }
}

fn class<'s>(k: Val<'s>) -> Class<'s> {
    if let Some(t) = k.text() {
        return Class::Text(t);
    }
    match (k.node(), k.percent_s()) {
        (Node::List(_) | Node::Dict(_), _) => Class::Container,
        (Node::Float(_) | Node::FloatText(_), s) => Class::Float(s.zip(k.as_f64())),
        (_, Some(s)) => Class::Scalar(s),
        // Every other scalar has a `%s`.
        (_, None) => Class::Container,
    }
}

/// A float as a hash key: equal floats give equal keys (0.0 and -0.0 too).
fn float_key(f: f64) -> Option<u64> {
    if f.is_nan() {
        None
    } else if f == 0.0 {
        Some(0)
    } else {
        Some(f.to_bits())
    }
}

/// The first of the positions found.
fn first(found: impl IntoIterator<Item = Option<usize>>) -> Option<usize> {
    found.into_iter().flatten().min()
}

impl<'s> KeyIndex<'s> {
    /// Where `k` goes; a new key is recorded at the next position.
    pub fn place(&mut self, k: Val<'s>) -> Place {
        let class = class(k);
        let by_node = class.by_node();
        if by_node && let Some(&i) = self.by_node.get(&k.id) {
            return Place::Seen(i);
        }
        let found = self.find(&class);
        if by_node {
            self.by_node.insert(k.id, found.unwrap_or(self.len));
        }
        match found {
            Some(i) => Place::Seen(i),
            None => {
                self.add(class);
                Place::New
            }
        }
    }

    /// The first earlier key equal to a key of this class.
    fn find(&self, class: &Class<'s>) -> Option<usize> {
        match class {
            Class::Text(t) => self.text.get(t).copied(),
            Class::Container => None,
            Class::Scalar(s) => first([
                self.text.get(s.as_ref()).copied(),
                self.scalar.get(s.as_ref()).copied(),
            ]),
            Class::Float(Some((s, f))) => first([
                self.text.get(s.as_ref()).copied(),
                float_key(*f).and_then(|f| self.float.get(&f).copied()),
            ]),
            Class::Float(None) => self.bad_float,
        }
    }

    /// Records a new key at the next position.
    fn add(&mut self, class: Class<'s>) {
        let at = self.len;
        self.len += 1;
        match class {
            Class::Text(t) => {
                self.text.entry(t).or_insert(at);
            }
            Class::Container => {}
            Class::Scalar(s) => {
                self.scalar.entry(s).or_insert(at);
            }
            Class::Float(Some((_, f))) => {
                if let Some(f) = float_key(f) {
                    self.float.entry(f).or_insert(at);
                }
            }
            Class::Float(None) => {
                self.bad_float.get_or_insert(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tahoe::value::Store;

    /// The nodes as the scan over every earlier node found them, before the
    /// index: the specification [`KeyIndex`] must meet.
    fn scanned(store: &Store, entries: &[(u32, u32)]) -> Vec<(u32, u32)> {
        let mut out: Vec<(Val<'_>, Val<'_>)> = Vec::new();
        let mut index: HashMap<&[u8], usize> = HashMap::new();
        for &(k, v) in entries {
            let (k, v) = (store.val(k), store.val(v));
            let slot = match k.text() {
                Some(t) => index.get(t).copied(),
                None => out.iter().position(|(seen, _)| seen.same_key(&k)),
            };
            match slot {
                Some(i) => out[i].1 = v,
                None => {
                    if let Some(t) = k.text() {
                        index.insert(t, out.len());
                    }
                    out.push((k, v));
                }
            }
        }
        out.iter().map(|(k, v)| (k.id, v.id)).collect()
    }

    fn indexed(store: &Store, entries: &[(u32, u32)]) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut keys = KeyIndex::default();
        for &(k, v) in entries {
            match keys.place(store.val(k)) {
                Place::Seen(i) => out[i].1 = v,
                Place::New => out.push((k, v)),
            }
        }
        out
    }

    /// Keys on every edge of `same_key`: `%s` shared across types, floats
    /// equal by value but not text and the reverse, NaN, floats that are no
    /// number, containers, and the same node used twice.
    fn tricky_keys(s: &mut Store) -> Vec<u32> {
        let mut keys = Vec::new();
        let text = |s: &mut Store, t: &str, bytes: bool| {
            let span = s.heap_span(t.as_bytes());
            s.push(if bytes {
                Node::Bytes(span)
            } else {
                Node::Str(span)
            })
        };
        for t in [
            "5", "0.0", "-0.0", "nan", "None", "True", "1.0", "0.3", "inf", "1e+16", "12",
        ] {
            keys.push(text(s, t, false));
            keys.push(text(s, t, true));
        }
        // Long keys, which are found by node once seen.
        let long = "7".repeat(LONG_KEY + 1);
        keys.push(text(s, &long, false));
        keys.push(text(s, &long, true));
        for t in ["5", "12", "99999999999999999999", &long] {
            let span = s.heap_span(t.as_bytes());
            keys.push(s.push(Node::BigInt(span)));
        }
        for t in [
            "0.0",
            "1.50",
            "nan",
            "xyz",
            "abc",
            "-0",
            "0.30000000000000004",
        ] {
            let span = s.heap_span(t.as_bytes());
            keys.push(s.push(Node::FloatText(span)));
        }
        for n in [
            Node::Int(5),
            Node::Int(5),
            Node::Int(12),
            Node::Int(1),
            Node::Int(0),
            Node::Float(0.0),
            Node::Float(-0.0),
            Node::Float(f64::NAN),
            Node::Float(1.5),
            Node::Float(1.0),
            Node::Float(0.3),
            Node::Float(0.1 + 0.2),
            Node::Float(f64::INFINITY),
            Node::Float(1e16),
            Node::None,
            Node::None,
            Node::Bool(true),
            Node::Bool(false),
        ] {
            keys.push(s.push(n));
        }
        for _ in 0..2 {
            let list = s.new_list(Vec::new());
            keys.push(s.push(list));
            let dict = s.new_dict(Vec::new());
            keys.push(s.push(dict));
        }
        keys
    }

    #[test]
    fn issue15_index_finds_what_the_scan_found() {
        let mut store = Store::default();
        let keys = tricky_keys(&mut store);
        // A small deterministic generator: the same sequences every run.
        let mut seed: u64 = 15;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for round in 0..3000 {
            let len = 1 + next(3 * keys.len());
            let entries: Vec<(u32, u32)> = (0..len)
                .map(|i| (keys[next(keys.len())], i as u32))
                .collect();
            assert_eq!(
                indexed(&store, &entries),
                scanned(&store, &entries),
                "round {round}: {:?}",
                entries
                    .iter()
                    .map(|(k, _)| store.nodes[*k as usize].clone())
                    .collect::<Vec<_>>()
            );
        }
        // Every key once, in order, then all again in reverse.
        let mut all: Vec<(u32, u32)> = keys.iter().map(|k| (*k, 0)).collect();
        all.extend(keys.iter().rev().map(|k| (*k, 1)));
        assert_eq!(indexed(&store, &all), scanned(&store, &all));
    }
}
