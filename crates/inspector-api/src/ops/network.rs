//! The network description (Portcullis operations): `POST /network/import`
//! (`inspector2:PutNetworkConfiguration`, the body is the `describe-*` snapshot, optionally
//! gzip-encoded) and `POST /network/get` (`inspector2:GetNetworkConfiguration`, a summary).
//!
//! The IAM action names follow the model's verb for replacing a per-account configuration
//! (`UpdateConfiguration`, `UpdateEc2DeepInspectionConfiguration`): the import replaces the
//! account's one description, so `Put…` (create or replace) says what it does.

use serde_json::{Value, json};

use super::{Ctx, Done};
use crate::error::{InspectorApiError, Result};

/// The resource both operations are authorized on.
pub fn network_arn(region: &str, account: &str) -> String {
    format!("arn:aws:inspector2:{region}:{account}:network/default")
}

/// What the audit record keeps of an import (never the description itself).
pub fn audit_parameters(body: &[u8]) -> Value {
    json!({"bytes": body.len()})
}

/// PutNetworkConfiguration: replaces the account's network description.
pub async fn put(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = network_arn(ctx.region(), ctx.account());
    ctx.api
        .authorize(ctx.req, "PutNetworkConfiguration", &arn, None, None)
        .await?;
    let s = ctx
        .api
        .import_network(ctx.account(), ctx.region(), &ctx.req.body, ctx.now())
        .await?;
    Ok(Done::ok(json!({
        "instances": s.instances,
        "reachableRanges": s.reachable_ranges,
        "findingsWritten": s.findings_written,
    })))
}

/// GetNetworkConfiguration: what the account's description holds.
pub async fn get(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = network_arn(ctx.region(), ctx.account());
    ctx.api
        .authorize(ctx.req, "GetNetworkConfiguration", &arn, None, None)
        .await?;
    let rec = ctx.api.network_of(ctx.account()).await?.ok_or_else(|| {
        InspectorApiError::ResourceNotFound("No network description was imported.".into())
    })?;
    let instances: Vec<&str> = rec
        .instances
        .iter()
        .map(|i| i.instance_id.as_str())
        .collect();
    Ok(Done::read(json!({
        "importedAt": rec.imported_at,
        "region": rec.region,
        "sha256": rec.sha256,
        "instances": instances,
        "reachableRanges": rec.reachable.len(),
    })))
}
