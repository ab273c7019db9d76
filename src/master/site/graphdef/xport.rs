//! A graph's data as librrd's `xport` arguments: the same `DEF`s and
//! shown values (`cdef`, `graph_period`, min/max) the PNG draws, of the
//! AVERAGE consolidation the lines are drawn from, one column per drawn
//! field in the graph's order, each followed by its `negative` field (as
//! stored, not mirrored: data readers want the value, not the drawing).
//! An expression graph's columns are its drawn series.

use super::legend::{drawn_fields, negatives};
use super::vars::{defs, shown};
use super::{GraphSpec, attr, graph_period};

/// One column of the export.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Column {
    pub field: String,
    pub label: String,
    /// The field's `type` (GAUGE when unset).
    #[serde(rename = "type")]
    pub kind: String,
    /// The field this one is the negative of, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_of: Option<String>,
}

/// `rrdtool xport` arguments and what their columns are.
#[derive(Debug, Clone)]
pub struct Export {
    pub args: Vec<String>,
    pub columns: Vec<Column>,
}

/// The export of `spec` over `start..end`, at most `rows` rows (librrd
/// consolidates to fit, as the graph does to its width).
pub fn export(spec: &GraphSpec, start: u64, end: u64, rows: u32) -> Result<Export, String> {
    let mut args = vec![
        "--start".to_string(),
        start.to_string(),
        "--end".to_string(),
        end.to_string(),
        "--maxrows".to_string(),
        rows.to_string(),
    ];
    if let Some(text) = crate::master::site::expressions::expression(&spec.graph) {
        let sources = crate::master::site::expressions::sources(spec);
        let compiled = crate::master::expr::compile_str(text, &sources, start, end)
            .map_err(|e| e.to_string())?;
        args.extend(compiled.xport_args());
        let columns = compiled
            .exports
            .iter()
            .map(|(v, label)| Column {
                field: v.clone(),
                label: label.replace("\\:", ":").replace("\\\\", "\\"),
                kind: "GAUGE".into(),
                negative_of: None,
            })
            .collect();
        return Ok(Export { args, columns });
    }
    let per = graph_period(&spec.graph);
    let index = spec.index();
    let mut all = Vec::new();
    let defs = defs(spec, &mut all)?;
    let shown = shown(spec, &index, &defs, per, &mut all)?;
    let negatives = negatives(spec, &index, &shown);
    let drawn = drawn_fields(spec, &shown, &negatives);
    // Only the AVERAGE variables: a `v` CDEF reads `a` DEFs alone.
    let average = |a: &str, prefix: &str| {
        a.strip_prefix(prefix)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    };
    args.extend(
        all.into_iter()
            .filter(|a| average(a, "DEF:a") || average(a, "CDEF:v")),
    );
    let mut columns = Vec::new();
    let column = |i: usize, negative_of: Option<String>| {
        let f = &spec.fields[i];
        Column {
            field: f.name.clone(),
            label: attr(&f.attrs, "label").unwrap_or(&f.name).to_string(),
            kind: attr(&f.attrs, "type").map_or("GAUGE".into(), |t| t.trim().to_ascii_uppercase()),
            negative_of,
        }
    };
    for i in drawn {
        args.push(format!("XPORT:v{i}"));
        columns.push(column(i, None));
        if let Some(&j) = negatives.get(&i) {
            args.push(format!("XPORT:v{j}"));
            columns.push(column(j, Some(spec.fields[i].name.clone())));
        }
    }
    if columns.is_empty() {
        return Err("no field is drawn".into());
    }
    Ok(Export { args, columns })
}

#[cfg(test)]
mod tests {
    use super::super::GraphField;
    use super::*;

    #[test]
    fn drawn_fields_and_negatives_in_order_average_only() {
        let kv = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let field = |n: &str, a: &[(&str, &str)]| GraphField {
            name: n.into(),
            attrs: kv(a),
            file: Some(format!("/db/{n}.rrd").into()),
        };
        let spec = GraphSpec {
            graph: kv(&[("graph_order", "up")]),
            fields: vec![
                field("down", &[("graph", "no"), ("type", "DERIVE")]),
                field("up", &[("negative", "down"), ("cdef", "up,8,*")]),
                field("hidden", &[("graph", "no")]),
            ],
        };
        let e = export(&spec, 100, 200, 50).unwrap();
        let names: Vec<_> = e.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, ["up", "down"]);
        assert_eq!(e.columns[1].negative_of.as_deref(), Some("up"));
        assert_eq!(e.columns[1].kind, "DERIVE");
        assert!(
            e.args.contains(&"CDEF:v1=a1,8,*".to_string()),
            "{:?}",
            e.args
        );
        assert!(
            e.args
                .iter()
                .all(|a| !a.starts_with("DEF:n") && !a.starts_with("CDEF:vx"))
        );
        assert_eq!(
            &e.args[..6],
            ["--start", "100", "--end", "200", "--maxrows", "50"]
        );
        assert_eq!(e.args[e.args.len() - 2..], ["XPORT:v1", "XPORT:v0"]);
    }
}
