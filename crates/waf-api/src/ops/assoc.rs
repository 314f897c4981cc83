//! Associations of regional web ACLs with Portcullis proxy listeners: AssociateWebACL,
//! DisassociateWebACL, GetWebACLForResource, ListResourcesForWebACL. One web ACL per resource;
//! associating again replaces the earlier one, as AWS does.

use portcullis_store::{Precondition, WriteOp};
use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::Scope;
use portcullis_waf_model::validate::check::{REASON_INVALID_ARN, REASON_INVALID_COMBINATION};
use serde_json::{Value, json};

use super::{Ctx, Done};
use crate::arn::{ListenerArn, parse_listener_arn};
use crate::error::{Result, WafError};
use crate::state::{Association, WafApi, collections as c, cond_of};

/// The key of the by-web-ACL index.
pub fn by_acl_key(web_acl_arn: &str, resource_arn: &str) -> String {
    format!("{web_acl_arn}|{resource_arn}")
}

fn listener(ctx: &Ctx<'_>) -> Result<(String, ListenerArn)> {
    let arn = ctx.input.arn("ResourceArn")?;
    let parsed = parse_listener_arn(&arn)
        .ok_or_else(|| WafError::invalid(F::ResourceArn, arn.as_str(), REASON_INVALID_ARN))?;
    Ok((arn, parsed))
}

/// AssociateWebACL.
pub async fn associate(ctx: &Ctx<'_>) -> Result<Done> {
    let acl_arn = ctx.input.arn("WebACLArn")?;
    let (res_arn, listener) = listener(ctx)?;
    let acl = ctx.waf.entity_by_arn(&acl_arn).await?;
    ctx.waf
        .authorize(
            ctx.req,
            "AssociateWebACL",
            &acl_arn,
            acl.as_ref().map(|e| &e.value.tags),
            None,
        )
        .await?;
    ctx.waf
        .authorize(ctx.req, "AssociateWebACL", &res_arn, None, None)
        .await?;
    let acl = acl
        .filter(|e| e.value.kind == crate::arn::Kind::WebAcl)
        .ok_or_else(|| {
            WafError::Nonexistent(format!(
                "WAF couldn't perform the operation because your resource doesn't exist: {acl_arn}."
            ))
        })?;
    let place = acl.value.place();
    if place.scope != Scope::Regional
        || place.region != listener.region
        || place.account != listener.account
    {
        return Err(WafError::invalid(
            F::ResourceArn,
            res_arn,
            REASON_INVALID_COMBINATION,
        ));
    }
    let existing = ctx.waf.get::<Association>(c::ASSOC, &res_arn).await?;
    let mut ops = Vec::new();
    let version = match &existing {
        Some(a) => {
            if a.value.web_acl_arn != acl_arn {
                ops.push(WriteOp::delete(
                    c::ASSOC_BY_ACL,
                    &by_acl_key(&a.value.web_acl_arn, &res_arn),
                    Precondition::None,
                ));
            }
            a.version
        }
        None => 0,
    };
    let value = json!({"web_acl_arn": acl_arn, "resource_arn": res_arn});
    ops.push(WriteOp::put(
        c::ASSOC,
        &res_arn,
        value.clone(),
        cond_of(version),
    ));
    ops.push(WriteOp::put(
        c::ASSOC_BY_ACL,
        &by_acl_key(&acl_arn, &res_arn),
        value,
        Precondition::None,
    ));
    // Rewritten unchanged: a concurrent DeleteWebACL loses the race instead of leaving a dangling
    // association.
    ops.push(WafApi::entity_op(&place, &acl)?);
    ctx.waf.commit(ops).await?;
    Ok(Done::plain(json!({})))
}

/// DisassociateWebACL: nothing associated is no error.
pub async fn disassociate(ctx: &Ctx<'_>) -> Result<Done> {
    let (res_arn, _) = listener(ctx)?;
    ctx.waf
        .authorize(ctx.req, "DisassociateWebACL", &res_arn, None, None)
        .await?;
    if let Some(a) = ctx.waf.get::<Association>(c::ASSOC, &res_arn).await? {
        ctx.waf
            .commit(vec![
                WriteOp::delete(c::ASSOC, &res_arn, Precondition::Version(a.version)),
                WriteOp::delete(
                    c::ASSOC_BY_ACL,
                    &by_acl_key(&a.value.web_acl_arn, &res_arn),
                    Precondition::None,
                ),
            ])
            .await?;
    }
    Ok(Done::plain(json!({})))
}

/// GetWebACLForResource: `{WebACL}` or `{}` when none is associated.
pub async fn get_web_acl_for_resource(ctx: &Ctx<'_>) -> Result<Done> {
    let (res_arn, _) = listener(ctx)?;
    ctx.waf
        .authorize(ctx.req, "GetWebACLForResource", &res_arn, None, None)
        .await?;
    let Some(a) = ctx.waf.get::<Association>(c::ASSOC, &res_arn).await? else {
        return Ok(Done::plain(json!({})));
    };
    match ctx.waf.entity_by_arn(&a.value.web_acl_arn).await? {
        Some(e) => Ok(Done::plain(json!({ "WebACL": e.value.doc }))),
        None => Ok(Done::plain(json!({}))),
    }
}

/// ListResourcesForWebACL: the listener ARNs (`ResourceType` `APPLICATION_LOAD_BALANCER`, the
/// default; other types have none here).
pub async fn list_resources_for_web_acl(ctx: &Ctx<'_>) -> Result<Done> {
    let acl_arn = ctx.input.arn("WebACLArn")?;
    let rtype = ctx.input.str_opt("ResourceType")?;
    const TYPES: &[&str] = &[
        "APPLICATION_LOAD_BALANCER",
        "API_GATEWAY",
        "APPSYNC",
        "COGNITO_USER_POOL",
        "APP_RUNNER_SERVICE",
        "VERIFIED_ACCESS_INSTANCE",
        "AMPLIFY",
        "AGENTCORE_GATEWAY",
    ];
    if let Some(t) = rtype
        && !TYPES.contains(&t)
    {
        return Err(WafError::invalid(
            F::ResourceType,
            t,
            portcullis_waf_model::validate::check::REASON_INVALID_FORMAT,
        ));
    }
    let acl = ctx.waf.entity_by_arn(&acl_arn).await?;
    ctx.waf
        .authorize(
            ctx.req,
            "ListResourcesForWebACL",
            &acl_arn,
            acl.as_ref().map(|e| &e.value.tags),
            None,
        )
        .await?;
    if acl.is_none() {
        return Err(WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: {acl_arn}."
        )));
    }
    let arns: Vec<Value> = if rtype.is_none_or(|t| t == "APPLICATION_LOAD_BALANCER") {
        ctx.waf
            .list::<Association>(c::ASSOC_BY_ACL, &format!("{acl_arn}|"))
            .await?
            .into_iter()
            .map(|a| json!(a.value.resource_arn))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Done::plain(json!({ "ResourceArns": arns })))
}
