//! After inspection: count the request, offer it to the sampled-request reservoirs, and log it — each only when
//! the web ACL asks for it, so a request without logging or sampling builds no record.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::detail::{AclDetail, RuleHit, RuleKind};
use crate::inspect::{BlockResponse, Decision};
use crate::logging::Logging;
use crate::samples::{SampledRequest, Samples};

/// The parts of a request that logs and samples report.
pub(crate) struct RequestView<'a> {
    pub listener: &'a str,
    pub client_ip: IpAddr,
    pub headers: &'a crate::head::Fields,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub version: &'static str,
}

/// A unique request id: a per-process random prefix and a counter.
pub(crate) fn request_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        (t ^ u64::from(std::process::id()).rotate_left(40)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    format!("{prefix:016x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `responseCodeSent`: the status of a custom block response (a block with a status, headers or body other
/// than the plain 403). \[AWS reports a custom response of 403 too; a custom 403 without headers or body is
/// indistinguishable here.\]
pub(crate) fn response_code_sent(decision: &Decision) -> Option<u16> {
    match decision {
        Decision::Block(b) if *b != BlockResponse::default() => Some(b.status),
        _ => None,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `RuleNameWithinRuleGroup`: `<vendor>#<group>#<rule>` for managed groups, `<group>#<rule>` for the
/// account's own groups (the group name read from its ARN).
fn within_group(h: &RuleHit) -> Option<String> {
    let inner = h.inner.as_deref()?;
    let group = h.rule.group_id.as_deref()?;
    Some(match h.rule.kind {
        RuleKind::Group => {
            let name = group.rsplit('/').nth(1).unwrap_or(group);
            format!("{name}#{inner}")
        }
        _ => format!("{group}#{inner}"),
    })
}

fn sample(
    d: &AclDetail,
    req: &RequestView<'_>,
    ts: u64,
    code: Option<u16>,
    hit: Option<&RuleHit>,
    max_headers: usize,
) -> SampledRequest {
    SampledRequest {
        timestamp_ms: ts,
        client_ip: req.client_ip,
        country: d.country.clone(),
        uri: req.path.to_owned(),
        method: req.method.to_owned(),
        http_version: req.version.to_owned(),
        headers: req
            .headers
            .iter()
            .take(max_headers)
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect(),
        action: hit.map_or(d.action, |h| h.action),
        rule_within_group: hit.and_then(within_group),
        headers_inserted: d.request_headers_inserted.clone(),
        response_code_sent: code,
        labels: d.labels.clone(),
        captcha: d.captcha_response.clone(),
        challenge: d.challenge_response.clone(),
        overridden_action: hit.and_then(|h| h.overridden_action),
    }
}

/// Metrics, samples and the log record of one inspected request.
pub(crate) fn observe(
    d: &AclDetail,
    decision: &Decision,
    req: &RequestView<'_>,
    logging: &Logging,
    samples: &Samples,
) {
    crate::metrics::waf_request(d);
    let log = logging.get(&d.acl.arn);
    let sampled = match &d.terminating {
        Some(t) => t.rule.visibility.sampled,
        None => d.acl.visibility.sampled,
    } || d.non_terminating.iter().any(|h| h.rule.visibility.sampled);
    if log.is_none() && !sampled {
        return;
    }
    let ts = now_ms();
    let code = response_code_sent(decision);
    if sampled {
        let max_headers = samples.max_headers();
        let arn = &*d.acl.arn;
        match &d.terminating {
            Some(t) if t.rule.visibility.sampled => {
                samples.offer(arn, &t.rule.visibility.metric_name, ts, &mut || {
                    sample(d, req, ts, code, Some(t), max_headers)
                });
            }
            None if d.acl.visibility.sampled => {
                samples.offer(arn, &d.acl.visibility.metric_name, ts, &mut || {
                    sample(d, req, ts, code, None, max_headers)
                });
            }
            _ => {}
        }
        for h in d
            .non_terminating
            .iter()
            .filter(|h| h.rule.visibility.sampled)
        {
            samples.offer(arn, &h.rule.visibility.metric_name, ts, &mut || {
                sample(d, req, ts, code, Some(h), max_headers)
            });
        }
    }
    if let Some(l) = log
        && l.config.keeps(d)
    {
        let record = crate::logging::build(d, req, ts, code, &l.config.redactions);
        l.sink.write(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl_inspector::AclInspector;
    use crate::inspect::Inspector;
    use crate::logging::Redactions;
    use portcullis_waf_core::{CompiledAcl, Resources};
    use portcullis_waf_model::{RuleGroup, WebAcl};
    use portcullis_waf_request::Request;
    use serde_json::{Value, json};

    const GROUP_ARN: &str = "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/grp/gid";

    fn inspector() -> AclInspector {
        let vis = |n: &str| json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": n});
        let uri = |b64: &str| {
            json!({"ByteMatchStatement": {"SearchString": b64, "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}})
        };
        let group = RuleGroup::from_value(json!({
            "Name": "grp", "Id": "gid", "Capacity": 100, "ARN": GROUP_ARN, "VisibilityConfig": vis("grp"),
            "Rules": [
                // "/grp"
                {"Name": "g-block", "Priority": 0, "VisibilityConfig": vis("g-block"),
                 "Statement": uri("L2dycA=="), "Action": {"Block": {}}},
                // "/" : every request; overridden to Count
                {"Name": "g-any", "Priority": 1, "VisibilityConfig": vis("g-any"),
                 "Statement": uri("Lw=="), "Action": {"Block": {}}}
            ]
        }))
        .unwrap();
        let acl = WebAcl::from_value(json!({
            "Name": "t", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/id",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("t"),
            "Rules": [
                {"Name": "limit", "Priority": 0, "VisibilityConfig": vis("limit"),
                 "Statement": {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
                    "AggregateKeyType": "IP"}},
                 "Action": {"Block": {}}},
                {"Name": "mygroup", "Priority": 1, "VisibilityConfig": vis("mygroup-m"),
                 "Statement": {"RuleGroupReferenceStatement": {"ARN": GROUP_ARN,
                    "RuleActionOverrides": [{"Name": "g-any", "ActionToUse": {"Count": {}}}]}},
                 "OverrideAction": {"None": {}}}
            ]
        }))
        .unwrap();
        let mut res = Resources::default();
        res.add_rule_group(group);
        AclInspector::local(CompiledAcl::compile(&acl, &res).unwrap()).with_web_acl(&acl)
    }

    fn record(ins: &AclInspector, path: &str) -> (Value, AclDetail) {
        let req = Request::builder()
            .client_addr("192.0.2.9:1234".parse().unwrap())
            .uri(path)
            .header("host", "h")
            .build();
        let out = ins.inspect_detailed(&req).unwrap();
        let d = *out.detail.unwrap();
        let headers = crate::head::Fields::default();
        let view = RequestView {
            listener: "l",
            client_ip: "192.0.2.9".parse().unwrap(),
            headers: &headers,
            method: "GET",
            path,
            query: "",
            version: "HTTP/1.1",
        };
        let code = response_code_sent(&out.decision);
        let r = crate::logging::build(&d, &view, 1, code, &Redactions::default()).to_json();
        (r, d)
    }

    #[test]
    fn rule_groups_and_rate_rules_in_records() {
        let ins = inspector();
        let (r, d) = record(&ins, "/grp/x");
        assert_eq!(r["terminatingRuleId"], "mygroup");
        assert_eq!(r["terminatingRuleType"], "GROUP");
        assert_eq!(r["action"], "BLOCK");
        assert_eq!(
            r["ruleGroupList"],
            json!([{"ruleGroupId": GROUP_ARN,
                "terminatingRule": {"ruleId": "g-block", "action": "BLOCK", "ruleMatchDetails": []},
                "nonTerminatingMatchingRules": [], "excludedRules": null}])
        );
        assert_eq!(
            d.matched_metric_names(),
            vec![("mygroup-m", crate::detail::WafAction::Block)]
        );

        let (r, d) = record(&ins, "/other");
        assert_eq!(r["terminatingRuleId"], "Default_Action");
        assert_eq!(
            r["ruleGroupList"][0]["nonTerminatingMatchingRules"],
            json!([{"ruleId": "g-any", "action": "COUNT", "overriddenAction": "BLOCK", "ruleMatchDetails": []}])
        );
        assert_eq!(r["nonTerminatingMatchingRules"], json!([]));
        let hit = &d.non_terminating[0];
        assert_eq!(within_group(hit).as_deref(), Some("grp#g-any"));

        // Past the rate limit the rate rule decides.
        let mut last = Value::Null;
        for _ in 0..15 {
            last = record(&ins, "/other").0;
        }
        assert_eq!(last["terminatingRuleId"], "limit");
        assert_eq!(last["terminatingRuleType"], "RATE_BASED");
        assert_eq!(
            last["rateBasedRuleList"],
            json!([{"rateBasedRuleId": "limit", "rateBasedRuleName": "limit", "limitKey": "IP",
                "maxRateAllowed": 10, "evaluationWindowSec": "60", "customValues": []}])
        );
    }

    #[test]
    fn sqli_and_xss_matches_carry_rule_match_details() {
        let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
        let tt = json!([{"Priority": 0, "Type": "URL_DECODE"}]);
        let acl = WebAcl::from_value(json!({
            "Name": "d", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/d/id",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("d"),
            "Rules": [
                {"Name": "xss", "Priority": 0, "VisibilityConfig": vis("xss"), "Action": {"Count": {}},
                 "Statement": {"XssMatchStatement": {"FieldToMatch": {"QueryString": {}}, "TextTransformations": tt}}},
                {"Name": "sqli", "Priority": 1, "VisibilityConfig": vis("sqli"), "Action": {"Block": {}},
                 "Statement": {"SqliMatchStatement": {"FieldToMatch": {"QueryString": {}},
                    "TextTransformations": tt, "SensitivityLevel": "HIGH"}}}
            ]
        }))
        .unwrap();
        let ins = AclInspector::local(CompiledAcl::compile(&acl, &Resources::default()).unwrap())
            .with_web_acl(&acl);
        let (r, _) = record(&ins, "/p?id=10%20AND%201%3D1");
        assert_eq!(r["terminatingRuleId"], "sqli");
        let details = &r["terminatingRuleMatchDetails"];
        assert_eq!(details[0]["conditionType"], "SQL_INJECTION");
        assert_eq!(details[0]["sensitivityLevel"], "HIGH");
        assert_eq!(details[0]["location"], "QUERY_STRING");
        let data: Vec<&str> = details[0]["matchedData"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            data.contains(&"1") && data.iter().any(|t| t.eq_ignore_ascii_case("AND")),
            "{data:?}"
        );
        assert_eq!(r["nonTerminatingMatchingRules"], json!([]));

        let (r, _) = record(&ins, "/p?q=%3Cscript%3Ealert(1)%3C/script%3E");
        assert_eq!(r["terminatingRuleId"], "Default_Action");
        assert_eq!(r["terminatingRuleMatchDetails"], json!([]));
        let xss = &r["nonTerminatingMatchingRules"][0];
        assert_eq!(xss["ruleId"], "xss");
        assert_eq!(
            xss["ruleMatchDetails"],
            json!([{"conditionType": "XSS", "location": "QUERY_STRING",
                    "matchedData": ["q=<script>alert(1)</script>"]}])
        );
        let (r, _) = record(&ins, "/p?q=hello");
        assert_eq!(r["nonTerminatingMatchingRules"], json!([]));
    }

    #[test]
    fn request_ids_are_unique() {
        assert_ne!(request_id(), request_id());
    }
}
