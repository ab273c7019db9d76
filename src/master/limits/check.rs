//! What `munin-master check` and the pages judge: each field's `warning`
//! and `critical` (from the plugin's config, munin.conf overrides already
//! applied by the update) against its last value in the state, read as
//! Nagios ranges by [`crate::threshold`], exactly as `munin-plugins
//! --check` reads them. A value missing, `U`, or from a host whose last
//! poll failed is UNKNOWN, and a host's worst state follows CRITICAL >
//! WARNING > UNKNOWN > OK.
//!
//! The contacts are told by [`super::run`], which judges as munin-limits
//! does (its own range syntax, rates, `unknown_limit`).

use crate::master::conf::{Host, MasterConf};
use crate::master::site::graphdef;
use crate::master::state::{self, HostConfig};
use crate::threshold::{self, Reason, Status};

/// One field with a limit, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub service: String,
    /// The graph's `graph_title` and `graph_category`, for messages.
    pub title: Option<String>,
    pub category: Option<String>,
    pub field: String,
    pub label: String,
    pub value: Option<f64>,
    pub warning: Option<String>,
    pub critical: Option<String>,
    pub level: Status,
    /// Why, for UNKNOWN (and unreadable limits).
    pub note: Option<String>,
}

/// Evaluates every field of `config` that has a limit.
pub fn evaluate(config: &HostConfig, status: Option<&state::HostStatus>) -> Vec<Check> {
    let mut out = Vec::new();
    for plugin in config.plugins.values() {
        for service in &plugin.services {
            for (field, attrs) in &service.fields {
                let attr = |k: &str| graphdef::attr(attrs, k).map(str::to_string);
                let (warning, critical) = (attr("warning"), attr("critical"));
                if warning.is_none() && critical.is_none() {
                    continue;
                }
                let key = format!("{}.{field}", service.name);
                let value = status
                    .filter(|s| s.ok)
                    .and_then(|s| s.values.get(&key))
                    .and_then(|(_, v)| v.parse::<f64>().ok())
                    .filter(|v| v.is_finite());
                let verdict = threshold::judge(value, warning.as_deref(), critical.as_deref());
                let note = match &verdict.reason {
                    Reason::NoValue => Some(match status {
                        Some(s) if !s.ok => format!(
                            "host not answering: {}",
                            s.error.clone().unwrap_or_default()
                        ),
                        _ => "no value".to_string(),
                    }),
                    Reason::BadLimit { which, error } => Some(format!("{} {error}", which.name())),
                    Reason::Within | Reason::Outside { .. } => None,
                };
                let level = verdict.status;
                let graph = |k: &str| graphdef::attr(&service.graph, k).map(str::to_string);
                out.push(Check {
                    service: service.name.clone(),
                    title: graph("graph_title"),
                    category: graph("graph_category"),
                    field: field.clone(),
                    label: attr("label").unwrap_or_else(|| field.clone()),
                    value,
                    warning,
                    critical,
                    level,
                    note,
                });
            }
        }
    }
    out
}

/// `munin-master check`: one Nagios status line with perfdata, and the
/// worst level of `host` (optionally one plugin's graphs).
pub fn check(conf: &MasterConf, host: &Host, plugin: Option<&str>) -> (Status, String) {
    let Some(mut config) = state::load_config(&state::config_path(&conf.dbdir, host)) else {
        return (
            Status::Unknown,
            format!(
                "UNKNOWN: {}: no state yet (has munin-master update run?)",
                host.name
            ),
        );
    };
    let values = state::load_values(&state::values_path(&conf.dbdir));
    if let Some(p) = plugin {
        config.plugins.retain(|name, _| name == p);
        if config.plugins.is_empty() {
            return (
                Status::Unknown,
                format!("UNKNOWN: {}: no plugin {p:?}", host.name),
            );
        }
    }
    let checks = evaluate(&config, values.hosts.get(&state::host_key(host)));
    let worst = Status::worst(checks.iter().map(|c| c.level));
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| c.level != Status::Ok)
        .map(|c| format!("{}.{} {}", c.service, c.field, c.level.word()))
        .collect();
    let summary = if bad.is_empty() {
        format!("{} fields within limits", checks.len())
    } else {
        bad.join(", ")
    };
    let perf: Vec<String> = checks
        .iter()
        .filter_map(|c| {
            let v = c.value?;
            Some(format!(
                "'{}.{}'={v};{};{}",
                c.service,
                c.field,
                c.warning.as_deref().unwrap_or(""),
                c.critical.as_deref().unwrap_or("")
            ))
        })
        .collect();
    let mut line = format!("{}: {}: {summary}", worst.word(), host.name);
    // Perfdata only when there is some: a bare `|` is not Nagios syntax.
    if !perf.is_empty() {
        line.push_str(" | ");
        line.push_str(&perf.join(" "));
    }
    (worst, line)
}
