//! The KMS service on the API listener: AWS JSON 1.1, `X-Amz-Target: TrentService.<Op>`.

use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol, Reply};
use serde_json::Value;

use crate::error::KmsError;
use crate::input::Input;
use crate::ops::{self, Ctx};
use crate::state::Kms;

const TARGET_PREFIX: &str = "TrentService";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// How often an operation that lost a write race is run again before the client sees
/// `ConflictException`.
const CONFLICT_RETRIES: u32 = 16;

/// Operations whose success GetKeyLastUsage reports (the model's KeyLastUsageTrackingOperation).
const TRACKED: &[&str] = &[
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// Members never written to the audit trail: plaintexts, keys, messages, signatures, MACs.
const SECRET_MEMBERS: &[&str] = &[
    "Plaintext",
    "CiphertextBlob",
    "Message",
    "Signature",
    "Mac",
    "PublicKey",
    "EncryptedKeyMaterial",
    "ImportToken",
    "GrantTokens",
];

/// The KMS service.
#[derive(Debug, Clone)]
pub struct KmsService(pub Kms);

fn audit_parameters(input: &Input) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in &input.0 {
        if SECRET_MEMBERS.contains(&k.as_str()) {
            continue;
        }
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
    ["Describe", "Get", "List", "Verify"]
        .iter()
        .any(|p| op.starts_with(p))
        && op != "GetParametersForImport"
}

#[async_trait::async_trait]
impl AwsService for KmsService {
    fn signing_name(&self) -> &'static str {
        "kms"
    }
    fn event_source(&self) -> &'static str {
        "kms.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Json {
            target_prefix: TARGET_PREFIX,
            content_type: CONTENT_TYPE,
        }
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let Some(op) = req.json_target(TARGET_PREFIX) else {
            let e =
                KmsError::UnknownOperation("The request names no TrentService operation.".into());
            return ApiOutcome::failed("", AwsError::from(e));
        };
        let input = match Input::parse(&req.body) {
            Ok(i) => i,
            Err(e) => return ApiOutcome::failed(op, AwsError::from(e)),
        };
        let request_parameters = audit_parameters(&input);
        let ctx = Ctx {
            kms: &self.0,
            req: &req,
            input,
        };
        // A write that lost an optimistic-concurrency race changed nothing (batches are
        // atomic), so the whole operation runs again on fresh state, as AWS serializes
        // concurrent changes to one key instead of failing them.
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match ops::dispatch(&ctx, &op).await {
                Err(KmsError::Store(e))
                    if e.is_condition_failed() && attempt < CONFLICT_RETRIES =>
                {
                    tokio::task::yield_now().await;
                }
                other => break other,
            }
        };
        if let Ok(done) = &outcome
            && TRACKED.contains(&op.as_str())
            && let Some(arn) = done.body.get("KeyId").and_then(Value::as_str)
            && self.0.usage_due(arn, req.received_at)
        {
            let (kms, arn, op, at, rid) = (
                self.0.clone(),
                arn.to_owned(),
                op.clone(),
                req.received_at,
                req.request_id.clone(),
            );
            // Off the request path: the reply does not wait for this bookkeeping.
            tokio::spawn(async move { kms.record_usage(&arn, &op, at, &rid).await });
        }
        let (result, response_elements) = match outcome {
            Ok(done) => (
                Ok(Reply::ok(
                    CONTENT_TYPE,
                    portcullis_common::json::to_string(&done.body),
                )),
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
