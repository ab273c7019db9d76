//! A pickle decoder that accepts plain data only.
//!
//! Pickle is a little stack machine whose opcodes can import and call any
//! Python object. This decoder knows the opcodes that build plain data (all
//! that Python's picklers, 2 and 3, protocols 0 to 5, emit for dicts of
//! strings and numbers) and refuses every other one, names the offending
//! opcode and byte offset, checks every length against the bytes really
//! there, and builds the values in one pass into a [`Store`]: memo references
//! share the stored value instead of copying it, strings point into the file,
//! so the result is never larger than the input. Integers beyond i64 (LONG1
//! and LONG4 up to 512 bits, decimal text of any length) are kept exactly.
//!
//! We decode with this rather than serde-pickle (the crate first chosen):
//! on a 3000-node snapshot (7.5 MB, protocol 0) serde-pickle took 143 ms,
//! ten times the budget of the whole plugin run, because it copies memo
//! references and builds a second tree; and its typed path, the only one
//! that keeps dict (node) order, refuses integers beyond i64.

use std::fmt;

use memchr::memchr;

use super::value::{Node, Span, Store};

/// The largest LONG1/LONG4 integer accepted, in bytes (512 bits).
const MAX_LONG_BYTES: usize = 64;

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickleError {
    /// An opcode that is not plain data (GLOBAL, REDUCE, BUILD, ...).
    Forbidden { name: &'static str, offset: usize },
    /// A byte that is no pickle opcode.
    Unknown { opcode: u8, offset: usize },
    /// The file ends inside an opcode or before STOP.
    Truncated,
    /// Bytes follow the STOP opcode.
    Trailing { offset: usize },
    /// The opcodes are not a valid program, or an argument is malformed.
    Malformed { offset: usize, why: String },
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickleError::Forbidden { name, offset } => {
                write!(
                    f,
                    "refusing opcode {name} at byte {offset}: only plain data is accepted"
                )
            }
            PickleError::Unknown { opcode, offset } => {
                write!(f, "not a pickle opcode: 0x{opcode:02x} at byte {offset}")
            }
            PickleError::Truncated => write!(f, "truncated pickle"),
            PickleError::Trailing { offset } => {
                write!(f, "data after the end of the pickle at byte {offset}")
            }
            PickleError::Malformed { offset, why } => {
                write!(f, "corrupt pickle at byte {offset}: {why}")
            }
        }
    }
}

impl std::error::Error for PickleError {}

/// Internal results keep the error boxed: a small `Result` is cheaper to
/// return from the hot functions of the decoding loop.
type Res<T> = Result<T, Box<PickleError>>;

#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Mark,
    Val(u32),
}

/// Opcodes that reach outside plain data, refused by name.
fn forbidden(op: u8) -> Option<&'static str> {
    Some(match op {
        b'c' => "GLOBAL",
        0x93 => "STACK_GLOBAL",
        b'R' => "REDUCE",
        b'b' => "BUILD",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return None,
    })
}

struct Decoder<'f> {
    file: &'f [u8],
    pos: usize,
    /// Where the opcode being decoded starts, for messages.
    at: usize,
    stack: Vec<Slot>,
    memo: Vec<u32>,
    memo_count: usize,
    store: Store,
}

const UNSET: u32 = u32::MAX;

/// The value of a stack slot above the topmost mark (never a mark itself).
fn slot_id(s: Slot) -> u32 {
    match s {
        Slot::Val(id) => id,
        Slot::Mark => UNSET,
    }
}

impl<'f> Decoder<'f> {
    fn bad<T>(&self, why: impl Into<String>) -> Res<T> {
        Err(Box::new(PickleError::Malformed {
            offset: self.at,
            why: why.into(),
        }))
    }

    fn take(&mut self, n: usize) -> Res<&'f [u8]> {
        if self.file.len() - self.pos < n {
            return Err(Box::new(PickleError::Truncated));
        }
        let s = &self.file[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The argument up to the next newline (the newline consumed, not returned).
    fn line(&mut self) -> Res<&'f [u8]> {
        let rest = &self.file[self.pos..];
        let end = memchr(b'\n', rest).ok_or_else(|| Box::new(PickleError::Truncated))?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    /// A little-endian unsigned number of `n` bytes (1, 2, 4 or 8).
    fn le(&mut self, n: usize) -> Res<u64> {
        let b = self.take(n)?;
        Ok(match n {
            1 => b[0] as u64,
            2 => u16::from_le_bytes([b[0], b[1]]) as u64,
            4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
            _ => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        })
    }

    /// A counted argument: `width` length bytes, then that many bytes.
    fn counted(&mut self, width: usize) -> Res<(usize, usize)> {
        let len = self.le(width)?;
        if len > (self.file.len() - self.pos) as u64 {
            return Err(Box::new(PickleError::Truncated));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok((start, len as usize))
    }

    fn span(&self, start: usize, len: usize) -> Span {
        Span {
            heap: false,
            start: start as u32,
            len: len as u32,
        }
    }

    fn heap(&mut self, bytes: &[u8]) -> Span {
        self.store.heap_span(bytes)
    }

    fn push(&mut self, node: Node) {
        let id = self.store.push(node);
        self.stack.push(Slot::Val(id));
    }

    fn pop(&mut self) -> Res<u32> {
        match self.stack.pop() {
            Some(Slot::Val(id)) => Ok(id),
            Some(Slot::Mark) => self.bad("unexpected mark"),
            None => self.bad("stack underflow"),
        }
    }

    fn top(&self) -> Res<u32> {
        match self.stack.last() {
            Some(Slot::Val(id)) => Ok(*id),
            _ => self.bad("no value on the stack"),
        }
    }

    fn pop_mark(&mut self) -> Res<Vec<u32>> {
        let Some(mark) = self.stack.iter().rposition(|s| *s == Slot::Mark) else {
            return self.bad("no mark on the stack");
        };
        let items = self
            .stack
            .drain(mark + 1..)
            .map(|s| match s {
                Slot::Val(id) => id,
                Slot::Mark => UNSET,
            })
            .collect();
        self.stack.pop();
        Ok(items)
    }

    /// Where the topmost mark is, and the container just below it.
    fn mark_and_container(&self) -> Res<(usize, u32)> {
        let Some(mark) = self.stack.iter().rposition(|s| *s == Slot::Mark) else {
            return self.bad("no mark on the stack");
        };
        match mark.checked_sub(1).map(|i| self.stack[i]) {
            Some(Slot::Val(id)) => Ok((mark, id)),
            _ => self.bad("no container below the mark"),
        }
    }

    /// SETITEMS: the pairs above the mark go into the dict below it, straight
    /// from the stack (protocols 1+ build every dict this way).
    fn set_items(&mut self) -> Res<()> {
        let (mark, container) = self.mark_and_container()?;
        let items = &self.stack[mark + 1..];
        if !items.len().is_multiple_of(2) {
            return self.bad("odd number of items for a dict");
        }
        let Node::Dict(d) = self.store.nodes[container as usize] else {
            return self.bad("setting an item of a value that is not a dict");
        };
        let pairs = items.chunks(2).map(|kv| (slot_id(kv[0]), slot_id(kv[1])));
        self.store.dicts[d as usize].extend(pairs);
        self.stack.truncate(mark);
        Ok(())
    }

    /// APPENDS / ADDITEMS: the items above the mark go into the list below it.
    fn append_items(&mut self) -> Res<()> {
        let (mark, container) = self.mark_and_container()?;
        let Node::List(l) = self.store.nodes[container as usize] else {
            return self.bad("appending to a value that is not a list");
        };
        let items = self.stack[mark + 1..].iter().map(|s| slot_id(*s));
        self.store.lists[l as usize].extend(items);
        self.stack.truncate(mark);
        Ok(())
    }

    fn pairs(&self, items: Vec<u32>) -> Res<Vec<(u32, u32)>> {
        if !items.len().is_multiple_of(2) {
            return self.bad("odd number of items for a dict");
        }
        Ok(items.chunks(2).map(|kv| (kv[0], kv[1])).collect())
    }

    /// The list (or set) on top of the stack, to append to.
    fn top_list(&mut self) -> Res<&mut Vec<u32>> {
        let top = self.top()? as usize;
        match self.store.nodes[top] {
            Node::List(l) => Ok(&mut self.store.lists[l as usize]),
            _ => Err(Box::new(PickleError::Malformed {
                offset: self.at,
                why: "appending to a value that is not a list".into(),
            })),
        }
    }

    /// The dict on top of the stack, to set items in.
    fn top_dict(&mut self) -> Res<&mut Vec<(u32, u32)>> {
        let top = self.top()? as usize;
        match self.store.nodes[top] {
            Node::Dict(d) => Ok(&mut self.store.dicts[d as usize]),
            _ => self.bad("setting an item of a value that is not a dict"),
        }
    }

    fn memo_put(&mut self, index: u64) -> Res<()> {
        // Python numbers memo entries from 0 up; an index far beyond the
        // file's size can only be an attempt to make us allocate.
        if index > self.file.len() as u64 {
            return self.bad(format!("memo index {index} out of range"));
        }
        let top = self.top()?;
        let i = index as usize;
        if i >= self.memo.len() {
            self.memo.resize(i + 1, UNSET);
        }
        if self.memo[i] == UNSET {
            self.memo_count += 1;
        }
        self.memo[i] = top;
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> Res<()> {
        match self.memo.get(index as usize) {
            Some(&id) if id != UNSET => {
                self.stack.push(Slot::Val(id));
                Ok(())
            }
            _ => self.bad(format!("memo entry {index} read before it was stored")),
        }
    }

    /// A PUT/GET index line (`123\n`), read in the same pass that finds
    /// its end: protocol 0 has one after nearly every value.
    fn line_index(&mut self) -> Res<u64> {
        let rest = &self.file[self.pos..];
        let mut v = 0u64;
        for (i, &c) in rest.iter().enumerate().take(19) {
            if c == b'\n' {
                if i == 0 {
                    break;
                }
                self.pos += i + 1;
                return Ok(v);
            }
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + d as u64;
        }
        // Unusual text (spaces, a very long number): the general path.
        let text = self.line()?;
        self.decimal_index(text)
    }

    /// An INT line of 1 to 18 digits without a leading zero (so not Python
    /// 2's `01`/`00` booleans), consumed; `None` leaves it for the general path.
    fn line_small_int(&mut self) -> Option<i64> {
        let rest = &self.file[self.pos..];
        if rest.first() == Some(&b'0') {
            return None;
        }
        let mut v = 0i64;
        for (i, &c) in rest.iter().enumerate().take(19) {
            if c == b'\n' {
                if i == 0 {
                    return None;
                }
                self.pos += i + 1;
                return Some(v);
            }
            let d = c.wrapping_sub(b'0');
            // A 19th digit could overflow: leave it to the general path.
            if d > 9 || i == 18 {
                return None;
            }
            v = v * 10 + d as i64;
        }
        None
    }

    fn decimal_index(&self, text: &[u8]) -> Res<u64> {
        match parse_u64(text) {
            Some(i) => Ok(i),
            None => self.bad("bad memo index"),
        }
    }

    /// INT / LONG text: an i64, or exact decimal text beyond it.
    fn int_text(&mut self, text: &[u8], long: bool) -> Res<Node> {
        let text = if long {
            text.strip_suffix(b"L").unwrap_or(text)
        } else {
            text
        };
        if !long && text == b"01" {
            return Ok(Node::Bool(true));
        }
        if !long && text == b"00" {
            return Ok(Node::Bool(false));
        }
        let (negative, digits) = match text.strip_prefix(b"-") {
            Some(d) => (true, d),
            None => (false, text),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return self.bad("bad integer");
        }
        let small = parse_u64(digits).and_then(|m| {
            if negative {
                0i64.checked_sub_unsigned(m)
            } else {
                i64::try_from(m).ok()
            }
        });
        Ok(match small {
            Some(i) => Node::Int(i),
            None => Node::BigInt(self.heap(canonical_decimal(text).as_bytes())),
        })
    }

    fn run(&mut self) -> Res<u32> {
        loop {
            self.at = self.pos;
            let Some(&op) = self.file.get(self.pos) else {
                return Err(Box::new(PickleError::Truncated));
            };
            self.pos += 1;
            if let Some(name) = forbidden(op) {
                return Err(Box::new(PickleError::Forbidden {
                    name,
                    offset: self.at,
                }));
            }
            match op {
                b'.' => {
                    if self.pos != self.file.len() {
                        return Err(Box::new(PickleError::Trailing { offset: self.pos }));
                    }
                    return match self.stack.as_slice() {
                        [Slot::Val(root)] => Ok(*root),
                        _ => self.bad("STOP with other than exactly one value on the stack"),
                    };
                }
                0x80 => {
                    let v = self.take(1)?[0];
                    if v > 5 {
                        return self.bad(format!("unsupported pickle protocol {v}"));
                    }
                }
                0x95 => {
                    self.take(8)?;
                }
                b'(' => self.stack.push(Slot::Mark),
                b'0' => {
                    if self.stack.pop().is_none() {
                        return self.bad("stack underflow");
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.top()?;
                    self.stack.push(Slot::Val(top));
                }
                b'N' => self.push(Node::None),
                0x88 => self.push(Node::Bool(true)),
                0x89 => self.push(Node::Bool(false)),
                b'I' => {
                    // Small non-negative ints (most counters) in one pass.
                    match self.line_small_int() {
                        Some(v) => self.push(Node::Int(v)),
                        None => {
                            let text = self.line()?;
                            let node = self.int_text(text, false)?;
                            self.push(node);
                        }
                    }
                }
                b'L' => {
                    let text = self.line()?;
                    let node = self.int_text(text, true)?;
                    self.push(node);
                }
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.push(Node::Int(v as i64));
                }
                b'K' => {
                    let v = self.le(1)?;
                    self.push(Node::Int(v as i64));
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.push(Node::Int(v as i64));
                }
                0x8a | 0x8b => {
                    let (start, len) = self.counted(if op == 0x8a { 1 } else { 4 })?;
                    if len > MAX_LONG_BYTES {
                        return self.bad(format!("integer of {len} bytes is too large"));
                    }
                    let file = self.file;
                    let node =
                        long_node(&file[start..start + len], |text| self.heap(text.as_bytes()));
                    self.push(node);
                }
                b'F' => {
                    // Parsed when used (see Node::FloatText); text that is no
                    // float is reported then, naming the node.
                    let start = self.pos;
                    let text = self.line()?;
                    if text.is_empty() || text.len() > 64 {
                        return self.bad("bad float");
                    }
                    self.push(Node::FloatText(self.span(start, text.len())));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let f = f64::from_be_bytes(b.try_into().expect("8 bytes"));
                    self.push(Node::Float(f));
                }
                b'S' => {
                    let start = self.pos;
                    let text = self.line()?;
                    let span = self.py2_string(start, text)?;
                    self.push(Node::Bytes(span));
                }
                b'T' | b'U' | b'B' | b'C' | 0x8e | 0x96 => {
                    let width = match op {
                        b'U' | b'C' => 1,
                        b'T' | b'B' => 4,
                        _ => 8,
                    };
                    let (start, len) = self.counted(width)?;
                    self.push(Node::Bytes(self.span(start, len)));
                }
                b'V' => {
                    let start = self.pos;
                    let text = self.line()?;
                    let span = match raw_unicode_escape(text) {
                        None => self.span(start, text.len()),
                        Some(decoded) => self.heap(decoded.as_bytes()),
                    };
                    self.push(Node::Str(span));
                }
                b'X' | 0x8c | 0x8d => {
                    let width = match op {
                        0x8c => 1,
                        b'X' => 4,
                        _ => 8,
                    };
                    let (start, len) = self.counted(width)?;
                    if std::str::from_utf8(&self.file[start..start + len]).is_err() {
                        return self.bad("string is not valid UTF-8");
                    }
                    self.push(Node::Str(self.span(start, len)));
                }
                b'}' => {
                    let node = self.store.new_dict(Vec::new());
                    self.push(node);
                }
                b']' | b')' | 0x8f => {
                    let node = self.store.new_list(Vec::new());
                    self.push(node);
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    let node = self.store.new_dict(pairs);
                    self.push(node);
                }
                b'l' | b't' | 0x91 => {
                    let items = self.pop_mark()?;
                    let node = self.store.new_list(items);
                    self.push(node);
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let node = self.store.new_list(items);
                    self.push(node);
                }
                b'a' => {
                    let v = self.pop()?;
                    self.top_list()?.push(v);
                }
                b'e' | 0x90 => self.append_items()?,
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.top_dict()?.push((k, v));
                }
                b'u' => self.set_items()?,
                b'p' => {
                    let i = self.line_index()?;
                    self.memo_put(i)?;
                }
                b'q' => {
                    let i = self.le(1)?;
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = self.le(4)?;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = self.memo_count as u64;
                    self.memo_put(i)?;
                }
                b'g' => {
                    let i = self.line_index()?;
                    self.memo_get(i)?;
                }
                b'h' => {
                    let i = self.le(1)?;
                    self.memo_get(i)?;
                }
                b'j' => {
                    let i = self.le(4)?;
                    self.memo_get(i)?;
                }
                _ => {
                    return Err(Box::new(PickleError::Unknown {
                        opcode: op,
                        offset: self.at,
                    }));
                }
            }
        }
    }

    /// A Python 2 STRING argument: a repr() literal in single or double quotes.
    fn py2_string(&mut self, start: usize, text: &[u8]) -> Res<Span> {
        let quoted = text.len() >= 2
            && (text[0] == b'\'' || text[0] == b'"')
            && text[text.len() - 1] == text[0];
        if !quoted {
            return self.bad("STRING argument is not quoted");
        }
        let inner = &text[1..text.len() - 1];
        if memchr(b'\\', inner).is_none() {
            return Ok(self.span(start + 1, inner.len()));
        }
        let decoded = escape_decode(inner);
        Ok(self.heap(&decoded))
    }
}

/// Decodes the pickle in `store.file` into `store`; returns the root value.
pub fn decode(store: &mut Store) -> Result<u32, PickleError> {
    let file = std::mem::take(&mut store.file);
    let result = {
        let mut d = Decoder {
            file: &file,
            pos: 0,
            at: 0,
            stack: Vec::new(),
            memo: Vec::new(),
            memo_count: 0,
            store: std::mem::take(store),
        };
        // Protocol 0 spends about 16 bytes of file per value.
        d.store.nodes.reserve(file.len() / 16);
        let result = d.run().map_err(|e| *e);
        *store = std::mem::take(&mut d.store);
        result
    };
    store.file = file;
    result
}

/// ASCII decimal digits as a number, `None` if empty, not digits, or too big.
fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    if text.len() <= 18 {
        // Cannot overflow: 18 digits < 2^63.
        let mut v = 0u64;
        for &c in text {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + d as u64;
        }
        return Some(v);
    }
    text.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add((c - b'0') as u64)
    })
}

/// Python's string-escape decoding of a repr() body.
fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 == s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' => out.push(c),
            b'\n' => {}
            b'x' if i + 2 <= s.len() && s[i..i + 2].iter().all(u8::is_ascii_hexdigit) => {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(&s[i..i + 2]).expect("hex"), 16)
                        .expect("hex"),
                );
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                let mut n = 1;
                while n < 3 && i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                    v = v * 8 + (s[i] - b'0') as u32;
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// raw-unicode-escape: `\uXXXX` and `\UXXXXXXXX` escapes, every other byte a
/// Latin-1 character. `None` when the text is plain ASCII (use it as is).
fn raw_unicode_escape(s: &[u8]) -> Option<String> {
    if s.is_ascii() && memchr(b'\\', s).is_none() {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let width = match (s[i], s.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => 0,
        };
        if width > 0
            && let Some(hex) = s.get(i + 2..i + 2 + width)
            && let Some(c) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32)
        {
            out.push(c);
            i += 2 + width;
            continue;
        }
        out.push(s[i] as char);
        i += 1;
    }
    Some(out)
}

/// LONG1/LONG4 bytes (little-endian two's complement) as a node.
fn long_node(b: &[u8], mut heap: impl FnMut(&str) -> Span) -> Node {
    if b.is_empty() {
        return Node::Int(0);
    }
    if b.len() <= 8 {
        let mut buf = if b[b.len() - 1] & 0x80 != 0 {
            [0xff; 8]
        } else {
            [0; 8]
        };
        buf[..b.len()].copy_from_slice(b);
        return Node::Int(i64::from_le_bytes(buf));
    }
    Node::BigInt(heap(&twos_complement_decimal(b)))
}

/// Decimal text of a little-endian two's complement integer.
fn twos_complement_decimal(b: &[u8]) -> String {
    let negative = b[b.len() - 1] & 0x80 != 0;
    let mut mag: Vec<u8> = b.to_vec();
    if negative {
        // Magnitude = ~x + 1.
        let mut carry = 1u16;
        for byte in &mut mag {
            let v = (!*byte) as u16 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
    }
    // Repeated division by 10^9 over base-256 digits, most significant first.
    let mut digits: Vec<u8> = mag.into_iter().rev().skip_while(|&x| x == 0).collect();
    let mut chunks = Vec::new();
    while !digits.is_empty() {
        let mut rem = 0u64;
        let mut next = Vec::with_capacity(digits.len());
        for &d in &digits {
            let cur = (rem << 8) | d as u64;
            let q = cur / 1_000_000_000;
            rem = cur % 1_000_000_000;
            if !next.is_empty() || q != 0 {
                next.push(q as u8);
            }
        }
        chunks.push(rem as u32);
        digits = next;
    }
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    match chunks.split_last() {
        None => s.push('0'),
        Some((first, rest)) => {
            s.push_str(&first.to_string());
            for c in rest.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
        }
    }
    s
}

/// Decimal text without leading zeros or a plus sign.
fn canonical_decimal(text: &[u8]) -> String {
    let (neg, digits) = match text.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, text),
    };
    let trimmed: &[u8] = match digits.iter().position(|&d| d != b'0') {
        Some(p) => &digits[p..],
        None => b"0",
    };
    let mut s = String::from(if neg && trimmed != b"0" { "-" } else { "" });
    s.push_str(std::str::from_utf8(trimmed).expect("digits"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tahoe::value::Val;

    fn decode_bytes(b: &[u8]) -> Result<(Store, u32), PickleError> {
        let mut store = Store {
            file: b.to_vec(),
            ..Store::default()
        };
        let root = decode(&mut store)?;
        Ok((store, root))
    }

    fn text(v: Val<'_>) -> String {
        String::from_utf8_lossy(&v.percent_s().unwrap()).into_owned()
    }

    #[test]
    fn protocol_0_as_python_2_wrote_it() {
        // {'a': 1, 'b': 'a', 'c': 'x\'y\\z\xe9', 'd': True, 'e': 1.5, 'f': 123456789012345678901234567890L}
        let p = b"(dp0\nS'a'\np1\nI1\nsS'b'\np2\ng1\nsS'c'\np3\nS\"x'y\\\\z\\xe9\"\np4\nsS'd'\nI01\nsS'e'\nF1.5\nsS'f'\nL123456789012345678901234567890L\ns.";
        let (s, root) = decode_bytes(p).unwrap();
        let d = s.val(root);
        assert_eq!(text(d.get("a").unwrap()), "1");
        assert!(
            d.get("b").unwrap().is_str("a"),
            "memo GET shares the string"
        );
        assert_eq!(d.get("c").unwrap().text().unwrap(), b"x'y\\z\xe9");
        assert_eq!(text(d.get("d").unwrap()), "True");
        assert_eq!(text(d.get("e").unwrap()), "1.5");
        assert_eq!(text(d.get("f").unwrap()), "123456789012345678901234567890");
    }

    #[test]
    fn binary_protocols_and_big_longs() {
        // {'big': 2**70, 'neg': -2**70, 'small': -2}, protocol 2.
        let p = b"\x80\x02}q\x00(U\x03bigq\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40U\x03negq\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0U\x05smallq\x03\x8a\x01\xfeu.";
        let (s, root) = decode_bytes(p).unwrap();
        let d = s.val(root);
        assert_eq!(text(d.get("big").unwrap()), "1180591620717411303424");
        assert_eq!(text(d.get("neg").unwrap()), "-1180591620717411303424");
        assert_eq!(text(d.get("small").unwrap()), "-2");
    }

    #[test]
    fn protocol_4_frames_and_unicode() {
        // {'café': 'é'} protocol 4.
        let bytes = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x05caf\xc3\xa9\x94\x8c\x02\xc3\xa9\x94s.";
        let (s, root) = decode_bytes(bytes).unwrap();
        assert_eq!(
            s.val(root).get("café").unwrap().text().unwrap(),
            "é".as_bytes()
        );
        // Protocol 0 unicode: raw-unicode-escape.
        let (s, root) = decode_bytes(b"Vcaf\xe9 \\u20ac\n.").unwrap();
        assert_eq!(s.val(root).text().unwrap(), "café €".as_bytes());
    }

    #[test]
    fn shared_references_are_not_copied() {
        // x = [1]; 30 levels of [x, x]: 2**30 values if copied.
        let mut p = b"\x80\x02]q\x00K\x01a0".to_vec();
        for i in 0..30u8 {
            p.extend_from_slice(&[b']', b'q', i + 1, b'h', i, b'a', b'h', i, b'a', b'0']);
        }
        p.extend_from_slice(b"h\x1e.");
        let (s, _) = decode_bytes(&p).unwrap();
        assert!(s.nodes.len() < 100, "{} nodes", s.nodes.len());
        // A list containing itself decodes (nothing recurses into it).
        assert!(decode_bytes(b"\x80\x02]q\x00h\x00a.").is_ok());
    }

    #[test]
    fn refusals() {
        let err = |b: &[u8]| decode_bytes(b).unwrap_err().to_string();
        assert!(err(b"cos\nsystem\n(S'x'\ntR.").starts_with("refusing opcode GLOBAL at byte 0"));
        assert!(err(b"\x80\x04\x8c\x02os\x8c\x06system\x93.").contains("STACK_GLOBAL"));
        assert!(err(b"(dp0\nb.").contains("BUILD"));
        assert_eq!(err(b"T\xff\xff\xff\xffabc."), "truncated pickle");
        assert_eq!(err(b""), "truncated pickle");
        assert!(err(b"N.junk").contains("data after the end"));
        assert!(err(b"s.").contains("stack underflow"));
        assert!(err(b"g7\n.").contains("read before it was stored"));
        assert!(err(b"Nr\xff\xff\xff\xff.").contains("out of range"));
        assert!(err(b"\x80\x09N.").contains("unsupported pickle protocol 9"));
        assert!(
            err(b"\x8b\x00\x01\x00\x00").contains("truncated")
                || err(b"\x8b\x00\x01\x00\x00").contains("too large")
        );
        assert!(err(b"{").contains("not a pickle opcode"));
        assert!(err(b"S'abc\n.").contains("not quoted"));
        assert!(err(b"]N}s.").contains("not a dict"));
    }

    #[test]
    fn ints_of_every_width() {
        for (digits, want) in [
            ("0", "0"),
            ("7", "7"),
            ("-7", "-7"),
            ("123456789012345678", "123456789012345678"),
            ("9223372036854775807", "9223372036854775807"),
            ("9999999999999999999", "9999999999999999999"),
            ("-9223372036854775809", "-9223372036854775809"),
        ] {
            let (s, root) = decode_bytes(format!("I{digits}\n.").as_bytes()).unwrap();
            assert_eq!(text(s.val(root)), want, "{digits}");
        }
    }

    #[test]
    fn decimal_conversion() {
        assert_eq!(twos_complement_decimal(&[0xff; 9]), "-1");
        assert_eq!(
            twos_complement_decimal(&[0, 0, 0, 0, 0, 0, 0, 0, 1]),
            "18446744073709551616"
        );
        assert_eq!(canonical_decimal(b"-000"), "0");
        assert_eq!(canonical_decimal(b"00012"), "12");
    }
}
