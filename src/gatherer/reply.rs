//! One node's statistics as a Tahoe node serves them (`/statistics?t=json`)
//! or an agent pushes them: `{"counters": {...}, "stats": {...}}`.
//!
//! Values keep their exact kind (a counter past 2^53 stays exact in the
//! snapshot); the collection turns them into `f64` samples. A value of the
//! wrong kind (a string, a list) is dropped with a note naming its key, so
//! one odd statistic never costs the rest of the reply.

use serde_json::Value;

use super::names;

/// A statistic's value, as Python would hold it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    /// Above `i64::MAX`: a Python long.
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl Num {
    /// The value as a sample.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::UInt(u) => u as f64,
            Num::Float(f) => f,
            Num::Bool(b) => f64::from(u8::from(b)),
        }
    }

    fn from_json(v: &Value) -> Option<Num> {
        match v {
            Value::Bool(b) => Some(Num::Bool(*b)),
            Value::Number(n) => n
                .as_i64()
                .map(Num::Int)
                .or_else(|| n.as_u64().map(Num::UInt))
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(Num::Float)),
            _ => None,
        }
    }
}

/// The two sections of a reply, each sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStats {
    /// Counters rise from node start; only ever-incremented ones appear.
    pub counters: Vec<(String, Num)>,
    /// Instantaneous values; `None` where the node has too few samples.
    pub stats: Vec<(String, Option<Num>)>,
}

impl NodeStats {
    /// Number of values that become samples (`None` is not a sample).
    pub fn sample_count(&self) -> usize {
        self.counters.len() + self.stats.iter().filter(|(_, v)| v.is_some()).count()
    }

    /// Keeps at most `max` values (counters first, in the reply's order);
    /// returns how many went.
    pub fn cap(&mut self, max: usize) -> usize {
        let before = self.counters.len() + self.stats.len();
        self.counters.truncate(max);
        self.stats.truncate(max - self.counters.len());
        before - self.counters.len() - self.stats.len()
    }
}

/// A reply that parsed, and what was dropped from it.
#[derive(Debug, Default)]
pub struct Parsed {
    pub stats: NodeStats,
    /// One line per dropped value, naming the key.
    pub dropped: Vec<String>,
}

/// Reads the `counters` and `stats` members of a reply object. Both must be
/// objects (a missing one is taken as empty only if the other is present).
pub fn parse(doc: &Value) -> Result<Parsed, String> {
    let obj = doc
        .as_object()
        .ok_or_else(|| format!("expected a JSON object, got {}", kind(doc)))?;
    let counters = section(obj.get("counters"), "counters")?;
    let stats = section(obj.get("stats"), "stats")?;
    if counters.is_none() && stats.is_none() {
        return Err("no \"counters\" or \"stats\" object".into());
    }
    let mut out = Parsed::default();
    for (key, v) in counters.into_iter().flatten() {
        match check_key(key).and_then(|()| Num::from_json(v).ok_or_else(|| wrong(v))) {
            Ok(n) => out.stats.counters.push((key.clone(), n)),
            Err(why) => out.dropped.push(format!("counters.{key}: {why}")),
        }
    }
    for (key, v) in stats.into_iter().flatten() {
        let value = if v.is_null() {
            Ok(None)
        } else {
            Num::from_json(v).map(Some).ok_or_else(|| wrong(v))
        };
        match check_key(key).and(value) {
            Ok(n) => out.stats.stats.push((key.clone(), n)),
            Err(why) => out.dropped.push(format!("stats.{key}: {why}")),
        }
    }
    Ok(out)
}

fn section<'a>(
    v: Option<&'a Value>,
    name: &str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, String> {
    match v {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(format!("\"{name}\" is {}, expected an object", kind(other))),
    }
}

fn check_key(key: &str) -> Result<(), String> {
    names::metric(key).map(|_| ())
}

fn wrong(v: &Value) -> String {
    format!("{} is not a number", kind(v))
}

/// The JSON type of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_kinds() {
        let p = parse(&json!({
            "counters": {"b": 18446744073709551615u64, "a": 3},
            "stats": {"x": 1.5, "lat": null, "ok": true, "neg": -2}
        }))
        .unwrap();
        assert_eq!(
            p.stats.counters,
            vec![("a".into(), Num::Int(3)), ("b".into(), Num::UInt(u64::MAX))]
        );
        assert_eq!(p.stats.stats[0], ("lat".into(), None));
        assert_eq!(p.stats.stats[2].1, Some(Num::Bool(true)));
        assert_eq!(p.stats.sample_count(), 5);
        assert!(p.dropped.is_empty());
    }

    #[test]
    fn wrong_shapes_are_named() {
        assert_eq!(
            parse(&json!([1])).unwrap_err(),
            "expected a JSON object, got an array"
        );
        assert_eq!(
            parse(&json!({"x": 1})).unwrap_err(),
            "no \"counters\" or \"stats\" object"
        );
        assert_eq!(
            parse(&json!({"stats": [1]})).unwrap_err(),
            "\"stats\" is an array, expected an object"
        );
        let p = parse(&json!({"stats": {"s": "text", "ok": 1, "bad key": 2}})).unwrap();
        assert_eq!(p.stats.stats, vec![("ok".into(), Some(Num::Int(1)))]);
        assert!(
            p.dropped[0].starts_with("stats.bad key: metric name"),
            "{:?}",
            p.dropped
        );
        assert_eq!(p.dropped[1], "stats.s: a string is not a number");
    }
}
