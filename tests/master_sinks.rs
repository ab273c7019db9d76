//! The master beyond one machine, on existing engines: updates through a
//! real rrdcached (Debian's), and every stored value sent to a real carbon
//! (Debian's carbon-c-relay, writing what it receives to a file). When
//! either is down the RRD files still get every value.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::fleet::{Fleet, last_update, log_line, update, update_quiet};
use crate::support::real_node::free_port;
use crate::support::{require, terminate};

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Debian's rrdcached in the foreground on a socket in `dir`, holding
/// values for an hour (so a test can tell the cache from the file).
fn rrdcached(dir: &Path) -> Child {
    let sock = dir.join("rrdcached.sock");
    let child = Command::new("rrdcached")
        .arg("-g")
        .arg("-l")
        .arg(format!("unix:{}", sock.display()))
        .arg("-p")
        .arg(dir.join("rrdcached.pid"))
        .args(["-w", "3600", "-f", "3600", "-B", "-b"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("rrdcached's socket", || sock.exists());
    child
}

/// A run a second after the last (RRD steps are whole seconds) that must
/// succeed without a word; its log line.
fn clean_run(conf: &Path, dir: &Path) -> String {
    std::thread::sleep(Duration::from_millis(1100));
    update_quiet(conf);
    log_line(dir)
}

#[test]
fn updates_go_through_rrdcached_and_directly_when_it_is_down() {
    if !require("rrdtool", have("rrdtool"))
        || !require("rrdcached (apt-get install rrdcached)", have("rrdcached"))
    {
        return;
    }
    let fleet = Fleet::start(2, 2, 5);
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("rrdcached.sock");
    let conf = fleet.conf(
        dir.path(),
        &format!("rrdcached_socket {}\n", sock.display()),
    );
    let mut cached = rrdcached(dir.path());
    let file = dir.path().join("db/fleet/node00000.fleet-sim00-f0-g.rrd");

    // First run: the files are made, with their first value, by librrd.
    update_quiet(&conf);
    assert!(
        log_line(dir.path()).contains("20 values stored, 0 not stored, 20 files created"),
        "{}",
        log_line(dir.path())
    );
    let (first, _) = last_update(&file, None).expect("a file with a value");

    // Second run: every value through rrdcached, which holds it: the file
    // on disk still has the first, the daemon answers with the second.
    let line = clean_run(&conf, dir.path());
    assert!(
        line.contains("20 values stored, 0 not stored, 0 files created")
            && line.contains("20 through rrdcached"),
        "{line}"
    );
    assert_eq!(
        last_update(&file, None).map(|(t, _)| t),
        Some(first),
        "held in the cache"
    );
    let daemon = format!("unix:{}", sock.display());
    let (second, _) = last_update(&file, Some(&daemon)).unwrap();
    assert!(second > first, "{second} > {first}");

    // munin.conf now overrides f0's max: its file is tuned by librrd while
    // its value still goes through rrdcached.
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text.replacen(
        "[fleet;node00000.fleet]\n",
        "[fleet;node00000.fleet]\n    sim00.f0.max 1000\n",
        1,
    );
    std::fs::write(&conf, text).unwrap();
    let line = clean_run(&conf, dir.path());
    assert!(
        line.contains("1 rewritten 1 unchanged (writes saved), 1 files tuned")
            && line.contains("20 through rrdcached"),
        "{line}"
    );
    let info = Command::new("rrdtool")
        .arg("info")
        .arg(&file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("ds[42].max = 1.0000000000e+03"));
    let (tuned_at, _) = last_update(&file, Some(&daemon)).unwrap();
    assert!(tuned_at > second, "{tuned_at} > {second}");
    let second = tuned_at;

    // rrdcached stops (and writes what it held): the next run stores
    // directly and says so once; nothing is lost.
    terminate(&mut cached);
    assert_eq!(
        last_update(&file, None).map(|(t, _)| t),
        Some(second),
        "flushed at exit"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let out = update(&conf);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("rrdcached {}", sock.display())) && err.contains("storing directly"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (third, _) = last_update(&file, None).unwrap();
    assert!(third > second, "{third} > {second}");
}

/// Debian's carbon-c-relay on `port`, writing every metric it gets to `out`.
fn carbon(dir: &Path, port: u16, out: &Path) -> Child {
    let conf = dir.join("relay.conf");
    // TCP on loopback only: with `-p` the relay also binds UDP on the port
    // and a socket `/tmp/.s.carbon-c-relay.<port>` it leaves behind when
    // stopped, and when either is taken it gives up after its TCP port
    // was already open (a run then met a refused or reset connection).
    std::fs::write(
        &conf,
        format!(
            "listen type linemode 127.0.0.1:{port} proto tcp ;\n\
             cluster out file {};\nmatch * send to out stop;\n",
            out.display()
        ),
    )
    .unwrap();
    let log = dir.join("relay.log");
    let mut child = Command::new("carbon-c-relay")
        .arg("-f")
        .arg(&conf)
        .arg("-l")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("carbon-c-relay to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    // Listening, and still there: not a relay that opened its port and
    // then gave up.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "carbon-c-relay exited: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    child
}

#[test]
fn every_stored_value_reaches_a_real_carbon() {
    if !require("rrdtool", have("rrdtool"))
        || !require(
            "carbon-c-relay (apt-get install carbon-c-relay)",
            have("carbon-c-relay"),
        )
    {
        return;
    }
    let fleet = Fleet::start(2, 2, 5);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let received = dir.path().join("received.txt");
    let mut relay = carbon(dir.path(), port, &received);
    let conf = fleet.conf(
        dir.path(),
        &format!("carbon_server 127.0.0.1\ncarbon_port {port}\ncarbon_prefix test.munin\n"),
    );
    update_quiet(&conf);
    assert!(
        log_line(dir.path()).contains("carbon 33 sent 0 dropped"),
        "{}",
        log_line(dir.path())
    );
    let lines = || std::fs::read_to_string(&received).unwrap_or_default();
    // 20 fleet values and the master's own 13.
    wait_for("33 metrics at carbon", || lines().lines().count() >= 33);
    terminate(&mut relay);
    let text = lines();
    assert_eq!(text.lines().count(), 33, "{text}");
    let fleet_lines = text
        .lines()
        .filter(|l| l.starts_with("test.munin.fleet."))
        .count();
    assert_eq!(fleet_lines, 20, "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("test.munin.munin-master.") && l.contains(".munin_master.wall ")),
        "{text}"
    );
    // Each metric as the RRD file holds it: same value, same time.
    for (host, plugin, field, kind) in [
        ("node00000", "sim00", "f0", 'g'),
        ("node00001", "sim01", "f3", 'g'),
        ("node00001", "sim01", "f4", 'd'),
    ] {
        let file = dir
            .path()
            .join(format!("db/fleet/{host}.fleet-{plugin}-{field}-{kind}.rrd"));
        let (time, value) = last_update(&file, None).unwrap();
        let metric = format!("test.munin.fleet.{host}_fleet.{plugin}.{field}");
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{metric} ")))
            .unwrap_or_else(|| panic!("{metric} not in {text}"));
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[2], time.to_string(), "{line}");
        assert_eq!(
            parts[1].parse::<f64>().unwrap(),
            value.parse::<f64>().unwrap(),
            "{line}"
        );
    }

    // Carbon down: the RRDs still get every value; the run names carbon.
    std::thread::sleep(Duration::from_millis(1100));
    let out = update(&conf);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("carbon 127.0.0.1:{port}")), "{err}");
    let line = log_line(dir.path());
    assert!(
        line.contains("20 values stored, 0 not stored")
            && line.contains("carbon 0 sent 33 dropped"),
        "{line}"
    );
}
