//! The data a graph reads: a `DEF` per stored field and consolidation,
//! and each field's shown value (`CDEF`: its `cdef`, per `graph_period`,
//! within min/max).

use std::collections::HashMap;

use super::safe::rpn_word;
use super::{GraphSpec, attr, number};

/// The three consolidations a graph reads of each field: the line and
/// the legend's Cur/Avg use AVERAGE, the legend's Min and Max the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cf {
    Average,
    Min,
    Max,
}

impl Cf {
    pub(super) const ALL: [Cf; 3] = [Cf::Average, Cf::Min, Cf::Max];

    /// librrd's name of the consolidation function.
    fn rrd(self) -> &'static str {
        match self {
            Cf::Average => "AVERAGE",
            Cf::Min => "MIN",
            Cf::Max => "MAX",
        }
    }

    /// Variable prefixes: the raw `DEF` and the value shown (`CDEF`).
    fn prefixes(self) -> (&'static str, &'static str) {
        match self {
            Cf::Average => ("a", "v"),
            Cf::Min => ("n", "vn"),
            Cf::Max => ("x", "vx"),
        }
    }
}

/// A field's librrd variables, one per consolidation.
pub(super) struct Vars([String; 3]);

impl Vars {
    pub(super) fn new(name: impl Fn(Cf) -> String) -> Vars {
        Vars(Cf::ALL.map(name))
    }

    pub(super) fn get(&self, cf: Cf) -> &str {
        &self.0[cf as usize]
    }
}

/// `DEF`s for every stored field, drawn or not (a cdef or negative may
/// refer to a hidden one), by field index.
pub(super) fn defs(spec: &GraphSpec, a: &mut Vec<String>) -> Result<HashMap<usize, Vars>, String> {
    let mut defs = HashMap::new();
    for (i, f) in spec.fields.iter().enumerate() {
        let Some(file) = &f.file else { continue };
        let file = file
            .to_str()
            .ok_or("RRD path is not UTF-8")?
            .replace(':', "\\:");
        let vars = Vars::new(|cf| format!("{}{i}", cf.prefixes().0));
        for cf in Cf::ALL {
            a.push(format!("DEF:{}={file}:42:{}", vars.get(cf), cf.rrd()));
        }
        defs.insert(i, vars);
    }
    if defs.is_empty() {
        return Err("no field has stored data yet".into());
    }
    Ok(defs)
}

/// Each stored field's shown value as `CDEF`s: its cdef (field names
/// mapped to their `DEF`s of the same consolidation), per `graph_period`,
/// within min/max.
pub(super) fn shown(
    spec: &GraphSpec,
    index: &HashMap<&str, usize>,
    defs: &HashMap<usize, Vars>,
    graph_period: &str,
    a: &mut Vec<String>,
) -> Result<HashMap<usize, Vars>, String> {
    let mut shown = HashMap::new();
    for (i, f) in spec.fields.iter().enumerate() {
        let Some(own) = defs.get(&i) else { continue };
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
        let vars = Vars::new(|cf| format!("{}{i}", cf.prefixes().1));
        for cf in Cf::ALL {
            let base = match cdef {
                None => own.get(cf).to_string(),
                Some(c) => cdef_rpn(c, &f.name, cf, index, defs)?,
            };
            a.push(format!("CDEF:{}={base}{per}{limit}", vars.get(cf)));
        }
        shown.insert(i, vars);
    }
    Ok(shown)
}

/// A field's `cdef` in librrd's terms: every token a number, an operator,
/// or a field name (its `DEF` of consolidation `cf`).
fn cdef_rpn(
    cdef: &str,
    field: &str,
    cf: Cf,
    index: &HashMap<&str, usize>,
    defs: &HashMap<usize, Vars>,
) -> Result<String, String> {
    let mut words = Vec::new();
    for t in cdef.split(',') {
        let t = t.trim();
        if let Some(j) = index.get(t) {
            let v = defs
                .get(j)
                .ok_or_else(|| format!("{field}.cdef refers to {t}, which has no data"))?;
            words.push(v.get(cf).to_string());
        } else if rpn_word(t) {
            words.push(t.to_string());
        } else {
            return Err(format!("{field}.cdef: {t:?} is not RPN"));
        }
    }
    Ok(words.join(","))
}
