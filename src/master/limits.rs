//! Warning and critical limits, as munin-limits checks them: each field's
//! `warning` / `critical` (from the plugin's config, munin.conf overrides
//! already applied by the update) against its last value in the state.
//!
//! A limit is Munin's range, judged by [`crate::threshold`] exactly as
//! `munin-plugins --check` judges it; a value outside it breaches. A value
//! missing, `U`, or from a host whose last poll failed is UNKNOWN, and a
//! host's worst state follows CRITICAL > WARNING > UNKNOWN > OK.
//!
//! States are kept in `munin-rs-state/limits.json`; a contact's command
//! (`contact.NAME.command`, run by `sh -c` with the message on stdin, as
//! Munin pipes it; Munin's `${var:NAME}` in it are expanded without the
//! shell ever parsing a value, see [`super::contact`]) hears only of changes, and a breach counts only after
//! `notify_after` consecutive runs (munin.conf, default 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::conf::{Host, MasterConf};
use super::site::graphdef;
use super::state::{self, HostConfig, Values};
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

/// A field's kept state across runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// The state notified (or first seen).
    pub level: Option<Status>,
    /// The state seen this run and how many runs in a row.
    pub seen: Option<Status>,
    pub runs: u32,
}

/// Every field's kept state, keyed `group;host/service.field`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub fields: BTreeMap<String, Kept>,
}

pub fn limits_path(dbdir: &Path) -> PathBuf {
    dbdir.join("munin-rs-state").join("limits.json")
}

/// A change to tell the contacts about.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub host: Host,
    pub check: Check,
    pub previous: Status,
}

/// Moves `kept` on by this run's `checks` of `host`; returns the changes
/// that reached `after` consecutive runs. A field's first state is kept
/// without a notification unless it is already a problem.
pub fn advance(kept: &mut Limits, host: &Host, checks: &[Check], after: u32) -> Vec<Change> {
    let mut changes = Vec::new();
    for c in checks {
        let key = format!("{}/{}.{}", state::host_key(host), c.service, c.field);
        let k = kept.fields.entry(key).or_default();
        if k.seen == Some(c.level) {
            k.runs = k.runs.saturating_add(1);
        } else {
            k.seen = Some(c.level);
            k.runs = 1;
        }
        let previous = k.level.unwrap_or(Status::Ok);
        if k.level != Some(c.level) && k.runs >= after.max(1) {
            let first_ok = k.level.is_none() && c.level == Status::Ok;
            k.level = Some(c.level);
            if !first_ok {
                changes.push(Change {
                    host: host.clone(),
                    check: c.clone(),
                    previous,
                });
            }
        }
    }
    changes
}

/// The text a contact gets for a change.
pub fn message(ch: &Change) -> String {
    let c = &ch.check;
    let value = c
        .value
        .map_or_else(|| "unknown".to_string(), |v| v.to_string());
    let mut text = format!(
        "{}: {} :: {} :: {} {} (was {}): {} = {}",
        c.level.word(),
        ch.host.groups.join(";"),
        ch.host.name,
        c.service,
        c.label,
        ch.previous.word(),
        c.field,
        value
    );
    if let Some(w) = &c.warning {
        text.push_str(&format!(", warning {w}"));
    }
    if let Some(cr) = &c.critical {
        text.push_str(&format!(", critical {cr}"));
    }
    if let Some(n) = &c.note {
        text.push_str(&format!(" ({n})"));
    }
    text.push('\n');
    text
}

/// The `contact.NAME.command` lines of munin.conf: (name, command).
pub fn contacts(conf: &MasterConf) -> Vec<(String, String)> {
    conf.contacts
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("contact.")?.strip_suffix(".command")?;
            Some((name.to_string(), v.clone()))
        })
        .collect()
}

/// What `munin-master limits` did.
#[derive(Debug, Default)]
pub struct Report {
    pub fields: usize,
    pub problems: usize,
    pub notified: usize,
    pub errors: Vec<String>,
}

/// Evaluates every host, keeps the states, tells the contacts.
pub fn run(conf: &MasterConf) -> Report {
    let mut report = Report::default();
    let values: Values = state::load_values(&state::values_path(&conf.dbdir));
    let path = limits_path(&conf.dbdir);
    let mut kept: Limits = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let after = conf
        .settings
        .iter()
        .rev()
        .find(|(k, _)| k == "notify_after")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let mut changes = Vec::new();
    for host in &conf.hosts {
        let Some(config) = state::load_config(&state::config_path(&conf.dbdir, host)) else {
            continue;
        };
        let checks = evaluate(&config, values.hosts.get(&state::host_key(host)));
        report.fields += checks.len();
        report.problems += checks.iter().filter(|c| c.level != Status::Ok).count();
        changes.extend(advance(&mut kept, host, &checks, after));
    }
    if let Err(e) = state::save(&path, &kept) {
        report.errors.push(e);
    }
    let contacts = contacts(conf);
    for ch in &changes {
        let text = message(ch);
        for (name, command) in &contacts {
            match notify(command, &text, ch) {
                Ok(()) => report.notified += 1,
                Err(e) => report.errors.push(format!("contact {name}: {e}")),
            }
        }
    }
    report
}

/// How long a contact's command may run.
const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a contact's command with the message on stdin.
fn notify(command: &str, text: &str, ch: &Change) -> Result<(), String> {
    use std::io::Write;
    let expanded = super::contact::expand(command, |name| variable(ch, name));
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(&expanded.command)
        .envs(expanded.env.iter().map(|(k, v)| (k, v)))
        .env("MUNIN_GROUP", ch.host.groups.join(";"))
        .env("MUNIN_HOST", &ch.host.name)
        .env("MUNIN_PLUGIN", &ch.check.service)
        .env("MUNIN_FIELD", &ch.check.field)
        .env("MUNIN_STATE", ch.check.level.word())
        .env("MUNIN_PREVIOUS", ch.previous.word())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    // A contact command that hangs must not hang the cron cycle.
    let deadline = std::time::Instant::now() + NOTIFY_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{command:?} still running after {} s: killed",
                NOTIFY_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} exited with {status}"))
    }
}

/// Munin's `${var:NAME}` for a change (munin-limits' names); `None`
/// expands to nothing, as in Munin.
fn variable(ch: &Change, name: &str) -> Option<String> {
    let c = &ch.check;
    let range = |r: &Option<String>| r.clone().unwrap_or_default();
    Some(match name {
        "group" => ch.host.groups.join(";"),
        "host" => ch.host.name.clone(),
        "plugin" => c.service.clone(),
        "graph_title" => c.title.clone().unwrap_or_else(|| c.service.clone()),
        "graph_category" => c.category.clone().unwrap_or_else(|| "other".into()),
        "worst" => c.level.word().to_string(),
        "label" => c.label.clone(),
        "value" => c.value.map_or_else(|| "unknown".into(), |v| v.to_string()),
        "wrange" => range(&c.warning),
        "crange" => range(&c.critical),
        _ => return None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            groups: vec!["g".into()],
            name: "h".into(),
            address: String::new(),
            port: 0,
            use_node_name: false,
            update: true,
            update_rate: None,
            overrides: vec![],
            settings: vec![],
            origin: String::new(),
            local_address: None,
            inherited: Vec::new(),
            unpollable: None,
        }
    }

    fn check(level: Status) -> Check {
        Check {
            title: None,
            category: None,
            service: "s".into(),
            field: "f".into(),
            label: "f".into(),
            value: Some(1.0),
            warning: Some("80".into()),
            critical: None,
            level,
            note: None,
        }
    }

    #[test]
    fn changes_after_n_runs_and_no_first_ok() {
        let mut k = Limits::default();
        let h = host();
        assert!(advance(&mut k, &h, &[check(Status::Ok)], 2).is_empty());
        assert!(advance(&mut k, &h, &[check(Status::Ok)], 2).is_empty());
        assert!(
            advance(&mut k, &h, &[check(Status::Warning)], 2).is_empty(),
            "one breach is not two"
        );
        let ch = advance(&mut k, &h, &[check(Status::Warning)], 2);
        assert_eq!(ch.len(), 1);
        assert_eq!(
            (ch[0].previous, ch[0].check.level),
            (Status::Ok, Status::Warning)
        );
        assert!(
            advance(&mut k, &h, &[check(Status::Warning)], 2).is_empty(),
            "told once"
        );
        assert!(message(&ch[0]).starts_with("WARNING: g :: h :: s f (was OK): f = 1, warning 80"));
    }
}
