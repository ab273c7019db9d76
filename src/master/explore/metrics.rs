//! `/metrics`: every host's last stored values as Prometheus metrics, so
//! Prometheus, VictoriaMetrics or Grafana Agent can scrape a whole Munin
//! fleet through one master. Built from what `update` kept (each host's
//! last config and `values.json`), never by polling a node: `serve` calls
//! [`exposition`] once per update and answers scrapes from that.
//!
//! Naming follows munin_exporter (archived; the last version is
//! pvdh/munin_exporter, `munin_exporter.go`, a fork of
//! prometheus-junkyard/munin_exporter), which exports one munin-node:
//!
//! - A field is the metric `<graph>_<field>`, `-` written `_`. Where
//!   munin_exporter stops there (and Prometheus would refuse the name), we
//!   also write `_` for every other character outside `[A-Za-z0-9_]` (the
//!   `.` of a multigraph child such as `diskstats_iops.sda`, anything
//!   non-ASCII), and a name that would start with a digit gets a leading
//!   `_`. A multigraph child is its own graph, so its fields are
//!   `<child>_<field>`; munin_exporter never read multigraph replies.
//! - Labels: `hostname` (munin.conf's host name; munin_exporter took the
//!   node's banner), `graphname` (the graph, as the node named it),
//!   `muninlabel` (the field's name, not its `.label`: munin_exporter's
//!   meaning), and our `group`, the host's group path joined with `;`.
//!   munin_exporter's constant `type` label is left out: the `# TYPE` line
//!   says it, and at 300,000 samples it would cost 4 MB a scrape.
//! - `COUNTER` and `DERIVE` fields are counters, all others (`GAUGE`,
//!   `ABSOLUTE`, none) gauges. The value is what the node sent, the raw
//!   counter (`values.json` keeps the text before librrd turns it into a
//!   rate), so `rate()` gives what Munin's graph shows; a counter that
//!   wraps or restarts is a reset to Prometheus. `cdef` is not applied.
//! - `# HELP` is `<graph_title>: <label>`, then `, <info>` when the field
//!   has one.
//!
//! Each sample carries the time its value was stored (milliseconds in the
//! text format, seconds in OpenMetrics), so a scrape between two updates
//! repeats a sample Prometheus already has and adds nothing. `U` values are
//! left out. A host whose last poll failed gives no field samples (they
//! would repeat old ones). `munin_up{hostname,group}` is 1 or 0 for each
//! host munin.conf has `update` on (0 too for one not polled yet), stamped
//! with its poll's time; `munin_last_update_timestamp_seconds` says when
//! each host last answered, unstamped, so `time() - ` it grows when
//! updates stop.
//!
//! A name is one family, written once with all its samples, whichever
//! hosts and graphs they come from. A name that is a counter on some graphs
//! and a gauge on others (a plugin whose type changed across the fleet, or
//! two names written alike: `a_b` + `c` and `a` + `b_c`) can be neither:
//! its family is `untyped` (OpenMetrics: `unknown`) and keeps every sample
//! under its name. Nothing is lost, `rate()` still works on the counters'
//! series, and promtool lints nothing; moving the counters to a suffixed
//! name would draw promtool's "name should not include type" for
//! `_counter`, and would rename series whenever the fleet changes. A
//! family whose name is taken (by `munin_up`,
//! `munin_last_update_timestamp_seconds` or
//! `munin_metrics_skipped_samples`, or in OpenMetrics, where counter `x`
//! also names `x_total` and `x_created`, by another family) is left out
//! whole, the first in name order kept: its samples are counted in
//! `munin_metrics_skipped_samples`, and the text format names it in a
//! `# munin-rs:` comment (OpenMetrics allows no comments).

use std::collections::{HashMap, HashSet};

use crate::master::conf::MasterConf;
use crate::master::state::{self, HostConfig, Values};
use crate::master::store::rrdfile::value_text;

/// Whether a scraper's `Accept` header asks for OpenMetrics: it names
/// `application/openmetrics-text` (any version) at a quality no lower than
/// the text format's (`text/plain`, `text/*`, `*/*`).
pub fn wants_open_metrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let (mut open, mut text) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        // A quality that does not parse counts as 0: not asked for.
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            open = open.max(q);
        } else if ["text/plain", "text/*", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
        {
            text = text.max(q);
        }
    }
    open > 0.0 && open >= text
}

/// The `Content-Type` of the exposition.
pub fn content_type(open_metrics: bool) -> &'static str {
    if open_metrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    }
}

/// The metric name of `field` of graph `service` (see the module docs).
pub fn metric_name(service: &str, field: &str) -> String {
    let mut out = String::with_capacity(service.len() + field.len() + 2);
    push_name(&mut out, service, field);
    out
}

fn push_name(out: &mut String, service: &str, field: &str) {
    if service.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    for c in service.chars().chain(['_']).chain(field.chars()) {
        out.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        });
    }
}

/// Whether a field of Munin type `ty` (any case; none is `GAUGE`) is a
/// counter.
pub fn is_counter(ty: Option<&str>) -> bool {
    ty.is_some_and(|t| t.eq_ignore_ascii_case("counter") || t.eq_ignore_ascii_case("derive"))
}

/// `s` as a label value (or, with `quote` false, as the text format's
/// `# HELP`, where `\"` is not an escape).
fn push_escaped(out: &mut String, s: &str, quote: bool) {
    if !s.contains(['\\', '"', '\n']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quote => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// munin_exporter's description: `<graph_title>: <label>[, <info>]`.
fn help(graph_title: &str, field: &str, attrs: &[(String, String)]) -> String {
    let label = attr(attrs, "label").unwrap_or(field);
    let mut h = format!("{graph_title}: {label}");
    if let Some(info) = attr(attrs, "info").filter(|i| !i.is_empty()) {
        h.push_str(", ");
        h.push_str(info);
    }
    h
}

/// A family's type: a name that is a counter on some graphs and a gauge
/// on others is neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Unknown,
}

/// One metric name and every sample of it.
struct Family {
    name: String,
    /// Whether some of its fields are gauges, some counters.
    gauges: bool,
    counters: bool,
    help: String,
    /// Each sample's line after its name: `{labels} value time\n`.
    lines: String,
    samples: usize,
}

impl Family {
    fn kind(&self) -> Kind {
        match (self.gauges, self.counters) {
            (false, true) => Kind::Counter,
            (true, false) => Kind::Gauge,
            _ => Kind::Unknown,
        }
    }
}

/// The names a family takes in the output: the text format has the one
/// name; an OpenMetrics counter is named without `_total` and its samples
/// `_total` (and, where given, `_created`).
fn claims(name: &str, kind: Kind, open: bool) -> Vec<String> {
    if open && kind == Kind::Counter {
        let base = name.strip_suffix("_total").unwrap_or(name);
        vec![
            base.to_string(),
            format!("{base}_total"),
            format!("{base}_created"),
        ]
    } else {
        vec![name.to_string()]
    }
}

const UP: &str = "munin_up";
const LAST: &str = "munin_last_update_timestamp_seconds";
const SKIPPED: &str = "munin_metrics_skipped_samples";

/// A time in the format's unit.
fn push_time(out: &mut String, secs: u64, open: bool) {
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(out, "{secs}");
    if !open {
        out.push_str("000");
    }
}

fn push_meta(out: &mut String, name: &str, help: &str, unit: Option<&str>, open: bool) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    out.push_str(help);
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push_str(" gauge\n");
    if let (true, Some(unit)) = (open, unit) {
        out.push_str("# UNIT ");
        out.push_str(name);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
}

/// Every host's last values; `configs` has one entry per `conf.hosts`
/// (each host's last config). In OpenMetrics when `open_metrics`, else
/// the text format 0.0.4.
pub fn exposition(
    conf: &MasterConf,
    configs: &[Option<HostConfig>],
    values: &Values,
    open_metrics: bool,
) -> String {
    let open = open_metrics;
    let mut families: Vec<Family> = Vec::new();
    // Name → place in `families`.
    let mut index: HashMap<String, usize> = HashMap::new();
    // (`hostname=..,group=..`, up, polled) and (labels, answered).
    let mut up: Vec<(String, bool, Option<u64>)> = Vec::new();
    let mut last: Vec<(String, u64)> = Vec::new();
    let mut key = String::new();
    let mut name = String::new();
    for (host, config) in conf.hosts.iter().zip(configs) {
        let status = values.hosts.get(&state::host_key(host));
        let mut labels = String::from("hostname=\"");
        push_escaped(&mut labels, &host.name, true);
        labels.push_str("\",group=\"");
        push_escaped(&mut labels, &host.groups.join(";"), true);
        labels.push('"');
        if host.update {
            up.push((
                labels.clone(),
                status.is_some_and(|s| s.ok),
                status.map(|s| s.polled),
            ));
        }
        if let Some(at) = status.and_then(|s| s.answered) {
            last.push((labels.clone(), at));
        }
        let (Some(config), Some(status)) = (config, status) else {
            continue;
        };
        if !status.ok {
            continue;
        }
        for plugin in config.plugins.values() {
            for s in &plugin.services {
                // An aggregate's values are other hosts' (stored there).
                if !s.files.is_empty() {
                    continue;
                }
                let title = attr(&s.graph, "graph_title").unwrap_or(&s.name);
                let mut graph = String::new();
                push_escaped(&mut graph, &s.name, true);
                for (field, attrs) in &s.fields {
                    key.clear();
                    key.push_str(&s.name);
                    key.push('.');
                    key.push_str(field);
                    let Some((time, text)) = status.values.get(key.as_str()) else {
                        continue;
                    };
                    let Some(value) = value_text(text).filter(|v| v != "U") else {
                        continue;
                    };
                    name.clear();
                    push_name(&mut name, &s.name, field);
                    let at = match index.get(name.as_str()) {
                        Some(at) => *at,
                        None => {
                            families.push(Family {
                                name: name.clone(),
                                gauges: false,
                                counters: false,
                                help: help(title, field, attrs),
                                lines: String::new(),
                                samples: 0,
                            });
                            index.insert(name.clone(), families.len() - 1);
                            families.len() - 1
                        }
                    };
                    let f = &mut families[at];
                    if is_counter(attr(attrs, "type")) {
                        f.counters = true;
                    } else {
                        f.gauges = true;
                    }
                    f.samples += 1;
                    let l = &mut f.lines;
                    l.push('{');
                    l.push_str(&labels);
                    l.push_str(",graphname=\"");
                    l.push_str(&graph);
                    l.push_str("\",muninlabel=\"");
                    push_escaped(l, field, true);
                    l.push_str("\"} ");
                    l.push_str(&value);
                    l.push(' ');
                    push_time(l, *time, open);
                    l.push('\n');
                }
            }
        }
    }
    drop(index);
    let mut order: Vec<usize> = (0..families.len()).collect();
    order.sort_by(|a, b| families[*a].name.cmp(&families[*b].name));
    let mut claimed: HashSet<String> = [UP, LAST, SKIPPED].map(String::from).into();
    let mut kept = Vec::with_capacity(order.len());
    let mut skipped = 0usize;
    let mut notes = String::new();
    for at in order {
        let f = &families[at];
        let names = claims(&f.name, f.kind(), open);
        if names.iter().any(|n| claimed.contains(n)) {
            skipped += f.samples;
            notes.push_str(&format!(
                "# munin-rs: {} left out ({} samples): its name is taken by another metric\n",
                f.name, f.samples
            ));
            continue;
        }
        claimed.extend(names);
        kept.push(at);
    }

    let size: usize = kept
        .iter()
        .map(|at| {
            let f = &families[*at];
            f.lines.len() + f.samples * (f.name.len() + 6) + f.help.len() + 2 * f.name.len() + 32
        })
        .sum();
    let mut out = String::with_capacity(size + (up.len() + last.len()) * 128 + 1024);
    push_meta(
        &mut out,
        UP,
        "Whether the host answered the master's last poll (1) or not (0), at the poll's time.",
        None,
        open,
    );
    for (labels, ok, polled) in &up {
        out.push_str(UP);
        out.push('{');
        out.push_str(labels);
        out.push_str(if *ok { "} 1" } else { "} 0" });
        if let Some(t) = polled {
            out.push(' ');
            push_time(&mut out, *t, open);
        }
        out.push('\n');
    }
    push_meta(
        &mut out,
        LAST,
        "When the host last answered a poll, in seconds since the epoch.",
        Some("seconds"),
        open,
    );
    for (labels, at) in &last {
        out.push_str(LAST);
        out.push('{');
        out.push_str(labels);
        out.push_str("} ");
        out.push_str(&at.to_string());
        out.push('\n');
    }
    push_meta(
        &mut out,
        SKIPPED,
        "Stored values left out because their metric name was taken by another metric.",
        None,
        open,
    );
    out.push_str(SKIPPED);
    out.push(' ');
    out.push_str(&skipped.to_string());
    out.push('\n');
    if !open {
        out.push_str(&notes);
    }
    for at in kept {
        let f = &families[at];
        let (family, sample) = match (open, f.kind()) {
            (true, Kind::Counter) => {
                let base = f.name.strip_suffix("_total").unwrap_or(&f.name);
                (base.to_string(), format!("{base}_total"))
            }
            _ => (f.name.clone(), f.name.clone()),
        };
        out.push_str("# HELP ");
        out.push_str(&family);
        out.push(' ');
        push_escaped(&mut out, &f.help, open);
        out.push_str("\n# TYPE ");
        out.push_str(&family);
        out.push_str(match (f.kind(), open) {
            (Kind::Counter, _) => " counter\n",
            (Kind::Gauge, _) => " gauge\n",
            (Kind::Unknown, false) => " untyped\n",
            (Kind::Unknown, true) => " unknown\n",
        });
        for line in f.lines.split_inclusive('\n') {
            out.push_str(&sample);
            out.push_str(line);
        }
    }
    if open {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::conf::Host;
    use crate::master::state::{HostStatus, PluginConfig, ServiceConfig};

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A graph: its attributes and `(field, attributes)`.
    fn graph(
        name: &str,
        attrs: &[(&str, &str)],
        fields: &[(&str, &[(&str, &str)])],
    ) -> ServiceConfig {
        ServiceConfig {
            name: name.into(),
            graph: pairs(attrs),
            fields: fields
                .iter()
                .map(|(f, a)| (f.to_string(), pairs(a)))
                .collect(),
            files: Vec::new(),
            own_limits: None,
        }
    }

    fn config(plugins: Vec<(&str, Vec<ServiceConfig>)>) -> HostConfig {
        HostConfig {
            plugins: plugins
                .into_iter()
                .map(|(p, services)| {
                    (
                        p.to_string(),
                        PluginConfig {
                            hash: String::new(),
                            services,
                            data: None,
                        },
                    )
                })
                .collect(),
        }
    }

    fn status(ok: bool, values: &[(&str, u64, &str)]) -> HostStatus {
        HostStatus {
            ok,
            error: (!ok).then(|| "cannot connect".into()),
            polled: 1_700_000_100,
            answered: Some(1_700_000_000),
            values: values
                .iter()
                .map(|(k, t, v)| (k.to_string(), (*t, v.to_string())))
                .collect(),
            previous: Default::default(),
        }
    }

    /// A host of a test site: groups, name, config, status.
    type SiteHost<'a> = (
        &'a [&'a str],
        &'a str,
        Option<HostConfig>,
        Option<HostStatus>,
    );

    /// A site of `hosts`.
    fn site(hosts: Vec<SiteHost<'_>>) -> (MasterConf, Vec<Option<HostConfig>>, Values) {
        let mut conf = MasterConf::default();
        let mut configs = Vec::new();
        let mut values = Values::default();
        for (groups, name, c, s) in hosts {
            let h = Host::new(groups.iter().map(|g| g.to_string()).collect(), name);
            if let Some(s) = s {
                values.hosts.insert(state::host_key(&h), s);
            }
            conf.hosts.push(h);
            configs.push(c);
        }
        (conf, configs, values)
    }

    fn render(hosts: Vec<SiteHost<'_>>, open: bool) -> String {
        let (conf, configs, values) = site(hosts);
        exposition(&conf, &configs, &values, open)
    }

    /// Lines starting with `prefix`.
    fn lines<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    fn cpu() -> HostConfig {
        config(vec![(
            "cpu",
            vec![graph(
                "cpu",
                &[("graph_title", "CPU usage")],
                &[
                    ("user", &[("label", "user"), ("type", "DERIVE")]),
                    (
                        "idle",
                        &[("label", "idle"), ("type", "derive"), ("info", "Idle")],
                    ),
                ],
            )],
        )])
    }

    #[test]
    fn names_follow_munin_exporter_and_are_made_valid() {
        assert_eq!(metric_name("if_eth0", "down"), "if_eth0_down");
        // munin_exporter's one rule: `-` is `_`.
        assert_eq!(metric_name("if_br-lan", "rx-bytes"), "if_br_lan_rx_bytes");
        // Ours beyond it: a multigraph child's dot, anything else invalid.
        assert_eq!(
            metric_name("diskstats_iops.sda", "rio"),
            "diskstats_iops_sda_rio"
        );
        assert_eq!(metric_name("évil.<script>", "x:y"), "_vil__script__x_y");
        // Never a leading digit.
        assert_eq!(metric_name("3ware_temp", "c0"), "_3ware_temp_c0");
        assert_eq!(metric_name("a", "9"), "a_9");
        for n in ["if_br-lan", "3ware", "évil.<s>", "a b"] {
            let m = metric_name(n, "f-1");
            assert!(
                m.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{m}"
            );
        }
    }

    #[test]
    fn counter_and_derive_are_counters_the_rest_gauges() {
        for t in ["COUNTER", "DERIVE", "derive", "Counter"] {
            assert!(is_counter(Some(t)), "{t}");
        }
        for t in [None, Some("GAUGE"), Some("ABSOLUTE"), Some("")] {
            assert!(!is_counter(t), "{t:?}");
        }
    }

    #[test]
    fn prometheus_accept_headers_pick_the_format() {
        // Prometheus 2.42's scrape header: OpenMetrics first.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                    version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_open_metrics(Some(prom)));
        assert!(wants_open_metrics(Some(
            "Application/OpenMetrics-Text; version=0.0.1"
        )));
        assert!(!wants_open_metrics(None));
        assert!(!wants_open_metrics(Some("*/*")));
        assert!(!wants_open_metrics(Some("text/plain;version=0.0.4")));
        assert!(!wants_open_metrics(Some(
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        )));
        assert!(!wants_open_metrics(Some(
            "application/openmetrics-text;q=0"
        )));
        assert!(!wants_open_metrics(Some(
            "application/openmetrics-text;q=x"
        )));
        assert_eq!(
            content_type(false),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert!(content_type(true).starts_with("application/openmetrics-text; version=1.0.0"));
    }

    #[test]
    fn a_host_with_derives_and_a_gauge_in_the_text_format() {
        let mut c = cpu();
        c.plugins.insert(
            "load".into(),
            PluginConfig {
                hash: String::new(),
                services: vec![graph(
                    "load",
                    &[("graph_title", "Load average")],
                    &[("load", &[("label", "load")])],
                )],
                data: None,
            },
        );
        let s = status(
            true,
            &[
                ("cpu.user", 1_700_000_000, "123456"),
                ("cpu.idle", 1_700_000_000, "99"),
                ("load.load", 1_700_000_001, "0.25"),
            ],
        );
        let text = render(vec![(&["lab", "web"], "h1", Some(c), Some(s))], false);
        let expected = "\
# HELP munin_up Whether the host answered the master's last poll (1) or not (0), at the poll's time.
# TYPE munin_up gauge
munin_up{hostname=\"h1\",group=\"lab;web\"} 1 1700000100000
# HELP munin_last_update_timestamp_seconds When the host last answered a poll, in seconds since the epoch.
# TYPE munin_last_update_timestamp_seconds gauge
munin_last_update_timestamp_seconds{hostname=\"h1\",group=\"lab;web\"} 1700000000
# HELP munin_metrics_skipped_samples Stored values left out because their metric name was taken by another metric.
# TYPE munin_metrics_skipped_samples gauge
munin_metrics_skipped_samples 0
# HELP cpu_idle CPU usage: idle, Idle
# TYPE cpu_idle counter
cpu_idle{hostname=\"h1\",group=\"lab;web\",graphname=\"cpu\",muninlabel=\"idle\"} 99 1700000000000
# HELP cpu_user CPU usage: user
# TYPE cpu_user counter
cpu_user{hostname=\"h1\",group=\"lab;web\",graphname=\"cpu\",muninlabel=\"user\"} 123456 1700000000000
# HELP load_load Load average: load
# TYPE load_load gauge
load_load{hostname=\"h1\",group=\"lab;web\",graphname=\"load\",muninlabel=\"load\"} 0.25 1700000001000
";
        assert_eq!(text, expected);
    }

    #[test]
    fn open_metrics_counters_are_total_times_in_seconds_and_it_ends_with_eof() {
        let s = status(true, &[("cpu.user", 1_700_000_000, "5")]);
        let text = render(vec![(&["g"], "h", Some(cpu()), Some(s))], true);
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(text.contains("# TYPE cpu_user counter\n"), "{text}");
        assert!(
            text.contains(
                "cpu_user_total{hostname=\"h\",group=\"g\",graphname=\"cpu\",muninlabel=\"user\"} 5 1700000000\n"
            ),
            "{text}"
        );
        assert!(text.contains("munin_up{hostname=\"h\",group=\"g\"} 1 1700000100\n"));
        assert!(text.contains("# UNIT munin_last_update_timestamp_seconds seconds\n"));
        // No comments but the metadata OpenMetrics has.
        for l in lines(&text, "#") {
            assert!(
                ["# HELP ", "# TYPE ", "# UNIT ", "# EOF"]
                    .iter()
                    .any(|p| l.starts_with(p)),
                "{l}"
            );
        }
        // A counter already called `_total` keeps one `_total`.
        let c = config(vec![(
            "mail",
            vec![graph("mail", &[], &[("total", &[("type", "COUNTER")])])],
        )]);
        let s = status(true, &[("mail.total", 1, "7")]);
        let text = render(vec![(&["g"], "h", Some(c), Some(s))], true);
        assert!(text.contains("# TYPE mail counter\n"), "{text}");
        assert!(text.contains("\nmail_total{"), "{text}");
        assert!(!text.contains("mail_total_total"), "{text}");
    }

    #[test]
    fn label_values_and_help_are_escaped_per_format() {
        let c = config(vec![(
            "evil",
            vec![graph(
                "evil.\"q\"\\b",
                &[("graph_title", "a \"t\" \\ x\ny")],
                &[("hit", &[("label", "l\"1\""), ("info", "back\\slash")])],
            )],
        )]);
        let s = status(true, &[("evil.\"q\"\\b.hit", 10, "1")]);
        let host: SiteHost = (&["g\"1"], "h\\\n", Some(c), Some(s));
        let text = render(vec![host.clone()], false);
        assert!(
            text.contains(
                "evil__q__b_hit{hostname=\"h\\\\\\n\",group=\"g\\\"1\",graphname=\"evil.\\\"q\\\"\\\\b\",muninlabel=\"hit\"} 1 10000\n"
            ),
            "{text}"
        );
        // The text format's HELP escapes `\` and newline only.
        assert!(
            text.contains("# HELP evil__q__b_hit a \"t\" \\\\ x\\ny: l\"1\", back\\\\slash\n"),
            "{text}"
        );
        let open = render(vec![host], true);
        assert!(
            open.contains(
                "# HELP evil__q__b_hit a \\\"t\\\" \\\\ x\\ny: l\\\"1\\\", back\\\\slash\n"
            ),
            "{open}"
        );
        // Nothing raw slips through: one line per line.
        assert_eq!(text.lines().filter(|l| l.starts_with("evil")).count(), 1);
    }

    #[test]
    fn a_family_is_written_once_with_every_hosts_samples() {
        let hosts: Vec<SiteHost<'_>> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                let s = status(true, &[("cpu.user", 1, "1"), ("cpu.idle", 1, "2")]);
                (&["g"][..], *n, Some(cpu()), Some(s))
            })
            .collect();
        for open in [false, true] {
            let text = render(hosts.clone(), open);
            assert_eq!(lines(&text, "# TYPE cpu_user ").len(), 1);
            assert_eq!(lines(&text, "# HELP cpu_user ").len(), 1);
            // All of a family's samples follow its TYPE line, nothing between.
            let at = text.find("# TYPE cpu_user ").unwrap();
            let block: Vec<&str> = text[at..].lines().skip(1).take(3).collect();
            assert!(block.iter().all(|l| l.starts_with("cpu_user")), "{block:?}");
            assert_eq!(lines(&text, "cpu_user").len(), 3);
            // Every name in one TYPE line only.
            let types = lines(&text, "# TYPE ");
            let unique: HashSet<&&str> = types.iter().collect();
            assert_eq!(unique.len(), types.len());
        }
    }

    #[test]
    fn unknown_values_down_hosts_and_unpolled_hosts() {
        let up = status(true, &[("cpu.user", 1, "U"), ("cpu.idle", 1, "3")]);
        let down = status(false, &[("cpu.user", 1, "8"), ("cpu.idle", 1, "9")]);
        let (mut conf, configs, mut values) = site(vec![
            (&["g"], "up", Some(cpu()), Some(up)),
            (&["g"], "down", Some(cpu()), Some(down)),
            (&["g"], "new", None, None),
            (&["g"], "virtual", Some(cpu()), None),
        ]);
        conf.hosts[3].update = false;
        values
            .hosts
            .get_mut("g;down")
            .unwrap()
            .values
            .insert("cpu.junk".into(), (1, "not a number".into()));
        let text = exposition(&conf, &configs, &values, false);
        // U is left out, the number kept.
        assert!(!text.contains("muninlabel=\"user\""), "{text}");
        assert_eq!(lines(&text, "cpu_idle{").len(), 1);
        assert!(text.contains("cpu_idle{hostname=\"up\""));
        // The down host: munin_up 0 and no field samples; never polled: 0,
        // without a time; `update no`: not at all.
        assert!(text.contains("munin_up{hostname=\"down\",group=\"g\"} 0 1700000100000\n"));
        assert!(text.contains("munin_up{hostname=\"new\",group=\"g\"} 0\n"));
        assert!(!text.contains("hostname=\"virtual\""), "{text}");
        assert!(
            !text.contains("hostname=\"down\",group=\"g\",graph"),
            "{text}"
        );
        assert_eq!(
            lines(&text, "munin_last_update_timestamp_seconds{").len(),
            2
        );
    }

    #[test]
    fn a_name_both_gauge_and_counter_is_untyped_and_keeps_every_sample() {
        // `a_b` + `c` and `a` + `b_c` are both `a_b_c`: one a gauge, one a
        // DERIVE, on the same host; and `x` is a counter on one host, a
        // gauge on another.
        let c1 = config(vec![
            ("a_b", vec![graph("a_b", &[], &[("c", &[])])]),
            (
                "a",
                vec![graph("a", &[], &[("b_c", &[("type", "DERIVE")])])],
            ),
            ("x", vec![graph("x", &[], &[("y", &[("type", "COUNTER")])])]),
        ]);
        let c2 = config(vec![("x", vec![graph("x", &[], &[("y", &[])])])]);
        let s1 = status(
            true,
            &[("a_b.c", 1, "1"), ("a.b_c", 1, "2"), ("x.y", 1, "3")],
        );
        let s2 = status(true, &[("x.y", 1, "4")]);
        let hosts: Vec<SiteHost> = vec![
            (&["g"], "h1", Some(c1), Some(s1)),
            (&["g"], "h2", Some(c2), Some(s2)),
        ];
        let text = render(hosts.clone(), false);
        for (name, n) in [("a_b_c", 2), ("x_y", 2)] {
            assert_eq!(lines(&text, &format!("# TYPE {name} ")).len(), 1);
            assert!(text.contains(&format!("# TYPE {name} untyped\n")), "{text}");
            assert_eq!(lines(&text, &format!("{name}{{")).len(), n, "{text}");
        }
        assert!(text.contains(
            "a_b_c{hostname=\"h1\",group=\"g\",graphname=\"a_b\",muninlabel=\"c\"} 1 1000\n"
        ));
        assert!(text.contains(
            "a_b_c{hostname=\"h1\",group=\"g\",graphname=\"a\",muninlabel=\"b_c\"} 2 1000\n"
        ));
        assert!(text.contains("munin_metrics_skipped_samples 0\n"));
        let open = render(hosts, true);
        assert!(open.contains("# TYPE a_b_c unknown\n"), "{open}");
        assert_eq!(lines(&open, "a_b_c{").len(), 2, "{open}");
        assert!(!open.contains("_total"), "{open}");
    }

    #[test]
    fn a_name_still_taken_is_left_out_and_counted() {
        // `munin.up` would be ours; in OpenMetrics the counter `q` and the
        // gauge `q_total` both claim `q_total`.
        let c = config(vec![
            ("munin", vec![graph("munin", &[], &[("up", &[])])]),
            ("q", vec![graph("q", &[], &[("n", &[("type", "DERIVE")])])]),
            ("q_n", vec![graph("q_n", &[], &[("total", &[])])]),
        ]);
        let s = status(
            true,
            &[("munin.up", 1, "1"), ("q.n", 1, "2"), ("q_n.total", 1, "3")],
        );
        let hosts: Vec<SiteHost> = vec![(&["g"], "h", Some(c), Some(s))];
        let text = render(hosts.clone(), false);
        assert!(text.contains("munin_metrics_skipped_samples 1\n"), "{text}");
        assert!(
            text.contains(
                "# munin-rs: munin_up left out (1 samples): its name is taken by another metric\n"
            ),
            "{text}"
        );
        assert_eq!(lines(&text, "munin_up{").len(), 1);
        // The text format has room for both `q_n` and `q_n_total`.
        assert!(text.contains("# TYPE q_n counter\n") && text.contains("# TYPE q_n_total gauge\n"));
        let open = render(hosts, true);
        assert!(open.contains("munin_metrics_skipped_samples 2\n"), "{open}");
        assert!(open.contains("# TYPE q_n counter\n"), "{open}");
        assert!(!open.contains("# TYPE q_n_total"), "{open}");
        assert_eq!(lines(&open, "q_n_total{").len(), 1);
    }

    #[test]
    fn values_are_written_as_librrd_takes_them() {
        let c = config(vec![(
            "v",
            vec![graph(
                "v",
                &[],
                &[("big", &[("type", "COUNTER")]), ("neg", &[]), ("exp", &[])],
            )],
        )]);
        let s = status(
            true,
            &[
                ("v.big", 1, "18446744073709551615"),
                ("v.neg", 1, "-3"),
                ("v.exp", 1, "1.5e3"),
            ],
        );
        let text = render(vec![(&["g"], "h", Some(c), Some(s))], false);
        assert!(text.contains("} 18446744073709551615 1000\n"), "{text}");
        assert!(text.contains("} -3 1000\n"), "{text}");
        assert!(text.contains("} 1500 1000\n"), "{text}");
    }
}
