//! TLS between masters and nodes, with certificates from a test CA made
//! by openssl: Debian's munin-update and our master poll our `tls
//! paranoid` node, both poll Debian's `tls paranoid` munin-node, and a
//! paranoid node turns away plain text and certificates of another CA.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::munin_update::{both_masters_store_the_same_with, requirements};
use crate::support::certs::{self, Ca};
use crate::support::real_node::RealNode;
use crate::support::{OurNode, node_fixture, require};

fn have_openssl() -> bool {
    require(
        "openssl (apt-get install openssl)",
        Command::new("openssl").arg("version").output().is_ok(),
    )
}

/// A CA with a node and a master certificate, in a directory user munin
/// can read (Debian's munin-update runs as munin).
struct Pki {
    _dir: tempfile::TempDir,
    ca: Ca,
    node: std::path::PathBuf,
    master: std::path::PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::Builder::new().prefix("pki").tempdir().unwrap();
    let ca = certs::ca(dir.path(), "Test CA");
    let node = ca.issue("munin-fixture.local");
    let master = ca.issue("master");
    readable(dir.path());
    Pki {
        _dir: dir,
        ca,
        node,
        master,
    }
}

fn readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, PermissionsExt::from_mode(0o755)).unwrap();
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::set_permissions(f.path(), PermissionsExt::from_mode(0o644)).unwrap();
    }
}

#[test]
fn issue17_real_munin_update_and_our_master_poll_our_paranoid_node() {
    if !(requirements() && have_openssl()) {
        return;
    }
    let pki = pki();
    let (plugins, conf) = node_fixture();
    let node = OurNode::start(
        &format!(
            "allow ^127\\.0\\.0\\.1$\n{}",
            certs::paranoid_lines(&pki.ca, &pki.node)
        ),
        &plugins,
        &conf,
    );
    both_masters_store_the_same_with(node.addr, &certs::paranoid_lines(&pki.ca, &pki.master));
    let log = node.log();
    assert!(!log.contains("TLS failed"), "{log}");
}

#[test]
fn issue17_both_masters_poll_the_real_paranoid_node() {
    if !(requirements() && crate::support::require_real_munin() && have_openssl()) {
        return;
    }
    let pki = pki();
    let (plugins, conf) = node_fixture();
    let real = RealNode::start(&plugins, &conf, &certs::paranoid_lines(&pki.ca, &pki.node));
    both_masters_store_the_same_with(real.addr, &certs::paranoid_lines(&pki.ca, &pki.master));
}

/// munin.conf for our master polling `port` with `global` TLS lines.
fn master_conf(dir: &Path, port: u16, global: &str) -> std::path::PathBuf {
    let conf = dir.join("munin.conf");
    std::fs::write(
        &conf,
        format!(
            "dbdir {0}/db\nhtmldir {0}/www\nlogdir {0}/log\nrundir {0}/run\n{global}\n\
             [munin-fixture.local]\n    address 127.0.0.1\n    port {port}\n",
            dir.display()
        ),
    )
    .unwrap();
    conf
}

fn poll(conf: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_munin-master"))
        .args(["poll", "--config"])
        .arg(conf)
        .output()
        .unwrap()
}

#[test]
fn issue17_a_paranoid_node_refuses_plain_text_and_strangers() {
    if !have_openssl() {
        return;
    }
    let pki = pki();
    let other_dir = tempfile::tempdir().unwrap();
    let other = certs::ca(other_dir.path(), "Other CA");
    let stranger = other.issue("master");
    let (plugins, conf) = node_fixture();
    let node = OurNode::start(
        &format!(
            "allow ^127\\.0\\.0\\.1$\n{}",
            certs::paranoid_lines(&pki.ca, &pki.node)
        ),
        &plugins,
        &conf,
    );

    // Plain text: one line, then the node closes.
    let (mut c, _) = node.connect();
    assert_eq!(c.line("list"), "# I require TLS. Closing.\n");
    assert!(c.read_to_close().is_empty());

    // A master whose certificate another CA signed: no service, one log
    // line naming the peer and the reason.
    let work = tempfile::tempdir().unwrap();
    let lines = format!(
        "tls paranoid\ntls_verify_certificate yes\ntls_private_key {0}\ntls_certificate {0}\ntls_ca_certificate {1}\n",
        stranger.display(),
        pki.ca.cert().display()
    );
    let out = poll(&master_conf(work.path(), node.addr.port(), &lines));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("could not establish TLS"), "{err}");
    assert!(
        node.wait_for_log("TLS failed", Duration::from_secs(10)),
        "{}",
        node.log()
    );
    let failure = node
        .log()
        .lines()
        .filter(|l| l.contains("TLS failed"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(failure.contains("127.0.0.1"), "{failure}");
    assert!(
        failure.contains("UnknownIssuer") || failure.contains("issuer"),
        "{failure}"
    );

    // A master that trusts another CA refuses the node's certificate.
    let lines = certs::paranoid_lines(&other, &stranger);
    let out = poll(&master_conf(work.path(), node.addr.port(), &lines));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not establish TLS"), "{err}");

    // The node serves a good master all along.
    let out = poll(&master_conf(
        work.path(),
        node.addr.port(),
        &certs::paranoid_lines(&pki.ca, &pki.master),
    ));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("fx_gauge-temp-g.rrd\t"),
        "{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.lines().count() > 20, "{printed}");
}

#[test]
fn issue17_sighup_rereads_the_certificates() {
    if !have_openssl() {
        return;
    }
    let pki = pki();
    let other_dir = tempfile::tempdir().unwrap();
    let other = certs::ca(other_dir.path(), "Other CA");
    let renewed = other.issue("munin-fixture.local");
    // The node's key and certificate at a path the test replaces.
    let live = pki.ca.dir.join("live.pem");
    std::fs::copy(&pki.node, &live).unwrap();
    let (plugins, conf) = node_fixture();
    let node = OurNode::start(
        &format!(
            "allow ^127\\.0\\.0\\.1$\n{}",
            certs::paranoid_lines(&pki.ca, &live)
        ),
        &plugins,
        &conf,
    );
    let work = tempfile::tempdir().unwrap();
    let master = |trust: &Path| {
        format!(
            "tls paranoid\ntls_verify_certificate yes\ntls_private_key {0}\ntls_certificate {0}\ntls_ca_certificate {1}\n",
            pki.master.display(),
            trust.display()
        )
    };
    let polled = |trust: &Path| {
        let out = poll(&master_conf(work.path(), node.addr.port(), &master(trust)));
        String::from_utf8_lossy(&out.stdout).contains("fx_gauge-temp-g.rrd\t")
    };
    assert!(polled(&pki.ca.cert()), "{}", node.log());
    assert!(
        !polled(&other.cert()),
        "the node's certificate is not the other CA's yet"
    );

    std::fs::copy(&renewed, &live).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(node.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    assert!(
        node.wait_for_log(
            "TLS keys and certificates reloaded",
            Duration::from_secs(30)
        ),
        "{}",
        node.log()
    );
    assert!(
        polled(&other.cert()),
        "the renewed certificate is served: {}",
        node.log()
    );
    assert!(!polled(&pki.ca.cert()), "the old one is not");

    // A broken file on reload keeps the certificate in service.
    std::fs::write(&live, "not a key\n").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(node.pid() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    assert!(
        node.wait_for_log(
            "TLS reload failed, keeping the current keys",
            Duration::from_secs(30)
        ),
        "{}",
        node.log()
    );
    assert!(polled(&other.cert()), "{}", node.log());
}
