//! munin.conf as real masters write it (issue 16), run through the real
//! binary against nodes on loopback: Debian's layout (`includedir`, then
//! global lines), an aggregate host with `update no`, Munin's timeouts and
//! `local_address`, and settings inherited down to the drawn graph.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::master_faults::fake_node;
use crate::support::fleet::master_ok;
use munin_rs::master::conf::{MasterConf, last};
use munin_rs::master::state;

/// A node that answers only when the master connects from 127.0.0.2
/// (the host's `local_address`); from anywhere else it lists nothing.
fn from_second_loopback(cmd: &str, w: &mut std::net::TcpStream) {
    let ours = w
        .peer_addr()
        .is_ok_and(|a| a.ip() == std::net::IpAddr::from([127, 0, 0, 2]));
    let reply: &[u8] = match cmd {
        "cap multigraph dirtyconfig" => b"cap multigraph dirtyconfig\n",
        c if c.starts_with("list") && ours => b"load\n",
        c if c.starts_with("list") => b"\n",
        "config load" => b"graph_title Load average\ngraph_vlabel load\nload.label load\n.\n",
        "fetch load" => b"load.value 0.5\n.\n",
        _ => b"# Unknown command\n",
    };
    let _ = w.write_all(reply);
}

/// PNG width from the IHDR chunk.
fn png_width(path: &std::path::Path) -> u32 {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[1..4], b"PNG", "{}", path.display());
    u32::from_be_bytes([b[16], b[17], b[18], b[19]])
}

#[test]
fn issue16_debian_layout_aggregate_host_timeouts_and_inheritance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = fake_node("# munin node at good\n", from_second_loopback);
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let inc = d.join("munin-conf.d");
    std::fs::create_dir(&inc).unwrap();
    std::fs::write(
        inc.join("10-good.conf"),
        format!(
            "[lab;good]\n    address 127.0.0.1\n    port {good}\n    local_address 127.0.0.2\n"
        ),
    )
    .unwrap();
    std::fs::write(
        inc.join("20-silent.conf"),
        format!(
            "[lab;silent]\n    address 127.0.0.1\n    port {}\n",
            silent.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    // Global lines after includedir, as Debian's munin.conf has them.
    let conf = d.join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nlogdir {0}/log\nrundir {0}/run\n\
             includedir {1}\n\
             timeout_fetch_one_node 2\n\
             graph_width 300\n\
             warning 0.1\n\
             [foo.com;Totals]\n    update no\n    load1.graph_title Loads\n    \
             load1.graph_order good=lab;good:load.load \\\n        silent=lab;silent:load.load\n",
            d.display(),
            inc.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = master_ok("update", &conf);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The silent node is cut by munin.conf's 2 s, not our 60 s default.
    assert!(took < Duration::from_secs(30), "{took:?} {stderr}");
    assert!(
        stderr.contains("silent (127.0.0.1:") && stderr.contains("before the deadline"),
        "{stderr}"
    );
    // The aggregate host is not polled, and its continued line is read
    // whole (no warning about it).
    assert!(!stderr.contains("Totals ("), "{stderr}");
    assert!(!stderr.contains("munin.conf:1"), "{stderr}");
    let line = crate::support::fleet::log_line(d);
    assert!(
        line.contains("1 nodes ok, 1 failed (1 timed out)"),
        "{line}"
    );

    // good was polled from its local_address, and its graph and field
    // carry what the global lines after includedir set.
    let loaded = MasterConf::load(&conf).unwrap();
    let host = loaded.hosts.iter().find(|h| h.name == "good").unwrap();
    let config =
        state::load_config(&state::config_path(&loaded.dbdir, host)).expect("good's config state");
    let json = serde_json::to_value(&config).unwrap();
    let text = json.to_string();
    assert!(
        text.contains("graph_width") && text.contains("300"),
        "{text}"
    );
    assert!(
        text.contains("\"warning\"") && text.contains("0.1"),
        "{text}"
    );
    assert_eq!(last(&loaded.settings, "graph_width"), Some("300"));

    // The drawn graph is 300 wide, not the default 400.
    master_ok("html", &conf);
    let png = d.join("www/lab/good/load-day.png");
    let narrow = png_width(&png);
    std::fs::write(
        &conf,
        std::fs::read_to_string(&conf)
            .unwrap()
            .replace("graph_width 300", "graph_width 400"),
    )
    .unwrap();
    master_ok("cron", &conf);
    let wide = png_width(&png);
    assert_eq!(wide - narrow, 100, "{narrow} then {wide}");
    drop(silent);
}
