//! The GuardDuty service on the API listener: REST-JSON (method + path), signing name
//! `guardduty`.

use http::StatusCode;
use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol, Reply};
use serde_json::Value;

use crate::error::GuardApiError;
use crate::ops::{self, Ctx};
use crate::state::GuardApi;

const CONTENT_TYPE: &str = "application/json";
/// How often an operation that lost a write race is run again.
const CONFLICT_RETRIES: u32 = 8;

/// The GuardDuty service.
#[derive(Debug, Clone)]
pub struct GuardService(pub GuardApi);

fn read_only(op: &str) -> bool {
    ["Get", "List"].iter().any(|p| op.starts_with(p))
}

#[async_trait::async_trait]
impl AwsService for GuardService {
    fn signing_name(&self) -> &'static str {
        "guardduty"
    }
    fn event_source(&self) -> &'static str {
        "guardduty.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let Some((op, labels)) = ops::route(&req.method, req.uri.path()) else {
            let e = GuardApiError::UnknownOperation(format!(
                "No GuardDuty operation is {} {}.",
                req.method,
                req.uri.path()
            ));
            return ApiOutcome::failed("", AwsError::from(e));
        };
        // PutEvents carries log records, not a JSON request.
        let raw = if op == "PutEvents" {
            &b""[..]
        } else {
            &req.body[..]
        };
        let body = match ops::parse_body(raw) {
            Ok(b) => b,
            Err(e) => return ApiOutcome::failed(op, AwsError::from(e)),
        };
        let mut params = body.clone();
        for (k, v) in &labels {
            let mut c = k.chars();
            let lower: String = c
                .next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default();
            params.insert(lower, Value::String(v.clone()));
        }
        let ctx = Ctx {
            api: &self.0,
            req: &req,
            body,
            labels,
            query: ops::parse_query(&req),
        };
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match ops::dispatch(&ctx, op).await {
                Err(GuardApiError::Store(e))
                    if e.is_condition_failed() && attempt < CONFLICT_RETRIES =>
                {
                    tokio::task::yield_now().await;
                }
                other => break other,
            }
        };
        let (result, response_elements) = match outcome {
            Ok(done) => {
                let reply = if done.no_content {
                    Reply::new(StatusCode::NO_CONTENT, CONTENT_TYPE, Default::default())
                } else {
                    Reply::ok(CONTENT_TYPE, done.body.to_string())
                };
                (Ok(reply), done.audit)
            }
            Err(e) => (Err(AwsError::from(e)), Value::Null),
        };
        ApiOutcome {
            read_only: read_only(op),
            operation: op.to_owned(),
            result,
            request_parameters: Value::Object(params),
            response_elements,
        }
    }
}
