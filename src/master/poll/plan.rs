//! What one poll of a host means on disk: for every field of every service
//! its RRD file, data source type, min and max, and the value to store.
//!
//! Overrides from munin.conf (`service.field.attr value` in the host's
//! section) are applied first, as Munin lets the master correct a node.
//! Every field that appears in config gets a file, even one fetch never
//! gave a value for, as munin-update does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::session::HostReply;
use crate::master::conf::Host;
use crate::master::state::{self, HostConfig};
use crate::master::store::layout::{self, DsType};

/// One field to store.
///
/// It is serialised only for the store workers, 100,000 times a run at
/// 1000 nodes: what a worker does not read (the plugin and graph) and
/// what is unset are left out of its line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldPlan {
    /// The plugin (as `list` named it) and the graph (its multigraph name),
    /// shared by the plugin's and graph's fields.
    #[serde(skip)]
    pub plugin: Arc<str>,
    #[serde(skip)]
    pub service: Arc<str>,
    pub field: String,
    pub path: PathBuf,
    pub ds: DsType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// `(node's time stamp, value)`; `None` when fetch gave nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<(Option<u64>, String)>,
    /// Values before `value`, oldest first, each with its time (a
    /// spooled answer carries many per field); stored before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<(u64, String)>,
    /// Check an existing file's min/max against these (its plugin's
    /// config changed since the last run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tune: bool,
}

#[cfg(test)]
impl FieldPlan {
    /// A `load.load` gauge stored in `path`, with nothing else set: what
    /// the librrd tests start from.
    pub fn load_gauge(path: PathBuf) -> FieldPlan {
        FieldPlan {
            plugin: "load".into(),
            service: "load".into(),
            field: "load".into(),
            path,
            ds: DsType::Gauge,
            min: None,
            max: None,
            value: None,
            earlier: Vec::new(),
            tune: false,
        }
    }
}

/// The fields of a host, and what could not be planned (named).
#[derive(Debug, Default)]
pub struct HostPlan {
    pub fields: Vec<FieldPlan>,
    pub problems: Vec<String>,
    /// Plugins the node listed and the run did not store (see `problems`).
    pub skipped: usize,
    /// Each plugin's config, overrides applied, for the state file.
    pub config: HostConfig,
    /// From a spooled answer: its newest time (see `HostReply`).
    pub spooled_until: Option<u64>,
    /// From a spooled answer: `config` holds only the plugins in it.
    pub from_spool: bool,
}

/// Plans `reply` of `host` under `dbdir`.
pub fn plan(dbdir: &Path, host: &Host, mut reply: HostReply) -> HostPlan {
    let mut out = HostPlan {
        skipped: reply.skipped.len(),
        spooled_until: reply.spooled_until,
        from_spool: reply.from_spool,
        ..HostPlan::default()
    };
    out.problems.append(&mut reply.skipped);
    for (_, parsed) in &mut reply.plugins {
        for (key, value) in &host.overrides {
            apply_override(parsed, key, value);
        }
        for s in &mut parsed.services {
            s.own_limits = s
                .fields
                .iter()
                .any(|f| f.attr("warning").is_some() || f.attr("critical").is_some());
        }
        inherit(parsed, &host.inherited);
    }
    // A multigraph plugin may name its graphs freely; Munin stores them
    // under the names they are given.
    for (plugin, parsed) in &mut reply.plugins {
        out.problems.append(&mut parsed.problems);
        let plugin: Arc<str> = plugin.as_str().into();
        for s in &parsed.services {
            let service: Arc<str> = s.name.as_str().into();
            // Each field's values, found in one pass over them.
            let mut by_field: std::collections::HashMap<&str, Vec<&super::reply::Value>> =
                std::collections::HashMap::new();
            for v in &s.values {
                by_field.entry(v.field.as_str()).or_default().push(v);
            }
            let files = layout::ServiceFiles::new(dbdir, host, &s.name);
            for f in &s.fields {
                let ds = match f.attr("type").map(DsType::parse) {
                    None => DsType::Gauge,
                    Some(Some(t)) => t,
                    Some(None) => {
                        out.problems.push(format!(
                            "{}: {}.type: unknown type {:?}, field skipped",
                            s.name,
                            f.name,
                            f.attr("type").unwrap_or_default()
                        ));
                        continue;
                    }
                };
                let path = match &files {
                    Ok(files) => files.field(&f.name, ds),
                    Err(e) => {
                        out.problems.push(format!("{}: {e}", host.name));
                        continue;
                    }
                };
                let (earlier, value) =
                    values_of(by_field.get(f.name.as_str()).map_or(&[][..], |v| &v[..]));
                out.fields.push(FieldPlan {
                    plugin: plugin.clone(),
                    service: service.clone(),
                    field: f.name.clone(),
                    path,
                    ds,
                    min: f.attr("min").map(str::to_string),
                    max: f.attr("max").map(str::to_string),
                    value,
                    earlier,
                    tune: false,
                });
            }
        }
    }
    out.config = state::snapshot(reply.plugins);
    out
}

/// A field's last value: its time, if the node gave one, and the text.
type Last = Option<(Option<u64>, String)>;

/// A field's last value, and the timed values before it in time order
/// (later duplicates of a time dropped): what a spooled answer holds.
fn values_of(mine: &[&super::reply::Value]) -> (Vec<(u64, String)>, Last) {
    let mut mine = mine.iter();
    let Some(last) = mine.next_back() else {
        return (Vec::new(), None);
    };
    let mut earlier: Vec<(u64, String)> = mine
        .filter_map(|v| v.time.map(|t| (t, v.value.clone())))
        .filter(|(t, _)| last.time.is_none_or(|l| *t < l))
        .collect();
    earlier.sort_by_key(|(t, _)| *t);
    earlier.dedup_by_key(|(t, _)| *t);
    (earlier, Some((last.time, last.value.clone())))
}

#[cfg(test)]
mod spooled {
    use super::*;
    use crate::master::poll::reply::Value;

    fn v(t: Option<u64>, x: &str) -> Value {
        Value {
            field: "a".into(),
            time: t,
            value: x.into(),
        }
    }

    #[test]
    fn many_values_of_a_field_go_in_time_order() {
        let all = [
            v(Some(30), "3"),
            v(Some(10), "1"),
            v(Some(10), "9"),
            v(Some(20), "2"),
            v(Some(40), "4"),
        ];
        let (earlier, last) = values_of(&all.iter().collect::<Vec<_>>());
        assert_eq!(
            earlier,
            vec![(10, "1".into()), (20, "2".into()), (30, "3".into())]
        );
        assert_eq!(last, Some((Some(40), "4".into())));
        assert_eq!(
            values_of(&[&v(None, "5")]),
            (vec![], Some((None, "5".into())))
        );
        assert_eq!(values_of(&[]), (vec![], None));
    }
}

/// `service.graph_attr value` or `service.field.attr value`: the service
/// may hold dots (multigraph).
fn apply_override(parsed: &mut super::reply::Parsed, key: &str, value: &str) {
    let Some((rest, attr)) = key.rsplit_once('.') else {
        return;
    };
    if attr.starts_with("graph_")
        && let Some(s) = parsed.services.iter_mut().find(|s| s.name == rest)
    {
        s.graph.push((attr.to_string(), value.to_string()));
        return;
    }
    let Some((service, field)) = rest.rsplit_once('.') else {
        return;
    };
    let target = parsed
        .services
        .iter_mut()
        .find(|s| s.name == service)
        .and_then(|s| s.fields.iter_mut().find(|f| f.name == field));
    if let Some(f) = target {
        f.attrs.push((attr.to_string(), value.to_string()));
    }
}

/// What the node and munin.conf left unset, taken from the host, its
/// groups and the global part (`inherited`, nearest last).
fn inherit(parsed: &mut super::reply::Parsed, inherited: &[(String, String)]) {
    use crate::master::conf::{Inherit, inherits, last};
    for s in &mut parsed.services {
        let mut graph_defaults = Vec::new();
        for (k, _) in inherited {
            if inherits(k) == Some(Inherit::Graph)
                && last(&s.graph, k).is_none()
                && !graph_defaults
                    .iter()
                    .any(|(d, _): &(String, String)| d == k)
            {
                let v = last(inherited, k).unwrap_or_default();
                graph_defaults.push((k.clone(), v.to_string()));
            }
        }
        s.graph.extend(graph_defaults);
        for f in &mut s.fields {
            let mut field_defaults: Vec<(String, String)> = Vec::new();
            for (k, _) in inherited {
                if inherits(k) == Some(Inherit::Field)
                    && f.attr(k).is_none()
                    && !field_defaults.iter().any(|(d, _)| d == k)
                {
                    let v = last(inherited, k).unwrap_or_default();
                    field_defaults.push((k.clone(), v.to_string()));
                }
            }
            f.attrs.extend(field_defaults);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::poll::reply;

    #[test]
    fn files_types_values_and_overrides() {
        let host = Host {
            address: "x".into(),
            port: 1,
            overrides: vec![("c.ticks.max".into(), "100".into())],
            ..Host::new(vec!["g".into()], "h")
        };
        let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        let mut c = reply::parse(
            "c",
            &lines(
                "ticks.label t\nticks.type COUNTER\nticks.min 0\nnone.label n\nodd.type FANCY\n",
            ),
        );
        c.take_values(reply::parse("c", &lines("ticks.value 1700000000:5\n")));
        let r = HostReply {
            node_name: "h".into(),
            plugins: vec![("c".into(), c)],
            ..HostReply::default()
        };
        let p = plan(Path::new("/db"), &host, r);
        assert_eq!(p.fields.len(), 2);
        let t = &p.fields[0];
        assert_eq!(t.path, Path::new("/db/g/h-c-ticks-c.rrd"));
        assert_eq!(
            (t.min.as_deref(), t.max.as_deref()),
            (Some("0"), Some("100"))
        );
        assert_eq!(t.value, Some((Some(1_700_000_000), "5".into())));
        assert_eq!(p.fields[1].value, None, "a file even without a value");
        assert!(
            p.problems[0].contains("unknown type \"FANCY\""),
            "{:?}",
            p.problems
        );
    }
}
