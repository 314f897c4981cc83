//! GetRateBasedStatementManagedKeys: the addresses a rate-based rule is limiting now, read from the proxy
//! nodes of this process (see [`SampleSource::managed_keys`](crate::read::SampleSource::managed_keys)).
//! Only rules that aggregate on the IP address alone (`IP`, `FORWARDED_IP`) have managed keys; others
//! get `WAFUnsupportedAggregateKeyTypeException`, as in AWS WAF.

use std::net::IpAddr;

use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::{AggregateKeyType, Rule, RuleGroup, Statement, WebAcl};
use serde_json::{Value, json};

use super::{Ctx, Done};
use crate::arn::{Kind, resource_arn};
use crate::error::{Result, WafError};

fn nonexistent(what: &str) -> WafError {
    WafError::Nonexistent(format!(
        "WAF couldn't perform the operation because your resource doesn't exist: {what}."
    ))
}

/// The rate-based rule `name` among `rules`, checked for an IP-only aggregation key.
fn rate_rule<'a>(rules: &'a [Rule], name: &str) -> Result<&'a Rule> {
    let rule = rules
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| nonexistent(&format!("rule {name}")))?;
    let Statement::RateBased(rate) = &rule.statement else {
        return Err(WafError::InvalidOperation(format!(
            "The rule {name} is not a rate-based rule."
        )));
    };
    match rate.aggregate_key_type {
        AggregateKeyType::Ip | AggregateKeyType::ForwardedIp => Ok(rule),
        _ => Err(WafError::UnsupportedAggregateKeyType(format!(
            "The rule {name} does not aggregate on the IP address alone, so it has no managed keys."
        ))),
    }
}

fn key_set(version: &str, ips: &[IpAddr], v4: bool) -> Value {
    let bits = if v4 { 32 } else { 128 };
    let addresses: Vec<String> = ips
        .iter()
        .filter(|ip| ip.is_ipv4() == v4)
        .map(|ip| format!("{ip}/{bits}"))
        .collect();
    json!({"IPAddressVersion": version, "Addresses": addresses})
}

/// GetRateBasedStatementManagedKeys.
pub async fn get_managed_keys(ctx: &Ctx<'_>) -> Result<Done> {
    let scope = ctx.input.scope()?;
    let acl_name = ctx.input.name("WebACLName", F::WebAcl)?;
    let acl_id = {
        let s = ctx.input.str_req("WebACLId", F::WebAcl)?;
        if !crate::input::is_uuid(s) {
            return Err(WafError::invalid(
                F::WebAcl,
                s,
                portcullis_waf_model::validate::check::REASON_INVALID_FORMAT,
            ));
        }
        s.to_owned()
    };
    let rule_name = ctx.input.name("RuleName", F::Rule)?;
    let group_rule = match ctx.input.str_opt("RuleGroupRuleName")? {
        Some(_) => Some(ctx.input.name("RuleGroupRuleName", F::Rule)?),
        None => None,
    };
    let place = ctx.place(scope);
    let acl_arn = resource_arn(&place, Kind::WebAcl, &acl_name, &acl_id);
    let entity = ctx
        .waf
        .entity(&place, Kind::WebAcl, &acl_id)
        .await?
        .filter(|e| e.value.name == acl_name);
    ctx.waf
        .authorize(
            ctx.req,
            "GetRateBasedStatementManagedKeys",
            &acl_arn,
            entity.as_ref().map(|e| &e.value.tags),
            None,
        )
        .await?;
    let entity = entity.ok_or_else(|| nonexistent(&format!("web ACL {acl_name}")))?;
    let acl: WebAcl = entity.value.parse()?;
    match &group_rule {
        None => {
            rate_rule(acl.rules(), &rule_name)?;
        }
        Some(outer) => {
            let reference = acl
                .rules()
                .iter()
                .find(|r| &r.name == outer)
                .ok_or_else(|| nonexistent(&format!("rule {outer}")))?;
            let Statement::RuleGroupReference(r) = &reference.statement else {
                return Err(WafError::InvalidOperation(format!(
                    "The rule {outer} is not a rule group reference statement."
                )));
            };
            let group = ctx
                .waf
                .entity_by_arn(&r.arn)
                .await?
                .ok_or_else(|| nonexistent(&format!("rule group {}", r.arn)))?;
            let group: RuleGroup = group.value.parse()?;
            rate_rule(group.rules(), &rule_name)?;
        }
    }
    let ips = match ctx.waf.sample_source() {
        Some(src) => src.managed_keys(&acl_arn, group_rule.as_deref(), &rule_name),
        None => Vec::new(),
    };
    Ok(Done::plain(json!({
        "ManagedKeysIPV4": key_set("IPV4", &ips, true),
        "ManagedKeysIPV6": key_set("IPV6", &ips, false),
    })))
}
