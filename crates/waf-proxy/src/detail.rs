//! What an inspection tells the proxy besides the [`crate::Decision`]: the web ACL, the rule that decided, the
//! rules that matched without deciding, labels and inserted headers. Logs ([`crate::logging`]), sampled requests
//! ([`crate::samples`]) and metrics (the `metrics` module) are built from it.
//!
//! Per-ACL and per-rule facts that never change between requests ([`AclMeta`], [`RuleMeta`]) are computed once
//! when the inspector is built and shared by `Arc`, so a request only pays for its own matches.

use std::sync::Arc;

/// The action names WAF logs, samples and metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WafAction {
    /// `ALLOW`.
    Allow,
    /// `BLOCK`.
    Block,
    /// `COUNT`.
    Count,
    /// `CAPTCHA`.
    Captcha,
    /// `CHALLENGE`.
    Challenge,
}

impl WafAction {
    /// The upper-case name used in logs and sampled requests (`ALLOW`, `BLOCK`, ...).
    pub fn log_name(self) -> &'static str {
        match self {
            WafAction::Allow => "ALLOW",
            WafAction::Block => "BLOCK",
            WafAction::Count => "COUNT",
            WafAction::Captcha => "CAPTCHA",
            WafAction::Challenge => "CHALLENGE",
        }
    }

    /// The lower-case value of the `action` metric label (`allowed`, `blocked`, `counted`, `captcha`,
    /// `challenge`), after CloudWatch's `AllowedRequests`, `BlockedRequests`, ...
    pub fn metric_name(self) -> &'static str {
        match self {
            WafAction::Allow => "allowed",
            WafAction::Block => "blocked",
            WafAction::Count => "counted",
            WafAction::Captcha => "captcha",
            WafAction::Challenge => "challenge",
        }
    }
}

impl From<portcullis_waf_core::ActionKind> for WafAction {
    fn from(k: portcullis_waf_core::ActionKind) -> Self {
        use portcullis_waf_core::ActionKind as K;
        match k {
            K::Allow => WafAction::Allow,
            K::Block => WafAction::Block,
            K::Count => WafAction::Count,
            K::Captcha => WafAction::Captcha,
            K::Challenge => WafAction::Challenge,
        }
    }
}

/// The kind of a web ACL rule, as the log field `terminatingRuleType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `REGULAR`: a plain statement.
    Regular,
    /// `RATE_BASED`: a `RateBasedStatement`.
    RateBased,
    /// `MANAGED_RULE_GROUP`: a `ManagedRuleGroupStatement`.
    ManagedRuleGroup,
    /// `GROUP`: a `RuleGroupReferenceStatement` (the account's own group).
    Group,
}

impl RuleKind {
    /// The log name.
    pub fn log_name(self) -> &'static str {
        match self {
            RuleKind::Regular => "REGULAR",
            RuleKind::RateBased => "RATE_BASED",
            RuleKind::ManagedRuleGroup => "MANAGED_RULE_GROUP",
            RuleKind::Group => "GROUP",
        }
    }
}

/// Metric and sampling settings (`VisibilityConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    /// `MetricName`: the `rule` (or `web_acl`) label of metrics and the `RuleMetricName` of sampled requests.
    pub metric_name: Arc<str>,
    /// `CloudWatchMetricsEnabled`: emit `portcullis_waf_requests_total` for it.
    pub metrics: bool,
    /// `SampledRequestsEnabled`: keep sampled requests for it.
    pub sampled: bool,
}

impl Visibility {
    /// Metrics and sampling on, under `metric_name` (used when the model is unknown).
    pub fn enabled(metric_name: &str) -> Self {
        Self {
            metric_name: Arc::from(metric_name),
            metrics: true,
            sampled: true,
        }
    }
}

/// Facts about one web ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclMeta {
    /// The web ACL's ARN (`webaclId` in logs, `WebAclArn` of `GetSampledRequests`, the key of logging
    /// configurations); the name when the ARN is unknown.
    pub arn: Arc<str>,
    /// The web ACL's id.
    pub id: String,
    /// The web ACL's name.
    pub name: String,
    /// The web ACL's own `VisibilityConfig` (metrics `rule="ALL"`, default-action samples).
    pub visibility: Visibility,
}

/// Settings of a rate-based rule, for `rateBasedRuleList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateMeta {
    /// `Limit`.
    pub limit: i64,
    /// `EvaluationWindowSec` (300 when absent).
    pub window_sec: i64,
    /// `limitKey`: `IP`, `FORWARDED_IP`, `CUSTOMKEYS` or `CONSTANT`.
    pub limit_key: &'static str,
}

/// Facts about one rule of a web ACL (a rule-group reference counts as one rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    /// The rule's name.
    pub name: String,
    /// What kind of rule.
    pub kind: RuleKind,
    /// The rule's `VisibilityConfig`.
    pub visibility: Visibility,
    /// For group references, the `ruleGroupId` of logs: `<vendor>#<name>` for managed groups, the ARN of the
    /// account's own groups.
    pub group_id: Option<String>,
    /// For rate-based rules, their settings.
    pub rate: Option<RateMeta>,
}

impl RuleMeta {
    /// A regular rule with metrics and sampling enabled under its own name (used when the model is unknown).
    pub fn unknown(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: RuleKind::Regular,
            visibility: Visibility::enabled(name),
            group_id: None,
            rate: None,
        }
    }
}

/// A rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHit {
    /// The web ACL rule (for a match inside a rule group, the rule that references the group).
    pub rule: Arc<RuleMeta>,
    /// The rule inside the group, when the match came from a rule group.
    pub inner: Option<String>,
    /// The action applied.
    pub action: WafAction,
    /// The rule's configured action when an override replaced it.
    pub overridden_action: Option<WafAction>,
    /// True when the deprecated `ExcludedRules` turned the rule into Count.
    pub excluded: bool,
    /// What the rule's SQL injection and XSS statements found (`ruleMatchDetails`).
    pub match_details: Vec<portcullis_waf_core::MatchDetail>,
}

/// The outcome of a CAPTCHA or challenge check (`captchaResponse` / `challengeResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The status sent (405 for CAPTCHA, 202 for challenge) when the check terminated, else 0.
    pub response_code: u16,
    /// When the token was solved, epoch seconds, if known.
    pub solve_timestamp: Option<u64>,
    /// `TOKEN_MISSING`, `TOKEN_EXPIRED`, `TOKEN_INVALID` or `TOKEN_DOMAIN_MISMATCH` when the check terminated.
    pub failure_reason: Option<&'static str>,
}

/// Everything a web ACL inspection reports besides the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclDetail {
    /// The web ACL.
    pub acl: Arc<AclMeta>,
    /// The final action.
    pub action: WafAction,
    /// The rule that decided; `None` when the default action applied.
    pub terminating: Option<RuleHit>,
    /// Rules that matched without deciding, in evaluation order.
    pub non_terminating: Vec<RuleHit>,
    /// Labels, fully qualified, in the order they were added.
    pub labels: Vec<String>,
    /// Request headers inserted (names with the `x-amzn-waf-` prefix).
    pub request_headers_inserted: Vec<(String, String)>,
    /// The CAPTCHA check, when a CAPTCHA rule matched.
    pub captcha_response: Option<TokenResponse>,
    /// The challenge check, when a challenge rule matched.
    pub challenge_response: Option<TokenResponse>,
    /// The client's ISO 3166-1 alpha-2 country, when a geo database knows it.
    pub country: Option<String>,
}

impl AclDetail {
    /// The rules whose metric names matched, with the action each one applied: the terminating rule (or the web
    /// ACL itself for the default action) and every non-terminating match.
    pub fn matched_metric_names(&self) -> Vec<(&str, WafAction)> {
        let mut out = Vec::with_capacity(1 + self.non_terminating.len());
        match &self.terminating {
            Some(t) => out.push((&*t.rule.visibility.metric_name, t.action)),
            None => out.push((&*self.acl.visibility.metric_name, self.action)),
        }
        for h in &self.non_terminating {
            out.push((&*h.rule.visibility.metric_name, h.action));
        }
        out
    }
}
