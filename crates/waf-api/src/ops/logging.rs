//! Logging configuration: PutLoggingConfiguration, GetLoggingConfiguration,
//! DeleteLoggingConfiguration, ListLoggingConfigurations. One configuration per web ACL, stored as the
//! model's `LoggingConfiguration` after checking it.

use portcullis_store::{Precondition, WriteOp};
use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::validate::check::{
    REASON_INVALID_ARN, REASON_INVALID_FORMAT, REASON_INVALID_LENGTH, REASON_MISSING,
};
use portcullis_waf_model::{FieldToMatch, Scope};
use serde_json::{Map, Value, json};

use super::{Ctx, Done};
use crate::arn::{Kind, Place, parse_resource_arn};
use crate::error::{Result, WafError};
use crate::input::paginate;
use crate::state::collections as c;

fn str_member<'a>(m: &'a Map<String, Value>, name: &str, field: F) -> Result<&'a str> {
    match m.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(WafError::invalid(field, name, REASON_MISSING)),
        Some(_) => Err(WafError::Serialization(format!(
            "Member {name} must be a string"
        ))),
    }
}

fn one_of(m: &Map<String, Value>, name: &str, allowed: &[&str], field: F) -> Result<()> {
    let s = str_member(m, name, field)?;
    if !allowed.contains(&s) {
        return Err(WafError::invalid(field, s, REASON_INVALID_FORMAT));
    }
    Ok(())
}

fn list_member<'a>(m: &'a Map<String, Value>, name: &str, field: F) -> Result<&'a Vec<Value>> {
    match m.get(name) {
        Some(Value::Array(a)) if !a.is_empty() => Ok(a),
        Some(Value::Array(_)) => Err(WafError::invalid(field, name, REASON_INVALID_LENGTH)),
        None | Some(Value::Null) => Err(WafError::invalid(field, name, REASON_MISSING)),
        Some(_) => Err(WafError::Serialization(format!(
            "Member {name} must be a list"
        ))),
    }
}

fn object(v: &Value, name: &str) -> Result<Map<String, Value>> {
    v.as_object()
        .cloned()
        .ok_or_else(|| WafError::Serialization(format!("Member {name} must be a structure")))
}

/// Checks a `LoggingFilter`.
fn check_filter(v: &Value) -> Result<()> {
    let f = object(v, "LoggingFilter")?;
    one_of(&f, "DefaultBehavior", &["KEEP", "DROP"], F::LoggingFilter)?;
    for filter in list_member(&f, "Filters", F::LoggingFilter)? {
        let filter = object(filter, "Filter")?;
        one_of(&filter, "Behavior", &["KEEP", "DROP"], F::FilterCondition)?;
        one_of(
            &filter,
            "Requirement",
            &["MEETS_ALL", "MEETS_ANY"],
            F::FilterCondition,
        )?;
        for cond in list_member(&filter, "Conditions", F::FilterCondition)? {
            let cond = object(cond, "Condition")?;
            let action = cond.get("ActionCondition").filter(|v| !v.is_null());
            let label = cond.get("LabelNameCondition").filter(|v| !v.is_null());
            match (action, label) {
                (Some(a), None) => one_of(
                    &object(a, "ActionCondition")?,
                    "Action",
                    &[
                        "ALLOW",
                        "BLOCK",
                        "COUNT",
                        "CAPTCHA",
                        "CHALLENGE",
                        "EXCLUDED_AS_COUNT",
                        "MONETIZE",
                    ],
                    F::FilterCondition,
                )?,
                (None, Some(l)) => {
                    let l = object(l, "LabelNameCondition")?;
                    let name = str_member(&l, "LabelName", F::FilterCondition)?;
                    let ok = (1..=1024).contains(&name.len())
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b));
                    if !ok {
                        return Err(WafError::invalid(
                            F::FilterCondition,
                            name,
                            REASON_INVALID_FORMAT,
                        ));
                    }
                }
                _ => {
                    return Err(WafError::invalid(
                        F::FilterCondition,
                        "Condition",
                        portcullis_waf_model::validate::check::REASON_EXACTLY_ONE,
                    ));
                }
            }
        }
    }
    Ok(())
}

fn is_arn(s: &str) -> bool {
    s.starts_with("arn:") && s.split(':').count() >= 6 && (20..=2048).contains(&s.len())
}

/// PutLoggingConfiguration.
pub async fn put(ctx: &Ctx<'_>) -> Result<Done> {
    let cfg = match ctx.input.get("LoggingConfiguration") {
        Some(v) => object(v, "LoggingConfiguration")?,
        None => {
            return Err(WafError::invalid(
                F::LoggingFilter,
                "LoggingConfiguration",
                REASON_MISSING,
            ));
        }
    };
    let acl_arn = str_member(&cfg, "ResourceArn", F::ResourceArn)?.to_owned();
    let acl = ctx.waf.entity_by_arn(&acl_arn).await?;
    ctx.waf
        .authorize(
            ctx.req,
            "PutLoggingConfiguration",
            &acl_arn,
            acl.as_ref().map(|e| &e.value.tags),
            None,
        )
        .await?;
    if parse_resource_arn(&acl_arn).is_none_or(|p| p.kind != Kind::WebAcl) {
        return Err(WafError::invalid(
            F::ResourceArn,
            acl_arn,
            REASON_INVALID_ARN,
        ));
    }
    if acl.is_none() {
        return Err(WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: {acl_arn}."
        )));
    }
    let dests = list_member(&cfg, "LogDestinationConfigs", F::LogDestination)?;
    // AWS accepts one destination per web ACL.
    if dests.len() != 1 {
        return Err(WafError::invalid(
            F::LogDestination,
            "LogDestinationConfigs",
            REASON_INVALID_LENGTH,
        ));
    }
    for d in dests {
        let d = d.as_str().ok_or_else(|| {
            WafError::Serialization("LogDestinationConfigs must be strings".into())
        })?;
        if !is_arn(d) {
            return Err(WafError::invalid(F::LogDestination, d, REASON_INVALID_ARN));
        }
    }
    let mut stored = Map::new();
    stored.insert("ResourceArn".into(), json!(acl_arn));
    stored.insert("LogDestinationConfigs".into(), Value::Array(dests.clone()));
    if let Some(r) = cfg.get("RedactedFields").filter(|v| !v.is_null()) {
        let list = r.as_array().ok_or_else(|| {
            WafError::Serialization("Member RedactedFields must be a list".into())
        })?;
        if list.len() > 100 {
            return Err(WafError::invalid(
                F::FieldToMatch,
                "RedactedFields",
                REASON_INVALID_LENGTH,
            ));
        }
        let fields: Vec<Value> = list
            .iter()
            .map(|f| FieldToMatch::from_value(f.clone()).map(|f| f.to_json()))
            .collect::<Result<_, _>>()?;
        stored.insert("RedactedFields".into(), Value::Array(fields));
    }
    stored.insert("ManagedByFirewallManager".into(), json!(false));
    if let Some(f) = cfg.get("LoggingFilter").filter(|v| !v.is_null()) {
        check_filter(f)?;
        stored.insert("LoggingFilter".into(), f.clone());
    }
    if cfg.get("LogType").is_some_and(|v| !v.is_null()) {
        one_of(&cfg, "LogType", &["WAF_LOGS"], F::LogDestination)?;
    }
    stored.insert("LogType".into(), json!("WAF_LOGS"));
    if cfg.get("LogScope").is_some_and(|v| !v.is_null()) {
        one_of(
            &cfg,
            "LogScope",
            &[
                "CUSTOMER",
                "SECURITY_LAKE",
                "CLOUDWATCH_TELEMETRY_RULE_MANAGED",
            ],
            F::LogDestination,
        )?;
    }
    stored.insert(
        "LogScope".into(),
        cfg.get("LogScope")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(json!("CUSTOMER")),
    );
    let stored = Value::Object(stored);
    ctx.waf
        .commit(vec![WriteOp::put(
            c::LOGGING,
            &acl_arn,
            stored.clone(),
            Precondition::None,
        )])
        .await?;
    Ok(Done::plain(json!({ "LoggingConfiguration": stored })))
}

async fn load(ctx: &Ctx<'_>, op: &str) -> Result<(String, Option<u64>, Value)> {
    let arn = ctx.input.arn("ResourceArn")?;
    let acl = ctx.waf.entity_by_arn(&arn).await?;
    ctx.waf
        .authorize(ctx.req, op, &arn, acl.as_ref().map(|e| &e.value.tags), None)
        .await?;
    match ctx.waf.store.get(c::LOGGING, &arn).await? {
        Some(i) => Ok((arn, Some(i.version), i.value)),
        None => Err(WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: no logging configuration for {arn}."
        ))),
    }
}

/// GetLoggingConfiguration.
pub async fn get(ctx: &Ctx<'_>) -> Result<Done> {
    let (_, _, cfg) = load(ctx, "GetLoggingConfiguration").await?;
    Ok(Done::plain(json!({ "LoggingConfiguration": cfg })))
}

/// DeleteLoggingConfiguration.
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let (arn, version, _) = load(ctx, "DeleteLoggingConfiguration").await?;
    let cond = version.map_or(Precondition::None, Precondition::Version);
    ctx.waf
        .commit(vec![WriteOp::delete(c::LOGGING, &arn, cond)])
        .await?;
    Ok(Done::plain(json!({})))
}

/// ListLoggingConfigurations: the scope's configurations, sorted by web ACL ARN.
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    let scope: Scope = ctx.input.scope()?;
    let (limit, marker) = ctx.input.page()?;
    ctx.waf
        .authorize(ctx.req, "ListLoggingConfigurations", "*", None, None)
        .await?;
    let place: Place = ctx.place(scope);
    let prefix = crate::arn::resource_arn(&place, Kind::WebAcl, "", "");
    let prefix = prefix.trim_end_matches('/').trim_end_matches('/');
    let all: Vec<Value> = ctx
        .waf
        .list::<Value>(c::LOGGING, &format!("{prefix}/"))
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    let key = |v: &Value| {
        v.get("ResourceArn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (page, next) = paginate(all, key, limit, marker.as_deref());
    let mut body = json!({ "LoggingConfigurations": page });
    if let (Some(m), Some(o)) = (next, body.as_object_mut()) {
        o.insert("NextMarker".into(), json!(m));
    }
    Ok(Done::plain(body))
}
