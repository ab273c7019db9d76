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

use std::borrow::Cow;

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
#[derive(Debug, Default)]
pub struct Store {
    pub file: Vec<u8>,
    pub heap: Vec<u8>,
    pub nodes: Vec<Node>,
    pub lists: Vec<Vec<u32>>,
    pub dicts: Vec<Vec<(u32, u32)>>,
}

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
        self.store.dicts[*d as usize]
            .iter()
            .rev()
            .find(|(k, _)| self.store.val(*k).is_str(key))
            .map(|(_, v)| self.store.val(*v))
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
            Node::BigInt(s) => std::str::from_utf8(self.store.bytes(*s)).ok()?.parse().ok(),
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

/// A float in Python's text form (`1.5`, `1e+16`, `inf`, `nan`).
pub fn parse_float(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    /// The arena stays compact: decoding cost is mostly writing these.
    #[test]
    fn node_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Node>(), 16);
    }
}
