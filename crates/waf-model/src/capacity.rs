//! Capacity (WCU) computation, as AWS `CheckCapacity` reports it.
//!
//! Costs are the ones the AWS developer guide publishes per statement [doc: "Using match rule statements",
//! "Rate-based rule statement", "Logical rule statements", "Rule group rule statements"]:
//!
//! | Statement | Base WCU |
//! |---|---|
//! | `ByteMatchStatement` | 2 for `EXACTLY`/`STARTS_WITH`/`ENDS_WITH`, 10 for `CONTAINS`/`CONTAINS_WORD` |
//! | `SqliMatchStatement` | 20 (`LOW`, the default), 30 (`HIGH`) |
//! | `XssMatchStatement` | 40 \[unverified: the guide page was not re-read\] |
//! | `SizeConstraintStatement` | 1 |
//! | `RegexMatchStatement` | 3 |
//! | `RegexPatternSetReferenceStatement` | 25 per pattern set |
//! | `GeoMatchStatement`, `LabelMatchStatement`, `AsnMatchStatement` | 1 |
//! | `IPSetReferenceStatement` | 1; 5 with a forwarded-IP header at position `ANY` |
//! | `And`/`Or`/`Not` | the sum of the nested statements |
//! | `RateBasedStatement` | 2, plus 30 per custom aggregation key, plus the scope-down statement |
//! | `ManagedRuleGroupStatement` | the group's capacity, plus the scope-down statement |
//! | `RuleGroupReferenceStatement` | the group's declared capacity |
//!
//! For statements that inspect a component: +10 when the component is `AllQueryArguments`, the base cost
//! doubled when it is `JsonBody`, and +10 for each text transformation. A `NONE` transformation transforms
//! nothing and costs nothing (a plain exact-match string rule is the documented 2 WCU). Pre-parse text
//! transformations are charged like text transformations \[unverified: AWS does not document them\].
//!
//! AWS has been observed to charge a (component, transformation) pair only once per rule or web ACL
//! \[doc: third-party blog measuring CheckCapacity\]; the developer guide says "for each", which is what this
//! module implements, so totals here can be higher than AWS's for rules that repeat a transformation.

use crate::error::ModelError;
use crate::model::*;
use crate::validate::check::REASON_CAPACITY;
use crate::validate::{ParameterExceptionField, ValidationError};

/// The capacities of the groups a rule list references.
pub trait CapacityResolver {
    /// Declared `Capacity` of the account's rule group with this ARN, if it exists.
    fn rule_group(&self, arn: &str) -> Option<u64>;
    /// Capacity of a vendor's managed rule group (`version` `None` = default version), if it exists.
    fn managed_group(&self, vendor: &str, name: &str, version: Option<&str>) -> Option<u64>;
}

/// The largest web ACL capacity AWS allows without a support request \[doc: AWS what's-new 2023-04-11\].
pub const MAX_WEB_ACL_CAPACITY: u64 = 5000;
/// The web ACL capacity included in the base price; above it AWS charges per 500 WCU.
pub const DEFAULT_WEB_ACL_CAPACITY: u64 = 1500;

/// Capacities of AWS managed rule groups (vendor `AWS`). CommonRuleSet, SQLiRuleSet and
/// AmazonIpReputationList are \[doc\]; the others are \[unverified\] (reference §1.13).
pub const AWS_MANAGED_CAPACITIES: &[(&str, u64)] = &[
    ("AWSManagedRulesCommonRuleSet", 700),
    ("AWSManagedRulesSQLiRuleSet", 200),
    ("AWSManagedRulesAmazonIpReputationList", 25),
    ("AWSManagedRulesAdminProtectionRuleSet", 100),
    ("AWSManagedRulesKnownBadInputsRuleSet", 200),
    ("AWSManagedRulesLinuxRuleSet", 200),
    ("AWSManagedRulesUnixRuleSet", 100),
    ("AWSManagedRulesWindowsRuleSet", 200),
    ("AWSManagedRulesPHPRuleSet", 100),
    ("AWSManagedRulesWordPressRuleSet", 100),
    ("AWSManagedRulesAnonymousIpList", 50),
    ("AWSManagedRulesBotControlRuleSet", 50),
    ("AWSManagedRulesATPRuleSet", 50),
    ("AWSManagedRulesACFPRuleSet", 50),
];

/// A resolver that knows only the AWS managed groups of [`AWS_MANAGED_CAPACITIES`] and no rule groups.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsManagedOnly;

impl CapacityResolver for AwsManagedOnly {
    fn rule_group(&self, _arn: &str) -> Option<u64> {
        None
    }
    fn managed_group(&self, vendor: &str, name: &str, _version: Option<&str>) -> Option<u64> {
        aws_managed_capacity(vendor, name)
    }
}

/// Capacity of an AWS managed group from [`AWS_MANAGED_CAPACITIES`].
pub fn aws_managed_capacity(vendor: &str, name: &str) -> Option<u64> {
    if vendor != "AWS" {
        return None;
    }
    AWS_MANAGED_CAPACITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// Total capacity of a web ACL's rules (Firewall Manager groups are not counted, as at AWS).
pub fn web_acl_capacity(acl: &WebAcl, resolver: &dyn CapacityResolver) -> Result<u64, ModelError> {
    rules_capacity(acl.rules(), resolver)
}

/// Capacity of the rules of a rule group (compare with its declared `Capacity`).
pub fn rule_group_capacity(
    rg: &RuleGroup,
    resolver: &dyn CapacityResolver,
) -> Result<u64, ModelError> {
    rules_capacity(rg.rules(), resolver)
}

/// `CheckCapacity`: the capacity of a rule list.
pub fn rules_capacity(rules: &[Rule], resolver: &dyn CapacityResolver) -> Result<u64, ModelError> {
    rules.iter().try_fold(0u64, |acc, r| {
        Ok(acc.saturating_add(rule_capacity(r, resolver)?))
    })
}

/// Capacity of one rule.
pub fn rule_capacity(rule: &Rule, resolver: &dyn CapacityResolver) -> Result<u64, ModelError> {
    statement_capacity(&rule.statement, resolver)
}

/// Capacity of one statement, nested statements included.
pub fn statement_capacity(
    s: &Statement,
    resolver: &dyn CapacityResolver,
) -> Result<u64, ModelError> {
    Ok(match s {
        Statement::ByteMatch(b) => {
            let base = match b.positional_constraint {
                PositionalConstraint::Exactly
                | PositionalConstraint::StartsWith
                | PositionalConstraint::EndsWith => 2,
                PositionalConstraint::Contains | PositionalConstraint::ContainsWord => 10,
            };
            inspecting(
                base,
                &b.field_to_match,
                &b.text_transformations,
                b.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::SqliMatch(x) => {
            let base = match x.sensitivity_level {
                Some(SensitivityLevel::High) => 30,
                Some(SensitivityLevel::Low) | None => 20,
            };
            inspecting(
                base,
                &x.field_to_match,
                &x.text_transformations,
                x.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::XssMatch(x) => inspecting(
            40,
            &x.field_to_match,
            &x.text_transformations,
            x.pre_parse_text_transformations.as_deref(),
        ),
        Statement::SizeConstraint(x) => inspecting(
            1,
            &x.field_to_match,
            &x.text_transformations,
            x.pre_parse_text_transformations.as_deref(),
        ),
        Statement::RegexMatch(x) => inspecting(
            3,
            &x.field_to_match,
            &x.text_transformations,
            x.pre_parse_text_transformations.as_deref(),
        ),
        Statement::RegexPatternSetReference(x) => inspecting(
            25,
            &x.field_to_match,
            &x.text_transformations,
            x.pre_parse_text_transformations.as_deref(),
        ),
        Statement::GeoMatch(_) | Statement::LabelMatch(_) | Statement::AsnMatch(_) => 1,
        Statement::IpSetReference(x) => match &x.ip_set_forwarded_ip_config {
            Some(c) if c.position == ForwardedIpPosition::Any => 5,
            _ => 1,
        },
        Statement::And(a) => sum(&a.statements, resolver)?,
        Statement::Or(o) => sum(&o.statements, resolver)?,
        Statement::Not(n) => statement_capacity(&n.statement, resolver)?,
        Statement::RateBased(r) => {
            let keys = r.custom_keys.as_ref().map_or(0, Vec::len) as u64;
            let scope = match &r.scope_down_statement {
                Some(s) => statement_capacity(s, resolver)?,
                None => 0,
            };
            2u64.saturating_add(keys.saturating_mul(30))
                .saturating_add(scope)
        }
        Statement::ManagedRuleGroup(m) => {
            let group = resolver
                .managed_group(&m.vendor_name, &m.name, m.version.as_deref())
                .ok_or_else(|| ModelError::UnknownManagedRuleGroup {
                    vendor: m.vendor_name.clone(),
                    name: m.name.clone(),
                })?;
            let scope = match &m.scope_down_statement {
                Some(s) => statement_capacity(s, resolver)?,
                None => 0,
            };
            group.saturating_add(scope)
        }
        Statement::RuleGroupReference(r) => resolver
            .rule_group(&r.arn)
            .ok_or_else(|| ModelError::UnknownRuleGroup { arn: r.arn.clone() })?,
    })
}

fn sum(statements: &[Statement], resolver: &dyn CapacityResolver) -> Result<u64, ModelError> {
    statements.iter().try_fold(0u64, |acc, s| {
        Ok(acc.saturating_add(statement_capacity(s, resolver)?))
    })
}

fn inspecting(
    base: u64,
    field: &FieldToMatch,
    tts: &[TextTransformation],
    pre: Option<&[PreParseTextTransformation]>,
) -> u64 {
    let component = match field {
        FieldToMatch::AllQueryArguments => base.saturating_add(10),
        FieldToMatch::JsonBody(_) => base.saturating_mul(2),
        _ => base,
    };
    let charged = tts
        .iter()
        .filter(|t| t.r#type != TextTransformationType::None)
        .count()
        .saturating_add(
            pre.unwrap_or(&[])
                .iter()
                .filter(|t| t.r#type != PreParseTextTransformationType::None)
                .count(),
        ) as u64;
    component.saturating_add(charged.saturating_mul(10))
}

/// Check that a web ACL fits in `limit` WCU (AWS: [`MAX_WEB_ACL_CAPACITY`]); returns its capacity.
pub fn check_web_acl_capacity(
    acl: &WebAcl,
    resolver: &dyn CapacityResolver,
    limit: u64,
) -> Result<u64, ModelError> {
    let used = web_acl_capacity(acl, resolver)?;
    if used > limit {
        return Err(ModelError::Invalid(ValidationError::new(
            ParameterExceptionField::WebAcl,
            used.to_string(),
            REASON_CAPACITY,
        )));
    }
    Ok(used)
}

/// Check that a rule group's rules fit in its declared `Capacity`; returns the rules' capacity.
pub fn check_rule_group_capacity(
    rg: &RuleGroup,
    resolver: &dyn CapacityResolver,
) -> Result<u64, ModelError> {
    let used = rule_group_capacity(rg, resolver)?;
    let declared = u64::try_from(rg.capacity).unwrap_or(0);
    if used > declared {
        return Err(ModelError::Invalid(ValidationError::new(
            ParameterExceptionField::RuleGroup,
            used.to_string(),
            REASON_CAPACITY,
        )));
    }
    Ok(used)
}
