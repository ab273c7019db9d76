//! A Munin graph as librrd `graph` arguments: what `graph_title`,
//! `graph_args`, `draw`, `negative`, `cdef`, `graph_total` and the rest
//! mean, turned into `DEF`/`CDEF`/`LINE`/`AREA`/`GPRINT` elements.
//!
//! Everything here comes from a node, and librrd's arguments are a small
//! language (a `DEF` names any file, `--daemon` any socket), so nothing
//! is passed through as text: `graph_args` options are taken from a list
//! of display options, `cdef` tokens must be numbers, operators or field
//! names, labels have librrd's separators escaped, colours must be hex.
//! A graph that cannot be drawn safely is an error naming the attribute.

//!
//! - `safe`: node text made safe for librrd's arguments.
//! - `vars`: the `DEF`s and shown values (`CDEF`s) a graph reads.
//! - `legend`: what is drawn, in which order and style, and the legend.
//! - `future`: `graph_future`, and the `trend` and `predict` lines.
//! - [`xport`]: the same series as librrd `xport` arguments, for data out.

mod future;
mod legend;
mod safe;
mod vars;
pub mod xport;

use std::collections::HashMap;
use std::path::PathBuf;

use legend::{Legend, drawn_fields, negatives};
use safe::display_args;
pub use safe::rrd_text;
use vars::{defs, shown};

/// The four pages' periods: (name, span in seconds, how often the graph
/// can change, i.e. its archive's step at Munin's 300 s rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Period {
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Year];

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// How far back the graph reaches (Munin's 30 h, 8 d, 33 d, 400 d:
    /// a little more than the name, so the edge is never empty).
    pub fn span(self) -> u64 {
        match self {
            Period::Day => 30 * 3600,
            Period::Week => 8 * 86400,
            Period::Month => 33 * 86400,
            Period::Year => 400 * 86400,
        }
    }

    /// The step of the archive the graph reads, for a host updated every
    /// `step` seconds: the graph cannot change until a new row of it is
    /// complete (Munin's archives: the update rate, 30 min, 2 h, 1 day).
    pub fn resolution(self, step: u64) -> u64 {
        match self {
            Period::Day => step.max(1),
            Period::Week => 1800.max(step),
            Period::Month => 7200.max(step),
            Period::Year => 86400,
        }
    }
}

/// A field as the graph sees it: its name, attributes and RRD file
/// (`None` when nothing was stored yet).
#[derive(Debug, Clone)]
pub struct GraphField {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub file: Option<PathBuf>,
}

/// One graph to draw.
#[derive(Debug, Clone)]
pub struct GraphSpec {
    pub graph: Vec<(String, String)>,
    pub fields: Vec<GraphField>,
}

impl GraphSpec {
    /// Each field's position by name, for cdefs and negatives.
    pub(super) fn index(&self) -> HashMap<&str, usize> {
        self.fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect()
    }
}

/// An attribute's value (the last one given wins, as in Munin).
pub fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `"yes"`-like values, as Munin reads booleans.
fn is_no(v: Option<&str>) -> bool {
    matches!(
        v.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("no" | "false" | "off" | "0")
    )
}

/// Whether the service's graph is drawn at all (`graph no` hides it).
pub fn drawn(graph: &[(String, String)]) -> bool {
    !is_no(attr(graph, "graph"))
}

/// The numeric value of a limit word (`80`, `-5.5`), or `None`.
fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// What is said about a graph besides its arguments.
#[derive(Debug, Default)]
pub struct Built {
    pub args: Vec<String>,
    /// Attributes left out, for the log.
    pub warnings: Vec<String>,
}

/// What one drawing covers: one of the pages' periods, or a window
/// someone chose (`serve`'s any-range graphs).
#[derive(Debug, Clone)]
struct Frame {
    start: u64,
    end: u64,
    /// After the title: `by day`, or the range.
    caption: String,
    /// Width and height instead of `graph_width`/`graph_height`, and
    /// librrd's `--zoom` (device pixels per pixel).
    size: Option<(u32, u32)>,
    zoom: u32,
    /// The period whose steps `graph_future`, trend and predict count in.
    period: Period,
}

/// The arguments for one graph of `spec` over `period`, ending at `end`.
/// Errors (nothing stored, a cdef that is not RPN) name what is wrong.
pub fn build(spec: &GraphSpec, period: Period, end: u64) -> Result<Built, String> {
    let ahead = future::seconds(&spec.graph, period);
    let frame = Frame {
        start: (end + ahead).saturating_sub(period.span()),
        end: end + ahead,
        caption: format!("by {}", period.name()),
        size: None,
        zoom: 1,
        period,
    };
    build_frame(spec, &frame, end, ahead)
}

/// The arguments for `spec` drawn over a window: its range and size, at
/// its scale; no look ahead (the window says where the graph ends).
pub fn build_window(
    spec: &GraphSpec,
    w: &crate::master::explore::window::Window,
) -> Result<Built, String> {
    let period = Period::ALL
        .into_iter()
        .find(|p| p.span() >= w.span())
        .unwrap_or(Period::Year);
    let frame = Frame {
        start: w.start,
        end: w.end,
        caption: format!("{} to {}", utc(w.start), utc(w.end)),
        size: Some((w.width, w.height)),
        zoom: w.scale,
        period,
    };
    build_frame(spec, &frame, w.end, 0)
}

/// `YYYY-MM-DD HH:MM UTC`, for a window's title.
pub fn utc(t: u64) -> String {
    let (y, m, d) = crate::clock::civil(i64::try_from(t).unwrap_or(i64::MAX));
    let secs = t % 86400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn build_frame(spec: &GraphSpec, frame: &Frame, now: u64, ahead: u64) -> Result<Built, String> {
    let mut out = Built::default();
    let per = graph_period(&spec.graph);
    header(&mut out, &spec.graph, frame, per);
    if let Some(text) = super::expressions::expression(&spec.graph) {
        let sources = super::expressions::sources(spec);
        let compiled = crate::master::expr::compile_str(text, &sources, frame.start, frame.end)
            .map_err(|e| e.to_string())?;
        out.args.extend(compiled.graph_args());
        return Ok(out);
    }
    let index = spec.index();
    let defs = defs(spec, &mut out.args)?;
    let shown = shown(spec, &index, &defs, per, &mut out.args)?;
    let negatives = negatives(spec, &index, &shown);
    let drawn = drawn_fields(spec, &shown, &negatives);
    Legend::new(spec, &drawn).draw(&mut out.args, spec, &drawn, &shown, &negatives);
    let colours = legend::colours(spec, &drawn);
    future::draw(
        &mut out.args,
        spec,
        frame.period,
        now,
        ahead,
        &shown,
        &colours,
    );
    Ok(out)
}

/// `graph_period` if it is one librrd's rates can be scaled to.
fn graph_period(g: &[(String, String)]) -> &str {
    attr(g, "graph_period")
        .map(str::trim)
        .filter(|p| matches!(*p, "second" | "minute" | "hour"))
        .unwrap_or("second")
}

/// Title, time span, size, looks, and the safe part of `graph_args`.
fn header(out: &mut Built, g: &[(String, String)], frame: &Frame, per: &str) {
    let a = &mut out.args;
    let title = attr(g, "graph_title").unwrap_or("untitled");
    a.push("--title".into());
    a.push(format!("{} - {}", rrd_text(title, 120), frame.caption));
    a.extend(["--start".into(), frame.start.to_string()]);
    a.extend(["--end".into(), frame.end.to_string()]);
    let size = |key: &str, default: u32| {
        attr(g, key)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(default, |v| v.clamp(100, 2000))
    };
    let (width, height) = frame
        .size
        .unwrap_or_else(|| (size("graph_width", 400), size("graph_height", 175)));
    a.extend(["--width".into(), width.to_string()]);
    a.extend(["--height".into(), height.to_string()]);
    if frame.zoom > 1 {
        a.extend(["--zoom".into(), frame.zoom.to_string()]);
    }
    a.extend(["--imgformat".into(), "PNG".into()]);
    for part in [
        "--slope-mode",
        "--border",
        "0",
        "--font",
        "DEFAULT:0:DejaVu Sans",
        "--font",
        "LEGEND:7:DejaVu Sans Mono",
        "--color",
        "BACK#F0F0F0",
        "--color",
        "FRAME#F0F0F0",
        "--color",
        "CANVAS#FFFFFF",
    ] {
        a.push(part.into());
    }
    if let Some(v) = attr(g, "graph_vlabel") {
        a.push("--vertical-label".into());
        a.push(rrd_text(&v.replace("${graph_period}", per), 80));
    }
    // graph_args_after (Munin 2.0) goes after the plugin's graph_args;
    // set globally it reaches every graph.
    let args = [attr(g, "graph_args"), attr(g, "graph_args_after")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let (extra, dropped) = display_args(&args);
    if !extra.iter().any(|w| w == "--base") {
        a.extend(["--base".into(), "1000".into()]);
    }
    a.extend(extra);
    if !dropped.is_empty() {
        out.warnings
            .push(format!("graph_args {} ignored", dropped.join(" ")));
    }
    if is_no(attr(g, "graph_scale")) {
        out.args.extend(["--units-exponent".into(), "0".into()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field(name: &str, attrs: &[(&str, &str)]) -> GraphField {
        GraphField {
            name: name.into(),
            attrs: kv(attrs),
            file: Some(PathBuf::from(format!("/db/h-x-{name}-g.rrd"))),
        }
    }

    fn args(spec: &GraphSpec) -> Vec<String> {
        build(spec, Period::Day, 200_000).unwrap().args
    }

    #[test]
    fn title_vlabel_and_args_follow_munin() {
        let spec = GraphSpec {
            graph: kv(&[
                ("graph_title", "Traffic: eth0"),
                ("graph_vlabel", "bits per ${graph_period}"),
                (
                    "graph_args",
                    "--base 1024 -l 0 --upper-limit 100 -r --daemon /x DEF:y",
                ),
                ("graph_scale", "no"),
                ("graph_period", "minute"),
            ]),
            fields: vec![field("in", &[("type", "DERIVE")])],
        };
        let b = build(&spec, Period::Week, 1_000_000).unwrap();
        let s = b.args.join(" ");
        assert!(s.contains("--title Traffic\\: eth0 - by week"), "{s}");
        assert!(s.contains("--start 308800 --end 1000000"), "{s}");
        assert!(s.contains("--vertical-label bits per minute"), "{s}");
        assert!(s.contains("--base 1024 -l 0 --upper-limit 100 -r"), "{s}");
        assert!(!s.contains("--base 1000"), "{s}");
        assert!(!s.contains("daemon") && !s.contains("DEF:y"), "{s}");
        assert_eq!(b.warnings, vec!["graph_args --daemon /x DEF:y ignored"]);
        assert!(s.contains("--units-exponent 0"), "{s}");
        assert!(s.contains("CDEF:v0=a0,60,*"), "derive per minute: {s}");
    }

    #[test]
    fn order_draw_stack_negative_and_total() {
        let spec = GraphSpec {
            graph: kv(&[("graph_order", "b a"), ("graph_total", "Total")]),
            fields: vec![
                field("a", &[("draw", "STACK"), ("colour", "123abc")]),
                field("b", &[("draw", "AREA"), ("label", "B label")]),
                field("down", &[("graph", "no")]),
                field("up", &[("negative", "down"), ("draw", "LINESTACK1")]),
                field("hidden", &[("graph", "no")]),
            ],
        };
        let a = args(&spec);
        let draws: Vec<&String> = a
            .iter()
            .filter(|x| x.starts_with("LINE") || x.starts_with("AREA"))
            .collect();
        assert_eq!(
            draws[0], "LINE1:m2#FF8000",
            "negative first, unstacked: {draws:?}"
        );
        assert!(draws[1].starts_with("AREA:v1#00CC00:B label"), "{draws:?}");
        assert!(draws[2].starts_with("LINE2:v0#123ABC:a") && draws[2].ends_with(":STACK"));
        assert!(draws[3].starts_with("LINE1:v3#") && draws[3].ends_with(":STACK"));
        assert!(draws[4].starts_with("LINE1:t#000000:Total"));
        assert_eq!(draws.len(), 5, "hidden fields are not drawn: {draws:?}");
        assert!(
            a.contains(&"CDEF:t=v1,v0,v3,ADDNAN,ADDNAN".to_string()),
            "{a:?}"
        );
        assert!(
            a.contains(&"GPRINT:v2:LAST:%6.2lf%s/\\g".to_string()),
            "{a:?}"
        );
        assert!(
            a.iter().any(|x| x.starts_with("DEF:a4=")),
            "hidden still defined"
        );
        let mut printf = spec.clone();
        printf.graph.push(("graph_printf".into(), "%5.1lf".into()));
        let a = args(&printf);
        assert!(
            a.contains(&"GPRINT:vx1:MAX:%5.1lf%s\\j".to_string()),
            "{a:?}"
        );
        assert!(a.contains(&"GPRINT:t:LAST:%5.1lf%s".to_string()), "{a:?}");
    }

    #[test]
    fn cdef_limits_and_hostile_text() {
        let spec = GraphSpec {
            graph: kv(&[("graph_title", "<script>\\n:x")]),
            fields: vec![
                field(
                    "bytes",
                    &[
                        ("cdef", "bytes,8,*"),
                        ("min", "0"),
                        ("warning", "80"),
                        ("critical", "10:90"),
                    ],
                ),
                field("other", &[("label", "a:b\\l")]),
            ],
        };
        let a = args(&spec);
        assert!(
            a.contains(&"CDEF:v0=a0,8,*,0,INF,LIMIT".to_string()),
            "{a:?}"
        );
        assert!(
            a.contains(&"CDEF:vx0=x0,8,*,0,INF,LIMIT".to_string()),
            "{a:?}"
        );
        assert!(a.contains(&"HRULE:80#FFAA00".to_string()));
        assert!(
            a.contains(&"HRULE:10#FF0000".to_string())
                && a.contains(&"HRULE:90#FF0000".to_string())
        );
        assert!(a.contains(&"<script>n\\:x - by day".to_string()), "{a:?}");
        assert!(
            a.iter().any(|x| x.starts_with("LINE2:v1#0066B3:a\\:bl")),
            "{a:?}"
        );
        for bad in ["bytes,8,*,DEF:x=/etc/passwd", "bytes,/etc", "nosuch,1,+"] {
            let mut s = spec.clone();
            s.fields[0].attrs = kv(&[("cdef", bad)]);
            assert!(build(&s, Period::Day, 200_000).is_err(), "{bad}");
        }
        let empty = GraphSpec {
            graph: vec![],
            fields: vec![GraphField {
                name: "x".into(),
                attrs: vec![],
                file: None,
            }],
        };
        assert!(build(&empty, Period::Day, 200_000).is_err());
    }
}
