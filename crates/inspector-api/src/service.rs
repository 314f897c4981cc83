//! The Inspector2 service on the API listener: REST-JSON (method + path), signing name
//! `inspector2`; agents reach `POST /agent/report` unsigned with a client certificate and
//! `x-portcullis-service: inspector2`. Report and network-import bodies may be
//! `Content-Encoding: gzip` (see [`crate::body`]).

use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol, Reply};
use serde_json::Value;

use crate::error::InspectorApiError;
use crate::ops::{self, Ctx};
use crate::state::InspectorApi;

const CONTENT_TYPE: &str = "application/json";
/// How often an operation that lost a write race is run again.
const CONFLICT_RETRIES: u32 = 8;

/// The Inspector2 service.
#[derive(Debug, Clone)]
pub struct InspectorService(pub InspectorApi);

fn read_only(op: &str) -> bool {
    ["Get", "List", "BatchGet"]
        .iter()
        .any(|p| op.starts_with(p))
}

#[async_trait::async_trait]
impl AwsService for InspectorService {
    fn signing_name(&self) -> &'static str {
        "inspector2"
    }
    fn event_source(&self) -> &'static str {
        "inspector2.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let Some((op, resource_arn)) = ops::route(&req.method, req.uri.path()) else {
            let e = InspectorApiError::UnknownOperation(format!(
                "No Inspector2 operation is {} {}.",
                req.method,
                req.uri.path()
            ));
            return ApiOutcome::failed("", AwsError::from(e));
        };
        let mut req = req;
        // Reports and network descriptions may come gzip-encoded; decoded under a cap.
        if matches!(op, "PutInventory" | "PutNetworkConfiguration") {
            match crate::body::decoded(&req.headers, &req.body, self.0.max_decoded_bytes) {
                Ok(b) => req.body = b,
                Err(e) => return ApiOutcome::failed(op, AwsError::from(e)),
            }
        }
        // A report's body is the inventory, an import's the network: parsed by the
        // operation, summarized for audit.
        let (body, params) = if op == "PutInventory" {
            (Default::default(), ops::agent::audit_parameters(&req.body))
        } else if op == "PutNetworkConfiguration" {
            (
                Default::default(),
                ops::network::audit_parameters(&req.body),
            )
        } else {
            match ops::parse_body(&req.body) {
                Ok(b) => {
                    let mut p = b.clone();
                    if let Some(a) = &resource_arn {
                        p.insert("resourceArn".into(), Value::String(a.clone()));
                    }
                    (b, Value::Object(p))
                }
                Err(e) => return ApiOutcome::failed(op, AwsError::from(e)),
            }
        };
        let ctx = Ctx {
            api: &self.0,
            req: &req,
            body,
            resource_arn,
            query: ops::query_pairs(req.uri.query()),
        };
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match ops::dispatch(&ctx, op).await {
                Err(InspectorApiError::Store(e))
                    if e.is_condition_failed() && attempt < CONFLICT_RETRIES =>
                {
                    tokio::task::yield_now().await;
                }
                other => break other,
            }
        };
        let (result, response_elements) = match outcome {
            Ok(done) => (
                Ok(Reply::ok(CONTENT_TYPE, done.body.to_string())),
                done.audit,
            ),
            Err(e) => (Err(AwsError::from(e)), Value::Null),
        };
        ApiOutcome {
            read_only: read_only(op),
            operation: op.to_owned(),
            result,
            request_parameters: params,
            response_elements,
        }
    }
}
