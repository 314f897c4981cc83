//! Rule groups: references, managed groups (inlined and external), overrides, exclusions, scope-down, labels.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::{
    ActionKind, CompileError, FinalAction, GroupMatch, GroupOutcome, ManagedGroup,
    ManagedGroupConfig, ResolvedAction, RuleGroupManaged, RuleType,
};

const GROUP_ARN: &str = "arn:aws:wafv2:us-east-1:444455556666:regional/rulegroup/g/1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

fn qs(s: &str) -> serde_json::Value {
    byte_match(s, json!({"QueryString": {}}), "CONTAINS", &["NONE"])
}

fn group_doc() -> serde_json::Value {
    let mut r1 = rule("g-count", 0, qs("a"), "Count");
    r1["RuleLabels"] = json!([{"Name": "saw:a"}]);
    let mut r2 = rule("g-block", 1, qs("b"), "Block");
    r2["RuleLabels"] = json!([{"Name": "saw:b"}]);
    // sees the label of g-count (unqualified key, same group context)
    let r3 = rule(
        "g-needs-a",
        2,
        json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "saw:a"}}),
        "Captcha",
    );
    json!({"Name": "g", "Id": "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "Capacity": 10, "ARN": GROUP_ARN,
           "VisibilityConfig": vis("g"), "Rules": [r3, r2, r1]})
}

fn group_res() -> Resources {
    let mut res = Resources::default();
    res.add_rule_group(portcullis_waf_model::RuleGroup::from_value(group_doc()).unwrap());
    res
}

fn group_rule(override_count: bool, extra: serde_json::Value) -> serde_json::Value {
    let mut st = json!({"ARN": GROUP_ARN});
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            st[k] = v;
        }
    }
    json!({"Name": "grp", "Priority": 0, "Statement": {"RuleGroupReferenceStatement": st},
           "OverrideAction": if override_count { json!({"Count": {}}) } else { json!({"None": {}}) },
           "VisibilityConfig": vis("grp")})
}

const GNS: &str = "awswaf:444455556666:rulegroup:g:";

#[test]
fn rule_group_runs_in_its_priority_order_with_its_namespace() {
    let acl = compile_with(
        acl_doc(json!([group_rule(false, json!({}))]), "Allow"),
        &group_res(),
    );
    let v = eval(&acl, &get("/?b").build());
    assert!(!v.is_allowed());
    let t = v.terminating_rule.unwrap();
    assert_eq!(
        (t.name.as_str(), t.rule_group.as_deref(), t.rule_type),
        ("g-block", Some("grp"), RuleType::Group)
    );
    assert_eq!(v.labels, [format!("{GNS}saw:b")]);

    let v = eval(&acl, &get("/?a").build());
    // g-count (priority 0) labels, then g-needs-a (priority 2) sees it: CAPTCHA without token
    assert_eq!(v.action, FinalAction::Captcha);
    assert_eq!(v.non_terminating[0].name, "g-count");
    assert_eq!(v.non_terminating[0].rule_group.as_deref(), Some("grp"));
    assert!(eval(&acl, &get("/?c").build()).is_allowed());
}

#[test]
fn override_action_count_turns_group_result_into_count() {
    let acl = compile_with(
        acl_doc(
            json!([
                group_rule(true, json!({})),
                rule("after", 1, qs("b"), "Count")
            ]),
            "Allow",
        ),
        &group_res(),
    );
    let v = eval(&acl, &get("/?b").build());
    assert!(v.is_allowed());
    let names: Vec<(&str, ActionKind, Option<ActionKind>)> = v
        .non_terminating
        .iter()
        .map(|m| (m.name.as_str(), m.action, m.overridden_action))
        .collect();
    assert_eq!(
        names,
        [
            ("grp", ActionKind::Count, Some(ActionKind::Block)),
            ("after", ActionKind::Count, None)
        ]
    );
    assert!(
        v.has_label(&format!("{GNS}saw:b")),
        "labels of the group's rules are kept"
    );
}

#[test]
fn rule_action_overrides_and_excluded_rules() {
    let over = json!({"RuleActionOverrides": [{"Name": "g-block", "ActionToUse": {"Count": {}}}]});
    let acl = compile_with(
        acl_doc(json!([group_rule(false, over)]), "Block"),
        &group_res(),
    );
    let v = eval(&acl, &get("/?b").build());
    assert!(matches!(v.action, FinalAction::Block(_)));
    assert!(v.terminating_rule.is_none(), "the default action decided");
    assert_eq!(
        v.non_terminating[0].overridden_action,
        Some(ActionKind::Block)
    );
    assert!(!v.non_terminating[0].excluded);

    let excl = json!({"ExcludedRules": [{"Name": "g-block"}]});
    let acl = compile_with(
        acl_doc(json!([group_rule(false, excl)]), "Allow"),
        &group_res(),
    );
    let v = eval(&acl, &get("/?b").build());
    assert!(v.is_allowed());
    assert!(v.non_terminating[0].excluded);

    let to_block =
        json!({"RuleActionOverrides": [{"Name": "g-count", "ActionToUse": {"Block": {}}}]});
    let acl = compile_with(
        acl_doc(json!([group_rule(false, to_block)]), "Allow"),
        &group_res(),
    );
    assert!(!eval(&acl, &get("/?a").build()).is_allowed());

    let bad = json!({"RuleActionOverrides": [{"Name": "nope", "ActionToUse": {"Count": {}}}]});
    let err = CompiledAcl::compile(
        &parse_acl(acl_doc(json!([group_rule(false, bad)]), "Allow")),
        &group_res(),
    )
    .unwrap_err();
    assert!(
        matches!(err, CompileError::UnknownGroupRule { ref name, .. } if name == "nope"),
        "{err:?}"
    );
}

fn managed_rule(extra: serde_json::Value) -> serde_json::Value {
    let mut st = json!({"VendorName": "Portcullis", "Name": "Demo"});
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            st[k] = v;
        }
    }
    json!({"Name": "managed", "Priority": 0, "Statement": {"ManagedRuleGroupStatement": st},
           "OverrideAction": {"None": {}}, "VisibilityConfig": vis("managed")})
}

#[test]
fn managed_rule_group_defined_as_rule_group_is_inlined() {
    let group = portcullis_waf_model::RuleGroup::from_value(group_doc()).unwrap();
    let managed =
        RuleGroupManaged::new("Portcullis", "demo", group, &Resources::default()).unwrap();
    let mut res = Resources::default();
    res.add_managed_group("Portcullis", "Demo", Arc::new(managed));
    let acl = compile_with(
        acl_doc(
            json!([managed_rule(
                json!({"ScopeDownStatement": byte_match("/app", json!({"UriPath": {}}), "STARTS_WITH", &["NONE"]),
                "RuleActionOverrides": [{"Name": "unknown-is-ignored", "ActionToUse": {"Count": {}}}]})
            )]),
            "Allow",
        ),
        &res,
    );
    let v = eval(&acl, &get("/app?b").build());
    assert!(!v.is_allowed());
    assert_eq!(
        v.terminating_rule.as_ref().unwrap().rule_type,
        RuleType::ManagedRuleGroup
    );
    assert!(
        v.has_label("awswaf:managed:portcullis:demo:saw:b"),
        "{:?}",
        v.labels
    );
    assert!(
        eval(&acl, &get("/other?b").build()).is_allowed(),
        "outside the scope-down"
    );
}

#[test]
fn rule_group_managed_evaluates_on_its_own() {
    let group = portcullis_waf_model::RuleGroup::from_value(group_doc()).unwrap();
    let managed =
        RuleGroupManaged::new("Portcullis", "demo", group, &Resources::default()).unwrap();
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(0, &rate);
    let out = managed.evaluate(&get("/?ab").build(), &ManagedGroupConfig::default(), &env);
    let names: Vec<&str> = out.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(
        names,
        ["g-count", "g-block"],
        "stops at the first terminating match"
    );
    assert_eq!(
        out.matches[0].labels,
        ["awswaf:managed:portcullis:demo:saw:a"]
    );
    let mut cfg = ManagedGroupConfig::default();
    cfg.excluded.insert("g-block".to_owned());
    let out = managed.evaluate(&get("/?ab").build(), &cfg, &env);
    let names: Vec<&str> = out.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(names, ["g-count", "g-block", "g-needs-a"]);
}

/// An engine that is not a WAFv2 rule group: blocks when the query contains "attack".
struct Fake;

impl ManagedGroup for Fake {
    fn label_namespace(&self) -> &str {
        "awswaf:managed:acme:fake:"
    }
    fn rule_names(&self) -> Vec<String> {
        vec!["tag".to_owned(), "attack".to_owned()]
    }
    fn evaluate(
        &self,
        req: &Request,
        _cfg: &ManagedGroupConfig,
        _env: &EvalEnv<'_>,
    ) -> GroupOutcome {
        let mut out = GroupOutcome::default();
        out.matches.push(GroupMatch {
            rule: "tag".to_owned(),
            action: ResolvedAction::plain(ActionKind::Count),
            labels: vec!["awswaf:managed:acme:fake:seen".to_owned()],
            match_details: Vec::new(),
        });
        if req.uri.contains("attack") {
            out.matches.push(GroupMatch {
                rule: "attack".to_owned(),
                action: ResolvedAction::plain(ActionKind::Block),
                labels: vec!["awswaf:managed:acme:fake:attack".to_owned()],
                match_details: Vec::new(),
            });
        }
        out
    }
}

#[test]
fn external_managed_group_with_overrides() {
    let mut res = Resources::default();
    res.add_managed_group("Acme", "Fake", Arc::new(Fake));
    let doc = |extra: serde_json::Value| {
        let mut r = managed_rule(extra);
        r["Statement"]["ManagedRuleGroupStatement"]["VendorName"] = json!("Acme");
        r["Statement"]["ManagedRuleGroupStatement"]["Name"] = json!("Fake");
        let later = rule(
            "later",
            1,
            json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "awswaf:managed:acme:fake:seen"}}),
            "Count",
        );
        acl_doc(json!([r, later]), "Allow")
    };
    let acl = compile_with(doc(json!({})), &res);
    let v = eval(&acl, &get("/?attack").build());
    assert!(!v.is_allowed());
    let t = v.terminating_rule.unwrap();
    assert_eq!(
        (t.name.as_str(), t.rule_group.as_deref()),
        ("attack", Some("managed"))
    );
    let v = eval(&acl, &get("/?fine").build());
    assert!(v.is_allowed());
    assert_eq!(
        v.non_terminating
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        ["tag", "later"]
    );

    let acl = compile_with(
        doc(json!({"RuleActionOverrides": [{"Name": "attack", "ActionToUse": {"Count": {}}}]})),
        &res,
    );
    let v = eval(&acl, &get("/?attack").build());
    assert!(v.is_allowed());
    assert!(v.has_label("awswaf:managed:acme:fake:attack"));

    let missing = CompiledAcl::compile(
        &parse_acl(acl_doc(json!([managed_rule(json!({}))]), "Allow")),
        &res,
    )
    .unwrap_err();
    assert!(matches!(missing, CompileError::UnknownManagedGroup { .. }));
}

#[test]
fn group_statements_cannot_nest() {
    let nested =
        json!({"NotStatement": {"Statement": {"RuleGroupReferenceStatement": {"ARN": GROUP_ARN}}}});
    let err = CompiledAcl::compile(
        &parse_acl(acl_doc(json!([rule("n", 0, nested, "Block")]), "Allow")),
        &group_res(),
    )
    .unwrap_err();
    assert!(matches!(err, CompileError::Unsupported { .. }), "{err:?}");
}
