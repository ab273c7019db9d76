//! `munin-master poll` against nodes that misbehave: down, not a munin
//! node, closing mid-reply, trickling, listing a path as a plugin, sending
//! garbage lines. Each fails alone with a message naming the host; the
//! others are still polled.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::real_node::free_port;

/// A fake node on its own port: `script` gets each command line and writes
/// the reply; the banner is sent first.
fn fake_node(banner: &'static str, script: fn(&str, &mut std::net::TcpStream)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                if w.write_all(banner.as_bytes()).is_err() {
                    return;
                }
                for line in BufReader::new(conn).lines() {
                    let Ok(line) = line else { return };
                    script(line.trim(), &mut w);
                }
            });
        }
    });
    port
}

fn good(cmd: &str, w: &mut std::net::TcpStream) {
    let reply: &[u8] = match cmd {
        "cap multigraph dirtyconfig" => b"cap multigraph dirtyconfig\n",
        c if c.starts_with("list") => b"load\n",
        "config load" => b"graph_title Load\nload.label load\n!!garbage!!\nload.value\n.\n",
        "fetch load" => b"load.value 0.5\nload.value abc\n.\n",
        _ => b"# Unknown command\n",
    };
    let _ = w.write_all(reply);
}

fn closes(cmd: &str, w: &mut std::net::TcpStream) {
    match cmd {
        c if c.starts_with("list") => {
            let _ = w.write_all(b"load\n");
        }
        "config load" => {
            let _ = w.write_all(b"graph_title Load\nload.la");
            let _ = w.shutdown(std::net::Shutdown::Both);
        }
        _ => {
            let _ = w.write_all(b"cap\n");
        }
    }
}

fn trickles(cmd: &str, w: &mut std::net::TcpStream) {
    if cmd.starts_with("list") {
        for b in b"load\n" {
            std::thread::sleep(Duration::from_secs(1));
            if w.write_all(&[*b]).is_err() {
                return;
            }
        }
    } else {
        let _ = w.write_all(b"cap\n");
    }
}

fn traversal(cmd: &str, w: &mut std::net::TcpStream) {
    let reply: &[u8] = if cmd.starts_with("list") {
        b"../../etc/passwd load\n"
    } else {
        b"cap\n"
    };
    let _ = w.write_all(reply);
}

#[test]
fn each_bad_node_fails_alone_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = [
        ("good", fake_node("# munin node at good\n", good)),
        ("down", free_port()),
        ("notmunin", fake_node("SSH-2.0-OpenSSH\n", good)),
        ("closes", fake_node("# munin node at closes\n", closes)),
        (
            "trickles",
            fake_node("# munin node at trickles\n", trickles),
        ),
        (
            "traversal",
            fake_node("# munin node at traversal\n", traversal),
        ),
    ];
    let mut conf = format!("dbdir {}/db\n", dir.path().display());
    for (name, port) in hosts {
        conf.push_str(&format!(
            "[test;{name}]\n    address 127.0.0.1\n    port {port}\n"
        ));
    }
    let path = dir.path().join("munin.conf");
    std::fs::write(&path, conf).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["poll", "--timeout", "3", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // All at once: the trickling node costs its own 3 s deadline, not more.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert_eq!(
        stdout.trim(),
        format!(
            "{}/db/test/good-load-load-g.rrd\tGAUGE\t0.5",
            dir.path().display()
        )
    );
    for want in [
        "good: load, reply line 3: no value: \"!!garbage!!\"",
        "good: load, reply line 4: no value: \"load.value\"",
        "good: load, reply line 2: not a value: \"load.value abc\"",
        "down (127.0.0.1:",
        "cannot connect",
        "notmunin (127.0.0.1:",
        "not a munin node: \"SSH-2.0-OpenSSH\"",
        "closes (127.0.0.1:",
        "closed the connection",
        "trickles (127.0.0.1:",
        "no complete reply before the deadline",
        "traversal (127.0.0.1:",
        "listed a plugin name that cannot be stored: \"../../etc/passwd\"",
    ] {
        assert!(stderr.contains(want), "{want:?} not in:\n{stderr}");
    }
    assert!(!dir.path().join("db").exists(), "poll writes nothing");
}

#[test]
fn config_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("munin.conf");
    std::fs::write(
        &path,
        "dbdir /x\n[g;h]\n    address 127.0.0.1\n    port many\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["poll", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("munin.conf:4: port \"many\" is not a port number"),
        "{err}"
    );
}
