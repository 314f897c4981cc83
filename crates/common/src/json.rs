//! Compact JSON text for the API path: the same bytes as `serde_json::to_string`, written
//! with less work per byte.
//!
//! serde_json looks up every byte of every string, member names included, in its escape
//! table, and writes through a generic `io::Write`. On a signed KMS call that was about
//! 20,000 instructions (the audit record and the reply body, ≈1.5 kB of text). Here strings
//! are scanned eight bytes at a time for the bytes JSON escapes (control characters, `"`
//! and `\`), runs without them are copied whole, and fixed member names are written as
//! literals. The tests hold every function to serde_json's output.

use serde_json::{Map, Value};

/// `v` as compact JSON text, exactly as `serde_json::to_string(v)` writes it.
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(128);
    push_value(&mut out, v);
    out
}

/// Appends `v` as compact JSON text.
pub fn push_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // `Number`'s `Display` is serde_json's own number text (itoa, or ryu for floats).
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => push_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => push_object(out, map),
    }
}

fn push_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, k);
        out.push(':');
        push_value(out, v);
    }
    out.push('}');
}

/// Eight copies of the byte `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

const ONES: u64 = splat(0x01);
const HIGH: u64 = splat(0x80);

/// Whether any byte of `w` is a control character (below 0x20), `"` or `\`. Exact for
/// the question "is there one"; which byte it is, the caller finds one byte at a time.
fn word_needs_escape(w: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = w.wrapping_sub(splat(0x20)) & !w & HIGH != 0;
    below_space || has_zero(w ^ splat(b'"')) || has_zero(w ^ splat(b'\\'))
}

/// The escape serde_json writes for byte `b`, if it needs one.
fn escape(b: u8) -> Option<Escape> {
    Some(match b {
        b'"' => Escape::Short('"'),
        b'\\' => Escape::Short('\\'),
        0x08 => Escape::Short('b'),
        0x0c => Escape::Short('f'),
        b'\n' => Escape::Short('n'),
        b'\r' => Escape::Short('r'),
        b'\t' => Escape::Short('t'),
        0x00..=0x1f => Escape::Unicode(b),
        _ => return None,
    })
}

enum Escape {
    /// `\` and this character.
    Short(char),
    /// `\u00XX`, hex digits in lower case.
    Unicode(u8),
}

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters escaped as
/// serde_json escapes them; everything else (non-ASCII included) as it is.
pub fn push_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    // `start..i` is the run not yet copied; it never splits a character, because runs end
    // only at ASCII bytes that are escaped.
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes
            .get(i..i + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            && !word_needs_escape(u64::from_ne_bytes(chunk))
        {
            i += 8;
            continue;
        }
        let b = bytes.get(i).copied().unwrap_or(0);
        if let Some(e) = escape(b) {
            out.push_str(s.get(start..i).unwrap_or_default());
            out.push('\\');
            match e {
                Escape::Short(c) => out.push(c),
                Escape::Unicode(b) => {
                    out.push_str("u00");
                    out.push(char::from(
                        HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
                    ));
                    out.push(char::from(
                        HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
                    ));
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends `"name":`, for member names known to need no escape (the caller's literals).
pub fn push_name(out: &mut String, name: &str) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn str_json(s: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, s);
        out
    }

    #[test]
    fn every_byte_escapes_as_serde_json_escapes_it() {
        for b in 0u8..0x80 {
            let c = char::from(b);
            for s in [
                c.to_string(),
                format!("abcdefgh{c}"),
                format!("{c}abcdefghijklmnop"),
                format!("é{c}😀{c}{c}xyzxyzxyz"),
            ] {
                assert_eq!(str_json(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }

    #[test]
    fn values_read_as_serde_json_writes_them() {
        let v = json!({"b": [1, -2, 3.5, 1e300, -0.0, u64::MAX, i64::MIN, null, true, false],
            "a": {"x\ny": "\u{1}\"\\/", "": []}, "c": {}, "d": "plain"});
        assert_eq!(to_string(&v), serde_json::to_string(&v).unwrap());
        assert_eq!(to_string(&json!(null)), "null");
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[ -~\\x00-\\x1f\u{80}-\u{10ffff}]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn strings_read_as_serde_json_writes_them(s in "[ -~\\x00-\\x1f\u{7f}-\u{10ffff}]{0,80}") {
            prop_assert_eq!(str_json(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_string_reads_as_serde_json_writes_it(s: String) {
            prop_assert_eq!(str_json(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_value_reads_as_serde_json_writes_it(v in value()) {
            prop_assert_eq!(to_string(&v), serde_json::to_string(&v).unwrap());
        }
    }
}
