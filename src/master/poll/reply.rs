//! A plugin's `config` and `fetch` replies, split into services.
//!
//! Without `multigraph` lines a reply is one service named after the
//! plugin; each `multigraph NAME` line starts the next service. In config,
//! `graph_*` and other keys without a dot are graph attributes and
//! `field.attr value` lines field attributes; with dirtyconfig a config
//! reply may carry `field.value` lines too. In fetch, `field.value V` or
//! `field.value EPOCH:V`. A line that fits none of these is reported with
//! the plugin and line, and skipped: one bad line never costs the others.

/// One field's attributes, in the order the node sent them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Field {
    pub name: String,
    pub attrs: Vec<(String, String)>,
}

impl Field {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A value as fetched: the node's time stamp if it gave one, and the text
/// (`U` or a number).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub field: String,
    pub time: Option<u64>,
    pub value: String,
}

/// One graph: a plugin, or one multigraph section of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    pub name: String,
    pub graph: Vec<(String, String)>,
    pub fields: Vec<Field>,
    pub values: Vec<Value>,
    /// A field has a limit of its own (see `state::ServiceConfig`); set
    /// by the plan before inherited settings are filled in.
    pub own_limits: bool,
}

/// Services parsed from a reply, and the lines that made no sense.
#[derive(Debug, Default)]
pub struct Parsed {
    pub services: Vec<Service>,
    pub problems: Vec<String>,
}

impl Parsed {
    /// Merges fetched values into the services of a config reply.
    pub fn take_values(&mut self, fetched: Parsed) {
        for s in fetched.services {
            match self.services.iter_mut().find(|c| c.name == s.name) {
                Some(c) => c.values.extend(s.values),
                None => self.problems.push(format!(
                    "fetch gave values for {} which config did not describe",
                    s.name
                )),
            }
        }
        self.problems.extend(fetched.problems);
    }
}

/// Parses the lines of a `config` or `fetch` reply of `plugin`.
///
/// A `multigraph` name met again goes on with that service (a spooled
/// answer repeats each plugin's config at every sample), and an attribute
/// set again takes the new value in its first place, so a repeated config
/// costs no memory.
pub fn parse(plugin: &str, lines: &[String]) -> Parsed {
    let mut out = Parsed::default();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // Per service, field name → the field's place: a reply of a million
    // fields costs a million look-ups, not a million searches.
    let mut fields: Vec<std::collections::HashMap<String, usize>> = Vec::new();
    let mut current: Option<usize> = None;
    let mut unnamed = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Built only for a bad line: most replies have none.
        let bad = |why: &str| {
            let shown: String = line.chars().take(200).collect();
            format!("{plugin}, reply line {}: {why}: {shown:?}", i + 1)
        };
        if let Some(name) = line.strip_prefix("multigraph ") {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                out.problems.push(bad("bad multigraph name"));
                continue;
            }
            current = Some(service_at(&mut out.services, &mut index, name));
            continue;
        }
        let Some((key, value)) = line.split_once(char::is_whitespace) else {
            out.problems.push(bad("no value"));
            continue;
        };
        let value = value.trim();
        let at = *current.get_or_insert_with(|| service_at(&mut out.services, &mut index, plugin));
        let service = &mut out.services[at];
        match key.split_once('.') {
            None => set(&mut service.graph, key, value),
            Some((field, "value")) if !field.is_empty() => match parse_value(value) {
                Some((time, v)) => service.values.push(Value {
                    field: field.to_string(),
                    time,
                    value: v,
                }),
                None => out.problems.push(bad("not a value")),
            },
            Some((field, attr)) if !field.is_empty() && !attr.is_empty() => {
                if fields.len() <= at {
                    fields.resize_with(at + 1, Default::default);
                }
                // A plugin sends a field's attributes together: the last
                // field is checked first, without a look-up.
                let f = match service.fields.last() {
                    Some(last) if last.name == field => service.fields.len() - 1,
                    _ => match fields[at].get(field) {
                        Some(&f) => f,
                        None => {
                            service.fields.push(Field {
                                name: field.to_string(),
                                attrs: Vec::new(),
                            });
                            fields[at].insert(field.to_string(), service.fields.len() - 1);
                            service.fields.len() - 1
                        }
                    },
                };
                set(&mut service.fields[f].attrs, attr, value);
            }
            _ => out.problems.push(bad("not field.attribute")),
        }
        if out.problems.len() > MAX_PROBLEMS {
            out.problems.pop();
            unnamed += 1;
        }
    }
    if unnamed > 0 {
        out.problems.push(format!(
            "{plugin}: {unnamed} more reply lines that made no sense, not listed"
        ));
    }
    out
}

/// The place of the service `name`, added the first time it is named.
fn service_at(
    services: &mut Vec<Service>,
    index: &mut std::collections::HashMap<String, usize>,
    name: &str,
) -> usize {
    *index.entry(name.to_string()).or_insert_with(|| {
        services.push(Service {
            name: name.to_string(),
            ..Service::default()
        });
        services.len() - 1
    })
}

/// Bad lines described per reply; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// Sets `key` in `attrs`: in its first place if it is there, else at the
/// end.
fn set(attrs: &mut Vec<(String, String)>, key: &str, value: &str) {
    match attrs.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => {
            if v != value {
                *v = value.to_string();
            }
        }
        None => attrs.push((key.to_string(), value.to_string())),
    }
}

/// `U`, a number, or `EPOCH:` either; exponent forms are kept as text for
/// RRD, which reads them.
fn parse_value(v: &str) -> Option<(Option<u64>, String)> {
    let (time, v) = match v.split_once(':') {
        Some((t, rest)) => (Some(t.parse::<u64>().ok()?), rest),
        None => (None, v),
    };
    let v = v.trim();
    if v == "U" || v.parse::<f64>().is_ok_and(f64::is_finite) {
        Some((time, v.to_string()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn plain_and_multigraph() {
        let p = parse(
            "load",
            &lines("graph_title Load\nload.label load\nload.type GAUGE\nload.warning 10\n"),
        );
        assert_eq!(p.services.len(), 1);
        assert_eq!(p.services[0].name, "load");
        assert_eq!(p.services[0].fields[0].attr("type"), Some("GAUGE"));
        let m = parse(
            "mg",
            &lines(
                "multigraph mg\ngraph_title T\ntotal.label t\nmultigraph mg.sub1\na.label a\na.value 5\n",
            ),
        );
        let names: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["mg", "mg.sub1"]);
        assert_eq!(m.services[1].values[0].value, "5", "dirtyconfig values");
    }

    #[test]
    fn values_and_garbage() {
        let f = parse(
            "x",
            &lines(
                "a.value 1.5\nb.value U\nc.value 1700000000:42\nd.value 1e3\ne.value abc\njunk\n.value 3\n",
            ),
        );
        let v = &f.services[0].values;
        assert_eq!(v.len(), 4);
        assert_eq!(
            (v[2].time, v[2].value.as_str()),
            (Some(1_700_000_000), "42")
        );
        assert_eq!(f.problems.len(), 3, "{:?}", f.problems);
        assert!(f.problems[0].starts_with("x, reply line 5: not a value"));
        assert!(f.problems[1].contains("line 6: no value"));
    }
}
