//! stats-gatherer under faults: providers that are slow, dead, broken or
//! oversized; a provider that goes away; a full disk; an unwritable
//! statsfile; a restart; an unreadable old snapshot. None stops the
//! gatherer, none loses what was stored.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::gatherer::{Answer, FakeProvider, Gatherer, tahoe_reply};
use crate::support::{is_root, require};

fn provider_status(g: &Gatherer, id: &str) -> Value {
    g.get("/api/v1/providers")["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"].as_str().unwrap().contains(id))
        .cloned()
        .unwrap_or_else(|| panic!("no provider {id}"))
}

#[test]
fn one_bad_provider_never_delays_or_spoils_the_others() {
    let good = FakeProvider::start(Answer::Json(tahoe_reply(5, 1000)));
    let slow = FakeProvider::start(Answer::Slow(Duration::from_secs(30)));
    let error = FakeProvider::start(Answer::Status(500));
    let html = FakeProvider::start(Answer::Raw(b"<html>hello</html>".to_vec()));
    let shape = FakeProvider::start(Answer::Json("[1, 2, 3]".into()));
    let big = FakeProvider::start(Answer::Raw(vec![b' '; 2 << 20]));
    let (_dead, dead) = crate::support::real_node::refusing_port();
    let spec = |p: &FakeProvider, id: &str| format!("{},nodeid={id},nickname={id}", p.url());
    let dead_spec = format!("http://127.0.0.1:{dead}/,nodeid=dead");
    let specs = [
        spec(&good, "good"),
        spec(&slow, "slow"),
        spec(&error, "error"),
        spec(&html, "html"),
        spec(&shape, "shape"),
        spec(&big, "big"),
        dead_spec,
    ];
    let mut args = vec!["--interval", "1", "--timeout", "4"];
    for s in &specs {
        args.extend(["--provider", s.as_str()]);
    }
    let mut g = Gatherer::start(&args);
    let started = Instant::now();
    g.wait("the good node", Duration::from_secs(10), |g| {
        g.get("/api/v1/nodes")["nodes"].as_array().unwrap().len() == 1
    });
    // The good node is in before the slow one's 4 s deadline: the slow one
    // holds only its own poll.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    g.wait("a whole round", Duration::from_secs(10), |g| {
        g.stat("providers_failed_last_round") == 6.0
    });
    assert_eq!(g.stat("providers_ok_last_round"), 1.0);
    let round = g.stat("poll_round_seconds");
    assert!(
        (3.9..7.0).contains(&round),
        "a round lasts about the timeout, not longer: {round}"
    );
    let error_of = |id: &str| {
        provider_status(&g, id)["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for (id, want) in [
        (slow.addr.to_string(), "no complete reply within 4 s"),
        (error.addr.to_string(), "HTTP 500 Internal Server Error"),
        (html.addr.to_string(), "reply is not JSON"),
        (
            shape.addr.to_string(),
            "expected a JSON object, got an array",
        ),
        (big.addr.to_string(), "reply over 1048576 bytes"),
        (format!("127.0.0.1:{dead}"), "Connection refused"),
    ] {
        assert!(
            error_of(&id).contains(want),
            "{id}: {:?} lacks {want:?}",
            error_of(&id)
        );
    }
    assert!(g.stat("poll_timeouts") >= 1.0);
    // Failures are logged once per provider, not every round.
    g.wait("two rounds", Duration::from_secs(15), |g| {
        g.stat("polls") >= 14.0
    });
    let log = g.log();
    assert_eq!(log.matches("HTTP 500").count(), 1, "{log}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(g.dir.path().join("stats.json")).unwrap()).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["good"]
    );
    assert!(g.alive());
}

#[test]
fn a_provider_that_stops_keeps_its_last_entry() {
    let p = FakeProvider::start(Answer::Json(tahoe_reply(9, 4096)));
    let spec = format!("{},nodeid=goner,nickname=goner", p.url());
    let g = Gatherer::start(&["--interval", "1", "--timeout", "1", "--provider", &spec]);
    g.wait("first poll", Duration::from_secs(5), |g| {
        g.stat("snapshot_writes") >= 1.0 && g.stat("nodes") == 1.0
    });
    let first = g.get("/api/v1/nodes")["nodes"][0]["timestamp"]
        .as_f64()
        .unwrap();
    drop(p);
    g.wait("failed polls", Duration::from_secs(6), |g| {
        provider_status(g, "127.0.0.1")["failures_in_row"].as_u64() >= Some(2)
    });
    let json: Value =
        serde_json::from_slice(&std::fs::read(g.dir.path().join("stats.json")).unwrap()).unwrap();
    let entry = &json["goner"];
    assert!(
        entry["timestamp"].as_f64().unwrap() <= first + 1.5,
        "the old timestamp stays"
    );
    assert_eq!(entry["stats"]["stats"]["storage_server.disk_used"], 4096);
    assert!(
        provider_status(&g, "127.0.0.1")["last_ok"]
            .as_f64()
            .is_some()
    );
}

#[test]
fn unwritable_statsfile_is_logged_and_retried() {
    // A file where the directory should be: not even root writes there,
    // and the gatherer cannot create the directory either.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let blocked = blocker.join("stats.pickle");
    let g = Gatherer::start_in(dir, &blocked, &["--interval", "0.5"]);
    g.wait("failed writes", Duration::from_secs(5), |g| {
        g.stat("snapshot_failures") >= 2.0
    });
    let log = g.log();
    assert!(
        log.contains("snapshot not written (the previous file is kept; retrying next interval)"),
        "{log}"
    );
    assert!(
        log.contains("not-a-dir/stats.pickle: cannot create temporary file"),
        "{log}"
    );
    let warning = format!("cannot create {}: ", blocker.display());
    assert!(
        g.log().contains(&warning),
        "the start-up warning: {}",
        g.log()
    );
    // The directory appears: the next interval writes.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir(&blocker).unwrap();
    g.wait("a write", Duration::from_secs(5), |g| {
        g.stat("snapshot_writes") >= 1.0
    });
    assert!(blocked.exists());
}

/// A tmpfs of 256 KiB: filled up, the snapshot write fails and the previous
/// file stays whole; freed, the next interval writes again.
#[test]
fn full_disk_keeps_the_previous_snapshot() {
    if !require("root (to mount a small tmpfs)", is_root()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    let _tmpfs = crate::support::SmallTmpfs::mount(&mnt, "256k");
    let statsfile = mnt.join("stats.pickle");
    let g = Gatherer::start_in(
        tempfile::tempdir().unwrap(),
        &statsfile,
        &["--interval", "0.3"],
    );
    let push = |id: &str| {
        let doc = serde_json::json!({"nodeid": id, "nickname": id, "stats": {"storage_server.disk_used": 1}});
        assert_eq!(
            g.post("/api/v1/push", &[], doc.to_string().as_bytes()).0,
            202
        );
    };
    push("before");
    g.wait("first snapshot", Duration::from_secs(5), |_| {
        std::fs::read(&statsfile).is_ok_and(|b| b.windows(6).any(|w| w == b"before"))
    });
    let before = std::fs::read(&statsfile).unwrap();
    // Fill the file system.
    let filler = mnt.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k"])
        .arg(format!("of={}", filler.display()))
        .output();
    push("during");
    let failures = g.stat("snapshot_failures");
    g.wait("failed writes", Duration::from_secs(5), |g| {
        g.stat("snapshot_failures") >= failures + 2.0
    });
    assert_eq!(
        std::fs::read(&statsfile).unwrap(),
        before,
        "the previous snapshot is intact"
    );
    assert!(g.log().contains("No space left on device"), "{}", g.log());
    std::fs::remove_file(&filler).unwrap();
    g.wait("written again", Duration::from_secs(5), |_| {
        std::fs::read(&statsfile).is_ok_and(|b| b.windows(6).any(|w| w == b"during"))
    });
    let leftovers: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
}

#[test]
fn a_restart_keeps_every_node() {
    let g = Gatherer::start(&["--interval", "3600"]);
    let doc = serde_json::json!({"nodeid": "keepme", "nickname": "k", "counters": {"c": 18446744073709551615u64}, "stats": {"s": 0.5, "n": null}});
    assert_eq!(
        g.post("/api/v1/push", &[], doc.to_string().as_bytes()).0,
        202
    );
    g.wait("applied", Duration::from_secs(5), |g| {
        g.stat("nodes") == 1.0
    });
    // SIGTERM writes a last snapshot although no interval has passed.
    let dir = g.stop();
    let statsfile = dir.path().join("stats.pickle");
    let g2 = Gatherer::start_in(dir, &statsfile, &["--interval", "3600"]);
    let nodes = g2.get("/api/v1/nodes");
    assert_eq!(nodes["nodes"][0]["nodeid"], "keepme");
    assert_eq!(nodes["nodes"][0]["source"], "file");
    let dir = g2.stop();
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("stats.json")).unwrap()).unwrap();
    assert_eq!(
        json["keepme"]["stats"]["counters"]["c"], 18446744073709551615u64,
        "exact after two round trips"
    );
    assert_eq!(json["keepme"]["stats"]["stats"]["n"], Value::Null);
}

#[test]
fn an_unreadable_old_snapshot_is_moved_aside_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let statsfile = dir.path().join("stats.pickle");
    std::fs::write(&statsfile, b"\x80\x02}q\x00(X\x05\x00\x00\x00trunc").unwrap();
    let g = Gatherer::start_in(dir, &statsfile, &["--interval", "0.5"]);
    g.wait("a fresh snapshot", Duration::from_secs(5), |g| {
        g.stat("snapshot_writes") >= 1.0
    });
    let aside: Vec<_> = std::fs::read_dir(g.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("stats.pickle.unreadable-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read(aside[0].path()).unwrap(),
        b"\x80\x02}q\x00(X\x05\x00\x00\x00trunc"
    );
    assert!(g.log().contains("moved aside"), "{}", g.log());
}

#[test]
fn bad_command_lines_and_configs_are_named() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_stats-gatherer"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("gatherer.conf");
    std::fs::write(&conf, "interval 60\nprovider ftp://x/\n").unwrap();
    let (code, err) = run(&["--config", conf.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("gatherer.conf:2: ftp://x/: only http:// URLs are polled"),
        "{err}"
    );
    let (code, err) = run(&["--interval", "soon"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("interval \"soon\""), "{err}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = run(&[
        "--listen",
        &addr,
        "--statsfile",
        dir.path().join("s.pickle").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}
