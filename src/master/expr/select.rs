//! Which stored fields a `.series('…')` selection means: the pattern
//! `GROUP;…;HOST:SERVICE.FIELD` and its match against the catalog of
//! [`Source`]s the master keeps.
//!
//! The text before the first `:` is the host part: the host's groups and
//! name separated by `;` (`web;frontend;www1`). Without a `;` it is the
//! host name alone, in any group. After the `:` comes the service, and
//! after the service's *last* `.` the field, so a multigraph child
//! service keeps its dots (`h:diskstats_iops.sda.rdio` is field `rdio` of
//! service `diskstats_iops.sda`).
//!
//! Each part is matched on its own with `*` (any run of characters,
//! including none) and `?` (any one character). A wildcard never reaches
//! into another part, so `*` stays within a group, the host name, the
//! service or the field; but the service part is everything between the
//! `:` and the last `.`, so `*` there matches a dotted child name too
//! (`h:diskstats_iops.*.rdio`, `h:*.rdio`). A group part `**` matches any
//! number of groups, none included (`**;www?:load.load`).

use std::fmt;
use std::path::PathBuf;

/// One stored field, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The host's groups, outermost first (`["web", "frontend"]`).
    pub groups: Vec<String>,
    pub host: String,
    /// The service, with a multigraph child's dots (`diskstats_iops.sda`).
    pub service: String,
    pub field: String,
    /// The field's `label`, for the legend.
    pub label: String,
    /// The field's RRD; its one data source is named `42`.
    pub file: PathBuf,
}

/// A parsed selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The text as written.
    pub text: String,
    /// The group parts, or `None` when the host part had no `;`.
    groups: Option<Vec<String>>,
    host: String,
    service: String,
    field: String,
}

/// A pattern that is not one: the byte offset in the pattern's text and
/// what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub offset: usize,
    pub expected: String,
}

/// The whole grammar, for error messages.
const SHAPE: &str = "`GROUP;HOST:SERVICE.FIELD` or `HOST:SERVICE.FIELD`";

impl Pattern {
    /// Parses `text`; see the module docs.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let fail = |offset: usize, expected: String| Err(PatternError { offset, expected });
        if let Some((i, c)) = text
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control() || *c == '\'' || *c == '"')
        {
            return fail(
                i,
                format!("no {c:?} in a selection: names, `*`, `?` and `;`, `:`, `.` only"),
            );
        }
        let Some(colon) = text.find(':') else {
            return fail(
                text.len(),
                format!("`:` after the host: a selection is {SHAPE}"),
            );
        };
        let (hosts, rest) = (&text[..colon], &text[colon + 1..]);
        if let Some(i) = rest.find(':') {
            return fail(colon + 1 + i, "one `:` only, after the host".into());
        }
        let mut parts: Vec<&str> = hosts.split(';').collect();
        // Offsets of each part, for pointing at an empty one.
        let mut offset = 0;
        for p in &parts {
            if p.is_empty() {
                return fail(offset, format!("a group or host name (or `*`): {SHAPE}"));
            }
            offset += p.len() + 1;
        }
        let host = parts.pop().unwrap_or_default().to_string();
        if host == "**" {
            return fail(
                colon - 2,
                "a host name or `*` before `:` (`**` stands for groups)".into(),
            );
        }
        let groups = (!parts.is_empty()).then(|| parts.iter().map(|g| g.to_string()).collect());
        let Some(dot) = rest.rfind('.') else {
            return fail(
                text.len(),
                format!("`.` and a field after the service: {SHAPE}"),
            );
        };
        let (service, field) = (&rest[..dot], &rest[dot + 1..]);
        if service.is_empty() {
            return fail(colon + 1, "a service name (or `*`) after `:`".into());
        }
        if field.is_empty() {
            return fail(
                text.len(),
                "a field name (or `*`) after the last `.`".into(),
            );
        }
        Ok(Pattern {
            text: text.to_string(),
            groups,
            host,
            service: service.to_string(),
            field: field.to_string(),
        })
    }

    /// Whether `s` is selected.
    pub fn matches(&self, s: &Source) -> bool {
        glob(&self.field, &s.field)
            && glob(&self.host, &s.host)
            && glob(&self.service, &s.service)
            && self
                .groups
                .as_ref()
                .is_none_or(|g| groups_match(g, &s.groups))
    }

    /// The selected sources, in the catalog's order.
    pub fn select<'a>(&self, sources: &'a [Source]) -> Vec<&'a Source> {
        sources.iter().filter(|s| self.matches(s)).collect()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The group parts against a host's groups: one part per group, `**` for
/// any number of them.
fn groups_match(parts: &[String], groups: &[String]) -> bool {
    match parts.split_first() {
        None => groups.is_empty(),
        Some((p, rest)) if p == "**" => {
            (0..=groups.len()).any(|skip| groups_match(rest, &groups[skip..]))
        }
        Some((p, rest)) => groups
            .split_first()
            .is_some_and(|(g, more)| glob(p, g) && groups_match(rest, more)),
    }
}

/// `*` and `?` over characters, with the last `*` revisited on a
/// mismatch: linear in practice, quadratic at worst (names are short).
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut i, mut j) = (0, 0);
    // Where the last `*` was, and the name position it now covers up to.
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(groups: &[&str], host: &str, service: &str, field: &str) -> Source {
        Source {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            host: host.into(),
            service: service.into(),
            field: field.into(),
            label: field.into(),
            file: PathBuf::from(format!("/{host}-{service}-{field}.rrd")),
        }
    }

    fn catalog() -> Vec<Source> {
        vec![
            src(&["web"], "www1.example.com", "load", "load"),
            src(&["web"], "www2.example.com", "load", "load"),
            src(&["web", "frontend"], "fe1", "load", "load"),
            src(&["db"], "db1", "cpu", "user"),
            src(&["db"], "db1", "cpu", "system"),
            src(&["db"], "db1", "diskstats_iops", "rdio"),
            src(&["db"], "db1", "diskstats_iops.sda", "rdio"),
            src(&["db"], "db1", "diskstats_iops.sdb", "rdio"),
        ]
    }

    fn hosts(pattern: &str) -> Vec<String> {
        let cat = catalog();
        Pattern::parse(pattern)
            .unwrap()
            .select(&cat)
            .iter()
            .map(|s| format!("{}:{}.{}", s.host, s.service, s.field))
            .collect()
    }

    #[test]
    fn glob_basics() {
        assert!(glob("*", ""));
        assert!(glob("*", "anything.at.all"));
        assert!(glob("www?", "www1"));
        assert!(!glob("www?", "www12"));
        assert!(glob("w*1*", "www1.example.com"));
        assert!(glob("*.com", "www1.example.com"));
        assert!(!glob("*.org", "www1.example.com"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("é?", "éü"));
    }

    #[test]
    fn host_without_groups_matches_in_any_group() {
        assert_eq!(
            hosts("*:load.load"),
            [
                "www1.example.com:load.load",
                "www2.example.com:load.load",
                "fe1:load.load"
            ]
        );
        assert_eq!(hosts("fe1:load.load"), ["fe1:load.load"]);
    }

    #[test]
    fn group_parts_match_one_group_each() {
        assert_eq!(
            hosts("web;*:load.load"),
            ["www1.example.com:load.load", "www2.example.com:load.load"]
        );
        assert_eq!(hosts("web;*;*:load.load"), ["fe1:load.load"]);
        assert_eq!(hosts("**;fe1:load.load"), ["fe1:load.load"]);
        assert_eq!(hosts("web;**;*:load.load").len(), 3);
        assert!(hosts("db;*;*:*.*").is_empty());
    }

    #[test]
    fn field_is_after_the_last_dot() {
        assert_eq!(
            hosts("db1:diskstats_iops.sda.rdio"),
            ["db1:diskstats_iops.sda.rdio"]
        );
        assert_eq!(
            hosts("db1:diskstats_iops.*.rdio"),
            ["db1:diskstats_iops.sda.rdio", "db1:diskstats_iops.sdb.rdio"]
        );
        // `*` in the service reaches into child names; in the field not.
        assert_eq!(hosts("db1:*.rdio").len(), 3);
        assert_eq!(hosts("db1:cpu.*"), ["db1:cpu.user", "db1:cpu.system"]);
        assert_eq!(hosts("db1:cpu.?ser"), ["db1:cpu.user"]);
    }

    #[test]
    fn bad_patterns_say_where_and_what() {
        let e = |t: &str| Pattern::parse(t).unwrap_err();
        assert_eq!(e("load.load").offset, 9);
        assert!(e("load.load").expected.starts_with("`:` after the host"));
        assert_eq!(e("h:load").offset, 6);
        assert_eq!(e("h:load.").offset, 7);
        assert_eq!(e("h:.load").offset, 2);
        assert_eq!(e("web;;h:a.b").offset, 4);
        assert_eq!(e(";h:a.b").offset, 0);
        assert_eq!(e("h:a:b.c").offset, 3);
        assert_eq!(e("h x:a.b").offset, 1);
        assert_eq!(e("**:a.b").offset, 0);
    }
}
