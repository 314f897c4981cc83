//! GetKeyLastUsage: the last successful cryptographic use of a key, as recorded on the key.

use serde_json::json;

use super::keys::load_authorized;
use super::render::set;
use super::{Ctx, Done};
use crate::error::Result;
use crate::input::epoch;
use crate::state::Naming;

/// GetKeyLastUsage: in every key state. Tracking starts when the key is created.
pub async fn get_key_last_usage(ctx: &Ctx<'_>) -> Result<Done> {
    let key = load_authorized(ctx, Naming::KeyOnly, "kms:GetKeyLastUsage", None).await?;
    let k = &key.value;
    let mut body = json!({
        "KeyId": k.arn(),
        "TrackingStartDate": epoch(k.created),
        "KeyCreationDate": epoch(k.created),
    });
    if let Some(u) = &k.last_usage {
        set(
            &mut body,
            "KeyLastUsage",
            json!({
            "Operation": u.operation,
            "Timestamp": epoch(u.at),
            "KmsRequestId": u.request_id,
            // The audit event of a request carries the request id as its event id.
            "CloudTrailEventId": u.request_id,
            }),
        );
    }
    Ok(Done::with_key(body))
}
