//! `plugin-conf.d`: per-plugin settings (`env.*`, `user`, `group`, `timeout`,
//! `command`, `host_name`), with the real node's precedence rules.
//!
//! Files are read in sorted order; hidden files, names with odd characters and
//! names matching an `ignore_file` pattern are skipped. A section that appears
//! in several files is merged key by key, the later file winning. A line that
//! does not parse ends that file (its earlier lines stay in effect, other files
//! are unaffected), exactly what munin-node 2.0 does; we report it as a
//! [`Diagnostic`] naming file and line.
//!
//! Sections whose name starts or ends with `*` are wildcards. For a plugin, an
//! exact section's keys always win; then wildcard sections, in reverse lexical
//! order of their names (`[test_e*]` before `[test_*]` before `[*_env]`), fill
//! in only the keys still unset, environment variables one by one. As in
//! Munin, the text around the `*` is used as a regular expression, anchored at
//! the start (`[if_*]`) or the end (`[*_env]`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use regex_lite::Regex;

use super::Diagnostic;
use super::lines::{logical_lines, split_key_value};
use super::node_conf::seconds;

/// The settings of one section, or of one plugin after resolution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub env: BTreeMap<String, String>,
    pub user: Option<String>,
    /// Group names or ids; `(name)` marks a group that may be missing.
    pub group: Option<Vec<String>>,
    /// Command tokens; `%c` stands for the plugin path and its argument.
    pub command: Option<Vec<String>>,
    pub host_name: Option<String>,
    pub timeout: Option<Duration>,
    /// Parsed for compatibility; the node itself has no use for it.
    pub update_rate: Option<String>,
}

impl Section {
    /// Sets every key of `other` that is set there (later file wins).
    fn merge_from(&mut self, other: Section) {
        self.env.extend(other.env);
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(user, group, command, host_name, timeout, update_rate);
    }

    /// Sets the keys of `wild` that are still unset here.
    fn fill_from(&mut self, wild: &Section) {
        for (k, v) in &wild.env {
            self.env.entry(k.clone()).or_insert_with(|| v.clone());
        }
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = wild.$f.clone(); } )* };
        }
        fill!(user, group, command, host_name, timeout, update_rate);
    }
}

/// A wildcard section and the pattern it applies to.
#[derive(Debug)]
struct Wildcard {
    name: String,
    pattern: Regex,
}

/// All sections of a plugin-conf.d directory (or of one file).
#[derive(Debug, Default)]
pub struct PluginConf {
    sections: BTreeMap<String, Section>,
    /// Compiled wildcard sections, in the order they are applied.
    wildcards: Vec<Wildcard>,
}

/// Whether a plugin-conf.d file name is read at all (besides `ignore_file`).
fn is_conf_file_name(name: &str) -> bool {
    !name.starts_with('.')
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

impl PluginConf {
    /// Reads every eligible file of `dir` in sorted order.
    pub fn load_dir(dir: &Path, ignores: &[Regex]) -> (PluginConf, Vec<Diagnostic>) {
        let mut conf = PluginConf::default();
        let mut diags = Vec::new();
        let dir_name = dir.display().to_string();
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(e) => {
                diags.push(Diagnostic::new(
                    &dir_name,
                    0,
                    format!("cannot read directory: {e}"),
                ));
                return (conf, diags);
            }
        };
        names.sort();
        for name in names {
            if !is_conf_file_name(&name) || ignores.iter().any(|re| re.is_match(&name)) {
                continue;
            }
            let path = dir.join(&name);
            if !path.is_file() {
                continue;
            }
            conf.read_file(&path, &mut diags);
        }
        conf.compile_wildcards(&mut diags);
        (conf, diags)
    }

    /// Reads a single file (munin-run's `--sconffile`).
    pub fn load_file(path: &Path) -> (PluginConf, Vec<Diagnostic>) {
        let mut conf = PluginConf::default();
        let mut diags = Vec::new();
        conf.read_file(path, &mut diags);
        conf.compile_wildcards(&mut diags);
        (conf, diags)
    }

    /// Parses named texts in the given order (tests and embedded use).
    pub fn from_texts(files: &[(&str, &str)]) -> (PluginConf, Vec<Diagnostic>) {
        let mut conf = PluginConf::default();
        let mut diags = Vec::new();
        for (name, text) in files {
            conf.parse_text(name, text, &mut diags);
        }
        conf.compile_wildcards(&mut diags);
        (conf, diags)
    }

    fn read_file(&mut self, path: &Path, diags: &mut Vec<Diagnostic>) {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => self.parse_text(&name, &String::from_utf8_lossy(&bytes), diags),
            Err(e) => diags.push(Diagnostic::new(
                &name,
                0,
                format!("cannot read, skipped: {e}"),
            )),
        }
    }

    /// Parses one file into the sections; stops at the first bad line.
    fn parse_text(&mut self, file: &str, text: &str, diags: &mut Vec<Diagnostic>) {
        let mut current: Option<String> = None;
        for (line, content) in logical_lines(text) {
            if let Some(name) = section_header(&content) {
                current = Some(name.to_string());
                continue;
            }
            let result = match &current {
                None => Err("setting before the first [section]".to_string()),
                Some(section) => parse_directive(&content).map(|parsed| {
                    self.sections
                        .entry(section.clone())
                        .or_default()
                        .merge_from(parsed)
                }),
            };
            if let Err(msg) = result {
                diags.push(Diagnostic::new(
                    file,
                    line,
                    format!("{msg}; the rest of this file is skipped"),
                ));
                return;
            }
        }
    }

    fn compile_wildcards(&mut self, diags: &mut Vec<Diagnostic>) {
        self.wildcards.clear();
        // Reverse lexical order: the more specific name usually sorts later.
        for name in self.sections.keys().rev() {
            let pattern = if let Some(prefix) = name.strip_suffix('*') {
                format!("^{prefix}")
            } else if let Some(suffix) = name.strip_prefix('*') {
                format!("{suffix}$")
            } else {
                continue;
            };
            match Regex::new(&pattern) {
                Ok(re) => self.wildcards.push(Wildcard {
                    name: name.clone(),
                    pattern: re,
                }),
                Err(e) => diags.push(Diagnostic::new(
                    "plugin-conf.d",
                    0,
                    format!("section [{name}]: invalid wildcard pattern, ignored: {e}"),
                )),
            }
        }
    }

    /// The effective settings of plugin `service`.
    pub fn resolve(&self, service: &str) -> Section {
        let mut out = self.sections.get(service).cloned().unwrap_or_default();
        for wild in &self.wildcards {
            if wild.pattern.is_match(service) {
                out.fill_from(&self.sections[&wild.name]);
            }
        }
        out
    }

    /// A section exactly as written (after merging files), for tests and debugging.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.get(name)
    }
}

/// `[name]` → `name`.
fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    (!inner.is_empty() && !inner.contains(']')).then(|| inner.trim())
}

/// Parses one `key value` line of a section into a one-key [`Section`].
fn parse_directive(line: &str) -> Result<Section, String> {
    if let Some(rest) = line.strip_prefix("env")
        && rest.starts_with(char::is_whitespace)
        && rest.contains('=')
    {
        return Err(format!(
            "deprecated 'env VAR=value' form in {line:?}; write 'env.VAR value'"
        ));
    }
    let (key, value) = split_key_value(line)
        .filter(|(k, _)| {
            k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        })
        .ok_or_else(|| format!("line is not 'key value': {line:?}"))?;
    let mut s = Section::default();
    match key {
        "user" => s.user = Some(value.to_string()),
        "group" => {
            s.group = Some(
                value
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        }
        "command" => s.command = Some(value.split_whitespace().map(str::to_string).collect()),
        "host_name" => s.host_name = Some(value.to_string()),
        "timeout" => s.timeout = Some(seconds(value).map_err(|m| format!("timeout: {m}"))?),
        "update_rate" => s.update_rate = Some(value.to_string()),
        _ => match key.strip_prefix("env.") {
            Some(var) if !var.is_empty() => {
                s.env.insert(var.to_string(), value.to_string());
            }
            _ => {
                return Err(format!(
                    "unknown setting {key:?} (should it be 'env.{key} {value}'?)"
                ));
            }
        },
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared conformance fixture, rewritten: same rules, checked values.
    fn fixture() -> (PluginConf, Vec<Diagnostic>) {
        PluginConf::from_texts(&[
            (
                "00-base",
                "[test_*]\nenv.VAR_A 1\nenv.VAR_B 1\nenv.VAR_C 1\n\
                 [test_e*]\nenv.VAR_B 2\nenv.VAR_C 2\n\
                 [*_env]\nenv.VAR_C 9\nenv.VAR_D 4\n\
                 [test_env]\nenv.VAR_A 3\nuser root\ngroup nogroup\n\
                 [test_cmd]\ncommand /usr/bin/env VAR_D=11 %c\n\
                 [test_sleep]\ntimeout 2\n[if_*]\nuser root\n",
            ),
            (
                "10-override",
                "[test_env]\nenv.TITLE from override # comment\nenv.VAR_A 5\n",
            ),
            (
                "20-broken",
                "[test_env]\nenv.VAR_B 7\nnot_a_key because\nenv.VAR_C 8\n",
            ),
        ])
    }

    #[test]
    fn precedence_matches_the_real_node() {
        let (conf, diags) = fixture();
        let env = conf.resolve("test_env");
        assert_eq!(
            env.env["VAR_A"], "5",
            "later file wins for the exact section"
        );
        assert_eq!(env.env["VAR_B"], "7", "exact section beats wildcards");
        assert_eq!(
            env.env["VAR_C"], "2",
            "[test_e*] beats [test_*] and [*_env]"
        );
        assert_eq!(env.env["VAR_D"], "4", "[*_env] fills what is left");
        assert_eq!(env.env["TITLE"], "from override");
        assert_eq!(env.user.as_deref(), Some("root"));
        assert_eq!(env.group, Some(vec!["nogroup".to_string()]));

        let cmd = conf.resolve("test_cmd");
        assert_eq!(cmd.env["VAR_A"], "1");
        assert!(!cmd.env.contains_key("VAR_D"));
        assert_eq!(cmd.command.as_ref().unwrap()[1], "VAR_D=11");
        assert_eq!(cmd.user, None);

        assert_eq!(
            conf.resolve("test_sleep").timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(conf.resolve("if_eth0").user.as_deref(), Some("root"));
        assert_eq!(conf.resolve("unrelated"), Section::default());

        assert_eq!(diags.len(), 1);
        assert_eq!((diags[0].file.as_str(), diags[0].line), ("20-broken", 3));
    }

    #[test]
    fn clutter_before_section_and_deprecated_env() {
        let (_, d) = PluginConf::from_texts(&[("a", "user root\n")]);
        assert_eq!(d[0].line, 1);
        assert!(d[0].message.contains("first [section]"));
        let (conf, d) = PluginConf::from_texts(&[("b", "[x]\nenv.OK 1\nenv FOO=bar\nenv.NO 2\n")]);
        assert!(d[0].message.contains("deprecated"), "{}", d[0]);
        assert_eq!(conf.resolve("x").env.len(), 1);
    }

    #[test]
    fn values_are_kept_verbatim() {
        let (conf, _) =
            PluginConf::from_texts(&[("c", "[q]\nenv.QUOTED \"quoted value\"\nenv.H a\\#b\n")]);
        let s = conf.resolve("q");
        assert_eq!(s.env["QUOTED"], "\"quoted value\"");
        assert_eq!(s.env["H"], "a#b");
    }

    #[test]
    fn star_alone_applies_to_everything_last() {
        let (conf, _) =
            PluginConf::from_texts(&[("d", "[*]\nenv.X all\nuser nobody\n[cpu]\nenv.X mine\n")]);
        assert_eq!(conf.resolve("cpu").env["X"], "mine");
        assert_eq!(conf.resolve("load").env["X"], "all");
        assert_eq!(conf.resolve("load").user.as_deref(), Some("nobody"));
    }

    #[test]
    fn group_lists_and_bad_timeout() {
        let (conf, _) = PluginConf::from_texts(&[("e", "[p]\ngroup adm, (optional) disk\n")]);
        assert_eq!(
            conf.resolve("p").group.unwrap(),
            vec!["adm", "(optional)", "disk"]
        );
        let (_, d) = PluginConf::from_texts(&[("f", "[p]\ntimeout soon\n")]);
        assert_eq!(d[0].line, 2);
    }

    #[test]
    fn file_names_filter() {
        assert!(is_conf_file_name("munin-node"));
        assert!(is_conf_file_name("10-x.conf"));
        assert!(!is_conf_file_name(".hidden"));
        assert!(!is_conf_file_name("bad name"));
        assert!(!is_conf_file_name("x+y"));
    }
}
