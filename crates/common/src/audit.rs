//! The audit event every API call produces, in CloudTrail record format.
//!
//! Services fill one [`CloudTrailRecord`] per call; the audit trail stores it, writes it
//! to CloudTrail log files and serves it to `LookupEvents`, and Guard can read it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One CloudTrail record (`eventVersion` 1.08), the fields Portcullis can know. Fields that
/// are fixed text on the API path (`eventVersion`, `eventSource`, `eventType`,
/// `eventCategory`) are `Cow`, so recording a call does not copy them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    /// Record format version.
    pub event_version: Cow<'static, str>,
    /// Who made the call.
    pub user_identity: UserIdentity,
    /// When the call arrived, RFC 3339 UTC with second precision (`2026-11-29T19:13:03Z`).
    pub event_time: String,
    /// The service, e.g. `iam.amazonaws.com`.
    pub event_source: Cow<'static, str>,
    /// The operation, e.g. `CreateUser`.
    pub event_name: String,
    /// The region of the request's SigV4 scope.
    pub aws_region: String,
    /// The client's address.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// The error code when the call failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
    /// The error message when the call failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
    /// Request parameters with secrets removed.
    pub request_parameters: Value,
    /// Response elements with secrets removed (null for reads and failures).
    pub response_elements: Value,
    /// The request id returned to the client.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// A unique id for this record.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// `AwsApiCall` for API calls.
    pub event_type: Cow<'static, str>,
    /// Whether the call came from a console session rather than an API client.
    pub management_event: bool,
    /// The account the call acted in.
    pub recipient_account_id: String,
    /// Always `Management` for the control-plane calls recorded here.
    pub event_category: Cow<'static, str>,
    /// TLS details of the connection.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tls_details: Option<TlsDetails>,
}

/// TLS parameters of the connection the call came over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsDetails {
    /// e.g. `TLSv1.3`.
    pub tls_version: String,
    /// e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The `Host` the client asked for.
    pub client_provided_host_header: String,
}

impl CloudTrailRecord {
    /// The record as compact JSON text: the same bytes as `serde_json::to_string(self)`
    /// (the tests hold it to that), written by [`crate::json`] with the member names as
    /// literals. The audit trail serializes every record of every API call.
    pub fn to_json(&self) -> String {
        use crate::json::{push_name, push_str, push_value};
        let mut out = String::with_capacity(1024);
        out.push('{');
        push_name(&mut out, "eventVersion");
        push_str(&mut out, &self.event_version);
        out.push(',');
        push_name(&mut out, "userIdentity");
        self.user_identity.push_json(&mut out);
        for (name, value) in [
            ("eventTime", self.event_time.as_str()),
            ("eventSource", &*self.event_source),
            ("eventName", self.event_name.as_str()),
            ("awsRegion", self.aws_region.as_str()),
            ("sourceIPAddress", self.source_ip_address.as_str()),
            ("userAgent", self.user_agent.as_str()),
        ] {
            out.push(',');
            push_name(&mut out, name);
            push_str(&mut out, value);
        }
        for (name, value) in [
            ("errorCode", &self.error_code),
            ("errorMessage", &self.error_message),
        ] {
            if let Some(value) = value {
                out.push(',');
                push_name(&mut out, name);
                push_str(&mut out, value);
            }
        }
        out.push(',');
        push_name(&mut out, "requestParameters");
        push_value(&mut out, &self.request_parameters);
        out.push(',');
        push_name(&mut out, "responseElements");
        push_value(&mut out, &self.response_elements);
        for (name, value) in [("requestID", &self.request_id), ("eventID", &self.event_id)] {
            out.push(',');
            push_name(&mut out, name);
            push_str(&mut out, value);
        }
        out.push(',');
        push_name(&mut out, "readOnly");
        out.push_str(if self.read_only { "true" } else { "false" });
        out.push(',');
        push_name(&mut out, "eventType");
        push_str(&mut out, &self.event_type);
        out.push(',');
        push_name(&mut out, "managementEvent");
        out.push_str(if self.management_event {
            "true"
        } else {
            "false"
        });
        out.push(',');
        push_name(&mut out, "recipientAccountId");
        push_str(&mut out, &self.recipient_account_id);
        out.push(',');
        push_name(&mut out, "eventCategory");
        push_str(&mut out, &self.event_category);
        if let Some(tls) = &self.tls_details {
            out.push(',');
            push_name(&mut out, "tlsDetails");
            out.push('{');
            push_name(&mut out, "tlsVersion");
            push_str(&mut out, &tls.tls_version);
            out.push(',');
            push_name(&mut out, "cipherSuite");
            push_str(&mut out, &tls.cipher_suite);
            out.push(',');
            push_name(&mut out, "clientProvidedHostHeader");
            push_str(&mut out, &tls.client_provided_host_header);
            out.push('}');
        }
        out.push('}');
        out
    }
}

/// The `userIdentity` block of a CloudTrail record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, or `Unknown` when the caller was not authenticated.
    #[serde(rename = "type")]
    pub identity_type: String,
    /// Unique id of the principal (`AIDA...`, `AROA...:session`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub principal_id: Option<String>,
    /// ARN of the principal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arn: Option<String>,
    /// Account of the principal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_id: Option<String>,
    /// The access key the request was signed with.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_key_id: Option<String>,
    /// The user name, for IAM users.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_name: Option<String>,
    /// For assumed roles: the role that was assumed and the session's attributes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_context: Option<Value>,
}

impl UserIdentity {
    /// Appends the block as compact JSON, as serde_json writes it.
    fn push_json(&self, out: &mut String) {
        use crate::json::{push_name, push_str, push_value};
        out.push('{');
        push_name(out, "type");
        push_str(out, &self.identity_type);
        for (name, value) in [
            ("principalId", &self.principal_id),
            ("arn", &self.arn),
            ("accountId", &self.account_id),
            ("accessKeyId", &self.access_key_id),
            ("userName", &self.user_name),
        ] {
            if let Some(value) = value {
                out.push(',');
                push_name(out, name);
                push_str(out, value);
            }
        }
        if let Some(session) = &self.session_context {
            out.push(',');
            push_name(out, "sessionContext");
            push_value(out, session);
        }
        out.push('}');
    }
}

/// Removes values of keys that carry secrets (at any depth) from a JSON document
/// before it is recorded: secret access keys, session tokens, passwords, plaintexts.
pub fn redact(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if is_secret_key(k) {
                        *val = Value::String("HIDDEN_DUE_TO_SECURITY_REASONS".into());
                    } else {
                        walk(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// Whether a member name marks a secret: it contains one of these (lowercase) words in
/// any ASCII case. Compared in place, so redacting a record allocates nothing per member.
fn is_secret_key(k: &str) -> bool {
    [
        "secretaccesskey",
        "sessiontoken",
        "password",
        "plaintext",
        "privatekey",
        "sharedsecret",
        "keymaterial",
    ]
    .iter()
    .any(|s| {
        k.as_bytes()
            .windows(s.len())
            .any(|w| w.eq_ignore_ascii_case(s.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn secret_names_match_in_any_case_and_position() {
        assert!(is_secret_key("Plaintext"));
        assert!(is_secret_key("newPASSWORD"));
        assert!(is_secret_key("x-SessionToken-y"));
        assert!(!is_secret_key("KeyId"));
        assert!(!is_secret_key("plain"));
        assert!(!is_secret_key(""));
    }

    #[test]
    fn event_time_is_rfc3339_to_the_second() {
        use time::format_description::well_known::Rfc3339;
        let t = time::macros::datetime!(2026-11-29 19:13:03.987 +02:00);
        assert_eq!(event_time(t), "2026-11-29T17:13:03Z");
        let t0 = time::macros::datetime!(0001-01-01 00:00:00 UTC);
        assert_eq!(event_time(t0), "0001-01-01T00:00:00Z");
        // Every second of a span of years, sampled: the same text as the time crate writes.
        let mut t = time::macros::datetime!(1969-12-31 23:59:59 UTC);
        for _ in 0..20_000 {
            let whole = t.replace_nanosecond(0).unwrap();
            assert_eq!(event_time(t), whole.format(&Rfc3339).unwrap());
            t += time::Duration::seconds(86_399 * 3 + 7_919);
        }
    }

    fn record() -> impl Strategy<Value = CloudTrailRecord> {
        let text = || "[ -~\\x00-\\x1f\u{80}-\u{10ffff}]{0,24}";
        let opt = move || prop::option::of(text());
        let value = || {
            prop_oneof![
                Just(Value::Null),
                prop::collection::btree_map(text(), text(), 0..4)
                    .prop_map(|m| serde_json::json!(m)),
            ]
        };
        (
            (
                text(),
                opt(),
                opt(),
                opt(),
                opt(),
                opt(),
                prop::option::of(value()),
            ),
            (
                text(),
                text(),
                text(),
                text(),
                text(),
                text(),
                text(),
                opt(),
                opt(),
            ),
            (value(), value(), text(), text(), any::<bool>(), text()),
            (
                any::<bool>(),
                text(),
                text(),
                prop::option::of((text(), text(), text())),
            ),
        )
            .prop_map(|(u, a, b, c)| CloudTrailRecord {
                event_version: a.0.into(),
                user_identity: UserIdentity {
                    identity_type: u.0,
                    principal_id: u.1,
                    arn: u.2,
                    account_id: u.3,
                    access_key_id: u.4,
                    user_name: u.5,
                    session_context: u.6,
                },
                event_time: a.1,
                event_source: a.2.into(),
                event_name: a.3,
                aws_region: a.4,
                source_ip_address: a.5,
                user_agent: a.6,
                error_code: a.7,
                error_message: a.8,
                request_parameters: b.0,
                response_elements: b.1,
                request_id: b.2,
                event_id: b.3,
                read_only: b.4,
                event_type: b.5.into(),
                management_event: c.0,
                recipient_account_id: c.1,
                event_category: c.2.into(),
                tls_details: c.3.map(|(v, s, h)| TlsDetails {
                    tls_version: v,
                    cipher_suite: s,
                    client_provided_host_header: h,
                }),
            })
    }

    proptest! {
        #[test]
        fn record_json_is_serde_json_text(rec in record()) {
            prop_assert_eq!(rec.to_json(), serde_json::to_string(&rec).unwrap());
        }
    }

    #[test]
    fn redact_hides_secrets_at_depth() {
        let v = serde_json::json!({"accessKey": {"accessKeyId": "AKIA", "secretAccessKey": "s3cr3t"},
            "credentials": [{"sessionToken": "tok"}], "userName": "alice"});
        let r = redact(v).to_string();
        assert!(!r.contains("s3cr3t"));
        assert!(!r.contains("tok\""));
        assert!(r.contains("AKIA"));
        assert!(r.contains("alice"));
    }
}

/// A record's `eventTime`: `t` in UTC as RFC 3339 with second precision
/// (`2026-11-29T19:13:03Z`), written digit by digit into one 20-byte string (every API
/// call formats one). Years outside 0000–9999 fall back to the `time` crate's formatter.
pub fn event_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let Ok(year) = u32::try_from(t.year()) else {
        return event_time_slow(t);
    };
    if year > 9999 {
        return event_time_slow(t);
    }
    let mut out = String::with_capacity(20);
    let two = |n: u32, out: &mut String| {
        out.push(digit(n / 10));
        out.push(digit(n));
    };
    two(year / 100, &mut out);
    two(year, &mut out);
    out.push('-');
    two(u32::from(u8::from(t.month())), &mut out);
    out.push('-');
    two(u32::from(t.day()), &mut out);
    out.push('T');
    two(u32::from(t.hour()), &mut out);
    out.push(':');
    two(u32::from(t.minute()), &mut out);
    out.push(':');
    two(u32::from(t.second()), &mut out);
    out.push('Z');
    out
}

/// The last decimal digit of `n`.
fn digit(n: u32) -> char {
    char::from_digit(n % 10, 10).unwrap_or('0')
}

fn event_time_slow(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Where services hand their audit records. Implementations must not block: the audit
/// trail queues records and stores them in the background.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one API call.
    fn record(&self, record: CloudTrailRecord);

    /// Records queued but not yet stored. The listener holds new requests back while this
    /// is above its high-water mark, so a sustained overload slows callers down instead of
    /// growing memory without bound or dropping records.
    fn backlog(&self) -> usize {
        0
    }
}

/// A sink that drops everything; for tests and tools that run no audit trail.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullAuditSink;

impl AuditSink for NullAuditSink {
    fn record(&self, _record: CloudTrailRecord) {}
}
