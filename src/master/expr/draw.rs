//! How the compiled series are drawn: the presentation functions (`label`,
//! `color`, `lines`, `bars`, `stack`, `yaxis`) turned into `LINE`/`AREA`
//! elements, `XPORT` labels and graph options.
//!
//! Within an expression the last call of each presentation function wins,
//! wherever it stands in the chain; across expressions, each axis' limits
//! and label are the last ones given. librrd's right axis is a fixed
//! scaling of the left one, so an expression on axis 2 needs both axes'
//! lowest and highest values: its series are drawn rescaled onto the left
//! axis, while their exports keep their own values.

use super::ast::{Op, Program, Yaxis, number_text};
use super::compile::{Compiled, Compiler, Meta, Series};
use super::error::ExprError;
use super::funcs::MAX_LABEL;
use crate::master::site::graphdef::rrd_text;

/// Colours given in turn to series without `color`.
const PALETTE: [&str; 12] = [
    "1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22",
    "17BECF", "0B3D91", "B8860B",
];

/// What an expression's presentation functions say.
#[derive(Debug, Default)]
struct Look<'a> {
    label: Option<&'a str>,
    color: Option<&'a str>,
    /// A line's width, or `None` for an area (`bars`).
    line: Option<f64>,
    area: bool,
    stack: bool,
    /// The last `yaxis` call, and where it was.
    axis: Option<(&'a Yaxis, usize)>,
}

fn look(steps: &[super::ast::Step]) -> Look<'_> {
    let mut l = Look::default();
    for s in steps {
        match &s.op {
            Op::Label(t) => l.label = Some(t),
            Op::Color(c) => l.color = Some(c),
            Op::Lines(w) => {
                l.line = Some(*w);
                l.area = false;
            }
            Op::Bars => {
                l.area = true;
                l.line = None;
            }
            Op::Stack => l.stack = true,
            Op::Yaxis(y) => l.axis = Some((y, s.at)),
            _ => {}
        }
    }
    l
}

/// One axis' settings, the last given of each.
#[derive(Debug, Default, Clone)]
struct Axis {
    min: Option<f64>,
    max: Option<f64>,
    label: Option<String>,
}

impl Axis {
    fn update(&mut self, y: &Yaxis) {
        self.min = y.min.or(self.min);
        self.max = y.max.or(self.max);
        self.label = y.label.clone().or(self.label.take());
    }
}

/// The drawing of each expression's series (`drawn`, one list per
/// expression of `program`).
pub(super) fn draw(
    c: &mut Compiler,
    program: &Program,
    drawn: Vec<Vec<Series>>,
) -> Result<Compiled, ExprError> {
    let looks: Vec<Look> = program.exprs.iter().map(|e| look(&e.steps)).collect();
    let mut axes = [Axis::default(), Axis::default()];
    for (y, _) in looks.iter().filter_map(|l| l.axis) {
        axes[usize::from(y.axis - 1)].update(y);
    }
    let mut options = Vec::new();
    let left = &axes[0];
    if let Some(lo) = left.min {
        options.extend(["--lower-limit".to_string(), number_text(lo)]);
    }
    if let Some(hi) = left.max {
        options.extend(["--upper-limit".to_string(), number_text(hi)]);
    }
    if left.min.is_some() || left.max.is_some() {
        options.push("--rigid".into());
    }
    if let Some(l) = &left.label {
        options.extend(["--vertical-label".to_string(), option_text(l)]);
    }
    // The right axis as librrd has it: right = left × scale + shift.
    let mut right = None;
    if let Some((_, at)) = looks
        .iter()
        .filter_map(|l| l.axis)
        .find(|(y, _)| y.axis == 2)
    {
        let r = &axes[1];
        let (Some(lmin), Some(lmax), Some(rmin), Some(rmax)) = (left.min, left.max, r.min, r.max)
        else {
            return Err(ExprError::Invalid {
                reason: "a series on axis 2 needs the lowest and highest values of both axes \
                         (`.yaxis(1, MIN, MAX)` on any expression, `.yaxis(2, MIN, MAX)`): \
                         librrd's right axis is a scaling of the left"
                    .into(),
                at: c.spot(at),
            });
        };
        let scale = (rmax - rmin) / (lmax - lmin);
        let shift = rmin - lmin * scale;
        options.extend([
            "--right-axis".to_string(),
            format!("{}:{}", number_text(scale), number_text(shift)),
        ]);
        if let Some(l) = &r.label {
            options.extend(["--right-axis-label".to_string(), option_text(l)]);
        }
        right = Some((scale, shift));
    }

    let mut out = Compiled {
        options,
        ..Compiled::default()
    };
    let mut k = 0;
    for (l, list) in looks.iter().zip(drawn) {
        let on_right = l.axis.is_some_and(|(y, _)| y.axis == 2);
        for s in list {
            let label = rrd_text(
                &l.label
                    .map_or_else(|| s.meta.name.clone(), |t| expand(t, &s.meta)),
                MAX_LABEL,
            );
            let colour = l.color.unwrap_or(PALETTE[k % PALETTE.len()]);
            k += 1;
            let v = match right {
                Some((scale, shift)) if on_right => c.cdef(&format!(
                    "{},{},-,{},/",
                    s.v,
                    number_text(shift),
                    number_text(scale)
                ))?,
                _ => s.v.clone(),
            };
            let style = if l.area {
                "AREA".to_string()
            } else {
                format!("LINE{}", number_text(l.line.unwrap_or(1.0)))
            };
            let mut element = format!("{style}:{v}#{colour}");
            if !label.is_empty() || l.stack {
                element.push(':');
                element.push_str(&label);
            }
            if l.stack {
                element.push_str(":STACK");
            }
            out.draws.push(element);
            out.exports.push((s.v, label));
        }
    }
    out.defs = std::mem::take(&mut c.defs);
    if out.defs.len() + out.draws.len() > super::MAX_ELEMENTS {
        return Err(ExprError::TooManyElements {
            max: super::MAX_ELEMENTS,
        });
    }
    Ok(out)
}

/// A label with its placeholders replaced; a part the series' fields do
/// not agree on is `*`.
fn expand(template: &str, m: &Meta) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.split_once('}').and_then(|(name, _)| match name {
            "host" => Some(&m.host),
            "group" => Some(&m.group),
            "service" => Some(&m.service),
            "field" => Some(&m.field),
            "label" => Some(&m.label),
            _ => None,
        });
        match value {
            Some(v) => {
                out.push_str(v.as_deref().unwrap_or("*"));
                rest = &after[after.find('}').map_or(0, |n| n + 1)..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text for an option's value (a separate argument, so `:` is plain):
/// no control characters or `\`.
fn option_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && *c != '\\')
        .take(MAX_LABEL)
        .collect()
}
