//! Checks on names that arrive from the network: node ids, nicknames and
//! metric names. They end up as keys in the snapshot, in munin field names
//! (through `tahoe-stats`) and in log lines, so control characters, white
//! space in ids and unbounded lengths are refused before anything is stored.

/// Longest node id: a Tahoe tub id is 32 characters.
pub const MAX_ID: usize = 128;
/// Longest nickname and metric name.
pub const MAX_NAME: usize = 256;

/// A node id: letters, digits and `. _ - : [ ]` (tub ids, `v0-` keys,
/// `host:port` and `[v6]:port` ids of providers without an id).
pub fn node_id(s: &str) -> Result<&str, String> {
    if s.is_empty() || s.len() > MAX_ID {
        return Err(format!("node id must be 1 to {MAX_ID} characters"));
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-:[]".contains(*c)))
    {
        Some(c) => Err(format!(
            "node id {s:?} holds {c:?}; allowed: letters, digits, . _ - : [ ]"
        )),
        None if s == "<unauth>" => Err("node id <unauth> is refused".into()),
        None => Ok(s),
    }
}

/// A nickname: any text without control characters (may be empty).
pub fn nickname(s: &str) -> Result<&str, String> {
    if s.len() > MAX_NAME {
        return Err(format!("nickname longer than {MAX_NAME} bytes"));
    }
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("nickname holds the control character {c:?}")),
        None => Ok(s),
    }
}

/// A metric name: printable, no white space.
pub fn metric(s: &str) -> Result<&str, String> {
    if s.is_empty() || s.len() > MAX_NAME {
        return Err(format!("metric name must be 1 to {MAX_NAME} bytes"));
    }
    match s.chars().find(|c| c.is_control() || c.is_whitespace()) {
        Some(c) => Err(format!("metric name holds {c:?}")),
        None => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(node_id("layv5kfzymlmtv3xhlniz2wpmsnlhavt").is_ok());
        assert!(node_id("v0-abc").is_ok());
        assert!(node_id("[::1]:3456").is_ok());
        assert!(node_id("").is_err());
        assert!(node_id("../etc").unwrap_err().contains("'/'"));
        assert!(node_id("a b").is_err());
        assert!(node_id(&"a".repeat(129)).is_err());
    }

    #[test]
    fn nicknames_and_metrics() {
        assert!(nickname("café node").is_ok());
        assert!(nickname("").is_ok());
        assert!(nickname("a\nb").is_err());
        assert!(metric("storage_server.latencies.add-lease.99_9_percentile").is_ok());
        assert!(metric("a\tb").is_err());
        assert!(metric("").is_err());
    }
}
