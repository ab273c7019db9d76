//! `munin-master poll` and `update` against nodes that misbehave: down, not
//! a munin node, closing mid-reply, trickling, listing a path as a plugin,
//! sending garbage lines, switching a field's type; and `update` on a full
//! disk and beside a run still in progress. Each fails alone with a message
//! naming the host or file; nothing stored is lost.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::fleet::{last_value, update, update_ok};
use crate::support::real_node::refusing_port;

/// A fake node on its own port: `script` gets each command line and writes
/// the reply; the banner is sent first.
pub fn fake_node(banner: &'static str, script: fn(&str, &mut std::net::TcpStream)) -> u16 {
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
    let reply: &[u8] = match cmd {
        c if c.starts_with("list") => b"../../etc/passwd load\n",
        c if c.starts_with("config") => b"graph_title T\nload.label load\n.\n",
        c if c.starts_with("fetch") => b"load.value 3\n.\n",
        _ => b"cap\n",
    };
    let _ = w.write_all(reply);
}

#[test]
fn each_bad_node_fails_alone_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (_down, down) = refusing_port();
    let hosts = [
        ("good", fake_node("# munin node at good\n", good)),
        ("down", down),
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
    // The path listed as a plugin is filed as munin-update files it.
    let db = dir.path().join("db/test");
    assert_eq!(
        stdout.trim(),
        format!(
            "{0}/good-load-load-g.rrd\tGAUGE\t0.5\n{0}/traversal-______etc_passwd-load-g.rrd\tGAUGE\t3\n{0}/traversal-load-load-g.rrd\tGAUGE\t3",
            db.display()
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
        "dbdir /x\n[g;h]\n    address 127.0.0.1\n    use_node_name perhaps\n",
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_munin-master"))
            .args(["poll", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    };
    // A value Munin refuses too: the file is refused.
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("munin.conf:4: \"perhaps\" is not yes or no"),
        "{err}"
    );
    // One Munin loads: a warning with file and line, the host not polled.
    std::fs::write(
        &path,
        "dbdir /x\n[g;h]\n    address 127.0.0.1\n    port many\n    load.load.line 5:ff0000\n",
    )
    .unwrap();
    let err = String::from_utf8_lossy(&run().stderr).into_owned();
    assert!(
        err.contains("munin.conf:4: port \"many\" is not a port number; host h is not polled"),
        "{err}"
    );
    assert!(
        err.contains("munin.conf:5: load.load.line: not supported: "),
        "{err}"
    );
}

/// `dir/munin.conf`: `head`, then a `[g;NAME]` section per loopback host.
pub fn write_conf(dir: &std::path::Path, head: &str, hosts: &[(&str, u16)]) -> std::path::PathBuf {
    let mut text = head.to_string();
    for (name, port) in hosts {
        text.push_str(&format!(
            "[g;{name}]\n    address 127.0.0.1\n    port {port}\n"
        ));
    }
    let path = dir.join("munin.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn gauge_then_derive(cmd: &str, w: &mut std::net::TcpStream) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CONFIGS: AtomicUsize = AtomicUsize::new(0);
    let reply: Vec<u8> = match cmd {
        "cap multigraph dirtyconfig" => b"cap multigraph\n".to_vec(),
        c if c.starts_with("list") => b"temp\n".to_vec(),
        "config temp" => {
            let n = CONFIGS.fetch_add(1, Ordering::SeqCst);
            let t = if n == 0 { "GAUGE" } else { "DERIVE" };
            format!("graph_title T\ntemp.label t\ntemp.type {t}\n.\n").into_bytes()
        }
        "fetch temp" => b"temp.value 42\n.\n".to_vec(),
        _ => b"# Unknown command\n".to_vec(),
    };
    let _ = w.write_all(&reply);
}

#[test]
fn update_stores_and_a_type_switch_keeps_the_old_file() {
    if !crate::support::require(
        "rrdtool",
        Command::new("rrdtool").arg("--version").output().is_ok(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = fake_node("# munin node at sw\n", gauge_then_derive);
    let head = format!("dbdir {0}/db\nrundir {0}/run\n", dir.path().display());
    let (_down, down) = refusing_port();
    let conf = write_conf(dir.path(), &head, &[("sw", port), ("down", down)]);
    let out = update(&conf);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("down (127.0.0.1:") && err.contains("cannot connect"),
        "{err}"
    );
    let gauge = dir.path().join("db/g/sw-temp-temp-g.rrd");
    assert_eq!(last_value(&gauge), Some(42.0));
    // The node now calls the field DERIVE: a file of its own, the old kept.
    std::thread::sleep(Duration::from_millis(1100));
    update_ok(&conf);
    assert!(dir.path().join("db/g/sw-temp-temp-d.rrd").exists());
    assert_eq!(
        last_value(&gauge),
        Some(42.0),
        "the GAUGE file keeps its value"
    );
}

#[test]
fn a_run_in_progress_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let port = fake_node("# munin node at good\n", good);
    let head = format!("dbdir {0}/db\nrundir {0}/run\n", dir.path().display());
    let conf = write_conf(dir.path(), &head, &[("good", port)]);
    let held = munin_rs::master::lock::acquire(&dir.path().join("run")).unwrap();
    assert!(matches!(held, munin_rs::master::lock::Acquired::Mine(_)));
    let out = update(&conf);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "munin-master: the previous run (pid {}) is still running; this run is skipped",
            std::process::id()
        )
    );
    assert!(!dir.path().join("db").exists());
    // A lock whose holder is gone (a killed run) is simply taken.
    drop(held);
    update_ok(&conf);
    assert!(dir.path().join("db/g/good-load-load-g.rrd").exists());
}

fn many_fields(cmd: &str, w: &mut std::net::TcpStream) {
    let reply: Vec<u8> = match cmd {
        "cap multigraph dirtyconfig" => b"cap multigraph\n".to_vec(),
        c if c.starts_with("list") => b"wide\n".to_vec(),
        "config wide" => {
            let mut s = String::from("graph_title Wide\n");
            for i in 0..40 {
                s.push_str(&format!("f{i:02}.label f{i}\n"));
            }
            s.push_str(".\n");
            s.into_bytes()
        }
        "fetch wide" => {
            let mut s = String::new();
            for i in 0..40 {
                s.push_str(&format!("f{i:02}.value {i}\n"));
            }
            s.push_str(".\n");
            s.into_bytes()
        }
        _ => b"# Unknown command\n".to_vec(),
    };
    let _ = w.write_all(&reply);
}

/// A 1 MiB tmpfs holds about nine of these files: the rest fail with the
/// file named, no half-made file is left, and the files made keep their
/// values through a second run on the full disk.
#[test]
fn full_disk_fails_per_file_and_loses_nothing() {
    use crate::support::{is_root, require};
    if !(require("root (to mount a small tmpfs)", is_root())
        && require(
            "rrdtool",
            Command::new("rrdtool").arg("--version").output().is_ok(),
        ))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let _tmpfs = crate::support::SmallTmpfs::mount(&db, "1m");
    let port = fake_node("# munin node at wide\n", many_fields);
    let head = format!(
        "dbdir {}\nrundir {}/run\nupdate_rate 60\n",
        db.display(),
        dir.path().display()
    );
    let conf = write_conf(dir.path(), &head, &[("wide", port)]);
    let out = update(&conf);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("cannot create") && err.contains("wide-wide-f"),
        "{err}"
    );
    let files: Vec<String> = std::fs::read_dir(db.join("g"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!files.is_empty() && files.len() < 40, "{files:?}");
    assert!(
        files.iter().all(|f| !f.starts_with('.')),
        "no temporary file left: {files:?}"
    );
    let before: Vec<(String, Option<f64>)> = files
        .iter()
        .map(|f| (f.clone(), last_value(&db.join("g").join(f))))
        .collect();
    assert!(before.iter().all(|(_, v)| v.is_some()), "{before:?}");
    std::thread::sleep(Duration::from_millis(1100));
    update_ok(&conf);
    for (f, v) in before {
        assert_eq!(last_value(&db.join("g").join(&f)), v, "{f}");
    }
}

/// Issue 14: whether a failure was a timeout is its kind, never read from
/// the error's text (which begins with the host's name). A host called
/// `deadline.example` whose node refuses connections is failed, not timed
/// out; a node that accepts and never says a word is timed out.
#[test]
fn issue14_timeouts_are_told_by_kind_not_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (_refusing, refusing) = refusing_port();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let conf = dir.path().join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nlogdir {0}/log\nrundir {0}/run\n\
             [test;deadline.example]\n address 127.0.0.1\n port {1}\n\
             [test;silent]\n address 127.0.0.1\n port {2}\n",
            dir.path().display(),
            refusing,
            silent.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["update", "--timeout", "2", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("deadline.example (127.0.0.1:") && stderr.contains("cannot connect"),
        "{stderr}"
    );
    assert!(
        stderr.contains("silent (127.0.0.1:") && stderr.contains("before the deadline"),
        "{stderr}"
    );
    let line = crate::support::fleet::log_line(dir.path());
    assert!(
        line.contains("0 nodes ok, 2 failed (1 timed out)"),
        "{line}"
    );
    drop(silent);
}

/// A node that offers dirtyconfig and keeps every read it got: plugin `a`
/// answers config with values, `b` needs a fetch, `c`'s config is past
/// the master's line limit, `d` follows it.
fn recording_node(reads: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> u16 {
    use std::io::Read;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let reads = reads.clone();
            std::thread::spawn(move || {
                let mut r = conn.try_clone().unwrap();
                let mut w = conn;
                let _ = w.write_all(b"# munin node at piped\n");
                let (mut pending, mut buf) = (String::new(), [0u8; 65536]);
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    let chunk = String::from_utf8_lossy(&buf[..n]).into_owned();
                    reads.lock().unwrap().push(chunk.clone());
                    pending.push_str(&chunk);
                    while let Some(i) = pending.find('\n') {
                        let cmd: String = pending.drain(..=i).collect();
                        let reply = match cmd.trim() {
                            "cap multigraph dirtyconfig" => "cap multigraph dirtyconfig\n".into(),
                            c if c.starts_with("list") => "a b c d\n".into(),
                            "config a" => "graph_title A\nx.label x\nx.value 1\n.\n".into(),
                            "config b" => "graph_title B\nx.label x\n.\n".into(),
                            "fetch b" => "x.value 2\n.\n".into(),
                            "config c" => "c.label c\n".repeat(100_001) + ".\n",
                            "config d" => "graph_title D\nx.label x\nx.value 4\n.\n".into(),
                            _ => "# Unknown command\n".into(),
                        };
                        if w.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

#[test]
fn issue20_a_dirtyconfig_node_gets_its_commands_in_two_writes_and_stays_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let reads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let conf = write_conf(
        dir.path(),
        &format!("dbdir {}/db\n", dir.path().display()),
        &[("piped", recording_node(reads.clone()))],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["poll", "--timeout", "10", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Every plugin's value, the one after the dropped reply included.
    for (plugin, value) in [("a", "1"), ("b", "2"), ("d", "4")] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(&format!("piped-{plugin}-x-g.rrd")) && l.ends_with(value)),
            "{plugin}: {stdout}"
        );
    }
    assert!(!stdout.contains("-c-"), "{stdout}");
    assert!(
        stderr.contains("plugin \"c\"") && stderr.contains("config"),
        "{stderr}"
    );
    // Asked in two writes: every config at once, then the one fetch.
    let reads = reads.lock().unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r == "config a\nconfig b\nconfig c\nconfig d\n"),
        "{reads:?}"
    );
    assert!(reads.iter().any(|r| r == "fetch b\n"), "{reads:?}");
}
