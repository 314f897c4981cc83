//! `cloudtrail:LookupEvents` (AWS JSON 1.1) over the stored audit stream.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use portcullis_common::audit::CloudTrailRecord;
use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol, Reply};
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::authz::ResourcePolicy;
use portcullis_store::{EventQuery, Store};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::trail::{AUDIT_STREAM, resources, username};

const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The CloudTrail service: `LookupEvents`.
pub struct LookupService {
    store: Arc<dyn Store>,
    authz: Authorizer,
}

impl std::fmt::Debug for LookupService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupService")
    }
}

impl LookupService {
    /// A service over `store`, authorizing with `authz`.
    pub fn new(store: Arc<dyn Store>, authz: Authorizer) -> Self {
        Self { store, authz }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupRequest {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

const ATTRIBUTE_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

fn bad(code: &str, msg: impl Into<String>) -> AwsError {
    AwsError::bad_request(code, msg)
}

fn epoch(v: f64) -> Result<OffsetDateTime, AwsError> {
    let nanos = (v * 1e9) as i128;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|_| bad("InvalidTimeRangeException", "Time out of range."))
}

impl LookupService {
    async fn lookup(&self, req: &ApiRequest) -> Result<Value, AwsError> {
        let ctx = Authorizer::context(req, "cloudtrail:LookupEvents", "*");
        self.authz
            .authorize(&req.caller, &ctx, ResourcePolicy::None)
            .await
            .map_err(|e| {
                let mut err = AwsError::from(e);
                err.code = "AccessDeniedException".into();
                err.status = http::StatusCode::BAD_REQUEST;
                err
            })?;
        let body: LookupRequest = if req.body.is_empty() {
            serde_json::from_str("{}").map_err(|_| AwsError::internal())?
        } else {
            serde_json::from_slice(&req.body)
                .map_err(|e| bad("SerializationException", e.to_string()))?
        };
        if body.lookup_attributes.len() > 1 {
            return Err(bad(
                "InvalidLookupAttributesException",
                "You can only specify one lookup attribute.",
            ));
        }
        let attr = match body.lookup_attributes.into_iter().next() {
            Some(a) if ATTRIBUTE_KEYS.contains(&a.attribute_key.as_str()) => {
                Some((a.attribute_key, a.attribute_value))
            }
            Some(a) => {
                return Err(bad(
                    "InvalidLookupAttributesException",
                    format!("{} is not a valid lookup attribute key.", a.attribute_key),
                ));
            }
            None => None,
        };
        let max = body.max_results.unwrap_or(50);
        if !(1..=50).contains(&max) {
            return Err(bad(
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.",
            ));
        }
        let start = body.start_time.map(epoch).transpose()?;
        let end = body.end_time.map(epoch).transpose()?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(bad(
                "InvalidTimeRangeException",
                "Start time must be before end time.",
            ));
        }
        let before_seq = match &body.next_token {
            Some(t) => Some(
                decode_token(t)
                    .ok_or_else(|| bad("InvalidNextTokenException", "Invalid NextToken."))?,
            ),
            None => None,
        };
        let limit = usize::try_from(max).unwrap_or(50);
        let q = EventQuery {
            start,
            end,
            attr,
            before_seq,
            limit: limit + 1,
        };
        let mut events = self
            .store
            .query_events(AUDIT_STREAM, &q)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "audit query failed");
                AwsError::unavailable()
            })?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| B64.encode(e.seq.to_string()))
        } else {
            None
        };
        let account = &req.caller.principal.account;
        let items: Vec<Value> = events
            .into_iter()
            .filter_map(|e| {
                let rec: CloudTrailRecord = serde_json::from_value(e.body.clone()).ok()?;
                // Each account sees its own trail.
                (rec.recipient_account_id == *account || rec.recipient_account_id.is_empty()).then(|| {
                    let mut item = json!({
                        "EventId": rec.event_id,
                        "EventName": rec.event_name,
                        "ReadOnly": rec.read_only.to_string(),
                        "EventTime": e.time.unix_timestamp(),
                        "EventSource": rec.event_source,
                        "Resources": resources(&rec).into_iter()
                            .map(|(t, n)| json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
                        "CloudTrailEvent": e.body.to_string(),
                    });
                    if let Some(k) = &rec.user_identity.access_key_id {
                        item["AccessKeyId"] = json!(k);
                    }
                    if let Some(u) = username(&rec) {
                        item["Username"] = json!(u);
                    }
                    item
                })
            })
            .collect();
        let mut out = json!({ "Events": items });
        if let Some(t) = next {
            out["NextToken"] = json!(t);
        }
        Ok(out)
    }
}

fn decode_token(t: &str) -> Option<u64> {
    String::from_utf8(B64.decode(t).ok()?).ok()?.parse().ok()
}

#[async_trait::async_trait]
impl AwsService for LookupService {
    fn signing_name(&self) -> &'static str {
        "cloudtrail"
    }
    fn event_source(&self) -> &'static str {
        "cloudtrail.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Json {
            target_prefix: TARGET_PREFIX,
            content_type: CONTENT_TYPE,
        }
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let op = req.json_target(TARGET_PREFIX).unwrap_or_default();
        let result = match op.as_str() {
            "LookupEvents" => self
                .lookup(&req)
                .await
                .map(|v| Reply::ok(CONTENT_TYPE, v.to_string())),
            _ => Err(bad(
                "UnknownOperationException",
                format!("Operation {op:?} is not supported."),
            )),
        };
        ApiOutcome {
            operation: op,
            read_only: true,
            result,
            request_parameters: serde_json::from_slice(&req.body).unwrap_or(Value::Null),
            response_elements: Value::Null,
        }
    }
}
