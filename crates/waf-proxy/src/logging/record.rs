//! One WAF log record in the AWS WAF log format (`formatVersion` 1), serialised as one JSON line.
//!
//! Field facts follow AWS's "Log fields for web ACL traffic": `terminatingRuleId` is `Default_Action` (type
//! `REGULAR`) when no rule decided; for a match inside a rule group it is the web ACL rule that references the
//! group and `ruleGroupList` names the inner rule; `requestHeadersInserted` and `responseCodeSent` are `null`
//! when there are none; `country` is `-` when no geo database knows the client. \[unverified: the exact shape of `ruleGroupList`
//! entries and of `rateBasedRuleList.customValues`, which are left empty.\]

use serde::Serialize;

use crate::detail::{AclDetail, RuleHit, RuleKind, TokenResponse};
use crate::logging::config::Redactions;
use crate::observe::RequestView;

/// `httpSourceName` of every record: the proxy plays the part of an application load balancer.
pub const HTTP_SOURCE_NAME: &str = "ALB";

const REDACTED: &str = "REDACTED";

/// `{name, value}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameValue {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// `{name}` (labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    /// The label.
    pub name: String,
}

/// A matched rule (`terminatingRule`, `nonTerminatingMatchingRules[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleEntry {
    /// The rule name.
    pub rule_id: String,
    /// The action applied.
    pub action: &'static str,
    /// The configured action an override replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_action: Option<&'static str>,
    /// Match details (not reported: always empty).
    pub rule_match_details: Vec<serde_json::Value>,
}

/// `excludedRules[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExcludedEntry {
    /// Always `EXCLUDED_AS_COUNT`.
    pub exclusion_type: &'static str,
    /// The rule.
    pub rule_id: String,
}

/// `ruleGroupList[]`: what happened inside one rule group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroupEntry {
    /// `<vendor>#<name>` for managed groups, the ARN for the account's own groups.
    pub rule_group_id: String,
    /// The inner rule that decided.
    pub terminating_rule: Option<RuleEntry>,
    /// Inner rules that matched without deciding.
    pub non_terminating_matching_rules: Vec<RuleEntry>,
    /// Inner rules excluded by the deprecated `ExcludedRules`.
    pub excluded_rules: Option<Vec<ExcludedEntry>>,
}

/// `rateBasedRuleList[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateEntry {
    /// The rule's id (its name here).
    pub rate_based_rule_id: String,
    /// The rule's name.
    pub rate_based_rule_name: String,
    /// `IP`, `FORWARDED_IP`, `CUSTOMKEYS` or `CONSTANT`.
    pub limit_key: &'static str,
    /// `Limit`.
    pub max_rate_allowed: i64,
    /// `EvaluationWindowSec`, as a string like AWS writes it.
    pub evaluation_window_sec: String,
    /// The aggregation key's values (not reported: empty).
    pub custom_values: Vec<serde_json::Value>,
}

/// `captchaResponse` / `challengeResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenEntry {
    /// 405 / 202 when the check terminated, else 0.
    pub response_code: u16,
    /// When the token was solved, epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solve_timestamp: Option<u64>,
    /// Why the check terminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'static str>,
}

impl From<&TokenResponse> for TokenEntry {
    fn from(t: &TokenResponse) -> Self {
        Self {
            response_code: t.response_code,
            solve_timestamp: t.solve_timestamp,
            failure_reason: t.failure_reason,
        }
    }
}

/// `httpRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// The client's address (the connection's peer).
    pub client_ip: String,
    /// The client's country, `-` when unknown.
    pub country: String,
    /// Request headers as received.
    pub headers: Vec<NameValue>,
    /// The path.
    pub uri: String,
    /// The query string (without `?`).
    pub args: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub http_version: String,
    /// The method.
    pub http_method: String,
    /// A unique id of the request.
    pub request_id: String,
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRecord {
    /// Epoch milliseconds.
    pub timestamp: u64,
    /// Always 1.
    pub format_version: u32,
    /// The web ACL's ARN.
    pub webacl_id: String,
    /// The deciding rule, or `Default_Action`.
    pub terminating_rule_id: String,
    /// `REGULAR`, `RATE_BASED`, `MANAGED_RULE_GROUP` or `GROUP`.
    pub terminating_rule_type: &'static str,
    /// The final action.
    pub action: &'static str,
    /// Match details (not reported: empty).
    pub terminating_rule_match_details: Vec<serde_json::Value>,
    /// [`HTTP_SOURCE_NAME`].
    pub http_source_name: &'static str,
    /// The listener's name.
    pub http_source_id: String,
    /// Rule groups with matches.
    pub rule_group_list: Vec<RuleGroupEntry>,
    /// Rate-based rules that matched.
    pub rate_based_rule_list: Vec<RateEntry>,
    /// Rules directly in the web ACL that matched without deciding.
    pub non_terminating_matching_rules: Vec<RuleEntry>,
    /// Request headers inserted, `null` when none.
    pub request_headers_inserted: Option<Vec<NameValue>>,
    /// The status of a custom block response, `null` otherwise.
    pub response_code_sent: Option<u16>,
    /// The request.
    pub http_request: HttpRequest,
    /// Labels (omitted when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Name>>,
    /// The CAPTCHA check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captcha_response: Option<TokenEntry>,
    /// The challenge check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_response: Option<TokenEntry>,
}

impl LogRecord {
    /// The record as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The record as one JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn entry(h: &RuleHit, id: &str) -> RuleEntry {
    RuleEntry {
        rule_id: id.to_owned(),
        action: h.action.log_name(),
        overridden_action: h.overridden_action.map(|a| a.log_name()),
        rule_match_details: match_details(h),
    }
}

/// `ruleMatchDetails` of a rule hit, as AWS WAF logs them.
fn match_details(h: &RuleHit) -> Vec<serde_json::Value> {
    h.match_details
        .iter()
        .map(|m| {
            let mut v = serde_json::Map::new();
            v.insert("conditionType".into(), m.condition_type.into());
            if let Some(level) = m.sensitivity_level {
                v.insert("sensitivityLevel".into(), level.into());
            }
            v.insert("location".into(), m.location.into());
            v.insert("matchedData".into(), m.matched_data.clone().into());
            serde_json::Value::Object(v)
        })
        .collect()
}

/// Applies `f` to the `ruleGroupList` entry of `h`'s group, creating it first if needed.
fn with_group(groups: &mut Vec<RuleGroupEntry>, h: &RuleHit, f: impl FnOnce(&mut RuleGroupEntry)) {
    let id = h.rule.group_id.as_deref().unwrap_or(&h.rule.name);
    if let Some(g) = groups.iter_mut().find(|g| g.rule_group_id == id) {
        f(g);
        return;
    }
    let mut g = RuleGroupEntry {
        rule_group_id: id.to_owned(),
        terminating_rule: None,
        non_terminating_matching_rules: Vec::new(),
        excluded_rules: None,
    };
    f(&mut g);
    groups.push(g);
}

fn rate_entry(h: &RuleHit) -> Option<RateEntry> {
    let r = h.rule.rate.as_ref()?;
    Some(RateEntry {
        rate_based_rule_id: h.rule.name.clone(),
        rate_based_rule_name: h.rule.name.clone(),
        limit_key: r.limit_key,
        max_rate_allowed: r.limit,
        evaluation_window_sec: r.window_sec.to_string(),
        custom_values: Vec::new(),
    })
}

/// Builds the record for one request.
pub(crate) fn build(
    d: &AclDetail,
    req: &RequestView<'_>,
    timestamp_ms: u64,
    response_code_sent: Option<u16>,
    red: &Redactions,
) -> LogRecord {
    let mut groups = Vec::new();
    let mut rates = Vec::new();
    let mut non_terminating = Vec::new();
    let (terminating_rule_id, terminating_rule_type) = match &d.terminating {
        None => ("Default_Action".to_owned(), RuleKind::Regular.log_name()),
        Some(t) => {
            if let Some(inner) = &t.inner {
                with_group(&mut groups, t, |g| {
                    g.terminating_rule = Some(entry(t, inner))
                });
            }
            rates.extend(rate_entry(t));
            (t.rule.name.clone(), t.rule.kind.log_name())
        }
    };
    for h in &d.non_terminating {
        match &h.inner {
            Some(inner) if h.excluded => with_group(&mut groups, h, |g| {
                g.excluded_rules
                    .get_or_insert_with(Vec::new)
                    .push(ExcludedEntry {
                        exclusion_type: "EXCLUDED_AS_COUNT",
                        rule_id: inner.clone(),
                    })
            }),
            Some(inner) => with_group(&mut groups, h, |g| {
                g.non_terminating_matching_rules.push(entry(h, inner))
            }),
            None => {
                rates.extend(rate_entry(h));
                non_terminating.push(entry(h, &h.rule.name));
            }
        }
    }
    let headers = req
        .headers
        .iter()
        .map(|(n, v)| {
            let name = String::from_utf8_lossy(n).into_owned();
            NameValue {
                value: if red.header(&name) {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(v).into_owned()
                },
                name,
            }
        })
        .collect();
    let redact = |on: bool, v: &str| {
        if on {
            REDACTED.to_owned()
        } else {
            v.to_owned()
        }
    };
    LogRecord {
        timestamp: timestamp_ms,
        format_version: 1,
        webacl_id: d.acl.arn.to_string(),
        terminating_rule_id,
        terminating_rule_type,
        action: d.action.log_name(),
        terminating_rule_match_details: d
            .terminating
            .as_ref()
            .map(match_details)
            .unwrap_or_default(),
        http_source_name: HTTP_SOURCE_NAME,
        http_source_id: req.listener.to_owned(),
        rule_group_list: groups,
        rate_based_rule_list: rates,
        non_terminating_matching_rules: non_terminating,
        request_headers_inserted: (!d.request_headers_inserted.is_empty()).then(|| {
            d.request_headers_inserted
                .iter()
                .map(|(n, v)| NameValue {
                    name: n.clone(),
                    value: v.clone(),
                })
                .collect()
        }),
        response_code_sent,
        http_request: HttpRequest {
            client_ip: req.client_ip.to_string(),
            country: d.country.clone().unwrap_or_else(|| "-".to_owned()),
            headers,
            uri: redact(red.uri_path, req.path),
            args: redact(red.query_string, req.query),
            http_version: req.version.to_owned(),
            http_method: redact(red.method, req.method),
            request_id: crate::observe::request_id(),
        },
        labels: (!d.labels.is_empty())
            .then(|| d.labels.iter().map(|l| Name { name: l.clone() }).collect()),
        captcha_response: d.captcha_response.as_ref().map(TokenEntry::from),
        challenge_response: d.challenge_response.as_ref().map(TokenEntry::from),
    }
}
