//! munin-node.conf, and a plugin-conf.d file (read from a file, as the
//! node reads it); the first byte chooses which.
#![no_main]
use libfuzzer_sys::fuzz_target;
use munin_rs::config::{node_conf, plugin_conf::PluginConf};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        let text = String::from_utf8_lossy(rest);
        let _ = node_conf::parse_str("fuzz.conf", None, &text);
    } else {
        let dir = std::env::temp_dir().join(format!("munin-rs-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("plugin.conf");
        if std::fs::write(&path, rest).is_ok() {
            let _ = PluginConf::load_file(&path);
        }
    }
});
