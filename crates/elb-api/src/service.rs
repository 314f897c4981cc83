//! The ELBv2 service on the API listener: AWS Query (`Action=...&Version=2015-12-01`), signing name
//! `elasticloadbalancing`, XML replies and `<ErrorResponse>` errors.

use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol};
use serde_json::Value;

use crate::error::ElbError;
use crate::input::Params;
use crate::ops::{self, Ctx};
use crate::state::ElbApi;

/// The XML namespace of the replies.
pub const XMLNS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
/// How often an operation that lost a write race is run again before the client sees the failure.
const CONFLICT_RETRIES: u32 = 16;

/// The ELBv2 service.
#[derive(Debug, Clone)]
pub struct ElbService(pub ElbApi);

fn read_only(op: &str) -> bool {
    op.starts_with("Describe")
}

#[async_trait::async_trait]
impl AwsService for ElbService {
    fn signing_name(&self) -> &'static str {
        "elasticloadbalancing"
    }
    fn event_source(&self) -> &'static str {
        "elasticloadbalancing.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Query { xmlns: XMLNS }
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let params = Params(req.query_params());
        let Some(action) = params.optional("Action").map(str::to_owned) else {
            let e = AwsError::bad_request(
                "MissingAction",
                "The request must contain the parameter Action.",
            );
            return ApiOutcome::failed("", e);
        };
        let request_parameters = params.for_audit();
        let ctx = Ctx {
            api: &self.0,
            req: &req,
            params,
        };
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match ops::dispatch(&ctx, &action).await {
                Err(ElbError::Store(e))
                    if e.is_condition_failed() && attempt < CONFLICT_RETRIES =>
                {
                    tokio::task::yield_now().await;
                }
                other => break other,
            }
        };
        let known = !matches!(outcome, Err(ElbError::InvalidAction(_)));
        let (result, response_elements) = match outcome {
            Ok(done) => (Ok(done.reply), done.audit),
            Err(e) => (Err(AwsError::from(e)), Value::Null),
        };
        ApiOutcome {
            read_only: read_only(&action),
            operation: if known { action } else { String::new() },
            result,
            request_parameters,
            response_elements,
        }
    }
}
