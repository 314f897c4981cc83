//! What evaluation decides: the final action, the rule that decided it, the labels and the non-terminating
//! matches that the logs and sampled requests report.

use std::sync::Arc;

/// The kind of a rule action, as WAF logs name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// `ALLOW`: terminating, the request goes upstream.
    Allow,
    /// `BLOCK`: terminating, the client gets the (custom) block response.
    Block,
    /// `COUNT`: non-terminating.
    Count,
    /// `CAPTCHA`: terminating unless the request carries a valid, unexpired CAPTCHA token.
    Captcha,
    /// `CHALLENGE`: terminating unless the request carries a valid, unexpired challenge token.
    Challenge,
}

impl ActionKind {
    /// The upper-case name used in WAF logs (`ALLOW`, `BLOCK`, `COUNT`, `CAPTCHA`, `CHALLENGE`).
    pub fn log_name(self) -> &'static str {
        match self {
            ActionKind::Allow => "ALLOW",
            ActionKind::Block => "BLOCK",
            ActionKind::Count => "COUNT",
            ActionKind::Captcha => "CAPTCHA",
            ActionKind::Challenge => "CHALLENGE",
        }
    }
}

/// The body of a custom block response (`CustomResponseBodies` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBody {
    /// The `Content-Type` to send: `text/plain`, `text/html` or `application/json`.
    pub content_type: String,
    /// The body text.
    pub content: String,
}

/// The response the proxy sends for a `Block`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResponse {
    /// The HTTP status: 403 unless a `CustomResponse` sets another.
    pub status: u16,
    /// Extra response headers from `CustomResponse.ResponseHeaders`, names as configured.
    pub headers: Vec<(String, String)>,
    /// The custom body, when `CustomResponseBodyKey` names one.
    pub body: Option<ResponseBody>,
}

impl Default for BlockResponse {
    fn default() -> Self {
        Self {
            status: 403,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// What the proxy must do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalAction {
    /// Forward the request upstream (with [`Verdict::insert_headers`] added).
    Allow,
    /// Answer with this response; the request never reaches the upstream.
    Block(Arc<BlockResponse>),
    /// Answer with the CAPTCHA interstitial (HTTP 405, `x-amzn-waf-action: captcha`).
    Captcha,
    /// Answer with the silent challenge (HTTP 202, `x-amzn-waf-action: challenge`).
    Challenge,
}

impl FinalAction {
    /// The action's kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            FinalAction::Allow => ActionKind::Allow,
            FinalAction::Block(_) => ActionKind::Block,
            FinalAction::Captcha => ActionKind::Captcha,
            FinalAction::Challenge => ActionKind::Challenge,
        }
    }
}

/// How the terminating rule was reached, as the log field `terminatingRuleType` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleType {
    /// A rule with a plain statement.
    Regular,
    /// A rule whose statement is a `RateBasedStatement`.
    RateBased,
    /// A rule inside a customer rule group.
    Group,
    /// A rule inside a managed rule group.
    ManagedRuleGroup,
}

/// The rule that ended evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminatingRule {
    /// The rule name (the inner rule's name when it sits in a rule group).
    pub name: String,
    /// The web ACL rule that referenced the group (`None` for a rule directly in the web ACL).
    pub rule_group: Option<String>,
    /// The action that was applied.
    pub action: ActionKind,
    /// The kind of rule.
    pub rule_type: RuleType,
    /// What its SQL injection and XSS statements found (empty for other statements).
    pub match_details: Vec<MatchDetail>,
}

/// What a SQL injection or XSS statement found, as AWS WAF logs it in `ruleMatchDetails`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchDetail {
    /// `SQL_INJECTION` or `XSS`.
    pub condition_type: &'static str,
    /// `HIGH` or `LOW` for SQL injection; `None` for XSS.
    pub sensitivity_level: Option<&'static str>,
    /// The part of the request: `HEADER`, `QUERY_STRING`, `SINGLE_QUERY_ARG`, `ALL_QUERY_ARGS`, `URI`,
    /// `METHOD`, `BODY`, `JSON_BODY`, `COOKIES`, ...
    pub location: &'static str,
    /// For SQL injection the tokens that made the fingerprint; for XSS the matched value (first 64 bytes).
    pub matched_data: Vec<String>,
}

/// A rule that matched without ending evaluation (Count, a Captcha/Challenge with a valid token, or a group
/// result turned into Count by `OverrideAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// The rule name (the inner rule's name when it sits in a rule group).
    pub name: String,
    /// The web ACL rule that referenced the group, if any.
    pub rule_group: Option<String>,
    /// The action that was applied (`Count`, or `Captcha`/`Challenge` passed with a token).
    pub action: ActionKind,
    /// The rule's own action when an override replaced it (`RuleActionOverrides`, `ExcludedRules`,
    /// `OverrideAction: Count`).
    pub overridden_action: Option<ActionKind>,
    /// True when the rule was turned into Count by the deprecated `ExcludedRules`.
    pub excluded: bool,
    /// What its SQL injection and XSS statements found (empty for other statements).
    pub match_details: Vec<MatchDetail>,
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What to do with the request.
    pub action: FinalAction,
    /// The rule that decided, or `None` when the web ACL's `DefaultAction` applied.
    pub terminating_rule: Option<TerminatingRule>,
    /// Every label the request collected, fully qualified (`awswaf:…`), in the order they were added.
    pub labels: Vec<String>,
    /// Matches that did not end evaluation, in evaluation order.
    pub non_terminating: Vec<MatchedRule>,
    /// Request headers to insert before forwarding (`x-amzn-waf-<name>`), from `CustomRequestHandling` of the
    /// Count/Captcha/Challenge rules that matched and of the terminating Allow. Empty unless the action is Allow.
    pub insert_headers: Vec<(String, String)>,
}

impl Verdict {
    /// True when the request may go upstream.
    pub fn is_allowed(&self) -> bool {
        matches!(self.action, FinalAction::Allow)
    }

    /// True when `label` (fully qualified) was added to the request.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }
}
