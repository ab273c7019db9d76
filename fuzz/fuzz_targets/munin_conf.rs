//! munin.conf, read from a file as the master reads it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use munin_rs::master::conf::{MasterConf, lines};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = lines::parse(&text);
    let dir = std::env::temp_dir().join(format!("munin-rs-fuzz-conf-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("munin.conf");
    if std::fs::write(&path, data).is_ok() {
        let _ = MasterConf::load(&path);
    }
});
