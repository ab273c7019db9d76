//! The site's pages as HTML5 text: overview, groups, hosts, services,
//! problems. Pure functions of what the update and limits left behind;
//! every string from a node goes through [`escape`], every link through
//! `sitemap`. Pages carry no timestamp, so an unchanged fleet gives
//! byte-identical pages and nothing is rewritten (the links to the zoom
//! page name their ranges relative to now: `-30h` to `now`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::graphdef::{Period, attr, drawn};
use super::sitemap::{
    escape, graph_file, graph_file_2x, group_dir, host_dir, service_base, service_page, up,
};
use crate::master::conf::{Host, MasterConf};
use crate::master::limits::Check;
use crate::master::state::{HostStatus, ServiceConfig};
use crate::threshold::Status;

/// The stylesheet, written to `static/style.css`: no external resources,
/// graphs shrink to a phone's width.
pub const STYLE: &str = "\
body{font-family:sans-serif;margin:0;background:#f6f6f6;color:#222}
header{background:#2b4b6f;color:#fff;padding:.5em 1em}
header a{color:#fff}
main{padding:0 1em 1em}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc}
img{max-width:100%;height:auto}
.graphs{display:flex;flex-wrap:wrap;gap:.5em}
.graphs figure{margin:0}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;border-bottom:1px solid #ddd}
.critical{color:#b00000;font-weight:bold}.warning{color:#a06000;font-weight:bold}
.unknown{color:#666;font-weight:bold}.ok{color:#080}
ul{padding-left:1.2em}li{margin:.2em 0}
.zoom-plot{position:relative;display:inline-block;max-width:100%;touch-action:pan-y}
.zoom-plot img{display:block}
.zoom-sel{position:absolute;background:rgba(43,75,111,.25);border:1px solid #2b4b6f;pointer-events:none}
.zoom-nav a,.zoom-nav span{margin-right:.8em}
.zoom-form label{margin-right:.6em}.zoom-form input{width:9em}
#zoom-status{min-height:1.2em;color:#555}
";

/// A host as the overview, group and problems pages show it.
#[derive(Debug, Clone)]
pub struct HostSummary {
    pub host: Host,
    pub status: Option<HostStatus>,
    pub checks: Vec<Check>,
}

impl HostSummary {
    fn count(&self, level: Status) -> usize {
        self.checks.iter().filter(|c| c.level == level).count()
    }

    /// `2 critical, 1 warning` (or `OK`, or the host's error).
    fn badge(&self, root: &str) -> String {
        let mut parts = Vec::new();
        for (level, class) in [
            (Status::Critical, "critical"),
            (Status::Warning, "warning"),
            (Status::Unknown, "unknown"),
        ] {
            let n = self.count(level);
            if n > 0 {
                parts.push(format!(
                    "<a class=\"{class}\" href=\"{root}problems.html\">{n} {class}</a>"
                ));
            }
        }
        match &self.status {
            None => parts.insert(0, "<span class=\"unknown\">not polled yet</span>".into()),
            Some(s) if !s.ok => parts.insert(
                0,
                format!(
                    "<span class=\"critical\">down: {}</span>",
                    escape(s.error.as_deref().unwrap_or("no answer"))
                ),
            ),
            _ => {}
        }
        if parts.is_empty() {
            "<span class=\"ok\">OK</span>".into()
        } else {
            parts.join(", ")
        }
    }
}

/// A whole page around `body`; `rel` is the page's path in htmldir.
pub fn page(rel: &str, title: &str, crumbs: &[(String, String)], body: &str) -> String {
    page_with(rel, title, crumbs, "", body)
}

/// As [`page`], with `head` (trusted markup: a script's tag) in `<head>`.
pub fn page_with(
    rel: &str,
    title: &str,
    crumbs: &[(String, String)],
    head: &str,
    body: &str,
) -> String {
    let root = up(rel);
    let mut nav = format!("<a href=\"{root}index.html\">Munin</a>");
    for (href, text) in crumbs {
        let _ = write!(nav, " › <a href=\"{root}{href}\">{}</a>", escape(text));
    }
    let _ = write!(nav, " · <a href=\"{root}problems.html\">Problems</a>");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n<link rel=\"stylesheet\" href=\"{root}static/style.css\">\n\
<link rel=\"icon\" href=\"data:,\">\n{head}</head>\n<body>\n<header>{nav}</header>\n<main>\n<h1>{}</h1>\n{body}</main>\n</body>\n</html>\n",
        escape(title),
        escape(title)
    )
}

/// Breadcrumbs for a group path: each enclosing group's page.
fn group_crumbs(groups: &[String]) -> Vec<(String, String)> {
    (1..=groups.len())
        .map(|n| {
            (
                format!("{}index.html", group_dir(&groups[..n])),
                groups[n - 1].clone(),
            )
        })
        .collect()
}

/// `names` in munin-html's order: those `order` lists first, as listed,
/// then the rest by name.
pub fn ordered<'a>(names: impl IntoIterator<Item = &'a str>, order: Option<&str>) -> Vec<&'a str> {
    let mut rest: Vec<&str> = names.into_iter().collect();
    rest.sort_unstable();
    rest.dedup();
    let mut out = Vec::with_capacity(rest.len());
    for want in order.unwrap_or("").split_whitespace() {
        if let Some(i) = rest.iter().position(|n| *n == want) {
            out.push(rest.remove(i));
        }
    }
    out.extend(rest);
    out
}

/// Hosts and subgroups directly under `groups`, as a list, in the
/// group's order.
fn tree(rel: &str, groups: &[String], hosts: &[HostSummary], conf: &MasterConf) -> String {
    let root = up(rel);
    let order = conf.order_of(groups);
    let mut subgroups: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = String::from("<ul>\n");
    for h in hosts {
        let g = &h.host.groups;
        if g.len() > groups.len() && g[..groups.len()] == *groups {
            *subgroups.entry(g[groups.len()].as_str()).or_default() += 1;
        }
    }
    for name in ordered(subgroups.keys().copied(), order) {
        let n = subgroups[name];
        let mut path = groups.to_vec();
        path.push((*name).to_string());
        let _ = writeln!(
            out,
            "<li>group <a href=\"{root}{}index.html\">{}</a> ({n} hosts)</li>",
            group_dir(&path),
            escape(name)
        );
    }
    let here: Vec<&HostSummary> = hosts.iter().filter(|h| h.host.groups == groups).collect();
    for name in ordered(here.iter().map(|h| h.host.name.as_str()), order) {
        let Some(h) = here.iter().find(|h| h.host.name == name) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<li><a href=\"{root}{}index.html\">{}</a> — {}</li>",
            host_dir(&h.host),
            escape(&h.host.name),
            h.badge(&root)
        );
    }
    out.push_str("</ul>\n");
    out
}

/// `index.html`: every top-level group with its hosts and subgroups.
pub fn index(hosts: &[HostSummary], conf: &MasterConf) -> String {
    let rel = "index.html";
    let mut body = String::new();
    let tops = ordered(
        hosts
            .iter()
            .filter_map(|h| h.host.groups.first().map(String::as_str)),
        conf.order_of(&[]),
    );
    let problems: usize = hosts
        .iter()
        .map(|h| h.checks.iter().filter(|c| c.level != Status::Ok).count())
        .sum();
    let _ = writeln!(
        body,
        "<p>{} hosts, <a href=\"problems.html\">{problems} problems</a>.</p>",
        hosts.len()
    );
    for g in tops {
        let _ = writeln!(
            body,
            "<h2><a href=\"{}index.html\">{}</a></h2>",
            group_dir(&[g.to_string()]),
            escape(g)
        );
        body.push_str(&tree(rel, &[g.to_string()], hosts, conf));
    }
    page(rel, "Overview", &[], &body)
}

/// A group's page; `compare` adds the links to its comparison pages.
pub fn group(
    groups: &[String],
    hosts: &[HostSummary],
    conf: &MasterConf,
    compare: bool,
) -> (String, String) {
    let rel = format!("{}index.html", group_dir(groups));
    let mut body = tree(&rel, groups, hosts, conf);
    if compare {
        body.push_str("<p>Compare the hosts:");
        for p in Period::ALL {
            let _ = write!(body, " <a href=\"comparison-{0}.html\">{0}</a>", p.name());
        }
        body.push_str("</p>\n");
    }
    let title = groups.last().map_or("", String::as_str);
    let text = page(&rel, title, &group_crumbs(groups), &body);
    (rel, text)
}

/// One host's graphs for a comparison page: its name, its directory
/// (relative to htmldir), and its plugins' top graphs.
pub struct Compared {
    pub name: String,
    pub dir: String,
    pub graphs: Vec<ComparedGraph>,
}

/// A plugin's top graph on a comparison page.
pub struct ComparedGraph {
    pub category: String,
    pub plugin: String,
    pub title: String,
    /// Whether it has a graph.
    pub shown: bool,
    /// Whether it has 2x versions (`graph_hidpi`).
    pub hidpi: bool,
}

/// ` srcset="<2x> 2x"` for a graph with a 2x version (`prefix` leads to
/// the host's directory), or nothing.
fn srcset(hidpi: bool, prefix: &str, service: &str, period: Period) -> String {
    if hidpi {
        format!(" srcset=\"{prefix}{} 2x\"", graph_file_2x(service, period))
    } else {
        String::new()
    }
}

/// munin-html's comparison page of a group for `period`: per category,
/// per plugin, each host's graph side by side (an empty cell where a host
/// has none), hosts in the group's order.
pub fn comparison(groups: &[String], period: Period, hosts: &[&Compared]) -> (String, String) {
    let rel = format!("{}comparison-{}.html", group_dir(groups), period.name());
    let root = up(&rel);
    let mut rows: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for h in hosts {
        for g in &h.graphs {
            rows.entry(g.category.as_str())
                .or_default()
                .entry(g.plugin.as_str())
                .or_insert(g.title.as_str());
        }
    }
    let mut body = String::from("<p>");
    for p in Period::ALL {
        let _ = write!(body, " <a href=\"comparison-{0}.html\">{0}</a>", p.name());
    }
    body.push_str("</p>\n");
    for (cat, plugins) in &rows {
        let _ = writeln!(body, "<h2>{}</h2>\n<table class=\"compare\">", escape(cat));
        for (plugin, title) in plugins {
            let _ = writeln!(
                body,
                "<tr><th colspan=\"{}\">{}</th></tr>\n<tr>",
                hosts.len(),
                escape(title)
            );
            for h in hosts {
                let graph = h
                    .graphs
                    .iter()
                    .find(|g| g.category == *cat && g.plugin == *plugin && g.shown);
                match graph {
                    Some(g) => {
                        let _ = writeln!(
                            body,
                            "<td><a href=\"{root}{dir}{page}\"><img src=\"{root}{dir}{png}\"{set} alt=\"{host}: {t} by {per}\"></a><br>{host}</td>",
                            dir = h.dir,
                            page = service_page(plugin),
                            png = graph_file(plugin, period),
                            set = srcset(g.hidpi, &format!("{root}{}", h.dir), plugin, period),
                            host = escape(&h.name),
                            t = escape(title),
                            per = period.name()
                        );
                    }
                    None => {
                        let _ = writeln!(body, "<td>{}</td>", escape(&h.name));
                    }
                }
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</table>\n");
    }
    let mut crumbs = group_crumbs(groups);
    crumbs.push((rel.clone(), format!("comparison by {}", period.name())));
    let title = format!(
        "{} – comparison by {}",
        groups.last().map_or("", String::as_str),
        period.name()
    );
    let text = page(&rel, &title, &crumbs, &body);
    (rel, text)
}

/// A service's title, category, and whether it has a graph to show.
pub struct ServiceView<'a> {
    pub service: &'a ServiceConfig,
    pub has_data: bool,
    /// Whether its graphs have 2x versions (`graph_hidpi`).
    pub hidpi: bool,
    /// Whether the service page links its graphs to serve's zoom page
    /// (`graph_strategy cgi`, see `html`).
    pub zoom: bool,
}

impl ServiceView<'_> {
    pub fn title(&self) -> &str {
        attr(&self.service.graph, "graph_title").unwrap_or(&self.service.name)
    }

    pub fn graphed(&self) -> bool {
        self.has_data && drawn(&self.service.graph)
    }

    /// The graphs of `periods`, each linking where `link` says; `prefix`
    /// leads to the host's directory.
    fn figure(
        &self,
        periods: &[Period],
        prefix: &str,
        link: impl Fn(Period) -> Option<String>,
    ) -> String {
        let mut out = String::from("<div class=\"graphs\">\n");
        if !self.graphed() {
            out.push_str("<p>No graph: nothing stored yet, or <code>graph no</code>.</p>\n");
        }
        for p in periods.iter().filter(|_| self.graphed()) {
            let img = format!(
                "<img src=\"{prefix}{}\"{} alt=\"{} by {}\">",
                graph_file(&self.service.name, *p),
                srcset(self.hidpi, prefix, &self.service.name, *p),
                escape(self.title()),
                p.name()
            );
            let _ = match link(*p) {
                Some(href) => writeln!(out, "<figure><a href=\"{href}\">{img}</a></figure>"),
                None => writeln!(out, "<figure>{img}</figure>"),
            };
        }
        out.push_str("</div>\n");
        out
    }
}

pub fn host_crumbs(host: &Host) -> Vec<(String, String)> {
    let mut c = group_crumbs(&host.groups);
    c.push((format!("{}index.html", host_dir(host)), host.name.clone()));
    c
}

/// A host's page: its plugins' day and week graphs by category, each
/// linking to the plugin's page. `services` are the plugins' top graphs.
pub fn host(summary: &HostSummary, services: &[ServiceView]) -> (String, String) {
    let h = &summary.host;
    let rel = format!("{}index.html", host_dir(h));
    let mut by_category: BTreeMap<String, Vec<&ServiceView>> = BTreeMap::new();
    for s in services {
        let cat = attr(&s.service.graph, "graph_category")
            .map_or("other", str::trim)
            .to_ascii_lowercase();
        by_category.entry(cat).or_default().push(s);
    }
    let mut body = format!("<p>Status: {}</p>\n", summary.badge(&up(&rel)));
    if services.is_empty() {
        body.push_str("<p>No plugin config stored yet for this host.</p>\n");
    }
    for (cat, list) in &by_category {
        let _ = writeln!(body, "<h2>{}</h2>", escape(cat));
        for s in list {
            let href = service_page(&s.service.name);
            let _ = writeln!(
                body,
                "<h3><a href=\"{href}\">{}</a></h3>",
                escape(s.title())
            );
            body.push_str(&s.figure(&[Period::Day, Period::Week], "", |_| Some(href.clone())));
        }
    }
    let text = page(&rel, &h.name, &host_crumbs(h), &body);
    (rel, text)
}

/// A service's page: four graphs, its fields, links to its multigraph
/// children.
pub fn service(
    summary: &HostSummary,
    view: &ServiceView,
    children: &[ServiceView],
) -> (String, String) {
    let h = &summary.host;
    let rel = format!("{}{}", host_dir(h), service_page(&view.service.name));
    let back = up(&service_page(&view.service.name));
    let root = up(&rel);
    let plugin_name = format!("{}{}", host_dir(h), service_base(&view.service.name));
    let mut body = String::new();
    if let Some(info) = attr(&view.service.graph, "graph_info") {
        let _ = writeln!(body, "<p>{}</p>", escape(info));
    }
    body.push_str(&view.figure(&Period::ALL, &back, |p| {
        view.zoom.then(|| {
            format!(
                "{root}{}",
                crate::master::explore::zoom::period_href(&plugin_name, p)
            )
        })
    }));
    if view.zoom && view.graphed() {
        let _ = writeln!(
            body,
            "<p><a href=\"{root}{}\">Zoom</a>: any range of this graph, its data as CSV or JSON.</p>",
            crate::master::explore::zoom::period_href(&plugin_name, Period::Day)
        );
    }
    if !children.is_empty() {
        body.push_str("<h2>Graphs</h2>\n<ul>\n");
        for c in children {
            let _ = writeln!(
                body,
                "<li><a href=\"{back}{}\">{}</a></li>",
                service_page(&c.service.name),
                escape(c.title())
            );
        }
        body.push_str("</ul>\n");
    }
    if !view.service.fields.is_empty() {
        body.push_str(
            "<h2>Fields</h2>\n<table>\n<tr><th>Field</th><th>Type</th><th>Warning</th><th>Critical</th><th>Info</th></tr>\n",
        );
        for (name, attrs) in &view.service.fields {
            let cell = |k: &str| escape(attr(attrs, k).unwrap_or(""));
            let _ = writeln!(
                body,
                "<tr><td>{} <small>({})</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(attr(attrs, "label").unwrap_or(name)),
                escape(name),
                escape(attr(attrs, "type").unwrap_or("GAUGE")),
                cell("warning"),
                cell("critical"),
                cell("info"),
            );
        }
        body.push_str("</table>\n");
    }
    let text = page(
        &rel,
        view.title(),
        &service_crumbs(h, &view.service.name),
        &body,
    );
    (rel, text)
}

/// Breadcrumbs down to a service's page (not included): its host, and
/// for a multigraph child its plugin's page.
pub fn service_crumbs(host: &Host, service: &str) -> Vec<(String, String)> {
    let mut crumbs = host_crumbs(host);
    if let Some((plugin, _)) = service.split_once('.') {
        crumbs.push((
            format!("{}{}", host_dir(host), service_page(plugin)),
            plugin.to_string(),
        ));
    }
    crumbs
}

/// `problems.html`: every field not OK, worst first.
pub fn problems(hosts: &[HostSummary]) -> String {
    let mut rows = Vec::new();
    for h in hosts {
        for c in &h.checks {
            if c.level != Status::Ok {
                rows.push((h, c));
            }
        }
    }
    rows.sort_by_key(|(h, c)| {
        (
            std::cmp::Reverse(c.level),
            h.host.name.clone(),
            c.service.clone(),
            c.field.clone(),
        )
    });
    let mut body = String::new();
    if rows.is_empty() {
        body.push_str("<p class=\"ok\">No problems.</p>\n");
    } else {
        body.push_str(
            "<table>\n<tr><th>State</th><th>Host</th><th>Graph</th><th>Field</th><th>Value</th><th>Warning</th><th>Critical</th></tr>\n",
        );
    }
    for (h, c) in &rows {
        let class = c.level.word().to_ascii_lowercase();
        let value = c
            .value
            .map_or_else(|| c.note.clone().unwrap_or_default(), |v| v.to_string());
        let _ = writeln!(
            body,
            "<tr><td class=\"{class}\">{}</td><td><a href=\"{dir}index.html\">{}</a></td><td><a href=\"{dir}{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.level.word(),
            escape(&h.host.name),
            service_page(&c.service),
            escape(&c.service),
            escape(&c.label),
            escape(&value),
            escape(c.warning.as_deref().unwrap_or("")),
            escape(c.critical.as_deref().unwrap_or("")),
            dir = host_dir(&h.host),
        );
    }
    if !rows.is_empty() {
        body.push_str("</table>\n");
    }
    page("problems.html", "Problems", &[], &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_first_then_by_name() {
        assert_eq!(
            ordered(["goo", "bing", "fii", "aa"], Some("fii gone bing")),
            vec!["fii", "bing", "aa", "goo"]
        );
        assert_eq!(ordered(["b", "a", "b"], None), vec!["a", "b"]);
    }

    /// With `graph_strategy cgi` each graph links to the zoom page over
    /// its period; with `graph_hidpi` each offers its 2x file.
    #[test]
    fn service_pages_link_the_zoom_page_and_offer_2x_graphs() {
        let host = Host::new(vec!["lab".into()], "h.example");
        let summary = HostSummary {
            host,
            status: None,
            checks: Vec::new(),
        };
        let service = ServiceConfig {
            name: "if.eth0".into(),
            graph: vec![("graph_title".into(), "eth0".into())],
            fields: Vec::new(),
            files: Vec::new(),
            own_limits: None,
        };
        let view = |zoom, hidpi| ServiceView {
            service: &service,
            has_data: true,
            hidpi,
            zoom,
        };
        let (rel, text) = super::service(&summary, &view(true, true), &[]);
        assert_eq!(rel, "lab/h.example/if/eth0.html");
        assert!(
            text.contains("<a href=\"../../../static/dynazoom.html?plugin_name=lab/h.example/if/eth0&amp;start_epoch=-8d&amp;stop_epoch=now\"><img src=\"../if/eth0-week.png\" srcset=\"../if/eth0-week-2x.png 2x\""),
            "{text}"
        );
        let (_, text) = super::service(&summary, &view(false, false), &[]);
        assert!(
            !text.contains("dynazoom") && !text.contains("srcset"),
            "{text}"
        );
    }

    /// Munin's FAQ: `[foo.bar;] node_order fii.foo.bar bing.foo.bar
    /// goo.foo.bar` lists the group's hosts in that order, and
    /// `domain_order` the top-level groups.
    #[test]
    fn group_pages_follow_node_order_and_the_index_domain_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("munin.conf");
        std::fs::write(
            &p,
            "domain_order foo.bar example.com\n[a.example.com]\naddress x\n[bing.foo.bar]\naddress x\n[fii.foo.bar]\naddress x\n[goo.foo.bar]\naddress x\n[foo.bar;]\nnode_order fii.foo.bar bing.foo.bar\n",
        )
        .unwrap();
        let conf = MasterConf::load(&p).unwrap();
        let hosts: Vec<HostSummary> = conf
            .hosts
            .iter()
            .map(|h| HostSummary {
                host: h.clone(),
                status: None,
                checks: Vec::new(),
            })
            .collect();
        let (_, page) = group(&["foo.bar".to_string()], &hosts, &conf, false);
        let at = |n: &str| page.find(&format!(">{n}</a>")).unwrap();
        assert!(at("fii.foo.bar") < at("bing.foo.bar") && at("bing.foo.bar") < at("goo.foo.bar"));
        let index = index(&hosts, &conf);
        let graphs = |n: &str| Compared {
            name: n.into(),
            dir: format!("foo.bar/{n}/"),
            graphs: vec![ComparedGraph {
                category: "system".into(),
                plugin: "load".into(),
                title: "Load <avg>".into(),
                shown: n != "goo.foo.bar",
                hidpi: n == "fii.foo.bar",
            }],
        };
        let (a, b) = (graphs("fii.foo.bar"), graphs("goo.foo.bar"));
        let (rel, cmp) = comparison(&["foo.bar".to_string()], Period::Week, &[&a, &b]);
        assert_eq!(rel, "foo.bar/comparison-week.html");
        assert!(
            cmp.contains("<img src=\"../foo.bar/fii.foo.bar/load-week.png\" srcset=\"../foo.bar/fii.foo.bar/load-week-2x.png 2x\""),
            "{cmp}"
        );
        assert!(cmp.contains("<td>goo.foo.bar</td>"), "{cmp}");
        assert!(cmp.contains("Load &lt;avg&gt;"), "{cmp}");
        let at = |n: &str| index.find(&format!(">{n}</a></h2>")).unwrap();
        assert!(at("foo.bar") < at("example.com"));
    }
}
