//! Rule, action and rule-group compilation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use portcullis_waf_model as m;

use crate::acl::Resources;
use crate::error::CompileError;
use crate::labels::{account_of_arn, rulegroup_namespace};
use crate::managed::ManagedGroupConfig;
use crate::plan::{ExternalGroup, InlineGroup, PlainRule, PlanRule, ResolvedAction, Stmt};
use crate::verdict::{ActionKind, BlockResponse, ResponseBody, RuleType};

use super::Builder;
use super::stmt::StmtCx;

type Bodies = BTreeMap<String, m::CustomResponseBody>;

/// Web-ACL-wide settings the rule compiler needs.
pub(crate) struct AclCx<'a> {
    pub res: &'a Resources,
    /// Unique id of the web ACL (its ARN, or name), prefix of rate-counter keys.
    pub acl_id: String,
    /// The web ACL's `CustomResponseBodies`.
    pub bodies: Option<&'a Bodies>,
    /// ACL-level CAPTCHA immunity (seconds).
    pub captcha_s: u64,
    /// ACL-level challenge immunity (seconds).
    pub challenge_s: u64,
    /// The web ACL's label namespace.
    pub namespace: Arc<str>,
    /// The account owning the web ACL (for rule groups without a `LabelNamespace`).
    pub account: String,
}

fn headers(h: Option<&m::CustomRequestHandling>) -> Arc<[(String, String)]> {
    h.map(|h| {
        h.insert_headers
            .iter()
            .map(|x| (format!("x-amzn-waf-{}", x.name), x.value.clone()))
            .collect::<Vec<_>>()
    })
    .unwrap_or_default()
    .into()
}

fn block(
    rule: &str,
    b: &m::BlockAction,
    bodies: Option<&Bodies>,
) -> Result<Arc<BlockResponse>, CompileError> {
    let Some(cr) = &b.custom_response else {
        return Ok(Arc::new(BlockResponse::default()));
    };
    let body = match &cr.custom_response_body_key {
        None => None,
        Some(key) => {
            let found = bodies.and_then(|b| b.get(key)).ok_or_else(|| {
                CompileError::UnknownResponseBody {
                    rule: rule.to_owned(),
                    key: key.clone(),
                }
            })?;
            Some(ResponseBody {
                content_type: found.content_type.mime().to_owned(),
                content: found.content.clone(),
            })
        }
    };
    Ok(Arc::new(BlockResponse {
        status: u16::try_from(cr.response_code).unwrap_or(403),
        headers: cr
            .response_headers
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect(),
        body,
    }))
}

/// Resolves a rule action (custom response bodies looked up in `bodies`). `Monetize` becomes a 402 block.
pub(crate) fn resolve_action(
    rule: &str,
    a: &m::RuleAction,
    bodies: Option<&Bodies>,
) -> Result<ResolvedAction, CompileError> {
    let with = |kind, h: Option<&m::CustomRequestHandling>| ResolvedAction {
        kind,
        block: None,
        insert_headers: headers(h),
    };
    Ok(match a {
        m::RuleAction::Block(b) => ResolvedAction {
            kind: ActionKind::Block,
            block: Some(block(rule, b, bodies)?),
            insert_headers: Arc::from(Vec::new()),
        },
        m::RuleAction::Allow(x) => with(ActionKind::Allow, x.custom_request_handling.as_ref()),
        m::RuleAction::Count(x) => with(ActionKind::Count, x.custom_request_handling.as_ref()),
        m::RuleAction::Captcha(x) => with(ActionKind::Captcha, x.custom_request_handling.as_ref()),
        m::RuleAction::Challenge(x) => {
            with(ActionKind::Challenge, x.custom_request_handling.as_ref())
        }
        m::RuleAction::Monetize(_) => ResolvedAction {
            kind: ActionKind::Block,
            block: Some(Arc::new(BlockResponse {
                status: 402,
                ..BlockResponse::default()
            })),
            insert_headers: Arc::from(Vec::new()),
        },
    })
}

/// Resolves the web ACL's `DefaultAction`.
pub(crate) fn resolve_default(
    d: &m::DefaultAction,
    bodies: Option<&Bodies>,
) -> Result<ResolvedAction, CompileError> {
    match d {
        m::DefaultAction::Block(b) => Ok(ResolvedAction {
            kind: ActionKind::Block,
            block: Some(block("DefaultAction", b, bodies)?),
            insert_headers: Arc::from(Vec::new()),
        }),
        m::DefaultAction::Allow(a) => Ok(ResolvedAction {
            kind: ActionKind::Allow,
            block: None,
            insert_headers: headers(a.custom_request_handling.as_ref()),
        }),
    }
}

fn immunity(p: Option<&m::ImmunityTimeProperty>, default: u64) -> u64 {
    p.and_then(|p| u64::try_from(p.immunity_time).ok())
        .unwrap_or(default)
}

pub(crate) fn acl_immunity(
    c: Option<&m::CaptchaConfig>,
    h: Option<&m::ChallengeConfig>,
) -> (u64, u64) {
    let d = u64::try_from(m::DEFAULT_IMMUNITY_TIME_SEC).unwrap_or(300);
    (
        immunity(c.and_then(|c| c.immunity_time_property.as_ref()), d),
        immunity(h.and_then(|c| c.immunity_time_property.as_ref()), d),
    )
}

fn sorted(rules: &[m::Rule]) -> Vec<&m::Rule> {
    let mut v: Vec<&m::Rule> = rules.iter().collect();
    v.sort_by_key(|r| r.priority);
    v
}

/// Compiles a rule whose statement is not a group reference.
fn plain_rule(
    b: &mut Builder,
    acx: &AclCx<'_>,
    rule: &m::Rule,
    namespace: &Arc<str>,
    bodies: Option<&Bodies>,
    rule_id: &str,
    group_type: Option<RuleType>,
) -> Result<PlainRule, CompileError> {
    let cx = StmtCx {
        acl: acx,
        rule: &rule.name,
        namespace,
        rule_id,
    };
    let stmt = b.stmt(&cx, &rule.statement)?;
    let action = rule
        .action
        .as_ref()
        .ok_or_else(|| CompileError::Unsupported {
            rule: rule.name.clone(),
            reason: "a rule without a rule-group statement needs an Action".to_owned(),
        })?;
    let rule_type = group_type.unwrap_or(if matches!(stmt, Stmt::Rate(_)) {
        RuleType::RateBased
    } else {
        RuleType::Regular
    });
    Ok(PlainRule {
        name: Arc::from(rule.name.as_str()),
        stmt,
        action: resolve_action(&rule.name, action, bodies)?,
        overridden: None,
        excluded: false,
        labels: rule
            .rule_labels
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|l| Arc::from(format!("{namespace}{}", l.name)))
            .collect(),
        captcha_immunity_s: immunity(
            rule.captcha_config
                .as_ref()
                .and_then(|c| c.immunity_time_property.as_ref()),
            acx.captcha_s,
        ),
        challenge_immunity_s: immunity(
            rule.challenge_config
                .as_ref()
                .and_then(|c| c.immunity_time_property.as_ref()),
            acx.challenge_s,
        ),
        rule_type,
    })
}

/// Overrides and exclusions of a group reference.
struct Overrides {
    actions: HashMap<String, ResolvedAction>,
    excluded: HashSet<String>,
}

fn overrides(
    acx: &AclCx<'_>,
    outer: &str,
    over: Option<&[m::RuleActionOverride]>,
    excl: Option<&[m::ExcludedRule]>,
) -> Result<Overrides, CompileError> {
    let mut actions = HashMap::new();
    for o in over.unwrap_or(&[]) {
        actions.insert(
            o.name.clone(),
            resolve_action(outer, &o.action_to_use, acx.bodies)?,
        );
    }
    Ok(Overrides {
        actions,
        excluded: excl.unwrap_or(&[]).iter().map(|e| e.name.clone()).collect(),
    })
}

/// Compiles the rules of a rule group (in priority order) with the reference's overrides applied.
#[allow(clippy::too_many_arguments)]
fn group_rules(
    b: &mut Builder,
    acx: &AclCx<'_>,
    outer: &str,
    group_name: &str,
    rules: &[m::Rule],
    namespace: &Arc<str>,
    bodies: Option<&Bodies>,
    ov: &Overrides,
    strict: bool,
    rule_type: RuleType,
) -> Result<Vec<PlainRule>, CompileError> {
    if strict {
        for name in ov.actions.keys().chain(ov.excluded.iter()) {
            if !rules.iter().any(|r| &r.name == name) {
                return Err(CompileError::UnknownGroupRule {
                    rule: outer.to_owned(),
                    group: group_name.to_owned(),
                    name: name.clone(),
                });
            }
        }
    }
    let mut out = Vec::new();
    for r in sorted(rules) {
        if matches!(
            r.statement,
            m::Statement::ManagedRuleGroup(_) | m::Statement::RuleGroupReference(_)
        ) {
            return Err(CompileError::GroupNesting {
                arn: group_name.to_owned(),
            });
        }
        let rule_id = format!("{}\0{outer}\0{}", acx.acl_id, r.name);
        let mut pr = plain_rule(b, acx, r, namespace, bodies, &rule_id, Some(rule_type))?;
        if let Some(a) = ov.actions.get(&r.name) {
            pr.overridden = Some(pr.action.kind);
            pr.action = a.clone();
        } else if ov.excluded.contains(&r.name) {
            pr.overridden = Some(pr.action.kind);
            pr.action = ResolvedAction::plain(ActionKind::Count);
            pr.excluded = true;
        }
        out.push(pr);
    }
    Ok(out)
}

/// Compiles one web ACL rule (or Firewall Manager group).
fn acl_rule(b: &mut Builder, acx: &AclCx<'_>, rule: &m::Rule) -> Result<PlanRule, CompileError> {
    let override_count = matches!(rule.override_action, Some(m::OverrideAction::Count(_)));
    let outer: Arc<str> = Arc::from(rule.name.as_str());
    let acl_cx = StmtCx {
        acl: acx,
        rule: &rule.name,
        namespace: &acx.namespace,
        rule_id: &format!("{}\0{}", acx.acl_id, rule.name),
    };
    match &rule.statement {
        m::Statement::RuleGroupReference(r) => {
            let group =
                acx.res
                    .rule_groups
                    .get(&r.arn)
                    .ok_or_else(|| CompileError::UnknownRuleGroup {
                        rule: rule.name.clone(),
                        arn: r.arn.clone(),
                    })?;
            let ns: Arc<str> = Arc::from(group.label_namespace.clone().unwrap_or_else(|| {
                rulegroup_namespace(
                    account_of_arn(&group.arn).unwrap_or(&acx.account),
                    &group.name,
                )
            }));
            let ov = overrides(
                acx,
                &rule.name,
                r.rule_action_overrides.as_deref(),
                r.excluded_rules.as_deref(),
            )?;
            let rules = group_rules(
                b,
                acx,
                &rule.name,
                &group.name,
                group.rules(),
                &ns,
                group.custom_response_bodies.as_ref(),
                &ov,
                true,
                RuleType::Group,
            )?;
            Ok(PlanRule::Group(InlineGroup {
                name: outer,
                scope_down: None,
                override_count,
                rules,
            }))
        }
        m::Statement::ManagedRuleGroup(mg) => {
            let key = (mg.vendor_name.clone(), mg.name.clone());
            let group = acx.res.managed_groups.get(&key).ok_or_else(|| {
                CompileError::UnknownManagedGroup {
                    rule: rule.name.clone(),
                    vendor: mg.vendor_name.clone(),
                    name: mg.name.clone(),
                }
            })?;
            let scope_down = match &mg.scope_down_statement {
                Some(s) => Some(b.stmt(&acl_cx, s)?),
                None => None,
            };
            let ov = overrides(
                acx,
                &rule.name,
                mg.rule_action_overrides.as_deref(),
                mg.excluded_rules.as_deref(),
            )?;
            if let Some(rg) = group.rule_group() {
                let ns: Arc<str> = Arc::from(group.label_namespace());
                let rules = group_rules(
                    b,
                    acx,
                    &rule.name,
                    &rg.name,
                    rg.rules(),
                    &ns,
                    rg.custom_response_bodies.as_ref(),
                    &ov,
                    false,
                    RuleType::ManagedRuleGroup,
                )?;
                return Ok(PlanRule::Group(InlineGroup {
                    name: outer,
                    scope_down,
                    override_count,
                    rules,
                }));
            }
            // The referencing rule's CaptchaConfig/ChallengeConfig override the web ACL's.
            let captcha_immunity_s = immunity(
                rule.captcha_config
                    .as_ref()
                    .and_then(|c| c.immunity_time_property.as_ref()),
                acx.captcha_s,
            );
            let challenge_immunity_s = immunity(
                rule.challenge_config
                    .as_ref()
                    .and_then(|c| c.immunity_time_property.as_ref()),
                acx.challenge_s,
            );
            Ok(PlanRule::External(ExternalGroup {
                name: outer,
                scope_down,
                override_count,
                group: group.clone(),
                config: ManagedGroupConfig {
                    vendor: mg.vendor_name.clone(),
                    name: mg.name.clone(),
                    version: mg.version.clone(),
                    overrides: ov.actions,
                    excluded: ov.excluded,
                    settings: mg
                        .managed_rule_group_configs
                        .as_deref()
                        .unwrap_or(&[])
                        .iter()
                        .map(|c| serde_json::to_value(c).unwrap_or(serde_json::Value::Null))
                        .collect(),
                },
                captcha_immunity_s,
                challenge_immunity_s,
            }))
        }
        _ => Ok(PlanRule::Plain(plain_rule(
            b,
            acx,
            rule,
            &acx.namespace,
            acx.bodies,
            acl_cx.rule_id,
            None,
        )?)),
    }
}

/// Compiles a web ACL's rules: Firewall Manager pre-process groups, the rules by priority, post-process groups.
pub(crate) fn compile_rules(
    b: &mut Builder,
    acx: &AclCx<'_>,
    acl: &m::WebAcl,
) -> Result<Vec<PlanRule>, CompileError> {
    let fms = |groups: Option<&[m::FirewallManagerRuleGroup]>| -> Vec<m::Rule> {
        let mut v: Vec<m::Rule> = groups
            .unwrap_or(&[])
            .iter()
            .map(|g| m::Rule {
                name: g.name.clone(),
                priority: g.priority,
                statement: match &g.firewall_manager_statement {
                    m::FirewallManagerStatement::ManagedRuleGroup(s) => {
                        m::Statement::ManagedRuleGroup(s.clone())
                    }
                    m::FirewallManagerStatement::RuleGroupReference(s) => {
                        m::Statement::RuleGroupReference(s.clone())
                    }
                },
                action: None,
                override_action: Some(g.override_action.clone()),
                rule_labels: None,
                visibility_config: g.visibility_config.clone(),
                captcha_config: None,
                challenge_config: None,
            })
            .collect();
        v.sort_by_key(|r| r.priority);
        v
    };
    let pre = fms(acl.pre_process_firewall_manager_rule_groups.as_deref());
    let post = fms(acl.post_process_firewall_manager_rule_groups.as_deref());
    let mut out = Vec::new();
    for r in pre.iter().chain(sorted(acl.rules())).chain(post.iter()) {
        out.push(acl_rule(b, acx, r)?);
    }
    Ok(out)
}

/// Compiles a rule group on its own (for [`crate::RuleGroupManaged`]).
pub(crate) fn compile_group_rules(
    b: &mut Builder,
    acx: &AclCx<'_>,
    group: &m::RuleGroup,
) -> Result<Vec<PlainRule>, CompileError> {
    let ov = Overrides {
        actions: HashMap::new(),
        excluded: HashSet::new(),
    };
    group_rules(
        b,
        acx,
        &group.name,
        &group.name,
        group.rules(),
        &acx.namespace,
        group.custom_response_bodies.as_ref(),
        &ov,
        false,
        RuleType::ManagedRuleGroup,
    )
}
