//! JSON reading that refuses duplicate object keys.
//!
//! `serde_json::Value` keeps the last of two equal keys, so `{"Effect":"Allow",
//! "Effect":"Deny"}` would evaluate as a Deny while a person reading the stored document may
//! see the Allow first. A policy must mean one thing to everyone, so duplicates are rejected.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::error::PolicyError;

/// Parses `json` into a [`Value`], rejecting duplicate keys in any object.
pub(crate) fn from_str(json: &str) -> Result<Value, PolicyError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed = Strict::deserialize(&mut de).and_then(|v| de.end().map(|()| v.0));
    parsed.map_err(|e| {
        let (line, column) = (e.line(), e.column());
        if e.classify() == serde_json::error::Category::Data {
            PolicyError::DuplicateElement { line, column }
        } else {
            PolicyError::NotJson { line, column }
        }
    })
}

/// A JSON value read without tolerating duplicate keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

/// Builds a [`Value`], failing on a repeated key.
struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate element {key}")));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ordinary_json() {
        let v = from_str(r#"{"a":[1,-2,2.5,true,null,"s"],"b":{"c":"d"}}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a":[1,-2,2.5,true,null,"s"],"b":{"c":"d"}})
        );
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        for doc in [
            r#"{"a":1,"a":2}"#,
            r#"{"s":[{"Effect":"Allow","Effect":"Deny"}]}"#,
        ] {
            assert!(
                matches!(from_str(doc), Err(PolicyError::DuplicateElement { .. })),
                "{doc}"
            );
        }
    }

    #[test]
    fn rejects_syntax_errors_and_trailing_text() {
        for doc in ["{", "{} {}", "{\"a\" 1}", ""] {
            assert!(
                matches!(from_str(doc), Err(PolicyError::NotJson { .. })),
                "{doc}"
            );
        }
    }
}
