//! A web ACL's logging configuration, as WAFv2's `LoggingConfiguration` has it: redacted fields and the logging
//! filter (which records to keep).

use portcullis_waf_model::FieldToMatch;
use serde_json::Value;

use crate::detail::{AclDetail, WafAction};
use crate::error::ProxyError;

/// Request parts whose values logs replace with `REDACTED` (`RedactedFields`). AWS allows only these four.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactions {
    /// `SingleHeader` names, lower-case (matched case-insensitively).
    pub headers: Vec<String>,
    /// `UriPath`: the `uri` field.
    pub uri_path: bool,
    /// `QueryString`: the `args` field.
    pub query_string: bool,
    /// `Method`: the `httpMethod` field.
    pub method: bool,
}

impl Redactions {
    /// True when the header `name` is redacted.
    pub fn header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// The action a log record must carry for an `ActionCondition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionAction {
    /// A terminating action (`ALLOW`, `BLOCK`, `CAPTCHA`, `CHALLENGE`) or `COUNT` (a rule counted the request),
    /// also met by a non-terminating CAPTCHA/challenge match.
    Action(WafAction),
    /// `MONETIZE`: never met (monetisation is not supported).
    Monetize,
    /// `EXCLUDED_AS_COUNT`: a rule was excluded or overridden to Count.
    ExcludedAsCount,
}

/// One condition of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `ActionCondition`.
    Action(ConditionAction),
    /// `LabelNameCondition`: the request carries this fully qualified label.
    Label(String),
}

impl Condition {
    fn met(&self, d: &AclDetail) -> bool {
        match self {
            Condition::Label(name) => d.labels.iter().any(|l| l == name),
            Condition::Action(ConditionAction::Monetize) => false,
            Condition::Action(ConditionAction::ExcludedAsCount) => {
                d.non_terminating.iter().any(|h| {
                    h.excluded || (h.action == WafAction::Count && h.overridden_action.is_some())
                })
            }
            Condition::Action(ConditionAction::Action(a)) => {
                d.action == *a || d.non_terminating.iter().any(|h| h.action == *a)
            }
        }
    }
}

/// One entry of `LoggingFilter.Filters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `Behavior`: `KEEP` (true) or `DROP`.
    pub keep: bool,
    /// `Requirement`: `MEETS_ALL` (true) or `MEETS_ANY`.
    pub meets_all: bool,
    /// `Conditions` (at least one).
    pub conditions: Vec<Condition>,
}

/// `LoggingFilter`: the first filter whose requirement is met decides; otherwise `DefaultBehavior`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingFilter {
    /// `Filters`, in order.
    pub filters: Vec<Filter>,
    /// `DefaultBehavior`: `KEEP` (true) or `DROP`.
    pub default_keep: bool,
}

impl LoggingFilter {
    /// True when a record for `d` is kept.
    pub fn keeps(&self, d: &AclDetail) -> bool {
        for f in &self.filters {
            let met = if f.meets_all {
                f.conditions.iter().all(|c| c.met(d))
            } else {
                f.conditions.iter().any(|c| c.met(d))
            };
            if met {
                return f.keep;
            }
        }
        self.default_keep
    }
}

/// A web ACL's logging configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingConfig {
    /// `ResourceArn`: the web ACL whose requests are logged.
    pub resource_arn: String,
    /// `LogDestinationConfigs`, kept for the API (the proxy writes to the sink it is given).
    pub destinations: Vec<String>,
    /// `RedactedFields`.
    pub redactions: Redactions,
    /// `LoggingFilter`; `None` keeps every record.
    pub filter: Option<LoggingFilter>,
}

fn bad(msg: impl Into<String>) -> ProxyError {
    ProxyError::LoggingConfig(msg.into())
}

fn str_member<'a>(v: &'a Value, name: &str) -> Result<&'a str, ProxyError> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{name} is required and must be a string")))
}

fn behavior(v: &Value, name: &str) -> Result<bool, ProxyError> {
    match str_member(v, name)? {
        "KEEP" => Ok(true),
        "DROP" => Ok(false),
        other => Err(bad(format!("{name} must be KEEP or DROP, not {other:?}"))),
    }
}

fn condition(v: &Value) -> Result<Condition, ProxyError> {
    match (v.get("ActionCondition"), v.get("LabelNameCondition")) {
        (Some(a), None) => {
            let action = match str_member(a, "Action")? {
                "ALLOW" => ConditionAction::Action(WafAction::Allow),
                "BLOCK" => ConditionAction::Action(WafAction::Block),
                "COUNT" => ConditionAction::Action(WafAction::Count),
                "CAPTCHA" => ConditionAction::Action(WafAction::Captcha),
                "CHALLENGE" => ConditionAction::Action(WafAction::Challenge),
                "MONETIZE" => ConditionAction::Monetize,
                "EXCLUDED_AS_COUNT" => ConditionAction::ExcludedAsCount,
                other => return Err(bad(format!("unknown ActionCondition.Action {other:?}"))),
            };
            Ok(Condition::Action(action))
        }
        (None, Some(l)) => Ok(Condition::Label(str_member(l, "LabelName")?.to_owned())),
        _ => Err(bad(
            "a condition needs exactly one of ActionCondition and LabelNameCondition",
        )),
    }
}

fn filter(v: &Value) -> Result<Filter, ProxyError> {
    let meets_all = match str_member(v, "Requirement")? {
        "MEETS_ALL" => true,
        "MEETS_ANY" => false,
        other => {
            return Err(bad(format!(
                "Requirement must be MEETS_ALL or MEETS_ANY, not {other:?}"
            )));
        }
    };
    let conditions = v
        .get("Conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Conditions is required"))?
        .iter()
        .map(condition)
        .collect::<Result<Vec<_>, _>>()?;
    if conditions.is_empty() {
        return Err(bad("a filter needs at least one condition"));
    }
    Ok(Filter {
        keep: behavior(v, "Behavior")?,
        meets_all,
        conditions,
    })
}

fn redactions(fields: &[Value]) -> Result<Redactions, ProxyError> {
    if fields.len() > 100 {
        return Err(bad("at most 100 RedactedFields"));
    }
    let mut r = Redactions::default();
    for f in fields {
        let field = FieldToMatch::from_value(f.clone())
            .map_err(|e| bad(format!("bad RedactedFields entry: {e}")))?;
        match field {
            FieldToMatch::SingleHeader(h) => r.headers.push(h.name.to_ascii_lowercase()),
            FieldToMatch::UriPath => r.uri_path = true,
            FieldToMatch::QueryString => r.query_string = true,
            FieldToMatch::Method => r.method = true,
            _ => {
                return Err(bad(
                    "RedactedFields may only name SingleHeader, UriPath, QueryString or Method",
                ));
            }
        }
    }
    Ok(r)
}

impl LoggingConfig {
    /// Logs everything for `web_acl_arn`, nothing redacted.
    pub fn keep_all(web_acl_arn: &str) -> Self {
        Self {
            resource_arn: web_acl_arn.to_owned(),
            destinations: Vec::new(),
            redactions: Redactions::default(),
            filter: None,
        }
    }

    /// Parses a WAFv2 `LoggingConfiguration` (the object itself, or `{"LoggingConfiguration": {...}}` as
    /// `PutLoggingConfiguration` and `GetLoggingConfiguration` carry it).
    pub fn from_json(v: &Value) -> Result<Self, ProxyError> {
        let v = v.get("LoggingConfiguration").unwrap_or(v);
        let resource_arn = str_member(v, "ResourceArn")?.to_owned();
        let destinations = match v.get("LogDestinationConfigs") {
            None | Some(Value::Null) => Vec::new(),
            Some(d) => d
                .as_array()
                .ok_or_else(|| bad("LogDestinationConfigs must be a list"))?
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad("LogDestinationConfigs holds strings"))
                })
                .collect::<Result<_, _>>()?,
        };
        let redactions = match v.get("RedactedFields") {
            None | Some(Value::Null) => Redactions::default(),
            Some(Value::Array(a)) => redactions(a)?,
            Some(_) => return Err(bad("RedactedFields must be a list")),
        };
        let filter = match v.get("LoggingFilter") {
            None | Some(Value::Null) => None,
            Some(f) => {
                let filters = f
                    .get("Filters")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("LoggingFilter.Filters is required"))?
                    .iter()
                    .map(filter)
                    .collect::<Result<Vec<_>, _>>()?;
                Some(LoggingFilter {
                    filters,
                    default_keep: behavior(f, "DefaultBehavior")?,
                })
            }
        };
        Ok(Self {
            resource_arn,
            destinations,
            redactions,
            filter,
        })
    }

    /// True when a record for `d` passes the filter.
    pub fn keeps(&self, d: &AclDetail) -> bool {
        self.filter.as_ref().is_none_or(|f| f.keeps(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detail::{AclMeta, RuleHit, RuleMeta, Visibility};
    use serde_json::json;
    use std::sync::Arc;

    fn detail(
        action: WafAction,
        counted: Option<(WafAction, Option<WafAction>, bool)>,
        labels: &[&str],
    ) -> AclDetail {
        AclDetail {
            acl: Arc::new(AclMeta {
                arn: Arc::from("arn"),
                id: "id".into(),
                name: "n".into(),
                visibility: Visibility::enabled("n"),
            }),
            action,
            country: None,
            terminating: None,
            non_terminating: counted
                .into_iter()
                .map(|(a, o, e)| RuleHit {
                    rule: Arc::new(RuleMeta::unknown("r")),
                    inner: None,
                    action: a,
                    overridden_action: o,
                    excluded: e,
                    match_details: Vec::new(),
                })
                .collect(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            request_headers_inserted: Vec::new(),
            captcha_response: None,
            challenge_response: None,
        }
    }

    #[test]
    fn parses_the_wafv2_shape() {
        let c = LoggingConfig::from_json(&json!({"LoggingConfiguration": {
            "ResourceArn": "arn:x", "LogDestinationConfigs": ["arn:aws:logs:y"],
            "RedactedFields": [{"SingleHeader": {"Name": "Cookie"}}, {"Method": {}}],
            "ManagedByFirewallManager": false,
            "LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [{"Behavior": "DROP",
                "Requirement": "MEETS_ANY", "Conditions": [{"LabelNameCondition": {"LabelName": "a:b"}},
                {"ActionCondition": {"Action": "EXCLUDED_AS_COUNT"}}]}]}}}))
        .unwrap();
        assert_eq!(c.resource_arn, "arn:x");
        assert_eq!(c.destinations, ["arn:aws:logs:y"]);
        assert!(c.redactions.header("cookie") && c.redactions.method && !c.redactions.uri_path);
        let f = c.filter.as_ref().unwrap();
        assert!(f.default_keep);
        assert_eq!(
            f.filters[0].conditions,
            [
                Condition::Label("a:b".into()),
                Condition::Action(ConditionAction::ExcludedAsCount)
            ]
        );
    }

    #[test]
    fn rejects_what_aws_rejects() {
        let base = |extra: Value| {
            let mut v = json!({"ResourceArn": "arn:x", "LogDestinationConfigs": ["d"]});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            LoggingConfig::from_json(&v)
        };
        assert!(base(json!({})).is_ok());
        assert!(LoggingConfig::from_json(&json!({"LogDestinationConfigs": []})).is_err());
        assert!(
            base(json!({"RedactedFields": [{"Body": {}}]})).is_err(),
            "only four fields"
        );
        assert!(base(json!({"RedactedFields": [{"UriPath": {}, "Method": {}}]})).is_err());
        let filter = |behavior: &str, req: &str, cond: Value| {
            base(
                json!({"LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [
                {"Behavior": behavior, "Requirement": req, "Conditions": [cond]}]}}),
            )
        };
        let ok_cond = json!({"ActionCondition": {"Action": "BLOCK"}});
        assert!(filter("KEEP", "MEETS_ALL", ok_cond.clone()).is_ok());
        assert!(filter("MAYBE", "MEETS_ALL", ok_cond.clone()).is_err());
        assert!(filter("KEEP", "MEETS_SOME", ok_cond).is_err());
        assert!(
            filter(
                "KEEP",
                "MEETS_ALL",
                json!({"ActionCondition": {"Action": "ALLOWED"}})
            )
            .is_err()
        );
        assert!(filter("KEEP", "MEETS_ALL", json!({})).is_err());
        assert!(
            base(
                json!({"LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [
                {"Behavior": "KEEP", "Requirement": "MEETS_ALL", "Conditions": []}]}})
            )
            .is_err()
        );
    }

    #[test]
    fn filter_semantics() {
        let f = |conds: Vec<Condition>, meets_all: bool, keep: bool, default_keep: bool| {
            LoggingFilter {
                filters: vec![Filter {
                    keep,
                    meets_all,
                    conditions: conds,
                }],
                default_keep,
            }
        };
        let block = Condition::Action(ConditionAction::Action(WafAction::Block));
        let count = Condition::Action(ConditionAction::Action(WafAction::Count));
        let label = Condition::Label("l".into());
        let blocked = detail(WafAction::Block, None, &["l"]);
        let counted = detail(WafAction::Allow, Some((WafAction::Count, None, false)), &[]);
        let overridden = detail(
            WafAction::Allow,
            Some((WafAction::Count, Some(WafAction::Block), false)),
            &[],
        );
        let excluded = detail(WafAction::Allow, Some((WafAction::Count, None, true)), &[]);

        let all = f(vec![block.clone(), label.clone()], true, true, false);
        assert!(all.keeps(&blocked));
        assert!(!all.keeps(&counted));
        let any = f(vec![count.clone(), label], false, false, true);
        assert!(!any.keeps(&blocked), "label met → DROP");
        assert!(!any.keeps(&counted), "COUNT met → DROP");
        let exc = f(
            vec![Condition::Action(ConditionAction::ExcludedAsCount)],
            true,
            true,
            false,
        );
        assert!(exc.keeps(&overridden) && exc.keeps(&excluded) && !exc.keeps(&counted));
        let first_wins = LoggingFilter {
            filters: vec![
                Filter {
                    keep: false,
                    meets_all: true,
                    conditions: vec![count],
                },
                Filter {
                    keep: true,
                    meets_all: true,
                    conditions: vec![Condition::Action(ConditionAction::Action(WafAction::Allow))],
                },
            ],
            default_keep: true,
        };
        assert!(!first_wins.keeps(&counted));
        let monetize = f(
            vec![Condition::Action(ConditionAction::Monetize)],
            true,
            true,
            false,
        );
        assert!(!monetize.keeps(&blocked));
    }
}
