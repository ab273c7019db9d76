//! What is drawn and how: the drawn fields in order, negatives mirrored
//! below the axis, draw styles and stacking, colours, the legend with its
//! Cur/Min/Avg/Max columns, limit rules and the total.

use std::collections::HashMap;

use super::safe::rrd_text;
use super::vars::{Cf, Vars};
use super::{GraphSpec, attr, is_no, number};

/// Munin's palette, cycled for fields without `colour`.
const PALETTE: [&str; 28] = [
    "00CC00", "0066B3", "FF8000", "FFCC00", "330099", "990099", "CCFF00", "FF0000", "808080",
    "008F00", "00487D", "B35A00", "B38F00", "6B006B", "8FB300", "B30000", "BEBEBE", "80FF80",
    "80C9FF", "FFC080", "FFE680", "AA80FF", "EE00CC", "FF8080", "666600", "FFBFFF", "00FFCC",
    "CC6699",
];

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

/// `negative`: drawn field → the field mirrored below the axis with it.
pub(super) fn negatives(
    spec: &GraphSpec,
    index: &HashMap<&str, usize>,
    shown: &HashMap<usize, Vars>,
) -> HashMap<usize, usize> {
    spec.fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let n = attr(&f.attrs, "negative")?.trim();
            index.get(n).map(|j| (i, *j))
        })
        .filter(|(_, j)| shown.contains_key(j))
        .collect()
}

/// The fields drawn, in order: `graph_order` first (`name=source` borrows
/// data from another graph: only the name is used), then the rest in the
/// node's order; not `graph no`, not someone's negative, not unstored.
pub(super) fn drawn_fields(
    spec: &GraphSpec,
    shown: &HashMap<usize, Vars>,
    negatives: &HashMap<usize, usize>,
) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    for name in attr(&spec.graph, "graph_order")
        .unwrap_or("")
        .split_whitespace()
    {
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
    let is_negative: Vec<usize> = negatives.values().copied().collect();
    order
        .into_iter()
        .filter(|i| shown.contains_key(i))
        .filter(|i| !is_no(attr(&spec.fields[*i].attrs, "graph")) && !is_negative.contains(i))
        .collect()
}

/// The drawing and its legend: labels padded to one width, a colour per
/// drawn position.
pub(super) struct Legend {
    width: usize,
    total: Option<String>,
    /// `graph_printf`, when it is a number format librrd takes.
    printf: Option<String>,
}

impl Legend {
    pub(super) fn new(spec: &GraphSpec, drawn: &[usize]) -> Legend {
        let total = attr(&spec.graph, "graph_total").map(|t| rrd_text(t, 40));
        let width = drawn
            .iter()
            .map(|i| label(spec, *i).chars().count())
            .chain(total.iter().map(|t| t.chars().count()))
            .max()
            .unwrap_or(0);
        let printf = attr(&spec.graph, "graph_printf").and_then(number_format);
        Legend {
            width,
            total,
            printf,
        }
    }

    pub(super) fn draw(
        &self,
        a: &mut Vec<String>,
        spec: &GraphSpec,
        drawn: &[usize],
        shown: &HashMap<usize, Vars>,
        negatives: &HashMap<usize, usize>,
    ) {
        let width = self.width;
        // Negatives first, mirrored below the axis, stacked among themselves.
        let mut below = false;
        for (pos, i) in drawn.iter().enumerate() {
            if let Some(j) = negatives.get(i) {
                a.push(format!("CDEF:m{j}={},-1,*", shown[j].get(Cf::Average)));
                let draw = attr(&spec.fields[*i].attrs, "draw").unwrap_or("LINE2");
                let (kind, stack) = element(draw, below);
                a.push(format!(
                    "{kind}:m{j}#{}{}",
                    colour(spec, pos, *i),
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
        for (pos, i) in drawn.iter().enumerate() {
            let f = &spec.fields[*i];
            let draw = attr(&f.attrs, "draw").unwrap_or("LINE2");
            let (kind, stack) = element(draw, above);
            above = true;
            a.push(format!(
                "{kind}:{}#{}:{:<width$}{}",
                shown[i].get(Cf::Average),
                colour(spec, pos, *i),
                label(spec, *i),
                if stack { ":STACK" } else { "" }
            ));
            gprint(
                a,
                &shown[i],
                negatives.get(i).map(|j| &shown[j]),
                self.printf.as_deref(),
            );
            for (key, hex) in [("warning", "FFAA00"), ("critical", "FF0000")] {
                if let Some(limit) = attr(&f.attrs, key) {
                    for v in limit.split(':').filter_map(number) {
                        a.push(format!("HRULE:{v}#{hex}"));
                    }
                }
            }
        }
        if let Some(total) = &self.total
            && !drawn.is_empty()
        {
            let sums = Vars::new(|cf| ["t", "tn", "tx"][cf as usize].to_string());
            for cf in Cf::ALL {
                let mut words: Vec<&str> = drawn.iter().map(|i| shown[i].get(cf)).collect();
                words.extend(std::iter::repeat_n("ADDNAN", drawn.len() - 1));
                a.push(format!("CDEF:{}={}", sums.get(cf), words.join(",")));
            }
            a.push(format!("LINE1:t#000000:{total:<width$}"));
            gprint(a, &sums, None, self.printf.as_deref());
        }
    }
}

/// A field's legend label.
fn label(spec: &GraphSpec, i: usize) -> String {
    let f = &spec.fields[i];
    rrd_text(attr(&f.attrs, "label").unwrap_or(&f.name), 40)
}

/// Each drawn field's colour, by field index.
pub(super) fn colours(spec: &GraphSpec, drawn: &[usize]) -> Vec<(usize, String)> {
    drawn
        .iter()
        .enumerate()
        .map(|(pos, i)| (*i, colour(spec, pos, *i)))
        .collect()
}

/// A field's `colour` if it is hex, else the palette's at its position.
fn colour(spec: &GraphSpec, pos: usize, i: usize) -> String {
    attr(&spec.fields[i].attrs, "colour")
        .map(str::trim)
        .filter(|c| c.len() == 6 && c.chars().all(|c| c.is_ascii_hexdigit()))
        .map_or_else(
            || PALETTE[pos % PALETTE.len()].to_string(),
            str::to_uppercase,
        )
}

/// `graph_printf` as a GPRINT format: one number conversion (`%6.2lf`,
/// `%.0lf`, `%e`...) with plain text around it; a trailing `%s` is left
/// off, as the legend adds its own. Anything else (a second conversion, a
/// `:` that would end librrd's argument) is not used.
fn number_format(text: &str) -> Option<String> {
    use std::sync::LazyLock;
    static FORMAT: LazyLock<regex_lite::Regex> = LazyLock::new(|| {
        regex_lite::Regex::new(
            r"^[^%:\\]{0,20}%[-+ 0#]{0,3}[0-9]{0,2}(\.[0-9]{1,2})?l?[fFeEgG][^%:\\]{0,20}$",
        )
        .expect("a fixed pattern")
    });
    let t = text.trim();
    let t = t.strip_suffix("%s").unwrap_or(t);
    FORMAT.is_match(t).then(|| t.to_string())
}

/// The legend's Cur, Min, Avg and Max of `v` (as `negative/positive` when
/// the field has a negative), in `printf` when given.
fn gprint(a: &mut Vec<String>, v: &Vars, neg: Option<&Vars>, printf: Option<&str>) {
    let (pair, single) = (printf.unwrap_or("%6.2lf"), printf.unwrap_or("%10.2lf"));
    for (cf, func, end) in [
        (Cf::Average, "LAST", ""),
        (Cf::Min, "MIN", ""),
        (Cf::Average, "AVERAGE", ""),
        (Cf::Max, "MAX", "\\j"),
    ] {
        let var = v.get(cf);
        match neg.map(|n| n.get(cf)) {
            Some(n) => {
                a.push(format!("GPRINT:{n}:{func}:{pair}%s/\\g"));
                a.push(format!("GPRINT:{var}:{func}:{pair}%s{end}"));
            }
            None => a.push(format!("GPRINT:{var}:{func}:{single}%s{end}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_printf_is_used_only_when_librrd_can_take_it() {
        assert_eq!(number_format("%7.2lf").as_deref(), Some("%7.2lf"));
        assert_eq!(number_format(" %.0lf%s ").as_deref(), Some("%.0lf"));
        assert_eq!(number_format("%5.1le B").as_deref(), Some("%5.1le B"));
        for bad in ["%s", "%d", "%lf%lf", "a:%lf", "%lf\\", "", "%100.2lf"] {
            assert_eq!(number_format(bad), None, "{bad}");
        }
    }
}
