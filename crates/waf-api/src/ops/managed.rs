//! Managed rule groups: ListAvailableManagedRuleGroups, DescribeManagedRuleGroup,
//! ListAvailableManagedRuleGroupVersions, over [`crate::managed::catalog`].

use portcullis_waf_model::ParameterExceptionField as F;
use serde_json::{Value, json};

use super::{Ctx, Done};
use crate::error::{Result, WafError};
use crate::input::paginate;
use crate::managed::{ManagedEntry, catalog, find};

fn group(ctx: &Ctx<'_>) -> Result<&'static ManagedEntry> {
    let vendor = ctx.input.str_req("VendorName", F::ManagedRuleSet)?;
    let name = ctx.input.str_req("Name", F::ManagedRuleSet)?;
    ctx.input.scope()?;
    find(vendor, name).ok_or_else(|| {
        WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: managed rule group {vendor}/{name}."
        ))
    })
}

/// ListAvailableManagedRuleGroups: Portcullis's groups and the CRS, by vendor then name.
pub async fn list_available(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.input.scope()?;
    let (limit, marker) = ctx.input.page()?;
    ctx.waf
        .authorize(ctx.req, "ListAvailableManagedRuleGroups", "*", None, None)
        .await?;
    let mut all: Vec<&ManagedEntry> = catalog().iter().collect();
    all.sort_by(|a, b| (a.vendor, &a.name).cmp(&(b.vendor, &b.name)));
    let key = |e: &&ManagedEntry| format!("{}/{}", e.vendor, e.name);
    let (page, next) = paginate(all, key, limit, marker.as_deref());
    let groups: Vec<Value> = page
        .iter()
        .map(|e| {
            json!({"VendorName": e.vendor, "Name": e.name, "VersioningSupported": false,
                   "Description": e.description})
        })
        .collect();
    let mut body = json!({ "ManagedRuleGroups": groups });
    if let (Some(m), Some(o)) = (next, body.as_object_mut()) {
        o.insert("NextMarker".into(), json!(m));
    }
    Ok(Done::plain(body))
}

/// DescribeManagedRuleGroup: capacity, rules with their actions, labels. The groups have no
/// versions, so naming one is `WAFNonexistentItemException`.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.waf
        .authorize(ctx.req, "DescribeManagedRuleGroup", "*", None, None)
        .await?;
    let e = group(ctx)?;
    if let Some(v) = ctx.input.str_opt("VersionName")? {
        return Err(WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: version {v} of {}/{}.",
            e.vendor, e.name
        )));
    }
    let mut body =
        json!({"Capacity": e.capacity, "LabelNamespace": e.label_namespace, "Rules": []});
    if let (Some(g), Some(o)) = (&e.group, body.as_object_mut()) {
        let rules: Vec<Value> = g
            .rules()
            .iter()
            .map(|r| {
                let mut s = json!({"Name": r.name});
                if let (Some(a), Some(m)) = (&r.action, s.as_object_mut()) {
                    m.insert("Action".into(), a.to_json());
                }
                s
            })
            .collect();
        o.insert("Rules".into(), Value::Array(rules));
        if let Some(l) = &g.available_labels {
            o.insert("AvailableLabels".into(), portcullis_waf_model::render(l));
        }
        if let Some(l) = &g.consumed_labels {
            o.insert("ConsumedLabels".into(), portcullis_waf_model::render(l));
        }
    }
    Ok(Done::plain(body))
}

/// ListAvailableManagedRuleGroupVersions: none (the groups are not versioned).
pub async fn list_versions(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.waf
        .authorize(
            ctx.req,
            "ListAvailableManagedRuleGroupVersions",
            "*",
            None,
            None,
        )
        .await?;
    group(ctx)?;
    ctx.input.page()?;
    Ok(Done::plain(json!({ "Versions": [] })))
}
