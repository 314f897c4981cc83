//! CloudTrail records: the fields detectors need, typed, plus the raw JSON kept for
//! rules (Sigma) that look at anything else.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::GuardError;

/// One CloudTrail event. Strings borrow from the input unless they contain escapes.
///
/// Top-level keys are also accepted in lower case (Panther's normalised test records);
/// only `eventName` is required.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord<'a> {
    /// `eventVersion` (absent in some synthetic records).
    #[serde(borrow, default, alias = "eventversion")]
    pub event_version: Option<Cow<'a, str>>,
    /// `eventTime`, ISO-8601 UTC as written.
    #[serde(borrow, default, alias = "eventtime")]
    pub event_time: Option<Cow<'a, str>>,
    /// `eventSource`, e.g. `iam.amazonaws.com` (empty when absent, as in some synthetic records).
    #[serde(borrow, default, alias = "eventsource")]
    pub event_source: Cow<'a, str>,
    /// `eventName`, e.g. `CreateAccessKey`.
    #[serde(borrow, alias = "eventname")]
    pub event_name: Cow<'a, str>,
    /// `awsRegion`.
    #[serde(borrow, default, alias = "awsregion")]
    pub aws_region: Option<Cow<'a, str>>,
    /// `sourceIPAddress`: an IP, a service DNS name or `AWS Internal`; see [`Self::source_ip`].
    #[serde(borrow, default, rename = "sourceIPAddress", alias = "sourceipaddress")]
    pub source_ip_address: Option<Cow<'a, str>>,
    /// `userAgent`.
    #[serde(borrow, default, alias = "useragent")]
    pub user_agent: Option<Cow<'a, str>>,
    /// `errorCode`, absent on success.
    #[serde(borrow, default, alias = "errorcode")]
    pub error_code: Option<Cow<'a, str>>,
    /// `errorMessage`, absent on success.
    #[serde(borrow, default, alias = "errormessage")]
    pub error_message: Option<Cow<'a, str>>,
    /// `eventType`, e.g. `AwsApiCall`, `AwsConsoleSignIn`.
    #[serde(borrow, default, alias = "eventtype")]
    pub event_type: Option<Cow<'a, str>>,
    /// `eventID`.
    #[serde(borrow, default, rename = "eventID", alias = "eventid")]
    pub event_id: Option<Cow<'a, str>>,
    /// `recipientAccountId`.
    #[serde(borrow, default, alias = "recipientaccountid")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// `readOnly`.
    #[serde(default, alias = "readonly", deserialize_with = "lenient_bool")]
    pub read_only: Option<bool>,
    /// `managementEvent`.
    #[serde(default, alias = "managementevent", deserialize_with = "lenient_bool")]
    pub management_event: Option<bool>,
    /// `userIdentity`.
    #[serde(borrow, default, alias = "useridentity")]
    pub user_identity: UserIdentity<'a>,
    /// `requestParameters`, unparsed.
    #[serde(borrow, default, alias = "requestparameters")]
    pub request_parameters: Option<&'a RawValue>,
    /// `responseElements`, unparsed.
    #[serde(borrow, default, alias = "responseelements")]
    pub response_elements: Option<&'a RawValue>,
    /// `additionalEventData`, unparsed.
    #[serde(borrow, default, alias = "additionaleventdata")]
    pub additional_event_data: Option<&'a RawValue>,
    /// The whole record's JSON text as it appeared in the input (without surrounding
    /// whitespace).
    #[serde(skip)]
    pub raw: Option<&'a str>,
}

/// `userIdentity` of a CloudTrail record.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    /// `type`: `Root`, `IAMUser`, `AssumedRole`, `AWSService`, ...
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    /// `principalId`.
    #[serde(borrow, default)]
    pub principal_id: Option<Cow<'a, str>>,
    /// `arn`.
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    /// `accountId`.
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    /// `accessKeyId`.
    #[serde(borrow, default)]
    pub access_key_id: Option<Cow<'a, str>>,
    /// `userName`.
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
    /// `invokedBy`.
    #[serde(borrow, default)]
    pub invoked_by: Option<Cow<'a, str>>,
    /// `sessionContext.sessionIssuer`, when present.
    #[serde(
        borrow,
        default,
        rename = "sessionContext",
        deserialize_with = "issuer"
    )]
    pub session_issuer: Option<SessionIssuer<'a>>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    /// `type`, e.g. `Role`.
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    /// `userName` (the role name).
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
    /// `arn`.
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    /// `principalId`.
    #[serde(borrow, default)]
    pub principal_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct SessionContext<'a> {
    #[serde(borrow, default, rename = "sessionIssuer")]
    session_issuer: Option<SessionIssuer<'a>>,
}

fn issuer<'de, D>(d: D) -> Result<Option<SessionIssuer<'de>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let ctx: Option<SessionContext<'de>> = Option::deserialize(d)?;
    Ok(ctx.and_then(|c| c.session_issuer))
}

/// A boolean written as `true`, `"true"` or `"True"` (some producers quote it).
fn lenient_bool<'de, D>(d: D) -> Result<Option<bool>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B<'a> {
        Bool(bool),
        Str(#[serde(borrow)] Cow<'a, str>),
    }
    Ok(match Option::<B<'de>>::deserialize(d)? {
        None => None,
        Some(B::Bool(b)) => Some(b),
        Some(B::Str(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(B::Str(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(B::Str(_)) => None,
    })
}

impl<'a> CloudTrailRecord<'a> {
    /// Parses one record from its raw JSON, keeping the raw text.
    pub fn from_raw(raw: &'a RawValue) -> Result<Self, GuardError> {
        Self::from_json(raw.get())
    }

    /// Parses one record from JSON text holding exactly one object (and JSON whitespace around
    /// it), keeping the text: one pass over the input, where [`CloudTrailRecord::from_raw`]
    /// needs a first one to delimit the value.
    pub fn from_json(text: &'a str) -> Result<Self, GuardError> {
        let mut rec: CloudTrailRecord<'a> =
            serde_json::from_str(text).map_err(|e| GuardError::Json {
                message: e.to_string(),
            })?;
        rec.raw = Some(text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')));
        Ok(rec)
    }

    /// `sourceIPAddress` as an IP address, when it is one (service names,
    /// `AWS Internal` and pseudonymised values such as `08.1.250.216` give `None`).
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.source_ip_address.as_deref()?.parse().ok()
    }

    /// Whether the call failed (`errorCode` present).
    pub fn is_error(&self) -> bool {
        self.error_code.is_some()
    }

    /// The whole record parsed into a `serde_json::Value` (for rules over arbitrary fields).
    pub fn to_value(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.raw?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_keeps_raw() {
        let text = r#"{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser",
            "sourceIPAddress":"203.0.113.9","userAgent":"aws-cli\/2","requestParameters":{"userName":"x"},
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s",
              "sessionContext":{"sessionIssuer":{"type":"Role","userName":"r"}}}}"#;
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        let rec = CloudTrailRecord::from_raw(raw).unwrap();
        assert_eq!(rec.event_name, "CreateUser");
        assert_eq!(rec.user_agent.as_deref(), Some("aws-cli/2"));
        assert!(matches!(rec.event_source, Cow::Borrowed(_)));
        assert_eq!(rec.source_ip(), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(
            rec.user_identity
                .session_issuer
                .unwrap()
                .user_name
                .as_deref(),
            Some("r")
        );
        assert_eq!(rec.request_parameters.unwrap().get(), r#"{"userName":"x"}"#);
        assert!(rec.raw.unwrap().contains("CreateUser"));
        let line = format!(" {text}\r\n");
        let same = CloudTrailRecord::from_json(&line).unwrap();
        assert_eq!(same.raw, Some(text));
        assert_eq!(same.event_name, "CreateUser");
        for bad in [
            "[1]",
            "{\"eventName\":\"n\"} x",
            "{\"eventName\":\"n\",\"x\":[}",
            "",
        ] {
            assert!(
                matches!(
                    CloudTrailRecord::from_json(bad),
                    Err(GuardError::Json { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_event_name_is_an_error() {
        let raw: &RawValue = serde_json::from_str(r#"{"eventSource":"s3.amazonaws.com"}"#).unwrap();
        assert!(matches!(
            CloudTrailRecord::from_raw(raw),
            Err(GuardError::Json { .. })
        ));
    }

    #[test]
    fn pseudonymised_ip_is_not_an_ip() {
        let raw: &RawValue = serde_json::from_str(
            r#"{"eventSource":"s","eventName":"n","sourceIPAddress":"08.1.250.216"}"#,
        )
        .unwrap();
        let rec = CloudTrailRecord::from_raw(raw).unwrap();
        assert_eq!(rec.source_ip(), None);
    }
}
