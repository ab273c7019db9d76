//! The zoom page: one graph over any range, at Munin 2.0's dynazoom URL
//! (`static/dynazoom.html?plugin_name=<group path>/<host>/<service>&
//! start_epoch=S&stop_epoch=E&size_x=W&size_y=H`), so old bookmarks work.
//!
//! The page is whole without JavaScript: the range's graph (an `<img>` of
//! `serve`'s any-range PNG), a GET form for the range and size, links to
//! the four periods, to zoom in and out and to move earlier or later,
//! the four static graphs, and the range's data as CSV and JSON. Every
//! link is this page with other parameters, so each step is a history
//! entry and a URL to share.
//!
//! [`SCRIPT`] (`zoom.js`, written by `munin-master html` as
//! `static/zoom.js` beside the stylesheet; no inline code, so a
//! `script-src 'self'` policy allows it) adds dragging: a drag across
//! the plot area selects a range, which becomes the page's URL
//! (`history.pushState`) and is drawn in place. It learns where the plot
//! area is from the PNG's `X-Graph-*` headers (librrd's graphv numbers),
//! reading them with `fetch()` and showing that same response through a
//! blob URL, so the geometry always belongs to the image shown. Back and
//! forward (`popstate`) draw the entry's range again. Without those
//! headers (a plain web server) the script does nothing.

use std::fmt::Write as _;

use super::window::Window;
use crate::master::conf::Host;
use crate::master::site::graphdef::{self, Period, utc};
use crate::master::site::pages;
use crate::master::site::sitemap::{
    escape, graph_file, graph_file_2x, host_dir, service_base, service_page,
};
use crate::master::state::ServiceConfig;

/// The script that makes the graph draggable, written to htmldir as
/// `static/zoom.js`.
pub const SCRIPT: &str = include_str!("zoom.js");

/// Where the page lives in the site: its links are relative to it.
const REL: &str = "static/dynazoom.html";

/// What the zoom page shows: one service's graph over `window`.
pub struct ZoomGraph<'a> {
    pub host: &'a Host,
    pub service: &'a ServiceConfig,
    pub window: Window,
    /// Whether the static graphs have 2x versions (`html::hidpi`).
    pub hidpi: bool,
}

/// `-30h`, `-8d`: a span back from now as the page's links write it.
fn ago(span: u64) -> String {
    if span.is_multiple_of(86400) {
        format!("-{}d", span / 86400)
    } else if span.is_multiple_of(3600) {
        format!("-{}h", span / 3600)
    } else {
        format!("-{span}")
    }
}

/// The zoom page's URL for `plugin_name` over `period`, relative to the
/// site's root (`static/dynazoom.html?…`, escaped for an attribute): the
/// period's span back from now, so a page linking it never changes.
pub fn period_href(plugin_name: &str, period: Period) -> String {
    format!(
        "{REL}?plugin_name={}&amp;start_epoch={}&amp;stop_epoch=now",
        escape(plugin_name),
        ago(period.span())
    )
}

/// The page's own URL (relative to it) for another range or size.
fn href(plugin_name: &str, start: &str, end: &str, size: (u32, u32)) -> String {
    format!(
        "dynazoom.html?plugin_name={}&amp;start_epoch={start}&amp;stop_epoch={end}&amp;size_x={}&amp;size_y={}",
        escape(plugin_name),
        size.0,
        size.1
    )
}

/// A range `start..end` moved and clamped so it ends by `now` (keeping
/// its span when it can) and lasts at least the shortest span.
fn clamp(start: i128, end: i128, now: u64) -> (u64, u64) {
    let now = i128::from(now);
    let span = (end - start).max(i128::from(super::window::MIN_SPAN));
    let end = end.min(now).max(span);
    ((end - span) as u64, end as u64)
}

/// A period's span as its link says it: `30 hours`, `8 days`.
fn period_label(span: u64) -> String {
    if span.is_multiple_of(86400) && span > 86400 {
        format!("{} days", span / 86400)
    } else {
        format!("{} hours", span / 3600)
    }
}

/// `1 h 30 min`, `8 d`: a span for people.
fn human(span: u64) -> String {
    let (d, h, m) = (span / 86400, span % 86400 / 3600, span % 3600 / 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m} min"));
    }
    parts.join(" ")
}

/// The page as HTML; `now` places the fixed ranges' links.
pub fn page(g: &ZoomGraph, now: u64) -> String {
    let w = &g.window;
    let name = &g.service.name;
    let plugin_name = format!("{}{}", host_dir(g.host), service_base(name));
    let base = format!("../{}", escape(&plugin_name));
    let title = graphdef::attr(&g.service.graph, "graph_title").unwrap_or(name);
    let size = (w.width, w.height);
    let mut body = String::new();

    let _ = writeln!(
        body,
        "<p>{} to {} ({}). <a href=\"../{}{}\">All graphs of this service</a></p>",
        utc(w.start),
        utc(w.end),
        human(w.span()),
        escape(&host_dir(g.host)),
        escape(&service_page(name)),
    );
    let graph = format!(
        "{base}.png?start={}&amp;end={}&amp;width={}&amp;height={}",
        w.start, w.end, w.width, w.height
    );
    let _ = writeln!(
        body,
        "<div class=\"zoom-plot\"><img id=\"zoom-graph\" src=\"{graph}\" srcset=\"{graph}&amp;scale=2 2x\" alt=\"{} from {} to {}\"></div>\n\
         <p id=\"zoom-status\" role=\"status\"></p>",
        escape(title),
        utc(w.start),
        utc(w.end)
    );

    // Fixed ranges, and steps from this one.
    body.push_str("<p class=\"zoom-nav\">Last");
    for p in Period::ALL {
        let _ = write!(
            body,
            " <a href=\"{}\">{}</a>",
            href(&plugin_name, &ago(p.span()), "now", size),
            period_label(p.span())
        );
    }
    body.push_str("</p>\n<p class=\"zoom-nav\">");
    let (s, e, span) = (i128::from(w.start), i128::from(w.end), i128::from(w.span()));
    let mid = (s + e) / 2;
    let steps = [
        ("Earlier", clamp(s - span / 2, e - span / 2, now)),
        ("Zoom in ×2", clamp(mid - span / 4, mid + span / 4, now)),
        ("Zoom out ×2", clamp(mid - span, mid + span, now)),
        ("Later", clamp(s + span / 2, e + span / 2, now)),
    ];
    for (label, (a, b)) in steps {
        if (a, b) == (w.start, w.end) {
            let _ = write!(body, "<span>{label}</span>");
        } else {
            let _ = write!(
                body,
                "<a href=\"{}\">{label}</a>",
                href(&plugin_name, &a.to_string(), &b.to_string(), size)
            );
        }
    }
    let _ = writeln!(
        body,
        "</p>\n<p>Data of this range: <a href=\"{base}.csv?start={s}&amp;end={e}\">CSV</a>, \
         <a href=\"{base}.json?start={s}&amp;end={e}\">JSON</a></p>",
        s = w.start,
        e = w.end
    );

    // The form: also what a browser without the script submits.
    let _ = writeln!(
        body,
        "<form class=\"zoom-form\" method=\"get\" action=\"dynazoom.html\">\n\
         <input type=\"hidden\" name=\"plugin_name\" value=\"{}\">\n\
         <label>From <input name=\"start_epoch\" value=\"{}\" required></label>\n\
         <label>to <input name=\"stop_epoch\" value=\"{}\" required></label>\n\
         <label>Width <input name=\"size_x\" type=\"number\" min=\"{min}\" max=\"{}\" value=\"{}\"></label>\n\
         <label>Height <input name=\"size_y\" type=\"number\" min=\"{min}\" max=\"{}\" value=\"{}\"></label>\n\
         <button type=\"submit\">Draw</button>\n\
         <small>Times: Unix seconds, <code>now</code>, or back from now as <code>-2d</code>, <code>now-3h</code>.</small>\n\
         </form>",
        escape(&plugin_name),
        w.start,
        w.end,
        super::window::MAX_WIDTH,
        w.width,
        super::window::MAX_HEIGHT,
        w.height,
        min = super::window::MIN_SIDE,
    );

    // The four static graphs, each opening its period here.
    body.push_str("<h2>By period</h2>\n<div class=\"graphs\">\n");
    let host = escape(&host_dir(g.host));
    for p in Period::ALL {
        let set = if g.hidpi {
            format!(
                " srcset=\"../{host}{} 2x\"",
                escape(&graph_file_2x(name, p))
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            body,
            "<figure><a href=\"{}\"><img src=\"../{host}{}\"{set} alt=\"{} by {}\"></a></figure>",
            href(&plugin_name, &ago(p.span()), "now", size),
            escape(&graph_file(name, p)),
            escape(title),
            p.name()
        );
    }
    body.push_str("</div>\n");

    let mut crumbs = pages::service_crumbs(g.host, name);
    crumbs.push((
        format!("{}{}", host_dir(g.host), service_page(name)),
        title.to_string(),
    ));
    pages::page_with(
        REL,
        &format!("{title} – zoom"),
        &crumbs,
        "<script src=\"zoom.js\" defer></script>\n",
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn host() -> Host {
        Host::new(vec!["lab".into()], "web<1>.example")
    }

    fn service(name: &str, title: &str) -> ServiceConfig {
        ServiceConfig {
            name: name.into(),
            graph: vec![("graph_title".into(), title.into())],
            fields: Vec::new(),
            files: Vec::new(),
            own_limits: None,
        }
    }

    fn window(start: u64, end: u64) -> Window {
        Window {
            start,
            end,
            width: 500,
            height: 200,
            scale: 1,
        }
    }

    #[test]
    fn the_page_works_without_script_and_escapes_node_text() {
        let h = host();
        let s = service("if.eth0", "<b>Traffic</b> \"eth0\"");
        let g = ZoomGraph {
            host: &h,
            service: &s,
            window: window(NOW - 7200, NOW - 3600),
            hidpi: true,
        };
        let html = page(&g, NOW);
        let dir = format!(
            "lab/{}/",
            crate::master::site::sitemap::part("web<1>.example")
        );
        assert!(!html.contains("<b>") && !html.contains("web<1>"), "{html}");
        assert!(html.contains("&lt;b&gt;Traffic&lt;/b&gt; &quot;eth0&quot;"));
        let graph = format!(
            "src=\"../{dir}if/eth0.png?start={}&amp;end={}&amp;width=500&amp;height=200\" srcset=\"../{dir}if/eth0.png?start={0}&amp;end={1}&amp;width=500&amp;height=200&amp;scale=2 2x\"",
            NOW - 7200,
            NOW - 3600
        );
        assert!(html.contains(&graph), "{html}");
        // The periods, as links and as the static graphs (with 2x).
        for (p, ago) in [
            ("day", "-30h"),
            ("week", "-8d"),
            ("month", "-33d"),
            ("year", "-400d"),
        ] {
            let link = format!(
                "href=\"dynazoom.html?plugin_name={dir}if/eth0&amp;start_epoch={ago}&amp;stop_epoch=now&amp;size_x=500&amp;size_y=200\""
            );
            assert_eq!(html.matches(&link).count(), 2, "{p}: {html}");
            assert!(
                html.contains(&format!(
                    "<img src=\"../{dir}if/eth0-{p}.png\" srcset=\"../{dir}if/eth0-{p}-2x.png 2x\""
                )),
                "{p}"
            );
        }
        // Steps from the hour shown: later stops at now.
        let step = |a: u64, b: u64| format!("start_epoch={a}&amp;stop_epoch={b}&amp;size_x=500");
        for (a, b) in [
            (NOW - 9000, NOW - 5400),
            (NOW - 6300, NOW - 4500),
            (NOW - 9000, NOW - 1800),
            (NOW - 5400, NOW - 1800),
        ] {
            assert!(html.contains(&step(a, b)), "{a}..{b}: {html}");
        }
        assert!(html.contains(&format!(
            "href=\"../{dir}if/eth0.csv?start={}&amp;end={}\"",
            NOW - 7200,
            NOW - 3600
        )));
        assert!(
            html.contains("<form class=\"zoom-form\" method=\"get\" action=\"dynazoom.html\">")
        );
        assert!(html.contains(&format!("name=\"start_epoch\" value=\"{}\"", NOW - 7200)));
        assert!(html.contains("<script src=\"zoom.js\" defer></script>"));
        let dom = html5ever::tendril::TendrilSink::read_from(
            html5ever::parse_document(
                markup5ever_rcdom::RcDom::default(),
                html5ever::ParseOpts::default(),
            )
            .from_utf8(),
            &mut html.as_bytes(),
        )
        .unwrap();
        assert!(dom.errors.borrow().is_empty(), "{:?}", dom.errors.borrow());
        let inline = regex_lite::Regex::new(r"(?i)<[^>]*\son[a-z]+=|<script>|style=").unwrap();
        assert!(!inline.is_match(&html), "no inline code: {html}");
        // Crumbs: the host, the plugin, the service page.
        assert!(html.contains(&format!("href=\"../{dir}index.html\"")));
        assert!(html.contains(&format!("href=\"../{dir}if.html\">if</a>")));
        assert!(html.contains(&format!("href=\"../{dir}if/eth0.html\"")));
    }

    #[test]
    fn steps_at_now_are_not_links() {
        let h = host();
        let s = service("load", "Load");
        let g = ZoomGraph {
            host: &h,
            service: &s,
            window: window(NOW - 3600, NOW),
            hidpi: false,
        };
        let html = page(&g, NOW);
        assert!(html.contains("<span>Later</span>"), "{html}");
        assert!(!html.contains("-2x.png"), "no 2x static graphs");
        assert_eq!(clamp(100, 120, NOW), (60, 120), "at least a minute");
        assert_eq!(human(30 * 3600), "1 d 6 h");
        assert!(
            html.contains(">30 hours</a> <a") && html.contains(">400 days</a>"),
            "{html}"
        );
        assert_eq!(
            period_href("a/b/load", Period::Week),
            "static/dynazoom.html?plugin_name=a/b/load&amp;start_epoch=-8d&amp;stop_epoch=now"
        );
    }
}
