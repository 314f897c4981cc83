//! Modifier and value-semantics tests: each with must-match and must-not-match cases.

use serde_json::json;

use crate::{LoadOptions, RuleSet, RuleSetBuilder, SigmaError};

fn rule(detection: &str) -> Result<RuleSet, SigmaError> {
    let text = format!(
        "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{detection}"
    );
    let mut b = RuleSetBuilder::new(LoadOptions::default());
    b.add_source("test", &text);
    let (set, mut report) = b.build();
    match report.refused.pop() {
        Some(r) => Err(r.error),
        None => Ok(set),
    }
}

fn hit(set: &RuleSet, rec: serde_json::Value) -> bool {
    !set.matches(&rec).is_empty()
}

#[test]
fn plain_equality_is_case_insensitive_and_whole() {
    let r = rule("  sel:\n    additionalEventData.MFAUsed: 'NO'\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"additionalEventData": {"MFAUsed": "No"}})));
    assert!(!hit(
        &r,
        json!({"additionalEventData": {"MFAUsed": "Nope"}})
    ));
    assert!(!hit(&r, json!({"additionalEventData": {}})));
}

#[test]
fn flattened_dotted_key_also_matches() {
    let r = rule("  sel:\n    userIdentity.type: Root\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"userIdentity.type": "Root"})));
    assert!(hit(&r, json!({"userIdentity": {"type": "root"}})));
    assert!(!hit(&r, json!({"userIdentity": "Root"})));
}

#[test]
fn value_list_is_or_and_all_is_and() {
    let r = rule("  sel:\n    eventName:\n      - A\n      - B\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"eventName": "b"})));
    assert!(!hit(&r, json!({"eventName": "c"})));
    let r = rule("  sel:\n    requestParameters|contains|all:\n      - s3:GetObject\n      - Allow\n  condition: sel\n")
        .unwrap();
    assert!(hit(
        &r,
        json!({"requestParameters": {"p": "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}"}})
    ));
    assert!(!hit(&r, json!({"requestParameters": {"p": "Allow only"}})));
}

#[test]
fn list_of_maps_is_or() {
    let r = rule(
        "  sel:\n    - eventName: A\n      eventSource: x\n    - eventName: B\n  condition: sel\n",
    )
    .unwrap();
    assert!(hit(&r, json!({"eventName": "A", "eventSource": "x"})));
    assert!(!hit(&r, json!({"eventName": "A", "eventSource": "y"})));
    assert!(hit(&r, json!({"eventName": "B"})));
}

#[test]
fn contains_startswith_endswith() {
    let r = rule("  sel:\n    userAgent|contains: TruffleHog\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"userAgent": "x trufflehog/3"})));
    assert!(!hit(&r, json!({"userAgent": "curl"})));
    let r =
        rule("  sel:\n    eventName|startswith: UpdateFunctionConfiguration\n  condition: sel\n")
            .unwrap();
    assert!(hit(
        &r,
        json!({"eventName": "UpdateFunctionConfiguration20150331v2"})
    ));
    assert!(!hit(
        &r,
        json!({"eventName": "GetUpdateFunctionConfiguration"})
    ));
    let r = rule("  sel:\n    eventSource|endswith: .amazonaws.com\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"eventSource": "s3.amazonaws.com"})));
    assert!(!hit(&r, json!({"eventSource": "s3.amazonaws.com.evil"})));
}

#[test]
fn contains_on_object_uses_json_text() {
    let r = rule("  sel:\n    requestParameters|contains: Suspended\n  condition: sel\n").unwrap();
    assert!(hit(
        &r,
        json!({"requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}}})
    ));
    assert!(!hit(
        &r,
        json!({"requestParameters": {"VersioningConfiguration": {"Status": "Enabled"}}})
    ));
}

#[test]
fn arrays_match_any_element() {
    let r = rule("  sel:\n    requestParameters.layers|contains: '*'\n  condition: sel\n").unwrap();
    assert!(hit(
        &r,
        json!({"requestParameters": {"layers": ["arn:aws:lambda:layer:x"]}})
    ));
    assert!(!hit(&r, json!({"requestParameters": {"layers": []}})));
    assert!(!hit(&r, json!({"requestParameters": {}})));
    let r = rule("  sel:\n    requestParameters.containerDefinitions.command|contains: $AWS_CONTAINER\n  condition: sel\n")
        .unwrap();
    let rec = json!({"requestParameters": {"containerDefinitions": [
        {"command": ["sh"]}, {"command": ["curl", "169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}});
    assert!(hit(&r, rec));
    assert!(!hit(
        &r,
        json!({"requestParameters": {"containerDefinitions": [{"command": ["sh"]}]}})
    ));
}

#[test]
fn null_matches_absent_or_null() {
    let r = rule("  a:\n    eventName: SendCommand\n  s_ok:\n    errorCode: Success\n  s_null:\n    errorCode: null\n  condition: a and 1 of s_*\n")
        .unwrap();
    assert!(hit(&r, json!({"eventName": "SendCommand"})));
    assert!(hit(
        &r,
        json!({"eventName": "SendCommand", "errorCode": null})
    ));
    assert!(hit(
        &r,
        json!({"eventName": "SendCommand", "errorCode": "success"})
    ));
    assert!(!hit(
        &r,
        json!({"eventName": "SendCommand", "errorCode": "AccessDenied"})
    ));
}

#[test]
fn wildcard_only_means_present() {
    let r = rule("  sel:\n    errorCode: '*'\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"errorCode": "X"})));
    assert!(!hit(&r, json!({})));
    assert!(!hit(&r, json!({"errorCode": null})));
}

#[test]
fn numbers_and_booleans() {
    let r = rule("  sel:\n    requestParameters.port: 22\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"requestParameters": {"port": 22}})));
    assert!(hit(&r, json!({"requestParameters": {"port": "22"}})));
    assert!(hit(&r, json!({"requestParameters": {"port": 22.0}})));
    assert!(!hit(&r, json!({"requestParameters": {"port": 23}})));
    let r = rule("  sel:\n    readOnly: false\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"readOnly": false})));
    assert!(hit(&r, json!({"readOnly": "False"})));
    assert!(!hit(&r, json!({"readOnly": true})));
    let r = rule("  sel:\n    code: '22'\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"code": 22})));
}

#[test]
fn numeric_comparisons() {
    let r = rule("  sel:\n    n|gt: 5\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"n": 6})));
    assert!(!hit(&r, json!({"n": 5})));
    let r = rule("  sel:\n    n|gte: 5\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"n": "5"})));
    assert!(!hit(&r, json!({"n": "abc"})));
    let r = rule("  sel:\n    n|lt: 5\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"n": 4.5})));
    assert!(!hit(&r, json!({"n": 5})));
    let r = rule("  sel:\n    n|lte: 5\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"n": 5})));
    assert!(!hit(&r, json!({"n": 6})));
    assert!(matches!(
        rule("  sel:\n    n|lt: abc\n  condition: sel\n"),
        Err(SigmaError::Value { .. })
    ));
}

#[test]
fn regex_modifier() {
    let r = rule("  sel:\n    userIdentity.arn|re: '/i-[0-9a-f]+$'\n  condition: sel\n").unwrap();
    assert!(hit(
        &r,
        json!({"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/r/i-0abc12"}})
    ));
    assert!(!hit(
        &r,
        json!({"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/r/I-0ABC12"}})
    ));
    let r = rule("  sel:\n    a|re|i: '^abc$'\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"a": "ABC"})));
    assert!(!hit(&r, json!({"a": "ABCD"})));
    for bad in ["'(?=x)a'", "'(?<!x)a'", "'(?>a)'", "'(a'"] {
        let e = rule(&format!("  sel:\n    a|re: {bad}\n  condition: sel\n")).unwrap_err();
        assert!(matches!(e, SigmaError::Regex { .. }), "{bad}: {e}");
    }
    let e = rule("  sel:\n    a|re: '(?=x)a'\n  condition: sel\n").unwrap_err();
    assert!(e.to_string().contains("look-ahead"), "{e}");
}

#[test]
fn cidr_modifier() {
    let r = rule("  sel:\n    sourceIPAddress|cidr:\n      - 10.0.0.0/8\n      - 2001:db8::/32\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"sourceIPAddress": "10.1.2.3"})));
    assert!(hit(&r, json!({"sourceIPAddress": "2001:db8::1"})));
    assert!(!hit(&r, json!({"sourceIPAddress": "11.1.2.3"})));
    assert!(!hit(&r, json!({"sourceIPAddress": "ec2.amazonaws.com"})));
    assert!(matches!(
        rule("  sel:\n    a|cidr: 10.0.0/33\n  condition: sel\n"),
        Err(SigmaError::Value { .. })
    ));
}

#[test]
fn exists_modifier() {
    let r = rule("  sel:\n    errorCode|exists: true\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"errorCode": "x"})));
    assert!(!hit(&r, json!({})));
    let r = rule("  sel:\n    errorCode|exists: false\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({})));
    assert!(!hit(&r, json!({"errorCode": "x"})));
}

#[test]
fn fieldref_modifier() {
    let r = rule("  sel:\n    eventName: UpdateLoginProfile\n  f:\n    userIdentity.userName|fieldref: requestParameters.userName\n  condition: sel and not f\n")
        .unwrap();
    assert!(hit(
        &r,
        json!({"eventName": "UpdateLoginProfile", "userIdentity": {"userName": "alice"}, "requestParameters": {"userName": "bob"}})
    ));
    assert!(!hit(
        &r,
        json!({"eventName": "UpdateLoginProfile", "userIdentity": {"userName": "bob"}, "requestParameters": {"userName": "bob"}})
    ));
    let r = rule("  f:\n    userIdentity.arn|fieldref|endswith: requestParameters.userName\n  condition: f\n").unwrap();
    assert!(hit(
        &r,
        json!({"userIdentity": {"arn": "arn:aws:iam::1:user/bob"}, "requestParameters": {"userName": "bob"}})
    ));
    assert!(!hit(
        &r,
        json!({"userIdentity": {"arn": "arn:aws:iam::1:user/bob"}, "requestParameters": {"userName": "al"}})
    ));
}

#[test]
fn base64_modifiers() {
    // "ping" = cGluZw==
    let r = rule("  sel:\n    cmd|base64|contains: ping\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"cmd": "xx cGluZw== yy"})));
    assert!(!hit(&r, json!({"cmd": "CGLUZW=="})));
    let r = rule("  sel:\n    cmd|base64offset|contains: ping\n  condition: sel\n").unwrap();
    // base64 of "Xping" and "XXping" both contain one of the offset variants.
    for blob in ["WHBpbmc=", "WFhwaW5n", "cGluZw=="] {
        assert!(hit(&r, json!({ "cmd": blob })), "{blob}");
    }
    assert!(!hit(&r, json!({"cmd": "cG9uZw=="})));
    let r = rule("  sel:\n    cmd|wide|base64offset|contains: ping\n  condition: sel\n").unwrap();
    // UTF-16LE "ping" = cABpAG4AZwA=
    assert!(hit(&r, json!({"cmd": "cABpAG4AZwA="})));
    assert!(matches!(
        rule("  sel:\n    cmd|wide: ping\n  condition: sel\n"),
        Err(SigmaError::Modifier { .. })
    ));
}

#[test]
fn windash_and_cased_and_neq() {
    let r = rule("  sel:\n    cmd|windash|contains: ' -enc '\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"cmd": "powershell /enc xyz"})));
    assert!(hit(&r, json!({"cmd": "powershell \u{2013}enc xyz"})));
    assert!(!hit(&r, json!({"cmd": "powershell enc xyz"})));
    let r = rule("  sel:\n    a|cased: Root\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"a": "Root"})));
    assert!(!hit(&r, json!({"a": "root"})));
    let r = rule("  sel:\n    a|neq: Root\n  condition: sel\n").unwrap();
    assert!(hit(&r, json!({"a": "IAMUser"})));
    assert!(!hit(&r, json!({"a": "root"})));
    assert!(!hit(&r, json!({})));
}

#[test]
fn keywords_search_every_value() {
    let r = rule("  keywords:\n    - evilcorp\n    - badactor\n  condition: keywords\n").unwrap();
    assert!(hit(
        &r,
        json!({"a": {"b": ["x", "http://EvilCorp.example"]}})
    ));
    assert!(!hit(&r, json!({"a": {"b": ["x", "goodcorp"]}})));
}

#[test]
fn refusals_name_the_reason() {
    let e = rule("  sel:\n    src_ip|expand: '%ips%'\n  condition: sel\n").unwrap_err();
    assert!(
        matches!(&e, SigmaError::UnsupportedModifier { modifier, .. } if modifier == "expand"),
        "{e}"
    );
    let e = rule("  sel:\n    a|contains|startswith: x\n  condition: sel\n").unwrap_err();
    assert!(matches!(e, SigmaError::Modifier { .. }));
    let e = rule("  sel:\n    a: x\n  condition: sel | count() > 5\n").unwrap_err();
    assert!(matches!(e, SigmaError::LegacyAggregation(_)));
    let e = rule("  sel:\n    a: x\n  condition: other\n").unwrap_err();
    assert!(matches!(e, SigmaError::Condition { .. }));
    let e = rule("  sel:\n    a:\n      b: c\n  condition: sel\n").unwrap_err();
    assert!(matches!(e, SigmaError::Value { .. }));
}

#[test]
fn index_does_not_hide_matches() {
    let r = rule("  sel:\n    eventName: DeleteTrail\n  condition: sel\n").unwrap();
    assert_eq!(r.unindexed(), 0);
    assert!(hit(&r, json!({"eventName": "deletetrail"})));
    assert!(hit(&r, json!({"eventName": ["x", "DeleteTrail"]})));
    assert!(hit(&r, json!([{"eventName": "DeleteTrail"}])));
    assert!(!hit(&r, json!({"eventName": "StopLogging"})));
    let r =
        rule("  a:\n    eventName: [A, B]\n  b:\n    eventName: C\n  condition: a or b\n").unwrap();
    assert_eq!(r.unindexed(), 0);
    assert!(hit(&r, json!({"eventName": "c"})));
    let r =
        rule("  a:\n    eventName: A\n  b:\n    eventName: C\n  condition: a or not b\n").unwrap();
    assert_eq!(r.unindexed(), 1);
    assert!(hit(&r, json!({"eventName": "Z"})));
}
