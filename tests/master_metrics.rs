//! Issue 19: `/metrics` of `munin-master serve`, from a site polled from
//! our node (built-in `cpu`, `load`, `memory` and a multigraph plugin whose
//! graph and field names are odd, quoted, clash, or start with a digit)
//! with a second host on the same node and a third that is down.
//! `promtool check metrics` passes the text format, a real Prometheus
//! (Debian's) scrapes `serve` and answers queries with exactly the values
//! and times `update` stored in `values.json`, and the OpenMetrics variant
//! ends with `# EOF` and names counters `_total` (Prometheus 2.42 asks for
//! OpenMetrics first, so its scrape reads that variant).
//!
//! `issue19_bench_exposition` (ignored) is the timing half of
//! `scripts/bench-metrics.sh`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use munin_rs::master::explore::metrics;

use crate::support::http::{Reply, get, get_with};
use crate::support::{self, OurNode};

/// Odd names: a COUNTER with quotes and a backslash in its help, a `U`,
/// a child graph with `.` and `-` and a field starting with a digit, a
/// graph starting with a digit, and `odd_x`+`y_z` (a gauge) against
/// `odd_x_y`+`z` (a DERIVE): both `odd_x_y_z`.
const ODD: &str = r#"#!/bin/sh
if [ "$1" = config ]; then
cat <<'EOF'
multigraph odd
graph_title Odd "quoted" \ title
hits.label hits "all"
hits.info back\slash
hits.type COUNTER
gone.label gone
multigraph odd.child-1
graph_title Child
9lives.label nine
multigraph 2nd-disk
graph_title Second disk
temp.label temp
multigraph odd_x
graph_title X
y_z.label gauge side
multigraph odd_x_y
graph_title XY
z.label derive side
z.type DERIVE
EOF
exit 0
fi
cat <<'EOF'
multigraph odd
hits.value 1234567
gone.value U
multigraph odd.child-1
9lives.value -2.5
multigraph 2nd-disk
temp.value 41
multigraph odd_x
y_z.value 7
multigraph odd_x_y
z.value 42
EOF
"#;

fn plugins(dir: &Path) -> PathBuf {
    let p = dir.join("plugins");
    std::fs::create_dir_all(&p).unwrap();
    for name in ["load", "cpu", "memory"] {
        std::os::unix::fs::symlink(support::bin("munin-plugins"), p.join(name)).unwrap();
    }
    std::fs::write(p.join("odd"), ODD).unwrap();
    for entry in [&p, &dir.to_path_buf(), &p.join("odd")] {
        std::fs::set_permissions(entry, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    p
}

/// A child stopped when the test ends, passed or not.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        support::terminate(&mut self.0);
    }
}

fn wait_listening(port: u16, what: &str) {
    let end = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "{what} did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `%`-encoding for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Prometheus' instant query `q`: each series' labels and value.
fn query(port: u16, q: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let Reply { status, body, .. } = get(port, &format!("/api/v1/query?query={}", encode(q)));
    assert_eq!(status, 200, "{q}");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "success", "{v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let labels = r["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let value = r["value"][1].as_str().unwrap().parse::<f64>().unwrap();
            (labels, value)
        })
        .collect()
}

/// values.json: `(group;host, service.field)` → (time, value) for the
/// values of munin.conf's hosts that are numbers.
fn stored(dbdir: &Path) -> BTreeMap<(String, String), (u64, f64)> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dbdir.join("munin-rs-state/values.json")).unwrap())
            .unwrap();
    let mut out = BTreeMap::new();
    for (host, status) in v["hosts"].as_object().unwrap() {
        // munin.conf's hosts, not the master's own numbers (selfstats).
        if status["ok"] != true || !host.starts_with("lab;") {
            continue;
        }
        for (key, tv) in status["values"].as_object().unwrap() {
            let Ok(value) = tv[1].as_str().unwrap().parse::<f64>() else {
                continue;
            };
            out.insert(
                (host.clone(), key.clone()),
                (tv[0].as_u64().unwrap(), value),
            );
        }
    }
    out
}

/// A sample series of ours: (group;host, graph.field).
fn series_key(labels: &BTreeMap<String, String>) -> (String, String) {
    (
        format!("{};{}", labels["group"], labels["hostname"]),
        format!("{}.{}", labels["graphname"], labels["muninlabel"]),
    )
}

/// Samples of the text format with a `muninlabel`: name, labels, value,
/// time (ms), parsed the simple way our own output allows.
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64, u64)> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        let (labels, tail) = rest.rsplit_once("} ").unwrap();
        if !labels.contains("muninlabel=") {
            continue;
        }
        let mut map = BTreeMap::new();
        let mut chars = labels.chars().peekable();
        while chars.peek().is_some() {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert_eq!(chars.next(), Some('"'));
            let mut value = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some(c) => value.push(c),
                        None => {}
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            if chars.peek() == Some(&',') {
                chars.next();
            }
            map.insert(key, value);
        }
        let (value, time) = tail.split_once(' ').unwrap();
        out.push((
            name.to_string(),
            map,
            value.parse().unwrap(),
            time.parse().unwrap(),
        ));
    }
    out
}

fn field_types(dbdir: &Path, rel: &str) -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dbdir.join("munin-rs-state/config").join(rel)).unwrap(),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for plugin in v["plugins"].as_object().unwrap().values() {
        for s in plugin["services"].as_array().unwrap() {
            for f in s["fields"].as_array().unwrap() {
                let ty = f[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|kv| kv[0] == "type")
                    .map(|kv| kv[1].as_str().unwrap().to_string())
                    .unwrap_or_else(|| "GAUGE".into());
                out.insert(
                    format!("{}.{}", s["name"].as_str().unwrap(), f[0].as_str().unwrap()),
                    ty,
                );
            }
        }
    }
    out
}

#[test]
fn issue19_metrics_pass_promtool_and_prometheus_reads_back_the_stored_values() {
    let have_promtool = support::require(
        "promtool (apt-get install prometheus)",
        Path::new("/usr/bin/promtool").exists(),
    );
    let have_prometheus = support::require(
        "prometheus (apt-get install prometheus)",
        Path::new("/usr/bin/prometheus").exists(),
    );
    let dir = tempfile::tempdir().unwrap();
    let servicedir = plugins(dir.path());
    let node = OurNode::start("", &servicedir, &dir.path().join("conf.d"));
    let (_down, down) = crate::support::real_node::refusing_port();
    let conf = dir.path().join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nrundir {0}/run\nlogdir {0}/log\n\
             [lab;web.example]\n address 127.0.0.1\n port {1}\n use_node_name yes\n\
             [lab;sub;db.example]\n address 127.0.0.1\n port {1}\n use_node_name yes\n\
             [lab;down.example]\n address 127.0.0.1\n port {2}\n",
            dir.path().display(),
            node.addr.port(),
            down
        ),
    )
    .unwrap();
    let up = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--timeout", "10", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    // The down host makes the run fail; the others are stored.
    let dbdir = dir.path().join("db");
    let values = stored(&dbdir);
    assert!(
        values.len() > 20,
        "{values:?}\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let port = support::real_node::free_port();
    let serve = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["serve", "--port", &port.to_string(), "--config"])
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _serve = Stopped(serve);
    wait_listening(port, "serve");

    // The text format, asked for plainly.
    let Reply {
        status,
        headers,
        body,
    } = get(port, "/metrics");
    assert_eq!(status, 200);
    assert!(
        headers["content-type"].starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    let text = String::from_utf8(body).unwrap();
    // Every stored number is there once, with its time, under its name.
    let types = field_types(&dbdir, "lab/web.example.json");
    let ours = samples(&text);
    let missing: Vec<_> = values
        .keys()
        .filter(|k| !ours.iter().any(|(_, l, _, _)| series_key(l) == **k))
        .collect();
    assert!(missing.is_empty(), "stored, not in /metrics: {missing:?}");
    assert_eq!(ours.len(), values.len(), "{text}");
    for (name, labels, value, ms) in &ours {
        let key = series_key(labels);
        let (t, v) = values[&key];
        assert_eq!((*value, *ms), (v, t * 1000), "{key:?}");
        let (graph, field) = key.1.rsplit_once('.').unwrap();
        assert_eq!(name, &metrics::metric_name(graph, field), "{key:?}");
        let counter = matches!(types[&key.1].as_str(), "DERIVE" | "COUNTER");
        // The one clash: odd_x_y_z is a gauge and a DERIVE.
        let ty = match (name.as_str(), counter) {
            ("odd_x_y_z", _) => "untyped",
            (_, true) => "counter",
            (_, false) => "gauge",
        };
        assert!(text.contains(&format!("# TYPE {name} {ty}\n")), "{name}");
    }
    for line in [
        "munin_up{hostname=\"down.example\",group=\"lab\"} 0 ",
        "munin_up{hostname=\"web.example\",group=\"lab\"} 1 ",
        "munin_up{hostname=\"db.example\",group=\"lab;sub\"} 1 ",
        "# HELP odd_hits Odd \"quoted\" \\\\ title: hits \"all\", back\\\\slash\n",
        "# TYPE odd_hits counter\n",
        "# TYPE _2nd_disk_temp gauge\n",
        "# TYPE odd_x_y_z untyped\n",
        "# TYPE odd_child_1_9lives gauge\n",
        "# TYPE cpu_user counter\n",
        "# TYPE load_load gauge\n",
        "munin_metrics_skipped_samples 0\n",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("muninlabel=\"gone\""), "U is left out");
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, &text).unwrap();
    if have_promtool {
        let check = Command::new("/usr/bin/promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&check.stdout).into_owned()
            + &String::from_utf8_lossy(&check.stderr);
        // 0: clean; 3: lint problems only (1 would be a parse error).
        assert!(
            matches!(check.status.code(), Some(0 | 3)),
            "promtool check metrics: {:?} {said}",
            check.status
        );
        assert!(!said.contains("error"), "{said}");
        // Lint only, and only of the names munin_exporter's rule gives:
        // counters without `_total`, a node's camelCase field names.
        for l in said.lines() {
            assert!(
                l.contains("should have \"_total\" suffix") || l.contains("camelCase"),
                "{l}"
            );
        }
        eprintln!(
            "issue19: promtool check metrics passed, {} lint warnings:\n{said}",
            said.lines().count()
        );
    }

    // OpenMetrics, asked for as Prometheus asks.
    let accept = "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                  version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";
    let Reply {
        status,
        headers,
        body,
    } = get_with(port, "/metrics", accept);
    assert_eq!(status, 200);
    assert!(
        headers["content-type"].starts_with("application/openmetrics-text; version=1.0.0"),
        "{headers:?}"
    );
    let open = String::from_utf8(body).unwrap();
    assert!(open.ends_with("\n# EOF\n"), "{open}");
    assert!(open.contains("# TYPE cpu_user counter\n"), "{open}");
    assert!(
        open.contains("\ncpu_user_total{hostname=\"web.example\""),
        "{open}"
    );
    assert!(open.contains("# TYPE odd_x_y_z unknown\n"), "{open}");
    assert!(open.contains("\nodd_hits_total{"), "{open}");
    assert!(
        open.contains("\nload_load{hostname=\"web.example\""),
        "{open}"
    );
    assert!(
        open.contains("munin_up{hostname=\"down.example\",group=\"lab\"} 0 "),
        "{open}"
    );

    if !have_prometheus {
        return;
    }
    let prom = support::real_node::free_port();
    let tsdb = dir.path().join("tsdb");
    let yml = dir.path().join("prometheus.yml");
    std::fs::write(
        &yml,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: munin\n    \
             static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("prometheus.log");
    let child = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", yml.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _prometheus = Stopped(child);
    wait_listening(prom, "prometheus");
    // Prometheus listens before its TSDB is open and answers 503 until
    // then; /-/ready says when queries will be served.
    let ready_by = Instant::now() + Duration::from_secs(60);
    while get(prom, "/-/ready").status != 200 {
        assert!(
            Instant::now() < ready_by,
            "prometheus never became ready:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let all = "{job=\"munin\",muninlabel!=\"\"}";
    let end = Instant::now() + Duration::from_secs(60);
    let got = loop {
        let got = query(prom, all);
        if !got.is_empty() {
            break got;
        }
        assert!(
            Instant::now() < end,
            "prometheus read nothing:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // The scrape was whole: Prometheus says so, and nothing was rejected.
    let targets = get(prom, "/api/v1/targets").body;
    let targets: serde_json::Value = serde_json::from_slice(&targets).unwrap();
    let target = &targets["data"]["activeTargets"][0];
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");
    assert_eq!(got.len(), values.len(), "{got:?}");
    for (labels, value) in &got {
        let key = series_key(labels);
        assert_eq!(*value, values[&key].1, "{key:?}");
        let counter = matches!(types[&key.1].as_str(), "DERIVE" | "COUNTER")
            && labels["graphname"] != "odd_x_y";
        assert_eq!(
            labels["__name__"].ends_with("_total"),
            counter,
            "{labels:?}"
        );
    }
    // The time of each sample is the time it was stored.
    let times = query(prom, &format!("timestamp({all})"));
    assert_eq!(times.len(), values.len());
    for (labels, t) in &times {
        let key = series_key(labels);
        assert_eq!(*t, values[&key].0 as f64, "{key:?}");
    }
    let ups: BTreeMap<String, f64> = query(prom, "munin_up")
        .into_iter()
        .map(|(l, v)| (l["hostname"].clone(), v))
        .collect();
    assert_eq!(
        ups,
        BTreeMap::from([
            ("db.example".to_string(), 1.0),
            ("down.example".to_string(), 0.0),
            ("web.example".to_string(), 1.0),
        ])
    );
    // Nothing it read was rejected (its own counters, from its /metrics).
    let own = get(prom, "/metrics").body;
    let own = String::from_utf8(own).unwrap();
    for counter in [
        "prometheus_target_scrapes_sample_out_of_order_total",
        "prometheus_target_scrapes_sample_duplicate_timestamp_total",
        "prometheus_target_scrapes_sample_out_of_bounds_total",
        "prometheus_target_scrapes_exceeded_sample_limit_total",
    ] {
        let line = own
            .lines()
            .find(|l| l.starts_with(&format!("{counter} ")))
            .unwrap_or_else(|| panic!("{counter} not in prometheus' own metrics"));
        assert_eq!(line, format!("{counter} 0"));
    }
    eprintln!(
        "issue19: prometheus read {} series equal to values.json",
        got.len()
    );
    drop(node);
}

/// One synthetic host's graphs: (plugin, graph, fields, DERIVE) like a
/// Debian node's defaults, 20 plugins, 100 fields.
const SHAPE: &[(&str, &str, usize, bool)] = &[
    ("cpu", "cpu", 10, true),
    ("load", "load", 1, false),
    ("memory", "memory", 14, false),
    ("df", "df", 8, false),
    ("df_inode", "df_inode", 8, false),
    ("if_eth0", "if_eth0", 2, true),
    ("if_err_eth0", "if_err_eth0", 4, true),
    ("diskstats", "diskstats_iops.sda", 4, true),
    ("diskstats", "diskstats_throughput.sda", 2, true),
    ("diskstats", "diskstats_latency.sda", 4, false),
    ("diskstats", "diskstats_utilization.sda", 1, false),
    ("irqstats", "irqstats", 12, true),
    ("interrupts", "interrupts", 2, true),
    ("forks", "forks", 1, true),
    ("netstat", "netstat", 5, true),
    ("processes", "processes", 9, false),
    ("swap", "swap", 2, true),
    ("vmstat", "vmstat", 2, false),
    ("open_files", "open_files", 2, false),
    ("threads", "threads", 1, false),
    ("uptime", "uptime", 1, false),
    ("users", "users", 4, false),
    ("entropy", "entropy", 1, false),
];

/// A synthetic site of `n` hosts: munin.conf, configs and values.
fn synthetic(
    n: usize,
    now: u64,
) -> (
    munin_rs::master::conf::MasterConf,
    Vec<Option<munin_rs::master::state::HostConfig>>,
    munin_rs::master::state::Values,
) {
    use munin_rs::master::conf::{Host, MasterConf};
    use munin_rs::master::state::{
        HostConfig, HostStatus, PluginConfig, ServiceConfig, Values, host_key,
    };
    let mut conf = MasterConf::default();
    let mut configs = Vec::new();
    let mut values = Values::default();
    for i in 0..n {
        let mut host = Host::new(vec!["fleet".into()], &format!("node{i:05}.fleet"));
        host.address = "127.0.0.1".into();
        let mut config = HostConfig::default();
        let mut status = HostStatus {
            ok: true,
            polled: now,
            answered: Some(now),
            ..HostStatus::default()
        };
        for (plugin, graph, fields, derive) in SHAPE {
            let mut s = ServiceConfig {
                name: graph.to_string(),
                graph: vec![
                    ("graph_title".into(), format!("{graph} of the node")),
                    ("graph_category".into(), "system".into()),
                ],
                fields: Vec::new(),
                files: Vec::new(),
                own_limits: Some(false),
            };
            for f in 0..*fields {
                let field = format!("field{f:02}");
                let mut attrs = vec![("label".to_string(), format!("field {f}"))];
                if *derive {
                    attrs.push(("type".into(), "DERIVE".into()));
                    attrs.push(("min".into(), "0".into()));
                }
                let value = if *derive {
                    (1_000_000_000u64 * (f as u64 + 1) + (i * 7919) as u64).to_string()
                } else {
                    format!("{}.{}", (i + f) % 1000, f % 10)
                };
                status
                    .values
                    .insert(format!("{graph}.{field}"), (now, value));
                s.fields.push((field, attrs));
            }
            config
                .plugins
                .entry(plugin.to_string())
                .or_insert_with(|| PluginConfig {
                    hash: "0".into(),
                    services: Vec::new(),
                    data: None,
                })
                .services
                .push(s);
        }
        values.hosts.insert(host_key(&host), status);
        conf.hosts.push(host);
        configs.push(Some(config));
    }
    (conf, configs, values)
}

/// `HOSTS` (3000) synthetic hosts: the exposition's median time over
/// `RUNS` (5) in each format and its size; with `BENCH_METRICS_DIR`, the
/// state written there (munin.conf, configs, values.json) for `serve`, and
/// both bodies (`metrics.txt`, `metrics.om`).
#[test]
#[ignore = "benchmark: scripts/bench-metrics.sh"]
fn issue19_bench_exposition() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, runs) = (env("HOSTS", 3000), env("RUNS", 5));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (mut conf, configs, values) = synthetic(n, now);
    let fields: usize = values.hosts.values().map(|s| s.values.len()).sum();
    for open in [false, true] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let body = metrics::exposition(&conf, &configs, &values, open);
            times.push(t.elapsed());
            size = body.len();
            assert!(body.contains("node00000.fleet"));
        }
        times.sort();
        if let Ok(dir) = std::env::var("BENCH_METRICS_DIR") {
            let body = metrics::exposition(&conf, &configs, &values, open);
            let file = if open { "metrics.om" } else { "metrics.txt" };
            std::fs::write(Path::new(&dir).join(file), body).unwrap();
        }
        println!(
            "BENCH exposition format={} hosts={n} samples={fields} runs={runs} median_ms={:.1} min_ms={:.1} max_ms={:.1} bytes={size}",
            if open { "openmetrics" } else { "text" },
            times[runs / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[runs - 1].as_secs_f64() * 1e3,
        );
    }
    if let Ok(dir) = std::env::var("BENCH_METRICS_DIR") {
        use munin_rs::master::state;
        let dir = PathBuf::from(dir);
        conf.dbdir = dir.join("db");
        for (h, c) in conf.hosts.iter().zip(&configs) {
            state::save(&state::config_path(&conf.dbdir, h), c.as_ref().unwrap()).unwrap();
        }
        state::save(&state::values_path(&conf.dbdir), &values).unwrap();
        let mut text = format!(
            "dbdir {0}/db\nhtmldir {0}/www\nrundir {0}/run\nlogdir {0}/log\n",
            dir.display()
        );
        for h in &conf.hosts {
            text.push_str(&format!("[fleet;{}]\n address 127.0.0.1\n", h.name));
        }
        std::fs::write(dir.join("munin.conf"), text).unwrap();
    }
}
