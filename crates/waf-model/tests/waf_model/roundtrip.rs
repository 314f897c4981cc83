//! Round trips: parse → render equals the original JSON value, and parse(render(x)) == x, for every
//! statement type, field to match, action, custom key and resource; plus the parse-time errors.

use portcullis_waf_model::*;
use serde_json::{Value, json};

use super::data;

/// Parse `original` as `T`, render it, and require the exact same JSON value back.
pub fn assert_round_trip<T>(original: &Value) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let parsed: T =
        parse_value(original.clone()).unwrap_or_else(|e| panic!("parse: {e}\n{original:#}"));
    let rendered = render(&parsed);
    assert_eq!(&rendered, original, "render differs");
    let again: T = parse_value(rendered).expect("reparse");
    assert_eq!(again, parsed);
    parsed
}

fn tt() -> Value {
    json!([{"Priority": 0, "Type": "NONE"}])
}

/// One JSON example per `FieldToMatch` member (14).
pub fn all_fields() -> Vec<Value> {
    vec![
        json!({"SingleHeader": {"Name": "user-agent"}}),
        json!({"SingleQueryArgument": {"Name": "q"}}),
        json!({"AllQueryArguments": {}}),
        json!({"UriPath": {}}),
        json!({"QueryString": {}}),
        json!({"Body": {}}),
        json!({"Body": {"OversizeHandling": "NO_MATCH"}}),
        json!({"Method": {}}),
        json!({"JsonBody": {"MatchPattern": {"IncludedPaths": ["/a/b", "/c~1d"]}, "MatchScope": "KEY"}}),
        json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "ALL",
            "InvalidFallbackBehavior": "NO_MATCH", "OversizeHandling": "CONTINUE"}}),
        json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "ALL", "OversizeHandling": "MATCH"}}),
        json!({"Headers": {"MatchPattern": {"IncludedHeaders": ["a", "b"]}, "MatchScope": "KEY", "OversizeHandling": "CONTINUE"}}),
        json!({"Headers": {"MatchPattern": {"ExcludedHeaders": ["c"]}, "MatchScope": "VALUE", "OversizeHandling": "NO_MATCH"}}),
        json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": "MATCH"}}),
        json!({"Cookies": {"MatchPattern": {"IncludedCookies": ["session"]}, "MatchScope": "KEY", "OversizeHandling": "CONTINUE"}}),
        json!({"Cookies": {"MatchPattern": {"ExcludedCookies": ["x"]}, "MatchScope": "ALL", "OversizeHandling": "NO_MATCH"}}),
        json!({"HeaderOrder": {"OversizeHandling": "MATCH"}}),
        json!({"JA3Fingerprint": {"FallbackBehavior": "MATCH"}}),
        json!({"JA4Fingerprint": {"FallbackBehavior": "NO_MATCH"}}),
        json!({"UriFragment": {}}),
        json!({"UriFragment": {"FallbackBehavior": "MATCH"}}),
    ]
}

/// One JSON example per `Statement` member (16), several for the richer ones.
pub fn all_statements() -> Vec<Value> {
    let scope_down = json!({"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "zone:"}});
    vec![
        json!({"ByteMatchStatement": {"SearchString": "YWRtaW4=", "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}, {"Priority": 5, "Type": "URL_DECODE"}],
            "PositionalConstraint": "CONTAINS_WORD"}}),
        json!({"ByteMatchStatement": {"SearchString": "YWI=", "FieldToMatch": {"SingleQueryArgument": {"Name": "x"}},
            "TextTransformations": tt(),
            "PreParseTextTransformations": [{"Priority": 0, "Type": "COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA"}],
            "PositionalConstraint": "EXACTLY"}}),
        json!({"SqliMatchStatement": {"FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}}, "TextTransformations": tt()}}),
        json!({"SqliMatchStatement": {"FieldToMatch": {"QueryString": {}}, "TextTransformations": tt(), "SensitivityLevel": "LOW"}}),
        json!({"XssMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}}, "TextTransformations": tt()}}),
        json!({"SizeConstraintStatement": {"FieldToMatch": {"Body": {}}, "ComparisonOperator": "GT",
            "Size": 21474836480_i64, "TextTransformations": tt()}}),
        json!({"GeoMatchStatement": {"CountryCodes": ["US", "FR", "XK"]}}),
        json!({"GeoMatchStatement": {"CountryCodes": ["DE"],
            "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"}}}),
        json!({"RuleGroupReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "ExcludedRules": [{"Name": "r1"}],
            "RuleActionOverrides": [{"Name": "r2", "ActionToUse": {"Challenge": {}}}]}}),
        json!({"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/s/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"}}),
        json!({"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/s/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "IPSetForwardedIPConfig": {"HeaderName": "X-Real-IP", "FallbackBehavior": "MATCH", "Position": "ANY"}}}),
        json!({"RegexPatternSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/regexpatternset/p/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "FieldToMatch": {"SingleHeader": {"Name": "referer"}}, "TextTransformations": tt()}}),
        json!({"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}}),
        json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 600, "AggregateKeyType": "FORWARDED_IP",
            "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"}}}),
        json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CONSTANT", "ScopeDownStatement": scope_down}}),
        json!({"RateBasedStatement": {"Limit": 100, "EvaluationWindowSec": 120, "AggregateKeyType": "CUSTOM_KEYS",
            "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"},
            "CustomKeys": [
                {"Header": {"Name": "x-api-key", "TextTransformations": tt()}},
                {"Cookie": {"Name": "sid", "TextTransformations": tt()}},
                {"QueryArgument": {"Name": "user", "TextTransformations": tt()}},
                {"QueryString": {"TextTransformations": tt()}},
                {"HTTPMethod": {}}]}}),
        json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
            "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"},
            "CustomKeys": [
                {"ForwardedIP": {}}, {"IP": {}},
                {"LabelNamespace": {"Namespace": "awswaf:managed:aws:bot-control:"}},
                {"UriPath": {"TextTransformations": tt()}},
                {"ASN": {}}]}}),
        json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
            "CustomKeys": [{"JA3Fingerprint": {"FallbackBehavior": "MATCH"}}, {"JA4Fingerprint": {"FallbackBehavior": "NO_MATCH"}}]}}),
        json!({"AndStatement": {"Statements": [
            {"GeoMatchStatement": {"CountryCodes": ["US"]}},
            {"NotStatement": {"Statement": {"LabelMatchStatement": {"Scope": "LABEL", "Key": "a:b"}}}}]}}),
        json!({"OrStatement": {"Statements": [
            {"AsnMatchStatement": {"AsnList": [0, 4294967295_i64]}},
            {"AsnMatchStatement": {"AsnList": [64512], "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"}}}]}}),
        json!({"NotStatement": {"Statement": {"XssMatchStatement": {"FieldToMatch": {"Method": {}}, "TextTransformations": tt()}}}}),
        json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet",
            "Version": "Version_1.10", "ExcludedRules": [{"Name": "SizeRestrictions_BODY"}],
            "ScopeDownStatement": {"NotStatement": {"Statement": {"ByteMatchStatement": {"SearchString": "L2FwaQ==",
                "FieldToMatch": {"UriPath": {}}, "TextTransformations": tt(), "PositionalConstraint": "STARTS_WITH"}}}},
            "RuleActionOverrides": [{"Name": "NoUserAgent_HEADER", "ActionToUse": {"Captcha": {}}}]}}),
        json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesBotControlRuleSet",
            "ManagedRuleGroupConfigs": [{"AWSManagedRulesBotControlRuleSet": {"InspectionLevel": "TARGETED", "EnableMachineLearning": false}}]}}),
        json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesATPRuleSet",
            "ManagedRuleGroupConfigs": [{"AWSManagedRulesATPRuleSet": {"LoginPath": "/login",
                "RequestInspection": {"PayloadType": "JSON", "UsernameField": {"Identifier": "/user"}, "PasswordField": {"Identifier": "/pass"}},
                "ResponseInspection": {"StatusCode": {"SuccessCodes": [200], "FailureCodes": [401, 403]}},
                "EnableRegexInPath": true}}]}}),
        json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesACFPRuleSet",
            "ManagedRuleGroupConfigs": [{"AWSManagedRulesACFPRuleSet": {"CreationPath": "/signup", "RegistrationPagePath": "/register",
                "RequestInspection": {"PayloadType": "FORM_ENCODED", "EmailField": {"Identifier": "email"},
                    "PhoneNumberFields": [{"Identifier": "phone"}], "AddressFields": [{"Identifier": "street"}]},
                "ResponseInspection": {"Json": {"Identifier": "/ok", "SuccessValues": ["true"], "FailureValues": ["false"]}}}}]}}),
        json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesAntiDDoSRuleSet",
            "ManagedRuleGroupConfigs": [{"AWSManagedRulesAntiDDoSRuleSet": {"ClientSideActionConfig": {"Challenge": {
                "UsageOfAction": "ENABLED", "Sensitivity": "HIGH", "ExemptUriRegularExpressions": [{"RegexString": "^/api/"}]}},
                "SensitivityToBlock": "LOW"}}]}}),
        json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesAISecurityRuleSet",
            "ManagedRuleGroupConfigs": [{"AWSManagedRulesAISecurityRuleSet": {"BedrockGuardrails": {"ProtectRequestOnly": {"RoleArn": "arn:aws:iam::123456789012:role/guard"}}}},
                {"AWSManagedRulesAISecurityRuleSet": {"BedrockGuardrails": {"Disable": {}}}},
                {"LoginPath": "/legacy"}]}}),
        json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "awswaf:managed:aws:sql-database:SQLi_Body"}}),
        json!({"RegexMatchStatement": {"RegexString": "^/(admin|root)", "FieldToMatch": {"UriPath": {}}, "TextTransformations": tt()}}),
        json!({"AsnMatchStatement": {"AsnList": [16509]}}),
    ]
}

/// One JSON example per `RuleAction` member (6), with and without custom handling.
pub fn all_actions() -> Vec<Value> {
    let headers = json!({"InsertHeaders": [{"Name": "sample", "Value": "1"}]});
    vec![
        json!({"Block": {}}),
        json!({"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "blocked",
            "ResponseHeaders": [{"Name": "retry-after", "Value": "60"}]}}}),
        json!({"Allow": {}}),
        json!({"Allow": {"CustomRequestHandling": headers}}),
        json!({"Count": {}}),
        json!({"Count": {"CustomRequestHandling": headers}}),
        json!({"Captcha": {}}),
        json!({"Captcha": {"CustomRequestHandling": headers}}),
        json!({"Challenge": {}}),
        json!({"Challenge": {"CustomRequestHandling": headers}}),
        json!({"Monetize": {"PriceMultiplier": "5"}}),
    ]
}

#[test]
fn example_1_17_round_trips() {
    let bytes = data("example_1_17.json");
    let acl = WebAcl::from_json(&bytes).expect("parse");
    let original: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(acl.to_json(), original);
    assert_eq!(acl.rules().len(), 4);
    let Statement::ByteMatch(b) = &acl.rules()[0].statement else {
        panic!("{:?}", acl.rules()[0].statement)
    };
    assert_eq!(b.search_string, b"/admin");
    assert_eq!(b.field_to_match, FieldToMatch::UriPath);
    assert_eq!(
        b.text_transformations[0].r#type,
        TextTransformationType::Lowercase
    );
    assert_eq!(acl.rules()[3].override_action, Some(OverrideAction::None));
}

#[test]
fn every_field_to_match_round_trips() {
    let fields = all_fields();
    let mut members: Vec<&str> = Vec::new();
    for f in &fields {
        let parsed: FieldToMatch = assert_round_trip(f);
        members.push(parsed.member_name());
    }
    for m in FieldToMatch::MEMBERS {
        assert!(members.contains(m), "{m} not covered");
    }
    assert_eq!(FieldToMatch::MEMBERS.len(), 14);
}

#[test]
fn every_statement_round_trips() {
    let mut members: Vec<&str> = Vec::new();
    for s in all_statements() {
        let parsed: Statement = assert_round_trip(&s);
        members.push(parsed.member_name());
        // Also inside a rule, via the typed entry point.
        let rule = json!({"Name": "r", "Priority": 1, "Statement": s, "Action": {"Count": {}},
            "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "r"}});
        let r = Rule::from_value(rule.clone()).expect("rule");
        assert_eq!(r.to_json(), rule);
    }
    for m in Statement::MEMBERS {
        assert!(members.contains(m), "{m} not covered");
    }
    assert_eq!(Statement::MEMBERS.len(), 16);
}

#[test]
fn every_custom_key_round_trips() {
    let mut members: Vec<&str> = Vec::new();
    for s in all_statements() {
        if let Statement::RateBased(r) = parse_value::<Statement>(s).expect("parse") {
            members.extend(r.custom_keys.iter().flatten().map(|k| k.member_name()));
        }
    }
    for m in RateBasedStatementCustomKey::MEMBERS {
        assert!(members.contains(m), "{m} not covered");
    }
}

#[test]
fn every_action_round_trips() {
    let mut members: Vec<&str> = Vec::new();
    for a in all_actions() {
        let parsed: RuleAction = assert_round_trip(&a);
        members.push(parsed.member_name());
    }
    for m in RuleAction::MEMBERS {
        assert!(members.contains(m), "{m} not covered");
    }
    for a in [
        json!({"None": {}}),
        json!({"Count": {}}),
        json!({"Count": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "a", "Value": "b"}]}}}),
    ] {
        assert_round_trip::<OverrideAction>(&a);
    }
    for a in [
        json!({"Allow": {}}),
        json!({"Block": {}}),
        json!({"Block": {"CustomResponse": {"ResponseCode": 503}}}),
    ] {
        assert_round_trip::<DefaultAction>(&a);
    }
}

#[test]
fn full_web_acl_round_trips() {
    let acl = data("full_web_acl.json");
    let v: Value = serde_json::from_slice(&acl).expect("json");
    let parsed = assert_round_trip::<WebAcl>(&v);
    assert!(parsed.association_config.is_some());
    assert!(parsed.data_protection_config.is_some());
    assert_eq!(
        parsed
            .pre_process_firewall_manager_rule_groups
            .as_ref()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn rule_group_and_resources_round_trip() {
    let rg = json!({"Name": "g", "Id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "Capacity": 100,
        "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "Description": "my group",
        "Rules": [{"Name": "r", "Priority": 0, "Action": {"Block": {}},
            "Statement": {"GeoMatchStatement": {"CountryCodes": ["CN"]}},
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "r"}}],
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "g"},
        "LabelNamespace": "awswaf:123456789012:rulegroup:g:",
        "CustomResponseBodies": {"b": {"ContentType": "TEXT_HTML", "Content": "<p>no</p>"}},
        "AvailableLabels": [{"Name": "awswaf:123456789012:rulegroup:g:x"}], "ConsumedLabels": [{}]});
    assert_round_trip::<RuleGroup>(&rg);
    let ips = json!({"Name": "s", "Id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/s/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "IPAddressVersion": "IPV6", "Addresses": ["2001:db8::/32"]});
    let set = assert_round_trip::<IpSet>(&ips);
    assert_eq!(set.ip_address_version, IpAddressVersion::Ipv6);
    let rps = json!({"Name": "p", "RegularExpressionList": [{"RegexString": "^a"}, {"RegexString": "b$"}]});
    assert_round_trip::<RegexPatternSet>(&rps);
}

fn invalid(err: ModelError) -> ValidationError {
    match err {
        ModelError::Invalid(v) => v,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn union_with_two_members_is_exactly_one_error() {
    let s = br#"{"GeoMatchStatement":{"CountryCodes":["US"]},"LabelMatchStatement":{"Scope":"LABEL","Key":"a"}}"#;
    let e = invalid(Statement::from_json(s).unwrap_err());
    assert_eq!(e.field, ParameterExceptionField::Statement);
    assert_eq!(e.parameter, "Statement");
    assert_eq!(
        e.reason,
        "You have used none or multiple values for a field that requires exactly one value."
    );
    assert_eq!(
        e.message(),
        "Error reason: You have used none or multiple values for a field that requires exactly one value., field: STATEMENT, parameter: Statement"
    );
}

#[test]
fn union_with_no_member_or_only_unknown_members_is_exactly_one_error() {
    for body in [
        &br#"{}"#[..],
        br#"{"FancyNewStatement":{}}"#,
        br#"{"ByteMatchStatement":null}"#,
    ] {
        let e = invalid(Statement::from_json(body).unwrap_err());
        assert_eq!(e.field, ParameterExceptionField::Statement);
    }
    let e = invalid(FieldToMatch::from_json(br#"{"UriPath":{},"Method":{}}"#).unwrap_err());
    assert_eq!(e.field, ParameterExceptionField::FieldToMatch);
    let e = invalid(RuleAction::from_json(br#"{}"#).unwrap_err());
    assert_eq!(e.field, ParameterExceptionField::RuleAction);
    // Nested deep inside a web ACL, the innermost failing union is reported.
    let mut acl: Value = serde_json::from_slice(&data("example_1_17.json")).expect("json");
    acl["Rules"][0]["Statement"]["ByteMatchStatement"]["FieldToMatch"] = json!({});
    let e = invalid(WebAcl::from_value(acl).unwrap_err());
    assert_eq!(e.field, ParameterExceptionField::FieldToMatch);
}

#[test]
fn enum_value_outside_the_model_is_invalid_parameter() {
    let s = br#"{"ByteMatchStatement":{"SearchString":"YQ==","FieldToMatch":{"UriPath":{}},
        "TextTransformations":[{"Priority":0,"Type":"ROT13"}],"PositionalConstraint":"EXACTLY"}}"#;
    let e = invalid(Statement::from_json(s).unwrap_err());
    assert_eq!(e.field, ParameterExceptionField::TextTransformation);
    assert_eq!(e.parameter, "ROT13");
    // Case matters.
    let s = br#"{"LabelMatchStatement":{"Scope":"label","Key":"a"}}"#;
    let e = invalid(Statement::from_json(s).unwrap_err());
    assert_eq!(e.field, ParameterExceptionField::LabelMatchStatement);
}

#[test]
fn unknown_members_are_ignored_and_nulls_are_absent() {
    let s = br#"{"GeoMatchStatement":{"CountryCodes":["US"],"ForwardedIPConfig":null,"Future":1},"Other":{}}"#;
    let parsed = Statement::from_json(s).expect("parse");
    assert_eq!(
        parsed.to_json(),
        json!({"GeoMatchStatement": {"CountryCodes": ["US"]}})
    );
}

#[test]
fn malformed_documents_are_serialization_errors() {
    let cases: [&[u8]; 5] = [
        b"{not json",
        br#"{"LabelMatchStatement":{"Scope":"LABEL"}}"#,
        br#"{"LabelMatchStatement":{"Scope":"LABEL","Key":5}}"#,
        br#"{"ByteMatchStatement":{"SearchString":"***","FieldToMatch":{"UriPath":{}},"TextTransformations":[],"PositionalConstraint":"EXACTLY"}}"#,
        br#"[]"#,
    ];
    for c in cases {
        match Statement::from_json(c) {
            Err(ModelError::Serialization { .. }) => {}
            other => panic!("{}: {other:?}", String::from_utf8_lossy(c)),
        }
    }
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        WebAcl::from_json(&big),
        Err(ModelError::TooLarge { .. })
    ));
}

#[test]
fn search_string_is_base64_of_raw_bytes() {
    let s = Statement::from_json(
        br#"{"ByteMatchStatement":{"SearchString":"AP8=","FieldToMatch":{"Method":{}},
        "TextTransformations":[{"Priority":0,"Type":"NONE"}],"PositionalConstraint":"EXACTLY"}}"#,
    )
    .expect("parse");
    let Statement::ByteMatch(b) = &s else {
        panic!()
    };
    assert_eq!(b.search_string, vec![0x00, 0xff]);
}

#[test]
fn union_type_tag_is_ignored() {
    // Smithy's JSON protocols ignore `__type` inside unions (smithy 1.38).
    let s = Statement::from_json(
        br#"{"__type":"GeoMatchStatement","GeoMatchStatement":{"CountryCodes":["US"]}}"#,
    )
    .expect("parse");
    assert_eq!(s.member_name(), "GeoMatchStatement");
}
