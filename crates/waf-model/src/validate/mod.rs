//! Validation of parsed documents the way the WAFv2 API validates `Create*`/`Update*`/`CheckCapacity`
//! requests: required members, min/max lengths and ranges, patterns, either/or members, unique names and
//! priorities, nesting rules and references between members. Each check returns the first problem as a
//! [`ValidationError`] carrying the members of `WAFInvalidParameterException`, naming the most specific
//! [`ParameterExceptionField`]. Union cardinality and enum values are already checked while parsing (see
//! [`crate::ModelError::Invalid`]).

mod action;
pub mod check;
mod error;
pub mod limits;
mod rate;
mod resources;
mod statement;

use std::collections::BTreeMap;

pub use check::Check;
pub use error::{ParameterExceptionField, ValidationError};
pub use resources::{validate_ip_set, validate_regex_pattern_set};
pub use statement::{MAX_STATEMENT_DEPTH, MAX_TEXT_TRANSFORMATIONS, is_json_pointer};

use crate::model::*;
use ParameterExceptionField as F;
use check::*;

/// Largest capacity a rule group may declare \[doc: AWS developer guide, "Web ACL capacity units": rule groups max 5,000 WCU\].
pub const MAX_RULE_GROUP_CAPACITY: i64 = 5000;

/// Where a list of rules lives: it decides which statements and actions are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleContainer {
    /// A web ACL: rule-group references allowed at top level.
    WebAcl,
    /// A rule group: no rule-group references.
    RuleGroup,
}

/// Shared state of one validation run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub in_rule_group: bool,
    pub bodies: Option<&'a BTreeMap<String, CustomResponseBody>>,
}

/// Validate a complete web ACL (`CreateWebACL`/`UpdateWebACL`).
pub fn validate_web_acl(acl: &WebAcl, scope: Scope) -> Check {
    entity_name(F::WebAcl, &acl.name)?;
    uuid(F::WebAcl, &acl.id)?;
    arn(F::ResourceArn, &acl.arn)?;
    if let Some(d) = &acl.description {
        description(F::WebAcl, d)?;
    }
    custom_response_bodies(acl.custom_response_bodies.as_ref())?;
    let ctx = Ctx {
        in_rule_group: false,
        bodies: acl.custom_response_bodies.as_ref(),
    };
    action::default_action(&acl.default_action, &ctx)?;
    metric_name(&acl.visibility_config.metric_name)?;
    if let Some(c) = &acl.captcha_config {
        immunity(F::WebAcl, c.immunity_time_property.as_ref(), 60)?;
    }
    if let Some(c) = &acl.challenge_config {
        immunity(F::ChallengeConfig, c.immunity_time_property.as_ref(), 300)?;
    }
    for d in acl.token_domains.as_deref().unwrap_or(&[]) {
        length(F::TokenDomain, d, 1, 253)?;
        ensure(
            all_chars(d, |c| is_word(c) || ".-/".contains(c)),
            F::TokenDomain,
            d.as_str(),
            REASON_INVALID_FORMAT,
        )?;
    }
    if let Some(a) = &acl.association_config {
        association_config(a, scope)?;
    }
    if let Some(d) = &acl.data_protection_config {
        data_protection(d)?;
    }
    if let Some(o) = &acl.on_source_ddos_protection_config {
        ensure(
            scope == Scope::Regional,
            F::LowReputationMode,
            o.alb_low_reputation_mode.as_str(),
            REASON_INVALID_COMBINATION,
        )?;
    }
    rules_with(acl.rules(), &ctx)
}

/// Validate a complete rule group (`CreateRuleGroup`/`UpdateRuleGroup`).
pub fn validate_rule_group(rg: &RuleGroup, _scope: Scope) -> Check {
    entity_name(F::RuleGroup, &rg.name)?;
    uuid(F::RuleGroup, &rg.id)?;
    arn(F::ResourceArn, &rg.arn)?;
    range(F::RuleGroup, rg.capacity, 1, MAX_RULE_GROUP_CAPACITY)?;
    if let Some(d) = &rg.description {
        description(F::RuleGroup, d)?;
    }
    metric_name(&rg.visibility_config.metric_name)?;
    custom_response_bodies(rg.custom_response_bodies.as_ref())?;
    let ctx = Ctx {
        in_rule_group: true,
        bodies: rg.custom_response_bodies.as_ref(),
    };
    rules_with(rg.rules(), &ctx)
}

/// Validate a rule list on its own (`CheckCapacity`, or rules before they are put in a container).
/// `bodies` are the container's `CustomResponseBodies`, which custom responses may reference.
pub fn validate_rules(
    rules: &[Rule],
    container: RuleContainer,
    bodies: Option<&BTreeMap<String, CustomResponseBody>>,
) -> Check {
    let ctx = Ctx {
        in_rule_group: container == RuleContainer::RuleGroup,
        bodies,
    };
    rules_with(rules, &ctx)
}

/// Validate one rule on its own (duplicate names/priorities need the whole list: [`validate_rules`]).
pub fn validate_rule(
    rule: &Rule,
    container: RuleContainer,
    bodies: Option<&BTreeMap<String, CustomResponseBody>>,
) -> Check {
    let ctx = Ctx {
        in_rule_group: container == RuleContainer::RuleGroup,
        bodies,
    };
    rule_with(rule, &ctx)
}

/// Validate a statement as the top-level statement of a rule in `container`.
pub fn validate_statement(s: &Statement, container: RuleContainer) -> Check {
    let ctx = Ctx {
        in_rule_group: container == RuleContainer::RuleGroup,
        bodies: None,
    };
    statement::statement(s, statement::Place::TOP, &ctx)
}

fn rules_with(rules: &[Rule], ctx: &Ctx<'_>) -> Check {
    for r in rules {
        rule_with(r, ctx)?;
    }
    unique(F::Rule, rules, |r| r.name.clone())?;
    unique(F::Rule, rules, |r| r.priority)
}

fn rule_with(rule: &Rule, ctx: &Ctx<'_>) -> Check {
    entity_name(F::Rule, &rule.name)?;
    range(F::Rule, rule.priority, 0, i64::from(i32::MAX))?;
    let is_group = matches!(
        rule.statement,
        Statement::ManagedRuleGroup(_) | Statement::RuleGroupReference(_)
    );
    match (&rule.action, &rule.override_action) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(fail(F::Rule, "Rule", REASON_EXACTLY_ONE));
        }
        (Some(_), None) if is_group => {
            return Err(fail(F::Rule, "Statement", REASON_INVALID_REFERENCE));
        }
        (None, Some(_)) if !is_group => {
            return Err(fail(
                F::OverrideAction,
                "OverrideAction",
                REASON_INVALID_REFERENCE,
            ));
        }
        _ => {}
    }
    if let Some(a) = &rule.action {
        action::rule_action(a, ctx)?;
        // "You can use any rule action except Allow" [doc: AWS guide, rate limiting requests].
        if matches!(rule.statement, Statement::RateBased(_)) {
            ensure(
                !matches!(a, RuleAction::Allow(_)),
                F::RuleAction,
                "Allow",
                REASON_INVALID_COMBINATION,
            )?;
        }
    }
    if let Some(labels) = &rule.rule_labels {
        ensure(
            !is_group || labels.is_empty(),
            F::Rule,
            "RuleLabels",
            REASON_INVALID_COMBINATION,
        )?;
        for l in labels {
            rule_label(F::Rule, &l.name)?;
        }
    }
    metric_name(&rule.visibility_config.metric_name)?;
    if let Some(c) = &rule.captcha_config {
        immunity(F::Rule, c.immunity_time_property.as_ref(), 60)?;
    }
    if let Some(c) = &rule.challenge_config {
        immunity(F::ChallengeConfig, c.immunity_time_property.as_ref(), 300)?;
    }
    statement::statement(&rule.statement, statement::Place::TOP, ctx)
}

fn uuid(field: F, s: &str) -> Check {
    let b = s.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        });
    ensure(ok, field, s, REASON_INVALID_FORMAT)
}

fn immunity(field: F, p: Option<&ImmunityTimeProperty>, min: i64) -> Check {
    match p {
        Some(p) => range(field, p.immunity_time, min, 259_200),
        None => Ok(()),
    }
}

fn custom_response_bodies(b: Option<&BTreeMap<String, CustomResponseBody>>) -> Check {
    let Some(b) = b else { return Ok(()) };
    ensure(
        !b.is_empty(),
        F::CustomResponseBody,
        "CustomResponseBodies",
        REASON_INVALID_LENGTH,
    )?;
    for (k, v) in b {
        entity_name(F::CustomResponseBody, k)?;
        ensure(
            (1..=10_240).contains(&char_len(&v.content)),
            F::CustomResponseBody,
            k.as_str(),
            REASON_INVALID_LENGTH,
        )?;
    }
    Ok(())
}

fn association_config(a: &AssociationConfig, scope: Scope) -> Check {
    for (ty, cfg) in a.request_body.iter().flatten() {
        let cloudfront_type = *ty == AssociatedResourceType::Cloudfront;
        ensure(
            cloudfront_type == (scope == Scope::Cloudfront),
            F::AssociatedResourceType,
            ty.as_str(),
            REASON_INVALID_COMBINATION,
        )?;
        ensure(
            cfg.default_size_inspection_limit != SizeInspectionLimit::Kb8
                || *ty == AssociatedResourceType::ApplicationLoadBalancer,
            F::AssociatedResourceType,
            cfg.default_size_inspection_limit.as_str(),
            REASON_INVALID_COMBINATION,
        )?;
    }
    if let Some(m) = &a.challenge_javascript_sdk_injection {
        ensure(
            !m.is_empty(),
            F::ChallengeJavascriptSdkInjectionConfig,
            "ChallengeJavascriptSdkInjection",
            REASON_INVALID_LENGTH,
        )?;
        for ty in m.keys() {
            ensure(
                *ty == AssociatedResourceType::Cloudfront,
                F::ChallengeJavascriptSdkInjectionConfig,
                ty.as_str(),
                REASON_INVALID_COMBINATION,
            )?;
        }
    }
    Ok(())
}

fn data_protection(d: &DataProtectionConfig) -> Check {
    count(
        F::DataProtectionConfig,
        "DataProtections",
        &d.data_protections,
        1,
        26,
    )?;
    for p in &d.data_protections {
        let keys = p.field.field_keys.as_deref().unwrap_or(&[]);
        count(F::DataProtectionConfig, "FieldKeys", keys, 0, 100)?;
        for k in keys {
            field_data(F::DataProtectionConfig, k, 64)?;
        }
        let needs_keys = matches!(
            p.field.field_type,
            FieldToProtectType::SingleHeader
                | FieldToProtectType::SingleCookie
                | FieldToProtectType::SingleQueryArgument
        );
        ensure(
            needs_keys != keys.is_empty(),
            F::DataProtectionConfig,
            p.field.field_type.as_str(),
            if needs_keys {
                REASON_MISSING
            } else {
                REASON_INVALID_COMBINATION
            },
        )?;
    }
    Ok(())
}

/// Check a `RuleGroupReferenceStatement` against the customer rule group it names: AWS rejects
/// `ExcludedRules` and `RuleActionOverrides` that name rules the group does not have (names are
/// case-sensitive). Managed groups silently ignore unknown names, so they are not checked.
pub fn validate_group_overrides(r: &RuleGroupReferenceStatement, group: &RuleGroup) -> Check {
    let known = |name: &str| group.rules().iter().any(|rule| rule.name == name);
    for e in r.excluded_rules.as_deref().unwrap_or(&[]) {
        ensure(
            known(&e.name),
            F::ExcludedRule,
            e.name.as_str(),
            REASON_INVALID_REFERENCE,
        )?;
    }
    for o in r.rule_action_overrides.as_deref().unwrap_or(&[]) {
        ensure(
            known(&o.name),
            F::RuleAction,
            o.name.as_str(),
            REASON_INVALID_REFERENCE,
        )?;
    }
    Ok(())
}
