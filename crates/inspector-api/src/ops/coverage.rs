//! Coverage: ListCoverage and ListCoverageStatistics, one `AWS_EC2_INSTANCE` resource per
//! agent with scan type `PACKAGE` and scan mode `EC2_INSPECTOR_AGENT_BASED`.
//!
//! `scanStatus`: `ACTIVE`/`SUCCESSFUL` when the last report was matched against the advisory
//! index; `INACTIVE`/`PENDING_INITIAL_SCAN` when there was no index to match against (no
//! package findings exist for the host yet; this is never a "clean" result);
//! `INACTIVE`/`INTERNAL_ERROR` when the index file is unusable; `INACTIVE`/`STALE_INVENTORY`
//! when the agent has not reported for [`crate::InspectorApi::stale_after_secs`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Ctx, Done, paginate, with_token};
use crate::criteria::{Criteria, Scope, coverage_values};
use crate::error::{InspectorApiError, Result};
use crate::state::{Host, PackageScan, collections as c};

/// The `scanStatus` of a host at `now`.
pub fn scan_status(host: &Host, now: f64, stale_after: f64) -> (&'static str, &'static str) {
    match &host.package_scan {
        PackageScan::Scanned { .. } if now - host.last_report_at > stale_after => {
            ("INACTIVE", "STALE_INVENTORY")
        }
        PackageScan::Scanned { .. } => ("ACTIVE", "SUCCESSFUL"),
        PackageScan::NoIndex => ("INACTIVE", "PENDING_INITIAL_SCAN"),
        PackageScan::IndexError { .. } => ("INACTIVE", "INTERNAL_ERROR"),
    }
}

/// A host as a `CoveredResource`.
pub fn covered(host: &Host, now: f64, stale_after: f64) -> Value {
    let (code, reason) = scan_status(host, now, stale_after);
    let os = if host.inventory.os.id.is_empty() {
        "UNKNOWN"
    } else {
        "LINUX"
    };
    let ec2 = json!({"platform": os, "tags": {}});
    json!({
        "resourceType": "AWS_EC2_INSTANCE",
        "resourceId": host.agent_id,
        "accountId": host.account,
        "scanType": "PACKAGE",
        "scanStatus": {"statusCode": code, "reason": reason},
        "resourceMetadata": {"ec2": ec2},
        "lastScannedAt": host.last_report_at,
        "scanMode": "EC2_INSPECTOR_AGENT_BASED",
    })
}

/// Every covered resource of the caller's account, in agent id order.
pub async fn resources(ctx: &Ctx<'_>) -> Result<Vec<Value>> {
    let now = ctx.now();
    Ok(ctx
        .api
        .list::<Host>(c::HOSTS, &format!("{}/", ctx.account()))
        .await?
        .into_iter()
        .map(|(_, h)| covered(&h.value, now, ctx.api.stale_after_secs))
        .collect())
}

/// ListCoverage.
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("ListCoverage").await?;
    let criteria = Criteria::parse(ctx.get("filterCriteria"), Scope::Coverage)?;
    let (limit, offset) = ctx.page_params(200, 100)?;
    let found: Vec<Value> = resources(ctx)
        .await?
        .into_iter()
        .filter(|r| criteria.matches(r, coverage_values))
        .collect();
    let (page, next) = paginate(found, limit, offset);
    Ok(Done::read(with_token(
        json!({"coveredResources": page}),
        next,
    )))
}

/// ListCoverageStatistics: counts by `groupBy` (`SCAN_STATUS_CODE`, `SCAN_STATUS_REASON`,
/// `ACCOUNT_ID`, `RESOURCE_TYPE`; the others give no groups). Each group's `groupKey` is the
/// grouped value (`ACTIVE`, `SUCCESSFUL`, ...): the model types it as the `GroupKey` enum,
/// which would leave the groups indistinguishable.
pub async fn statistics(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("ListCoverageStatistics").await?;
    let criteria = Criteria::parse(ctx.get("filterCriteria"), Scope::Coverage)?;
    let group = ctx.enum_opt(
        "groupBy",
        &[
            "SCAN_STATUS_CODE",
            "SCAN_STATUS_REASON",
            "ACCOUNT_ID",
            "RESOURCE_TYPE",
            "ECR_REPOSITORY_NAME",
            "PROVIDER",
            "PROVIDER_ACCOUNT_ID",
            "PROVIDER_REGION",
            "PROVIDER_ORG_ID",
        ],
    )?;
    let (_, offset) = ctx.page_params(i64::MAX, 1)?;
    if offset != 0 {
        return Err(InspectorApiError::field(
            "nextToken",
            "there is only one page",
        ));
    }
    let found: Vec<Value> = resources(ctx)
        .await?
        .into_iter()
        .filter(|r| criteria.matches(r, coverage_values))
        .collect();
    let total = found.len();
    let mut body = json!({"totalCounts": total});
    if let Some(g) = group {
        let key = match g.as_str() {
            "SCAN_STATUS_CODE" => Some("scanStatusCode"),
            "SCAN_STATUS_REASON" => Some("scanStatusReason"),
            "ACCOUNT_ID" => Some("accountId"),
            "RESOURCE_TYPE" => Some("resourceType"),
            _ => None,
        };
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        if let Some(k) = key {
            for r in &found {
                if let Some(v) = coverage_values(r, k).first().and_then(Value::as_str) {
                    *counts.entry(v.to_owned()).or_default() += 1;
                }
            }
        }
        let list: Vec<Value> = counts
            .into_iter()
            .map(|(v, n)| json!({"groupKey": v, "count": n}))
            .collect();
        if let (false, Some(o)) = (list.is_empty(), body.as_object_mut()) {
            o.insert("countsByGroup".into(), json!(list));
        }
    }
    Ok(Done::read(body))
}
