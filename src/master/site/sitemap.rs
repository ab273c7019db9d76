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

/// The same graph drawn at twice the pixels (`graph_hidpi yes`), for
/// `srcset`: `load-day-2x.png`.
///
/// It cannot be another file's name: every 1x graph ends in `-day.png`,
/// `-week.png`, `-month.png` or `-year.png`, never `-2x.png`; pages end
/// in `.html`; and from a 2x name, dropping `-2x.png` and splitting at
/// the last `-` gives back the period (its names have no `-`) and the
/// service's base, which [`service_base`] makes distinct per service.
pub fn graph_file_2x(service: &str, period: Period) -> String {
    format!("{}-{}-2x.png", service_base(service), period.name())
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
        assert_eq!(graph_file_2x("if.eth0", Period::Day), "if/eth0-day-2x.png");
        assert_eq!(up("a/b/index.html"), "../../");
    }

    /// Services whose names look like another's 2x graph still get
    /// distinct files: `load-day` is a valid plugin name.
    #[test]
    fn hidpi_graph_names_collide_with_nothing() {
        let names = [
            "load",
            "load-day",
            "load-day-2x",
            "load-2x",
            "if.eth0",
            "if.eth0-day",
        ];
        let mut all = std::collections::BTreeSet::new();
        for n in names {
            assert!(all.insert(service_page(n)), "{n}");
            for p in Period::ALL {
                assert!(all.insert(graph_file(n, p)), "{n} {p:?}");
                assert!(all.insert(graph_file_2x(n, p)), "{n} {p:?} 2x");
            }
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }
}
