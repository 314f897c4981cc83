//! API request shapes: they round-trip, conform to the model's `*Request` shapes, and convert into stored
//! documents that validate.

use portcullis_waf_model::validate::*;
use portcullis_waf_model::*;
use serde_json::{Value, json};

use super::data;
use super::model_conformance::check_shape;
use super::roundtrip::assert_round_trip;

const ID: &str = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

fn create_web_acl() -> Value {
    let mut v: Value = serde_json::from_slice(&data("example_1_17.json")).expect("json");
    let obj = v.as_object_mut().expect("object");
    obj.remove("Id");
    obj.remove("ARN");
    obj.insert("Scope".into(), json!("REGIONAL"));
    obj.insert("Tags".into(), json!([{"Key": "team", "Value": "shop"}]));
    v
}

#[test]
fn create_web_acl_request_becomes_a_valid_web_acl() {
    let v = create_web_acl();
    let req = assert_round_trip::<CreateWebAclRequest>(&v);
    check_shape("CreateWebACLRequest", &v);
    assert_eq!(req.scope, Scope::Regional);
    let arn = format!("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/{ID}");
    let acl = req.into_web_acl(
        ID.into(),
        arn,
        "awswaf:123456789012:webacl:shop:".into(),
        355,
    );
    validate_web_acl(&acl, Scope::Regional).expect("valid");
    assert_eq!(acl.capacity, Some(355));
    assert_eq!(acl.rules().len(), 4);
    check_shape("WebACL", &acl.to_json());
}

#[test]
fn update_web_acl_replaces_the_whole_spec() {
    let mut acl = WebAcl::from_json(&data("full_web_acl.json")).expect("parse");
    let update = json!({"Name": "full-acl", "Scope": "REGIONAL", "Id": ID, "LockToken": ID,
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "m"}});
    let req = assert_round_trip::<UpdateWebAclRequest>(&update);
    check_shape("UpdateWebACLRequest", &update);
    req.apply_to(&mut acl, 0);
    assert_eq!(
        acl.default_action,
        DefaultAction::Allow(AllowAction::default())
    );
    // Members absent from the update are cleared, not kept.
    assert_eq!(acl.rules, None);
    assert_eq!(acl.custom_response_bodies, None);
    assert_eq!(acl.token_domains, None);
    // Identity and Firewall Manager members are kept.
    assert_eq!(acl.name, "full-acl");
    assert!(acl.pre_process_firewall_manager_rule_groups.is_some());
}

#[test]
fn rule_group_ip_set_regex_set_and_check_capacity_requests() {
    let create = json!({"Name": "g", "Scope": "CLOUDFRONT", "Capacity": 50,
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "g"},
        "Rules": [{"Name": "r", "Priority": 0, "Action": {"Block": {}},
            "Statement": {"GeoMatchStatement": {"CountryCodes": ["US"]}},
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "r"}}]});
    check_shape("CreateRuleGroupRequest", &create);
    let req = assert_round_trip::<CreateRuleGroupRequest>(&create);
    let arn = format!("arn:aws:wafv2:us-east-1:123456789012:global/rulegroup/g/{ID}");
    let mut group = req.into_rule_group(ID.into(), arn, "awswaf:123456789012:rulegroup:g:".into());
    validate_rule_group(&group, Scope::Cloudfront).expect("valid group");
    let update = json!({"Name": "g", "Scope": "CLOUDFRONT", "Id": ID, "LockToken": ID, "Description": "no rules now",
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "g"}});
    check_shape("UpdateRuleGroupRequest", &update);
    assert_round_trip::<UpdateRuleGroupRequest>(&update).apply_to(&mut group);
    assert_eq!(group.capacity, 50);
    assert!(group.rules().is_empty());

    let create = json!({"Name": "s", "Scope": "REGIONAL", "IPAddressVersion": "IPV4", "Addresses": ["192.0.2.0/24"]});
    check_shape("CreateIPSetRequest", &create);
    let mut set = assert_round_trip::<CreateIpSetRequest>(&create).into_ip_set(
        ID.into(),
        format!("arn:aws:wafv2:us-east-1:123456789012:regional/ipset/s/{ID}"),
    );
    validate_ip_set(&set).expect("valid set");
    let update =
        json!({"Name": "s", "Scope": "REGIONAL", "Id": ID, "LockToken": ID, "Addresses": []});
    check_shape("UpdateIPSetRequest", &update);
    assert_round_trip::<UpdateIpSetRequest>(&update).apply_to(&mut set);
    assert!(set.addresses.is_empty());

    let create = json!({"Name": "p", "Scope": "REGIONAL", "RegularExpressionList": [{"RegexString": "^/a"}],
        "Tags": [{"Key": "k", "Value": ""}]});
    check_shape("CreateRegexPatternSetRequest", &create);
    let mut rps = assert_round_trip::<CreateRegexPatternSetRequest>(&create)
        .into_regex_pattern_set(
            ID.into(),
            format!("arn:aws:wafv2:us-east-1:123456789012:regional/regexpatternset/p/{ID}"),
        );
    validate_regex_pattern_set(&rps).expect("valid regex set");
    let update = json!({"Name": "p", "Scope": "REGIONAL", "Id": ID, "LockToken": ID, "RegularExpressionList": []});
    check_shape("UpdateRegexPatternSetRequest", &update);
    assert_round_trip::<UpdateRegexPatternSetRequest>(&update).apply_to(&mut rps);
    assert_eq!(rps.regular_expression_list, Some(vec![]));

    let mut check = create_web_acl();
    let rules = check["Rules"].take();
    let check = json!({"Scope": "REGIONAL", "Rules": rules});
    check_shape("CheckCapacityRequest", &check);
    let req = assert_round_trip::<CheckCapacityRequest>(&check);
    assert_eq!(
        capacity::rules_capacity(&req.rules, &capacity::AwsManagedOnly),
        Ok(355)
    );
}
