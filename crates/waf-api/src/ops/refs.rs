//! References between resources: resolving the IP sets, regex pattern sets and rule groups a rule
//! list names (`WAFNonexistentItemException` when one is missing), capacity, the compile check, the
//! "still referenced" check of deletes, and `CheckCapacity`.

use std::collections::HashSet;

use portcullis_store::WriteOp;
use portcullis_waf_core::{CompileError, CompiledAcl, Resources};
use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::validate::check::{REASON_INVALID_FORMAT, REASON_INVALID_REFERENCE};
use portcullis_waf_model::validate::{RuleContainer, validate_rules};
use portcullis_waf_model::{
    CheckCapacityRequest, IpSet, References, RegexPatternSet, Rule, RuleGroup, WebAcl, capacity,
};
use serde_json::json;

use super::{Ctx, Done};
use crate::arn::{Kind, Place, parse_resource_arn};
use crate::error::{Result, WafError};
use crate::managed::{Capacities, compile_resources};
use crate::state::{Entity, Versioned, WafApi};

/// What a rule list references, loaded.
pub struct Resolved {
    /// Rewrites of every referenced resource under its version (see [`crate::state`]).
    pub touch: Vec<WriteOp>,
    /// The managed groups plus the referenced resources, for the compile check.
    pub resources: Resources,
    /// Capacities of the referenced rule groups and the managed groups.
    pub capacities: Capacities,
}

fn missing(kind: Kind, arn: &str) -> WafError {
    WafError::Nonexistent(format!(
        "WAF couldn't perform the operation because your resource doesn't exist: {} {arn}.",
        kind.shape()
    ))
}

async fn load(
    waf: &WafApi,
    place: &Place,
    kind: Kind,
    arn: &str,
    seen: &mut HashSet<String>,
    touch: &mut Vec<WriteOp>,
) -> Result<Versioned<Entity>> {
    let ok = parse_resource_arn(arn).is_some_and(|p| p.kind == kind && &p.place == place);
    if !ok {
        if parse_resource_arn(arn).is_none() {
            return Err(WafError::invalid(
                F::ResourceArn,
                arn,
                portcullis_waf_model::validate::check::REASON_INVALID_ARN,
            ));
        }
        return Err(missing(kind, arn));
    }
    let e = waf
        .entity_by_arn(arn)
        .await?
        .ok_or_else(|| missing(kind, arn))?;
    if seen.insert(arn.to_owned()) {
        touch.push(WafApi::entity_op(place, &e)?);
    }
    Ok(e)
}

/// Loads everything `rules` (of a resource in `place`) references.
pub async fn resolve(waf: &WafApi, place: &Place, rules: &[Rule]) -> Result<Resolved> {
    let refs = References::of_rules(rules);
    let mut out = Resolved {
        touch: Vec::new(),
        resources: compile_resources().clone(),
        capacities: Capacities::default(),
    };
    let mut seen = HashSet::new();
    let mut ip_arns = refs.ip_sets;
    let mut rx_arns = refs.regex_pattern_sets;
    for arn in &refs.rule_groups {
        let e = load(waf, place, Kind::RuleGroup, arn, &mut seen, &mut out.touch).await?;
        let g: RuleGroup = e.value.parse()?;
        let inner = References::of_rules(g.rules());
        ip_arns.extend(inner.ip_sets);
        rx_arns.extend(inner.regex_pattern_sets);
        out.capacities
            .rule_groups
            .insert(arn.clone(), u64::try_from(g.capacity).unwrap_or(0));
        out.resources.add_rule_group(g);
    }
    for arn in &ip_arns {
        let e = load(waf, place, Kind::IpSet, arn, &mut seen, &mut out.touch).await?;
        let s: IpSet = e.value.parse()?;
        out.resources.add_ip_set(s);
    }
    for arn in &rx_arns {
        let e = load(
            waf,
            place,
            Kind::RegexPatternSet,
            arn,
            &mut seen,
            &mut out.touch,
        )
        .await?;
        let s: RegexPatternSet = e.value.parse()?;
        out.resources.add_regex_pattern_set(arn, s);
    }
    Ok(out)
}

/// The `WAFInvalidParameterException` (or `WAFNonexistentItemException`) for a compile failure.
pub fn compile_error(e: CompileError, container: F) -> WafError {
    match e {
        CompileError::Regex { pattern, .. } => {
            WafError::invalid(F::RegexPatternSet, pattern, REASON_INVALID_FORMAT)
        }
        CompileError::UnknownIpSet { arn, .. } => missing(Kind::IpSet, &arn),
        CompileError::UnknownRegexPatternSet { arn, .. } => missing(Kind::RegexPatternSet, &arn),
        CompileError::UnknownRuleGroup { arn, .. } => missing(Kind::RuleGroup, &arn),
        CompileError::UnknownManagedGroup { vendor, name, .. } => WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: managed rule group {vendor}/{name}."
        )),
        CompileError::UnknownGroupRule { name, .. } => {
            WafError::invalid(F::ExcludedRule, name, REASON_INVALID_REFERENCE)
        }
        CompileError::UnknownResponseBody { key, .. } => {
            WafError::invalid(F::CustomResponseBody, key, REASON_INVALID_REFERENCE)
        }
        other => WafError::invalid(container, other.to_string(), REASON_INVALID_REFERENCE),
    }
}

/// Compiles `acl` as a proxy would, so that what the API stores always runs.
pub fn compile_check(acl: &WebAcl, res: &Resources) -> Result<()> {
    CompiledAcl::compile(acl, res)
        .map(|_| ())
        .map_err(|e| compile_error(e, F::WebAcl))
}

/// Compiles the rules of `group` inside a throw-away web ACL, for the same reason.
pub fn compile_check_group(group: &RuleGroup, res: &Resources) -> Result<()> {
    let acl = WebAcl {
        name: group.name.clone(),
        id: group.id.clone(),
        arn: group.arn.clone(),
        default_action: portcullis_waf_model::DefaultAction::Allow(Default::default()),
        description: None,
        rules: group.rules.clone(),
        visibility_config: group.visibility_config.clone(),
        data_protection_config: None,
        capacity: None,
        pre_process_firewall_manager_rule_groups: None,
        post_process_firewall_manager_rule_groups: None,
        managed_by_firewall_manager: None,
        label_namespace: group.label_namespace.clone(),
        custom_response_bodies: group.custom_response_bodies.clone(),
        captcha_config: None,
        challenge_config: None,
        token_domains: None,
        association_config: None,
        retrofitted_by_firewall_manager: None,
        on_source_ddos_protection_config: None,
        application_config: None,
        monetization_config: None,
        analytics_config: None,
    };
    CompiledAcl::compile(&acl, res)
        .map(|_| ())
        .map_err(|e| compile_error(e, F::RuleGroup))
}

/// `WAFAssociatedItemException` when a web ACL or rule group in `place` references `arn`.
pub async fn refuse_if_referenced(
    waf: &WafApi,
    place: &Place,
    kind: Kind,
    arn: &str,
) -> Result<()> {
    for container in [Kind::WebAcl, Kind::RuleGroup] {
        for e in waf.entities(place, container).await? {
            let rules: Vec<Rule> = match e.value.doc.get("Rules") {
                Some(r) => portcullis_waf_model::parse_value(r.clone()).map_err(|x| {
                    WafError::Internal(format!("stored rules of {} do not parse: {x}", e.value.arn))
                })?,
                None => Vec::new(),
            };
            let refs = References::of_rules(&rules);
            let used = match kind {
                Kind::IpSet => refs.ip_sets.contains(arn),
                Kind::RegexPatternSet => refs.regex_pattern_sets.contains(arn),
                Kind::RuleGroup => refs.rule_groups.contains(arn),
                Kind::WebAcl => false,
            };
            if used {
                return Err(WafError::Associated(format!(
                    "WAF couldn't perform the operation because your resource is being used by another resource: {} {}.",
                    container.shape(),
                    e.value.arn
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a rule group update that would leave a web ACL's `RuleGroupReferenceStatement` naming a
/// rule the group no longer has (in `ExcludedRules` or `RuleActionOverrides`): that web ACL would no
/// longer compile on the proxies.
pub async fn check_referencing_acls(waf: &WafApi, place: &Place, group: &RuleGroup) -> Result<()> {
    for e in waf.entities(place, Kind::WebAcl).await? {
        let acl: WebAcl = e.value.parse()?;
        for rule in acl.rules() {
            if let portcullis_waf_model::Statement::RuleGroupReference(r) = &rule.statement
                && r.arn == group.arn
            {
                portcullis_waf_model::validate::validate_group_overrides(r, group)
                    .map_err(WafError::InvalidParameter)?;
            }
        }
    }
    Ok(())
}

/// CheckCapacity: the WCU of a rule list, as `portcullis_waf_model::capacity` computes it.
pub async fn check_capacity(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.waf
        .authorize(ctx.req, "CheckCapacity", "*", None, None)
        .await?;
    let req = CheckCapacityRequest::from_value(ctx.input.value())?;
    validate_rules(&req.rules, RuleContainer::WebAcl, None).map_err(WafError::InvalidParameter)?;
    let place = ctx.place(req.scope);
    let resolved = resolve(ctx.waf, &place, &req.rules).await?;
    let used = capacity::rules_capacity(&req.rules, &resolved.capacities)?;
    Ok(Done::plain(json!({ "Capacity": used })))
}
