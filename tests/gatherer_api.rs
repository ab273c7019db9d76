//! stats-gatherer's API: pushes (JSON and agent lines), raw samples,
//! aggregates, expiry, the push token, body limits, the bounded queue and
//! the snapshot written from pushes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::gatherer::Gatherer;

fn now() -> f64 {
    munin_rs::clock::now_f64()
}

fn lines(g: &Gatherer, query: &str, body: &str) -> (u16, Value) {
    g.post(&format!("/api/v1/push/lines?{query}"), &[], body.as_bytes())
}

#[test]
fn pushed_lines_give_raw_samples_and_aggregates() {
    let g = Gatherer::start(&["--interval", "3600"]);
    let t0 = now().floor() - 200.0;
    // 1..=100 one second apart, pushed in shuffled order.
    let mut body = String::new();
    for i in (1..=100).rev() {
        body.push_str(&format!("latency.gauge\t{i}\t{}\n", t0 + f64::from(i)));
    }
    body.push_str(&format!(
        "requests.counter\t100\t{t0}\nrequests.counter\t400\t{}\n",
        t0 + 100.0
    ));
    let (status, reply) = lines(&g, "node=agent1&nickname=web%201", &body);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["accepted"], 102);
    g.wait("samples applied", Duration::from_secs(5), |g| {
        g.stat("samples_held") == 102.0
    });

    let agg = g.get(&format!("/api/v1/aggregate?since={}&node=agent1", t0 - 1.0));
    let series = agg["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    let lat = series.iter().find(|s| s["metric"] == "latency").unwrap();
    assert_eq!(lat["type"], "gauge");
    for (k, v) in [
        ("count", 100.0),
        ("min", 1.0),
        ("max", 100.0),
        ("mean", 50.5),
        ("p50", 50.0),
        ("p95", 95.0),
        ("last", 100.0),
    ] {
        assert_eq!(lat[k].as_f64(), Some(v), "{k} in {lat}");
    }
    let req = series.iter().find(|s| s["metric"] == "requests").unwrap();
    assert_eq!(
        (req["type"].as_str(), req["rate"].as_f64()),
        (Some("counter"), Some(3.0))
    );

    // Raw samples since a time, one metric, in time order.
    let raw = g.get(&format!(
        "/api/v1/samples?since={}&metric=latency",
        t0 + 98.0
    ));
    let pts = raw["series"][0]["points"].as_array().unwrap();
    assert_eq!(
        pts,
        &vec![
            json!([t0 + 98.0, 98.0]),
            json!([t0 + 99.0, 99.0]),
            json!([t0 + 100.0, 100.0])
        ]
    );
    let limited = g.get(&format!("/api/v1/samples?since={}&limit=5", t0 - 1.0));
    assert_eq!(
        (limited["points"].as_u64(), limited["truncated"].as_bool()),
        (Some(5), Some(true))
    );
    // A period with nothing in it.
    let empty = g.get(&format!(
        "/api/v1/aggregate?since={}&until={}",
        t0 - 100.0,
        t0 - 50.0
    ));
    assert_eq!(empty["series"], json!([]));

    // The snapshot: gauges under stats, counters under counters.
    let nodes = g.get("/api/v1/nodes");
    assert_eq!(nodes["nodes"][0]["nickname"], "web 1");
    assert_eq!(nodes["nodes"][0]["source"], "push");
    // A late push of an older value is kept as a sample, not as the value.
    let late = format!("latency.gauge\t5\t{}\n", t0 + 50.0);
    assert_eq!(lines(&g, "node=agent1", &late).0, 202);
    g.wait("late sample applied", Duration::from_secs(5), |g| {
        g.stat("samples_held") == 103.0
    });
    // The snapshot holds each metric's newest value, not the last line's.
    let dir = g.stop();
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("stats.json")).unwrap()).unwrap();
    let entry = &json["agent1"]["stats"];
    assert_eq!(entry["stats"]["latency"], 100, "{entry}");
    assert_eq!(entry["counters"]["requests"], 400, "{entry}");
}

#[test]
fn json_push_lands_in_the_snapshot_like_a_poll() {
    let g = Gatherer::start(&["--interval", "1"]);
    let doc = json!({"nodeid": "pushed00", "nickname": "pusher",
        "counters": {"storage_server.allocate": 7}, "stats": {"storage_server.allocated": 1024, "x.y": null}});
    let (status, reply) = g.post("/api/v1/push", &[], doc.to_string().as_bytes());
    assert_eq!(status, 202, "{reply}");
    assert_eq!(
        reply["accepted"], 2,
        "null is kept in the snapshot but is not a sample"
    );
    // The pickle and stats.json are two files written one after the
    // other: wait for both to hold the node (CI once read stats.json
    // between the two writes).
    let has_node = |p: &std::path::Path| {
        std::fs::read(p).is_ok_and(|b| b.windows(8).any(|w| w == b"pushed00"))
    };
    let json_path = g.dir.path().join("stats.json");
    g.wait(
        "snapshot and stats.json with the pushed node",
        Duration::from_secs(5),
        |g| has_node(&g.statsfile) && has_node(&json_path),
    );
    let json: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(
        json["pushed00"]["stats"]["counters"]["storage_server.allocate"],
        7
    );
    assert_eq!(json["pushed00"]["stats"]["stats"]["x.y"], Value::Null);
    // tahoe-stats reads it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tahoe-stats"))
        .args(["tahoe_storage_allocated"])
        .env("statsfile", &g.statsfile)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pusher_push.value 1024\n"
    );
}

#[test]
fn bad_pushes_are_refused_with_the_reason() {
    let g = Gatherer::start(&[
        "--interval",
        "3600",
        "--max-body",
        "1000",
        "--queue-size",
        "10",
    ]);
    let future = format!("a\t1\t{}\n", now() + 3600.0);
    let future_json = format!(
        r#"{{"nodeid": "n", "timestamp": {}, "stats": {{}}}}"#,
        now() + 3600.0
    );
    let eleven: String = (0..11).map(|i| format!("m{i}\t1\n")).collect();
    let cases: &[(&str, &[u8], u16, &str)] = &[
        (
            "/api/v1/push/lines?node=n",
            future.as_bytes(),
            400,
            "s ahead of the gatherer's clock (at most 300 s)",
        ),
        (
            "/api/v1/push",
            future_json.as_bytes(),
            400,
            "s ahead of the gatherer's clock",
        ),
        (
            "/api/v1/push/lines?node=n",
            eleven.as_bytes(),
            413,
            "11 samples in one push, more than the whole ingest queue holds (10)",
        ),
        ("/api/v1/push", b"{not json", 400, "body is not JSON"),
        (
            "/api/v1/push",
            br#"{"stats": {}}"#,
            400,
            "\"nodeid\" (a string) is missing",
        ),
        (
            "/api/v1/push",
            br#"{"nodeid": "../../etc", "stats": {}}"#,
            400,
            "node id \"../../etc\" holds '/'",
        ),
        (
            "/api/v1/push",
            br#"{"nodeid": "n", "nickname": "a\nb", "stats": {}}"#,
            400,
            "nickname holds the control character",
        ),
        (
            "/api/v1/push",
            br#"{"nodeid": "n", "stats": [1, 2]}"#,
            400,
            "\"stats\" is an array, expected an object",
        ),
        (
            "/api/v1/push",
            br#"{"nodeid": "n"}"#,
            400,
            "no \"counters\" or \"stats\" object",
        ),
        (
            "/api/v1/push",
            br#"{"nodeid": "n", "timestamp": "now", "stats": {}}"#,
            400,
            "\"timestamp\" \"now\" is not seconds",
        ),
        (
            "/api/v1/push/lines?node=n",
            b"a\t1\t1\nb\tlots\t1\n",
            400,
            "line 2: value \"lots\" is not a number",
        ),
        (
            "/api/v1/push/lines?node=n",
            b"a 1 1\n",
            400,
            "line 1: expected key<TAB>value<TAB>timestamp",
        ),
        (
            "/api/v1/push/lines",
            b"a\t1\t1\n",
            400,
            "the node=ID parameter is missing",
        ),
        (
            "/api/v1/push/lines?node=n",
            b"\xff\xfe\t1\n",
            400,
            "body is not UTF-8",
        ),
        (
            "/api/v1/push/lines?node=n",
            &[b'#'; 2000],
            413,
            "body over 1000 bytes",
        ),
    ];
    for (path, body, status, message) in cases {
        let (got, reply) = g.post(path, &[], body);
        let err = reply["error"].as_str().unwrap_or_default();
        assert_eq!(
            got,
            *status,
            "{path} {}: {reply}",
            String::from_utf8_lossy(body)
        );
        assert!(err.contains(message), "{path}: {err:?} lacks {message:?}");
    }
    assert_eq!(g.stat("pushes_rejected"), cases.len() as f64);
    assert_eq!(
        g.stat("samples_held"),
        0.0,
        "nothing from a refused push is stored"
    );
    // A value of the wrong kind is dropped by name; the rest is kept.
    let (status, reply) = g.post(
        "/api/v1/push",
        &[],
        br#"{"nodeid": "n", "stats": {"a": 1, "b": "two"}}"#,
    );
    assert_eq!((status, reply["accepted"].as_u64()), (202, Some(1)));
    assert_eq!(reply["dropped"][0], "stats.b: a string is not a number");
}

#[test]
fn push_token_is_required_when_set() {
    let g = Gatherer::start(&["--interval", "3600", "--token", "s3cret"]);
    let body = b"a\t1\n";
    let (status, reply) = g.post("/api/v1/push/lines?node=n", &[], body);
    assert_eq!(status, 401, "{reply}");
    assert!(reply["error"].as_str().unwrap().contains("wrong token"));
    let (status, _) = g.post(
        "/api/v1/push/lines?node=n",
        &[("Authorization", "Bearer s3creT")],
        body,
    );
    assert_eq!(status, 401);
    let (status, _) = g.post(
        "/api/v1/push/lines?node=n",
        &[("Authorization", "Bearer s3cret")],
        body,
    );
    assert_eq!(status, 202);
    // Reading needs no token (the API binds to loopback by default).
    assert_eq!(g.stat("pushes"), 1.0);
}

#[test]
fn samples_and_silent_nodes_expire() {
    let g = Gatherer::start(&["--interval", "1", "--retention", "2", "--node-expiry", "3"]);
    let t = now();
    let body = format!("a\t1\t{t}\nb\t2\t{t}\nold\t3\t{}\n", t - 60.0);
    assert_eq!(lines(&g, "node=short", &body).0, 202);
    g.wait("samples in", Duration::from_secs(5), |g| {
        g.stat("samples_received") == 3.0
    });
    g.wait("the old sample expired", Duration::from_secs(3), |g| {
        g.stat("samples_expired") >= 1.0
    });
    g.wait("everything expired", Duration::from_secs(5), |g| {
        g.stat("samples_held") == 0.0 && g.stat("samples_expired") == 3.0
    });
    assert_eq!(g.stat("series"), 0.0);
    // The node's snapshot entry outlives its samples, then goes too.
    g.wait("node expiry", Duration::from_secs(6), |g| {
        g.get("/api/v1/nodes")["nodes"] == json!([])
    });
    g.wait("snapshot without it", Duration::from_secs(3), |g| {
        std::fs::read(g.dir.path().join("stats.json")).is_ok_and(|b| b == b"{}\n")
    });
}

#[test]
fn full_queue_refuses_and_counts_drops() {
    // A queue of 2000 samples under 16 agents pushing 2000 samples at a
    // time: a push finds the queue full whenever another is still queued.
    // Every push is accepted or refused with 503, and the counts add up.
    let g = std::sync::Arc::new(Gatherer::start(&[
        "--interval",
        "3600",
        "--queue-size",
        "2000",
    ]));
    let body: String = (0..2000).map(|i| format!("m{i}\t{i}\n")).collect();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (g, body) = (g.clone(), body.clone());
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| lines(&g, "node=burst", &body).0)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let codes: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let accepted = codes.iter().filter(|c| **c == 202).count() as f64;
    let refused = codes.iter().filter(|c| **c == 503).count() as f64;
    assert_eq!(accepted + refused, 160.0, "{codes:?}");
    assert!(refused > 0.0 && accepted > 0.0, "{codes:?}");
    g.wait("queue drained", Duration::from_secs(10), |g| {
        g.stat("samples_received") == accepted * 2000.0
    });
    assert_eq!(g.stat("queue_drops"), refused);
    assert_eq!(g.stat("queue_dropped_samples"), refused * 2000.0);
    assert_eq!(g.stat("queue_capacity"), 2000.0);
    assert_eq!(g.stat("queue_length"), 0.0);
    eprintln!("queue of 2000 samples under 16 pushers: {accepted} accepted, {refused} refused");
}

/// While the snapshot is rewritten many times a second, a reader always
/// finds a whole file that decodes, with every node in it.
#[test]
fn readers_never_see_a_partial_snapshot() {
    let g = Gatherer::start(&["--interval", "0.02"]);
    for batch in 0..20 {
        for i in 0..100 {
            let doc = json!({"nodeid": format!("node{batch:02}{i:03}"), "nickname": "n",
                "counters": {"storage_server.allocate": i}, "stats": {"storage_server.disk_used": i * 1000}});
            assert_eq!(
                g.post("/api/v1/push", &[], doc.to_string().as_bytes()).0,
                202
            );
        }
    }
    g.wait("2000 nodes in the snapshot", Duration::from_secs(10), |g| {
        g.stat("nodes") == 2000.0
    });
    // A write that started after the last node arrived.
    let writes_before = g.stat("snapshot_writes");
    g.wait("a later write", Duration::from_secs(5), |g| {
        g.stat("snapshot_writes") >= writes_before + 2.0
    });
    // Read until 10 rewrites went by (however slow the machine), or 60 s.
    let end = std::time::Instant::now() + Duration::from_secs(60);
    let mut reads = 0;
    let mut writes = 0.0;
    while writes < 10.0 && std::time::Instant::now() < end {
        for _ in 0..10 {
            let bytes = std::fs::read(&g.statsfile).expect("the snapshot always exists");
            let snap = munin_rs::tahoe::snapshot::Snapshot::decode(bytes).expect("a whole pickle");
            assert_eq!(snap.nodes().len(), 2000);
            reads += 1;
        }
        writes = g.stat("snapshot_writes") - writes_before;
    }
    assert!(writes >= 10.0, "only {writes} rewrites during the reads");
    eprintln!("{reads} whole reads during {writes} rewrites");
    let leftovers: Vec<_> = std::fs::read_dir(g.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.len() <= 4, "{leftovers:?}");
}
