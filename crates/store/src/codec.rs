//! Conversions and checks shared by the backends: input validation, time and integer
//! encodings, and the upper bound of a key prefix.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use crate::{EventQuery, NewEvent, NewEventJson, StoreError, WriteOp};

/// Rejects names that not every backend can store (PostgreSQL text cannot hold NUL).
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    if name.contains('\0') {
        return Err(StoreError::InvalidInput {
            what,
            reason: "contains a NUL character",
        });
    }
    Ok(())
}

/// Rejects JSON that not every backend can store: PostgreSQL JSONB refuses `\u0000` in
/// strings and object keys. Iterative, so a deeply nested value cannot overflow the stack.
pub(crate) fn check_json(what: &'static str, value: &serde_json::Value) -> Result<(), StoreError> {
    use serde_json::Value;
    let mut pending: Vec<&Value> = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            Value::String(s) if s.contains('\0') => {
                return Err(StoreError::InvalidInput {
                    what,
                    reason: "JSON string contains a NUL character",
                });
            }
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (k, child) in map {
                    if k.contains('\0') {
                        return Err(StoreError::InvalidInput {
                            what,
                            reason: "JSON object key contains a NUL character",
                        });
                    }
                    pending.push(child);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a batch's names and values before any I/O.
pub(crate) fn check_ops(ops: &[WriteOp]) -> Result<(), StoreError> {
    for op in ops {
        check_name("collection", op.collection())?;
        check_name("key", op.key())?;
        if let WriteOp::Put { value, .. } = op {
            check_json("value", value)?;
        }
    }
    Ok(())
}

/// Checks an event's names and body before any I/O.
pub(crate) fn check_event(stream: &str, event: &NewEvent) -> Result<(), StoreError> {
    check_name("stream", stream)?;
    check_name("event id", &event.id)?;
    for (name, value) in &event.attrs {
        check_name("attribute name", name)?;
        check_name("attribute value", value)?;
    }
    check_json("event body", &event.body)
}

/// Checks an event given as JSON text: its names like [`check_event`], its body with
/// [`check_json_text`], and that the body is one valid JSON value (a parse that builds
/// nothing: the SQLite schema no longer re-checks bodies with `json_valid`). A body that
/// serde_json wrote ([`JsonText::serialize`](crate::JsonText::serialize)), or a writer held
/// to its output ([`JsonText::written`](crate::JsonText::written)), is JSON by construction
/// and is not parsed again.
pub(crate) fn check_event_json(stream: &str, event: &NewEventJson) -> Result<(), StoreError> {
    check_name("stream", stream)?;
    check_name("event id", &event.id)?;
    for (name, value) in &event.attrs {
        check_name("attribute name", name)?;
        check_name("attribute value", value)?;
    }
    check_json_text(&event.body)?;
    if event.body.is_serialized() {
        return Ok(());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&event.body)
        .map(drop)
        .map_err(|_| StoreError::InvalidInput {
            what: "event body",
            reason: "not a JSON value",
        })
}

/// A JSON body given as text must hold no NUL character: neither a raw NUL byte nor the
/// escape sequence `\u0000`. (Text with an escaped backslash followed by `u0000` is refused
/// too: rare, and it keeps the check a plain substring search.) Whether the text is valid
/// JSON is checked by [`check_event_json`] (SQLite) or PostgreSQL's `jsonb` input.
fn check_json_text(body: &str) -> Result<(), StoreError> {
    if body.contains('\0') || body.contains("\\u0000") {
        return Err(StoreError::InvalidInput {
            what: "event body",
            reason: "JSON string contains a NUL character",
        });
    }
    if body.trim().is_empty() {
        return Err(StoreError::InvalidInput {
            what: "event body",
            reason: "not a JSON value",
        });
    }
    Ok(())
}

/// Parses an event body given as text (the fallback of
/// [`append_events_json`](crate::Store::append_events_json)).
pub(crate) fn parse_event_body(body: &str) -> Result<serde_json::Value, StoreError> {
    check_json_text(body)?;
    serde_json::from_str(body).map_err(|_| StoreError::InvalidInput {
        what: "event body",
        reason: "not a JSON value",
    })
}

/// Checks an event query's names before any I/O.
pub(crate) fn check_query(stream: &str, query: &EventQuery) -> Result<(), StoreError> {
    check_name("stream", stream)?;
    if let Some((name, value)) = &query.attr {
        check_name("attribute name", name)?;
        check_name("attribute value", value)?;
    }
    Ok(())
}

/// The smallest string greater than every string that starts with `prefix`, in code point
/// order (= UTF-8 byte order), or `None` when no such bound exists (empty prefix, or a prefix
/// made only of `char::MAX`). `key >= prefix AND key < succ` is then exactly "starts with
/// prefix" without any LIKE pattern, so `%` and `_` in a prefix are plain characters.
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The next Unicode scalar value after `c`, skipping the surrogate range.
fn next_char(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        char::MAX => None,
        _ => char::from_u32(u32::from(c) + 1),
    }
}

/// Microseconds since the Unix epoch, truncated toward the past.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    let micros = t.unix_timestamp_nanos().div_euclid(1_000);
    // `time` covers years -9999..=9999, about ±3.2e17 µs, well inside i64.
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// The UTC time `micros` microseconds after the Unix epoch.
pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| format!("time {micros}µs out of range: {e}"))
}

/// The current wall-clock time in microseconds, for the `updated_us` bookkeeping column.
pub(crate) fn now_micros() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// A precondition version as a database integer; one too large for a BIGINT cannot be
/// stored, so it maps to -1, which no row has (versions are CHECKed positive).
pub(crate) fn version_param(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(-1)
}

/// A `LIMIT` value; anything beyond i64 is as good as unlimited.
pub(crate) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A version or sequence number read back from the database.
pub(crate) fn unsigned(
    table: &'static str,
    row: impl FnOnce() -> String,
    n: i64,
) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::corrupt(table, row(), format!("negative number {n}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn successor_bounds_exactly_the_prefixed_keys() {
        assert_eq!(prefix_successor("user/").as_deref(), Some("user0"));
        assert_eq!(prefix_successor("a%_").as_deref(), Some("a%`"));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("x\u{D7FF}").as_deref(), Some("x\u{E000}"));
        for key in ["user/", "user/alice", "user/\u{10FFFF}"] {
            assert!(("user/".."user0").contains(&key), "{key}");
        }
    }

    #[test]
    fn byte_order_matches_code_point_order_for_successors() {
        let prefix = "é";
        let succ = prefix_successor(prefix).unwrap_or_default();
        assert!(prefix.as_bytes() < succ.as_bytes());
        assert!("é\u{10FFFF}".as_bytes() < succ.as_bytes());
    }

    #[test]
    fn micros_truncate_toward_the_past() {
        let t = datetime!(2024-05-01 12:00:00.123_456_789 UTC);
        let us = to_micros(t);
        assert_eq!(
            from_micros(us),
            Ok(datetime!(2024-05-01 12:00:00.123_456 UTC))
        );
        let before_epoch = datetime!(1969-12-31 23:59:59.999_999_5 UTC);
        assert_eq!(to_micros(before_epoch), -1);
    }

    #[test]
    fn nul_is_rejected_in_names_and_json() {
        assert!(check_name("key", "a\0b").is_err());
        assert!(check_name("key", "ok").is_ok());
        assert!(check_json("value", &json!({"a": [1, {"b": "x\u{0}"}]})).is_err());
        assert!(check_json("value", &json!({"k\u{0}": 1})).is_err());
        assert!(check_json("value", &json!({"a": [1, {"b": "fine"}]})).is_ok());
    }

    #[test]
    fn out_of_range_numbers_map_to_safe_values() {
        assert_eq!(version_param(u64::MAX), -1);
        assert_eq!(version_param(7), 7);
        assert_eq!(limit_param(usize::MAX), i64::MAX);
        assert!(unsigned("items", || "c/k".into(), -3).is_err());
        assert_eq!(unsigned("items", || "c/k".into(), 3).ok(), Some(3));
    }
}
