//! Request members: typed access to the JSON body with AWS-worded validation errors.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use crate::error::{KmsError, Result};

/// The request body.
#[derive(Debug, Clone, Default)]
pub struct Input(pub Map<String, Value>);

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn missing(name: &str) -> KmsError {
    KmsError::Validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        lower_first(name)
    ))
}

fn wrong_type(name: &str, want: &str) -> KmsError {
    KmsError::Serialization(format!("Member {name} must be {want}"))
}

impl Input {
    /// Parses a body; empty means `{}`.
    pub fn parse(body: &[u8]) -> Result<Input> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Input(m)),
            Ok(_) => Err(KmsError::Serialization(
                "The request body must be a JSON object.".into(),
            )),
            Err(e) => Err(KmsError::Serialization(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }

    /// An optional string member with a length range.
    pub fn str_opt(
        &self,
        name: &str,
        len: std::ops::RangeInclusive<usize>,
    ) -> Result<Option<&str>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if !len.contains(&n) {
                    return Err(KmsError::Validation(format!(
                        "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length between {} and {}",
                        lower_first(name),
                        len.start(),
                        len.end()
                    )));
                }
                Ok(Some(s))
            }
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// A required string member.
    pub fn str_req(&self, name: &str, len: std::ops::RangeInclusive<usize>) -> Result<&str> {
        self.str_opt(name, len)?.ok_or_else(|| missing(name))
    }

    /// A required `KeyId` (1..=2048).
    pub fn key_id(&self, name: &str) -> Result<&str> {
        self.str_req(name, 1..=2048)
    }

    /// An optional base64 blob, its decoded length in `len`.
    pub fn blob_opt(
        &self,
        name: &str,
        len: std::ops::RangeInclusive<usize>,
    ) -> Result<Option<Vec<u8>>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let bytes = B64
                    .decode(s)
                    .map_err(|_| wrong_type(name, "base64-encoded binary data"))?;
                if !len.contains(&bytes.len()) {
                    return Err(KmsError::Validation(format!(
                        "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length {}",
                        lower_first(name),
                        if *len.start() == 1 {
                            format!("less than or equal to {}", len.end())
                        } else {
                            format!("between {} and {}", len.start(), len.end())
                        }
                    )));
                }
                Ok(Some(bytes))
            }
            Some(_) => Err(wrong_type(name, "base64-encoded binary data")),
        }
    }

    /// A required base64 blob.
    pub fn blob_req(&self, name: &str, len: std::ops::RangeInclusive<usize>) -> Result<Vec<u8>> {
        self.blob_opt(name, len)?.ok_or_else(|| missing(name))
    }

    /// An optional integer within `range`.
    pub fn int_opt(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                let v = n.as_i64().ok_or_else(|| wrong_type(name, "an integer"))?;
                if !range.contains(&v) {
                    return Err(KmsError::Validation(format!(
                        "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must have value {}",
                        lower_first(name),
                        if *range.end() == i64::MAX {
                            format!("greater than or equal to {}", range.start())
                        } else {
                            format!("between {} and {}", range.start(), range.end())
                        }
                    )));
                }
                Ok(Some(v))
            }
            Some(_) => Err(wrong_type(name, "an integer")),
        }
    }

    /// An optional boolean.
    pub fn bool_opt(&self, name: &str) -> Result<Option<bool>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(name, "a boolean")),
        }
    }

    /// An optional list of strings.
    pub fn strings(&self, name: &str) -> Result<Vec<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| wrong_type(name, "a list of strings"))
                })
                .collect(),
            Some(_) => Err(wrong_type(name, "a list of strings")),
        }
    }

    /// An optional string-to-string map (an encryption context).
    pub fn string_map(&self, name: &str) -> Result<BTreeMap<String, String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_owned()))
                        .ok_or_else(|| wrong_type(name, "a map of strings"))
                })
                .collect(),
            Some(_) => Err(wrong_type(name, "a map of strings")),
        }
    }

    /// An optional enum member parsed with `FromStr`.
    pub fn parse_opt<T: std::str::FromStr>(&self, name: &str, allowed: &str) -> Result<Option<T>> {
        let Some(s) = self.str_opt(name, 0..=usize::MAX)? else {
            return Ok(None);
        };
        s.parse::<T>().map(Some).map_err(|_| {
            KmsError::Validation(format!(
                "1 validation error detected: Value '{s}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{allowed}]",
                lower_first(name)
            ))
        })
    }

    /// A raw member, for structures handled by the operation.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
}

/// Encodes bytes for a blob member.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// A timestamp member: epoch seconds, fractional.
pub fn epoch(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_name_the_member() {
        let i = Input::parse(br#"{"Plaintext": "AAAA", "Limit": 0, "KeyId": 5}"#).unwrap();
        assert!(
            matches!(i.key_id("Missing"), Err(KmsError::Validation(m)) if m.contains("'missing'"))
        );
        assert!(matches!(i.key_id("KeyId"), Err(KmsError::Serialization(_))));
        assert!(
            matches!(i.int_opt("Limit", 1..=1000), Err(KmsError::Validation(m)) if m.contains("between 1 and 1000"))
        );
        assert_eq!(i.blob_req("Plaintext", 1..=4096).unwrap(), vec![0, 0, 0]);
        assert!(matches!(
            Input::parse(b"[1]"),
            Err(KmsError::Serialization(_))
        ));
        assert!(Input::parse(b"").unwrap().0.is_empty());
    }

    #[test]
    fn blob_limits_are_on_decoded_bytes() {
        let big = B64.encode(vec![0u8; 4097]);
        let i = Input::parse(format!(r#"{{"Plaintext": "{big}"}}"#).as_bytes()).unwrap();
        assert!(matches!(
            i.blob_req("Plaintext", 1..=4096),
            Err(KmsError::Validation(_))
        ));
        let ok = B64.encode(vec![0u8; 4096]);
        let i = Input::parse(format!(r#"{{"Plaintext": "{ok}"}}"#).as_bytes()).unwrap();
        assert_eq!(i.blob_req("Plaintext", 1..=4096).unwrap().len(), 4096);
    }
}
