//! Validation: the hand-written valid documents pass, and one mutation per rule fails with the expected
//! `Field`, `Parameter` and `Reason`.

use portcullis_waf_model::validate::check::*;
use portcullis_waf_model::validate::*;
use portcullis_waf_model::*;
use serde_json::{Value, json};

use super::data;
use super::roundtrip::all_statements;
use ParameterExceptionField as F;

fn base_acl() -> Value {
    serde_json::from_slice(&data("example_1_17.json")).expect("json")
}

fn vis(name: &str) -> Value {
    json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": name})
}

fn tt() -> Value {
    json!([{"Priority": 0, "Type": "NONE"}])
}

fn geo() -> Value {
    json!({"GeoMatchStatement": {"CountryCodes": ["US"]}})
}

/// A web ACL with a single rule `{Name: "x", Priority: 100, Statement: s, Action: Block}` appended.
fn acl_with_statement(s: Value) -> Value {
    let mut acl = base_acl();
    push_rule(
        &mut acl,
        json!({"Name": "x", "Priority": 100, "Statement": s, "Action": {"Block": {}}, "VisibilityConfig": vis("x")}),
    );
    acl
}

fn push_rule(acl: &mut Value, rule: Value) {
    acl["Rules"].as_array_mut().expect("rules").push(rule);
}

fn acl_error(acl: Value) -> ValidationError {
    let parsed = WebAcl::from_value(acl.clone()).unwrap_or_else(|e| panic!("parse: {e}\n{acl:#}"));
    validate_web_acl(&parsed, Scope::Regional).expect_err("expected a validation error")
}

type Case = (&'static str, Value, F, &'static str, &'static str);

fn rate(body: Value) -> Value {
    json!({"RateBasedStatement": body})
}

fn cases() -> Vec<Case> {
    let bm = |s: &str, pc: &str, f: Value, t: Value| json!({"ByteMatchStatement": {"SearchString": s, "FieldToMatch": f, "TextTransformations": t, "PositionalConstraint": pc}});
    let uri = json!({"UriPath": {}});
    let mut c: Vec<Case> = Vec::new();
    let mut acl = base_acl();
    acl["Name"] = json!("bad name");
    c.push((
        "acl name pattern",
        acl,
        F::WebAcl,
        "bad name",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Name"] = json!("n".repeat(129));
    c.push(("acl name length", acl, F::WebAcl, "", REASON_INVALID_LENGTH));
    let mut acl = base_acl();
    acl["Id"] = json!("0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9");
    c.push((
        "acl id uuid",
        acl,
        F::WebAcl,
        "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Description"] = json!("ab");
    c.push((
        "description pattern",
        acl,
        F::WebAcl,
        "ab",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["VisibilityConfig"]["MetricName"] = json!("has space");
    c.push((
        "metric name pattern",
        acl,
        F::MetricName,
        "has space",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["VisibilityConfig"]["MetricName"] = json!("Default_Action");
    c.push((
        "metric name reserved",
        acl,
        F::MetricName,
        "Default_Action",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][1]["Name"] = json!("tag-admin");
    c.push((
        "duplicate rule name",
        acl,
        F::Rule,
        "tag-admin",
        REASON_DUPLICATE,
    ));
    let mut acl = base_acl();
    acl["Rules"][1]["Priority"] = json!(0);
    c.push(("duplicate priority", acl, F::Rule, "0", REASON_DUPLICATE));
    let mut acl = base_acl();
    acl["Rules"][1]["Priority"] = json!(-1);
    c.push(("negative priority", acl, F::Rule, "-1", REASON_OUT_OF_RANGE));
    let mut acl = base_acl();
    acl["Rules"][0]["OverrideAction"] = json!({"None": {}});
    c.push((
        "action and override",
        acl,
        F::Rule,
        "Rule",
        REASON_EXACTLY_ONE,
    ));
    let mut acl = base_acl();
    acl["Rules"][3]
        .as_object_mut()
        .expect("rule")
        .remove("OverrideAction");
    c.push((
        "neither action nor override",
        acl,
        F::Rule,
        "Rule",
        REASON_EXACTLY_ONE,
    ));
    let mut acl = base_acl();
    acl["Rules"][3]
        .as_object_mut()
        .expect("rule")
        .remove("OverrideAction");
    acl["Rules"][3]["Action"] = json!({"Block": {}});
    c.push((
        "action on managed group",
        acl,
        F::Rule,
        "Statement",
        REASON_INVALID_REFERENCE,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]
        .as_object_mut()
        .expect("rule")
        .remove("Action");
    acl["Rules"][0]["OverrideAction"] = json!({"Count": {}});
    c.push((
        "override on plain rule",
        acl,
        F::OverrideAction,
        "OverrideAction",
        REASON_INVALID_REFERENCE,
    ));
    c.push((
        "duplicate transformation priority",
        acl_with_statement(bm(
            "YQ==",
            "EXACTLY",
            uri.clone(),
            json!([{"Priority": 0, "Type": "NONE"}, {"Priority": 0, "Type": "LOWERCASE"}]),
        )),
        F::TextTransformation,
        "0",
        REASON_DUPLICATE,
    ));
    c.push((
        "no transformations",
        acl_with_statement(bm("YQ==", "EXACTLY", uri.clone(), json!([]))),
        F::TextTransformation,
        "TextTransformations",
        REASON_INVALID_LENGTH,
    ));
    let eleven: Vec<Value> = (0..11)
        .map(|p| json!({"Priority": p, "Type": "NONE"}))
        .collect();
    c.push((
        "eleven transformations",
        acl_with_statement(bm("YQ==", "EXACTLY", uri.clone(), json!(eleven))),
        F::TextTransformation,
        "TextTransformations",
        REASON_INVALID_LENGTH,
    ));
    c.push((
        "and with one statement",
        acl_with_statement(json!({"AndStatement": {"Statements": [geo()]}})),
        F::AndStatement,
        "Statements",
        REASON_THRESHOLD,
    ));
    c.push((
        "or with one statement",
        acl_with_statement(json!({"OrStatement": {"Statements": [geo()]}})),
        F::OrStatement,
        "Statements",
        REASON_THRESHOLD,
    ));
    c.push((
        "rate-based nested",
        acl_with_statement(json!({"AndStatement": {"Statements": [geo(),
        rate(json!({"Limit": 100, "AggregateKeyType": "IP"}))]}})),
        F::RateBasedStatement,
        "RateBasedStatement",
        REASON_NOT_NESTABLE,
    ));
    let mut acl = base_acl();
    push_rule(
        &mut acl,
        json!({"Name": "x", "Priority": 100, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("x"),
        "Statement": {"NotStatement": {"Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}}}}}),
    );
    // A Not around a group is not a group rule, so OverrideAction is the first complaint; use Action instead.
    acl["Rules"][4]
        .as_object_mut()
        .expect("rule")
        .remove("OverrideAction");
    acl["Rules"][4]["Action"] = json!({"Block": {}});
    c.push((
        "managed group nested",
        acl,
        F::ManagedRuleSetStatement,
        "MANAGED_RULE_SET_STATEMENT",
        REASON_NOT_NESTABLE,
    ));
    c.push((
        "rate-based scope-down",
        acl_with_statement(rate(json!({"Limit": 100, "AggregateKeyType": "CONSTANT",
        "ScopeDownStatement": rate(json!({"Limit": 100, "AggregateKeyType": "IP"}))}))),
        F::ScopeDown,
        "RateBasedStatement",
        REASON_NOT_NESTABLE,
    ));
    let mut acl = base_acl();
    acl["Rules"][1]["Action"]["Block"]["CustomResponse"]["ResponseCode"] = json!(600);
    c.push((
        "response code",
        acl,
        F::CustomResponse,
        "600",
        REASON_OUT_OF_RANGE,
    ));
    let mut acl = base_acl();
    acl["Rules"][1]["Action"]["Block"]["CustomResponse"]["CustomResponseBodyKey"] = json!("nope");
    c.push((
        "missing body key",
        acl,
        F::CustomResponseBody,
        "nope",
        REASON_INVALID_REFERENCE,
    ));
    let mut acl = base_acl();
    acl["Rules"][1]["Action"]["Block"]["CustomResponse"]["ResponseHeaders"] =
        json!([{"Name": "Content-Type", "Value": "x"}]);
    c.push((
        "content-type header",
        acl,
        F::CustomResponse,
        "Content-Type",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["Action"] = json!({"Count": {"CustomRequestHandling": {"InsertHeaders": [
        {"Name": "a", "Value": "1"}, {"Name": "A", "Value": "2"}]}}});
    c.push((
        "duplicate inserted header",
        acl,
        F::CustomRequestHandling,
        "a",
        REASON_DUPLICATE,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["Action"] = json!({"Count": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "a b", "Value": "1"}]}}});
    c.push((
        "inserted header name",
        acl,
        F::CustomRequestHandling,
        "a b",
        REASON_INVALID_FORMAT,
    ));
    c.push((
        "rate limit",
        acl_with_statement(rate(json!({"Limit": 5, "AggregateKeyType": "IP"}))),
        F::RateBasedStatement,
        "5",
        REASON_OUT_OF_RANGE,
    ));
    c.push((
        "rate window",
        acl_with_statement(rate(
            json!({"Limit": 100, "EvaluationWindowSec": 30, "AggregateKeyType": "IP"}),
        )),
        F::RateBasedStatement,
        "30",
        REASON_OUT_OF_RANGE,
    ));
    c.push((
        "custom keys missing",
        acl_with_statement(rate(
            json!({"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS"}),
        )),
        F::CustomKeys,
        "CustomKeys",
        REASON_INVALID_LENGTH,
    ));
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"Header": {"Name": format!("h{i}"), "TextTransformations": tt()}}))
        .collect();
    c.push((
        "six custom keys",
        acl_with_statement(rate(
            json!({"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS", "CustomKeys": six}),
        )),
        F::CustomKeys,
        "CustomKeys",
        REASON_INVALID_LENGTH,
    ));
    c.push((
        "custom keys without CUSTOM_KEYS",
        acl_with_statement(rate(json!({"Limit": 100, "AggregateKeyType": "IP",
        "CustomKeys": [{"HTTPMethod": {}}]}))),
        F::CustomKeys,
        "IP",
        REASON_INVALID_COMBINATION,
    ));
    c.push((
        "forwarded ip without config",
        acl_with_statement(rate(
            json!({"Limit": 100, "AggregateKeyType": "FORWARDED_IP"}),
        )),
        F::ForwardedIpConfig,
        "ForwardedIPConfig",
        REASON_MISSING,
    ));
    c.push((
        "constant without scope-down",
        acl_with_statement(rate(json!({"Limit": 100, "AggregateKeyType": "CONSTANT"}))),
        F::ScopeDown,
        "ScopeDownStatement",
        REASON_MISSING,
    ));
    c.push((
        "IP as the only custom key",
        acl_with_statement(rate(
            json!({"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"IP": {}}]}),
        )),
        F::CustomKeys,
        "IP",
        REASON_INVALID_COMBINATION,
    ));
    c.push((
        "label namespace key",
        acl_with_statement(rate(
            json!({"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"LabelNamespace": {"Namespace": "a:b"}}]}),
        )),
        F::CustomKeys,
        "a:b",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][2]["Action"] = json!({"Allow": {}});
    c.push((
        "rate-based allow",
        acl,
        F::RuleAction,
        "Allow",
        REASON_INVALID_COMBINATION,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["RuleLabels"] = json!([{"Name": "bad label!"}]);
    c.push((
        "label pattern",
        acl,
        F::Rule,
        "bad label!",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["RuleLabels"] = json!([{"Name": "ok"}, {"Name": "webacl:x"}]);
    c.push((
        "reserved label word",
        acl,
        F::Rule,
        "webacl:x",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["RuleLabels"] = json!([{"Name": "a:b:c:d:e:f:g"}]);
    c.push((
        "six namespaces",
        acl,
        F::Rule,
        "a:b:c:d:e:f:g",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["Rules"][3]["RuleLabels"] = json!([{"Name": "x"}]);
    c.push((
        "labels on group rule",
        acl,
        F::Rule,
        "RuleLabels",
        REASON_INVALID_COMBINATION,
    ));
    c.push((
        "label match key",
        acl_with_statement(json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "a b"}})),
        F::LabelMatchStatement,
        "a b",
        REASON_INVALID_FORMAT,
    ));
    c.push((
        "unknown country",
        acl_with_statement(json!({"GeoMatchStatement": {"CountryCodes": ["ZZ"]}})),
        F::GeoMatchStatement,
        "ZZ",
        REASON_INVALID_FORMAT,
    ));
    c.push((
        "no countries",
        acl_with_statement(json!({"GeoMatchStatement": {}})),
        F::GeoMatchStatement,
        "CountryCodes",
        REASON_INVALID_LENGTH,
    ));
    let long = base64_of(&"a".repeat(201));
    c.push((
        "search string too long",
        acl_with_statement(bm(&long, "CONTAINS", uri.clone(), tt())),
        F::ByteMatchStatement,
        "",
        REASON_INVALID_LENGTH,
    ));
    c.push((
        "contains word non-word",
        acl_with_statement(bm(&base64_of("a-b"), "CONTAINS_WORD", uri.clone(), tt())),
        F::ByteMatchStatement,
        "a-b",
        REASON_INVALID_FORMAT,
    ));
    c.push(("sqli on ja3", acl_with_statement(json!({"SqliMatchStatement": {"FieldToMatch": {"JA3Fingerprint": {"FallbackBehavior": "MATCH"}},
        "TextTransformations": tt()}})), F::SqliMatchStatement, "JA3Fingerprint", REASON_INVALID_COMBINATION));
    c.push(("xss on ja4", acl_with_statement(json!({"XssMatchStatement": {"FieldToMatch": {"JA4Fingerprint": {"FallbackBehavior": "MATCH"}},
        "TextTransformations": tt()}})), F::XssMatchStatement, "JA4Fingerprint", REASON_INVALID_COMBINATION));
    c.push(("pre-parse on uri path", acl_with_statement(json!({"XssMatchStatement": {"FieldToMatch": {"UriPath": {}},
        "TextTransformations": tt(), "PreParseTextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}})),
        F::PreParseTextTransformation, "UriPath", REASON_INVALID_COMBINATION));
    c.push(("json pointer", acl_with_statement(json!({"XssMatchStatement": {"FieldToMatch": {"JsonBody": {
        "MatchPattern": {"IncludedPaths": ["a/b"]}, "MatchScope": "ALL"}}, "TextTransformations": tt()}})),
        F::JsonMatchPattern, "a/b", REASON_INVALID_FORMAT));
    c.push((
        "bad regex",
        acl_with_statement(
            json!({"RegexMatchStatement": {"RegexString": "(", "FieldToMatch": {"UriPath": {}},
        "TextTransformations": tt()}}),
        ),
        F::Statement,
        "(",
        REASON_INVALID_FORMAT,
    ));
    c.push((
        "bad arn",
        acl_with_statement(
            json!({"IPSetReferenceStatement": {"ARN": "not-an-arn-but-long-enough"}}),
        ),
        F::IpSetReferenceStatement,
        "not-an-arn-but-long-enough",
        REASON_INVALID_ARN,
    ));
    c.push((
        "forwarded header name",
        acl_with_statement(json!({"GeoMatchStatement": {"CountryCodes": ["US"],
        "ForwardedIPConfig": {"HeaderName": "X_Forwarded", "FallbackBehavior": "MATCH"}}})),
        F::ForwardedIpConfig,
        "X_Forwarded",
        REASON_INVALID_FORMAT,
    ));
    c.push((
        "size too large",
        acl_with_statement(
            json!({"SizeConstraintStatement": {"FieldToMatch": {"Body": {}},
        "ComparisonOperator": "GT", "Size": 21474836481_i64, "TextTransformations": tt()}}),
        ),
        F::SizeConstraintStatement,
        "21474836481",
        REASON_OUT_OF_RANGE,
    ));
    c.push((
        "asn range",
        acl_with_statement(json!({"AsnMatchStatement": {"AsnList": [4294967296_i64]}})),
        F::Statement,
        "4294967296",
        REASON_OUT_OF_RANGE,
    ));
    let mut acl = base_acl();
    acl["Rules"][3]["Statement"]["ManagedRuleGroupStatement"]["ManagedRuleGroupConfigs"] =
        json!([{"LoginPath": "/a", "PayloadType": "JSON"}]);
    c.push((
        "managed config two members",
        acl,
        F::ManagedRuleGroupConfig,
        "ManagedRuleGroupConfig",
        REASON_EXACTLY_ONE,
    ));
    let mut acl = base_acl();
    acl["Rules"][3]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"] = json!([{"Name": "a", "ActionToUse": {"Count": {}}}, {"Name": "a", "ActionToUse": {"Block": {}}}]);
    c.push((
        "duplicate override",
        acl,
        F::RuleAction,
        "a",
        REASON_DUPLICATE,
    ));
    let mut acl = base_acl();
    acl["Rules"][0]["CaptchaConfig"] = json!({"ImmunityTimeProperty": {"ImmunityTime": 30}});
    c.push(("captcha immunity", acl, F::Rule, "30", REASON_OUT_OF_RANGE));
    let mut acl = base_acl();
    acl["ChallengeConfig"] = json!({"ImmunityTimeProperty": {"ImmunityTime": 100}});
    c.push((
        "challenge immunity",
        acl,
        F::ChallengeConfig,
        "100",
        REASON_OUT_OF_RANGE,
    ));
    let mut acl = base_acl();
    acl["TokenDomains"] = json!(["bad domain"]);
    c.push((
        "token domain",
        acl,
        F::TokenDomain,
        "bad domain",
        REASON_INVALID_FORMAT,
    ));
    let mut acl = base_acl();
    acl["AssociationConfig"] =
        json!({"RequestBody": {"API_GATEWAY": {"DefaultSizeInspectionLimit": "KB_8"}}});
    c.push((
        "KB_8 outside ALB",
        acl,
        F::AssociatedResourceType,
        "KB_8",
        REASON_INVALID_COMBINATION,
    ));
    let mut acl = base_acl();
    acl["AssociationConfig"] =
        json!({"RequestBody": {"CLOUDFRONT": {"DefaultSizeInspectionLimit": "KB_16"}}});
    c.push((
        "cloudfront type in regional scope",
        acl,
        F::AssociatedResourceType,
        "CLOUDFRONT",
        REASON_INVALID_COMBINATION,
    ));
    let mut acl = base_acl();
    acl["DataProtectionConfig"] =
        json!({"DataProtections": [{"Field": {"FieldType": "SINGLE_HEADER"}, "Action": "HASH"}]});
    c.push((
        "data protection keys",
        acl,
        F::DataProtectionConfig,
        "SINGLE_HEADER",
        REASON_MISSING,
    ));
    let mut acl = base_acl();
    acl["CustomResponseBodies"] = json!({});
    c.push((
        "empty response bodies",
        acl,
        F::CustomResponseBody,
        "CustomResponseBodies",
        REASON_INVALID_LENGTH,
    ));
    let mut deep = geo();
    for _ in 0..40 {
        deep = json!({"NotStatement": {"Statement": deep}});
    }
    c.push((
        "nesting depth",
        acl_with_statement(deep),
        F::Statement,
        "Statement",
        REASON_INVALID_LENGTH,
    ));
    c
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn valid_documents_pass() {
    let acl = WebAcl::from_json(&data("example_1_17.json")).expect("parse");
    validate_web_acl(&acl, Scope::Regional).expect("1.17 example");
    let acl = WebAcl::from_json(&data("full_web_acl.json")).expect("parse");
    validate_web_acl(&acl, Scope::Regional).expect("full");
    for s in all_statements() {
        let st = Statement::from_value(s.clone()).expect("parse");
        validate_statement(&st, RuleContainer::WebAcl).unwrap_or_else(|e| panic!("{e}\n{s:#}"));
    }
}

#[test]
fn each_rule_has_a_negative_case() {
    let cases = cases();
    assert!(cases.len() >= 55, "{} cases", cases.len());
    for (name, doc, field, parameter, reason) in cases {
        let e = acl_error(doc);
        assert_eq!(e.field, field, "{name}: {e}");
        if !parameter.is_empty() {
            assert_eq!(e.parameter, parameter, "{name}: {e}");
        }
        assert_eq!(e.reason, reason, "{name}: {e}");
    }
}

#[test]
fn rule_group_rules() {
    let rg = json!({"Name": "g", "Id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "Capacity": 0,
        "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "VisibilityConfig": vis("g"), "Rules": []});
    let parsed = RuleGroup::from_value(rg.clone()).expect("parse");
    let e = validate_rule_group(&parsed, Scope::Regional).unwrap_err();
    assert_eq!(
        (e.field, e.parameter.as_str(), e.reason.as_str()),
        (F::RuleGroup, "0", REASON_OUT_OF_RANGE)
    );

    let mut rg = rg;
    rg["Capacity"] = json!(100);
    rg["Rules"] = json!([{"Name": "r", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("r"),
        "Statement": {"RuleGroupReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/h/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"}}}]);
    let parsed = RuleGroup::from_value(rg.clone()).expect("parse");
    let e = validate_rule_group(&parsed, Scope::Regional).unwrap_err();
    assert_eq!(e.field, F::RuleGroupReferenceStatement);
    assert_eq!(e.reason, REASON_INVALID_REFERENCE);
    // The same rule is fine in a web ACL.
    validate_rules(parsed.rules(), RuleContainer::WebAcl, None).expect("web ACL rule");
}

#[test]
fn ip_sets() {
    let ok = |addresses: Value, version: &str| {
        IpSet::from_value(json!({"Name": "s", "Id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/s/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "IPAddressVersion": version, "Addresses": addresses}))
        .expect("parse")
    };
    validate_ip_set(&ok(json!([]), "IPV4")).expect("empty set");
    validate_ip_set(&ok(json!(["10.0.0.0/8", "192.0.2.1/32"]), "IPV4")).expect("v4");
    validate_ip_set(&ok(json!(["2001:db8::/32", "::1/128"]), "IPV6")).expect("v6");
    for (addr, version, field) in [
        ("10.0.0.0", "IPV4", F::IpAddress),
        ("10.0.0.0/0", "IPV4", F::IpAddress),
        ("10.0.0.0/33", "IPV4", F::IpAddress),
        ("", "IPV4", F::IpAddress),
        ("10.0.0.0/8", "IPV6", F::IpAddressVersion),
        ("2001:db8::/32", "IPV4", F::IpAddressVersion),
    ] {
        let e = validate_ip_set(&ok(json!([addr]), version)).unwrap_err();
        assert_eq!(e.field, field, "{addr}: {e}");
        assert_eq!(e.parameter, addr);
    }
}

#[test]
fn regex_pattern_sets() {
    let set = |list: Value| {
        RegexPatternSet::from_value(json!({"Name": "p", "RegularExpressionList": list}))
            .expect("parse")
    };
    validate_regex_pattern_set(&set(json!([{"RegexString": "^/api/v[0-9]+"}]))).expect("valid");
    let e = validate_regex_pattern_set(&set(json!([{"RegexString": "a(b"}]))).unwrap_err();
    assert_eq!((e.field, e.parameter.as_str()), (F::RegexPatternSet, "a(b"));
    let e =
        validate_regex_pattern_set(&set(json!([{"RegexString": "x".repeat(513)}]))).unwrap_err();
    assert_eq!(e.reason, REASON_INVALID_LENGTH);
}

#[test]
fn json_pointer_pattern() {
    for ok in ["/", "/a", "/a/b", "/~0/~1", "/a b"] {
        assert!(is_json_pointer(ok), "{ok}");
    }
    for bad in ["", "a", "//", "/a/", "/~2", "/~"] {
        assert!(!is_json_pointer(bad), "{bad}");
    }
}

#[test]
fn overrides_must_name_rules_of_a_customer_group() {
    let group = RuleGroup::from_value(json!({"Name": "g", "Id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "Capacity": 10,
        "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "VisibilityConfig": vis("g"),
        "Rules": [{"Name": "Known", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": vis("k"),
            "Statement": {"GeoMatchStatement": {"CountryCodes": ["US"]}}}]}))
    .expect("group");
    let reference = |overrides: Value, excluded: Value| {
        let Statement::RuleGroupReference(r) =
            Statement::from_value(json!({"RuleGroupReferenceStatement": {
            "ARN": group.arn, "RuleActionOverrides": overrides, "ExcludedRules": excluded}}))
            .expect("parse")
        else {
            panic!("not a reference")
        };
        r
    };
    validate_group_overrides(
        &reference(
            json!([{"Name": "Known", "ActionToUse": {"Count": {}}}]),
            json!([{"Name": "Known"}]),
        ),
        &group,
    )
    .expect("known names");
    // Names are case-sensitive.
    let e = validate_group_overrides(
        &reference(
            json!([{"Name": "known", "ActionToUse": {"Count": {}}}]),
            json!([]),
        ),
        &group,
    )
    .unwrap_err();
    assert_eq!(
        (e.field, e.parameter.as_str(), e.reason.as_str()),
        (F::RuleAction, "known", REASON_INVALID_REFERENCE)
    );
    let e = validate_group_overrides(&reference(json!([]), json!([{"Name": "Gone"}])), &group)
        .unwrap_err();
    assert_eq!((e.field, e.parameter.as_str()), (F::ExcludedRule, "Gone"));
}

#[test]
fn bedrock_role_arn_is_checked() {
    let mk = |arn: &str| {
        acl_with_managed_config(
            json!({"AWSManagedRulesAISecurityRuleSet": {"BedrockGuardrails": {"ProtectRequestAndResponse": {"RoleArn": arn}}}}),
        )
    };
    let acl =
        WebAcl::from_value(mk("arn:aws:iam::123456789012:role/path/to/guard-role")).expect("parse");
    validate_web_acl(&acl, Scope::Regional).expect("valid role");
    let e = acl_error(mk("arn:aws:iam::1234:role/x"));
    assert_eq!(
        (e.field, e.reason.as_str()),
        (F::RoleArn, REASON_INVALID_ARN)
    );
}

fn acl_with_managed_config(config: Value) -> Value {
    let mut acl = base_acl();
    acl["Rules"][3]["Statement"]["ManagedRuleGroupStatement"]["ManagedRuleGroupConfigs"] =
        json!([config]);
    acl
}

#[test]
fn references_are_collected_through_nesting() {
    let acl = WebAcl::from_json(&data("example_1_17.json")).expect("parse");
    let refs = References::of_rules(acl.rules());
    assert_eq!(refs.managed_rule_groups.len(), 1);
    assert!(refs.ip_sets.is_empty());
    let st = Statement::from_value(json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CONSTANT",
        "ScopeDownStatement": {"OrStatement": {"Statements": [
            {"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:1:regional/ipset/a/1"}},
            {"NotStatement": {"Statement": {"RegexPatternSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:1:regional/regexpatternset/b/2",
                "FieldToMatch": {"UriPath": {}}, "TextTransformations": tt()}}}}]}}}}))
    .expect("parse");
    let mut order = Vec::new();
    st.walk(&mut |s| order.push(s.member_name()));
    assert_eq!(
        order,
        [
            "RateBasedStatement",
            "OrStatement",
            "IPSetReferenceStatement",
            "NotStatement",
            "RegexPatternSetReferenceStatement"
        ]
    );
    let rule = Rule::from_value(
        json!({"Name": "r", "Priority": 0, "Action": {"Block": {}}, "Statement": st.to_json(),
        "VisibilityConfig": vis("r")}),
    )
    .expect("rule");
    let refs = References::of_rules(std::slice::from_ref(&rule));
    assert!(
        refs.ip_sets
            .contains("arn:aws:wafv2:us-east-1:1:regional/ipset/a/1")
    );
    assert_eq!(refs.regex_pattern_sets.len(), 1);
}
