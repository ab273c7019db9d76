//! The munin plugin `stats_gatherer`: the gatherer's reports on itself as
//! graphs, as carbon's own metrics are graphed beside the data it stores.
//!
//! It reads `/api/v1/self` from the gatherer at `env.url` (default
//! `http://127.0.0.1:3458/`) with a plain blocking HTTP/1.0 request: a
//! plugin runs once and exits, so a runtime would only cost start-up time.
//! With the master's multigraph capability (`MUNIN_CAP_MULTIGRAPH=1`) it
//! draws four graphs; without, the first only.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value;

/// Default address of the gatherer's API.
pub const DEFAULT_URL: &str = "http://127.0.0.1:3458/";

/// One graph: header lines, then fields (name, label, report key, DERIVE).
struct Graph {
    id: &'static str,
    head: &'static [(&'static str, &'static str)],
    fields: &'static [(&'static str, &'static str, &'static str, bool)],
}

const GRAPHS: &[Graph] = &[
    Graph {
        id: "stats_gatherer",
        head: &[
            ("graph_title", "Stats gatherer activity"),
            ("graph_vlabel", "per ${graph_period}"),
            ("graph_category", "tahoe"),
            (
                "graph_info",
                "Polls of providers, pushes from agents and samples taken in, expired and dropped by the stats gatherer.",
            ),
        ],
        fields: &[
            ("polls", "polls", "polls", true),
            ("poll_failures", "failed polls", "poll_failures", true),
            ("poll_timeouts", "timed-out polls", "poll_timeouts", true),
            ("pushes", "pushes", "pushes", true),
            (
                "pushes_rejected",
                "rejected pushes",
                "pushes_rejected",
                true,
            ),
            (
                "samples_received",
                "samples received",
                "samples_received",
                true,
            ),
            (
                "samples_expired",
                "samples expired",
                "samples_expired",
                true,
            ),
            (
                "queue_drops",
                "pushes dropped (queue full)",
                "queue_drops",
                true,
            ),
        ],
    },
    Graph {
        id: "stats_gatherer.samples",
        head: &[
            ("graph_title", "Stats gatherer samples held"),
            ("graph_vlabel", "samples"),
            ("graph_category", "tahoe"),
        ],
        fields: &[
            ("held", "samples held", "samples_held", false),
            ("series", "series", "series", false),
            ("nodes", "nodes in the snapshot", "nodes", false),
        ],
    },
    Graph {
        id: "stats_gatherer.queue",
        head: &[
            ("graph_title", "Stats gatherer ingest queue"),
            ("graph_vlabel", "samples"),
            ("graph_category", "tahoe"),
        ],
        fields: &[
            ("length", "queued", "queue_length", false),
            ("capacity", "capacity", "queue_capacity", false),
        ],
    },
    Graph {
        id: "stats_gatherer.timing",
        head: &[
            (
                "graph_title",
                "Stats gatherer poll round and snapshot write",
            ),
            ("graph_vlabel", "seconds"),
            ("graph_category", "tahoe"),
        ],
        fields: &[
            ("poll_round", "poll round", "poll_round_seconds", false),
            (
                "snapshot_write",
                "snapshot write",
                "snapshot_write_seconds",
                false,
            ),
        ],
    },
];

/// Runs the plugin; `Err` is the one-line message for stderr.
pub fn run(arg: Option<&str>, url: Option<&str>, multigraph: bool) -> Result<String, String> {
    let url = url.unwrap_or(DEFAULT_URL);
    let graphs = if multigraph { GRAPHS } else { &GRAPHS[..1] };
    match arg {
        Some("config") => Ok(config(graphs, multigraph)),
        Some("autoconf") => Ok(match fetch_report(url) {
            Ok(_) => "yes\n".into(),
            Err(e) => format!("no ({e})\n"),
        }),
        None | Some("fetch") => Ok(values(graphs, multigraph, &fetch_report(url)?)),
        Some(other) => Err(format!("unknown mode {other:?} (config, fetch, autoconf)")),
    }
}

fn config(graphs: &[Graph], multigraph: bool) -> String {
    let mut out = String::new();
    for g in graphs {
        if multigraph {
            out.push_str(&format!("multigraph {}\n", g.id));
        }
        for (k, v) in g.head {
            out.push_str(&format!("{k} {v}\n"));
        }
        for (name, label, _, derive) in g.fields {
            out.push_str(&format!("{name}.label {label}\n"));
            if *derive {
                out.push_str(&format!("{name}.type DERIVE\n{name}.min 0\n"));
            }
        }
    }
    out
}

fn values(graphs: &[Graph], multigraph: bool, report: &Value) -> String {
    let mut out = String::new();
    for g in graphs {
        if multigraph {
            out.push_str(&format!("multigraph {}\n", g.id));
        }
        for (name, _, key, _) in g.fields {
            let v = match report.get(*key) {
                Some(Value::Number(n)) => n.to_string(),
                _ => "U".into(),
            };
            out.push_str(&format!("{name}.value {v}\n"));
        }
    }
    out
}

/// GET `<url>api/v1/self`, at most 5 s to connect and 5 s for each read
/// or write (the node's plugin timeout bounds the whole run).
fn fetch_report(url: &str) -> Result<Value, String> {
    let fail = |why: String| format!("{url}: {why}");
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| fail("expected an http:// URL".into()))?;
    let (host, base) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{}", p.trim_end_matches('/'))),
        None => (rest, String::new()),
    };
    let base = base.trim_end_matches('/');
    let addr = host
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))?;
    let limit = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, limit).map_err(|e| fail(e.to_string()))?;
    s.set_read_timeout(Some(limit))
        .map_err(|e| fail(e.to_string()))?;
    s.set_write_timeout(Some(limit))
        .map_err(|e| fail(e.to_string()))?;
    write!(s, "GET {base}/api/v1/self HTTP/1.0\r\nHost: {host}\r\n\r\n")
        .map_err(|e| fail(e.to_string()))?;
    let mut reply = Vec::new();
    s.take(1 << 20)
        .read_to_end(&mut reply)
        .map_err(|e| fail(e.to_string()))?;
    let split =
        memchr::memmem::find(&reply, b"\r\n\r\n").ok_or_else(|| fail("no HTTP reply".into()))?;
    let status = String::from_utf8_lossy(&reply[..split]);
    let status = status.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(fail(format!("answered {status:?}")));
    }
    serde_json::from_slice(&reply[split + 4..]).map_err(|e| fail(format!("not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_values() {
        let c = config(GRAPHS, true);
        assert!(c.starts_with("multigraph stats_gatherer\ngraph_title Stats gatherer activity\n"));
        assert!(c.contains("polls.type DERIVE\npolls.min 0\n"));
        assert!(c.contains("multigraph stats_gatherer.timing\n"));
        let single = config(&GRAPHS[..1], false);
        assert!(!single.contains("multigraph") && !single.contains("held.label"));
        let report = serde_json::json!({"polls": 7, "poll_round_seconds": 0.25});
        let v = values(GRAPHS, true, &report);
        assert!(v.contains("multigraph stats_gatherer\npolls.value 7\npoll_failures.value U\n"));
        assert!(v.contains("poll_round.value 0.25\n"));
    }

    #[test]
    fn unreachable_gatherer_is_named() {
        let e = run(None, Some("http://127.0.0.1:1/"), false).unwrap_err();
        assert!(e.starts_with("http://127.0.0.1:1/: "), "{e}");
        let a = run(Some("autoconf"), Some("http://127.0.0.1:1/"), false).unwrap();
        assert!(a.starts_with("no (http://127.0.0.1:1/: "), "{a}");
    }
}
