//! The adapter from the web ACL engine ([`portcullis_waf_core::CompiledAcl`]) to the proxy's [`Inspector`]: the
//! decision, and the [`AclDetail`] that logs, samples and metrics need (filled from the engine's `Verdict`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_waf_core::geo::GeoDb;
use portcullis_waf_core::rate::{InMemoryRateCounter, RateCounter};
use portcullis_waf_core::rate_keys::ManagedKeys;
use portcullis_waf_core::{CompiledAcl, EvalEnv, FinalAction, Verdict};
use portcullis_waf_model::{AggregateKeyType, Rule, Statement, VisibilityConfig, WebAcl};
use portcullis_waf_request::Request;

use crate::detail::{
    AclDetail, AclMeta, RateMeta, RuleHit, RuleKind, RuleMeta, TokenResponse, Visibility, WafAction,
};
use crate::inspect::{
    BlockResponse, Decision, InspectContext, InspectError, Inspection, Inspector,
};

/// Runs a compiled web ACL on each request.
pub struct AclInspector {
    acl: CompiledAcl,
    rate: Arc<dyn RateCounter>,
    managed_keys: Option<Arc<ManagedKeys>>,
    geo: Option<Arc<GeoDb>>,
    meta: Arc<AclMeta>,
    rules: HashMap<String, Arc<RuleMeta>>,
    token_domains: Vec<String>,
}

impl std::fmt::Debug for AclInspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclInspector")
            .field("acl", &self.acl.name())
            .field("arn", &self.meta.arn)
            .finish_non_exhaustive()
    }
}

impl AclInspector {
    /// Inspect with `acl`, counting rate-based rules in `rate` (share one counter between ACL versions so that a
    /// hot swap does not reset unrelated counters; Redis-backed counters come later).
    ///
    /// Without [`AclInspector::with_web_acl`] the web ACL is known only by its name (used as ARN and metric
    /// name), and every rule has metrics and sampling enabled under its own name.
    pub fn new(acl: CompiledAcl, rate: Arc<dyn RateCounter>) -> Self {
        let name = acl.name().to_owned();
        let meta = Arc::new(AclMeta {
            arn: Arc::from(name.as_str()),
            id: String::new(),
            visibility: Visibility::enabled(&name),
            name,
        });
        Self {
            acl,
            rate,
            managed_keys: None,
            geo: None,
            meta,
            rules: HashMap::new(),
            token_domains: Vec::new(),
        }
    }

    /// Inspect with `acl` and a fresh node-local rate counter.
    pub fn local(acl: CompiledAcl) -> Self {
        Self::new(acl, Arc::new(InMemoryRateCounter::new()))
    }

    /// Looks up countries and ASNs in `geo` (`GeoMatchStatement`, `AsnMatchStatement`, the `country` of log
    /// records and samples); without one those statements never match.
    pub fn with_geo(mut self, geo: Arc<GeoDb>) -> Self {
        self.geo = Some(geo);
        self
    }

    /// Notes the addresses IP-keyed rate-based rules limit in `keys` (for `GetRateBasedStatementManagedKeys`).
    pub fn with_managed_keys(mut self, keys: Arc<ManagedKeys>) -> Self {
        self.managed_keys = Some(keys);
        self
    }

    /// Takes the ARN, id, name and every rule's kind and `VisibilityConfig` from the web ACL definition `acl`
    /// was compiled from (needed for correct logs, sampled requests and metrics).
    pub fn with_web_acl(mut self, model: &WebAcl) -> Self {
        let arn = if model.arn.is_empty() {
            model.name.as_str()
        } else {
            model.arn.as_str()
        };
        self.meta = Arc::new(AclMeta {
            arn: Arc::from(arn),
            id: model.id.clone(),
            name: model.name.clone(),
            visibility: visibility(&model.visibility_config),
        });
        self.rules = model
            .rules()
            .iter()
            .map(|r| (r.name.clone(), Arc::new(rule_meta(r))))
            .collect();
        self.token_domains = model.token_domains.clone().unwrap_or_default();
        self
    }

    /// The web ACL's facts.
    pub fn meta(&self) -> &Arc<AclMeta> {
        &self.meta
    }

    fn rule(&self, name: &str) -> Arc<RuleMeta> {
        match self.rules.get(name) {
            Some(r) => Arc::clone(r),
            None => Arc::new(RuleMeta::unknown(name)),
        }
    }

    fn hit(
        &self,
        name: &str,
        group: Option<&str>,
        action: WafAction,
        overridden_action: Option<WafAction>,
        excluded: bool,
        match_details: Vec<portcullis_waf_core::MatchDetail>,
    ) -> RuleHit {
        let (outer, inner) = match group {
            Some(g) => (g, Some(name.to_owned())),
            None => (name, None),
        };
        RuleHit {
            rule: self.rule(outer),
            inner,
            action,
            overridden_action,
            excluded,
            match_details,
        }
    }

    fn evaluate(&self, req: &Request, cx: &InspectContext) -> Verdict {
        let mut env = EvalEnv::new(now_ms(), self.rate.as_ref());
        if let Some(token) = &cx.token {
            env = env.with_token(*token);
        }
        if let Some(keys) = &self.managed_keys {
            env = env.with_managed_keys(keys);
        }
        if let Some(geo) = &self.geo {
            env = env.with_geo(geo);
        }
        self.acl.evaluate(req, &env)
    }

    fn detail(&self, verdict: Verdict) -> AclDetail {
        let terminating = verdict.terminating_rule.as_ref().map(|t| {
            self.hit(
                &t.name,
                t.rule_group.as_deref(),
                t.action.into(),
                None,
                false,
                t.match_details.clone(),
            )
        });
        let non_terminating = verdict
            .non_terminating
            .iter()
            .map(|m| {
                self.hit(
                    &m.name,
                    m.rule_group.as_deref(),
                    m.action.into(),
                    m.overridden_action.map(Into::into),
                    m.excluded,
                    m.match_details.clone(),
                )
            })
            .collect::<Vec<_>>();
        let action = WafAction::from(verdict.action.kind());
        let captcha_response = token_response(
            &verdict.labels,
            CAPTCHA_NS,
            action == WafAction::Captcha,
            405,
        );
        let challenge_response = token_response(
            &verdict.labels,
            TOKEN_NS,
            action == WafAction::Challenge,
            202,
        );
        AclDetail {
            acl: Arc::clone(&self.meta),
            action,
            terminating,
            non_terminating,
            labels: verdict.labels,
            request_headers_inserted: if action == WafAction::Allow {
                verdict.insert_headers
            } else {
                Vec::new()
            },
            captcha_response,
            challenge_response,
            country: None,
        }
    }
}

/// Label namespaces the engine uses to report token checks.
const TOKEN_NS: &str = "awswaf:managed:token:";
const CAPTCHA_NS: &str = "awswaf:managed:captcha:";

/// Reads a CAPTCHA/challenge outcome from the token labels the engine adds (`…:absent`, `…:accepted`,
/// `…:rejected:<why>`); `None` when no such rule was evaluated.
fn token_response(
    labels: &[String],
    ns: &str,
    terminated: bool,
    status: u16,
) -> Option<TokenResponse> {
    let mut status_label = None;
    let mut why = None;
    for l in labels {
        if let Some(rest) = l.strip_prefix(ns) {
            match rest.split_once(':') {
                Some((_, reason)) => why = Some(reason),
                None => status_label = Some(rest),
            }
        }
    }
    let status_label = status_label?;
    if !terminated {
        return Some(TokenResponse {
            response_code: 0,
            solve_timestamp: None,
            failure_reason: None,
        });
    }
    let reason = match (status_label, why) {
        ("rejected", Some("expired")) => "TOKEN_EXPIRED",
        ("rejected", Some("invalid")) => "TOKEN_INVALID",
        ("rejected", Some("domain_mismatch")) => "TOKEN_DOMAIN_MISMATCH",
        _ => "TOKEN_MISSING",
    };
    Some(TokenResponse {
        response_code: status,
        solve_timestamp: None,
        failure_reason: Some(reason),
    })
}

fn visibility(v: &VisibilityConfig) -> Visibility {
    Visibility {
        metric_name: Arc::from(v.metric_name.as_str()),
        metrics: v.cloud_watch_metrics_enabled,
        sampled: v.sampled_requests_enabled,
    }
}

fn rule_meta(r: &Rule) -> RuleMeta {
    let (kind, group_id, rate) = match &r.statement {
        Statement::RateBased(s) => (
            RuleKind::RateBased,
            None,
            Some(RateMeta {
                limit: s.limit,
                window_sec: s.window_sec(),
                limit_key: match s.aggregate_key_type {
                    AggregateKeyType::Ip => "IP",
                    AggregateKeyType::ForwardedIp => "FORWARDED_IP",
                    AggregateKeyType::CustomKeys => "CUSTOMKEYS",
                    AggregateKeyType::Constant => "CONSTANT",
                },
            }),
        ),
        Statement::ManagedRuleGroup(s) => (
            RuleKind::ManagedRuleGroup,
            Some(format!("{}#{}", s.vendor_name, s.name)),
            None,
        ),
        Statement::RuleGroupReference(s) => (RuleKind::Group, Some(s.arn.clone()), None),
        _ => (RuleKind::Regular, None, None),
    };
    RuleMeta {
        name: r.name.clone(),
        kind,
        visibility: visibility(&r.visibility_config),
        group_id,
        rate,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn decision(verdict: &Verdict) -> Decision {
    match &verdict.action {
        FinalAction::Allow => Decision::Allow {
            insert_headers: verdict.insert_headers.clone(),
        },
        FinalAction::Block(resp) => {
            let mut headers = resp.headers.clone();
            let body = match &resp.body {
                Some(b) => {
                    headers.push(("content-type".to_owned(), b.content_type.clone()));
                    b.content.clone().into_bytes()
                }
                None => Vec::new(),
            };
            Decision::Block(BlockResponse {
                status: resp.status,
                headers,
                body,
            })
        }
        FinalAction::Captcha => Decision::Captcha,
        FinalAction::Challenge => Decision::Challenge,
    }
}

impl Inspector for AclInspector {
    fn inspect(&self, req: &Request) -> Result<Decision, InspectError> {
        Ok(decision(&self.evaluate(req, &InspectContext::default())))
    }

    fn inspect_detailed(&self, req: &Request) -> Result<Inspection, InspectError> {
        self.inspect_with(req, &InspectContext::default())
    }

    fn inspect_with(&self, req: &Request, cx: &InspectContext) -> Result<Inspection, InspectError> {
        let verdict = self.evaluate(req, cx);
        let decision = decision(&verdict);
        let mut detail = self.detail(verdict);
        detail.country = self
            .geo
            .as_ref()
            .and_then(|g| g.country(req.client_addr.ip()))
            .map(|c| c.iter().map(|&b| char::from(b)).collect());
        Ok(Inspection {
            decision,
            detail: Some(Box::new(detail)),
        })
    }

    fn token_domains(&self) -> &[String] {
        &self.token_domains
    }

    fn body_limit(&self) -> Option<usize> {
        Some(self.acl.body_inspection_limit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_waf_core::Resources;
    use portcullis_waf_model::WebAcl;
    use serde_json::json;

    fn acl() -> CompiledAcl {
        let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
        let doc = json!({
            "Name": "t", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/id",
            "DefaultAction": {"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "seen", "Value": "1"}]}}},
            "VisibilityConfig": vis("t"),
            "CustomResponseBodies": {"nope": {"ContentType": "TEXT_PLAIN", "Content": "blocked"}},
            "Rules": [{
                "Name": "admin", "Priority": 0, "VisibilityConfig": vis("admin"),
                "Statement": {"ByteMatchStatement": {"SearchString": "L2FkbWlu", "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}},
                "Action": {"Block": {"CustomResponse": {"ResponseCode": 418, "CustomResponseBodyKey": "nope"}}}
            }]
        });
        CompiledAcl::compile(&WebAcl::from_value(doc).unwrap(), &Resources::default()).unwrap()
    }

    #[test]
    fn token_outcomes_from_labels() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(token_response(&l(&["a:b"]), CAPTCHA_NS, false, 405), None);
        let missing = token_response(
            &l(&["awswaf:managed:captcha:absent"]),
            CAPTCHA_NS,
            true,
            405,
        );
        assert_eq!(
            missing,
            Some(TokenResponse {
                response_code: 405,
                solve_timestamp: None,
                failure_reason: Some("TOKEN_MISSING")
            })
        );
        let expired = l(&[
            "awswaf:managed:token:rejected",
            "awswaf:managed:token:rejected:expired",
        ]);
        assert_eq!(
            token_response(&expired, TOKEN_NS, true, 202).and_then(|t| t.failure_reason),
            Some("TOKEN_EXPIRED")
        );
        let passed = token_response(&l(&["awswaf:managed:token:accepted"]), TOKEN_NS, false, 202);
        assert_eq!(
            passed.map(|t| (t.response_code, t.failure_reason)),
            Some((0, None))
        );
    }

    #[test]
    fn geo_database_drives_geo_match_and_the_country_of_the_detail() {
        use portcullis_waf_core::geo::testdb::{Writer, country_record};
        let mut w = Writer::new("GeoLite2-Country", 6).unwrap();
        w.insert("192.0.2.0/24".parse().unwrap(), country_record("NL"))
            .unwrap();
        w.insert("198.51.100.0/24".parse().unwrap(), country_record("FR"))
            .unwrap();
        let geo = Arc::new(GeoDb::from_bytes(w.build().unwrap()).unwrap());
        let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
        let model = WebAcl::from_value(json!({
            "Name": "g", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/g/id",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("g"),
            "Rules": [{"Name": "nl", "Priority": 0, "VisibilityConfig": vis("nl"), "Action": {"Block": {}},
                       "Statement": {"GeoMatchStatement": {"CountryCodes": ["NL"]}}}]
        }))
        .unwrap();
        let acl = CompiledAcl::compile(&model, &Resources::default()).unwrap();
        let insp = AclInspector::local(acl).with_web_acl(&model).with_geo(geo);
        let from = |ip: &str| {
            Request::builder()
                .client_addr(format!("{ip}:1234").parse().unwrap())
                .method("GET")
                .uri("/")
                .header("host", "x")
                .build()
        };
        let nl = insp.inspect_detailed(&from("192.0.2.9")).unwrap();
        assert!(matches!(nl.decision, Decision::Block(_)));
        assert_eq!(nl.detail.unwrap().country.as_deref(), Some("NL"));
        let fr = insp.inspect_detailed(&from("198.51.100.9")).unwrap();
        assert!(matches!(fr.decision, Decision::Allow { .. }));
        assert_eq!(fr.detail.unwrap().country.as_deref(), Some("FR"));
        let unknown = insp.inspect_detailed(&from("203.0.113.9")).unwrap();
        assert_eq!(unknown.detail.unwrap().country, None);
    }

    #[test]
    fn detail_names_the_web_acl_and_rules() {
        let vis = |n: &str| json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": false, "MetricName": n});
        let model = WebAcl::from_value(json!({
            "Name": "t", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/id",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("t-metric"),
            "Rules": [{"Name": "admin", "Priority": 0, "VisibilityConfig": vis("admin-metric"),
                "Statement": {"ByteMatchStatement": {"SearchString": "L2FkbWlu", "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}},
                "Action": {"Block": {}}}]
        }))
        .unwrap();
        let compiled = CompiledAcl::compile(&model, &Resources::default()).unwrap();
        let ins = AclInspector::local(compiled).with_web_acl(&model);
        let out = ins
            .inspect_detailed(&Request::builder().uri("/admin").build())
            .unwrap();
        assert_eq!(out.decision, Decision::block());
        let d = out.detail.unwrap();
        assert_eq!(&*d.acl.arn, model.arn.as_str());
        assert_eq!(d.acl.name, "t");
        assert_eq!(d.acl.id, "id");
        let t = d.terminating.as_ref().unwrap();
        assert_eq!(t.rule.name, "admin");
        assert_eq!(t.rule.kind, RuleKind::Regular);
        assert!(t.rule.visibility.sampled && !t.rule.visibility.metrics);
        assert_eq!(
            d.matched_metric_names(),
            vec![("admin-metric", WafAction::Block)]
        );
        let out = ins
            .inspect_detailed(&Request::builder().uri("/x").build())
            .unwrap();
        let d = out.detail.unwrap();
        assert!(d.terminating.is_none());
        assert_eq!(
            d.matched_metric_names(),
            vec![("t-metric", WafAction::Allow)]
        );
        // Without the model: the compiled name stands in for ARN and metric names.
        let bare = AclInspector::local(acl());
        let d = bare
            .inspect_detailed(&Request::builder().uri("/admin").build())
            .unwrap()
            .detail
            .unwrap();
        assert_eq!(&*d.acl.arn, "t");
        assert_eq!(d.matched_metric_names(), vec![("admin", WafAction::Block)]);
    }

    #[test]
    fn maps_verdicts() {
        let inspector = AclInspector::local(acl());
        let blocked = inspector
            .inspect(&Request::builder().uri("/admin/x").build())
            .unwrap();
        let Decision::Block(b) = blocked else {
            panic!("expected block, got {blocked:?}")
        };
        assert_eq!(b.status, 418);
        assert_eq!(b.body, b"blocked");
        assert!(
            b.headers
                .iter()
                .any(|(n, v)| n == "content-type" && v.starts_with("text/plain"))
        );
        let allowed = inspector
            .inspect(&Request::builder().uri("/x").build())
            .unwrap();
        assert_eq!(
            allowed,
            Decision::Allow {
                insert_headers: vec![("x-amzn-waf-seen".into(), "1".into())]
            }
        );
        assert!(inspector.body_limit().is_some());
    }
}
