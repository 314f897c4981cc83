//! Capacity (WCU): hand-worked totals per statement type, the §1.17 example, and the limit checks.

use std::collections::HashMap;

use portcullis_waf_model::capacity::*;
use portcullis_waf_model::validate::check::REASON_CAPACITY;
use portcullis_waf_model::*;
use serde_json::{Value, json};

use super::data;

/// Rule groups by ARN plus the AWS managed table.
struct Groups(HashMap<String, u64>);

impl CapacityResolver for Groups {
    fn rule_group(&self, arn: &str) -> Option<u64> {
        self.0.get(arn).copied()
    }
    fn managed_group(&self, vendor: &str, name: &str, _version: Option<&str>) -> Option<u64> {
        aws_managed_capacity(vendor, name)
    }
}

const GROUP_ARN: &str = "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

fn groups() -> Groups {
    Groups(HashMap::from([(GROUP_ARN.to_string(), 150)]))
}

fn wcu(s: Value) -> u64 {
    let st = Statement::from_value(s.clone()).unwrap_or_else(|e| panic!("{e}\n{s:#}"));
    statement_capacity(&st, &groups()).expect("capacity")
}

fn t(types: &[&str]) -> Value {
    Value::Array(
        types
            .iter()
            .enumerate()
            .map(|(i, ty)| json!({"Priority": i, "Type": ty}))
            .collect(),
    )
}

fn bm(pc: &str, f: Value, tts: &[&str]) -> Value {
    json!({"ByteMatchStatement": {"SearchString": "YQ==", "FieldToMatch": f, "TextTransformations": t(tts), "PositionalConstraint": pc}})
}

#[test]
fn match_statements() {
    let uri = json!({"UriPath": {}});
    let all_args = json!({"AllQueryArguments": {}});
    let json_body = json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE"}});
    // Byte match: 2 for exact/prefix/suffix, 10 for contains; NONE is free; +10 per transformation.
    assert_eq!(wcu(bm("EXACTLY", uri.clone(), &["NONE"])), 2);
    assert_eq!(wcu(bm("ENDS_WITH", uri.clone(), &["LOWERCASE"])), 12);
    assert_eq!(wcu(bm("CONTAINS_WORD", uri.clone(), &["NONE"])), 10);
    // All query arguments +10, two transformations +20.
    assert_eq!(
        wcu(bm(
            "CONTAINS",
            all_args.clone(),
            &["LOWERCASE", "URL_DECODE"]
        )),
        40
    );
    // JSON body doubles the base: 2*2 + 10.
    assert_eq!(
        wcu(bm("STARTS_WITH", json_body.clone(), &["URL_DECODE"])),
        14
    );
    // SQLi: 20 LOW (default), 30 HIGH.
    assert_eq!(
        wcu(
            json!({"SqliMatchStatement": {"FieldToMatch": {"Body": {}}, "TextTransformations": t(&["NONE"])}})
        ),
        20
    );
    assert_eq!(
        wcu(
            json!({"SqliMatchStatement": {"FieldToMatch": all_args, "TextTransformations": t(&["URL_DECODE"]),
        "SensitivityLevel": "HIGH"}})
        ),
        50
    );
    // XSS: 40, doubled on JSON body, + 2 transformations.
    assert_eq!(
        wcu(
            json!({"XssMatchStatement": {"FieldToMatch": json_body, "TextTransformations": t(&["URL_DECODE", "HTML_ENTITY_DECODE"])}})
        ),
        100
    );
    assert_eq!(
        wcu(
            json!({"SizeConstraintStatement": {"FieldToMatch": {"Body": {}}, "ComparisonOperator": "GT", "Size": 8192,
        "TextTransformations": t(&["NONE"])}})
        ),
        1
    );
    assert_eq!(
        wcu(
            json!({"RegexMatchStatement": {"RegexString": "a+", "FieldToMatch": uri.clone(),
        "TextTransformations": t(&["HTML_ENTITY_DECODE"])}})
        ),
        13
    );
    assert_eq!(
        wcu(
            json!({"RegexPatternSetReferenceStatement": {"ARN": GROUP_ARN, "FieldToMatch": uri,
        "TextTransformations": t(&["NONE"])}})
        ),
        25
    );
    // Pre-parse transformations are charged like transformations.
    assert_eq!(
        wcu(
            json!({"ByteMatchStatement": {"SearchString": "YQ==", "FieldToMatch": {"SingleQueryArgument": {"Name": "q"}},
        "TextTransformations": t(&["NONE"]), "PreParseTextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}],
        "PositionalConstraint": "EXACTLY"}})
        ),
        12
    );
}

#[test]
fn flat_statements() {
    assert_eq!(
        wcu(json!({"GeoMatchStatement": {"CountryCodes": ["US", "CA"]}})),
        1
    );
    assert_eq!(
        wcu(json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "a"}})),
        1
    );
    assert_eq!(wcu(json!({"AsnMatchStatement": {"AsnList": [1, 2, 3]}})), 1);
    assert_eq!(
        wcu(json!({"IPSetReferenceStatement": {"ARN": GROUP_ARN}})),
        1
    );
    assert_eq!(
        wcu(json!({"IPSetReferenceStatement": {"ARN": GROUP_ARN,
        "IPSetForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH", "Position": "FIRST"}}})),
        1
    );
    assert_eq!(
        wcu(json!({"IPSetReferenceStatement": {"ARN": GROUP_ARN,
        "IPSetForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH", "Position": "ANY"}}})),
        5
    );
}

#[test]
fn logical_statements_sum() {
    let geo = json!({"GeoMatchStatement": {"CountryCodes": ["US"]}});
    let label = json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "a"}});
    let xss = json!({"XssMatchStatement": {"FieldToMatch": {"QueryString": {}}, "TextTransformations": t(&["NONE"])}});
    assert_eq!(
        wcu(
            json!({"AndStatement": {"Statements": [geo.clone(), {"NotStatement": {"Statement": label}}]}})
        ),
        2
    );
    assert_eq!(
        wcu(json!({"OrStatement": {"Statements": [xss.clone(), geo.clone()]}})),
        41
    );
    assert_eq!(
        wcu(json!({"NotStatement": {"Statement": {"OrStatement": {"Statements": [xss, geo]}}}})),
        41
    );
}

#[test]
fn rate_based_and_groups() {
    assert_eq!(
        wcu(json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "IP"}})),
        2
    );
    // 2 + 3 keys × 30 + scope-down contains match (10).
    assert_eq!(
        wcu(
            json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"IP": {}}, {"HTTPMethod": {}}, {"Header": {"Name": "a", "TextTransformations": t(&["NONE"])}}],
        "ScopeDownStatement": bm("CONTAINS", json!({"UriPath": {}}), &["NONE"])}})
        ),
        102
    );
    // Managed group capacity + scope-down.
    assert_eq!(
        wcu(
            json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet",
        "ScopeDownStatement": {"GeoMatchStatement": {"CountryCodes": ["US"]}}}})
        ),
        701
    );
    assert_eq!(
        wcu(json!({"RuleGroupReferenceStatement": {"ARN": GROUP_ARN}})),
        150
    );
}

#[test]
fn unknown_groups_are_errors() {
    let st = Statement::from_value(
        json!({"ManagedRuleGroupStatement": {"VendorName": "Acme", "Name": "X"}}),
    )
    .expect("parse");
    assert_eq!(
        statement_capacity(&st, &groups()),
        Err(ModelError::UnknownManagedRuleGroup {
            vendor: "Acme".into(),
            name: "X".into()
        })
    );
    let arn = GROUP_ARN.replace("/g/", "/h/");
    let st =
        Statement::from_value(json!({"RuleGroupReferenceStatement": {"ARN": arn}})).expect("parse");
    assert_eq!(
        statement_capacity(&st, &groups()),
        Err(ModelError::UnknownRuleGroup { arn })
    );
}

#[test]
fn example_1_17_total() {
    let acl = WebAcl::from_json(&data("example_1_17.json")).expect("parse");
    let per_rule: Vec<u64> = acl
        .rules()
        .iter()
        .map(|r| rule_capacity(r, &AwsManagedOnly).expect("capacity"))
        .collect();
    // tag-admin: STARTS_WITH 2 + LOWERCASE 10; sqli-json: HIGH 30 ×2 (JSON body) + 2×10;
    // admin-rate: 2 + 2 keys × 30 + label scope-down 1; crs: AWSManagedRulesSQLiRuleSet 200.
    assert_eq!(per_rule, vec![12, 80, 63, 200]);
    assert_eq!(web_acl_capacity(&acl, &AwsManagedOnly), Ok(355));
    assert_eq!(
        check_web_acl_capacity(&acl, &AwsManagedOnly, MAX_WEB_ACL_CAPACITY),
        Ok(355)
    );
    match check_web_acl_capacity(&acl, &AwsManagedOnly, 300) {
        Err(ModelError::Invalid(e)) => {
            assert_eq!(e.field, ParameterExceptionField::WebAcl);
            assert_eq!(e.parameter, "355");
            assert_eq!(e.reason, REASON_CAPACITY);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule_group_capacity_limit() {
    let mut rg = json!({"Name": "g", "Id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "Capacity": 40, "ARN": GROUP_ARN,
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "g"},
        "Rules": [{"Name": "r", "Priority": 0, "Action": {"Block": {}},
            "Statement": {"XssMatchStatement": {"FieldToMatch": {"Body": {}}, "TextTransformations": t(&["NONE"])}},
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "r"}}]});
    let parsed = RuleGroup::from_value(rg.clone()).expect("parse");
    assert_eq!(check_rule_group_capacity(&parsed, &AwsManagedOnly), Ok(40));
    rg["Capacity"] = json!(39);
    let parsed = RuleGroup::from_value(rg).expect("parse");
    match check_rule_group_capacity(&parsed, &AwsManagedOnly) {
        Err(ModelError::Invalid(e)) => {
            assert_eq!(
                (e.field, e.parameter.as_str()),
                (ParameterExceptionField::RuleGroup, "40")
            );
        }
        other => panic!("{other:?}"),
    }
}
