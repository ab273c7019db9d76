//! Text from a node made safe for librrd's argument language: the display
//! options of `graph_args` that may pass, labels with librrd's separators
//! escaped, RPN tokens that are numbers or operator words.

use super::number;

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

/// A node's text made safe for a librrd legend, title or label: no
/// control characters, `\` (librrd's escapes) dropped, `:` escaped.
pub fn rrd_text(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control() && *c != '\\')
        .take(max)
        .collect::<String>()
        .replace(':', "\\:")
}

/// The safe subset of `graph_args`, and what was dropped.
pub(super) fn display_args(text: &str) -> (Vec<String>, Vec<String>) {
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
pub(super) fn rpn_word(t: &str) -> bool {
    number(t).is_some()
        || (!t.is_empty() && t.len() <= 12 && t.chars().all(|c| c.is_ascii_uppercase()))
        || matches!(t, "+" | "-" | "*" | "/" | "%")
}
