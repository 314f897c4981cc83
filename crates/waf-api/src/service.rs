//! The WAFv2 service on the API listener: AWS JSON 1.1, `X-Amz-Target: AWSWAF_20190729.<Op>`,
//! signing name `wafv2`.

use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol, Reply};
use serde_json::Value;

use crate::error::WafError;
use crate::input::Input;
use crate::ops::{self, Ctx};
use crate::state::WafApi;

const TARGET_PREFIX: &str = "AWSWAF_20190729";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// How often an operation that lost a write race is run again before the client sees
/// `WAFOptimisticLockException`.
const CONFLICT_RETRIES: u32 = 16;

/// The WAFv2 service.
#[derive(Debug, Clone)]
pub struct WafService(pub WafApi);

/// Request members for the audit record: top-level names in lower camel case, as CloudTrail
/// writes them.
fn audit_parameters(input: &Input) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in &input.0 {
        let mut c = k.chars();
        let lower: String = c
            .next()
            .map(|f| f.to_lowercase().chain(c).collect())
            .unwrap_or_default();
        m.insert(lower, v.clone());
    }
    Value::Object(m)
}

fn read_only(op: &str) -> bool {
    ["Get", "List", "Describe", "Check"]
        .iter()
        .any(|p| op.starts_with(p))
}

#[async_trait::async_trait]
impl AwsService for WafService {
    fn signing_name(&self) -> &'static str {
        "wafv2"
    }
    fn event_source(&self) -> &'static str {
        "wafv2.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Json {
            target_prefix: TARGET_PREFIX,
            content_type: CONTENT_TYPE,
        }
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let Some(op) = req.json_target(TARGET_PREFIX) else {
            let e = WafError::UnknownOperation(
                "The request names no AWSWAF_20190729 operation.".into(),
            );
            return ApiOutcome::failed("", AwsError::from(e));
        };
        let input = match Input::parse(&req.body) {
            Ok(i) => i,
            Err(e) => return ApiOutcome::failed(op, AwsError::from(e)),
        };
        let request_parameters = audit_parameters(&input);
        let ctx = Ctx {
            waf: &self.0,
            req: &req,
            input,
        };
        // A write that lost an optimistic-concurrency race changed nothing (batches are atomic):
        // run the whole operation again on fresh state.
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match ops::dispatch(&ctx, &op).await {
                Err(WafError::Store(e))
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
        let known = !matches!(&result, Err(e) if e.code == "UnknownOperationException");
        ApiOutcome {
            read_only: read_only(&op),
            operation: if known { op } else { String::new() },
            result,
            request_parameters,
            response_elements,
        }
    }
}
