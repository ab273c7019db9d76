//! Where the gatherer polls: remote providers given by URL, and local Tahoe
//! node directories.
//!
//! A node directory is read again before every poll: `tahoe run` writes
//! `node.url` and `my_nodeid` when it starts, and a web port of `tcp:0`
//! changes on every restart, so the gatherer may start before its nodes and
//! follows them across restarts.

use std::path::{Path, PathBuf};

use super::names;

/// One place to poll.
#[derive(Debug, Clone, PartialEq)]
pub enum Provider {
    Url {
        /// The full statistics URL.
        url: String,
        id: String,
        nickname: String,
    },
    NodeDir(PathBuf),
}

/// A provider resolved for one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: String,
    pub id: String,
    pub nickname: String,
}

impl Provider {
    /// Parses `URL[,nodeid=ID][,nickname=NAME]`. Without a node id the
    /// URL's `host:port` stands in for one.
    pub fn parse(spec: &str) -> Result<Provider, String> {
        let mut parts = spec.split(',');
        let base = parts.next().unwrap_or_default().trim();
        let authority = authority(base)?;
        let (mut id, mut nickname) = (authority.to_string(), String::new());
        for p in parts {
            match p.split_once('=') {
                Some(("nodeid", v)) => id = v.trim().to_string(),
                Some(("nickname", v)) => nickname = v.to_string(),
                _ => return Err(format!("{spec}: unknown option {p:?} (nodeid=, nickname=)")),
            }
        }
        names::node_id(&id).map_err(|e| format!("{spec}: {e}"))?;
        names::nickname(&nickname).map_err(|e| format!("{spec}: {e}"))?;
        Ok(Provider::Url {
            url: statistics_url(base),
            id,
            nickname,
        })
    }

    /// What to poll now; for a node directory, read from its files.
    pub fn resolve(&self) -> Result<Target, String> {
        match self {
            Provider::Url { url, id, nickname } => Ok(Target {
                url: url.clone(),
                id: id.clone(),
                nickname: nickname.clone(),
            }),
            Provider::NodeDir(dir) => read_node_dir(dir),
        }
    }

    /// For log lines and errors.
    pub fn label(&self) -> String {
        match self {
            Provider::Url { url, .. } => url.clone(),
            Provider::NodeDir(dir) => dir.display().to_string(),
        }
    }
}

/// `host:port` of an `http://` URL.
fn authority(url: &str) -> Result<&str, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url}: only http:// URLs are polled (use a local TLS tunnel for https)")
    })?;
    let auth = rest.split('/').next().unwrap_or_default();
    if auth.is_empty() || auth.contains('@') {
        return Err(format!("{url}: expected http://HOST:PORT/"));
    }
    Ok(auth)
}

/// The node's base URL plus `statistics?t=json`, unless the URL already
/// names a path of its own.
fn statistics_url(base: &str) -> String {
    let path = base["http://".len()..]
        .split_once('/')
        .map_or("", |(_, p)| p);
    if path.is_empty() {
        format!("{}/statistics?t=json", base.trim_end_matches('/'))
    } else {
        base.to_string()
    }
}

fn read_node_dir(dir: &Path) -> Result<Target, String> {
    let read = |name: &str, hint: &str| {
        std::fs::read_to_string(dir.join(name))
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("{}: {e}{hint}", dir.join(name).display()))
    };
    let running = " (is the node running? `tahoe run` writes it)";
    let url = read("node.url", running)?;
    authority(&url).map_err(|e| format!("{}/node.url: {e}", dir.display()))?;
    let id = read("my_nodeid", running)?;
    names::node_id(&id).map_err(|e| format!("{}/my_nodeid: {e}", dir.display()))?;
    let cfg = read("tahoe.cfg", "")?;
    let nickname = nickname_of(&cfg).unwrap_or_default();
    names::nickname(&nickname).map_err(|e| format!("{}/tahoe.cfg: {e}", dir.display()))?;
    Ok(Target {
        url: statistics_url(&url),
        id,
        nickname,
    })
}

/// `nickname` in the `[node]` section of tahoe.cfg.
fn nickname_of(cfg: &str) -> Option<String> {
    let mut in_node = false;
    for line in cfg.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_node = t == "[node]";
        } else if in_node && !t.starts_with('#') && !t.starts_with(';') {
            let Some((k, v)) = t.split_once(['=', ':']) else {
                continue;
            };
            if k.trim() == "nickname" {
                return Some(v.trim().to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_specs() {
        let p = Provider::parse("http://10.0.0.5:3456/,nodeid=abcd,nickname=n 1").unwrap();
        assert_eq!(
            p.resolve().unwrap(),
            Target {
                url: "http://10.0.0.5:3456/statistics?t=json".into(),
                id: "abcd".into(),
                nickname: "n 1".into(),
            }
        );
        let q = Provider::parse("http://h:1/custom/stats")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(
            (q.url.as_str(), q.id.as_str()),
            ("http://h:1/custom/stats", "h:1")
        );
        assert!(
            Provider::parse("https://h/")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(
            Provider::parse("http://h:1,color=red")
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(
            Provider::parse("http://h:1,nodeid=../x")
                .unwrap_err()
                .contains("node id")
        );
    }

    #[test]
    fn node_dir_files() {
        let d = tempfile::tempdir().unwrap();
        let p = Provider::NodeDir(d.path().to_path_buf());
        assert!(
            p.resolve().unwrap_err().contains("node.url"),
            "not running yet"
        );
        std::fs::write(d.path().join("node.url"), "http://127.0.0.1:4567/\n").unwrap();
        std::fs::write(
            d.path().join("my_nodeid"),
            "layv5kfzymlmtv3xhlniz2wpmsnlhavt\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("tahoe.cfg"),
            "[node]\n#nickname = no\nnickname = tn1 \n[client]\nnickname = x\n",
        )
        .unwrap();
        let t = p.resolve().unwrap();
        assert_eq!(t.url, "http://127.0.0.1:4567/statistics?t=json");
        assert_eq!(
            (t.id.as_str(), t.nickname.as_str()),
            ("layv5kfzymlmtv3xhlniz2wpmsnlhavt", "tn1")
        );
    }
}
