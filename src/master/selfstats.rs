//! The master's own graphs, as carbon reports on its cache: after every
//! run its numbers are stored like a node's plugin, `munin_master`, under
//! the host `munin-master;<this machine's name>`: run time, nodes ok /
//! failed / timed out, values stored / not stored, config writes saved by
//! the hash, librrd call time, peak memory. They go through the same parsing, layout,
//! storing and state as any node's reply, so the HTML step draws them with
//! the rest.

use super::conf::{Host, MasterConf};
use super::update::Summary;
use crate::master::poll::reply;
use crate::master::poll::session::HostReply;

/// The group the master's own host is listed under.
pub const GROUP: &str = "munin-master";
/// The plugin name.
pub const PLUGIN: &str = "munin_master";

/// The master's own host: this machine's name under [`GROUP`].
pub fn host(conf: &MasterConf) -> Host {
    let name = nix::unistd::gethostname()
        .ok()
        .and_then(|n| n.into_string().ok())
        .filter(|n| !n.is_empty() && !n.contains('/') && !n.starts_with('.'))
        .unwrap_or_else(|| "localhost".into());
    Host {
        address: "-".into(),
        port: 0,
        update_rate: Some(conf.update_rate),
        origin: "the master itself".into(),
        ..Host::new(vec![GROUP.into()], &name)
    }
}

/// A graph: title, vertical label, and `(field, label, value)`.
fn graph(out: &mut String, name: &str, title: &str, vlabel: &str, fields: &[(&str, &str, f64)]) {
    out.push_str(&format!(
        "multigraph {name}\ngraph_title {title}\ngraph_vlabel {vlabel}\ngraph_category munin\ngraph_args --base 1000 -l 0\n"
    ));
    for (field, label, value) in fields {
        out.push_str(&format!(
            "{field}.label {label}\n{field}.min 0\n{field}.value {value}\n"
        ));
    }
}

/// The run's numbers as a node's dirty config reply.
pub fn reply(s: &Summary) -> HostReply {
    let mean_ms = if s.rrd_calls == 0 {
        0.0
    } else {
        s.rrd_total.as_secs_f64() * 1000.0 / s.rrd_calls as f64
    };
    let mut text = String::new();
    graph(
        &mut text,
        PLUGIN,
        "munin-master update run time",
        "seconds",
        &[("wall", "run time", s.wall.as_secs_f64())],
    );
    graph(
        &mut text,
        &format!("{PLUGIN}.nodes"),
        "munin-master nodes polled",
        "nodes",
        &[
            ("ok", "answered", s.hosts_ok as f64),
            ("failed", "failed", s.hosts_failed as f64),
            ("timed_out", "timed out", s.hosts_timed_out as f64),
        ],
    );
    graph(
        &mut text,
        &format!("{PLUGIN}.values"),
        "munin-master values",
        "values",
        &[
            ("stored", "stored", s.values_stored as f64),
            ("not_stored", "not stored", s.values_failed as f64),
            ("created", "files created", s.files_created as f64),
            ("cached", "through rrdcached", s.values_cached as f64),
            (
                "carbon_dropped",
                "not sent to carbon",
                s.carbon_dropped as f64,
            ),
            (
                "writes_saved",
                "config writes saved",
                s.configs_unchanged as f64,
            ),
        ],
    );
    graph(
        &mut text,
        &format!("{PLUGIN}.rrd"),
        "munin-master librrd call time",
        "milliseconds",
        &[
            ("mean", "mean", mean_ms),
            ("max", "max", s.rrd_max.as_secs_f64() * 1000.0),
        ],
    );
    text.push_str(&format!(
        "multigraph {PLUGIN}.memory\ngraph_title munin-master memory\ngraph_vlabel bytes\ngraph_category munin\ngraph_args --base 1024 -l 0\npeak.label peak resident set size\npeak.min 0\npeak.value {}\n",
        s.peak_rss
    ));
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    HostReply {
        plugins: vec![(PLUGIN.to_string(), reply::parse(PLUGIN, &lines))],
        ..HostReply::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::poll::plan;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn a_run_becomes_five_graphs_of_files() {
        let s = Summary {
            hosts_ok: 3,
            hosts_failed: 1,
            values_stored: 30,
            wall: Duration::from_millis(1500),
            peak_rss: 50 << 20,
            ..Summary::default()
        };
        let conf = MasterConf::default();
        let mut h = host(&conf);
        h.name = "m".into();
        let p = plan::plan(Path::new("/db"), &h, reply(&s));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let find = |file: &str| {
            p.fields
                .iter()
                .find(|f| f.path == Path::new(file))
                .and_then(|f| f.value.clone())
                .map(|(_, v)| v)
        };
        assert_eq!(
            find("/db/munin-master/m-munin_master-wall-g.rrd").as_deref(),
            Some("1.5")
        );
        assert_eq!(
            find("/db/munin-master/m-munin_master-nodes-ok-g.rrd").as_deref(),
            Some("3")
        );
        assert_eq!(
            find("/db/munin-master/m-munin_master-nodes-failed-g.rrd").as_deref(),
            Some("1")
        );
        assert_eq!(
            find("/db/munin-master/m-munin_master-values-stored-g.rrd").as_deref(),
            Some("30")
        );
        assert_eq!(
            find("/db/munin-master/m-munin_master-memory-peak-g.rrd").as_deref(),
            Some("52428800")
        );
        assert_eq!(p.fields.len(), 1 + 3 + 6 + 2 + 1);
        assert_eq!(p.config.plugins.len(), 1);
        assert_eq!(p.config.plugins[PLUGIN].services.len(), 5);
    }
}
