//! `cloudtrail:LookupEvents` (AWS JSON 1.1) over the stored audit stream.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use portcullis_common::audit::CloudTrailRecord;
use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol, Reply};
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::authz::ResourcePolicy;
use portcullis_store::{EventQuery, Store, StoreError, StoredEvent};
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
            attr: None,
            before_seq,
            limit: limit + 1,
        };
        let (events, next) = self.find(q, attr, limit).await.map_err(|e| {
            tracing::error!(error = %e, "audit query failed");
            AwsError::unavailable()
        })?;
        let next = next.map(|seq| B64.encode(seq.to_string()));
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
                        insert(&mut item, "AccessKeyId", json!(k));
                    }
                    if let Some(u) = username(&rec) {
                        insert(&mut item, "Username", json!(u));
                    }
                    item
                })
            })
            .collect();
        let mut out = json!({ "Events": items });
        if let Some(t) = next {
            insert(&mut out, "NextToken", json!(t));
        }
        Ok(out)
    }
}

/// Events a `ReadOnly` look-up scans at most per page; when the page is not full by then,
/// it comes back short with a `NextToken` (as CloudTrail's own pages may).
const READ_ONLY_SCAN: usize = 5000;

/// Events read from the store per step of a `ReadOnly` scan.
const SCAN_STEP: usize = 500;

impl LookupService {
    /// The page of events `q` (without an attribute) and `attr` select, newest first, at
    /// most `limit`, and the cursor of the next page when there may be one.
    async fn find(
        &self,
        mut q: EventQuery,
        attr: Option<(String, String)>,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Option<u64>), StoreError> {
        match attr {
            // Event ids are unique and indexed by the store itself.
            Some((key, id)) if key == "EventId" => {
                let found = self.store.get_event(AUDIT_STREAM, &id).await?;
                let hit = found.filter(|e| {
                    q.start.is_none_or(|s| e.time >= s)
                        && q.end.is_none_or(|t| e.time <= t)
                        && q.before_seq.is_none_or(|b| e.seq < b)
                });
                Ok((hit.into_iter().collect(), None))
            }
            // Two values, each on about half the records: not worth an index row per record.
            Some((key, value)) if key == "ReadOnly" => {
                let mut hits = Vec::new();
                let mut scanned = 0;
                q.limit = SCAN_STEP;
                loop {
                    let page = self.store.query_events(AUDIT_STREAM, &q).await?;
                    let exhausted = page.len() < SCAN_STEP;
                    for e in page {
                        scanned += 1;
                        q.before_seq = Some(e.seq);
                        let read_only = e.body.get("readOnly").and_then(serde_json::Value::as_bool);
                        if read_only.is_some_and(|r| r.to_string() == value) {
                            if hits.len() == limit {
                                let next = hits.last().map(|h: &StoredEvent| h.seq);
                                return Ok((hits, next));
                            }
                            hits.push(e);
                        }
                    }
                    if exhausted {
                        return Ok((hits, None));
                    }
                    if scanned >= READ_ONLY_SCAN {
                        return Ok((hits, q.before_seq));
                    }
                }
            }
            attr => {
                q.attr = attr;
                let mut events = self.store.query_events(AUDIT_STREAM, &q).await?;
                let next = if events.len() > limit {
                    events.truncate(limit);
                    events.last().map(|e| e.seq)
                } else {
                    None
                };
                Ok((events, next))
            }
        }
    }
}

/// Sets a member of a JSON object (`v` is always one here).
fn insert(v: &mut Value, key: &str, member: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), member);
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

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_iam_api::Repo;
    use portcullis_store::NewEvent;
    use time::macros::datetime;

    async fn service(n: usize) -> (LookupService, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        // Read-only calls are every third one: seq i has readOnly = (i % 3 == 0).
        let events: Vec<NewEvent> = (0..n)
            .map(|i| NewEvent {
                id: format!("id-{i}"),
                time: datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(i as i64),
                attrs: vec![("EventName".into(), format!("Op{}", i % 2))],
                body: json!({"eventID": format!("id-{i}"), "readOnly": i.is_multiple_of(3)}),
            })
            .collect();
        store.append_events(AUDIT_STREAM, &events).await.unwrap();
        let authz = Authorizer::new(Repo::new(store.clone()));
        (LookupService::new(store, authz), dir)
    }

    fn ids(events: &[StoredEvent]) -> Vec<String> {
        events.iter().map(|e| e.id.clone()).collect()
    }

    fn attr(k: &str, v: &str) -> Option<(String, String)> {
        Some((k.to_owned(), v.to_owned()))
    }

    #[tokio::test]
    async fn event_id_is_found_within_the_other_filters() {
        let (svc, _dir) = service(10).await;
        let q = EventQuery::latest(51);
        let (got, next) = svc
            .find(q.clone(), attr("EventId", "id-4"), 50)
            .await
            .unwrap();
        assert_eq!((ids(&got), next), (vec!["id-4".to_owned()], None));
        let late = EventQuery {
            start: Some(datetime!(2026-01-01 0:00:05 UTC)),
            ..q.clone()
        };
        assert!(
            svc.find(late, attr("EventId", "id-4"), 50)
                .await
                .unwrap()
                .0
                .is_empty()
        );
        assert!(
            svc.find(q, attr("EventId", "nope"), 50)
                .await
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[tokio::test]
    async fn read_only_pages_cover_every_match_once() {
        let (svc, _dir) = service(1300).await;
        for (value, expected) in [("true", 434), ("false", 866)] {
            let mut q = EventQuery::latest(51);
            let mut seen = Vec::new();
            loop {
                let (page, next) = svc
                    .find(q.clone(), attr("ReadOnly", value), 50)
                    .await
                    .unwrap();
                assert!(page.len() <= 50);
                for e in &page {
                    assert_eq!(e.body["readOnly"].to_string(), value);
                }
                seen.extend(ids(&page));
                match next {
                    Some(seq) => q.before_seq = Some(seq),
                    None => break,
                }
            }
            let unique: std::collections::HashSet<_> = seen.iter().collect();
            assert_eq!((seen.len(), unique.len()), (expected, expected), "{value}");
            // Newest first.
            assert_eq!(
                seen.first().map(String::as_str),
                Some(if value == "true" {
                    "id-1299"
                } else {
                    "id-1298"
                })
            );
        }
    }

    #[tokio::test]
    async fn read_only_scan_is_bounded_per_page() {
        // 6000 events, none read-only among the newest 5000+: the page comes back empty
        // with a cursor rather than reading the whole stream.
        let (svc, _dir) = service(6000).await;
        let q = EventQuery::latest(51);
        let (page, next) = svc.find(q, attr("ReadOnly", "maybe"), 50).await.unwrap();
        assert!(page.is_empty());
        let cursor = next.unwrap();
        assert!(cursor > 1, "{cursor}");
        let q = EventQuery {
            before_seq: Some(cursor),
            ..EventQuery::latest(51)
        };
        let (page, next) = svc.find(q, attr("ReadOnly", "maybe"), 50).await.unwrap();
        assert!(page.is_empty());
        assert_eq!(next, None);
    }

    #[tokio::test]
    async fn other_attributes_use_the_index_and_page() {
        let (svc, _dir) = service(10).await;
        let (got, next) = svc
            .find(EventQuery::latest(4), attr("EventName", "Op1"), 3)
            .await
            .unwrap();
        assert_eq!(ids(&got), ["id-9", "id-7", "id-5"]);
        assert_eq!(next, got.last().map(|e| e.seq));
    }
}
