//! Tests of every condition operator, `IfExists`, the set qualifiers and missing keys.

use serde_json::json;

use super::*;
use crate::policy::context::Principal;

fn base() -> RequestContext {
    let alice = Principal::user("111122223333", "alice", "AIDAALICE").with_tag("team", "blue");
    RequestContext::new(alice, "s3:GetObject", "*")
}

/// Whether the condition block holds for `ctx`.
fn holds(block: Value, ctx: &RequestContext) -> bool {
    parse_block(&block, true)
        .unwrap()
        .iter()
        .all(|c| c.holds(ctx))
}

/// Asserts that `{op: {key: value}}` holds for `yes` and not for `no` (values of `key`).
fn check(op: &str, value: Value, yes: &str, no: &str) {
    let block = json!({ op: { "test:key": value } });
    assert!(
        holds(block.clone(), &base().with("test:key", yes)),
        "{op} {value} should hold for {yes}"
    );
    assert!(
        !holds(block, &base().with("test:key", no)),
        "{op} {value} should fail for {no}"
    );
}

#[test]
fn string_operators() {
    check("StringEquals", json!("Prod"), "Prod", "prod");
    check("StringNotEquals", json!("Prod"), "prod", "Prod");
    check("StringEqualsIgnoreCase", json!("Prod"), "pROD", "dev");
    check("StringNotEqualsIgnoreCase", json!("Prod"), "dev", "PROD");
    check(
        "StringLike",
        json!("home/*/docs?"),
        "home/alice/docs1",
        "home/alice/doc",
    );
    check("StringNotLike", json!("tmp/*"), "home/x", "tmp/x");
}

#[test]
fn string_equals_treats_wildcards_literally() {
    check("StringEquals", json!("a*"), "a*", "ab");
}

#[test]
fn numeric_operators() {
    check("NumericEquals", json!("10"), "10.0", "11");
    check("NumericNotEquals", json!(10), "11", "10");
    check("NumericLessThan", json!("10"), "9.5", "10");
    check("NumericLessThanEquals", json!("10"), "10", "10.5");
    check("NumericGreaterThan", json!("10"), "11", "10");
    check("NumericGreaterThanEquals", json!("10"), "10", "-3");
}

#[test]
fn date_operators() {
    let t = json!("2024-06-01T12:00:00Z");
    check(
        "DateEquals",
        t.clone(),
        "2024-06-01T14:00:00+02:00",
        "2024-06-01T12:00:01Z",
    );
    check("DateNotEquals", t.clone(), "2024-06-02", "1717243200");
    check(
        "DateLessThan",
        t.clone(),
        "2024-06-01T11:59:59Z",
        "2024-06-01T12:00:00Z",
    );
    check(
        "DateLessThanEquals",
        t.clone(),
        "2024-06-01T12:00:00Z",
        "2025-01-01",
    );
    check(
        "DateGreaterThan",
        t.clone(),
        "2030-01-01T00:00:00Z",
        "2024-06-01T12:00:00Z",
    );
    check(
        "DateGreaterThanEquals",
        json!("1717243200"),
        "2024-06-01T12:00:00Z",
        "2020-01-01",
    );
}

#[test]
fn bool_and_binary() {
    check("Bool", json!("true"), "true", "false");
    check("Bool", json!(false), "FALSE", "true");
    check(
        "BinaryEquals",
        json!("QmluYXJ5VmFsdWU="),
        "QmluYXJ5VmFsdWU=",
        "T3RoZXI=",
    );
}

#[test]
fn ip_operators_v4_and_v6() {
    check(
        "IpAddress",
        json!("203.0.113.0/24"),
        "203.0.113.7",
        "203.0.114.7",
    );
    check(
        "IpAddress",
        json!("2001:db8::/32"),
        "2001:db8::1",
        "2001:db9::1",
    );
    check("IpAddress", json!("192.0.2.1"), "192.0.2.1", "192.0.2.2");
    check(
        "NotIpAddress",
        json!(["10.0.0.0/8", "192.168.0.0/16"]),
        "203.0.113.7",
        "10.1.2.3",
    );
}

#[test]
fn arn_operators_match_per_component() {
    let p = json!("arn:aws:iam::*:role/ops-*");
    check(
        "ArnLike",
        p.clone(),
        "arn:aws:iam::111122223333:role/ops-admin",
        "arn:aws:iam::111122223333:user/ops-x",
    );
    check(
        "ArnEquals",
        p.clone(),
        "arn:aws:iam::444455556666:role/ops-1",
        "arn:aws:sts::444455556666:role/ops-1",
    );
    check(
        "ArnNotEquals",
        p.clone(),
        "arn:aws:iam::1:role/dev",
        "arn:aws:iam::1:role/ops-1",
    );
    check(
        "ArnNotLike",
        p,
        "arn:aws:iam::1:user/ops-1",
        "arn:aws:iam::1:role/ops-2",
    );
    // A `*` in the region component cannot swallow the account component.
    check(
        "ArnLike",
        json!("arn:aws:iam::*2:role/x"),
        "arn:aws:iam::111122223332:role/x",
        "arn:aws:iam::1:2:role/x",
    );
}

#[test]
fn typed_operator_rejects_untyped_request_value() {
    let block = json!({"NumericNotEquals": {"test:key": "5"}});
    assert!(!holds(block, &base().with("test:key", "five")));
    let block = json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    assert!(!holds(block, &base().with("aws:SourceIp", "not-an-ip")));
}

#[test]
fn null_operator() {
    let block = json!({"Null": {"aws:TokenIssueTime": "true"}});
    assert!(holds(block.clone(), &base()));
    assert!(!holds(
        block,
        &base().with("aws:TokenIssueTime", "2024-01-01")
    ));
    let block = json!({"Null": {"aws:TokenIssueTime": false}});
    assert!(holds(
        block.clone(),
        &base().with("aws:TokenIssueTime", "2024-01-01")
    ));
    assert!(!holds(block, &base()));
}

#[test]
fn missing_key_fails_positive_and_passes_negated_operators() {
    assert!(!holds(
        json!({"StringEquals": {"test:absent": "x"}}),
        &base()
    ));
    assert!(!holds(
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        &base()
    ));
    assert!(holds(
        json!({"StringNotEquals": {"test:absent": "x"}}),
        &base()
    ));
    assert!(holds(
        json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        &base()
    ));
}

#[test]
fn if_exists_passes_only_when_missing() {
    let block = json!({"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro", "t3.small"]}});
    assert!(holds(block.clone(), &base()));
    assert!(holds(
        block.clone(),
        &base().with("ec2:InstanceType", "t3.small")
    ));
    assert!(!holds(block, &base().with("ec2:InstanceType", "m5.large")));
}

#[test]
fn values_are_ored_keys_and_operators_anded() {
    let block = json!({
        "StringEquals": {"test:a": ["x", "y"], "test:b": "z"},
        "NumericLessThan": {"test:n": "3"}
    });
    let ok = base()
        .with("test:a", "y")
        .with("test:b", "z")
        .with("test:n", "2");
    assert!(holds(block.clone(), &ok));
    assert!(!holds(block.clone(), &ok.clone().with("test:b", "q")));
    assert!(!holds(block, &ok.with("test:n", "3")));
}

#[test]
fn negated_operator_needs_no_value_to_match() {
    let block = json!({"StringNotEquals": {"test:key": ["a", "b"]}});
    assert!(holds(block.clone(), &base().with("test:key", "c")));
    assert!(!holds(block, &base().with("test:key", "b")));
}

#[test]
fn for_all_values() {
    let block = json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}});
    assert!(holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["env", "team"])
    ));
    assert!(holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["env"])
    ));
    assert!(!holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["env", "cost"])
    ));
    // Vacuously true when the key is missing.
    assert!(holds(block, &base()));
}

#[test]
fn for_any_value() {
    let block = json!({"ForAnyValue:StringLike": {"aws:TagKeys": "env*"}});
    assert!(holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["team", "environment"])
    ));
    assert!(!holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["team", "cost"])
    ));
    assert!(!holds(block, &base()));
}

#[test]
fn negated_set_operators() {
    let block = json!({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}});
    assert!(holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["a", "b"])
    ));
    assert!(!holds(
        block,
        &base().with("aws:TagKeys", vec!["a", "secret"])
    ));
    let block = json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}});
    assert!(holds(
        block.clone(),
        &base().with("aws:TagKeys", vec!["a", "b"])
    ));
    assert!(!holds(block, &base().with("aws:TagKeys", vec!["a"])));
}

#[test]
fn set_operator_with_if_exists() {
    let block = json!({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "env"}});
    assert!(holds(block.clone(), &base()));
    assert!(!holds(block, &base().with("aws:TagKeys", vec!["team"])));
}

#[test]
fn unqualified_operator_on_multivalued_key() {
    let ctx = base().with("test:k", vec!["a", "b"]);
    assert!(holds(json!({"StringEquals": {"test:k": "b"}}), &ctx));
    assert!(!holds(json!({"StringNotEquals": {"test:k": "b"}}), &ctx));
    assert!(holds(json!({"StringNotEquals": {"test:k": "c"}}), &ctx));
}

#[test]
fn variables_in_condition_values() {
    let block = json!({"StringLike": {"s3:prefix": ["home/${aws:username}/*", "team/${aws:PrincipalTag/team}/*"]}});
    assert!(holds(
        block.clone(),
        &base().with("s3:prefix", "home/alice/x")
    ));
    assert!(holds(
        block.clone(),
        &base().with("s3:prefix", "team/blue/x")
    ));
    assert!(!holds(block, &base().with("s3:prefix", "home/bob/x")));
}

#[test]
fn unresolvable_variable_value_does_not_match() {
    let block = json!({"StringEquals": {"test:key": "${aws:SourceVpc}"}});
    assert!(!holds(block, &base().with("test:key", "${aws:SourceVpc}")));
}

#[test]
fn operator_names_are_validated() {
    for op in [
        "StringEqual",
        "stringequals",
        "ForSomeValues:StringEquals",
        "NullIfExists",
        "ForAllValues:Null",
        "IfExists",
    ] {
        let err = parse_block(&json!({ op: {"aws:x": "1"} }), true).unwrap_err();
        assert_eq!(
            err,
            PolicyError::UnknownConditionOperator {
                operator: op.to_owned()
            }
        );
    }
    let err = parse_block(&json!({"Foo": {"aws:x": "1"}}), true).unwrap_err();
    assert_eq!(err.to_string(), "Invalid Condition type : Foo");
}

#[test]
fn values_are_validated_for_their_operator() {
    for (op, v) in [
        ("NumericEquals", "ten"),
        ("DateLessThan", "soon"),
        ("Bool", "yes"),
        ("IpAddress", "10.0.0.0/33"),
        ("BinaryEquals", "***"),
        ("Null", "maybe"),
    ] {
        let err = parse_block(&json!({ op: {"aws:x": v} }), true).unwrap_err();
        assert!(
            matches!(err, PolicyError::InvalidConditionValue { .. }),
            "{op} {v}: {err}"
        );
    }
}

#[test]
fn keys_need_a_vendor_prefix_and_values_scalars() {
    let err = parse_block(&json!({"StringEquals": {"username": "a"}}), true).unwrap_err();
    assert!(matches!(err, PolicyError::InvalidConditionKey { .. }));
    let err = parse_block(&json!({"StringEquals": {"aws:username": {"a": 1}}}), true).unwrap_err();
    assert!(matches!(err, PolicyError::WrongType { .. }));
    let err = parse_block(&json!(["StringEquals"]), true).unwrap_err();
    assert!(matches!(err, PolicyError::WrongType { .. }));
}
