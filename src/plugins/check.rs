//! Check mode (`munin-plugins NAME --check`): one plugin's values against
//! its `warning`/`critical` limits, answered the way Nagios and Icinga
//! expect: one status line and exit status 0 (OK), 1 (WARNING),
//! 2 (CRITICAL) or 3 (UNKNOWN).
//!
//! The limits are the ones the plugin declares in `config` (which is where
//! core plugins put `env.warning`, `env.<field>_warning` and their
//! defaults), else `env.<field>_warning` / `env.<field>_critical`. A limit
//! is Munin's range, judged by `crate::threshold` as the master judges it. As munin-limits does,
//! limits apply to what the RRD stores: per-second rates for `DERIVE`,
//! `COUNTER` and `ABSOLUTE` fields (measured here over two fetches a
//! moment apart) and before any `cdef`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Context, Mode, Plugin, run};

pub use crate::threshold::Status;
use crate::threshold::{Reason, judge};

/// (multigraph section, field): the section is empty for plain plugins.
type Key = (String, String);

/// What `config` says about one field.
#[derive(Debug, Clone, Default)]
struct Declared {
    kind: String,
    warning: Option<String>,
    critical: Option<String>,
}

fn declared(config: &str) -> BTreeMap<Key, Declared> {
    let mut out: BTreeMap<Key, Declared> = BTreeMap::new();
    let mut section = String::new();
    for line in config.lines() {
        if let Some(g) = line.strip_prefix("multigraph ") {
            section = g.trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let Some((field, attr)) = key.split_once('.') else {
            continue;
        };
        let d = out.entry((section.clone(), field.to_string())).or_default();
        let value = value.trim().to_string();
        match attr {
            "type" => d.kind = value,
            "warning" => d.warning = Some(value),
            "critical" => d.critical = Some(value),
            _ => {}
        }
    }
    out
}

fn values(fetch: &str) -> BTreeMap<Key, Option<f64>> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    for line in fetch.lines() {
        if let Some(g) = line.strip_prefix("multigraph ") {
            section = g.trim().to_string();
        } else if let Some((f, v)) = line.split_once(".value ") {
            // A `timestamp:value` pair keeps its value.
            let v = v.trim().rsplit(':').next().unwrap_or("");
            out.insert((section.clone(), f.to_string()), v.parse::<f64>().ok());
        }
    }
    out
}

fn is_rate(kind: &str) -> bool {
    matches!(kind, "DERIVE" | "COUNTER" | "ABSOLUTE")
}

/// The value the RRD would store for `key`: the latest gauge, or the rate
/// between the two fetches.
fn stored(kind: &str, first: Option<f64>, second: Option<f64>, secs: f64) -> Option<f64> {
    if !is_rate(kind) {
        return second.or(first);
    }
    let (a, b) = (first?, second?);
    match kind {
        "ABSOLUTE" => Some(b / secs),
        // A counter that went back wrapped or was reset: no rate this time.
        _ if b < a => None,
        _ => Some((b - a) / secs),
    }
}

/// Runs `plugin`'s config and fetch (twice, `pause` apart, when a limit
/// needs a rate or the first fetch lacks a value) and judges the values.
pub fn check(plugin: &dyn Plugin, cx: &Context, pause: Duration) -> (Status, String) {
    let name = format!("{}{}", plugin.name(), cx.arg).to_uppercase();
    let unknown = |why: String| (Status::Unknown, format!("{name} UNKNOWN: {why}"));
    let config = match run(plugin, Mode::Config, cx) {
        Ok(c) => c,
        Err(e) => return unknown(format!("config failed: {e}")),
    };
    let mut fields = declared(&config);
    for ((_, field), d) in fields.iter_mut() {
        // A limit from plugin-conf.d that the plugin does not print itself.
        if d.warning.is_none() {
            d.warning = cx.env.get(&format!("{field}_warning")).map(str::to_string);
        }
        if d.critical.is_none() {
            d.critical = cx.env.get(&format!("{field}_critical")).map(str::to_string);
        }
    }
    let limited: Vec<(&Key, &Declared)> = fields
        .iter()
        .filter(|(_, d)| d.warning.is_some() || d.critical.is_some())
        .collect();
    let fetch = |cx: &Context| run(plugin, Mode::Fetch, cx).map(|f| values(&f));
    let started = Instant::now();
    let first = match fetch(cx) {
        Ok(v) => v,
        Err(e) => return unknown(format!("fetch failed: {e}")),
    };
    let again = limited
        .iter()
        .any(|(k, d)| is_rate(&d.kind) || first.get(*k).copied().flatten().is_none());
    let (second, secs) = if again {
        std::thread::sleep(pause);
        match fetch(cx) {
            Ok(v) => (v, started.elapsed().as_secs_f64()),
            Err(e) => return unknown(format!("fetch failed: {e}")),
        }
    } else {
        (first.clone(), 1.0)
    };

    let mut status = Status::Ok;
    let mut problems = Vec::new();
    let mut perf = Vec::new();
    for (key, d) in &limited {
        let label = if key.0.is_empty() {
            key.1.clone()
        } else {
            format!("{}/{}", key.0, key.1)
        };
        let v = stored(
            &d.kind,
            first.get(*key).copied().flatten(),
            second.get(*key).copied().flatten(),
            secs,
        );
        let (w, c) = (d.warning.as_deref(), d.critical.as_deref());
        let shown = v.map_or("U".to_string(), super::perl_number);
        perf.push(format!(
            "{label}={shown};{};{}",
            w.unwrap_or(""),
            c.unwrap_or("")
        ));
        let verdict = judge(v, w, c);
        match &verdict.reason {
            Reason::Within => {}
            Reason::NoValue => problems.push(format!("{label}: no value")),
            Reason::Outside { which, limit } => {
                problems.push(format!("{label}={shown} outside {} {limit}", which.name()))
            }
            Reason::BadLimit { which, error } => {
                problems.push(format!("{label}: {} {error}", which.name()))
            }
        }
        status = status.max(verdict.status);
    }
    let summary = match (status, limited.len()) {
        (Status::Ok, 0) => "no warning or critical limits set".to_string(),
        (Status::Ok, n) => format!("{n} values within limits"),
        _ => problems.join(", "),
    };
    let perf = if perf.is_empty() {
        String::new()
    } else {
        format!(" | {}", perf.join(" "))
    };
    (status, format!("{name} {}: {summary}{perf}", status.word()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_as_the_rrd_stores_them() {
        assert_eq!(stored("GAUGE", Some(1.0), Some(2.0), 1.0), Some(2.0));
        assert_eq!(stored("GAUGE", Some(1.0), None, 1.0), Some(1.0));
        assert_eq!(stored("DERIVE", Some(10.0), Some(30.0), 2.0), Some(10.0));
        assert_eq!(stored("COUNTER", Some(30.0), Some(10.0), 2.0), None);
        assert_eq!(stored("ABSOLUTE", Some(5.0), Some(8.0), 2.0), Some(4.0));
    }

    #[test]
    fn config_and_fetch_read_per_section() {
        let d = declared(
            "graph_title x\nload.label load\nload.warning 5\nmultigraph a.b\nf.type DERIVE\nf.critical :9\n",
        );
        assert_eq!(d[&("".into(), "load".into())].warning.as_deref(), Some("5"));
        assert_eq!(d[&("a.b".into(), "f".into())].kind, "DERIVE");
        let v = values("load.value 0.5\nmultigraph a.b\nf.value U\ng.value 1700000000:3\n");
        assert_eq!(v[&("".into(), "load".into())], Some(0.5));
        assert_eq!(v[&("a.b".into(), "f".into())], None);
        assert_eq!(v[&("a.b".into(), "g".into())], Some(3.0));
    }
}
