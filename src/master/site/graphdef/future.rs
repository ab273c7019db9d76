//! Munin 2.0's look ahead: `graph_future N` moves a graph's end N of its
//! period's steps (munin-graph's 300 s, 1500 s, 7200 s, 86400 s) into the
//! future, marked by a grey rule at now; a field's `trend yes` draws its
//! least-squares trend (librrd's TRENDNAN over the future's length) and
//! `predict SHIFT,SMOOTH` the average of it SHIFT seconds ago, SHIFT×2
//! ago... (librrd's PREDICT, smoothed over SMOOTH steps), each a thin
//! line in the field's colour, faded, as munin-graph draws them.

use std::collections::HashMap;

use super::safe::rrd_text;
use super::vars::{Cf, Vars};
use super::{GraphSpec, Period, attr};

/// munin-graph's step for each period, which `graph_future` counts in.
fn munin_step(period: Period) -> u64 {
    match period {
        Period::Day => 300,
        Period::Week => 1500,
        Period::Month => 7200,
        Period::Year => 86400,
    }
}

/// How far past now the graph reaches, in seconds (0 without
/// `graph_future`; at most a year).
pub(super) fn seconds(graph: &[(String, String)], period: Period) -> u64 {
    attr(graph, "graph_future")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |n| n.saturating_mul(munin_step(period)))
        .min(366 * 86400)
}

/// The rule at now and each drawn field's trend and prediction lines.
/// `colours` are the drawn fields' colours by field index.
pub(super) fn draw(
    a: &mut Vec<String>,
    spec: &GraphSpec,
    period: Period,
    now: u64,
    future: u64,
    shown: &HashMap<usize, Vars>,
    colours: &[(usize, String)],
) {
    if future > 0 {
        a.push(format!("VRULE:{now}#999999"));
    }
    // Without graph_future munin-graph asks librrd for a trend over 0 s,
    // which fails the graph; an hour-sized window draws one instead.
    let window = if future > 0 {
        future
    } else {
        munin_step(period) * 12
    };
    for (i, colour) in colours {
        let (Some(v), f) = (shown.get(i), &spec.fields[*i]) else {
            continue;
        };
        let value = v.get(Cf::Average);
        let label = rrd_text(attr(&f.attrs, "label").unwrap_or(&f.name), 40);
        if attr(&f.attrs, "trend").is_some_and(|t| t.trim() == "yes") {
            a.push(format!("CDEF:tr{i}={value},{window},TRENDNAN"));
            a.push(format!("LINE1:tr{i}#{colour}66:{label} trend\\l"));
        }
        if let Some((shift, smooth)) = attr(&f.attrs, "predict").and_then(predict) {
            let back = future / shift + 2;
            let smooth = smooth.saturating_mul(munin_step(period));
            a.push(format!(
                "CDEF:pr{i}={shift},-{back},{smooth},{value},PREDICT"
            ));
            a.push(format!("LINE1:pr{i}#{colour}66:{label} prediction\\l"));
        }
    }
}

/// `predict SHIFT,SMOOTH`: two positive whole numbers.
fn predict(text: &str) -> Option<(u64, u64)> {
    let (shift, smooth) = text.trim().split_once(',')?;
    let shift = shift.trim().parse::<u64>().ok().filter(|s| *s > 0)?;
    let smooth = smooth.trim().parse::<u64>().ok().filter(|s| *s > 0)?;
    Some((shift, smooth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn future_is_counted_in_munin_graph_steps() {
        let g = |v: &str| vec![("graph_future".to_string(), v.to_string())];
        assert_eq!(seconds(&g("30"), Period::Day), 9000);
        assert_eq!(seconds(&g("30"), Period::Week), 45000);
        assert_eq!(seconds(&g("junk"), Period::Day), 0);
        assert_eq!(seconds(&g("999999999"), Period::Year), 366 * 86400);
        assert_eq!(predict("86400,12"), Some((86400, 12)));
        for bad in ["86400", "0,1", "a,b", "1,-2"] {
            assert_eq!(predict(bad), None, "{bad}");
        }
    }
}
