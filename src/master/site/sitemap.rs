//! Where each page and graph of the site lives, and HTML escaping.
//!
//! Group, host and plugin names become path parts. Plugin and multigraph
//! child names come from the network, so a part keeps only
//! `[A-Za-z0-9_.-]` (no leading dot); a name that had to change, or that
//! would shadow `index`, gets a hash of the original appended, so two
//! different names never share a file and none can leave `htmldir`.

use super::graphdef::Period;
use crate::master::conf::Host;

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// A name made into one path part, safe and distinct.
pub fn part(name: &str) -> String {
    let mut clean: String = name
        .chars()
        .take(100)
        .enumerate()
        .map(|(i, c)| {
            let ok = c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && i > 0);
            if ok { c } else { '_' }
        })
        .collect();
    if clean != name || clean.is_empty() || clean == "index" || clean == "static" {
        clean.push_str(&format!("-{:08x}", fnv1a(name.as_bytes())));
    }
    clean
}

/// `g1/g2/` for a group path (empty for the top).
pub fn group_dir(groups: &[String]) -> String {
    groups.iter().map(|g| format!("{}/", part(g))).collect()
}

/// `g1/g2/host/`.
pub fn host_dir(host: &Host) -> String {
    format!("{}{}/", group_dir(&host.groups), part(&host.name))
}

/// A service's page and graphs, relative to its host's directory: the
/// plugin's `load.html`, `load-day.png`; a multigraph child `if.eth0`'s
/// `if/eth0.html`, `if/eth0-day.png`.
pub fn service_base(service: &str) -> String {
    match service.split_once('.') {
        None => part(service),
        Some((plugin, child)) => format!("{}/{}", part(plugin), part(child)),
    }
}

pub fn service_page(service: &str) -> String {
    format!("{}.html", service_base(service))
}

pub fn graph_file(service: &str, period: Period) -> String {
    format!("{}-{}.png", service_base(service), period.name())
}

/// `../` as many times as `rel` (a path relative to htmldir) has
/// directories: the way back to the site's root.
pub fn up(rel: &str) -> String {
    "../".repeat(rel.matches('/').count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_inside_and_distinct() {
        assert_eq!(part("load"), "load");
        assert_eq!(part("if_eth0.1"), "if_eth0.1");
        for bad in ["../etc", "..", ".", "a/b", "<script>", "", "index", "x\0y"] {
            let p = part(bad);
            assert!(
                !p.contains('/') && !p.starts_with('.') && !p.is_empty(),
                "{bad:?} -> {p}"
            );
            assert!(
                p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
                "{p}"
            );
        }
        assert_ne!(part("a b"), part("a_b"));
        assert_ne!(part("a b"), part("a\tb"));
        assert_eq!(service_base("if.eth0"), "if/eth0");
        assert_eq!(service_base("if.../x"), format!("if/{}", part("../x")));
        assert_eq!(graph_file("load", Period::Week), "load-week.png");
        assert_eq!(up("a/b/index.html"), "../../");
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }
}
