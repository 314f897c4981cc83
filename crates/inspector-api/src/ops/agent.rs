//! `POST /agent/report` (a Portcullis operation, IAM action `inspector2:PutInventory`): an
//! agent's inventory report, authenticated by its client certificate (or SigV4).

use portcullis_inspector_core::inventory::{InventoryReport, ReportBody};
use serde_json::{Value, json};

use super::{Ctx, Done};
use crate::error::{InspectorApiError, Result};
use crate::state::agent_arn;

/// What the audit record keeps of a report (never the inventory itself).
pub fn audit_parameters(body: &[u8]) -> Value {
    match serde_json::from_slice::<InventoryReport>(body) {
        Ok(r) => {
            let (kind, base) = match &r.body {
                ReportBody::Full { .. } => ("full", None),
                ReportBody::Delta { base, .. } => ("delta", Some(*base)),
            };
            json!({"agentId": r.agent_id, "hostname": r.hostname, "agentVersion": r.agent_version,
                   "sequence": r.sequence, "kind": kind, "base": base})
        }
        Err(_) => json!({"bytes": body.len()}),
    }
}

/// PutInventory: stores the report, re-evaluates the host, replies `{"acknowledged": n}`.
pub async fn put_inventory(ctx: &Ctx<'_>) -> Result<Done> {
    let report: InventoryReport = serde_json::from_slice(&ctx.req.body).map_err(|e| {
        InspectorApiError::cannot_parse(format!("The body is not an inventory report: {e}"))
    })?;
    let resource = agent_arn(ctx.region(), ctx.account(), &report.agent_id);
    ctx.api
        .authorize(ctx.req, "PutInventory", &resource, None, None)
        .await?;
    let ack = ctx
        .api
        .ingest(ctx.account(), ctx.region(), report, ctx.now())
        .await?;
    Ok(Done {
        body: json!({"acknowledged": ack.acknowledged}),
        audit: json!({"acknowledged": ack.acknowledged, "evaluated": ack.evaluated,
                      "findingsWritten": ack.findings_written}),
    })
}
