//! The read queries of the API (`samples`, `aggregate`), bounded: each
//! answer is one page of at most [`MAX_SERIES`] series and a point budget,
//! with a `next` cursor for the rest, and at most [`HEAVY_AT_ONCE`] run at
//! a time. Whatever the gatherer holds and however many clients ask, a
//! query's memory is its page, not the whole collection.

use std::fmt::Write;

use serde_json::{Value, json};

use super::aggregate;
use super::collection::{Page, SeriesCopy};

/// Most series in one answer.
pub const MAX_SERIES: usize = 10_000;
/// Most points one `samples` answer carries (`limit` may ask for fewer).
pub const MAX_POINTS: usize = 200_000;
/// Points a `samples` answer carries unless `limit` says otherwise.
pub const DEFAULT_POINTS: usize = 100_000;
/// Most points one `aggregate` page summarises (16 bytes each while copied).
pub const MAX_AGGREGATE_POINTS: usize = 1_000_000;
/// Queries copying samples that run at once; the others wait their turn.
pub const HEAVY_AT_ONCE: usize = 2;

/// A page cursor, `NODE/METRIC`: node ids never hold `/`.
pub fn cursor(next: &Option<(String, String)>) -> Value {
    match next {
        Some((n, m)) => Value::String(format!("{n}/{m}")),
        None => Value::Null,
    }
}

/// Reads an `after=NODE/METRIC` cursor.
pub fn parse_cursor(s: &str) -> Result<(&str, &str), String> {
    s.split_once('/')
        .ok_or_else(|| format!("after={s:?} is not a cursor (NODE/METRIC, from \"next\")"))
}

fn number(out: &mut String, v: f64) {
    // JSON has no NaN or infinity: those are null, as serde_json writes them.
    let _ = write!(out, "{}", Value::from(v));
}

fn string(out: &mut String, s: &str) {
    out.push_str(&Value::from(s).to_string());
}

/// The `samples` answer, written straight out: a `Value` per point would
/// cost ten times the points themselves.
pub fn samples_json(window: (i64, i64), page: &Page) -> String {
    let points = page.points();
    let mut out = String::with_capacity(128 + points * 32 + page.series.len() * 96);
    out.push_str("{\"since\":");
    number(&mut out, window.0 as f64 / 1000.0);
    out.push_str(",\"until\":");
    number(&mut out, window.1 as f64 / 1000.0);
    let truncated = page.cut || page.next.is_some();
    let _ = write!(
        out,
        ",\"points\":{points},\"truncated\":{truncated},\"next\":{},\"series\":[",
        cursor(&page.next)
    );
    for (i, s) in page.series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        series_json(&mut out, s);
    }
    out.push_str("]}");
    out
}

fn series_json(out: &mut String, s: &SeriesCopy) {
    out.push_str("{\"node\":");
    string(out, &s.node);
    out.push_str(",\"metric\":");
    string(out, &s.metric);
    let _ = write!(out, ",\"type\":\"{}\",\"points\":[", s.kind.as_str());
    for (i, &(t, v)) in s.points.iter().enumerate() {
        out.push_str(if i > 0 { ",[" } else { "[" });
        number(out, t as f64 / 1000.0);
        out.push(',');
        number(out, v);
        out.push(']');
    }
    out.push_str("]}");
}

/// The `aggregate` answer for one page.
pub fn aggregate_json(window: (i64, i64), page: Page) -> Value {
    let next = cursor(&page.next);
    let cut = page.cut;
    let series: Vec<Value> = page
        .series
        .into_iter()
        .filter_map(|c| {
            let sum = aggregate::summarise(c.kind, c.points.into_iter())?;
            let mut v = json!({ "node": c.node, "metric": c.metric, "type": c.kind.as_str() });
            if let (Value::Object(m), Ok(Value::Object(a))) = (&mut v, serde_json::to_value(sum)) {
                m.extend(a);
            }
            Some(v)
        })
        .collect();
    json!({
        "since": window.0 as f64 / 1000.0, "until": window.1 as f64 / 1000.0,
        "truncated": cut, "next": next, "series": series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gatherer::lines::Kind;

    #[test]
    fn samples_are_valid_json_with_a_cursor() {
        let page = Page {
            series: vec![SeriesCopy {
                node: "n\"1".into(),
                metric: "m".into(),
                kind: Kind::Gauge,
                points: vec![(1_500, 2.5), (2_000, f64::NAN)],
            }],
            next: Some(("n\"1".into(), "m".into())),
            cut: false,
        };
        let v: Value = serde_json::from_str(&samples_json((1_000, 3_000), &page)).unwrap();
        assert_eq!(v["points"], 2);
        assert_eq!(v["truncated"], true);
        assert_eq!(v["next"], "n\"1/m");
        assert_eq!(v["series"][0]["points"], json!([[1.5, 2.5], [2.0, null]]));
        assert_eq!(parse_cursor("a/b/c").unwrap(), ("a", "b/c"));
        assert!(parse_cursor("ab").is_err());
    }
}
