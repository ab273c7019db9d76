//! `munin.conf`, the master's configuration, as Munin 2.0 reads it.
//!
//! The file is read as Munin's own parser reads it ([`lines`]: comments,
//! `\` continuation, CRLF; [`place`]: where each key lands). `[group;host]`
//! or `[host]` sections hold hosts (a repeated section is the same host),
//! `[group;]` sections hold group settings, and a host, group or global
//! setting is inherited by everything below it unless set there.
//! `includedir DIR` is read where munin-update reads it: after the whole
//! file, each file of DIR on its own, so the global lines written after it
//! stay global. A host with `update no` is not polled (aggregate hosts).
//! Every keyword is checked against Munin's list ([`keys`]): unknown and
//! unimplemented ones get one warning naming file and line, and the file
//! still loads; lines whose value cannot mean anything are errors naming
//! the file and line only where Munin refuses them too.

pub mod keys;
pub mod lines;
pub mod place;

use crate::master::poll::transport::{SSH_COMMAND, SSH_OPTIONS, Transport};
use std::path::{Path, PathBuf};

/// One host, polled or (with `update no`) only drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Group path: `a;b;host` → `["a", "b"]`.
    pub groups: Vec<String>,
    pub name: String,
    /// Empty when none is given (a virtual host).
    pub address: String,
    pub port: u16,
    pub use_node_name: bool,
    /// `update no`: not polled.
    pub update: bool,
    pub update_rate: Option<u32>,
    /// `plugin.field.attr value` / `plugin.attr value` lines, as written.
    pub overrides: Vec<(String, String)>,
    /// Other keys of the host, inherited by its plugins and fields.
    pub settings: Vec<(String, String)>,
    /// `local_address` of this host (else the global one).
    pub local_address: Option<std::net::IpAddr>,
    /// What the host's plugins and fields inherit from the host, its
    /// groups and the global part, farthest first (see [`inherits`]).
    pub inherited: Vec<(String, String)>,
    /// Where the host's first line is, for messages.
    pub origin: String,
    /// Why the host cannot be polled though `update` is on (no address, an
    /// address that does not parse); said once at load.
    pub unpollable: Option<String>,
    /// How it is reached, from `address` and `port` (set at load).
    pub transport: Option<Transport>,
    /// `tls` and the `tls_*` keys: the host's own, else the global ones,
    /// else Munin's defaults (set at load).
    pub tls: crate::tls::Settings,
}

impl Host {
    /// A host `name` in `groups` with Munin's defaults.
    pub fn new(groups: Vec<String>, name: &str) -> Host {
        Host {
            groups,
            name: name.to_string(),
            address: String::new(),
            port: 4949,
            use_node_name: false,
            update: true,
            update_rate: None,
            overrides: Vec::new(),
            settings: Vec::new(),
            local_address: None,
            inherited: Vec::new(),
            origin: String::new(),
            unpollable: None,
            transport: None,
            tls: crate::tls::Settings::master_defaults(),
        }
    }

    /// Whether `update` polls this host.
    pub fn polled(&self) -> bool {
        self.update && self.unpollable.is_none()
    }
}

/// A `[group;]` (or `[a;b;]`) section's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub path: Vec<String>,
    pub settings: Vec<(String, String)>,
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
    /// `local_address`: the address node connections are made from.
    pub local_address: Option<std::net::IpAddr>,
    /// Munin's `timeout` (seconds a node may stay silent),
    /// `timeout_fetch_one_node` and `timeout_fetch_all_nodes`.
    pub timeout: Option<u64>,
    pub timeout_fetch_one_node: Option<u64>,
    pub timeout_fetch_all_nodes: Option<u64>,
    /// `max_processes` (nodes polled at once), `max_graph_jobs` (graphs
    /// drawn at once).
    pub max_processes: Option<usize>,
    pub max_graph_jobs: Option<usize>,
    /// Other global keys, inherited by every group and host.
    pub settings: Vec<(String, String)>,
    pub groups: Vec<Group>,
    pub hosts: Vec<Host>,
    /// Lines accepted but not (fully) used, each `file:line: why`.
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

    /// `key` as `host` inherits it: the host's own setting, else its
    /// groups' from the innermost out, else the global one.
    pub fn inherited<'a>(&'a self, host: &'a Host, key: &str) -> Option<&'a str> {
        self.chain(host)
            .into_iter()
            .find_map(|settings| last(settings, key))
    }

    /// The order munin-html lists the children of group `path` in (`[]`:
    /// the top-level groups): its own `group_order`, else `domain_order`,
    /// else `node_order` (not inherited, as in Munin).
    pub fn order_of(&self, path: &[String]) -> Option<&str> {
        let settings: &[(String, String)] = if path.is_empty() {
            &self.settings
        } else {
            &self.groups.iter().find(|g| g.path == path)?.settings
        };
        ["group_order", "domain_order", "node_order"]
            .into_iter()
            .find_map(|k| last(settings, k))
    }

    /// The settings `host` inherits from, nearest first.
    pub fn chain<'a>(&'a self, host: &'a Host) -> Vec<&'a [(String, String)]> {
        let mut chain: Vec<&[(String, String)]> = vec![&host.settings];
        for depth in (1..=host.groups.len()).rev() {
            let path = &host.groups[..depth];
            if let Some(g) = self.groups.iter().find(|g| g.path == path) {
                chain.push(&g.settings);
            }
        }
        chain.push(&self.settings);
        chain
    }
}

/// The last value of `key` in `settings`.
pub fn last<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
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
            local_address: None,
            timeout: None,
            timeout_fetch_one_node: None,
            timeout_fetch_all_nodes: None,
            max_processes: None,
            max_graph_jobs: None,
            settings: Vec::new(),
            groups: Vec::new(),
            hosts: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl MasterConf {
    /// Reads `path`, then the files of its `includedir`.
    pub fn load(path: &Path) -> Result<MasterConf, String> {
        let mut conf = MasterConf::default();
        let text = read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut includedir = None;
        conf.read_text(path, &text, &mut includedir)?;
        if let Some((dir, at)) = includedir {
            conf.include(&dir, &at)?;
        }
        conf.check_hosts();
        conf.resolve_inheritance();
        Ok(conf)
    }

    /// The files of `dir`, sorted, dot files and editor backups skipped,
    /// each read on its own (as munin-update reads them).
    fn include(&mut self, dir: &Path, at: &str) -> Result<(), String> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.warnings.push(format!(
                    "{at}: includedir {}: {e}; nothing included (Munin warns too)",
                    dir.display()
                ));
                return Ok(());
            }
        };
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
            match read(&f) {
                Ok(text) => {
                    let mut nested = None;
                    self.read_text(&f, &text, &mut nested)?;
                    if let Some((_, at)) = nested {
                        self.warnings.push(format!(
                            "{at}: includedir in an included file is not read (Munin reads only the main file's)"
                        ));
                    }
                }
                Err(e) => self.warnings.push(format!("{}: {e}; skipped", f.display())),
            }
        }
        Ok(())
    }

    /// One file's lines. `includedir` (global, last one wins) is handed
    /// back rather than read here.
    fn read_text(
        &mut self,
        path: &Path,
        text: &str,
        includedir: &mut Option<(PathBuf, String)>,
    ) -> Result<(), String> {
        let parsed = lines::parse(text);
        let at = |n: usize| format!("{}:{n}", path.display());
        for (n, why) in parsed.problems {
            self.warnings.push(format!("{}: {why}", at(n)));
        }
        let mut section = String::new();
        for (n, line) in parsed.lines {
            let at = at(n);
            let (key, value) = match line {
                lines::Line::Section(name) => {
                    section = name;
                    continue;
                }
                lines::Line::Setting { key, value } => (key, value),
            };
            let Some(value) = value else {
                self.warnings
                    .push(format!("{at}: {key} has no value; ignored"));
                continue;
            };
            let (where_, key) = place::resolve(&section, &key);
            if let Some(w) = keys::check(&key) {
                self.warnings.push(format!("{at}: {w}"));
                continue;
            }
            match where_ {
                place::Place::Global if key == "includedir" => {
                    *includedir = Some((PathBuf::from(&value), at));
                }
                place::Place::Global => self.global(&key, &value, &at)?,
                place::Place::Group(path) => self.group_key(path, &key, &value, &at)?,
                place::Place::Host { groups, name } => {
                    let h = self.host_at(groups, &name, &at)?;
                    if key == "includedir" {
                        self.warnings.push(format!(
                            "{at}: includedir inside [{section}] is a setting of that host to Munin: the directory is not read; move the line above the first section"
                        ));
                    } else if let Some(w) = misplaced(&key, &at) {
                        self.warnings.push(w);
                    } else {
                        host_key(&mut self.hosts[h], &key, &value, &at, &mut self.warnings)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn global(&mut self, key: &str, value: &str, at: &str) -> Result<(), String> {
        let mut note = None;
        let mut warn = |w: String| note = Some(format!("{at}: {w}"));
        match key {
            "dbdir" => self.dbdir = value.into(),
            "htmldir" => self.htmldir = value.into(),
            "logdir" => self.logdir = value.into(),
            "rundir" => self.rundir = value.into(),
            "update_rate" => match rate(value) {
                Some(r) => self.update_rate = r,
                None => warn(format!(
                    "update_rate {value:?} is not a number of seconds; ignored"
                )),
            },
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
            "local_address" => match value.parse() {
                Ok(a) => self.local_address = Some(a),
                Err(_) => warn(format!(
                    "local_address {value:?} is not an IP address; ignored"
                )),
            },
            "timeout" | "timeout_fetch_one_node" | "timeout_fetch_all_nodes" => {
                match value.parse::<u64>().ok().filter(|s| *s > 0) {
                    Some(s) if key == "timeout" => self.timeout = Some(s),
                    Some(s) if key == "timeout_fetch_one_node" => {
                        self.timeout_fetch_one_node = Some(s)
                    }
                    Some(s) => self.timeout_fetch_all_nodes = Some(s),
                    None => warn(format!(
                        "{key} {value:?} is not a number of seconds; ignored"
                    )),
                }
            }
            "max_processes" | "max_graph_jobs" => {
                match value.parse::<usize>().ok().filter(|n| *n > 0) {
                    Some(n) if key == "max_processes" => self.max_processes = Some(n),
                    Some(n) => self.max_graph_jobs = Some(n),
                    None => warn(format!("{key} {value:?} is not a positive number; ignored")),
                }
            }
            k if k.starts_with("contact.") => {
                self.contacts.push((k.to_string(), value.to_string()))
            }
            // A plugin's key outside any host: Munin files it where no
            // graph looks.
            k if k.contains('.') => warn(format!(
                "{k} names a plugin but stands outside any host section; ignored (Munin ignores it too)"
            )),
            "graph_strategy" | "notify_after" | "ssh_command" | "ssh_options" => {
                self.settings.push((key.to_string(), value.to_string()))
            }
            k if is_tls(k) => self.settings.push((k.to_string(), value.to_string())),
            k if LIMITS.contains(&k) => self.settings.push((k.to_string(), value.to_string())),
            "group_order" | "domain_order" | "node_order" => {
                if value.contains('=') {
                    warn(format!(
                        "{key}: borrowed entries (name=path) are not supported; the names are ordered, the rest ignored"
                    ));
                }
                self.settings.push((key.to_string(), value.to_string()))
            }
            k if inherits(k).is_some() => self.settings.push((k.to_string(), value.to_string())),
            k => warn(format!(
                "{k} has no effect in the global part (it is a host's setting); ignored"
            )),
        }
        self.warnings.extend(note);
        Ok(())
    }

    fn group_key(
        &mut self,
        path: Vec<String>,
        key: &str,
        value: &str,
        at: &str,
    ) -> Result<(), String> {
        for n in &path {
            path_name(n).map_err(|e| format!("{at}: group {e}"))?;
        }
        if let Some(w) = misplaced(key, at) {
            self.warnings.push(w);
            return Ok(());
        }
        if key.contains('.') {
            self.warnings.push(format!(
                "{at}: {key} names a plugin but stands in a group, not a host; ignored (Munin ignores it too)"
            ));
            return Ok(());
        }
        let order = matches!(key, "group_order" | "domain_order" | "node_order");
        if order && value.contains('=') {
            self.warnings.push(format!(
                "{at}: {key}: borrowed entries (name=path) are not supported; the names are ordered, the rest ignored"
            ));
        }
        if !order && inherits(key).is_none() && !LIMITS.contains(&key) {
            self.warnings.push(format!(
                "{at}: {key} has no effect in a group section (hosts do not take it from their group); ignored"
            ));
            return Ok(());
        }
        let i = match self.groups.iter().position(|g| g.path == path) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    path,
                    settings: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        self.groups[i]
            .settings
            .push((key.to_string(), value.to_string()));
        Ok(())
    }

    /// The host `name` in `groups`, made on its first line (a section
    /// written twice is one host, as in Munin).
    fn host_at(&mut self, groups: Vec<String>, name: &str, at: &str) -> Result<usize, String> {
        if let Some(i) = self
            .hosts
            .iter()
            .position(|h| h.name == name && h.groups == groups)
        {
            return Ok(i);
        }
        for n in groups
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(name))
        {
            path_name(n).map_err(|e| format!("{at}: [{}]: {e}", join(&groups, name)))?;
        }
        let mut h = Host::new(groups, name);
        h.origin = at.to_string();
        self.hosts.push(h);
        Ok(self.hosts.len() - 1)
    }

    /// Fills each host's `inherited` from its chain, farthest first so that
    /// the nearest value comes last and wins.
    fn resolve_inheritance(&mut self) {
        let lists: Vec<Vec<(String, String)>> = self
            .hosts
            .iter()
            .map(|h| {
                self.chain(h)
                    .into_iter()
                    .rev()
                    .flatten()
                    .filter(|(k, _)| inherits(k).is_some())
                    .cloned()
                    .collect()
            })
            .collect();
        for (h, list) in self.hosts.iter_mut().zip(lists) {
            h.inherited = list;
        }
    }

    /// Resolves each host's transport and TLS settings, and says once why
    /// a host that `update` should poll cannot be.
    fn check_hosts(&mut self) {
        let ssh = (
            last(&self.settings, "ssh_command").unwrap_or(SSH_COMMAND),
            last(&self.settings, "ssh_options").unwrap_or(SSH_OPTIONS),
        );
        let transport: Vec<Result<Transport, String>> = self
            .hosts
            .iter()
            .map(|h| Transport::parse(&h.address, h.port, ssh))
            .collect();
        let mut notes = Vec::new();
        for h in &mut self.hosts {
            h.tls = crate::tls::Settings::master_defaults();
            for key in TLS_KEYS {
                let Some((value, at)) = last(&h.settings, key)
                    .map(|v| (v, "host"))
                    .or_else(|| last(&self.settings, key).map(|v| (v, "global")))
                else {
                    continue;
                };
                if let Err(e) = h.tls.set(key, value) {
                    notes.push(format!(
                        "{}: host {} ({at} setting): {e}; Munin's default is kept",
                        h.origin, h.name
                    ));
                }
            }
        }
        self.warnings.extend(notes);
        for (i, h) in self.hosts.iter_mut().enumerate() {
            h.transport = transport[i].clone().ok();
            if !h.update {
                continue;
            }
            let why = if h.address.is_empty() {
                Some(
                    "has no address (write one, or `update no` for a host that is only drawn)"
                        .to_string(),
                )
            } else if let Err(e) = &transport[i] {
                Some(format!("has an address that cannot be used: {e}"))
            } else if h.port == 0 {
                Some("has no usable port".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                self.warnings
                    .push(format!("{}: host {} {why}", h.origin, h.name));
                h.unpollable = Some(why);
            }
        }
    }
}

/// `a;b;host`.
fn join(groups: &[String], name: &str) -> String {
    let mut s = groups.join(";");
    s.push(';');
    s.push_str(name);
    s
}

/// A file's text; bytes that are not UTF-8 are replaced rather than
/// refused, as Munin reads bytes.
fn read(path: &Path) -> std::io::Result<String> {
    std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn host_key(
    h: &mut Host,
    key: &str,
    value: &str,
    at: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    match key {
        "address" => h.address = value.to_string(),
        "port" => match value.parse::<u16>().ok().filter(|p| *p > 0) {
            Some(p) => h.port = p,
            None => {
                warnings.push(format!(
                    "{at}: port {value:?} is not a port number; host {} is not polled",
                    h.name
                ));
                h.port = 0;
            }
        },
        "use_node_name" => h.use_node_name = boolean(value, at)?,
        "update" => h.update = boolean(value, at)?,
        "local_address" => match value.parse() {
            Ok(a) => h.local_address = Some(a),
            Err(_) => warnings.push(format!(
                "{at}: local_address {value:?} is not an IP address; ignored"
            )),
        },
        "update_rate" => match rate(value) {
            Some(r) => h.update_rate = Some(r),
            None => warnings.push(format!(
                "{at}: update_rate {value:?} is not a number of seconds; ignored"
            )),
        },
        k if k.contains('.') => {
            // `plugin.update` is a boolean to Munin as every `update`.
            if k.ends_with(".update") {
                boolean(value, at)?;
            }
            h.overrides.push((k.to_string(), value.to_string()))
        }
        k if inherits(k).is_some() || LIMITS.contains(&k) || is_tls(k) => {
            h.settings.push((k.to_string(), value.to_string()))
        }
        k => warnings.push(format!(
            "{at}: {k} has no effect in a host section; ignored"
        )),
    }
    Ok(())
}

/// The TLS keys a host resolves.
const TLS_KEYS: [&str; 7] = [
    "tls",
    "tls_private_key",
    "tls_certificate",
    "tls_ca_certificate",
    "tls_verify_certificate",
    "tls_verify_depth",
    "tls_match",
];

/// `tls` and `tls_*`: a host's own, else the global one (Munin reads no
/// group's).
fn is_tls(key: &str) -> bool {
    key == "tls" || key.starts_with("tls_")
}

/// Keys munin-limits looks up from a service through its host and groups
/// to the global part (see `limits`).
pub const LIMITS: [&str; 3] = ["contacts", "notify_alias", "unknown_limit"];

/// Settings that only mean something in the global part: inside a host's
/// or group's section they would silently do nothing, so the run says so.
const GLOBAL_ONLY: [&str; 17] = [
    "ssh_command",
    "ssh_options",
    "dbdir",
    "htmldir",
    "logdir",
    "rundir",
    "rrdcached_socket",
    "carbon_server",
    "carbon_port",
    "carbon_prefix",
    "timeout",
    "timeout_fetch_one_node",
    "timeout_fetch_all_nodes",
    "max_processes",
    "max_graph_jobs",
    "graph_strategy",
    "graph_data_size",
];

/// What a key set on a host, a group or globally is inherited by: the
/// plugins' graphs (`graph_*`) or their fields. Munin looks a missing
/// attribute up through the field's plugin, host, groups and the global
/// part; these are the attributes our graphs and limits read that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    Graph,
    Field,
}

/// Whether and where `key` is inherited.
pub fn inherits(key: &str) -> Option<Inherit> {
    const FIELD: [&str; 6] = ["warning", "critical", "draw", "colour", "info", "graph"];
    if key.starts_with("graph_") && !GLOBAL_ONLY.contains(&key) {
        Some(Inherit::Graph)
    } else if FIELD.contains(&key) {
        Some(Inherit::Field)
    } else {
        None
    }
}

/// The warning for a global setting written inside a host's section.
fn misplaced(key: &str, at: &str) -> Option<String> {
    GLOBAL_ONLY.contains(&key).then(|| {
        format!("{at}: {key} is a global setting and has no effect in a host or group section; move it above the first [section]")
    })
}

/// A group or host name that becomes a directory or file name.
pub fn path_name(n: &str) -> Result<&str, String> {
    if n.is_empty() || n == "." || n == ".." || n.contains('/') || n.contains('\0') {
        return Err(format!("{n:?} cannot be a file name"));
    }
    Ok(n)
}

/// Munin's booleans; anything else is refused, as Munin refuses it.
fn boolean(v: &str, at: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("{at}: {v:?} is not yes or no")),
    }
}

/// `update_rate`: seconds, or with Munin's `s`, `m`, `h` or `d` suffix
/// (`aligned` after it is accepted).
fn rate(v: &str) -> Option<u32> {
    let word = v.split_whitespace().next()?;
    let (digits, unit) = match word.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => word.split_at(i),
        None => (word, ""),
    };
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|r| *r > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<MasterConf, String> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("munin.conf");
        std::fs::write(&p, text).unwrap();
        let dir = d.path().display().to_string();
        MasterConf::load(&p)
            .map(|mut c| {
                for w in &mut c.warnings {
                    *w = w.replace(&dir, "D");
                }
                for h in &mut c.hosts {
                    h.origin = h.origin.replace(&dir, "D");
                }
                c
            })
            .map_err(|e| e.replace(&dir, "D"))
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

    /// Debian's munin.conf: `includedir`, then global lines. They stay
    /// global (Munin reads the directory after the whole file), and each
    /// included file starts outside any section.
    #[test]
    fn lines_after_includedir_stay_global() {
        let d = tempfile::tempdir().unwrap();
        let inc = d.path().join("conf.d");
        std::fs::create_dir(&inc).unwrap();
        std::fs::write(inc.join("a.conf"), "[a.example.org]\naddress 1\n").unwrap();
        std::fs::write(inc.join("b.conf"), "graph_width 500\n[b]\naddress 2\n").unwrap();
        let p = d.path().join("munin.conf");
        std::fs::write(
            &p,
            format!(
                "includedir {}\ngraph_strategy cgi\ncontact.me.command true\n[local]\naddress 127.0.0.1\n",
                inc.display()
            ),
        )
        .unwrap();
        let c = MasterConf::load(&p).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let names: Vec<&str> = c.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, vec!["local", "a.example.org", "b"]);
        assert_eq!(last(&c.settings, "graph_strategy"), Some("cgi"));
        assert_eq!(last(&c.settings, "graph_width"), Some("500"));
        assert_eq!(c.contacts.len(), 1);
        assert!(c.hosts.iter().all(|h| h.settings.is_empty()));
    }

    #[test]
    fn includedir_missing_or_misplaced_is_a_warning() {
        let c = load("includedir /nonexistent/munin-conf.d\n[h]\naddress x\n").unwrap();
        assert_eq!(c.hosts.len(), 1);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].starts_with("D/munin.conf:1: includedir /nonexistent"));
        let c = load("[h]\naddress x\nincludedir /etc\n").unwrap();
        assert!(
            c.warnings[0].contains(":3: includedir inside [h]"),
            "{:?}",
            c.warnings
        );
        assert_eq!(c.hosts.len(), 1);
    }

    #[test]
    fn repeated_sections_are_one_host_and_empty_ones_none() {
        let c = load(
            "[h.example.org]\n\n[h.example.org]\naddress x\n[e]\n[h.example.org]\nport 4950\n",
        )
        .unwrap();
        assert_eq!(c.hosts.len(), 1);
        assert_eq!((c.hosts[0].address.as_str(), c.hosts[0].port), ("x", 4950));
        assert_eq!(c.hosts[0].origin, "D/munin.conf:4");
    }

    /// Munin's stock aggregate example: a virtual host with `update no`,
    /// no address, continued lines. It loads, and is not polled.
    #[test]
    fn virtual_hosts_and_continuations_load() {
        let c = load(
            "[foo.com;Totals]\n  update no\n  load1.graph_title Loads side by side\n  load1.graph_order fii=fii.foo.com:load.load fay=fay.foo.com:load.load\n\
             load3.combined_loads.sum \\\n    fii.foo.com:load.load \\\n    fay.foo.com:load.load\n[foo.com;fii.foo.com]\n  address 1\n",
        )
        .unwrap();
        let t = &c.hosts[0];
        assert_eq!(
            (t.name.as_str(), t.update, t.polled()),
            ("Totals", false, false)
        );
        assert!(c.hosts[1].polled());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            t.overrides.last(),
            Some(&(
                "load3.combined_loads.sum".to_string(),
                // The indentation of continued lines stays, as munin-html
                // and munin-graph read it.
                "fii.foo.com:load.load     fay.foo.com:load.load".to_string()
            ))
        );
        let c = load("[h]\nport 1\n").unwrap();
        assert!(!c.hosts[0].polled());
        assert!(
            c.warnings[0].contains("D/munin.conf:2: host h has no address"),
            "{:?}",
            c.warnings
        );
    }

    /// `graph_*`, `warning` and friends set globally, on a group or on a
    /// host reach the host's graphs, nearest first.
    #[test]
    fn settings_are_inherited_nearest_first() {
        let c = load(
            "graph_width 500\ngraph_height 200\nwarning 90\n[web;]\ngraph_width 600\n[web;front;]\ngraph_period minute\n\
             [web;front;w1]\naddress x\ngraph_height 300\n[other]\naddress y\n",
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let w1 = &c.hosts[0];
        assert_eq!(c.inherited(w1, "graph_width"), Some("600"));
        assert_eq!(c.inherited(w1, "graph_height"), Some("300"));
        assert_eq!(c.inherited(w1, "graph_period"), Some("minute"));
        assert_eq!(last(&w1.inherited, "graph_width"), Some("600"));
        assert_eq!(last(&w1.inherited, "warning"), Some("90"));
        let other = &c.hosts[1];
        assert_eq!(c.inherited(other, "graph_width"), Some("500"));
        assert_eq!(c.inherited(other, "graph_period"), None);
    }

    /// Each key Munin has and we do not implement, and each key Munin does
    /// not know, gives exactly one warning naming file and line.
    #[test]
    fn each_unsupported_or_unknown_key_warns_once_with_its_line() {
        let mut text = String::from("[h]\naddress x\n");
        let mut expect = Vec::new();
        for (i, k) in keys::KEYWORDS.iter().enumerate() {
            if let keys::Support::No(_) = k.support {
                text.push_str(&format!("p{i}.f.{} v\n", k.name));
                expect.push((text.lines().count(), format!("p{i}.f.{}", k.name)));
            }
        }
        text.push_str("some_variable value\n");
        expect.push((text.lines().count(), "some_variable".into()));
        let c = load(&text).unwrap();
        assert_eq!(c.warnings.len(), expect.len(), "{:#?}", c.warnings);
        for (w, (line, key)) in c.warnings.iter().zip(&expect) {
            assert!(
                w.starts_with(&format!("D/munin.conf:{line}: {key}: ")),
                "{w} vs {key}"
            );
        }
    }

    /// Garbage, as a broken or hostile munin.conf holds it: never a
    /// panic; an error or warnings that name file and line.
    #[test]
    fn garbage_never_panics() {
        let words: &[&str] = &[
            "[",
            "]",
            "[a;b]",
            "[;]",
            "[x:y.z]",
            ";",
            ":",
            ".",
            "\\",
            "\\#",
            "#",
            "=",
            "address",
            "update",
            "no",
            "yes",
            "maybe",
            "port",
            "0",
            "70000",
            "includedir",
            "/nonexistent",
            "contact.x.command",
            "${var:host}",
            "a.b.c.d.e",
            "graph_order",
            "x=y:z.w",
            "\0",
            "\u{feff}",
            "  ",
            "\t",
            "\r",
            "\n",
            "\n",
            "\n",
            "é",
            "node_order",
            "sum",
            "stack",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..60 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(words[(seed % words.len() as u64) as usize]);
                if seed.is_multiple_of(3) {
                    text.push(' ');
                }
            }
            match load(&text) {
                Ok(c) => assert!(
                    c.warnings
                        .iter()
                        .all(|w| w.starts_with("D/munin.conf:") || w.contains("includedir"))
                ),
                Err(e) => assert!(e.starts_with("D/munin.conf:"), "{e}"),
            }
        }
    }

    #[test]
    fn orders_of_groups_and_the_top() {
        let c = load(
            "domain_order b.org a.org\n[foo.bar;]\nnode_order fii.foo.bar bing.foo.bar\n[x;]\ngroup_order y=z\n",
        )
        .unwrap();
        assert_eq!(c.order_of(&[]), Some("b.org a.org"));
        assert_eq!(
            c.order_of(&["foo.bar".into()]),
            Some("fii.foo.bar bing.foo.bar")
        );
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains(":5: group_order: borrowed entries"));
    }

    #[test]
    fn munin_conf_timeouts_and_jobs() {
        let c = load(
            "timeout 7\ntimeout_fetch_one_node 30\ntimeout_fetch_all_nodes 200\nmax_processes 16\nmax_graph_jobs 3\nlocal_address 127.0.0.2\n[h]\naddress x\nlocal_address ::1\nupdate_rate 5m\n",
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            (
                c.timeout,
                c.timeout_fetch_one_node,
                c.timeout_fetch_all_nodes
            ),
            (Some(7), Some(30), Some(200))
        );
        assert_eq!((c.max_processes, c.max_graph_jobs), (Some(16), Some(3)));
        assert_eq!(c.local_address, Some("127.0.0.2".parse().unwrap()));
        assert_eq!(c.hosts[0].local_address, Some("::1".parse().unwrap()));
        assert_eq!(c.hosts[0].update_rate, Some(300));
    }

    #[test]
    fn errors_and_warnings_name_file_and_line() {
        let c = load("dbdir\n").unwrap();
        assert_eq!(
            c.warnings,
            vec!["D/munin.conf:1: dbdir has no value; ignored"]
        );
        let c = load("[h]\naddress x\nport http\n").unwrap();
        assert!(c.warnings[0].starts_with("D/munin.conf:3: port \"http\" is not a port number"));
        assert!(!c.hosts[0].polled());
        let c = load("[g;h\n").unwrap();
        assert!(
            c.warnings[0].starts_with("D/munin.conf:1: [g;h has no value"),
            "{:?}",
            c.warnings
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
        assert_eq!(
            load("[h]\naddress x\nuse_node_name maybe\n").unwrap_err(),
            "D/munin.conf:3: \"maybe\" is not yes or no"
        );
        let c = load("update_rate soon\n").unwrap();
        assert!(c.warnings[0].contains(":1: update_rate \"soon\""));
        let c = load("address x\n[g;]\nport 5\n").unwrap();
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    }
}
