//! Writing the values state after a run without holding the old one: the
//! old `values.json` is read one host at a time, each host's new status
//! taken in as it passes, and the result written out as it goes, so a
//! run's memory does not grow with what the file already holds (300,000
//! values and as many previous ones at 3000 nodes).
//!
//! The merge runs beside the run: statuses arrive by a channel as hosts
//! are polled, and the old file is read while the nodes answer; at an old
//! host the run will report on, the merge waits for its status. The
//! result is staged beside the file and put in place only once every
//! value is stored ([`Staged::commit`]), so the file never names a value
//! the RRD files do not hold, and what is left for the end of a run is
//! the last few hosts, not the whole file.
//!
//! Hosts keep the order they had in the old file, and new hosts follow;
//! readers load the file into a map, so order is not part of the format.
//! Each host is written on a line of its own (whitespace to any JSON
//! reader), so the next merge parses a host from a slice of the file, far
//! faster than from the stream byte by byte; a file of another shape
//! (written before, or by hand) is streamed. An old file that cannot be
//! read (missing, or broken at some host) is taken as far as it can be
//! read, as `load_values` starts afresh.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc::Receiver;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::HostStatus;
use crate::atomic_file::Staged;

/// A run's new statuses, as its hosts are polled.
pub struct Incoming {
    /// `(host key, status)`, each host once; closed when the run has
    /// sent all it will.
    pub statuses: Receiver<(String, HostStatus)>,
    /// The hosts the run will send: an old host among them waits for its
    /// status, any other is kept as it was.
    pub awaited: HashSet<String>,
}

/// Where merged hosts go, and what is left to take in.
struct Merge<W: Write> {
    out: W,
    /// New statuses received and not yet written, by host key.
    fresh: BTreeMap<String, HostStatus>,
    incoming: Incoming,
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
            self.out
                .write_all(if self.first { OPEN_LINE } else { b",\n" })?;
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

    /// Receives statuses until `key`'s is in (or the run has sent all).
    fn wait_for(&mut self, key: &str) {
        while self.incoming.awaited.contains(key) {
            match self.incoming.statuses.recv() {
                Ok((k, status)) => {
                    self.incoming.awaited.remove(&k);
                    self.fresh.insert(k, status);
                }
                // A host's task that failed sends nothing: its old status
                // stays.
                Err(_) => self.incoming.awaited.clear(),
            }
        }
    }

    /// A host of the old file: taken in with its new status, kept, or
    /// dropped (gone from munin.conf).
    fn old(&mut self, key: String, mut status: HostStatus) {
        self.wait_for(&key);
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

/// How a file of one host per line starts (the first host, if any, on
/// the next line).
const OPEN_LINE: &[u8] = b"{\"hosts\":{\n";

/// Reads an old file of one host per line into `m`; `false` when the file
/// is not of that shape (nothing was taken then). A line that does not
/// parse ends the reading, as a broken file does.
fn read_lines<W: Write>(m: &mut Merge<W>, file: std::fs::File) -> bool {
    let mut lines = BufReader::with_capacity(1 << 16, file);
    // Only as much as the opening line: a file of the old shape is one
    // line, and is not to be read whole.
    let mut line = Vec::new();
    let opened = (&mut lines)
        .take(OPEN_LINE.len() as u64)
        .read_to_end(&mut line);
    if opened.is_err() || line != OPEN_LINE {
        return false;
    }
    // `"key":{...}` as a one-entry object, borrowing nothing.
    let mut object = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).is_err() {
            return true;
        }
        let host = line.strip_suffix(b"\n").unwrap_or(&line);
        let host = host.strip_suffix(b",").unwrap_or(host);
        if host.starts_with(b"}") || host.is_empty() {
            return true;
        }
        object.clear();
        object.push(b'{');
        object.extend_from_slice(host);
        object.push(b'}');
        match serde_json::from_slice::<BTreeMap<String, HostStatus>>(&object) {
            Ok(one) => {
                for (key, status) in one {
                    m.old(key, status);
                }
            }
            Err(_) => return true,
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

/// Writes the values state at `path` with the old one and the
/// `incoming` statuses taken in (see [`HostStatus::take`]) into its
/// temporary file: the caller commits it. Hosts not in `keep` (when
/// given) are dropped.
pub fn stage_values(
    path: &Path,
    incoming: Incoming,
    keep: Option<HashSet<String>>,
) -> Result<Staged, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let fill = |file: &mut std::fs::File| {
        let mut m = Merge {
            out: BufWriter::with_capacity(1 << 16, file),
            fresh: BTreeMap::new(),
            incoming,
            keep,
            first: true,
            error: None,
        };
        if let Ok(old) = std::fs::File::open(path)
            && !read_lines(&mut m, old)
            && let Ok(old) = std::fs::File::open(path)
        {
            let mut de =
                serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, old));
            // Broken part way: what was read is kept, as far as it went.
            let _ = Top(&mut m).deserialize(&mut de);
        }
        // Hosts the old state did not have.
        m.fresh.extend(m.incoming.statuses.iter());
        for (key, mut status) in std::mem::take(&mut m.fresh) {
            let values = std::mem::take(&mut status.values);
            status.take(values);
            m.write(&key, &status);
        }
        if let Some(e) = m.error.take() {
            return Err(e);
        }
        // Closed on a line of its own: after the last host, or right
        // after the opening line when there is none.
        m.out.write_all(if m.first { OPEN_LINE } else { b"\n" })?;
        m.out.write_all(b"}}\n")?;
        m.out.flush()?;
        Ok(())
    };
    // Not fsynced: on ext4 an fsync commits the journal, and with it the
    // inode of every RRD file the run just updated (their times), while
    // the end of the run waits (6 ms at 200 nodes on an idle disk, more
    // while it writes back). librrd never fsyncs those files either, so
    // after a power cut this file is no further behind than the data it
    // describes; a kill still leaves the old file or the new one, whole
    // (the rename).
    crate::atomic_file::stage_with(path, fill, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::state::{Values, load_values, save};

    /// The whole merge at once: every status sent before it starts.
    fn merge_values(
        path: &Path,
        fresh: BTreeMap<String, HostStatus>,
        keep: Option<HashSet<String>>,
    ) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let awaited = fresh.keys().cloned().collect();
        for sent in fresh {
            tx.send(sent).unwrap();
        }
        drop(tx);
        let incoming = Incoming {
            statuses: rx,
            awaited,
        };
        stage_values(path, incoming, keep)?.commit()
    }

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

    #[test]
    fn one_host_a_line_and_the_one_line_files_of_before_merge_alike() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("values.json");
        let mut old = Values::default();
        for (i, key) in ["g;a", "g;b", "g;c"].into_iter().enumerate() {
            let t = 100 + i as u64;
            old.hosts.insert(key.into(), status(t, &[("l.l", t, "1")]));
        }
        let mut fresh = BTreeMap::new();
        fresh.insert("g;b".into(), status(400, &[("l.l", 400, "2")]));
        let want = merged_in_memory(&old, &fresh, None);
        // Written by `save`: all on one line, as every file before.
        save(&path, &old).unwrap();
        merge_values(&path, fresh.clone(), None).unwrap();
        assert_eq!(load_values(&path), want);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.lines().nth(2).unwrap().starts_with(r#""g;b":{"#));
        // Merged again from its lines: the same as from the whole state.
        let want = merged_in_memory(&want, &fresh, None);
        merge_values(&path, fresh.clone(), None).unwrap();
        assert_eq!(load_values(&path), want);
        // Nothing at all, and nothing new: still a state every reader takes.
        std::fs::remove_file(&path).unwrap();
        merge_values(&path, BTreeMap::new(), None).unwrap();
        assert_eq!(load_values(&path), Values::default());
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"hosts\":{\n}}\n");
        merge_values(&path, fresh.clone(), None).unwrap();
        assert_eq!(load_values(&path).hosts.len(), 1);
        // Broken at a line: the hosts before it are kept.
        save(&path, &old).unwrap();
        merge_values(&path, BTreeMap::new(), None).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.replace_range(text.find(r#""g;b""#).unwrap().., "\"g;b\":{bro\n}}\n");
        std::fs::write(&path, text).unwrap();
        merge_values(&path, BTreeMap::new(), None).unwrap();
        let got = load_values(&path);
        assert_eq!(got.hosts.keys().collect::<Vec<_>>(), vec!["g;a"]);
    }

    #[test]
    fn the_merge_waits_for_an_awaited_host_and_keeps_one_never_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("values.json");
        let mut old = Values::default();
        for key in ["g;a", "g;b", "g;c"] {
            old.hosts
                .insert(key.into(), status(100, &[("l.l", 100, "1")]));
        }
        save(&path, &old).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let incoming = Incoming {
            statuses: rx,
            // `g;c`'s task fails: it never sends.
            awaited: ["g;a", "g;c", "g;new"].map(String::from).into(),
        };
        let merging = std::thread::spawn({
            let path = path.clone();
            move || stage_values(&path, incoming, None)
        });
        // The merge cannot finish before the statuses it waits for.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!merging.is_finished());
        tx.send(("g;new".into(), status(400, &[("l.l", 400, "9")])))
            .unwrap();
        tx.send(("g;a".into(), status(400, &[("l.l", 400, "2")])))
            .unwrap();
        drop(tx);
        let staged = merging.join().unwrap().unwrap();
        // Staged, not yet in place.
        assert_eq!(load_values(&path), old);
        staged.commit().unwrap();
        let got = load_values(&path);
        assert_eq!(got.hosts["g;a"].values["l.l"], (400, "2".into()));
        assert_eq!(got.hosts["g;a"].previous["l.l"], (100, "1".into()));
        assert_eq!(got.hosts["g;c"], old.hosts["g;c"]);
        assert_eq!(got.hosts["g;new"].values["l.l"], (400, "9".into()));
        assert_eq!(got.hosts.len(), 4);
    }
}
