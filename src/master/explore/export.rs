//! A graph's data as CSV and JSON: librrd's `xport` of the graph's own
//! series (see `graphdef::xport`), with field names, labels, types and
//! the graph's unit (`graph_vlabel`), so a number read here is the number
//! the PNG plots.

use std::fmt::Write;

use crate::master::librrd::Xported;
use crate::master::site::graphdef::xport::Column;

/// What is said about the graph besides its columns.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Meta {
    /// The graph's path in the site, e.g. `group/host/load`.
    pub graph: String,
    pub title: String,
    /// `graph_vlabel`, `${graph_period}` filled in.
    pub vlabel: Option<String>,
}

/// The data as JSON: `{"graph", "title", "vlabel", "start", "end",
/// "step", "columns": [{field, label, type, negative_of?}], "rows":
/// [[time, value or null, ...], ...]}`; a row's time is the end of its
/// step, as librrd's.
pub fn json(meta: &Meta, columns: &[Column], x: &Xported) -> String {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        #[serde(flatten)]
        meta: &'a Meta,
        start: u64,
        end: u64,
        step: u64,
        columns: &'a [Column],
        rows: Vec<Vec<serde_json::Value>>,
    }
    let rows = times(x)
        .map(|(t, row)| {
            std::iter::once(serde_json::Value::from(t))
                .chain(row.iter().map(|v| match v {
                    Some(v) => serde_json::Value::from(*v),
                    None => serde_json::Value::Null,
                }))
                .collect()
        })
        .collect();
    let doc = Doc {
        meta,
        start: x.start,
        end: x.end,
        step: x.step,
        columns,
        rows,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The data as CSV (RFC 4180): a header `time,<field>...`, then one row
/// per step, Unix seconds and values, an unknown value left empty.
pub fn csv(columns: &[Column], x: &Xported) -> String {
    let mut out = String::from("time");
    for c in columns {
        out.push(',');
        out.push_str(&cell(&c.field));
    }
    out.push_str("\r\n");
    for (t, row) in times(x) {
        let _ = write!(out, "{t}");
        for v in row {
            out.push(',');
            if let Some(v) = v {
                number(&mut out, *v);
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// A value as its shortest exact decimal, in exponent form when very
/// large or small (`1e300`, not three hundred digits).
fn number(out: &mut String, v: f64) {
    let a = v.abs();
    if a != 0.0 && !(1e-5..1e16).contains(&a) {
        let _ = write!(out, "{v:e}");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Each row with its time.
fn times(x: &Xported) -> impl Iterator<Item = (u64, &Vec<Option<f64>>)> {
    x.rows
        .iter()
        .enumerate()
        .map(|(i, r)| (x.start + (i as u64 + 1) * x.step, r))
}

/// A header cell: quoted when it holds a separator or quote, and a
/// leading `=`, `+`, `-` or `@` defused, so a spreadsheet opening the
/// file never runs a node-provided name as a formula.
fn cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_carry_the_same_rows() {
        let x = Xported {
            start: 100,
            end: 500,
            step: 100,
            legends: vec![],
            rows: vec![
                vec![Some(1.5), None],
                vec![Some(-2.0), Some(1e300)],
                vec![None, Some(0.1)],
                vec![Some(2.5e-7), Some(0.0)],
            ],
        };
        let cols = vec![
            Column {
                field: "in".into(),
                label: "In".into(),
                kind: "DERIVE".into(),
                negative_of: None,
            },
            Column {
                field: "=x,\"y\"".into(),
                label: "odd".into(),
                kind: "GAUGE".into(),
                negative_of: Some("in".into()),
            },
        ];
        assert_eq!(
            csv(&cols, &x),
            "time,in,\"'=x,\"\"y\"\"\"\r\n200,1.5,\r\n300,-2,1e300\r\n400,,0.1\r\n500,2.5e-7,0\r\n"
        );
        let meta = Meta {
            graph: "g/h/if".into(),
            title: "Traffic".into(),
            vlabel: Some("bits per second".into()),
        };
        let j: serde_json::Value = serde_json::from_str(&json(&meta, &cols, &x)).unwrap();
        assert_eq!(j["rows"][0], serde_json::json!([200, 1.5, null]));
        assert_eq!(j["rows"][1][2], serde_json::json!(1e300));
        assert_eq!(j["columns"][1]["negative_of"], "in");
        assert_eq!(j["columns"][0]["type"], "DERIVE");
        assert_eq!(
            (j["step"].as_u64(), j["title"].as_str()),
            (Some(100), Some("Traffic"))
        );
    }
}
