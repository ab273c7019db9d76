//! The decoded snapshot: Python values in one arena.
//!
//! Every value is a [`Node`] in a vector; containers hold the indices of
//! their items, so a value the pickle refers to twice (its memo) is stored
//! once and shared, never copied: a "billion laughs" pickle costs what its
//! bytes cost. Strings are spans of the file itself where no escape had to
//! be undone, else of a side buffer, so decoding does not allocate per
//! string. Nothing here recurses into containers, so even a structure that
//! contains itself is harmless.
//!
//! Python 2 `str` (bytes) compares equal to the text with the same bytes, as
//! it did in the Python 2 original, so keys written as byte strings are found
//! by name.
//!
//! A dict looked up more than once gets an index (see [`Lookups`]): the memo
//! lets thousands of nodes share one dict of a million stats, and scanning it
//! again for every node made reading such a file quadratic.

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;

/// A run of bytes in the file (`heap == false`) or in the side buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub heap: bool,
    pub start: u32,
    pub len: u32,
}

/// The items of a list or the entries of a dict, by index into
/// [`Store::lists`] / [`Store::dicts`] (keeping a [`Node`] at 16 bytes).
pub type Container = u32;

/// One Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    None,
    Bool(bool),
    Int(i64),
    /// An integer outside i64, as decimal text.
    BigInt(Span),
    Float(f64),
    /// A float as protocol 0 writes it (`repr()` text), parsed when used:
    /// most of a snapshot's floats are never looked at.
    FloatText(Span),
    /// Python 2 `str` / Python 3 `bytes`.
    Bytes(Span),
    /// Text (UTF-8).
    Str(Span),
    /// list, tuple, set, frozenset: items in [`Store::lists`].
    List(Container),
    /// Entries in [`Store::dicts`], in file order; a repeated key appears
    /// again (the last wins).
    Dict(Container),
}

/// The values of one snapshot and the bytes they point into.
///
/// The decoders fill it; after that it is only read (through [`Val`]), which
/// the lookup indexes rely on: they are not rebuilt when a dict changes.
#[derive(Debug, Default)]
pub struct Store {
    pub file: Vec<u8>,
    pub heap: Vec<u8>,
    pub nodes: Vec<Node>,
    pub lists: Vec<Vec<u32>>,
    pub dicts: Vec<Vec<(u32, u32)>>,
    pub(super) lookups: Lookups,
}

/// Dicts of at most this many entries are scanned at every lookup: most
/// dicts of a snapshot are this small, and a scan of them costs less than
/// finding their index.
const SCAN_MAX: usize = 16;

/// What is known of the dicts over `SCAN_MAX` entries, for lookups.
///
/// A dict's first lookup scans it: a graph reads one stat of each node, so
/// most dicts are looked up once, and sorting them would cost more than that
/// scan. From the second lookup on (a dict the memo shares between nodes, or
/// `suggest` asking every graph's stat) an index answers, built once, so a
/// dict costs one scan and one sort however often it is looked up.
#[derive(Debug, Default)]
pub struct Lookups(RefCell<Known>);

#[derive(Debug, Default)]
struct Known {
    /// Per dict: [`NEVER`] looked up, looked up [`ONCE`], or `INDEXED + i`
    /// for an index in `indexes[i]`. Four bytes a dict, not a hash table:
    /// the common lookup (a dict's first) then costs no hashing.
    state: Vec<u32>,
    /// The entries with a string key, only the last of each key, sorted by
    /// the key's bytes.
    indexes: Vec<Vec<(u32, u32)>>,
}

const NEVER: u32 = 0;
const ONCE: u32 = 1;
const INDEXED: u32 = 2;

impl Store {
    pub fn bytes(&self, s: Span) -> &[u8] {
        let buf: &[u8] = if s.heap { &self.heap } else { &self.file };
        &buf[s.start as usize..(s.start + s.len) as usize]
    }

    /// Copies `bytes` into the side buffer.
    pub fn heap_span(&mut self, bytes: &[u8]) -> Span {
        let start = self.heap.len() as u32;
        self.heap.extend_from_slice(bytes);
        Span {
            heap: true,
            start,
            len: bytes.len() as u32,
        }
    }

    pub fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    pub fn val(&self, id: u32) -> Val<'_> {
        Val { store: self, id }
    }

    /// A new list holding `items`.
    pub fn new_list(&mut self, items: Vec<u32>) -> Node {
        self.lists.push(items);
        Node::List((self.lists.len() - 1) as u32)
    }

    /// A new dict holding `entries`.
    pub fn new_dict(&mut self, entries: Vec<(u32, u32)>) -> Node {
        self.dicts.push(entries);
        Node::Dict((self.dicts.len() - 1) as u32)
    }

    /// `dict.get(key)` of dict `d`: the value of its last entry with that key.
    fn dict_get(&self, d: Container, key: &[u8]) -> Option<u32> {
        let entries: &[(u32, u32)] = self.dicts.get(d as usize)?;
        if entries.len() <= SCAN_MAX {
            return self.scan(entries, key);
        }
        let mut known = self.lookups.0.borrow_mut();
        let Known { state, indexes } = &mut *known;
        if state.len() <= d as usize {
            state.resize(self.dicts.len().max(d as usize + 1), NEVER);
        }
        let slot = state.get_mut(d as usize)?;
        match *slot {
            NEVER => {
                *slot = ONCE;
                self.scan(entries, key)
            }
            ONCE => {
                *slot = INDEXED + indexes.len() as u32;
                indexes.push(self.index(entries));
                self.search(indexes.last()?, key)
            }
            i => self.search(indexes.get((i - INDEXED) as usize)?, key),
        }
    }

    /// The value of the last entry whose key is the string `key`.
    fn scan(&self, entries: &[(u32, u32)], key: &[u8]) -> Option<u32> {
        entries
            .iter()
            .rev()
            .find(|(k, _)| self.val(*k).text() == Some(key))
            .map(|(_, v)| *v)
    }

    /// The index of a dict: see [`Known::indexes`].
    fn index(&self, entries: &[(u32, u32)]) -> Vec<(u32, u32)> {
        // Last entry first: the stable sort keeps it first among its equals,
        // and dedup keeps the first.
        let mut keyed: Vec<Keyed<'_>> = entries
            .iter()
            .rev()
            .filter_map(|&(k, v)| Some((self.val(k).text()?, k, v)))
            .collect();
        keyed.sort_by(key_order);
        keyed.dedup_by(|later, kept| key_order(later, kept).is_eq());
        keyed.into_iter().map(|(_, k, v)| (k, v)).collect()
    }

    fn search(&self, index: &[(u32, u32)], key: &[u8]) -> Option<u32> {
        let i = index
            .binary_search_by(|(k, _)| self.val(*k).text().unwrap_or_default().cmp(key))
            .ok()?;
        index.get(i).map(|(_, v)| *v)
    }
}

/// A dict entry with its key's bytes, for sorting.
type Keyed<'s> = (&'s [u8], u32, u32);

/// Entries in the order of their keys' bytes. A key the memo shares is
/// equal to itself without reading its bytes: a dict whose million keys are
/// one long string sorts in n log n steps, not times its length.
fn key_order(a: &Keyed<'_>, b: &Keyed<'_>) -> Ordering {
    if a.1 == b.1 {
        return Ordering::Equal;
    }
    a.0.cmp(b.0)
}

/// A value in a [`Store`].
#[derive(Debug, Clone, Copy)]
pub struct Val<'s> {
    store: &'s Store,
    pub id: u32,
}

impl<'s> Val<'s> {
    pub fn node(&self) -> &'s Node {
        &self.store.nodes[self.id as usize]
    }

    pub fn is_none(&self) -> bool {
        matches!(self.node(), Node::None)
    }

    pub fn is_dict(&self) -> bool {
        matches!(self.node(), Node::Dict(_))
    }

    /// The bytes of a string value (`str` or `bytes`).
    pub fn text(&self) -> Option<&'s [u8]> {
        match self.node() {
            Node::Bytes(s) | Node::Str(s) => Some(self.store.bytes(*s)),
            _ => None,
        }
    }

    /// Whether this is the string `key`.
    pub fn is_str(&self, key: &str) -> bool {
        self.text() == Some(key.as_bytes())
    }

    /// `dict.get(key)`: the last entry with that key.
    pub fn get(&self, key: &str) -> Option<Val<'s>> {
        let Node::Dict(d) = self.node() else {
            return None;
        };
        let v = self.store.dict_get(*d, key.as_bytes())?;
        Some(self.store.val(v))
    }

    /// The entries of a dict, in file order (repeats included).
    pub fn entries(&self) -> impl Iterator<Item = (Val<'s>, Val<'s>)> + 's {
        let store = self.store;
        let entries: &'s [(u32, u32)] = match self.node() {
            Node::Dict(d) => &store.dicts[*d as usize],
            _ => &[],
        };
        entries
            .iter()
            .map(move |(k, v)| (store.val(*k), store.val(*v)))
    }

    /// Python's type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.node() {
            Node::None => "None",
            Node::Bool(_) => "bool",
            Node::Int(_) | Node::BigInt(_) => "int",
            Node::Float(_) | Node::FloatText(_) => "float",
            Node::Bytes(_) => "str",
            Node::Str(_) => "unicode",
            Node::List(_) => "list",
            Node::Dict(_) => "dict",
        }
    }

    /// The number, if this is one (timestamps).
    pub fn as_f64(&self) -> Option<f64> {
        match self.node() {
            Node::Int(i) => Some(*i as f64),
            Node::BigInt(s) => big_int_f64(self.store.bytes(*s)),
            Node::Float(f) => Some(*f),
            Node::FloatText(s) => parse_float(self.store.bytes(*s)),
            Node::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// Python 2's `%s` of a scalar; `None` for containers.
    pub fn percent_s(&self) -> Option<Cow<'s, [u8]>> {
        use crate::numfmt::float_str;
        Some(match self.node() {
            Node::None => Cow::Borrowed(b"None"),
            Node::Bool(true) => Cow::Borrowed(b"True"),
            Node::Bool(false) => Cow::Borrowed(b"False"),
            Node::Int(i) => Cow::Owned(i.to_string().into_bytes()),
            Node::Float(f) => Cow::Owned(float_str(*f).into_bytes()),
            Node::FloatText(_) => Cow::Owned(float_str(self.as_f64()?).into_bytes()),
            Node::BigInt(s) | Node::Bytes(s) | Node::Str(s) => Cow::Borrowed(self.store.bytes(*s)),
            Node::List(_) | Node::Dict(_) => return None,
        })
    }

    /// Same key for Python's dict: equal scalars, or the very same container.
    pub fn same_key(&self, other: &Val<'_>) -> bool {
        match (self.node(), other.node()) {
            (Node::List(_) | Node::Dict(_), _) | (_, Node::List(_) | Node::Dict(_)) => {
                self.id == other.id
            }
            (Node::Int(a), Node::Int(b)) => a == b,
            (Node::Float(_) | Node::FloatText(_), Node::Float(_) | Node::FloatText(_)) => {
                self.as_f64() == other.as_f64()
            }
            (Node::None, Node::None) => true,
            (Node::Bool(a), Node::Bool(b)) => a == b,
            _ => match (self.text(), other.text()) {
                (Some(a), Some(b)) => a == b,
                _ => self.percent_s() == other.percent_s(),
            },
        }
    }
}

/// Digits from which an integer without leading zeros is past `f64::MAX`
/// (about 1.8e308), so it reads as an infinity.
const INFINITE_DIGITS: usize = 310;

/// A [`Node::BigInt`]'s decimal text as a float. The decoders write it
/// without leading zeros, so one that long is an infinity, known without
/// reading it: the memo can make one megabyte-long number the timestamp of
/// every node, and parsing it again for each one was quadratic.
fn big_int_f64(text: &[u8]) -> Option<f64> {
    let (sign, digits) = match text.strip_prefix(b"-") {
        Some(d) => (-1.0, d),
        None => (1.0, text),
    };
    if digits.len() >= INFINITE_DIGITS && matches!(digits.first(), Some(b'1'..=b'9')) {
        return Some(sign * f64::INFINITY);
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A float in Python's text form (`1.5`, `1e+16`, `inf`, `nan`).
pub fn parse_float(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The arena stays compact: decoding cost is mostly writing these.
    #[test]
    fn node_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Node>(), 16);
    }

    fn text(s: &mut Store, t: &str, bytes: bool) -> u32 {
        let span = s.heap_span(t.as_bytes());
        s.push(if bytes {
            Node::Bytes(span)
        } else {
            Node::Str(span)
        })
    }

    /// Lookups answered by the index (from a dict's second lookup on) are
    /// the scan's: the last entry of the key, str and bytes alike, keys that
    /// are not text never found.
    #[test]
    fn issue15_indexed_lookups_answer_as_the_scan() {
        let mut s = Store::default();
        let mut entries = Vec::new();
        // Enough repeats that only a stable sort keeps each key's last one.
        for i in 0..600 {
            let k = text(&mut s, &format!("k{}", i % 40), i % 3 == 0);
            entries.push((k, s.push(Node::Int(i))));
        }
        let shared = entries[5].0;
        let other = s.push(Node::Int(99));
        entries.push((shared, other));
        for n in [Node::Int(7), Node::None] {
            let k = s.push(n);
            entries.push((k, k));
        }
        let empty = text(&mut s, "", false);
        entries.push((empty, empty));
        let dict = s.new_dict(entries.clone());
        let d = s.push(dict);
        let scan = |key: &str| {
            entries
                .iter()
                .rev()
                .find(|(k, _)| s.val(*k).text() == Some(key.as_bytes()))
                .map(|(_, v)| *v)
        };
        let keys: Vec<String> = (0..45)
            .map(|i| format!("k{i}"))
            .chain(["", "7", "None", "k"].map(String::from))
            .collect();
        for round in 0..3 {
            for key in &keys {
                let got = s.val(d).get(key).map(|v| v.id);
                assert_eq!(got, scan(key), "round {round}, {key:?}");
            }
        }
        assert_eq!(s.lookups.0.borrow().state.first(), Some(&INDEXED));
    }

    /// Long integers read as infinities without being parsed, as parsing
    /// them would: from 310 digits on.
    #[test]
    fn issue15_long_integers_are_infinite_unread() {
        for len in 300..320 {
            for first in ['1', '9'] {
                for sign in ["", "-"] {
                    let t = format!("{sign}{first}{}", "0".repeat(len - 1));
                    assert_eq!(
                        big_int_f64(t.as_bytes()),
                        t.parse::<f64>().ok(),
                        "{len} digits"
                    );
                }
            }
        }
    }
}
