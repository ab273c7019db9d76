//! Writing the values state after a run without holding the old one: the
//! old `values.json` is read one host at a time, each host's new status
//! taken in as it passes, and the result written out as it goes, so a
//! run's memory does not grow with what the file already holds (300,000
//! values and as many previous ones at 3000 nodes).
//!
//! Hosts keep the order they had in the old file, and new hosts follow;
//! readers load the file into a map, so order is not part of the format.
//! An old file that cannot be read (missing, or broken at some host) is
//! taken as far as it can be read, as `load_values` starts afresh.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::HostStatus;

/// Where merged hosts go, and what is left to take in.
struct Merge<W: Write> {
    out: W,
    /// New statuses not yet written, by host key.
    fresh: BTreeMap<String, HostStatus>,
    /// Hosts still in munin.conf; `None`: keep every host.
    keep: Option<HashSet<String>>,
    first: bool,
    error: Option<std::io::Error>,
}

impl<W: Write> Merge<W> {
    fn write(&mut self, key: &str, status: &HostStatus) {
        if self.error.is_some() {
            return;
        }
        let written = (|| {
            if !self.first {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, key)?;
            self.out.write_all(b":")?;
            serde_json::to_writer(&mut self.out, status)?;
            Ok::<(), std::io::Error>(())
        })();
        self.first = false;
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    /// A host of the old file: taken in with its new status, kept, or
    /// dropped (gone from munin.conf).
    fn old(&mut self, key: String, mut status: HostStatus) {
        if let Some(new) = self.fresh.remove(&key) {
            status.ok = new.ok;
            status.error = new.error;
            status.polled = new.polled;
            status.answered = new.answered.or(status.answered);
            status.take(new.values);
            self.write(&key, &status);
        } else if self.keep.as_ref().is_none_or(|k| k.contains(&key)) {
            self.write(&key, &status);
        }
    }
}

/// The top level of the old file: `{"hosts": {...}}`.
struct Top<'a, W: Write>(&'a mut Merge<W>);
/// The `hosts` map, one entry at a time.
struct Hosts<'a, W: Write>(&'a mut Merge<W>);

impl<'de, W: Write> DeserializeSeed<'de> for Top<'_, W> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, W: Write> Visitor<'de> for Top<'_, W> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the values state")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "hosts" {
                map.next_value_seed(Hosts(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de, W: Write> DeserializeSeed<'de> for Hosts<'_, W> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, W: Write> Visitor<'de> for Hosts<'_, W> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("hosts and their status")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let status = map.next_value::<HostStatus>()?;
            self.0.old(key, status);
        }
        Ok(())
    }
}

/// Replaces the values state at `path` with the old one and `fresh`
/// taken in (see [`HostStatus::take`]); hosts not in `keep` (when given)
/// are dropped. Written whole through a temporary file, fsynced and
/// renamed, as every state file.
pub fn merge_values(
    path: &Path,
    fresh: BTreeMap<String, HostStatus>,
    keep: Option<HashSet<String>>,
) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    crate::atomic_file::replace_with(path, |file| {
        let mut m = Merge {
            out: BufWriter::with_capacity(1 << 16, file),
            fresh,
            keep,
            first: true,
            error: None,
        };
        m.out.write_all(b"{\"hosts\":{")?;
        if let Ok(old) = std::fs::File::open(path) {
            let mut de =
                serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, old));
            // Broken part way: what was read is kept, as far as it went.
            let _ = Top(&mut m).deserialize(&mut de);
        }
        // Hosts the old state did not have.
        for (key, mut status) in std::mem::take(&mut m.fresh) {
            let values = std::mem::take(&mut status.values);
            status.take(values);
            m.write(&key, &status);
        }
        if let Some(e) = m.error.take() {
            return Err(e);
        }
        m.out.write_all(b"}}")?;
        m.out.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::state::{Values, load_values, save};

    fn status(polled: u64, values: &[(&str, u64, &str)]) -> HostStatus {
        HostStatus {
            ok: true,
            polled,
            answered: Some(polled),
            values: values
                .iter()
                .map(|(k, t, v)| (k.to_string(), (*t, v.to_string())))
                .collect(),
            ..HostStatus::default()
        }
    }

    /// What the run did before: the whole old state loaded, taken in, saved.
    fn merged_in_memory(
        old: &Values,
        fresh: &BTreeMap<String, HostStatus>,
        keep: Option<&HashSet<String>>,
    ) -> Values {
        let mut values = old.clone();
        if let Some(keep) = keep {
            values.hosts.retain(|k, _| keep.contains(k));
        }
        for (key, status) in fresh.clone() {
            let entry = values.hosts.entry(key).or_default();
            entry.ok = status.ok;
            entry.error = status.error;
            entry.polled = status.polled;
            entry.answered = status.answered.or(entry.answered);
            entry.take(status.values);
        }
        values
    }

    #[test]
    fn the_streamed_merge_equals_the_whole_state_merge() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("values.json");
        let mut old = Values::default();
        old.hosts
            .insert("g;a".into(), status(100, &[("load.load", 100, "1")]));
        old.hosts
            .insert("g;gone".into(), status(100, &[("x.y", 100, "2")]));
        let mut down = status(100, &[("cpu.user", 100, "7")]);
        down.ok = false;
        down.error = Some("refused".into());
        old.hosts.insert("g;b".into(), down);
        save(&path, &old).unwrap();
        let mut fresh = BTreeMap::new();
        fresh.insert("g;a".into(), status(400, &[("load.load", 400, "3")]));
        fresh.insert("g;new".into(), status(400, &[("if.rx", 400, "9")]));
        let mut failed = HostStatus {
            polled: 400,
            error: Some("timed out".into()),
            ..HostStatus::default()
        };
        failed.ok = false;
        fresh.insert("g;b".into(), failed);
        for keep in [
            None,
            Some(
                ["g;a", "g;b", "g;new"]
                    .map(String::from)
                    .into_iter()
                    .collect(),
            ),
        ] {
            save(&path, &old).unwrap();
            let want = merged_in_memory(&old, &fresh, keep.as_ref());
            merge_values(&path, fresh.clone(), keep).unwrap();
            assert_eq!(load_values(&path), want);
        }
        let got = load_values(&path);
        assert_eq!(got.hosts["g;a"].previous["load.load"], (100, "1".into()));
        assert_eq!(got.hosts["g;b"].answered, Some(100));
        assert!(!got.hosts.contains_key("g;gone"));
    }

    #[test]
    fn a_missing_or_broken_old_state_is_read_as_far_as_it_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/values.json");
        let mut fresh = BTreeMap::new();
        fresh.insert("g;a".into(), status(400, &[("load.load", 400, "3")]));
        merge_values(&path, fresh.clone(), None).unwrap();
        assert_eq!(load_values(&path).hosts["g;a"].values.len(), 1);
        std::fs::write(
            &path,
            br#"{"hosts":{"g;old":{"ok":true,"error":null,"polled":1,"answered":1,"values":{}},"g;bro"#,
        )
        .unwrap();
        merge_values(&path, fresh, None).unwrap();
        let got = load_values(&path);
        assert_eq!(got.hosts.keys().collect::<Vec<_>>(), vec!["g;a", "g;old"]);
    }
}
