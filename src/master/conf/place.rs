//! Where a munin.conf key lands: the global part, a group, or a host.
//!
//! Munin joins the current `[section]` and the key into one long key
//! (`group;group;host:plugin.field.attr`) and splits that again: the part
//! before the last `;` is the group path, the part up to the first `:`
//! after it the host, the rest the key. A section without `;` takes its
//! group from its domain (`[a.example.org]` is `example.org;a.example.org`,
//! `[a]` is `a;a`), a section ending in `;` is a group, and keys in the
//! global part may name their own place (`grp;host:load.graph_width 300`).
//! Doing it the same way keeps every odd form Munin accepts working.

/// Where one key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Global,
    Group(Vec<String>),
    Host { groups: Vec<String>, name: String },
}

/// `prefix` (the current section, `""` before the first) and `key` as one
/// place and the key left for it.
pub fn resolve(prefix: &str, key: &str) -> (Place, String) {
    split(&join(prefix, key))
}

/// Munin's long key for `key` under section `prefix`.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        return key.to_string();
    }
    let prefix = if prefix.contains(';') {
        prefix.to_string()
    } else {
        format!("{};{prefix}", group_of(prefix))
    };
    if prefix.ends_with(';') {
        format!("{prefix}{key}")
    } else if prefix.contains(':') {
        format!("{prefix}.{key}")
    } else {
        format!("{prefix}:{key}")
    }
}

/// The group a section name without `;` belongs to: the part after the
/// first dot, or the name itself.
fn group_of(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, domain)| domain)
}

/// A long key as (place, key).
fn split(long: &str) -> (Place, String) {
    let (groups, rest) = match long.rsplit_once(';') {
        // Munin's `(.+);(.*)` needs a character before the `;`.
        Some((g, r)) if !g.is_empty() => (
            g.split(';')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>(),
            r,
        ),
        Some((_, r)) => (Vec::new(), r),
        None => (Vec::new(), long),
    };
    let (host, key) = rest.split_once(':').unwrap_or(("", rest));
    if groups.is_empty() {
        // Munin drops a host part that has no group in front of it and
        // files the key globally; so do we (the caller warns).
        return (Place::Global, key.to_string());
    }
    if host.is_empty() {
        return (Place::Group(groups), key.to_string());
    }
    let name = host.to_string();
    (Place::Host { groups, name }, key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(groups: &[&str], name: &str) -> Place {
        Place::Host {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            name: name.into(),
        }
    }

    #[test]
    fn sections_as_munin_joins_them() {
        let cases: &[(&str, &str, Place, &str)] = &[
            ("", "dbdir", Place::Global, "dbdir"),
            (
                "",
                "contact.me.command",
                Place::Global,
                "contact.me.command",
            ),
            (
                "a.example.org",
                "address",
                host(&["example.org"], "a.example.org"),
                "address",
            ),
            (
                "solo",
                "load.graph_width",
                host(&["solo"], "solo"),
                "load.graph_width",
            ),
            (
                "web;front;www1",
                "port",
                host(&["web", "front"], "www1"),
                "port",
            ),
            (
                "foo.com;Totals",
                "load1.graph_order",
                host(&["foo.com"], "Totals"),
                "load1.graph_order",
            ),
            (
                "grp;",
                "node_order",
                Place::Group(vec!["grp".into()]),
                "node_order",
            ),
            ("grp;", "h1:load.label", host(&["grp"], "h1"), "load.label"),
            (
                "grp;",
                "sub;h2:address",
                host(&["grp", "sub"], "h2"),
                "address",
            ),
            (
                "g;h:load",
                "graph_width",
                host(&["g"], "h"),
                "load.graph_width",
            ),
            (
                "",
                "g;h:load.load.warning",
                host(&["g"], "h"),
                "load.load.warning",
            ),
            ("", "g;contacts", Place::Group(vec!["g".into()]), "contacts"),
            ("", "h:load.x", Place::Global, "load.x"),
        ];
        for (prefix, key, place, rest) in cases {
            assert_eq!(
                resolve(prefix, key),
                (place.clone(), rest.to_string()),
                "[{prefix}] {key}"
            );
        }
    }
}
