//! Wire helpers: time formats, the finding document as the API renders it, path labels and
//! query strings.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The private member of stored findings (never rendered).
pub const PRIVATE: &str = "_portcullis";

/// ISO-8601 UTC with milliseconds, as GuardDuty writes `createdAt`/`updatedAt`.
pub fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Epoch milliseconds of an RFC 3339 timestamp.
pub fn iso_to_millis(s: &str) -> Option<i64> {
    if s.len() < 20 || s.as_bytes().get(4).is_none_or(|&b| b != b'-') {
        return None;
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A stored finding as `GetFindings` returns it: `service.additionalInfo` becomes
/// `{"value": "<json>", "type": "default"}` (the model's `ServiceAdditionalInfo`) and private
/// members are dropped.
pub fn render_finding(stored: &Value) -> Value {
    let mut f = stored.clone();
    if let Some(o) = f.as_object_mut() {
        o.remove(PRIVATE);
    }
    if let Some(svc) = f.get_mut("service").and_then(Value::as_object_mut)
        && let Some(info) = svc.get("additionalInfo")
        && info.is_object()
        && !(info.get("type").is_some_and(Value::is_string)
            && info.get("value").is_some_and(Value::is_string))
    {
        let text = info.to_string();
        svc.insert(
            "additionalInfo".into(),
            json!({"value": text, "type": "default"}),
        );
    }
    f
}

/// Decodes `%XX` escapes of one path label (invalid escapes are kept literally).
pub fn decode_label(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The query string as `(name, value)` pairs, decoded (`+` is a space), in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                decode_label(&k.replace('+', " ")),
                decode_label(&v.replace('+', " ")),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_581_704_000_316_000_000).unwrap();
        let s = iso_millis(t);
        assert_eq!(s, "2020-02-14T18:13:20.316Z");
        assert_eq!(iso_to_millis(&s), Some(1_581_704_000_316));
        assert_eq!(iso_to_millis("8.0"), None);
        assert_eq!(iso_to_millis("10.0.0.1"), None);
    }

    #[test]
    fn additional_info_is_wrapped() {
        let f = json!({"id": "x", "_portcullis": {"a": 1}, "service": {"additionalInfo": {"sample": true}}});
        let r = render_finding(&f);
        assert!(r.get("_portcullis").is_none());
        assert_eq!(r["service"]["additionalInfo"]["type"], "default");
        let inner: Value =
            serde_json::from_str(r["service"]["additionalInfo"]["value"].as_str().unwrap())
                .unwrap();
        assert_eq!(inner["sample"], true);
    }

    #[test]
    fn labels_and_queries() {
        assert_eq!(decode_label("arn%3Aaws%2Fx"), "arn:aws/x");
        let q = query_pairs(Some("tagKeys=a&tagKeys=b%20c&maxResults=5"));
        assert_eq!(q.len(), 3);
        assert_eq!(q[1], ("tagKeys".into(), "b c".into()));
    }
}
