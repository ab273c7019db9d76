//! Aggregate graphs: graphs defined in munin.conf over other hosts'
//! fields, as munin-graph draws them (Munin's `doc/example/graph`).
//!
//! A plugin written in a host's section that its node does not have (or
//! any plugin of an `update no` host) is a graph of its own, made of:
//! - fields borrowed in `graph_order` (`name=host:plugin.field`, also
//!   `group;host:…`, `plugin.field` on the same host, a bare `field` of the
//!   same graph), read from the source's RRD file (no copy);
//! - `field.stack name=source ...`: one stacked field per source, an
//!   unknown value counted as 0, the first drawn as the field's `draw`;
//! - `field.sum source ...`: one field, the sum of the sources with
//!   unknown values as 0, drawn with the field's label, draw and colour;
//!   the field's own `cdef` applies to the sum.
//!
//! A source is looked up as Munin does: from the aggregate's own place
//! (groups, host, plugin) outwards, so `host:plugin.field` finds a host in
//! the same group first. A source that cannot be found is named in the
//! run's notes and left out; one whose host is down leaves a gap, not a
//! missing graph. Aggregates are drawn from the files they name, so their
//! graph is due whenever one of their sources answered since.

use std::path::PathBuf;

use crate::master::conf::{Host, Inherit, MasterConf, inherits, last};
use crate::master::state::{HostConfig, PluginConfig, ServiceConfig, json_hash};
use crate::master::store::layout::{self, DsType};

/// Adds each host's aggregate graphs to its config (`configs[i]` is host
/// `i`'s, as stored by the update). `answered[i]` is when host `i` last
/// answered. Problems (a source not found) are returned, for the log.
pub fn add(conf: &MasterConf, configs: &mut [Option<HostConfig>], answered: &[u64]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut made: Vec<(usize, String, PluginConfig)> = Vec::new();
    for (i, host) in conf.hosts.iter().enumerate() {
        let own = configs.get(i).and_then(Option::as_ref);
        for def in definitions(host, own) {
            let r = Resolver {
                conf,
                configs,
                answered,
            };
            let (service, data) = r.build(i, &def, &mut notes);
            let pc = PluginConfig {
                hash: json_hash(&service),
                services: vec![service],
                data: Some(data),
            };
            made.push((i, def.name.clone(), pc));
        }
    }
    for (i, name, pc) in made {
        if let Some(slot) = configs.get_mut(i) {
            slot.get_or_insert_with(HostConfig::default)
                .plugins
                .insert(name, pc);
        }
    }
    notes.extend(super::expressions::add(conf, configs, answered));
    notes
}

/// A graph written in munin.conf: its graph attributes and its fields'
/// attributes, as written.
#[derive(Debug, Default)]
struct Definition {
    name: String,
    graph: Vec<(String, String)>,
    fields: Vec<(String, Vec<(String, String)>)>,
}

impl Definition {
    /// Field `name`'s attributes as written (none if it has none).
    fn attrs(&self, name: &str) -> &[(String, String)] {
        self.fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, a)| a.as_slice())
            .unwrap_or_default()
    }
}

/// The attributes of field `name` in `fields`, added (empty) if new.
fn entry<'a>(
    fields: &'a mut Vec<(String, Vec<(String, String)>)>,
    name: &str,
) -> &'a mut Vec<(String, String)> {
    let i = match fields.iter().position(|(n, _)| n == name) {
        Some(i) => i,
        None => {
            fields.push((name.to_string(), Vec::new()));
            fields.len() - 1
        }
    };
    &mut fields[i].1
}

/// The plugins `host`'s section defines that its node does not have.
fn definitions(host: &Host, own: Option<&HostConfig>) -> Vec<Definition> {
    let mut defs: Vec<Definition> = Vec::new();
    for (key, value) in &host.overrides {
        let mut parts = key.split('.');
        let Some(plugin) = parts.next() else { continue };
        if own.is_some_and(|c| c.plugins.contains_key(plugin)) {
            continue;
        }
        let rest: Vec<&str> = parts.collect();
        let d = match defs.iter().position(|d| d.name == plugin) {
            Some(i) => &mut defs[i],
            None => {
                defs.push(Definition {
                    name: plugin.to_string(),
                    ..Definition::default()
                });
                defs.last_mut().expect("just pushed")
            }
        };
        match rest.as_slice() {
            // `plugin.update no` marks the graph as not polled: no attribute.
            ["update"] => {}
            [attr] => d.graph.push((attr.to_string(), value.clone())),
            [field @ .., attr] if !field.is_empty() => {
                entry(&mut d.fields, &field.join(".")).push((attr.to_string(), value.clone()))
            }
            _ => {}
        }
    }
    // Only a graph over other fields is an aggregate; settings for a
    // plugin the node has not reported yet are not a graph of their own.
    defs.retain(|d| {
        last(&d.graph, "graph_order").is_some_and(|o| o.contains('='))
            || d.fields
                .iter()
                .any(|(_, a)| last(a, "sum").is_some() || last(a, "stack").is_some())
    });
    for d in &mut defs {
        for (k, v) in &host.inherited {
            if inherits(k) == Some(Inherit::Graph) && last(&d.graph, k).is_none() {
                let nearest = last(&host.inherited, k).unwrap_or(v);
                d.graph.push((k.clone(), nearest.to_string()));
            }
        }
    }
    defs
}

/// A field found for a source path.
struct Source {
    file: PathBuf,
    attrs: Vec<(String, String)>,
    host: usize,
}

struct Resolver<'a> {
    conf: &'a MasterConf,
    configs: &'a [Option<HostConfig>],
    answered: &'a [u64],
}

impl Resolver<'_> {
    /// The aggregate `def` of host `h` as a graph with explicit files, and
    /// when its sources last answered.
    fn build(&self, h: usize, def: &Definition, notes: &mut Vec<String>) -> (ServiceConfig, u64) {
        let host = &self.conf.hosts[h];
        let mut here: Vec<String> = host.groups.clone();
        here.push(host.name.clone());
        here.push(def.name.clone());
        let mut out = Out::default();
        let find = |path: &str, notes: &mut Vec<String>| match self.resolve(&here, path) {
            Some(s) if s.file.exists() => Some(s),
            Some(_) => {
                notes.push(format!(
                    "{}: aggregate {}: {path:?} has no data yet (left out)",
                    host.name, def.name
                ));
                None
            }
            None => {
                notes.push(format!(
                    "{}: aggregate {}: no field {path:?} found (left out)",
                    host.name, def.name
                ));
                None
            }
        };
        // graph_order first (borrowed fields and order), then the fields
        // only given attributes.
        let mut order: Vec<String> = Vec::new();
        for word in last(&def.graph, "graph_order")
            .unwrap_or("")
            .split_whitespace()
        {
            let (name, path) = match word.split_once('=') {
                Some((n, p)) => (n.trim_start_matches('-'), Some(p)),
                None => (word.trim_start_matches('-'), None),
            };
            if word.starts_with('-') {
                out.set(name, "graph", "no");
            }
            if let Some(path) = path
                && let Some(src) = find(path, notes)
            {
                out.borrow(name, src, def);
            }
            order.push(name.to_string());
        }
        for (name, _) in &def.fields {
            if !order.contains(name) {
                order.push(name.clone());
            }
        }
        let mut front: Vec<String> = Vec::new();
        let mut rest: Vec<String> = Vec::new();
        for (n, name) in order.iter().enumerate() {
            let attrs = def.attrs(name);
            if let Some(stack) = last(attrs, "stack") {
                for word in stack.split_whitespace() {
                    let (member, path) = word.split_once('=').unwrap_or((word, word));
                    let Some(src) = find(path, notes) else {
                        continue;
                    };
                    let draw = if front.iter().any(|f| out.is_member_of(f, name)) {
                        "STACK".to_string()
                    } else {
                        last(attrs, "draw").unwrap_or("LINE1").to_string()
                    };
                    let mut cdef = format!("{member},UN,0,{member},IF");
                    if let Some(own) = last(attrs, "cdef") {
                        cdef = replace_token(own, name, &cdef);
                    }
                    out.put(
                        member,
                        src.file,
                        vec![
                            ("label".into(), member.to_string()),
                            ("draw".into(), draw),
                            ("cdef".into(), cdef),
                            ("#member_of".into(), name.clone()),
                        ],
                        src.host,
                    );
                    front.push(member.to_string());
                }
                continue;
            }
            if let Some(sum) = last(attrs, "sum") {
                let sources: Vec<Source> = sum
                    .split_whitespace()
                    .map(|w| w.rsplit_once('=').map_or(w, |(_, p)| p))
                    .filter_map(|p| find(p, notes))
                    .collect();
                let Some((first, others)) = sources.split_first() else {
                    continue;
                };
                let mut expr = format!("{name},UN,0,{name},IF");
                for (j, src) in others.iter().enumerate() {
                    let z = format!("z{}_{}", n + 1, j + 1);
                    expr.push_str(&format!(",{z},UN,0,{z},IF,ADDNAN"));
                    out.put(
                        &z,
                        src.file.clone(),
                        vec![("graph".into(), "no".into()), ("label".into(), z.clone())],
                        src.host,
                    );
                }
                let cdef = match last(attrs, "cdef") {
                    Some(own) => replace_token(own, name, &expr),
                    None => expr,
                };
                let mut mine: Vec<(String, String)> = attrs
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "sum" | "cdef"))
                    .cloned()
                    .collect();
                if last(&mine, "label").is_none() {
                    mine.push(("label".into(), name.clone()));
                }
                mine.push(("cdef".into(), cdef));
                out.put(name, first.file.clone(), mine, first.host);
                front.push(name.clone());
                continue;
            }
            // A borrowed or plain field: its own attributes from munin.conf.
            for (k, v) in attrs {
                out.set(name, k, v);
            }
            rest.push(name.clone());
        }
        let data = out
            .hosts
            .iter()
            .filter_map(|h| self.answered.get(*h).copied())
            .max()
            .unwrap_or(0);
        let mut graph: Vec<(String, String)> = def
            .graph
            .iter()
            .filter(|(k, _)| k != "graph_order")
            .cloned()
            .collect();
        let mut drawn = front;
        drawn.extend(rest);
        graph.push(("graph_order".into(), drawn.join(" ")));
        let service = ServiceConfig {
            name: def.name.clone(),
            graph,
            fields: out
                .fields
                .iter()
                .map(|(n, a)| {
                    let a = a
                        .iter()
                        .filter(|(k, _)| !k.starts_with('#'))
                        .cloned()
                        .collect();
                    (n.clone(), a)
                })
                .collect(),
            files: out.files,
            own_limits: None,
        };
        (service, data)
    }

    /// The field `path` names, looked up from `here` (groups, host,
    /// plugin) outwards, as Munin looks it up.
    fn resolve(&self, here: &[String], path: &str) -> Option<Source> {
        let wanted = parts(path)?;
        for k in (0..=here.len()).rev() {
            let mut cand: Vec<&str> = here[..k].iter().map(String::as_str).collect();
            cand.extend(wanted.iter().map(String::as_str));
            if let Some(s) = self.lookup(&cand) {
                return Some(s);
            }
        }
        None
    }

    /// `[groups..., host, plugin..., field]` as a stored field.
    fn lookup(&self, cand: &[&str]) -> Option<Source> {
        for (i, host) in self.conf.hosts.iter().enumerate() {
            let plen = host.groups.len() + 1;
            if cand.len() < plen + 2
                || cand[..plen - 1]
                    != host.groups.iter().map(String::as_str).collect::<Vec<_>>()[..]
                || cand[plen - 1] != host.name
            {
                continue;
            }
            let service = cand[plen..cand.len() - 1].join(".");
            let field = cand[cand.len() - 1];
            let config = self.configs.get(i)?.as_ref()?;
            for pc in config.plugins.values() {
                for s in pc.services.iter().filter(|s| s.name == service) {
                    let Some((_, attrs)) = s.fields.iter().find(|(f, _)| f == field) else {
                        continue;
                    };
                    let ds = last(attrs, "type")
                        .and_then(DsType::parse)
                        .unwrap_or(DsType::Gauge);
                    let file =
                        layout::rrd_path(&self.conf.dbdir, host, &service, field, ds).ok()?;
                    return Some(Source {
                        file,
                        attrs: attrs.clone(),
                        host: i,
                    });
                }
            }
        }
        None
    }
}

/// A source path as Munin splits it: `a;b;host:plugin.field` into
/// `[a, b, host, plugin, field]`, `plugin.field` and `field` as they are.
fn parts(path: &str) -> Option<Vec<String>> {
    let path = path.trim();
    if path.is_empty() {
        return None;
    }
    let split = |left: &str, right: &str| -> Vec<String> {
        left.split(';')
            .chain(right.split('.'))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    Some(match path.split_once(':') {
        Some((left, right)) => split(left, right),
        None => match path.split_once('.') {
            Some((left, right)) if !right.contains(';') => split(left, right),
            _ => path.split(';').map(str::to_string).collect(),
        },
    })
}

/// `cdef` with every token `name` replaced by `with` (RPN is
/// concatenative, so a whole expression may stand for one token).
fn replace_token(cdef: &str, name: &str, with: &str) -> String {
    cdef.split(',')
        .map(|t| if t.trim() == name { with } else { t })
        .collect::<Vec<_>>()
        .join(",")
}

/// The expanded graph being built.
#[derive(Default)]
struct Out {
    fields: Vec<(String, Vec<(String, String)>)>,
    files: Vec<(String, PathBuf)>,
    hosts: Vec<usize>,
}

impl Out {
    fn set(&mut self, name: &str, key: &str, value: &str) {
        entry(&mut self.fields, name).push((key.to_string(), value.to_string()));
    }

    fn put(&mut self, name: &str, file: PathBuf, attrs: Vec<(String, String)>, host: usize) {
        entry(&mut self.fields, name).extend(attrs);
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), file));
        self.hosts.push(host);
    }

    /// A field borrowed from `src`: its draw, type and info unless set,
    /// its name as label unless set.
    fn borrow(&mut self, name: &str, src: Source, def: &Definition) {
        let own = def.attrs(name);
        let mut attrs = Vec::new();
        for key in ["draw", "type", "info"] {
            if last(own, key).is_none()
                && let Some(v) = last(&src.attrs, key)
            {
                attrs.push((key.to_string(), v.to_string()));
            }
        }
        if last(own, "label").is_none() {
            attrs.push(("label".into(), name.to_string()));
        }
        self.put(name, src.file, attrs, src.host);
    }

    fn is_member_of(&self, member: &str, of: &str) -> bool {
        self.fields
            .iter()
            .find(|(n, _)| n == member)
            .is_some_and(|(_, a)| last(a, "#member_of") == Some(of))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_paths_split_as_munin_splits_them() {
        let v = |s: &[&str]| Some(s.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(
            parts("fii.foo.com:load.load"),
            v(&["fii.foo.com", "load", "load"])
        );
        assert_eq!(
            parts("Customer;baz.test.com:exim_mailstats.received"),
            v(&["Customer", "baz.test.com", "exim_mailstats", "received"])
        );
        assert_eq!(parts("fw_conntrack.nated"), v(&["fw_conntrack", "nated"]));
        assert_eq!(parts("load"), v(&["load"]));
        assert_eq!(parts(" "), None);
    }

    #[test]
    fn a_cdef_names_its_field_as_one_token() {
        assert_eq!(replace_token("total,8,*", "total", "a,b,+"), "a,b,+,8,*");
        assert_eq!(replace_token("totals,8,*", "total", "x"), "totals,8,*");
    }

    #[test]
    fn only_graphs_over_other_fields_are_aggregates() {
        let mut h = Host::new(vec!["g".into()], "h");
        for (k, v) in [
            ("load.load.warning", "5"),
            ("t.graph_order", "a=x:load.load"),
            ("s.total.sum", "x:load.load y:load.load"),
            ("s.update", "no"),
        ] {
            h.overrides.push((k.into(), v.into()));
        }
        let names: Vec<String> = definitions(&h, None).into_iter().map(|d| d.name).collect();
        assert_eq!(names, vec!["t", "s"]);
    }
}
