//! `munin.conf`, the master's configuration, as Munin 2.0 reads it.
//!
//! Lines are `key value`; `#` starts a comment; `[group;host]` or `[host]`
//! opens a host section (a name without `;` takes its group from the part
//! after the first dot, or is its own group); a section name ending in `;`
//! holds group settings. `includedir DIR` reads every file in DIR (sorted,
//! dot files and editor backups skipped) as if it stood there. Inside a host,
//! `plugin.field.attr value` and `plugin.graph_attr value` override what the
//! node says. Keys the master does not use yet are kept, not refused, so an
//! existing munin.conf loads as it is; malformed lines are errors naming the
//! file and line.

use std::path::{Path, PathBuf};

/// One host to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Group path: `a;b;host` → `["a", "b"]`.
    pub groups: Vec<String>,
    pub name: String,
    pub address: String,
    pub port: u16,
    pub use_node_name: bool,
    pub update_rate: Option<u32>,
    /// `plugin.field.attr value` / `plugin.attr value` lines, as written.
    pub overrides: Vec<(String, String)>,
    /// Other keys of the section.
    pub settings: Vec<(String, String)>,
    /// Where the section starts, for messages.
    pub origin: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct MasterConf {
    pub dbdir: PathBuf,
    pub htmldir: PathBuf,
    pub logdir: PathBuf,
    pub rundir: PathBuf,
    pub update_rate: u32,
    pub graph_data_size: String,
    /// `contact.NAME.key value`.
    pub contacts: Vec<(String, String)>,
    /// `rrdcached_socket`: updates go through this rrdcached.
    pub rrdcached_socket: Option<String>,
    /// `carbon_server HOST[:PORT]` (and `carbon_port`): every stored value
    /// is also sent there in Graphite's plaintext protocol.
    pub carbon_server: Option<String>,
    pub carbon_port: u16,
    /// `carbon_prefix`: the first part of every metric name.
    pub carbon_prefix: String,
    /// Other global keys, kept for later steps.
    pub settings: Vec<(String, String)>,
    pub hosts: Vec<Host>,
    /// Lines accepted but probably not meant (file:line and why).
    pub warnings: Vec<String>,
}

impl MasterConf {
    /// Where carbon listens, `host:port`, if configured.
    pub fn carbon_address(&self) -> Option<String> {
        let server = self.carbon_server.as_deref()?;
        // `host:port`, `[v6]:port`, or a bare host with `carbon_port`.
        let has_port = server.rsplit_once(':').is_some_and(|(h, p)| {
            p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']'))
        });
        Some(if has_port {
            server.to_string()
        } else {
            format!("{server}:{}", self.carbon_port)
        })
    }
}

impl Default for MasterConf {
    fn default() -> MasterConf {
        MasterConf {
            dbdir: "/var/lib/munin".into(),
            htmldir: "/var/cache/munin/www".into(),
            logdir: "/var/log/munin".into(),
            rundir: "/var/run/munin".into(),
            // Munin's default is 300 s; we poll every minute unless told.
            update_rate: 60,
            graph_data_size: "normal".into(),
            contacts: Vec::new(),
            rrdcached_socket: None,
            carbon_server: None,
            carbon_port: 2003,
            carbon_prefix: "munin".into(),
            settings: Vec::new(),
            hosts: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Where the reader is: the global part, a group's settings, or a host.
enum Section {
    Global,
    Group,
    Host(usize),
}

impl MasterConf {
    /// Reads `path` and what it includes.
    pub fn load(path: &Path) -> Result<MasterConf, String> {
        let mut conf = MasterConf::default();
        let mut section = Section::Global;
        conf.read_file(path, &mut section, 0)?;
        for h in &conf.hosts {
            if h.address.is_empty() {
                return Err(format!("{}: host {} has no address", h.origin, h.name));
            }
        }
        Ok(conf)
    }

    fn read_file(
        &mut self,
        path: &Path,
        section: &mut Section,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 8 {
            return Err(format!("{}: includedir nested too deep", path.display()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (i, raw) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[') {
                let name = name
                    .strip_suffix(']')
                    .ok_or_else(|| format!("{at}: section {line:?} has no closing ]"))?
                    .trim();
                *section = self.open_section(name, &at)?;
                continue;
            }
            let (key, value) = match line.split_once(char::is_whitespace) {
                Some((k, v)) => (k, v.trim()),
                None => return Err(format!("{at}: {line:?} has no value")),
            };
            if key == "includedir" {
                self.include(Path::new(value), section, depth, &at)?;
                continue;
            }
            match section {
                Section::Global => self.global(key, value, &at)?,
                Section::Group => self.settings.push((key.to_string(), value.to_string())),
                Section::Host(h) => {
                    let h = *h;
                    host_key(&mut self.hosts[h], key, value, &at)?;
                    self.warnings.extend(misplaced(key, &at));
                }
            }
        }
        Ok(())
    }

    fn include(
        &mut self,
        dir: &Path,
        section: &mut Section,
        depth: usize,
        at: &str,
    ) -> Result<(), String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("{at}: includedir {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                p.is_file() && !name.starts_with('.') && !name.ends_with('~')
            })
            .collect();
        files.sort();
        for f in files {
            self.read_file(&f, section, depth + 1)?;
        }
        Ok(())
    }

    fn global(&mut self, key: &str, value: &str, at: &str) -> Result<(), String> {
        match key {
            "dbdir" => self.dbdir = value.into(),
            "htmldir" => self.htmldir = value.into(),
            "logdir" => self.logdir = value.into(),
            "rundir" => self.rundir = value.into(),
            "update_rate" => self.update_rate = rate(value, at)?,
            "graph_data_size" => self.graph_data_size = value.to_string(),
            "rrdcached_socket" => self.rrdcached_socket = Some(value.to_string()),
            "carbon_server" => self.carbon_server = Some(value.to_string()),
            "carbon_port" => {
                self.carbon_port = value
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{at}: carbon_port {value:?} is not a port"))?
            }
            "carbon_prefix" => self.carbon_prefix = value.trim_matches('.').to_string(),
            k if k.starts_with("contact.") => {
                self.contacts.push((k.to_string(), value.to_string()))
            }
            // `host.plugin.field.attr value` at top level, for a host defined
            // anywhere: kept with the global settings for the limits step.
            _ => self.settings.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }

    fn open_section(&mut self, name: &str, at: &str) -> Result<Section, String> {
        if name.is_empty() {
            return Err(format!("{at}: empty section name"));
        }
        if name.ends_with(';') {
            return Ok(Section::Group);
        }
        let mut parts: Vec<String> = name.split(';').map(|p| p.trim().to_string()).collect();
        let host = parts.pop().unwrap_or_default();
        let groups = if parts.is_empty() {
            // `[a.example.org]` is in group `example.org`; `[a]` in `a`.
            vec![
                host.split_once('.')
                    .map_or(host.as_str(), |(_, d)| d)
                    .to_string(),
            ]
        } else {
            parts
        };
        for n in groups.iter().chain(std::iter::once(&host)) {
            path_name(n).map_err(|e| format!("{at}: [{name}]: {e}"))?;
        }
        self.hosts.push(Host {
            groups,
            name: host,
            address: String::new(),
            port: 4949,
            use_node_name: false,
            update_rate: None,
            overrides: Vec::new(),
            settings: Vec::new(),
            origin: at.to_string(),
        });
        Ok(Section::Host(self.hosts.len() - 1))
    }
}

fn host_key(h: &mut Host, key: &str, value: &str, at: &str) -> Result<(), String> {
    match key {
        "address" => h.address = value.to_string(),
        "port" => {
            h.port = value
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{at}: port {value:?} is not a port number"))?
        }
        "use_node_name" => h.use_node_name = boolean(value, at)?,
        "update_rate" => h.update_rate = Some(rate(value, at)?),
        k if k.contains('.') => h.overrides.push((k.to_string(), value.to_string())),
        _ => h.settings.push((key.to_string(), value.to_string())),
    }
    Ok(())
}

/// Settings that only mean something before the first section: inside a
/// host's section they would silently do nothing, so the run says so.
const GLOBAL_ONLY: [&str; 8] = [
    "dbdir",
    "htmldir",
    "logdir",
    "rundir",
    "rrdcached_socket",
    "carbon_server",
    "carbon_port",
    "carbon_prefix",
];

/// The warning for a global setting written inside a host's section.
fn misplaced(key: &str, at: &str) -> Option<String> {
    GLOBAL_ONLY.contains(&key).then(|| {
        format!("{at}: {key} is a global setting and has no effect in a host section; move it above the first [section]")
    })
}

/// A group or host name that becomes a directory or file name.
pub fn path_name(n: &str) -> Result<&str, String> {
    if n.is_empty() || n == "." || n == ".." || n.contains('/') || n.contains('\0') {
        return Err(format!("{n:?} cannot be a file name"));
    }
    Ok(n)
}

fn boolean(v: &str, at: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("{at}: {v:?} is not yes or no")),
    }
}

/// `update_rate`: seconds, optionally with Munin's `s` suffix.
fn rate(v: &str, at: &str) -> Result<u32, String> {
    v.trim_end_matches('s')
        .parse()
        .ok()
        .filter(|r| *r > 0)
        .ok_or_else(|| format!("{at}: update_rate {v:?} is not a number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<MasterConf, String> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("munin.conf");
        std::fs::write(&p, text).unwrap();
        MasterConf::load(&p).map_err(|e| e.replace(&d.path().display().to_string(), "D"))
    }

    #[test]
    fn sinks_and_a_global_setting_in_a_host_section() {
        let c = load(
            "rrdcached_socket /run/rrdcached.sock\ncarbon_server [::1]:2004\ncarbon_prefix .m.\n[h]\n address x\n carbon_port 7\n",
        )
        .unwrap();
        assert_eq!(c.rrdcached_socket.as_deref(), Some("/run/rrdcached.sock"));
        assert_eq!(c.carbon_address().as_deref(), Some("[::1]:2004"));
        assert_eq!(c.carbon_prefix, "m");
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].contains(":6: carbon_port is a global setting"),
            "{:?}",
            c.warnings
        );
        let c = load("carbon_server graphite\ncarbon_port 2103\n").unwrap();
        assert_eq!(c.carbon_address().as_deref(), Some("graphite:2103"));
        let c = load("carbon_server graphite.example.org\n").unwrap();
        assert_eq!(
            c.carbon_address().as_deref(),
            Some("graphite.example.org:2003")
        );
        assert!(
            load("carbon_port x\n")
                .unwrap_err()
                .contains("D/munin.conf:1: carbon_port \"x\" is not a port")
        );
    }

    #[test]
    fn hosts_groups_and_overrides() {
        let c = load(
            "dbdir /tmp/db\nupdate_rate 60\ncontact.admin.command mail -s x root\n\n\
             [web;front;www1.example.org]\n    address 10.0.0.1\n    port 4950\n    use_node_name yes\n    load.load.warning 5\n\
             [db1.example.org]\n    address db1\n[solo]\n    address 127.0.0.1 # local\n    graph_width 500\n",
        )
        .unwrap();
        assert_eq!(
            (c.dbdir.as_path(), c.update_rate),
            (Path::new("/tmp/db"), 60)
        );
        assert_eq!(
            c.contacts,
            vec![("contact.admin.command".into(), "mail -s x root".into())]
        );
        let h = &c.hosts[0];
        assert_eq!(
            (h.groups.clone(), h.name.as_str(), h.port, h.use_node_name),
            (
                vec!["web".to_string(), "front".into()],
                "www1.example.org",
                4950,
                true
            )
        );
        assert_eq!(h.overrides, vec![("load.load.warning".into(), "5".into())]);
        assert_eq!(c.hosts[1].groups, vec!["example.org"]);
        assert_eq!(
            (c.hosts[2].groups.clone(), c.hosts[2].address.as_str()),
            (vec!["solo".to_string()], "127.0.0.1")
        );
        assert_eq!(
            c.hosts[2].settings,
            vec![("graph_width".into(), "500".into())]
        );
    }

    #[test]
    fn includedir_reads_files_in_order() {
        let d = tempfile::tempdir().unwrap();
        let inc = d.path().join("munin-conf.d");
        std::fs::create_dir(&inc).unwrap();
        std::fs::write(inc.join("b.conf"), "[b]\naddress 2\n").unwrap();
        std::fs::write(inc.join("a.conf"), "[a]\naddress 1\n").unwrap();
        std::fs::write(inc.join("a.conf~"), "[junk]\naddress 3\n").unwrap();
        let p = d.path().join("munin.conf");
        std::fs::write(&p, format!("includedir {}\n", inc.display())).unwrap();
        let c = MasterConf::load(&p).unwrap();
        let names: Vec<&str> = c.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            load("dbdir\n").unwrap_err(),
            "D/munin.conf:1: \"dbdir\" has no value"
        );
        assert_eq!(
            load("[h]\naddress x\nport http\n").unwrap_err(),
            "D/munin.conf:3: port \"http\" is not a port number"
        );
        assert_eq!(
            load("[g;h\n").unwrap_err(),
            "D/munin.conf:1: section \"[g;h\" has no closing ]"
        );
        assert_eq!(
            load("[h]\nport 1\n").unwrap_err(),
            "D/munin.conf:1: host h has no address"
        );
        assert!(
            load("[../etc;h]\naddress x\n")
                .unwrap_err()
                .contains("cannot be a file name")
        );
        assert!(
            load("[g;a/b]\naddress x\n")
                .unwrap_err()
                .contains("cannot be a file name")
        );
        assert!(
            load("[h]\naddress x\nuse_node_name maybe\n")
                .unwrap_err()
                .contains("is not yes or no")
        );
        assert!(
            load("update_rate soon\n")
                .unwrap_err()
                .contains("update_rate \"soon\"")
        );
    }
}
