//! Managed rule groups: the plug-in point for rule groups the web ACL references by vendor and name
//! (`ManagedRuleGroupStatement`), such as the OWASP CRS engine or our own JSON-defined groups.
//!
//! A group defined as a [`waf_model::RuleGroup`] (the common case) should be registered with
//! [`RuleGroupManaged`](crate::RuleGroupManaged): the compiler then inlines its rules into the web ACL's plan, so
//! they share the per-request field cache and the merged matchers. Other engines implement
//! [`ManagedGroup::evaluate`].

use std::collections::{HashMap, HashSet};

use portcullis_waf_model as waf_model;
use portcullis_waf_request::Request;

use crate::env::EvalEnv;
use crate::plan::ResolvedAction;
use crate::verdict::ActionKind;

/// How a web ACL rule configures a managed group: overrides, exclusions and the group's own settings.
#[derive(Debug, Clone, Default)]
pub struct ManagedGroupConfig {
    /// `VendorName`.
    pub vendor: String,
    /// `Name`.
    pub name: String,
    /// `Version`, if pinned.
    pub version: Option<String>,
    /// `RuleActionOverrides`: inner rule name → the action to use instead.
    pub overrides: HashMap<String, ResolvedAction>,
    /// `ExcludedRules` (deprecated): inner rules whose action becomes Count.
    pub excluded: HashSet<String>,
    /// `ManagedRuleGroupConfigs`, as JSON, for groups that take settings (ATP login path, …).
    pub settings: Vec<serde_json::Value>,
}

impl ManagedGroupConfig {
    /// The action to apply for inner rule `rule` whose own action is `own`: the override, Count when the rule
    /// is excluded, else `own`. Also returns the replaced kind (when changed) and whether it was an exclusion.
    pub fn effective(
        &self,
        rule: &str,
        own: &ResolvedAction,
    ) -> (ResolvedAction, Option<ActionKind>, bool) {
        if let Some(o) = self.overrides.get(rule) {
            return (o.clone(), Some(own.kind), false);
        }
        if self.excluded.contains(rule) {
            return (
                ResolvedAction::plain(ActionKind::Count),
                Some(own.kind),
                true,
            );
        }
        (own.clone(), None, false)
    }

    /// True when inner rule `rule` with own action `own` ends the group's evaluation once it matches
    /// (Captcha/Challenge count as terminating here; the engine decides with the token).
    pub fn terminates(&self, rule: &str, own: ActionKind) -> bool {
        let kind =
            self.overrides
                .get(rule)
                .map(|a| a.kind)
                .unwrap_or(if self.excluded.contains(rule) {
                    ActionKind::Count
                } else {
                    own
                });
        kind != ActionKind::Count
    }
}

/// One matching rule reported by a managed group.
#[derive(Debug, Clone)]
pub struct GroupMatch {
    /// The inner rule's name (what `RuleActionOverrides` refer to).
    pub rule: String,
    /// The rule's own action (before the web ACL's overrides, which the engine applies).
    pub action: ResolvedAction,
    /// Labels the rule adds, fully qualified (`awswaf:managed:<vendor>:<namespace>:<name>`).
    pub labels: Vec<String>,
    /// What the rule's SQL injection and XSS statements found (`ruleMatchDetails`; may be empty).
    pub match_details: Vec<crate::verdict::MatchDetail>,
}

/// What a managed group found, in evaluation order.
#[derive(Debug, Clone, Default)]
pub struct GroupOutcome {
    /// The matching rules, in the order the group evaluated them. The group may stop after the first match for
    /// which [`ManagedGroupConfig::terminates`] is true; the engine ignores anything after it.
    pub matches: Vec<GroupMatch>,
}

/// A rule group the web ACL can reference with `ManagedRuleGroupStatement`.
pub trait ManagedGroup: Send + Sync {
    /// The label namespace of the group, e.g. `awswaf:managed:aws:sql-database:`.
    fn label_namespace(&self) -> &str;

    /// The names of the group's rules (used to check overrides and for `DescribeManagedRuleGroup`).
    fn rule_names(&self) -> Vec<String>;

    /// Evaluates the request. `cfg` carries the web ACL's overrides so the group knows which matches end it.
    fn evaluate(&self, req: &Request, cfg: &ManagedGroupConfig, env: &EvalEnv<'_>) -> GroupOutcome;

    /// Like [`ManagedGroup::evaluate`], with the fully qualified labels that earlier rules added (for groups that
    /// contain `LabelMatchStatement`s). The default ignores them.
    fn evaluate_with_labels(
        &self,
        req: &Request,
        cfg: &ManagedGroupConfig,
        env: &EvalEnv<'_>,
        labels: &[String],
    ) -> GroupOutcome {
        let _ = labels;
        self.evaluate(req, cfg, env)
    }

    /// When the group is a plain WAFv2 rule group, the compiler inlines it into the web ACL's plan.
    fn rule_group(&self) -> Option<&waf_model::RuleGroup> {
        None
    }
}
