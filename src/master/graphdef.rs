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

use std::collections::HashMap;
use std::path::PathBuf;

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

/// Munin's palette, cycled for fields without `colour`.
const PALETTE: [&str; 28] = [
    "00CC00", "0066B3", "FF8000", "FFCC00", "330099", "990099", "CCFF00", "FF0000", "808080",
    "008F00", "00487D", "B35A00", "B38F00", "6B006B", "8FB300", "B30000", "BEBEBE", "80FF80",
    "80C9FF", "FFC080", "FFE680", "AA80FF", "EE00CC", "FF8080", "666600", "FFBFFF", "00FFCC",
    "CC6699",
];

/// `graph_args` options that only change how the graph looks, with
/// whether they take a value. Anything else is dropped (and said).
const DISPLAY_OPTIONS: [(&str, bool); 24] = [
    ("--base", true),
    ("-l", true),
    ("--lower-limit", true),
    ("-u", true),
    ("--upper-limit", true),
    ("-r", false),
    ("--rigid", false),
    ("-o", false),
    ("--logarithmic", false),
    ("-X", true),
    ("--units-exponent", true),
    ("-L", true),
    ("--units-length", true),
    ("-A", false),
    ("--alt-autoscale", false),
    ("-J", false),
    ("--alt-autoscale-min", false),
    ("-M", false),
    ("--alt-autoscale-max", false),
    ("-Y", false),
    ("--alt-y-grid", false),
    ("-y", true),
    ("--y-grid", true),
    ("--units=si", false),
];

/// An attribute's value (the last one given wins, as in Munin).
pub fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A node's text made safe for a librrd legend, title or label: no
/// control characters, `\` (librrd's escapes) dropped, `:` escaped.
pub fn rrd_text(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control() && *c != '\\')
        .take(max)
        .collect::<String>()
        .replace(':', "\\:")
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

/// The safe subset of `graph_args`, and what was dropped.
fn display_args(text: &str) -> (Vec<String>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(w) = words.next() {
        // `--base=1024` as well as `--base 1024`.
        let (opt, inline) = match w.split_once('=') {
            Some((o, v)) if o.starts_with("--") && w != "--units=si" => (o, Some(v)),
            _ => (w, None),
        };
        match DISPLAY_OPTIONS.iter().find(|(o, _)| *o == opt) {
            Some((_, false)) => kept.push(w.to_string()),
            Some((_, true)) => {
                let value = inline
                    .map(str::to_string)
                    .or_else(|| words.next().map(str::to_string));
                match value {
                    Some(v)
                        if v.len() < 40
                            && v.chars()
                                .all(|c| c.is_ascii_alphanumeric() || ".-+:".contains(c)) =>
                    {
                        kept.push(opt.to_string());
                        kept.push(v);
                    }
                    _ => dropped.push(w.to_string()),
                }
            }
            None => dropped.push(w.to_string()),
        }
    }
    (kept, dropped)
}

/// An RPN token librrd may see: a number or an operator word.
fn rpn_word(t: &str) -> bool {
    number(t).is_some()
        || (!t.is_empty() && t.len() <= 12 && t.chars().all(|c| c.is_ascii_uppercase()))
        || matches!(t, "+" | "-" | "*" | "/" | "%")
}

/// The draw element for `draw`, given whether something is drawn
/// below it to stack on.
fn element(draw: &str, stack_base: bool) -> (String, bool) {
    let d = draw.trim().to_ascii_uppercase();
    let (kind, stack) = match d.as_str() {
        "AREA" => ("AREA".to_string(), false),
        "STACK" => ("LINE2".to_string(), true),
        "AREASTACK" => ("AREA".to_string(), true),
        "LINE1" | "LINE2" | "LINE3" | "LINE" => (
            if d == "LINE" {
                "LINE2".into()
            } else {
                d.clone()
            },
            false,
        ),
        s if s.starts_with("LINESTACK") && matches!(&s[9..], "1" | "2" | "3") => {
            (format!("LINE{}", &s[9..]), true)
        }
        _ => ("LINE2".to_string(), false),
    };
    (kind, stack && stack_base)
}

/// What is said about a graph besides its arguments.
#[derive(Debug, Default)]
pub struct Built {
    pub args: Vec<String>,
    /// Attributes left out, for the log.
    pub warnings: Vec<String>,
}

/// A field's variables: raw DEFs and the value after cdef/period/min/max.
struct Vars {
    avg: String,
    min: String,
    max: String,
}

/// The arguments for one graph of `spec` over `period`, ending at `end`.
/// Errors (nothing stored, a cdef that is not RPN) name what is wrong.
pub fn build(spec: &GraphSpec, period: Period, end: u64) -> Result<Built, String> {
    let g = &spec.graph;
    let mut out = Built::default();
    let a = &mut out.args;
    let title = attr(g, "graph_title").unwrap_or("untitled");
    a.push("--title".into());
    a.push(format!("{} - by {}", rrd_text(title, 120), period.name()));
    a.extend(["--start".into(), (end - period.span()).to_string()]);
    a.extend(["--end".into(), end.to_string()]);
    let size = |key: &str, default: u32| {
        attr(g, key)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(default, |v| v.clamp(100, 2000))
    };
    a.extend(["--width".into(), size("graph_width", 400).to_string()]);
    a.extend(["--height".into(), size("graph_height", 175).to_string()]);
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
    let graph_period = attr(g, "graph_period")
        .map(str::trim)
        .filter(|p| matches!(*p, "second" | "minute" | "hour"))
        .unwrap_or("second");
    if let Some(v) = attr(g, "graph_vlabel") {
        a.push("--vertical-label".into());
        a.push(rrd_text(&v.replace("${graph_period}", graph_period), 80));
    }
    let (extra, dropped) = display_args(attr(g, "graph_args").unwrap_or(""));
    if !extra.iter().any(|w| w == "--base") {
        a.extend(["--base".into(), "1000".into()]);
    }
    a.extend(extra);
    if !dropped.is_empty() {
        out.warnings
            .push(format!("graph_args {} ignored", dropped.join(" ")));
    }
    if is_no(attr(g, "graph_scale")) {
        a.extend(["--units-exponent".into(), "0".into()]);
    }

    // Fields in graph_order first (`name=source` borrows data from
    // another graph: only the name is used), then the rest in node order.
    let mut order: Vec<usize> = Vec::new();
    for name in attr(g, "graph_order").unwrap_or("").split_whitespace() {
        let name = name.split('=').next().unwrap_or("");
        if let Some(i) = spec.fields.iter().position(|f| f.name == name)
            && !order.contains(&i)
        {
            order.push(i);
        }
    }
    let rest: Vec<usize> = (0..spec.fields.len())
        .filter(|i| !order.contains(i))
        .collect();
    order.extend(rest);

    let index: HashMap<&str, usize> = spec
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    // DEFs for every stored field, drawn or not: cdef and negative may
    // refer to hidden ones.
    let mut vars: HashMap<usize, Vars> = HashMap::new();
    for (i, f) in spec.fields.iter().enumerate() {
        let Some(file) = &f.file else { continue };
        let file = file
            .to_str()
            .ok_or("RRD path is not UTF-8")?
            .replace(':', "\\:");
        for (cf, prefix) in [("AVERAGE", "a"), ("MIN", "n"), ("MAX", "x")] {
            a.push(format!("DEF:{prefix}{i}={file}:42:{cf}"));
        }
        vars.insert(
            i,
            Vars {
                avg: format!("a{i}"),
                min: format!("n{i}"),
                max: format!("x{i}"),
            },
        );
    }
    if vars.is_empty() {
        return Err("no field has stored data yet".into());
    }
    // Each field's shown value: its cdef (field names mapped to their
    // DEFs of the same consolidation), per graph_period, within min/max.
    let mut shown: HashMap<usize, Vars> = HashMap::new();
    for i in 0..spec.fields.len() {
        let f = &spec.fields[i];
        if !vars.contains_key(&i) {
            continue;
        }
        let cdef = attr(&f.attrs, "cdef")
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let per = match (
            graph_period,
            attr(&f.attrs, "type").map(|t| t.trim().to_ascii_uppercase()),
        ) {
            (_, None) => "",
            (_, Some(t)) if t == "GAUGE" => "",
            ("minute", _) => ",60,*",
            ("hour", _) => ",3600,*",
            _ => "",
        };
        let lo = attr(&f.attrs, "min").and_then(number);
        let hi = attr(&f.attrs, "max").and_then(number);
        let limit = if lo.is_some() || hi.is_some() {
            format!(
                ",{},{},LIMIT",
                lo.map_or("NEGINF".into(), |v| v.to_string()),
                hi.map_or("INF".into(), |v| v.to_string())
            )
        } else {
            String::new()
        };
        let mut names = Vars {
            avg: String::new(),
            min: String::new(),
            max: String::new(),
        };
        for (kind, prefix) in [(0, "v"), (1, "vn"), (2, "vx")] {
            let pick = |v: &Vars| match kind {
                0 => v.avg.clone(),
                1 => v.min.clone(),
                _ => v.max.clone(),
            };
            let base = match cdef {
                None => pick(&vars[&i]),
                Some(c) => {
                    let mut words = Vec::new();
                    for t in c.split(',') {
                        let t = t.trim();
                        if let Some(j) = index.get(t) {
                            let v = vars.get(j).ok_or_else(|| {
                                format!("{}.cdef refers to {t}, which has no data", f.name)
                            })?;
                            words.push(pick(v));
                        } else if rpn_word(t) {
                            words.push(t.to_string());
                        } else {
                            return Err(format!("{}.cdef: {t:?} is not RPN", f.name));
                        }
                    }
                    words.join(",")
                }
            };
            let name = format!("{prefix}{i}");
            a.push(format!("CDEF:{name}={base}{per}{limit}"));
            match kind {
                0 => names.avg = name,
                1 => names.min = name,
                _ => names.max = name,
            }
        }
        shown.insert(i, names);
    }

    // Which fields are drawn: not `graph no`, not someone's negative.
    let negatives: HashMap<usize, usize> = spec
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let n = attr(&f.attrs, "negative")?.trim();
            index.get(n).map(|j| (i, *j))
        })
        .filter(|(_, j)| shown.contains_key(j))
        .collect();
    let is_negative: Vec<usize> = negatives.values().copied().collect();
    let drawn: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| shown.contains_key(i))
        .filter(|i| !is_no(attr(&spec.fields[*i].attrs, "graph")) && !is_negative.contains(i))
        .collect();
    let label = |i: usize| {
        let f = &spec.fields[i];
        rrd_text(attr(&f.attrs, "label").unwrap_or(&f.name), 40)
    };
    let total = attr(g, "graph_total").map(|t| rrd_text(t, 40));
    let width = drawn
        .iter()
        .map(|i| label(*i).chars().count())
        .chain(total.iter().map(|t| t.chars().count()))
        .max()
        .unwrap_or(0);
    let colour = |pos: usize, i: usize| -> String {
        attr(&spec.fields[i].attrs, "colour")
            .map(str::trim)
            .filter(|c| c.len() == 6 && c.chars().all(|c| c.is_ascii_hexdigit()))
            .map_or_else(
                || PALETTE[pos % PALETTE.len()].to_string(),
                str::to_uppercase,
            )
    };

    // Negatives first, mirrored below the axis, stacked among themselves.
    let mut below = false;
    for (pos, i) in drawn.iter().enumerate() {
        if let Some(j) = negatives.get(i) {
            a.push(format!("CDEF:m{j}={},-1,*", shown[j].avg));
            let draw = attr(&spec.fields[*i].attrs, "draw").unwrap_or("LINE2");
            let (kind, stack) = element(draw, below);
            a.push(format!(
                "{kind}:m{j}#{}{}",
                colour(pos, *i),
                if stack { "::STACK" } else { "" }
            ));
            below = true;
        }
    }
    // The legend's header row, then one row per drawn field.
    a.push(format!("COMMENT:{}", " ".repeat(width + 4)));
    for (h, end) in [("Cur", ""), ("Min", ""), ("Avg", ""), ("Max", "\\j")] {
        a.push(format!("COMMENT:{h:>10}\\:{end}"));
    }
    let mut above = false;
    let gprint = |a: &mut Vec<String>, v: &Vars, neg: Option<&Vars>| {
        for (var, nvar, cf, end) in [
            (&v.avg, neg.map(|n| &n.avg), "LAST", ""),
            (&v.min, neg.map(|n| &n.min), "MIN", ""),
            (&v.avg, neg.map(|n| &n.avg), "AVERAGE", ""),
            (&v.max, neg.map(|n| &n.max), "MAX", "\\j"),
        ] {
            match nvar {
                Some(n) => {
                    a.push(format!("GPRINT:{n}:{cf}:%6.2lf%s/\\g"));
                    a.push(format!("GPRINT:{var}:{cf}:%6.2lf%s{end}"));
                }
                None => a.push(format!("GPRINT:{var}:{cf}:%10.2lf%s{end}")),
            }
        }
    };
    for (pos, i) in drawn.iter().enumerate() {
        let f = &spec.fields[*i];
        let draw = attr(&f.attrs, "draw").unwrap_or("LINE2");
        let (kind, stack) = element(draw, above);
        above = true;
        a.push(format!(
            "{kind}:{}#{}:{:<width$}{}",
            shown[i].avg,
            colour(pos, *i),
            label(*i),
            if stack { ":STACK" } else { "" }
        ));
        gprint(a, &shown[i], negatives.get(i).map(|j| &shown[j]));
        for (key, hex) in [("warning", "FFAA00"), ("critical", "FF0000")] {
            if let Some(limit) = attr(&f.attrs, key) {
                for v in limit.split(':').filter_map(number) {
                    a.push(format!("HRULE:{v}#{hex}"));
                }
            }
        }
    }
    if let Some(total) = total
        && !drawn.is_empty()
    {
        let rpn = |pick: fn(&Vars) -> &String| {
            let mut words: Vec<String> = drawn.iter().map(|i| pick(&shown[i]).clone()).collect();
            words.extend(std::iter::repeat_n("ADDNAN".to_string(), drawn.len() - 1));
            words.join(",")
        };
        let sums = Vars {
            avg: "t".into(),
            min: "tn".into(),
            max: "tx".into(),
        };
        let (avg, min, max) = (rpn(|v| &v.avg), rpn(|v| &v.min), rpn(|v| &v.max));
        a.push(format!("CDEF:t={avg}"));
        a.push(format!("CDEF:tn={min}"));
        a.push(format!("CDEF:tx={max}"));
        a.push(format!("LINE1:t#000000:{total:<width$}"));
        gprint(a, &sums, None);
    }
    Ok(out)
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
