//! One service's fields judged as munin-limits judges them, run after run.
//!
//! Each field with a `warning` or `critical` (its own, or looked up from
//! its service, host, groups or the global part) is given a state from
//! its last value: the value itself for a GAUGE, the rate between the last
//! two values for a DERIVE, COUNTER or ABSOLUTE, and UNKNOWN when there is
//! none or it is older than 600 s (munin-limits' fixed heartbeat). The
//! value is rounded to two places before it is compared, as munin-limits
//! does. `unknown_limit` (default 3) runs of UNKNOWN keep the state the
//! field had; `notify_after` (ours, default 1) runs of a new state are
//! needed before it counts. The service's state changed when a field's
//! did; its worst state is CRITICAL > WARNING > UNKNOWN > OK.
//!
//! What a message needs is left on the service's node of the [`Tree`]:
//! `worst`, `worstid`, `cfields`/`wfields`/`ufields`/`ofields`/`fofields`
//! (fields now CRITICAL, WARNING, UNKNOWN, OK, and back to OK this run;
//! `fofields` falls back to `ofields` when none came back, as in Munin),
//! their counts `num...`, `fields`, `state_changed`; and on each field's
//! node `value`, `wrange` and `crange`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::range::{Range, Which, perl_number, two_places};
use super::scope::Tree;
use crate::master::conf::last;
use crate::master::state::{HostStatus, ServiceConfig};
use crate::threshold::Status;

/// munin-limits' age past which a value is UNKNOWN.
const HEARTBEAT: u64 = 600;

/// A field's state kept across runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// The state the field is in (OK when never seen).
    pub level: Option<Status>,
    /// A new state seen and for how many runs in a row (`notify_after`).
    pub seen: Option<Status>,
    pub runs: u32,
    /// UNKNOWN runs held back by `unknown_limit`.
    #[serde(default)]
    pub unknowns: u32,
}

/// Every field's kept state, keyed `group;host/service.field`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub fields: BTreeMap<String, Kept>,
    /// The keys judged this run.
    #[serde(skip)]
    pub touched: std::collections::HashSet<String>,
}

/// What a run knows besides the service.
pub struct Run<'a> {
    pub status: Option<&'a HostStatus>,
    pub now: u64,
    pub notify_after: u32,
    /// `group;host`, the start of each kept key.
    pub host_key: &'a str,
}

/// The fields of one service by the state they are in now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub critical: Vec<String>,
    pub warning: Vec<String>,
    pub unknown: Vec<String>,
    pub ok: Vec<String>,
    /// Back to OK this run.
    pub recovered: Vec<String>,
}

impl Stats {
    /// The fields in `level`.
    pub fn of(&self, level: Status) -> &[String] {
        match level {
            Status::Critical => &self.critical,
            Status::Warning => &self.warning,
            Status::Unknown => &self.unknown,
            Status::Ok => &self.ok,
        }
    }
}

/// A service after judging.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub worst: Status,
    pub changed: bool,
    pub stats: Stats,
}

/// Judges `service`, whose node in `tree` is `node` (its graph attributes
/// and names already set), and moves `kept` on. `None` when no field of
/// it has a limit.
pub fn service(
    tree: &mut Tree,
    node: usize,
    service: &ServiceConfig,
    kept: &mut Limits,
    run: &Run,
) -> Option<Judged> {
    // munin-limits judges a graph only when it or a field of it has a
    // limit of its own; inherited ones then fill in the other fields.
    let own = service.own_limits != Some(false)
        || tree.own(node, "warning").is_some()
        || tree.own(node, "critical").is_some();
    if !own {
        return None;
    }
    let order = field_order(service);
    let mut fields = Vec::new();
    for name in &order {
        let Some((_, attrs)) = service.fields.iter().find(|(f, _)| f == name) else {
            continue;
        };
        let f = tree.add(node, name);
        tree.set_all(f, attrs);
        fields.push((name, attrs, f));
    }
    tree.set(node, "fields", order.join(" "));
    let mut stats = Stats::default();
    let mut changed = false;
    let mut any = false;
    for (name, attrs, f) in fields {
        let warning = tree
            .get(f, "warning")
            .and_then(|w| Range::parse(w, Which::Warning));
        let critical = tree
            .get(f, "critical")
            .and_then(|c| Range::parse(c, Which::Critical));
        if warning.is_none() && critical.is_none() {
            continue;
        }
        any = true;
        let unknown_limit = tree.get(f, "unknown_limit").map_or(3.0, perl_number);
        let kind = last(attrs, "type");
        let key = format!("{}.{name}", service.name);
        let value = value(run, &key, kind);
        let shown = value.map_or_else(|| "unknown".to_string(), two_places);
        tree.set(f, "value", shown.clone());
        tree.set(f, "crange", Range::text(critical.as_ref()));
        tree.set(f, "wrange", Range::text(warning.as_ref()));
        let now = match value {
            None => Status::Unknown,
            Some(_) => {
                // Compared as shown: munin-limits rounds first.
                let v = perl_number(&shown);
                if critical.as_ref().is_some_and(|r| r.breached(v)) {
                    Status::Critical
                } else if warning.as_ref().is_some_and(|r| r.breached(v)) {
                    Status::Warning
                } else {
                    Status::Ok
                }
            }
        };
        let kept_key = format!("{}/{key}", run.host_key);
        kept.touched.insert(kept_key.clone());
        let k = kept.fields.entry(kept_key).or_default();
        let (state, moved) = advance(k, now, unknown_limit, run.notify_after);
        changed |= moved;
        match state {
            Status::Critical => stats.critical.push(name.clone()),
            Status::Warning => stats.warning.push(name.clone()),
            Status::Unknown => stats.unknown.push(name.clone()),
            Status::Ok => {
                stats.ok.push(name.clone());
                if moved {
                    stats.recovered.push(name.clone());
                }
            }
        }
    }
    if !any {
        return None;
    }
    let worst = Status::worst(
        [
            (Status::Critical, &stats.critical),
            (Status::Warning, &stats.warning),
            (Status::Unknown, &stats.unknown),
        ]
        .into_iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(s, _)| s),
    );
    let worstid = match worst {
        Status::Ok => 0,
        Status::Warning => 1,
        Status::Critical => 2,
        Status::Unknown => 3,
    };
    tree.set(node, "worst", worst.word());
    tree.set(node, "worstid", worstid.to_string());
    let lists = [
        ("cfields", &stats.critical),
        ("wfields", &stats.warning),
        ("ufields", &stats.unknown),
        ("ofields", &stats.ok),
        (
            "fofields",
            if stats.recovered.is_empty() {
                &stats.ok
            } else {
                &stats.recovered
            },
        ),
    ];
    for (var, list) in lists {
        tree.set(node, var, list.join(" "));
    }
    for (var, list) in [
        ("numcfields", &stats.critical),
        ("numwfields", &stats.warning),
        ("numufields", &stats.unknown),
        ("numofields", &stats.ok),
        ("numfofields", &stats.recovered),
    ] {
        tree.set(node, var, list.len().to_string());
    }
    if changed {
        tree.set(node, "state_changed", "1");
    }
    Some(Judged {
        worst,
        changed,
        stats,
    })
}

/// munin-limits' field order: `graph_order` (aliases cut off), then the
/// other fields, each once.
fn field_order(service: &ServiceConfig) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let graph_order = last(&service.graph, "graph_order").unwrap_or_default();
    let named = graph_order
        .split_ascii_whitespace()
        .map(|n| n.split_once('=').map_or(n, |(name, _)| name));
    for name in named.chain(service.fields.iter().map(|(f, _)| f.as_str())) {
        if !order.iter().any(|o| o == name) {
            order.push(name.to_string());
        }
    }
    order
}

/// The value munin-limits judges for `key`, `None` for unknown.
fn value(run: &Run, key: &str, kind: Option<&str>) -> Option<f64> {
    let status = run.status?;
    let (time, current) = status.values.get(key)?;
    if current == "U" || run.now > time.saturating_add(HEARTBEAT) {
        return None;
    }
    let current_v = perl_number(current);
    if kind.is_none_or(|k| k.is_empty() || k == "GAUGE") {
        return Some(current_v);
    }
    let (then, previous) = status.previous.get(key)?;
    if previous == "U" || time <= then || *time > then.saturating_add(HEARTBEAT) {
        return None;
    }
    let previous_v = perl_number(previous);
    let seconds = (time - then) as f64;
    match kind {
        Some("ABSOLUTE") => Some(current_v / seconds),
        Some("COUNTER") if current_v < previous_v => None,
        _ => Some((current_v - previous_v) / seconds),
    }
}

/// Moves a field's kept state on by this run's `now`; the state it is in
/// and whether that changed.
fn advance(k: &mut Kept, now: Status, unknown_limit: f64, after: u32) -> (Status, bool) {
    let old = k.level.unwrap_or(Status::Ok);
    let mut new = now;
    if now == Status::Unknown && old != Status::Unknown && unknown_limit >= 1.0 {
        if f64::from(k.unknowns) < unknown_limit {
            k.unknowns += 1;
            new = old;
        } else {
            k.unknowns = 0;
        }
    } else {
        k.unknowns = 0;
    }
    if new != old {
        if k.seen == Some(new) {
            k.runs = k.runs.saturating_add(1);
        } else {
            k.seen = Some(new);
            k.runs = 1;
        }
        if k.runs < after.max(1) {
            new = old;
        }
    } else {
        k.seen = None;
        k.runs = 0;
    }
    k.level = Some(new);
    (new, new != old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::limits::scope::ROOT;

    fn svc(fields: &[(&str, &[(&str, &str)])]) -> ServiceConfig {
        ServiceConfig {
            name: "s".into(),
            graph: vec![("graph_title".into(), "S".into())],
            fields: fields
                .iter()
                .map(|(n, a)| {
                    (
                        n.to_string(),
                        a.iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    )
                })
                .collect(),
            files: Vec::new(),
            own_limits: None,
        }
    }

    fn status(
        now: u64,
        values: &[(&str, u64, &str)],
        previous: &[(&str, u64, &str)],
    ) -> HostStatus {
        let map = |l: &[(&str, u64, &str)]| {
            l.iter()
                .map(|(k, t, v)| (k.to_string(), (*t, v.to_string())))
                .collect()
        };
        HostStatus {
            ok: true,
            polled: now,
            values: map(values),
            previous: map(previous),
            ..HostStatus::default()
        }
    }

    fn judge(
        s: &ServiceConfig,
        st: &HostStatus,
        kept: &mut Limits,
        now: u64,
    ) -> (Tree, usize, Judged) {
        let mut tree = Tree::new();
        let node = tree.add(ROOT, "s");
        let run = Run {
            status: Some(st),
            now,
            notify_after: 1,
            host_key: "g;h",
        };
        let j = service(&mut tree, node, s, kept, &run).unwrap();
        (tree, node, j)
    }

    #[test]
    fn rounds_before_comparing_and_keeps_the_written_range() {
        let s = svc(&[("a", &[("warning", "080")]), ("b", &[("critical", "5:")])]);
        let st = status(100, &[("s.a", 100, "80.004"), ("s.b", 100, "4.999")], &[]);
        let mut kept = Limits::default();
        // 4.999 shows as 5.00, which 5: allows: munin-limits says OK.
        let (tree, node, j) = judge(&s, &st, &mut kept, 100);
        assert_eq!(j.stats.ok, ["a", "b"]);
        assert_eq!((j.worst, j.changed), (Status::Ok, false));
        let a = tree.child(node, "a").unwrap();
        assert_eq!(tree.get(a, "value"), Some("80.00"));
        assert_eq!(tree.get(a, "wrange"), Some(":080"));
        assert_eq!(tree.get(a, "crange"), Some(":"));
        let st = status(160, &[("s.a", 160, "81"), ("s.b", 160, "4.994")], &[]);
        let (tree, node, j) = judge(&s, &st, &mut kept, 160);
        assert!(j.changed);
        assert_eq!(j.stats.warning, ["a"]);
        assert_eq!(j.stats.critical, ["b"]);
        assert_eq!(tree.get(node, "state_changed"), Some("1"));
        assert_eq!(tree.get(node, "worstid"), Some("2"));
    }

    #[test]
    fn rates_for_derive_and_stale_values_are_unknown() {
        let s = svc(&[("d", &[("type", "DERIVE"), ("warning", "10")])]);
        let st = status(1000, &[("s.d", 1000, "2000")], &[("s.d", 940, "200")]);
        let (tree, node, j) = judge(&s, &st, &mut Limits::default(), 1000);
        assert_eq!(j.stats.warning, ["d"]);
        assert_eq!(
            tree.get(tree.child(node, "d").unwrap(), "value"),
            Some("30.00")
        );
        let (tree, node, j) = judge(&s, &st, &mut Limits::default(), 1601);
        let d = tree.child(node, "d").unwrap();
        assert_eq!(
            tree.get(d, "value"),
            Some("unknown"),
            "older than the heartbeat"
        );
        assert_eq!(j.stats.ok, ["d"], "held by unknown_limit");
        let c = svc(&[(
            "d",
            &[
                ("type", "COUNTER"),
                ("warning", "10"),
                ("unknown_limit", "0"),
            ],
        )]);
        let st = status(1000, &[("s.d", 1000, "100")], &[("s.d", 940, "200")]);
        let (_, _, j) = judge(&c, &st, &mut Limits::default(), 1000);
        assert_eq!(j.stats.unknown, ["d"], "a counter going down");
    }

    #[test]
    fn unknown_limit_holds_the_old_state() {
        let mut k = Kept::default();
        assert_eq!(
            advance(&mut k, Status::Warning, 3.0, 1),
            (Status::Warning, true)
        );
        for _ in 0..3 {
            assert_eq!(
                advance(&mut k, Status::Unknown, 3.0, 1),
                (Status::Warning, false)
            );
        }
        assert_eq!(
            advance(&mut k, Status::Unknown, 3.0, 1),
            (Status::Unknown, true)
        );
        assert_eq!(
            advance(&mut k, Status::Unknown, 3.0, 1),
            (Status::Unknown, false)
        );
        assert_eq!(advance(&mut k, Status::Ok, 3.0, 1), (Status::Ok, true));
        assert_eq!(
            advance(&mut k, Status::Unknown, 0.0, 1),
            (Status::Unknown, true)
        );
        let mut k = Kept::default();
        assert_eq!(
            advance(&mut k, Status::Ok, 3.0, 1),
            (Status::Ok, false),
            "first OK is no news"
        );
        assert_eq!(
            advance(&mut k, Status::Critical, 3.0, 2),
            (Status::Ok, false)
        );
        assert_eq!(
            advance(&mut k, Status::Critical, 3.0, 2),
            (Status::Critical, true)
        );
    }

    #[test]
    fn only_graphs_with_a_limit_of_their_own_are_judged() {
        let mut s = svc(&[("a", &[("warning", "5")])]);
        s.own_limits = Some(false);
        let st = status(100, &[("s.a", 100, "9")], &[]);
        let run = Run {
            status: Some(&st),
            now: 100,
            notify_after: 1,
            host_key: "g;h",
        };
        let mut tree = Tree::new();
        let node = tree.add(ROOT, "s");
        let mut kept = Limits::default();
        assert_eq!(
            service(&mut tree, node, &s, &mut kept, &run),
            None,
            "inherited only"
        );
        tree.set(node, "critical", "100");
        let j = service(&mut tree, node, &s, &mut kept, &run).unwrap();
        assert_eq!(
            j.stats.warning,
            ["a"],
            "the graph's own limit lets the inherited one count"
        );
    }

    #[test]
    fn graph_order_first_then_the_rest_once() {
        let mut s = svc(&[("b", &[]), ("a", &[]), ("c", &[])]);
        s.graph
            .push(("graph_order".into(), "c a=elsewhere:x.y c".into()));
        assert_eq!(field_order(&s), ["c", "a", "b"]);
    }
}
