//! What the HTML and limit steps need from an update, kept in
//! `<dbdir>/munin-rs-state/`:
//!
//! - `config/<group>/.../<host>.json`: each plugin's last config (graph
//!   and field attributes, munin.conf overrides applied) and a hash of it.
//!   Configs rarely change, so a host's file is rewritten only when a hash
//!   differs (as Ceilometer's resource cache skips unchanged resources);
//!   the run counts the writes it saved. A changed plugin's existing RRD
//!   files get their min/max tuned; an unchanged one's are left alone.
//! - `values.json`: per host its status (ok, or the error), when it was
//!   polled, and each field's last value, one file for the whole run.
//!
//! Every file is replaced whole (temporary file, rename), so a run killed
//! at any moment leaves the previous state or the new one; config files
//! are fsynced too, the values file is not (see `merge`: it goes with the
//! RRD files' values, which librrd never fsyncs). The values file is
//! merged as it is read (`merge`), never held whole.

mod merge;

pub use merge::{Incoming, stage_values};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::conf::Host;
use crate::master::poll::reply::Parsed;

/// One graph's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub name: String,
    pub graph: Vec<(String, String)>,
    /// `(field, attributes)`, in the node's order.
    pub fields: Vec<(String, Vec<(String, String)>)>,
    /// For an aggregate (munin.conf's graphs over other hosts' fields): the
    /// RRD file each field reads, which is another host's. Empty for a
    /// node's own graph, whose files follow from its host and names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<(String, PathBuf)>,
    /// Whether a field has a `warning` or `critical` of its own (from the
    /// plugin or munin.conf), not only inherited from its host, groups or
    /// the global part: munin-limits judges only such graphs. `None` in a
    /// state written before this was kept: judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_limits: Option<bool>,
}

/// A plugin's config: its graphs (several for multigraph) and their hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginConfig {
    pub hash: String,
    pub services: Vec<ServiceConfig>,
    /// For an aggregate: when its sources last answered (its graph is due
    /// when they move on). Never stored.
    #[serde(skip)]
    pub data: Option<u64>,
}

/// A host's last config, per plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostConfig {
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// 64-bit FNV-1a: stable across builds, unlike std's hasher.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A config's hash as the state file keeps it: FNV-1a of its JSON, in
/// hex. The JSON is hashed as it is written, never held.
pub fn json_hash<T: Serialize + ?Sized>(value: &T) -> String {
    struct Fnv(u64);
    impl std::io::Write for Fnv {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = bytes.iter().fold(self.0, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            });
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv(fnv1a(b""));
    // Writing into the hasher cannot fail; a value serde cannot write
    // hashes as far as it went, as the empty JSON did before.
    let _ = serde_json::to_writer(&mut h, value);
    format!("{:016x}", h.0)
}

/// The config part of each plugin's reply, hashed; the replies' values
/// and problems are dropped (the plan has taken what it needs of them).
pub fn snapshot(plugins: Vec<(String, Parsed)>) -> HostConfig {
    let mut out = HostConfig::default();
    for (name, parsed) in plugins {
        let services: Vec<ServiceConfig> = parsed
            .services
            .into_iter()
            .map(|s| ServiceConfig {
                name: s.name,
                graph: s.graph,
                fields: s.fields.into_iter().map(|f| (f.name, f.attrs)).collect(),
                files: Vec::new(),
                own_limits: Some(s.own_limits),
            })
            .collect();
        out.plugins.insert(
            name,
            PluginConfig {
                hash: json_hash(&services),
                services,
                data: None,
            },
        );
    }
    out
}

/// Each plugin's config hash, by plugin: what a run compares a poll with.
pub type Hashes = BTreeMap<String, String>;

/// The hashes of `config`'s plugins.
pub fn hashes(config: &HostConfig) -> Hashes {
    config
        .plugins
        .iter()
        .map(|(name, p)| (name.clone(), p.hash.clone()))
        .collect()
}

/// Plugins whose config differs from the `old` hashes (new ones included).
pub fn changed<'a>(old: &Hashes, new: &'a HostConfig) -> Vec<&'a str> {
    new.plugins
        .iter()
        .filter(|(name, p)| old.get(*name).is_none_or(|o| *o != p.hash))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Whether writing `new` over a file of the `old` hashes would change it.
pub fn differs(old: &Hashes, new: &HostConfig) -> bool {
    old.len() != new.plugins.len() || !changed(old, new).is_empty()
}

fn root(dbdir: &Path) -> PathBuf {
    dbdir.join("munin-rs-state")
}

/// `<dbdir>/munin-rs-state/config/<groups>/<host>.json`.
pub fn config_path(dbdir: &Path, host: &Host) -> PathBuf {
    let mut p = root(dbdir).join("config");
    for g in &host.groups {
        p.push(g);
    }
    p.push(format!("{}.json", host.name));
    p
}

/// `<dbdir>/munin-rs-state/values.json`.
pub fn values_path(dbdir: &Path) -> PathBuf {
    root(dbdir).join("values.json")
}

/// Where each spooling host's `spoolfetch` time is kept (absent until a
/// node offers `spool`).
pub fn spool_path(dbdir: &Path) -> PathBuf {
    root(dbdir).join("spoolfetch.json")
}

/// Each host's next `spoolfetch` time, by [`host_key`]; unreadable is
/// empty (the node then sends all it holds, which is stored again
/// harmlessly: librrd skips what is not newer).
pub fn load_spool(path: &Path) -> BTreeMap<String, u64> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// When each of `hosts` last answered (0: never), by index.
pub fn answered(values: &Values, hosts: &[Host]) -> Vec<u64> {
    hosts
        .iter()
        .map(|h| {
            values
                .hosts
                .get(&host_key(h))
                .and_then(|s| s.answered)
                .unwrap_or(0)
        })
        .collect()
}

/// A host's last config; `None` when there is none or it cannot be read
/// (then it is simply written anew).
pub fn load_config(path: &Path) -> Option<HostConfig> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Only the plugin hashes of a host's config file: a steady run compares
/// these, and skipping the graphs and fields in the text is far cheaper
/// than building them.
pub fn load_hashes(path: &Path) -> Option<Hashes> {
    #[derive(Deserialize)]
    struct Hashed {
        hash: String,
    }
    #[derive(Deserialize)]
    struct File {
        plugins: BTreeMap<String, Hashed>,
    }
    let file: File = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(file.plugins.into_iter().map(|(k, v)| (k, v.hash)).collect())
}

/// Replaces a file with `value` as JSON, whole.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let bytes = serde_json::to_vec(value).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::atomic_file::replace(path, &bytes)
}

/// A host's status after its last poll.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostStatus {
    pub ok: bool,
    pub error: Option<String>,
    /// When it was last polled, and when it last answered.
    pub polled: u64,
    pub answered: Option<u64>,
    /// `service.field` → (time, value): the last stored.
    pub values: BTreeMap<String, (u64, String)>,
    /// The value before the last, for rates (munin-limits judges a
    /// DERIVE's rate, not its counter).
    #[serde(default)]
    pub previous: BTreeMap<String, (u64, String)>,
}

impl HostStatus {
    /// Takes in a poll's `values`; the ones they replace become
    /// `previous`.
    pub fn take(&mut self, values: BTreeMap<String, (u64, String)>) {
        for (key, new) in values {
            if let Some(old) = self.values.insert(key.clone(), new)
                && old.0 < self.values[&key].0
            {
                self.previous.insert(key, old);
            }
        }
    }
}

/// Every host's status, keyed `group;...;host`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Values {
    pub hosts: BTreeMap<String, HostStatus>,
}

/// The key of a host in [`Values`].
pub fn host_key(host: &Host) -> String {
    let mut k = host.groups.join(";");
    k.push(';');
    k.push_str(&host.name);
    k
}

/// The last values file; an unreadable one is started afresh.
pub fn load_values(path: &Path) -> Values {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::poll::reply;

    fn parsed(text: &str) -> Parsed {
        reply::parse(
            "load",
            &text.lines().map(str::to_string).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_hash_follows_the_config_only() {
        let a = snapshot(vec![(
            "load".into(),
            parsed("graph_title L\nload.label l\n"),
        )]);
        let same = snapshot(vec![(
            "load".into(),
            parsed("graph_title L\nload.label l\n"),
        )]);
        let other = snapshot(vec![(
            "load".into(),
            parsed("graph_title L\nload.label l\nload.max 9\n"),
        )]);
        assert_eq!(a, same);
        assert!(changed(&hashes(&a), &same).is_empty());
        assert!(!differs(&hashes(&a), &same));
        assert_eq!(changed(&hashes(&a), &other), vec!["load"]);
        assert_eq!(changed(&Hashes::new(), &a), vec!["load"]);
        // A plugin gone is a change of the file, not of a plugin.
        assert!(differs(&hashes(&a), &HostConfig::default()));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        // The same hash as of the whole JSON text, so that state files
        // written before keep their hashes.
        let services = &a.plugins["load"].services;
        assert_eq!(
            json_hash(services),
            format!("{:016x}", fnv1a(&serde_json::to_vec(services).unwrap()))
        );
    }

    #[test]
    fn files_are_replaced_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/y.json");
        let c = snapshot(vec![(
            "load".into(),
            parsed("graph_title L\nload.label l\n"),
        )]);
        save(&p, &c).unwrap();
        assert_eq!(load_hashes(&p), Some(hashes(&c)));
        assert_eq!(load_config(&p), Some(c));
        std::fs::write(&p, "{broken").unwrap();
        assert_eq!(load_config(&p), None);
        assert_eq!(load_hashes(&p), None);
        assert_eq!(load_values(&dir.path().join("none")), Values::default());
    }
}
