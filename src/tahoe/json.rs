//! Reading `stats.json` (Tahoe 1.12 and later) into the same [`Store`] as a
//! pickle, through serde_json's streaming parser, so objects keep the
//! document's order.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::value::{Node, Store};

/// Parses `store.file` as JSON; returns the root value.
pub fn decode(store: &mut Store) -> Result<u32, String> {
    let file = std::mem::take(&mut store.file);
    let result = {
        let mut de = serde_json::Deserializer::from_slice(&file);
        let r = Seed(store)
            .deserialize(&mut de)
            .and_then(|root| de.end().map(|()| root));
        r.map_err(|e| format!("bad JSON: {e}"))
    };
    store.file = file;
    result
}

/// Builds one value into the store.
struct Seed<'s>(&'s mut Store);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<u32, E> {
        Ok(self.0.push(Node::None))
    }
    fn visit_bool<E>(self, v: bool) -> Result<u32, E> {
        Ok(self.0.push(Node::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<u32, E> {
        Ok(self.0.push(Node::Int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<u32, E> {
        let node = match i64::try_from(v) {
            Ok(i) => Node::Int(i),
            Err(_) => Node::BigInt(self.0.heap_span(v.to_string().as_bytes())),
        };
        Ok(self.0.push(node))
    }
    fn visit_f64<E>(self, v: f64) -> Result<u32, E> {
        Ok(self.0.push(Node::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<u32, E> {
        let span = self.0.heap_span(v.as_bytes());
        Ok(self.0.push(Node::Str(span)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u32, A::Error> {
        let mut items = Vec::new();
        while let Some(id) = seq.next_element_seed(Seed(self.0))? {
            items.push(id);
        }
        let node = self.0.new_list(items);
        Ok(self.0.push(node))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u32, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key_seed(Seed(self.0))? {
            let v = map.next_value_seed(Seed(self.0))?;
            entries.push((k, v));
        }
        let node = self.0.new_dict(entries);
        Ok(self.0.push(node))
    }
}
