//! Reading the stats gatherer's snapshot: `stats.pickle` or `stats.json`.
//!
//! The format is chosen by content, not by name: a JSON document starts with
//! `{`, a pickle never does. Files over [`MAX_FILE`] are refused unread; a
//! pickle is decoded by our plain-data decoder ([`super::pickle`]).

use std::fmt;
use std::path::Path;

use super::keys::{KeyIndex, Place};
use super::value::{Store, Val};
use super::{json, pickle};

/// Largest snapshot read: 3000 nodes take 3 to 8 MB.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// The file could not be used; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Which format a snapshot file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pickle,
    Json,
}

/// Decides the format from the first byte that is not white space.
pub fn sniff(bytes: &[u8]) -> Format {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Format::Json,
        _ => Format::Pickle,
    }
}

/// A decoded snapshot: node id → node entry, in file order.
#[derive(Debug)]
pub struct Snapshot {
    store: Store,
    root: u32,
}

impl Snapshot {
    /// Reads and decodes `path`.
    pub fn load(path: &Path) -> Result<Snapshot, LoadError> {
        let name = path.display();
        let fail = |why: String| LoadError(format!("{name}: {why}"));
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if meta.len() > MAX_FILE {
            return Err(fail(format!(
                "{} bytes, over the {} MiB limit",
                meta.len(),
                MAX_FILE >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Snapshot::decode(bytes).map_err(fail)
    }

    /// Decodes a snapshot held in memory.
    pub fn decode(bytes: Vec<u8>) -> Result<Snapshot, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("empty file".into());
        }
        let format = sniff(&bytes);
        let mut store = Store {
            file: bytes,
            ..Store::default()
        };
        let root = match format {
            Format::Json => json::decode(&mut store)?,
            Format::Pickle => pickle::decode(&mut store).map_err(|e| e.to_string())?,
        };
        let snap = Snapshot { store, root };
        let top = snap.store.val(root);
        if !top.is_dict() {
            return Err(format!(
                "top-level value is a {}, expected a dict of nodes",
                top.type_name()
            ));
        }
        Ok(snap)
    }

    /// The nodes as Python iterates the dict: each key once, at its first
    /// position, with its last value (which keys are equal: [`KeyIndex`]).
    pub fn nodes(&self) -> Vec<(Val<'_>, Val<'_>)> {
        let mut out: Vec<(Val<'_>, Val<'_>)> = Vec::new();
        let mut keys = KeyIndex::default();
        for (k, v) in self.store.val(self.root).entries() {
            match keys.place(k) {
                Place::Seen(i) => out[i].1 = v,
                Place::New => out.push((k, v)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &Snapshot) -> Vec<String> {
        s.nodes()
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k.text().unwrap()).into_owned())
            .collect()
    }

    #[test]
    fn pickle_and_json_by_content() {
        let p = Snapshot::decode(
            b"(dp0\nS'zz'\np1\n(dp2\nS'nickname'\np3\nS'n'\nssS'aa'\n(dp4\ns.".to_vec(),
        )
        .unwrap();
        assert_eq!(ids(&p), vec!["zz", "aa"], "file order");
        assert!(p.nodes()[0].1.get("nickname").unwrap().is_str("n"));
        let j = Snapshot::decode(br#" {"zz": {"nickname": "n"}, "aa": {}}"#.to_vec()).unwrap();
        assert_eq!(ids(&j), vec!["zz", "aa"]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = |b: &[u8]| Snapshot::decode(b.to_vec()).unwrap_err();
        assert_eq!(e(b""), "empty file");
        assert!(e(b"(lp0\n.").contains("top-level value is a list"));
        assert!(e(b"{\"a\": ").contains("bad JSON"));
        assert!(e(b"{\"a\": 1} x").contains("bad JSON"));
        assert!(e(b"(dp0\nS'a").contains("truncated"));
        assert!(e(b"cos\nsystem\n.").contains("GLOBAL"));
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        let j = Snapshot::decode(br#"{"a": 1, "b": 2, "a": 3}"#.to_vec()).unwrap();
        let nodes = j.nodes();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].1.percent_s().unwrap().as_ref(), b"3");
    }
}
