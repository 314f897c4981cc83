//! The AWS Query protocol as IAM and STS speak it: form parameters in, XML out.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use portcullis_http::Reply;
use portcullis_http::xml::XmlWriter;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{IamError, Result};

/// The request's parameters (`Action`, `UserName`, `Tags.member.1.Key`, ...).
#[derive(Debug, Clone, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    /// A required parameter; missing is a `ValidationError` in IAM's words.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.0.get(name).map(String::as_str).ok_or_else(|| {
            IamError::Validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ))
        })
    }

    /// An optional parameter.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// An optional integer parameter within `range`.
    pub fn int(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>> {
        let Some(v) = self.optional(name) else {
            return Ok(None);
        };
        let n: i64 = v
            .parse()
            .map_err(|_| IamError::Validation(format!("Invalid value for {name}: {v:?}")))?;
        if !range.contains(&n) {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{n}' at '{}' failed to satisfy constraint: Member must have value between {} and {}",
                lower_first(name),
                range.start(),
                range.end()
            )));
        }
        Ok(Some(n))
    }

    /// A list of strings `Name.member.1`, `Name.member.2`, ... in index order.
    pub fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.member.");
        let mut items: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse::<u32>().ok()?, v.clone())))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// A list of structures `Name.member.N.Field`, in index order.
    pub fn structs(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let prefix = format!("{name}.member.");
        let mut by_index: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let Some((idx, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(idx) = idx.parse::<u32>() else {
                continue;
            };
            by_index
                .entry(idx)
                .or_default()
                .insert(field.to_owned(), v.clone());
        }
        by_index.into_values().collect()
    }

    /// The parameters for the audit record: everything but the protocol envelope.
    pub fn for_audit(&self) -> serde_json::Value {
        let m: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "Action" | "Version") && !k.starts_with("X-Amz-")
            })
            .map(|(k, v)| (lower_first(k), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(m)
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Checks an IAM user, role or policy name: 1..=max of `[A-Za-z0-9+=,.@_-]`.
pub fn check_name(field: &str, value: &str, max: usize) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}"
        )))
    }
}

/// Checks an IAM path: `/` or `/a/b/`, printable ASCII, at most 512 characters.
pub fn check_path(value: &str) -> Result<()> {
    let ok = value == "/"
        || (value.len() <= 512
            && value.len() >= 2
            && value.starts_with('/')
            && value.ends_with('/')
            && value.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters. Value: {value}"
        )))
    }
}

/// Dates as IAM writes them.
pub fn date(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

const POLICY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Policy documents are returned URL-encoded, as IAM does (clients decode them).
pub fn encode_policy(doc: &str) -> String {
    utf8_percent_encode(doc, POLICY_ENCODE).to_string()
}

/// Builds `<OpResponse><OpResult>...</OpResult><ResponseMetadata>...` replies.
#[derive(Debug)]
pub struct Response {
    w: XmlWriter,
    op: String,
    has_result: bool,
}

impl Response {
    /// Starts the reply to `op`; `result` false for operations without output.
    pub fn new(op: &str, xmlns: &str, result: bool) -> Self {
        let mut w = XmlWriter::new();
        w.open_ns(&format!("{op}Response"), xmlns);
        if result {
            w.open(&format!("{op}Result"));
        }
        Self {
            w,
            op: op.to_owned(),
            has_result: result,
        }
    }

    /// The writer for the result's members.
    pub fn w(&mut self) -> &mut XmlWriter {
        &mut self.w
    }

    /// Closes the document.
    pub fn finish(mut self, request_id: &str) -> Reply {
        if self.has_result {
            self.w.close(&format!("{}Result", self.op));
        }
        self.w.open("ResponseMetadata");
        self.w.leaf("RequestId", request_id);
        self.w.close("ResponseMetadata");
        self.w.close(&format!("{}Response", self.op));
        Reply::ok("text/xml", self.w.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn lists_and_structs_keep_index_order() {
        let p = params(&[
            ("Tags.member.2.Key", "b"),
            ("Tags.member.10.Key", "c"),
            ("Tags.member.1.Key", "a"),
            ("Tags.member.1.Value", "1"),
            ("Ids.member.2", "y"),
            ("Ids.member.1", "x"),
        ]);
        let keys: Vec<_> = p.structs("Tags").iter().map(|m| m["Key"].clone()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(p.list("Ids"), ["x", "y"]);
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("userName", "alice.b@x+y=z,w_-", 64).is_ok());
        assert!(check_name("userName", "", 64).is_err());
        assert!(check_name("userName", "a b", 64).is_err());
        assert!(check_name("userName", &"a".repeat(65), 64).is_err());
        assert!(check_path("/").is_ok());
        assert!(check_path("/a/b/").is_ok());
        assert!(check_path("a/").is_err());
        assert!(check_path("/a").is_err());
    }

    #[test]
    fn missing_parameter_is_validation_error() {
        let e = params(&[]).required("UserName").unwrap_err();
        assert!(e.to_string().contains("'userName'"));
    }

    #[test]
    fn policy_encoding_round_trips() {
        let doc = r#"{"Version": "2012-10-17", "Statement": []}"#;
        let enc = encode_policy(doc);
        assert!(!enc.contains('"') && !enc.contains(' '));
        assert_eq!(
            percent_encoding::percent_decode_str(&enc)
                .decode_utf8()
                .unwrap(),
            doc
        );
    }
}
