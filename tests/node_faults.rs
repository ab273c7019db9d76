//! Faults: plugins that misbehave and clients that do. Each has a clear
//! outcome, and the node keeps serving.

use std::io::Write;
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::support::{OurNode, fixture, group_members, is_root, require};

fn faults_node(extra: &str) -> OurNode {
    OurNode::start(
        &format!("allow ^127\\.0\\.0\\.1$\nmax_plugin_output 1000000\n{extra}"),
        &fixture("node/faults"),
        &fixture("node/faults-conf.d"),
    )
}

fn still_serving(node: &OurNode) {
    let (mut c, _) = node.connect();
    assert_eq!(c.dot("fetch quick"), "q.value 1\n.\n");
}

#[test]
fn flooding_plugin_is_cut_off() {
    let node = faults_node("");
    let (mut c, _) = node.connect();
    assert_eq!(c.dot("fetch flood"), "# Output too large\n.\n");
    assert!(
        node.wait_for_log("max_plugin_output", Duration::from_secs(5)),
        "{}",
        node.log()
    );
    still_serving(&node);
}

#[test]
fn garbage_output_passes_through_but_never_ends_a_reply_early() {
    let node = faults_node("");
    let (mut c, _) = node.connect();
    c.send(b"fetch garbage\n");
    assert_eq!(c.read_line_bytes(), b"\x01\x02\xff\xfe binary\n");
    let long = c.read_line_bytes();
    assert_eq!(long.len(), 300_001, "a 300 000-byte line passes intact");
    assert_eq!(c.read_line(), "g.value 4\n");
    assert_eq!(c.read_line(), ".\n");
    still_serving(&node);
}

#[test]
fn plugin_ignoring_sighup_is_killed_after_the_grace_period() {
    let node = faults_node("");
    let (mut c, _) = node.connect();
    let t = Instant::now();
    assert_eq!(c.dot("fetch stubborn"), "# Timed out\n.\n");
    assert!(
        t.elapsed() < Duration::from_millis(1900),
        "answered after {:?}",
        t.elapsed()
    );
    let pgid: i32 = glob_state(&node, "stubborn.pgid").trim().parse().unwrap();
    assert!(
        !group_members(pgid).is_empty(),
        "still alive during the grace period"
    );
    // SIGKILL comes 2 s after the answer; orphans are reaped within a second.
    let end = Instant::now() + Duration::from_secs(8);
    while !group_members(pgid).is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        t.elapsed() > Duration::from_secs(2),
        "killed before the grace period ended"
    );
    assert_eq!(
        group_members(pgid),
        Vec::<u32>::new(),
        "process group killed and reaped"
    );
    assert!(
        crate::support::children_of(node.pid()).is_empty(),
        "child reaped, no zombie"
    );
    still_serving(&node);
}

/// Reads a file a plugin left in its state directory (any user).
fn glob_state(node: &OurNode, name: &str) -> String {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        for user in std::fs::read_dir(node.dir.path().join("state"))
            .unwrap()
            .flatten()
        {
            if let Ok(s) = std::fs::read_to_string(user.path().join(name)) {
                return s;
            }
        }
        assert!(Instant::now() < end, "{name} not written");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn signals_exit_codes_and_exec_failures_are_bad_exits() {
    let node = faults_node("");
    let (mut c, _) = node.connect();
    assert_eq!(c.dot("fetch signalled"), "# Bad exit\n.\n");
    assert_eq!(c.dot("fetch badinterp"), "# Bad exit\n.\n");
    assert!(
        node.wait_for_log("cannot start", Duration::from_secs(5)),
        "{}",
        node.log()
    );
    // A child holding stdout open keeps the run going until its timeout.
    assert_eq!(c.dot("fetch holder"), "# Timed out\n.\n");
    if require("root (user switching)", is_root()) {
        assert_eq!(c.dot("fetch nouser"), "# Bad exit\n.\n");
        assert!(
            node.wait_for_log("no-such-user-munin-rs", Duration::from_secs(5)),
            "{}",
            node.log()
        );
    }
    still_serving(&node);
}

#[test]
fn hostile_lines_get_the_reference_answers() {
    let node = faults_node("");
    let (mut c, _) = node.connect();
    let unknown = "# Unknown command. Try cap, list, nodes, config, fetch, version or quit\n";
    let binary: Vec<u8> = (0u8..=255).filter(|&b| b != b'\n').chain([b'\n']).collect();
    c.send(&binary);
    assert_eq!(c.read_line(), unknown);
    let mut mb = vec![b'A'; 1 << 20];
    mb.push(b'\n');
    c.send(&mb);
    assert_eq!(c.read_line(), unknown);
    let mut fetch_mb = b"fetch ".to_vec();
    fetch_mb.extend(std::iter::repeat_n(b'B', 1 << 20));
    fetch_mb.push(b'\n');
    c.send(&fetch_mb);
    assert_eq!(c.read_dot(), "# Unknown service\n.\n");
    assert_eq!(c.dot("fetch \x00\u{ff}"), "# Unknown service\n.\n");
    assert_eq!(c.dot("fetch quick"), "q.value 1\n.\n");
    // A 1 MB line costs the node at most one cut-down copy.
    let rss = rss_kb(node.pid());
    assert!(rss < 20_000, "RSS {rss} kB after 1 MB lines");
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn idle_clients_are_closed() {
    let node = faults_node("idle_timeout 1");
    let (mut c, _) = node.connect();
    let t = Instant::now();
    assert_eq!(c.read_to_close(), b"", "closed without a message");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    still_serving(&node);
}

#[test]
fn global_timeout_ends_even_busy_sessions() {
    let node = faults_node("global_timeout 2");
    let (mut c, _) = node.connect();
    let t = Instant::now();
    let mut replies = 0;
    loop {
        if c.line("version").is_empty() {
            break;
        }
        replies += 1;
        assert!(t.elapsed() < Duration::from_secs(5), "session not cut");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(replies >= 5, "only {replies} replies before the cut");
    assert!(t.elapsed() >= Duration::from_millis(1900));
    // Plugins get no time at all within the last 5 s of a session.
    let (mut c, _) = node.connect();
    assert_eq!(c.dot("fetch quick"), "# Timed out\n.\n");
}

#[test]
fn connection_limit_queues_the_excess() {
    let node = faults_node("max_servers 2");
    let (_a, _) = node.connect();
    let (mut b, _) = node.connect();
    // The third connection is accepted by the kernel but not served yet.
    let mut third = TcpStream::connect(node.addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let early = std::io::Read::read(&mut third, &mut buf);
    assert!(
        early.is_err(),
        "served beyond max_servers: {early:?} {:?}",
        String::from_utf8_lossy(&buf)
    );
    b.send(b"quit\n");
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let n = std::io::Read::read(&mut third, &mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"# munin node at"),
        "served once a slot is free"
    );
    third.write_all(b"quit\n").unwrap();
}

#[test]
fn denied_clients_get_no_banner() {
    let node = faults_node("allow ^10\\.0\\.0\\.1$\ndeny ^127\\.0\\.0\\.1$");
    let (mut c, banner) = node.connect();
    assert_eq!(banner, "");
    assert_eq!(c.read_to_close(), b"");
    assert!(
        node.wait_for_log("denying connection", Duration::from_secs(5)),
        "{}",
        node.log()
    );
    let node = faults_node("cidr_allow 127.0.0.0/8");
    assert!(node.connect().1.starts_with("# munin node at"));
}

/// With no access rule at all only loopback clients are let in, even on a
/// node listening on every address.
#[test]
fn no_rules_means_loopback_only() {
    let dir = fixture("node/faults");
    let conf = fixture("node/faults-conf.d");
    // The base config of OurNode carries no allow line; listen everywhere.
    let node = OurNode::start("host *", &dir, &conf);
    let port = node.addr.port();
    let (_, banner) = crate::support::Client::connect(([127, 0, 0, 1], port).into());
    assert!(banner.starts_with("# munin node at"));
    let Some(own) = own_address() else {
        eprintln!(
            "NOTE: this machine has no non-loopback IPv4 address; remote-client half not run"
        );
        return;
    };
    let (mut c, banner) = crate::support::Client::connect((own, port).into());
    assert_eq!(banner, "", "a client from {own} was served");
    assert_eq!(c.read_to_close(), b"");
}

/// The machine's outgoing IPv4 address, if it has one (no packet is sent).
fn own_address() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn plugins_get_the_real_nodes_environment_once_each() {
    let node = faults_node("");
    let (mut c, _) = node.connect();
    c.line("cap multigraph dirtyconfig");
    let reply = c.dot("fetch envdump");
    let env: Vec<(&str, &str)> = reply
        .lines()
        .filter_map(|l| l.strip_prefix("# env "))
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let mut names: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
    names.sort();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total, "duplicate variables in {reply}");
    let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let user = if is_root() {
        "nobody".to_string()
    } else {
        nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap()
            .name
    };
    let plugstate = node.dir.path().join("state").join(&user);
    assert_eq!(get("MUNIN_PLUGSTATE"), plugstate.to_str());
    assert_eq!(
        get("MUNIN_STATEFILE"),
        plugstate.join("envdump-127.0.0.1").to_str()
    );
    assert_eq!(get("MUNIN_MASTER_IP"), Some("127.0.0.1"));
    assert_eq!(get("MUNIN_CAP_MULTIGRAPH"), Some("1"));
    assert_eq!(get("MUNIN_CAP_DIRTYCONFIG"), Some("1"));
    assert_eq!(get("FQDN"), Some("munin-fixture.local"));
    assert_eq!(get("LC_ALL"), Some("C"));
    assert_eq!(get("LANG"), Some("C"));
    assert_eq!(get("PATH"), Some("/usr/sbin:/usr/bin:/sbin:/bin"));
    assert_eq!(get("MUNIN_DEBUG"), Some("0"));
    assert_eq!(get("NOTIFY_SOCKET"), None);
    if std::path::Path::new("/usr/share/munin").is_dir() {
        assert_eq!(get("MUNIN_LIBDIR"), Some("/usr/share/munin"));
    }
    assert!(reply.contains("# stdin /dev/null\n"), "{reply}");
    assert!(reply.contains("# cwd /\n"), "{reply}");
    assert!(reply.contains("# umask 0002\n"), "{reply}");
    let sid_line = reply.lines().find(|l| l.starts_with("# sid ")).unwrap();
    let parts: Vec<&str> = sid_line.split_whitespace().collect();
    assert_eq!(
        parts[2], parts[4],
        "the plugin leads its own session: {sid_line}"
    );
}
