//! The built-in plugins of the `munin-plugins` binary: Munin's core system
//! graphs, read straight from /proc and /sys.
//!
//! Adding a plugin touches three places (STYLE.md §2): a file here with a
//! unit struct implementing [`Plugin`], one entry in [`BUILTIN`], and its
//! expected output per kernel snapshot, `tests/fixtures/proc/*/expected/`
//! (written by `UPDATE_EXPECT=1 cargo test plugins_matrix`, then reviewed).
//!
//! Every plugin reads through a [`ProcRoot`], with a thin reader and a pure
//! `parse` per file, and writes the same plugin name, graph names, field
//! names, types, `min`/`max`, `draw`, `graph_order` and `graph_args` as
//! Debian's munin-plugins-core equivalent, so a Munin user who switches
//! keeps every RRD file. Titles, labels and info texts are our own words.

pub mod blockdev;
pub mod check;
pub mod cpu;
pub mod df;
pub mod diskrates;
pub mod diskstate;
pub mod diskstats;
pub mod entropy;
pub mod forks;
pub mod if_;
pub mod if_err_;
pub mod interrupts;
pub mod load;
pub mod memory;
pub mod mounts;
pub mod netdev;
pub mod netstat;
pub mod open_files;
pub mod processes;
pub mod procstat;
pub mod swap;
pub mod threads;
pub mod uptime;
pub mod vmstat;

use std::fmt;

use crate::proc::ProcRoot;

/// Why a plugin could not answer; the message says what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError(pub String);

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PluginError {}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        PluginError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, PluginError>;

/// `autoconf`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Autoconf {
    Yes,
    No(String),
}

/// The environment a plugin sees (plugin-conf.d's `env.*` among it).
#[derive(Debug, Clone, Default)]
pub struct Env(pub Vec<(String, String)>);

impl Env {
    /// The process's own environment.
    pub fn from_process() -> Env {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the master announced multigraph support (munin-node always does).
    pub fn multigraph(&self) -> bool {
        self.get("MUNIN_CAP_MULTIGRAPH") == Some("1")
    }
}

/// The machine a plugin reads: the snapshot named by `MUNIN_PLUGINS_ROOT`
/// (tests, or a node graphing a captured machine), else the running one.
pub fn root_from_env(env: &Env) -> ProcRoot {
    match env.get("MUNIN_PLUGINS_ROOT") {
        Some(dir) if !dir.is_empty() => ProcRoot::snapshot(std::path::Path::new(dir)),
        _ => ProcRoot::system(),
    }
}

/// What one run of a plugin sees.
pub struct Context<'a> {
    pub root: &'a ProcRoot,
    /// The part of the name after a wildcard prefix (`eth0` of `if_eth0`),
    /// empty for plain plugins.
    pub arg: &'a str,
    pub env: &'a Env,
}

/// A built-in plugin.
pub trait Plugin: Sync {
    /// Munin's name; a wildcard plugin's name ends in `_` (`if_`).
    fn name(&self) -> &'static str;
    fn config(&self, cx: &Context) -> Result<String>;
    fn fetch(&self, cx: &Context) -> Result<String>;
    fn autoconf(&self, _cx: &Context) -> Autoconf {
        Autoconf::Yes
    }
    /// For wildcard plugins: the arguments worth linking (interfaces, ...).
    fn suggest(&self, _cx: &Context) -> Vec<String> {
        Vec::new()
    }
}

/// Every built-in plugin, by hand (STYLE.md §2).
pub static BUILTIN: &[&dyn Plugin] = &[
    &cpu::Cpu,
    &df::Df,
    &df::DfInode,
    &diskstats::Diskstats,
    &entropy::Entropy,
    &forks::Forks,
    &if_::If,
    &if_err_::IfErr,
    &interrupts::Interrupts,
    &load::Load,
    &memory::Memory,
    &netstat::Netstat,
    &open_files::OpenFiles,
    &processes::Processes,
    &swap::Swap,
    &threads::Threads,
    &uptime::Uptime,
    &vmstat::Vmstat,
];

/// The plugin for a program name and its wildcard argument: an exact name,
/// else the longest wildcard prefix with something after it.
pub fn lookup(name: &str) -> Option<(&'static dyn Plugin, &str)> {
    if let Some(p) = BUILTIN
        .iter()
        .find(|p| !p.name().ends_with('_') && p.name() == name)
    {
        return Some((*p, ""));
    }
    BUILTIN
        .iter()
        .filter(|p| {
            p.name().ends_with('_') && name.len() > p.name().len() && name.starts_with(p.name())
        })
        .max_by_key(|p| p.name().len())
        .map(|p| (*p, &name[p.name().len()..]))
}

/// [`lookup`], and for `autoconf` and `suggest` also a wildcard plugin by
/// its own name (`if_ suggest`), as Munin's wildcard plugins answer them.
pub fn lookup_for<'a>(name: &'a str, arg: Option<&str>) -> Option<(&'static dyn Plugin, &'a str)> {
    // Exact names first: `if_err_` is itself, not `if_` for "err_".
    let own = matches!(arg, Some("autoconf" | "suggest"))
        .then(|| BUILTIN.iter().find(|p| p.name() == name).map(|p| (*p, "")))
        .flatten();
    own.or_else(|| lookup(name))
}

/// The mode a plugin is run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Config,
    Fetch,
    Autoconf,
    Suggest,
}

impl Mode {
    /// Munin's argument (`None` or anything unknown is fetch).
    pub fn from_arg(arg: Option<&str>) -> Mode {
        match arg {
            Some("config") => Mode::Config,
            Some("autoconf") => Mode::Autoconf,
            Some("suggest") => Mode::Suggest,
            _ => Mode::Fetch,
        }
    }
}

/// Runs `plugin` in `mode`; the output is what the plugin prints on stdout.
pub fn run(plugin: &dyn Plugin, mode: Mode, cx: &Context) -> Result<String> {
    match mode {
        Mode::Config => plugin.config(cx),
        Mode::Fetch => plugin.fetch(cx),
        Mode::Autoconf => Ok(match plugin.autoconf(cx) {
            Autoconf::Yes => "yes\n".into(),
            Autoconf::No(why) => format!("no ({why})\n"),
        }),
        Mode::Suggest => Ok(plugin.suggest(cx).into_iter().map(|s| s + "\n").collect()),
    }
}

/// Appends `field.attr value` lines.
pub fn field(out: &mut String, name: &str, attrs: &[(&str, &str)]) {
    for (attr, value) in attrs {
        out.push_str(name);
        out.push('.');
        out.push_str(attr);
        out.push(' ');
        out.push_str(value);
        out.push('\n');
    }
}

/// Appends `key value` lines.
pub fn lines(out: &mut String, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        out.push_str(k);
        out.push(' ');
        out.push_str(v);
        out.push('\n');
    }
}

/// A field's `level` (`warning` or `critical`) limit from the environment,
/// as Munin's plugin.sh looks it up: `FIELD_level`, else `level`; empty
/// counts as unset.
pub fn threshold<'a>(cx: &Context<'a>, name: &str, level: &str) -> Option<&'a str> {
    cx.env
        .get(&format!("{name}_{level}"))
        .or_else(|| cx.env.get(level))
        .filter(|v| !v.is_empty())
}

/// `FIELD.warning` / `FIELD.critical` lines for one field.
pub fn thresholds(out: &mut String, cx: &Context, name: &str) {
    thresholds_each(out, cx, &[name]);
}

/// The same for several fields in Munin's order: every field's warning,
/// then every field's critical.
pub fn thresholds_each(out: &mut String, cx: &Context, names: &[&str]) {
    for level in ["warning", "critical"] {
        for name in names {
            if let Some(v) = threshold(cx, name, level) {
                field(out, name, &[(level, v)]);
            }
        }
    }
}

/// Munin::Plugin's `clean_fieldname`: a leading run of characters outside
/// `[A-Za-z_]` becomes one `_`, every other character outside
/// `[A-Za-z0-9_]` becomes `_` (bytewise), and `root` becomes `__root`.
pub fn clean_fieldname(name: &str) -> String {
    let b = name.as_bytes();
    let lead = b
        .iter()
        .take_while(|c| !(c.is_ascii_alphabetic() || **c == b'_'))
        .count();
    let mut out = String::with_capacity(b.len());
    if lead > 0 {
        out.push('_');
    }
    for &c in &b[lead..] {
        out.push(if c.is_ascii_alphanumeric() || c == b'_' {
            c as char
        } else {
            '_'
        });
    }
    if out == "root" { "__root".into() } else { out }
}

pub use crate::numfmt::perl_number;

/// A value copied from a kernel file, or `U` (unknown) when it is not a
/// number: a damaged file must not put garbage on the wire.
pub fn number(s: &str) -> &str {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !int.is_empty() && all(int) && all(frac) {
        s
    } else {
        "U"
    }
}

/// A reader's failure, naming the file.
pub fn missing(what: &str) -> PluginError {
    PluginError(format!("{what} not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut names: Vec<&str> = BUILTIN.iter().map(|p| p.name()).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate names");
        for name in names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn perl_clean_fieldname() {
        for (raw, want) in [
            ("/dev/sda1", "_dev_sda1"),
            ("/dev/mapper/vg-root", "_dev_mapper_vg_root"),
            ("//x/y", "_x_y"),
            ("/", "_"),
            ("vg0/lv-data", "vg0_lv_data"),
            ("dm-3", "dm_3"),
            ("123abc", "_abc"),
            ("root", "__root"),
            ("café", "caf__"),
        ] {
            assert_eq!(clean_fieldname(raw), want, "{raw}");
        }
    }

    #[test]
    fn kernel_values_or_unknown() {
        for ok in ["0", "123", "-1", "0.97"] {
            assert_eq!(number(ok), ok);
        }
        for bad in ["", "-", "32xx", "1 2", ".5", "1.2.3", "x"] {
            assert_eq!(number(bad), "U", "{bad:?}");
        }
    }

    #[test]
    fn perl_numbers() {
        assert_eq!(perl_number(53.0), "53");
        assert_eq!(perl_number(17.766483951957312), "17.7664839519573");
        assert_eq!(perl_number(3.2409553039854e-05), "3.2409553039854e-05");
        assert_eq!(perl_number(0.0), "0");
    }

    #[test]
    fn wildcard_lookup_takes_the_longest_prefix() {
        assert_eq!(lookup("cpu").map(|(p, a)| (p.name(), a)), Some(("cpu", "")));
        assert!(lookup("cpux").is_none());
        assert_eq!(
            lookup("if_eth0").map(|(p, a)| (p.name(), a)),
            Some(("if_", "eth0"))
        );
        assert_eq!(
            lookup("if_err_eth0").map(|(p, a)| (p.name(), a)),
            Some(("if_err_", "eth0"))
        );
        assert!(lookup("if_").is_none(), "a wildcard needs its argument");
        assert!(lookup_for("if_", Some("fetch")).is_none());
        assert_eq!(
            lookup_for("if_", Some("suggest")).map(|(p, a)| (p.name(), a)),
            Some(("if_", ""))
        );
        assert_eq!(
            lookup_for("if_err_", Some("autoconf")).map(|(p, a)| (p.name(), a)),
            Some(("if_err_", ""))
        );
        assert!(lookup("nosuch").is_none());
    }
}
