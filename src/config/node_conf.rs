//! `munin-node.conf`: the node daemon's own settings.
//!
//! The real file mixes keys of Net::Server (`host`, `port`, `allow`, `user`,
//! `log_file`, ...) with Munin's (`host_name`, `ignore_file`, `timeout`, ...).
//! We read the same syntax: `key value` per line, repeatable keys (`allow`,
//! `deny`, `cidr_allow`, `cidr_deny`, `ignore_file`) accumulate, the last
//! value of any other key wins.
//!
//! What goes wrong is graded: a key we do not know, or a line without a value,
//! is a warning naming file and line (the daemon still starts); a setting that
//! would make the node less safe than the file asks for (a regular expression
//! or CIDR that does not parse in an access rule, a `tls` word or
//! `tls_match` pattern we cannot read) is a fatal [`Diagnostic`].
//!
//! Keys of our own, all optional: `servicedir` and `sconfdir` (the plugin and
//! plugin-conf.d directories, relative to the file's directory),
//! `plugin_state_dir`, `idle_timeout`, `max_plugin_output`, and the limits
//! that keep hostile clients from locking masters out: `line_timeout`,
//! `max_connections_per_ip`, `reserve_for` (repeatable) with
//! `reserved_servers`, `max_plugin_output_total`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex_lite::Regex;

use super::Diagnostic;
use super::lines::{logical_lines, split_key_value};
use crate::node::access::{AccessList, Cidr};

/// Name used in messages for the configuration compiled into the binary.
/// Where the embedded config stands in for a file: Munin's installed
/// layout, so a node started without `--config` serves `/etc/munin/plugins`
/// with `/etc/munin/plugin-conf.d`, as Debian's does (never a path of the
/// machine that built it).
pub const DEFAULT_DIR: &str = "/etc/munin";
pub const EMBEDDED_NAME: &str = "<embedded default munin-node.conf>";

/// The configuration compiled into the binary, used when `--config` is absent.
pub const EMBEDDED: &str = include_str!("../../etc/munin-node.conf");

/// Everything munin-node.conf can say. `None` means "not set in the file".
#[derive(Debug, Default)]
pub struct NodeConfig {
    /// Where the settings came from, for messages.
    pub source: String,
    /// Directory of the file, for relative paths (None for the embedded file).
    pub dir: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub host_name: Option<String>,
    pub access: AccessList,
    pub timeout: Option<Duration>,
    pub global_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub ignore_files: Vec<Regex>,
    pub paranoia: bool,
    /// `tls` and the `tls_*` keys, over the node's defaults; `None` when
    /// the file has none.
    pub tls: Option<crate::tls::Settings>,
    pub default_plugin_user: Option<String>,
    pub default_plugin_group: Option<String>,
    pub servicedir: Option<PathBuf>,
    pub sconfdir: Option<PathBuf>,
    pub plugin_state_dir: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub max_servers: Option<usize>,
    pub max_plugin_output: Option<usize>,
    /// Plugin output held by all connections together, in bytes.
    pub max_plugin_output_total: Option<usize>,
    /// Longest a command line may take to arrive once begun.
    pub line_timeout: Option<Duration>,
    pub max_connections_per_ip: Option<usize>,
    /// Peers (masters) for whom `reserved_servers` of the `max_servers`
    /// sessions are kept; `None`: loopback.
    pub reserve_for: Option<Vec<Cidr>>,
    pub reserved_servers: Option<usize>,
}

/// Net::Server and Munin keys that a daemon supervisor handles for us, or
/// that change nothing in this implementation. Accepted without a warning.
const ACCEPTED_QUIETLY: &[&str] = &[
    "background",
    "setsid",
    "log_level",
    "syslog_ident",
    "syslog_facility",
    "syslog_logsock",
    "syslog_logopt",
    "log_function",
    "reverse_lookups",
    "chroot",
    "proto",
    "ipv",
    "listen",
    "min_servers",
    "max_requests",
    "min_spare_servers",
    "max_spare_servers",
    "check_for_dead",
    "check_for_waiting",
    "leave_children_open_on_hup",
    "no_client_stdout",
    "spooldir",
    "update_rate",
];

/// The result of parsing: the settings plus warnings worth logging.
#[derive(Debug)]
pub struct Parsed {
    pub config: NodeConfig,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and parses a munin-node.conf file.
pub fn parse_file(path: &Path) -> Result<Parsed, Diagnostic> {
    let name = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Diagnostic::new(&name, 0, format!("cannot read: {e}")))?;
    let content = String::from_utf8_lossy(&bytes);
    let dir = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    });
    parse_str(&name, dir, &content)
}

/// The embedded default configuration.
pub fn embedded() -> Parsed {
    // The embedded file is part of the build and covered by a unit test, so a
    // failure here is a programming error caught before release.
    parse_str(EMBEDDED_NAME, Some(PathBuf::from(DEFAULT_DIR)), EMBEDDED)
        .expect("embedded munin-node.conf parses")
}

/// Parses munin-node.conf text. `name` is used in messages.
pub fn parse_str(name: &str, dir: Option<PathBuf>, content: &str) -> Result<Parsed, Diagnostic> {
    let mut config = NodeConfig {
        source: name.to_string(),
        dir,
        ..NodeConfig::default()
    };
    let mut warnings = Vec::new();
    for (line, text) in logical_lines(content) {
        let diag = |msg: String| Diagnostic::new(name, line, msg);
        let Some((key, value)) = split_key_value(&text) else {
            warnings.push(diag(format!("line is not 'key value', ignored: {text:?}")));
            continue;
        };
        let fatal = |msg: String| Err(diag(format!("{key}: {msg}")));
        match key {
            "host" => config.host = Some(value.to_string()),
            "port" => match value.parse() {
                Ok(p) => config.port = Some(p),
                Err(_) => return fatal(format!("not a port number: {value:?}")),
            },
            "host_name" | "hostname" => config.host_name = Some(value.to_string()),
            "allow" | "deny" | "cidr_allow" | "cidr_deny" => {
                if let Err(e) = config.access.add_rule(key, value) {
                    return fatal(e);
                }
            }
            "ignore_file" => match Regex::new(value) {
                Ok(re) => config.ignore_files.push(re),
                Err(e) => return fatal(format!("invalid regular expression {value:?}: {e}")),
            },
            "timeout" => {
                config.timeout = Some(seconds(value).map_err(|m| diag(format!("{key}: {m}")))?)
            }
            "global_timeout" => {
                config.global_timeout =
                    Some(seconds(value).map_err(|m| diag(format!("{key}: {m}")))?)
            }
            "idle_timeout" => {
                config.idle_timeout = Some(seconds(value).map_err(|m| diag(format!("{key}: {m}")))?)
            }
            "paranoia" => match parse_bool(value) {
                Some(b) => config.paranoia = b,
                None => return fatal(format!("expected yes or no, got {value:?}")),
            },
            "default_plugin_user" | "default_client_user" => {
                config.default_plugin_user = Some(value.to_string())
            }
            "default_plugin_group" | "default_client_group" => {
                config.default_plugin_group = Some(value.to_string())
            }
            "servicedir" => config.servicedir = Some(PathBuf::from(value)),
            "sconfdir" => config.sconfdir = Some(PathBuf::from(value)),
            "plugin_state_dir" => config.plugin_state_dir = Some(PathBuf::from(value)),
            "log_file" => config.log_file = Some(PathBuf::from(value)),
            "pid_file" => config.pid_file = Some(PathBuf::from(value)),
            "max_servers" => match value.parse() {
                Ok(n) if n > 0 => config.max_servers = Some(n),
                _ => return fatal(format!("expected a positive number, got {value:?}")),
            },
            "max_plugin_output_total" => match value.parse() {
                Ok(n) if n > 0 => config.max_plugin_output_total = Some(n),
                _ => {
                    return fatal(format!(
                        "expected a positive number of bytes, got {value:?}"
                    ));
                }
            },
            "line_timeout" => {
                config.line_timeout = Some(seconds(value).map_err(|m| diag(format!("{key}: {m}")))?)
            }
            "max_connections_per_ip" => match value.parse() {
                Ok(n) if n > 0 => config.max_connections_per_ip = Some(n),
                _ => return fatal(format!("expected a positive number, got {value:?}")),
            },
            "reserved_servers" => match value.parse() {
                Ok(n) => config.reserved_servers = Some(n),
                _ => return fatal(format!("expected a number, got {value:?}")),
            },
            "reserve_for" => {
                let list = config.reserve_for.get_or_insert_with(Vec::new);
                for word in value.split_whitespace() {
                    match Cidr::parse(word) {
                        Ok(c) => list.push(c),
                        Err(e) => return fatal(e),
                    }
                }
            }
            "max_plugin_output" => match value.parse() {
                Ok(n) if n > 0 => config.max_plugin_output = Some(n),
                _ => {
                    return fatal(format!(
                        "expected a positive number of bytes, got {value:?}"
                    ));
                }
            },
            k if k == "tls" || k.starts_with("tls_") => {
                let tls = config
                    .tls
                    .get_or_insert_with(crate::tls::Settings::node_defaults);
                match tls.set(k, value) {
                    Ok(true) => {}
                    Ok(false) => warnings.push(diag(format!("unknown key {key:?} ignored"))),
                    Err(e) => return fatal(e),
                }
                if k == "tls_match"
                    && let Err(e) = regex_lite::Regex::new(value)
                {
                    return fatal(format!("not a regular expression: {e}"));
                }
            }
            // The daemon keeps root so that it can switch to each plugin's
            // user; plugins never run as root unless plugin-conf.d says so.
            "user" | "group" => {}
            k if ACCEPTED_QUIETLY.contains(&k) => {}
            _ => warnings.push(diag(format!("unknown key {key:?} ignored"))),
        }
    }
    Ok(Parsed { config, warnings })
}

/// Parses a duration in seconds (`60`, `2.5`).
pub fn seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "expected a positive number of seconds, got {value:?}"
        )),
    }
}

/// Munin's boolean words.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" | "enable" | "enabled" => Some(true),
        "no" | "false" | "off" | "0" | "disable" | "disabled" => Some(false),
        _ => None,
    }
}

impl NodeConfig {
    /// Resolves a path from the file against the file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match &self.dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Parsed, Diagnostic> {
        parse_str("test.conf", None, s)
    }

    #[test]
    fn embedded_default_parses_without_warnings() {
        let p = embedded();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.config.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(p.config.port, Some(4949));
    }

    #[test]
    fn debian_shipped_file_parses() {
        // The keys of Debian's /etc/munin/munin-node.conf, as a user drops it in.
        let text = "log_level 4\nlog_file /var/log/munin/munin-node.log\n\
            pid_file /var/run/munin/munin-node.pid\nbackground 1\nsetsid 1\n\
            user root\ngroup root\nignore_file [\\#~]$\nignore_file DEADJOE$\n\
            ignore_file \\.dpkg-(tmp|new|old|dist)$\nallow ^127\\.0\\.0\\.1$\n\
            allow ^::1$\nhost *\nport 4949\n";
        let p = parse(text).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let c = p.config;
        assert_eq!(c.host.as_deref(), Some("*"));
        assert_eq!(c.ignore_files.len(), 3);
        assert!(c.ignore_files[0].is_match("foo~"));
        assert!(c.ignore_files[0].is_match("foo#"));
        assert!(!c.ignore_files[0].is_match("foo"));
        assert_eq!(
            c.log_file.as_deref(),
            Some(Path::new("/var/log/munin/munin-node.log"))
        );
    }

    #[test]
    fn unknown_key_is_a_warning_with_file_and_line() {
        let p = parse("port 4949\n\nfrobnicate 3\n").unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(
            p.warnings[0].to_string(),
            "test.conf:3: unknown key \"frobnicate\" ignored"
        );
    }

    #[test]
    fn line_without_value_is_a_warning() {
        let p = parse("host_name\n").unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].line, 1);
    }

    #[test]
    fn bad_access_regex_is_fatal() {
        let e = parse("allow ^127\\.0\\.0\\.1$\nallow ^(127\n").unwrap_err();
        assert_eq!(e.file, "test.conf");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("allow"), "{e}");
    }

    #[test]
    fn bad_numbers_are_fatal() {
        assert_eq!(parse("port http\n").unwrap_err().line, 1);
        assert_eq!(parse("timeout soon\n").unwrap_err().line, 1);
        assert!(parse("tls sometimes\n").is_err());
        assert!(parse("tls_verify_depth deep\n").is_err());
        assert!(parse("tls_match ^(\n").is_err());
        let tls = parse("tls paranoid\ntls_verify_certificate yes\n")
            .unwrap()
            .config
            .tls
            .unwrap();
        assert_eq!(tls.mode, crate::tls::Mode::Paranoid);
        assert!(tls.verify);
        assert_eq!(
            tls.certificate,
            std::path::Path::new("/etc/munin/munin-node.pem")
        );
    }

    #[test]
    fn timeouts_and_last_value_wins() {
        let c = parse("timeout 10\ntimeout 2.5\nglobal_timeout 30\n")
            .unwrap()
            .config;
        assert_eq!(c.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(c.global_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let c = parse_str(
            "x",
            Some(PathBuf::from("/etc/munin")),
            "servicedir plugins\n",
        )
        .unwrap()
        .config;
        assert_eq!(
            c.resolve(c.servicedir.as_ref().unwrap()),
            PathBuf::from("/etc/munin/plugins")
        );
    }
}
