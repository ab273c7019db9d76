//! `SPOOL-META`: munin-async's `key:value` lines (a `:` in a key written
//! as `____`), each change written whole to a temporary file and renamed
//! over the old one, so a crash leaves the old file or the new.

use std::collections::BTreeMap;
use std::path::Path;

const FILE: &str = "SPOOL-META";

fn escape(key: &str) -> String {
    key.replace(':', "____")
}

/// Every key and value; an absent or unreadable file is empty.
pub fn read(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read(dir.join(FILE)).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.replace("____", ":"), v.to_string()))
        .collect()
}

/// One key's value.
pub fn get(dir: &Path, key: &str) -> Option<String> {
    read(dir).remove(key)
}

/// Sets `key` (other keys kept, in their order).
pub fn set(dir: &Path, key: &str, value: &str) -> std::io::Result<()> {
    let path = dir.join(FILE);
    let old = std::fs::read(&path).unwrap_or_default();
    let escaped = escape(key);
    let mut text = String::new();
    for line in String::from_utf8_lossy(&old).lines() {
        if line.split_once(':').is_some_and(|(k, _)| k == escaped) {
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!("{escaped}:{value}\n"));
    crate::atomic_file::replace(&path, text.as_bytes()).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        set(dir.path(), "interval_size", "86400").unwrap();
        set(dir.path(), "plugin_rates/cpu", "60").unwrap();
        set(dir.path(), "interval_size", "3600").unwrap();
        let m = read(dir.path());
        assert_eq!(m["interval_size"], "3600");
        assert_eq!(m["plugin_rates/cpu"], "60");
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text, "plugin_rates/cpu:60\ninterval_size:3600\n");
    }
}
