//! Expression graphs: `name.expr <expression>` in a host's section of
//! munin.conf (usually a virtual host, `update no`) is a graph of its own,
//! drawn from the expression (see `master::expr`) over every stored field
//! of the site: `[web;Totals]` with `web_total.expr
//! .series('web;*:load.load').sum()` and `web_total.graph_title …`.
//!
//! The fields an expression reads are found when the site's configs are
//! loaded, by compiling it against the whole catalog, and kept in the
//! graph's config as its fields (named by their selection key,
//! `group;host:service.field`, each pointed at its RRD file), so the page,
//! the PNG, any-range graphs and exports all read the same few files
//! without the catalog. An expression that does not parse, or selects
//! nothing, is named in the run's notes and its graph shows no data.

use crate::master::conf::{MasterConf, last};
use crate::master::expr::{self, Source};
use crate::master::state::{HostConfig, PluginConfig, ServiceConfig, json_hash};
use crate::master::store::layout::{self, DsType};

use super::graphdef::{GraphSpec, attr};

/// Every stored field of the hosts' own plugins (not aggregates), as the
/// expressions select them.
pub fn catalog(conf: &MasterConf, configs: &[Option<HostConfig>]) -> Vec<Source> {
    let mut out = Vec::new();
    for (host, config) in conf.hosts.iter().zip(configs) {
        let Some(config) = config else { continue };
        for pc in config.plugins.values() {
            for s in pc.services.iter().filter(|s| s.files.is_empty()) {
                for (field, attrs) in &s.fields {
                    let ds = attr(attrs, "type")
                        .and_then(DsType::parse)
                        .unwrap_or(DsType::Gauge);
                    let Ok(file) = layout::rrd_path(&conf.dbdir, host, &s.name, field, ds) else {
                        continue;
                    };
                    out.push(Source {
                        groups: host.groups.clone(),
                        host: host.name.clone(),
                        service: s.name.clone(),
                        field: field.clone(),
                        label: attr(attrs, "label").unwrap_or(field).to_string(),
                        file,
                    });
                }
            }
        }
    }
    out
}

/// A source's name as a graph field: its selection key.
fn key(s: &Source) -> String {
    let mut k = s.groups.join(";");
    if !k.is_empty() {
        k.push(';');
    }
    format!("{k}{}:{}.{}", s.host, s.service, s.field)
}

/// The sources an expression graph's spec reads, back from its fields.
pub fn sources(spec: &GraphSpec) -> Vec<Source> {
    spec.fields
        .iter()
        .filter_map(|f| {
            let file = f.file.clone()?;
            let (hostpart, rest) = f.name.split_once(':')?;
            let (service, field) = rest.rsplit_once('.')?;
            let mut groups: Vec<String> = hostpart.split(';').map(str::to_string).collect();
            let host = groups.pop()?;
            Some(Source {
                groups,
                host,
                service: service.to_string(),
                field: field.to_string(),
                label: attr(&f.attrs, "label").unwrap_or(field).to_string(),
                file,
            })
        })
        .collect()
}

/// The expression of a graph, if it is one.
pub fn expression(graph: &[(String, String)]) -> Option<&str> {
    attr(graph, "expr").map(str::trim).filter(|e| !e.is_empty())
}

/// The sources `text` reads of `catalog`: compiled against all of it, the
/// files its `DEF`s name.
pub fn selected(text: &str, catalog: &[Source]) -> Result<Vec<Source>, String> {
    let compiled = expr::compile_str(text, catalog, 1_000_000_000, 1_000_086_400)
        .map_err(|e| e.to_string())?;
    let read: std::collections::HashSet<String> = compiled
        .defs
        .iter()
        .filter_map(|d| {
            let (_, rest) = d.strip_prefix("DEF:")?.split_once('=')?;
            let end = rest.find(":42:")?;
            Some(rest[..end].replace("\\:", ":"))
        })
        .collect();
    Ok(catalog
        .iter()
        .filter(|s| s.file.to_str().is_some_and(|f| read.contains(f)))
        .cloned()
        .collect())
}

/// Adds each host's expression graphs to its config; returns the notes.
pub fn add(conf: &MasterConf, configs: &mut [Option<HostConfig>], answered: &[u64]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut made = Vec::new();
    let mut all: Option<Vec<Source>> = None;
    for (i, host) in conf.hosts.iter().enumerate() {
        let own = configs.get(i).and_then(Option::as_ref);
        let mut graphs: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for (k, v) in &host.overrides {
            let Some((plugin, attribute)) = k.split_once('.') else {
                continue;
            };
            if attribute.contains('.') || own.is_some_and(|c| c.plugins.contains_key(plugin)) {
                continue;
            }
            match graphs.iter_mut().find(|(p, _)| p == plugin) {
                Some((_, g)) => g.push((attribute.to_string(), v.clone())),
                None => graphs.push((plugin.to_string(), vec![(attribute.to_string(), v.clone())])),
            }
        }
        for (name, graph) in graphs {
            let Some(text) = expression(&graph) else {
                continue;
            };
            let catalog = all.get_or_insert_with(|| catalog(conf, configs));
            let fields = match selected(text, catalog) {
                Ok(s) => s
                    .iter()
                    .filter(|s| s.file.exists())
                    .map(|s| (key(s), s.label.clone(), s.file.clone()))
                    .collect::<Vec<_>>(),
                Err(e) => {
                    notes.push(format!("{}: {name}.expr: {e}", host.name));
                    Vec::new()
                }
            };
            let mut graph = graph;
            if last(&graph, "graph_title").is_none() {
                graph.push(("graph_title".into(), name.clone()));
            }
            let service = ServiceConfig {
                name: name.clone(),
                graph,
                fields: fields
                    .iter()
                    .map(|(k, label, _)| (k.clone(), vec![("label".to_string(), label.clone())]))
                    .collect(),
                files: fields
                    .iter()
                    .map(|(k, _, f)| (k.clone(), f.clone()))
                    .collect(),
                own_limits: Some(false),
            };
            made.push((
                i,
                name,
                PluginConfig {
                    hash: json_hash(&service),
                    services: vec![service],
                    data: answered.iter().copied().max(),
                },
            ));
        }
    }
    for (i, name, pc) in made {
        if let Some(slot) = configs.get_mut(i) {
            slot.get_or_insert_with(HostConfig::default)
                .plugins
                .insert(name, pc);
        }
    }
    notes
}
