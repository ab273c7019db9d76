//! Config and fetch output for graphs drawn from the snapshot: one series per
//! node, in file order, exactly as the original printed them.
//!
//! Per node, in the original's order: in fetch mode skip it if its
//! `timestamp` is more than 300 s old (a missing timestamp counts as 0, a
//! future one as fresh); then name the series `nickname_` + the first four
//! characters of the node id, every character outside `[A-Za-z0-9]` replaced
//! by `_` (byte by byte for byte strings, as Python 2 did); then look up the
//! value and print the node only if it is there and not None. A node without
//! a nickname or without the stats section stops the output with an error,
//! after what was already printed: the original crashed there.

use std::borrow::Cow;

use super::snapshot::Snapshot;
use super::value::{Node, Val};

/// A node's data is this old (seconds) or less: it is shown in fetch.
pub const STAT_VALIDITY: f64 = 300.0;

/// config or fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Config,
    Fetch,
}

/// How one graph is drawn from the snapshot.
pub struct Series<'a> {
    /// `graph_*` lines, in order.
    pub header: Vec<(&'static str, &'a str)>,
    pub draw: &'static str,
    pub derive: bool,
    /// The value of a node, `Ok(None)` if it has none; `Err` stops the output.
    pub pick: &'a dyn for<'n> Fn(Val<'n>) -> Result<Option<Val<'n>>, String>,
}

/// Gives a closure the signature [`Series::pick`] needs.
pub fn picker<F>(f: F) -> F
where
    F: for<'n> Fn(Val<'n>) -> Result<Option<Val<'n>>, String>,
{
    f
}

/// Writes the header lines of a config.
pub fn header(out: &mut Vec<u8>, lines: &[(&str, &str)]) {
    for (key, value) in lines {
        out.extend_from_slice(key.as_bytes());
        out.push(b' ');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
}

/// `nodestats['stats'][section]`, or the error the original crashed with.
pub fn section<'a>(node: Val<'a>, section: &str) -> Result<Val<'a>, String> {
    let stats = node.get("stats").ok_or("has no 'stats'")?;
    stats
        .get(section)
        .ok_or_else(|| format!("has no 'stats' → '{section}'"))
}

/// `nodestats['stats'][section]` if the node has it: [`section`] without
/// the message, which `suggest` would build for every node and graph.
pub fn find_section<'a>(node: Val<'a>, section: &str) -> Option<Val<'a>> {
    node.get("stats")?.get(section)
}

/// Renders `series` for every node of `snap` into `out`. On error, `out`
/// holds what was printed before it.
pub fn render(
    series: &Series<'_>,
    snap: &Snapshot,
    mode: Mode,
    now: f64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    if mode == Mode::Config {
        header(out, &series.header);
    }
    for (id, node) in snap.nodes() {
        let fail = |why: String| format!("node {}: {why}", id_text(id));
        if !node.is_dict() {
            return Err(fail(format!("entry is a {}, not a dict", node.type_name())));
        }
        if mode == Mode::Fetch {
            let ts = match node.get("timestamp") {
                None => 0.0,
                Some(t) => t
                    .as_f64()
                    .ok_or_else(|| fail(format!("timestamp is a {}", t.type_name())))?,
            };
            if now - ts > STAT_VALIDITY {
                continue;
            }
        }
        let name = SeriesName::of(id, node).map_err(fail)?;
        let Some(value) = (series.pick)(node).map_err(fail)? else {
            continue;
        };
        if value.is_none() {
            continue;
        }
        let name = name.bytes();
        let line_start = out.len();
        match mode {
            Mode::Config => {
                field_line(out, &name, "label", &name);
                if series.derive {
                    field_line(out, &name, "type", b"DERIVE");
                    field_line(out, &name, "min", b"0");
                }
                field_line(out, &name, "draw", series.draw.as_bytes());
            }
            Mode::Fetch => {
                let Some(text) = value.percent_s() else {
                    out.truncate(line_start);
                    return Err(fail(format!("value is a {}", value.type_name())));
                };
                field_line(out, &name, "value", &text);
            }
        }
    }
    Ok(())
}

fn field_line(out: &mut Vec<u8>, name: &[u8], attr: &str, value: &[u8]) {
    out.extend_from_slice(name);
    out.push(b'.');
    out.extend_from_slice(attr.as_bytes());
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The node id as text for messages.
fn id_text(id: Val<'_>) -> String {
    id.percent_s()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| "?".into())
}

/// The series name of a node: `smash(nickname + "_" + id[:4])`.
pub fn field_name(id: Val<'_>, node: Val<'_>) -> Result<Vec<u8>, String> {
    SeriesName::of(id, node).map(|n| n.bytes())
}

/// A node's series name, checked but not built yet: building it reads the
/// whole nickname, which a node that prints nothing must not pay for (the
/// memo can give 2,000 nodes one nickname of a megabyte).
pub struct SeriesName<'a> {
    nick: Smashed<'a>,
    id: Smashed<'a>,
}

/// Text whose every character outside `[A-Za-z0-9]` becomes `_`.
enum Smashed<'a> {
    /// Text (`unicode`): per character.
    Chars(&'a [u8]),
    /// `%s` of anything else (Python 2's str among them): per byte.
    Bytes(Cow<'a, [u8]>),
}

impl Smashed<'_> {
    /// The smashed text, of at most `chars` characters.
    fn take(&self, chars: usize) -> Vec<u8> {
        match self {
            Smashed::Chars(t) => smash_chars(
                &String::from_utf8_lossy(t)
                    .chars()
                    .take(chars)
                    .collect::<String>(),
            ),
            Smashed::Bytes(b) => smash_bytes(&b[..b.len().min(chars)]),
        }
    }
}

/// `%s` of a value, to smash; `None` for containers.
fn smashed(v: Val<'_>) -> Option<Smashed<'_>> {
    match v.node() {
        Node::Str(_) => v.text().map(Smashed::Chars),
        _ => v.percent_s().map(Smashed::Bytes),
    }
}

impl<'a> SeriesName<'a> {
    /// The name's parts, or what the original crashed on, in its order.
    pub fn of(id: Val<'a>, node: Val<'a>) -> Result<SeriesName<'a>, String> {
        let nick = node.get("nickname").ok_or("has no 'nickname'")?;
        let nick = smashed(nick).ok_or_else(|| format!("nickname is a {}", nick.type_name()))?;
        let text = id
            .text()
            .ok_or_else(|| format!("node id is a {}, not a string", id.type_name()))?;
        let id = match id.node() {
            Node::Str(_) => Smashed::Chars(text),
            _ => Smashed::Bytes(Cow::Borrowed(text)),
        };
        Ok(SeriesName { nick, id })
    }

    /// `smash(nickname + "_" + id[:4])`.
    pub fn bytes(&self) -> Vec<u8> {
        let mut name = self.nick.take(usize::MAX);
        name.push(b'_');
        name.extend(self.id.take(4));
        name
    }
}

fn smash_bytes(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| if c.is_ascii_alphanumeric() { c } else { b'_' })
        .collect()
}

fn smash_chars(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c as u8
            } else {
                b'_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tahoe::value::{Span, Store};

    /// A store holding `{"nickname": nick}` and the id, both as given.
    fn node(id: Node, nick: Node, text: &[u8]) -> (Store, u32, u32) {
        let mut s = Store {
            heap: text.to_vec(),
            ..Store::default()
        };
        let k = s.push(Node::Str(Span {
            heap: true,
            start: 0,
            len: 8,
        }));
        let n = s.push(nick);
        let id = s.push(id);
        let dict = s.new_dict(vec![(k, n)]);
        let d = s.push(dict);
        (s, id, d)
    }

    fn name(id: Node, nick: Node, text: &[u8]) -> Result<Vec<u8>, String> {
        let (s, i, d) = node(id, nick, text);
        field_name(s.val(i), s.val(d))
    }

    fn span(start: u32, len: u32) -> Span {
        Span {
            heap: true,
            start,
            len,
        }
    }

    #[test]
    fn field_names_smash_bytes_and_characters() {
        // heap: "nickname" "xyzw1234" "caf\xc3\xa9" "n-1"
        let text = b"nicknamexyzw1234caf\xc3\xa9n-1";
        let id = || Node::Bytes(span(8, 8));
        assert_eq!(
            name(id(), Node::Bytes(span(16, 5)), text).unwrap(),
            b"caf___xyzw"
        );
        assert_eq!(
            name(id(), Node::Str(span(16, 5)), text).unwrap(),
            b"caf__xyzw"
        );
        assert_eq!(name(id(), Node::Str(span(0, 0)), text).unwrap(), b"_xyzw");
        assert_eq!(name(id(), Node::None, text).unwrap(), b"None_xyzw");
        assert_eq!(
            name(Node::Str(span(21, 3)), Node::Str(span(21, 3)), text).unwrap(),
            b"n_1_n_1"
        );
        assert!(name(Node::Int(5), Node::None, text).is_err());
    }
}
