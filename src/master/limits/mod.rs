//! Warning and critical limits: `munin-master limits` tells contacts as
//! munin-limits does, and `munin-master check` answers Nagios.
//!
//! A limits run goes host by host, service by service:
//!
//! - [`judge`]: each field with a limit gets a state from its last value
//!   ([`range`]: munin-limits' reading of limits and values), kept across
//!   runs in `munin-rs-state/limits.json`;
//! - [`scope`]: the service, its fields, its host, groups and the global
//!   part as the tree of variables a message sees;
//! - [`contacts`]: who hears of the service, with which text, and when
//!   (`contacts`, `text`, `always_send`, `max_messages`);
//! - [`template`]: the message and the command expanded (`${var:...}`,
//!   `${loop...}`, `${if...}`, `${strtrunc...}`);
//! - [`command`]: the command made safe to run, whatever a value holds;
//! - [`deliver`]: one running command per contact, fed its messages.
//!
//! [`mod@check`] is the separate, Nagios-range judgement `munin-master check`
//! and the pages use.

pub mod check;
pub mod command;
pub mod contacts;
pub mod deliver;
pub mod judge;
pub mod range;
pub mod scope;
pub mod template;

use std::path::{Path, PathBuf};

pub use check::{Check, check, evaluate};

use crate::master::conf::{Host, MasterConf, last};
use crate::master::state::{self, HostConfig, Values};
use crate::threshold::Status;
use scope::{ROOT, Tree};

/// What a run of `munin-master limits` is asked, as munin-limits'
/// options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--always-send` (or all four states with `--force`): overrides every
    /// contact's `always_send`.
    pub always_send: Option<Vec<Status>>,
    /// `--host`, `--service`, `--contact`: only these (empty: all).
    pub hosts: Vec<String>,
    pub services: Vec<String>,
    pub contacts: Vec<String>,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub fields: usize,
    pub problems: usize,
    pub notified: usize,
    pub errors: Vec<String>,
    /// Things munin-limits would log as warnings.
    pub warnings: Vec<String>,
}

pub fn limits_path(dbdir: &Path) -> PathBuf {
    dbdir.join("munin-rs-state").join("limits.json")
}

/// Judges every host's services, keeps the states, tells the contacts.
pub fn run(conf: &MasterConf, opts: &Options) -> Report {
    let mut report = Report::default();
    let values: Values = state::load_values(&state::values_path(&conf.dbdir));
    let path = limits_path(&conf.dbdir);
    let mut kept: judge::Limits = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let notify_after = last(&conf.settings, "notify_after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let contacts = contacts::read(conf);
    let now = crate::clock::now();
    let mut out = deliver::Deliveries::default();
    for host in &conf.hosts {
        if !opts.hosts.is_empty() && !opts.hosts.contains(&host.name) {
            continue;
        }
        let Some(config) = state::load_config(&state::config_path(&conf.dbdir, host)) else {
            continue;
        };
        let key = state::host_key(host);
        let run = judge::Run {
            status: values.hosts.get(&key),
            now,
            notify_after,
            host_key: &key,
        };
        let (mut tree, services) = host_tree(conf, host, &config, &contacts);
        for (node, service) in services {
            if !opts.services.is_empty() && !opts.services.iter().any(|s| s == tree.name(node)) {
                continue;
            }
            let Some(judged) = judge::service(&mut tree, node, service, &mut kept, &run) else {
                continue;
            };
            report.fields += [
                Status::Ok,
                Status::Warning,
                Status::Critical,
                Status::Unknown,
            ]
            .iter()
            .map(|s| judged.stats.of(*s).len())
            .sum::<usize>();
            report.problems += judged.stats.critical.len()
                + judged.stats.warning.len()
                + judged.stats.unknown.len();
            tell(&tree, node, &judged, &contacts, opts, &mut out, &mut report);
        }
    }
    // A field judged no more (its host, plugin or limit gone) is
    // forgotten, as munin-limits forgets it; a run limited to some hosts
    // or services keeps the others'.
    if opts.hosts.is_empty() && opts.services.is_empty() {
        let touched = std::mem::take(&mut kept.touched);
        kept.fields.retain(|k, _| touched.contains(k));
    }
    if let Err(e) = state::save(&path, &kept) {
        report.errors.push(e);
    }
    let (written, errors) = out.finish();
    report.notified = written;
    report.errors.extend(errors);
    // Said once a run, not once a service.
    let mut said = std::collections::HashSet::new();
    report.warnings.retain(|w| said.insert(w.clone()));
    report
}

/// `host`'s part of munin-limits' tree: the global part, its groups, the
/// host and each service of `config` (a multigraph child under its
/// parent), named as messages name them. The services' nodes, in order.
fn host_tree<'a>(
    conf: &MasterConf,
    host: &Host,
    config: &'a HostConfig,
    contacts: &[contacts::Contact],
) -> (Tree, Vec<(usize, &'a state::ServiceConfig)>) {
    let mut tree = Tree::new();
    for (k, v) in [
        ("dbdir", &conf.dbdir),
        ("htmldir", &conf.htmldir),
        ("logdir", &conf.logdir),
        ("rundir", &conf.rundir),
    ] {
        tree.set(ROOT, k, v.display().to_string());
    }
    tree.set_all(ROOT, &conf.settings);
    if last(&conf.settings, "contacts").is_none_or(str::is_empty) {
        tree.set(ROOT, "contacts", contacts::everyone(contacts));
    }
    let mut at = ROOT;
    let mut group_names = Vec::new();
    for depth in 1..=host.groups.len() {
        at = tree.add(at, &host.groups[depth - 1]);
        if let Some(g) = conf.groups.iter().find(|g| g.path == host.groups[..depth]) {
            tree.set_all(at, &g.settings);
        }
        group_names.push(
            tree.own(at, "notify_alias")
                .unwrap_or(&host.groups[depth - 1])
                .to_string(),
        );
    }
    let host_node = tree.add(at, &host.name);
    if !host.address.is_empty() {
        tree.set(host_node, "address", host.address.clone());
    }
    tree.set_all(host_node, &host.settings);
    let host_alias = tree
        .own(host_node, "notify_alias")
        .unwrap_or(&host.name)
        .to_string();
    let group_path = group_names.join("-");

    let mut nodes: Vec<(String, usize, &state::ServiceConfig)> = Vec::new();
    for plugin in config.plugins.values() {
        // Parents before their children, whatever order the node gave.
        let mut services: Vec<&state::ServiceConfig> = plugin.services.iter().collect();
        services.sort_by_key(|s| s.name.matches('.').count());
        for service in services {
            // A multigraph child sits under the nearest service its name
            // extends; it is known by the rest of its name.
            let parent = nodes
                .iter()
                .filter(|(n, _, _)| {
                    service.name.len() > n.len()
                        && service.name.starts_with(n.as_str())
                        && service.name.as_bytes()[n.len()] == b'.'
                })
                .max_by_key(|(n, _, _)| n.len())
                .map(|(n, node, _)| (n.len(), *node));
            let (under, name) = match parent {
                Some((len, node)) => (node, &service.name[len + 1..]),
                None => (host_node, service.name.as_str()),
            };
            let node = tree.add(under, name);
            tree.set_all(node, &service.graph);
            let prefix = format!("{}.", service.name);
            let own: Vec<(String, String)> = host
                .overrides
                .iter()
                .filter_map(|(k, v)| {
                    let attr = k.strip_prefix(&prefix)?;
                    (!attr.contains('.')).then(|| (attr.to_string(), v.clone()))
                })
                .collect();
            tree.set_all(node, &own);
            nodes.push((service.name.clone(), node, service));
        }
    }
    // Names are worked out before any is overwritten, so a child's title
    // is made of its parents' own.
    let titles: Vec<String> = nodes
        .iter()
        .map(|(_, node, _)| full_title(&tree, *node, host_node))
        .collect();
    for ((_, node, _), title) in nodes.iter().zip(titles) {
        let plugin = tree.name(*node).to_string();
        tree.set(*node, "plugin", plugin);
        tree.set(*node, "graph_title", title);
        tree.set(*node, "host", host_alias.clone());
        tree.set(*node, "group", group_path.clone());
    }
    let services = nodes.into_iter().map(|(_, node, s)| (node, s)).collect();
    (tree, services)
}

/// A service's name in messages: its `notify_alias`, else its title, else
/// its name; a multigraph child's is led by its parents'.
fn full_title(tree: &Tree, node: usize, host_node: usize) -> String {
    let own = tree
        .own(node, "notify_alias")
        .or_else(|| tree.own(node, "graph_title"))
        .unwrap_or(tree.name(node));
    match tree.parent(node) {
        Some(p) if p != host_node && p != ROOT => {
            format!("{} :: {own}", full_title(tree, p, host_node))
        }
        _ => own.to_string(),
    }
}

/// Tells `judged`'s contacts, as munin-limits decides.
fn tell(
    tree: &Tree,
    node: usize,
    judged: &judge::Judged,
    contacts: &[contacts::Contact],
    opts: &Options,
    out: &mut deliver::Deliveries,
    report: &mut Report,
) {
    let list = tree.get(node, "contacts").unwrap_or_default().to_string();
    for name in list.split_ascii_whitespace() {
        if name == "none" || name == "no" {
            continue;
        }
        let Some(contact) = contacts.iter().find(|c| c.name == name) else {
            report.warnings.push(format!(
                "contacts names {name:?}, but munin.conf has no contact.{name}.command; skipped"
            ));
            continue;
        };
        if !opts.contacts.is_empty() && !opts.contacts.iter().any(|c| c == name) {
            continue;
        }
        let always = match &opts.always_send {
            Some(list) => list.clone(),
            None => contacts::severities(contact.always_send.as_deref().unwrap_or_default()),
        };
        let obsess = always.iter().any(|s| !judged.stats.of(*s).is_empty());
        if !judged.changed && !obsess {
            continue;
        }
        let Some(command) = &contact.command else {
            report
                .warnings
                .push(format!("contact {name} has no command; skipped"));
            continue;
        };
        let text = template::expand(tree, node, &contacts::text_for(contacts, contact))
            .replace("\\n", "\n")
            .replace("\\t", "\t");
        let (prepared, stripped) = command::prepare(command, |g| template::group(tree, node, g));
        if let Some(s) = stripped {
            report.warnings.push(format!(
                "contact.{name}.command starts with {s:?}, which is no longer needed; run without it"
            ));
        }
        out.send(name, &prepared, &text, contact.max_messages);
    }
}
