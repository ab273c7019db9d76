//! What a node answers the master: config, fetch and spoolfetch replies
//! parsed and planned into files; a spool file read back; a greeting and
//! an address.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use munin_rs::master::conf::Host;
use munin_rs::master::poll::{plan, reply, session, transport::Transport};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let parsed = reply::parse("fuzz", &lines);
    let host = Host {
        address: "127.0.0.1".into(),
        ..Host::new(vec!["g".into()], "h")
    };
    let r = session::HostReply {
        plugins: vec![("fuzz".into(), parsed)],
        ..session::HostReply::default()
    };
    let p = plan::plan(Path::new("/db"), &host, r);
    for f in &p.fields {
        assert!(f.path.starts_with("/db/g/"), "{}", f.path.display());
    }
    let mut out = Vec::new();
    let _ = munin_rs::spool::reader::records_after(data, 5, &mut out);
    if let Some(first) = lines.first() {
        let _ = session::greeting_name(first);
        let _ = Transport::parse(first, 4949, ("ssh", "-q"));
    }
});
