//! Evaluation semantics: priorities, actions, labels, custom responses, tokens, rate limits.

use serde_json::json;

use super::*;
use crate::{ActionKind, FinalAction, RuleType, TokenRejection, TokenState};

fn uri_starts(s: &str) -> serde_json::Value {
    byte_match(s, json!({"UriPath": {}}), "STARTS_WITH", &["NONE"])
}

#[test]
fn priority_order_not_list_order() {
    let acl = compile(acl_doc(
        json!([
            rule("later-block", 5, uri_starts("/a"), "Block"),
            rule("first-allow", 1, uri_starts("/a"), "Allow")
        ]),
        "Block",
    ));
    let v = eval(&acl, &get("/a").build());
    assert!(v.is_allowed());
    assert_eq!(v.terminating_rule.as_ref().unwrap().name, "first-allow");
    let v = eval(&acl, &get("/b").build());
    assert!(matches!(v.action, FinalAction::Block(ref r) if r.status == 403));
    assert!(
        v.terminating_rule.is_none(),
        "default action has no terminating rule"
    );
}

#[test]
fn count_continues_and_is_recorded() {
    let acl = compile(acl_doc(
        json!([
            rule("c", 0, uri_starts("/"), "Count"),
            rule("b", 1, uri_starts("/x"), "Block")
        ]),
        "Allow",
    ));
    let v = eval(&acl, &get("/x").build());
    assert!(!v.is_allowed());
    assert_eq!(v.non_terminating.len(), 1);
    assert_eq!(v.non_terminating[0].name, "c");
    assert_eq!(v.non_terminating[0].action, ActionKind::Count);
    let t = v.terminating_rule.unwrap();
    assert_eq!(
        (t.name.as_str(), t.action, t.rule_type),
        ("b", ActionKind::Block, RuleType::Regular)
    );
    let v = eval(&acl, &get("/y").build());
    assert!(v.is_allowed() && v.non_terminating.len() == 1);
}

#[test]
fn labels_are_visible_only_to_later_rules() {
    let mut tag = rule("tag", 10, uri_starts("/admin"), "Count");
    tag["RuleLabels"] = json!([{"Name": "zone:admin"}]);
    let check_before = rule(
        "before",
        5,
        json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "zone:admin"}}),
        "Block",
    );
    let check_after = rule(
        "after",
        20,
        json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "zone:admin"}}),
        "Block",
    );
    let acl = compile(acl_doc(json!([tag.clone(), check_before]), "Allow"));
    let v = eval(&acl, &get("/admin").build());
    assert!(v.is_allowed(), "the label did not exist yet");
    assert_eq!(v.labels, [format!("{NS}zone:admin")]);
    let acl = compile(acl_doc(json!([tag, check_after]), "Allow"));
    assert!(!eval(&acl, &get("/admin").build()).is_allowed());
    assert!(eval(&acl, &get("/public").build()).is_allowed());
}

#[test]
fn label_match_namespace_and_fully_qualified_keys() {
    let mut tag = rule("tag", 0, uri_starts("/"), "Count");
    tag["RuleLabels"] = json!([{"Name": "bot:category:crawler"}]);
    for (scope, key, want) in [
        ("LABEL", "bot:category:crawler", true),
        ("LABEL", "crawler", true),
        ("LABEL", "category", false),
        ("LABEL", &*format!("{NS}bot:category:crawler"), true),
        ("LABEL", "awswaf:999:webacl:t:bot:category:crawler", false),
        ("NAMESPACE", "bot:", true),
        ("NAMESPACE", "bot:category:", true),
        ("NAMESPACE", &*format!("{NS}bot:"), true),
        ("NAMESPACE", "crawler:", false),
        ("NAMESPACE", "cat:", false),
    ] {
        let acl = compile(acl_doc(
            json!([
                tag.clone(),
                rule(
                    "m",
                    1,
                    json!({"LabelMatchStatement": {"Scope": scope, "Key": key}}),
                    "Block"
                )
            ]),
            "Allow",
        ));
        assert_eq!(
            !eval(&acl, &get("/").build()).is_allowed(),
            want,
            "{scope} {key}"
        );
    }
}

#[test]
fn custom_responses_and_request_headers() {
    let mut doc = acl_doc(
        json!([
            {"Name": "hdr", "Priority": 0, "Statement": uri_starts("/"), "VisibilityConfig": vis("hdr"),
             "Action": {"Count": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "seen", "Value": "1"}]}}}},
            {"Name": "deny", "Priority": 1, "Statement": uri_starts("/deny"), "VisibilityConfig": vis("deny"),
             "Action": {"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "slow",
                "ResponseHeaders": [{"Name": "Retry-After", "Value": "5"}]}}}}
        ]),
        "Allow",
    );
    doc["CustomResponseBodies"] =
        json!({"slow": {"ContentType": "APPLICATION_JSON", "Content": "{\"e\":1}"}});
    doc["DefaultAction"] = json!({"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "ok", "Value": "y"}]}}});
    let acl = compile(doc.clone());
    let v = eval(&acl, &get("/deny").build());
    let FinalAction::Block(resp) = &v.action else {
        panic!("{v:?}")
    };
    assert_eq!(resp.status, 429);
    assert_eq!(resp.headers, [("Retry-After".to_owned(), "5".to_owned())]);
    let body = resp.body.as_ref().unwrap();
    assert_eq!(
        (body.content_type.as_str(), body.content.as_str()),
        ("application/json", "{\"e\":1}")
    );
    assert!(
        v.insert_headers.is_empty(),
        "nothing is inserted into a blocked request"
    );
    let v = eval(&acl, &get("/fine").build());
    assert_eq!(
        v.insert_headers,
        [
            ("x-amzn-waf-seen".to_owned(), "1".to_owned()),
            ("x-amzn-waf-ok".to_owned(), "y".to_owned())
        ]
    );

    doc["CustomResponseBodies"] = json!({});
    let err = CompiledAcl::compile(&parse_acl(doc), &Resources::default()).unwrap_err();
    assert!(
        matches!(err, crate::CompileError::UnknownResponseBody { ref key, .. } if key == "slow"),
        "{err:?}"
    );
}

#[test]
fn default_block_with_custom_response() {
    let mut doc = acl_doc(json!([rule("ok", 0, uri_starts("/ok"), "Allow")]), "Block");
    doc["DefaultAction"] = json!({"Block": {"CustomResponse": {"ResponseCode": 404}}});
    let acl = compile(doc);
    assert!(
        matches!(eval(&acl, &get("/no").build()).action, FinalAction::Block(ref r) if r.status == 404)
    );
    assert!(eval(&acl, &get("/ok").build()).is_allowed());
}

#[test]
fn captcha_and_challenge_tokens() {
    let mut doc = acl_doc(
        json!([
            rule("cap", 0, uri_starts("/login"), "Captcha"),
            rule("chal", 1, uri_starts("/"), "Challenge")
        ]),
        "Allow",
    );
    doc["CaptchaConfig"] = json!({"ImmunityTimeProperty": {"ImmunityTime": 60}});
    let acl = compile(doc);
    let rate = InMemoryRateCounter::new();
    let now = 10_000_000u64;
    let run = |uri: &str, token: Option<TokenState>| {
        let mut env = EvalEnv::new(now, &rate);
        env.token = token;
        acl.evaluate(&get(uri).build(), &env)
    };
    let v = run("/login", None);
    assert_eq!(v.action, FinalAction::Captcha);
    assert!(v.has_label("awswaf:managed:captcha:absent"));
    let fresh = TokenState {
        captcha_solved_ms: Some(now - 30_000),
        challenge_solved_ms: Some(now - 30_000),
        rejection: None,
    };
    let v = run("/login", Some(fresh));
    assert!(v.is_allowed(), "{v:?}");
    assert!(v.has_label("awswaf:managed:captcha:accepted"));
    assert!(v.has_label("awswaf:managed:token:accepted"));
    let kinds: Vec<ActionKind> = v.non_terminating.iter().map(|m| m.action).collect();
    assert_eq!(kinds, [ActionKind::Captcha, ActionKind::Challenge]);
    // CAPTCHA immunity is 60 s, challenge keeps the 300 s default
    let stale = TokenState {
        captcha_solved_ms: Some(now - 120_000),
        challenge_solved_ms: Some(now - 120_000),
        rejection: None,
    };
    let v = run("/login", Some(stale));
    assert_eq!(v.action, FinalAction::Captcha);
    assert!(v.has_label("awswaf:managed:captcha:rejected:expired"));
    assert!(run("/other", Some(stale)).is_allowed());
    let v = run(
        "/other",
        Some(TokenState {
            rejection: Some(TokenRejection::Invalid),
            ..fresh
        }),
    );
    assert_eq!(v.action, FinalAction::Challenge);
    assert!(v.has_label("awswaf:managed:token:rejected"));
}

#[test]
fn rate_based_ip_and_limit() {
    let st = json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}});
    let acl = compile(acl_doc(json!([rule("rl", 0, st, "Block")]), "Allow"));
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(1_000_000, &rate);
    for i in 1..=10 {
        assert!(
            acl.evaluate(&from("192.0.2.1").build(), &env).is_allowed(),
            "request {i} is within the limit"
        );
    }
    let v = acl.evaluate(&from("192.0.2.1").build(), &env);
    assert!(!v.is_allowed(), "the 11th exceeds the limit");
    assert_eq!(v.terminating_rule.unwrap().rule_type, RuleType::RateBased);
    assert!(
        acl.evaluate(&from("192.0.2.2").build(), &env).is_allowed(),
        "another instance"
    );
    // the window slides: after it, the address is counted afresh
    let later = EvalEnv::new(1_000_000 + 61_000, &rate);
    assert!(
        acl.evaluate(&from("192.0.2.1").build(), &later)
            .is_allowed()
    );
}

#[test]
fn rate_based_managed_keys_follow_the_counter() {
    use crate::rate_keys::ManagedKeys;
    let st = json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}});
    let custom = json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"IP": {}}, {"HTTPMethod": {}}]}});
    let mut doc = acl_doc(
        json!([
            rule("rl", 0, st, "Count"),
            rule("custom", 1, custom, "Count")
        ]),
        "Allow",
    );
    let arn = "arn:aws:wafv2:us-east-1:000000000000:regional/webacl/t/abc";
    doc["ARN"] = json!(arn);
    let acl = compile(doc);
    let rate = InMemoryRateCounter::new();
    let keys = ManagedKeys::new();
    let now = 1_000_000;
    let env = EvalEnv::new(now, &rate).with_managed_keys(&keys);
    for _ in 0..11 {
        acl.evaluate(&from("192.0.2.1").build(), &env);
        acl.evaluate(&from("2001:db8::1").build(), &env);
    }
    for _ in 0..5 {
        acl.evaluate(&from("192.0.2.2").build(), &env);
    }
    let ips = |at: u64| keys.addresses(arn, None, "rl", &rate, at);
    assert_eq!(
        ips(now),
        [
            "192.0.2.1".parse::<std::net::IpAddr>().unwrap(),
            "2001:db8::1".parse().unwrap()
        ],
        "only addresses over the limit"
    );
    assert!(
        keys.addresses(arn, None, "custom", &rate, now).is_empty(),
        "custom keys have no managed keys"
    );
    assert!(keys.addresses(arn, Some("rl"), "rl", &rate, now).is_empty());
    assert!(ips(now + 61_000).is_empty(), "the window has passed");
    assert!(ips(now).is_empty(), "and the addresses were forgotten");
}

#[test]
fn rate_based_custom_keys_scope_down_and_missing_keys() {
    let st = json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"Header": {"Name": "x-tenant", "TextTransformations": tt(&["LOWERCASE"])}}, {"HTTPMethod": {}}],
        "ScopeDownStatement": uri_starts("/api")}});
    let acl = compile(acl_doc(json!([rule("rl", 0, st, "Block")]), "Allow"));
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(5_000_000, &rate);
    let req = |tenant: Option<&str>, method: &str, uri: &str| {
        let mut b = get(uri).method(method);
        if let Some(t) = tenant {
            b = b.header("X-Tenant", t);
        }
        b.build()
    };
    for _ in 0..10 {
        assert!(
            acl.evaluate(&req(Some("Acme"), "GET", "/api/x"), &env)
                .is_allowed()
        );
    }
    // same instance: the transformation folds the case
    assert!(
        !acl.evaluate(&req(Some("ACME"), "GET", "/api/y"), &env)
            .is_allowed()
    );
    // another method is another instance
    assert!(
        acl.evaluate(&req(Some("acme"), "POST", "/api/x"), &env)
            .is_allowed()
    );
    // outside the scope-down: neither counted nor acted on
    for _ in 0..20 {
        assert!(
            acl.evaluate(&req(Some("other"), "GET", "/web"), &env)
                .is_allowed()
        );
    }
    assert!(
        acl.evaluate(&req(Some("other"), "GET", "/api"), &env)
            .is_allowed(),
        "the /web requests were not counted"
    );
    // missing key: never counted
    for _ in 0..20 {
        assert!(acl.evaluate(&req(None, "GET", "/api"), &env).is_allowed());
    }
}

#[test]
fn rate_based_constant_forwarded_and_label_keys() {
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(9_000_000, &rate);
    let constant = json!({"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "CONSTANT",
        "ScopeDownStatement": uri_starts("/c")}});
    let acl = compile(acl_doc(json!([rule("k", 0, constant, "Block")]), "Allow"));
    let blocked = (0..12)
        .filter(|i| {
            !acl.evaluate(&from(&format!("192.0.2.{i}")).uri("/c").build(), &env)
                .is_allowed()
        })
        .count();
    assert_eq!(blocked, 2, "every address shares one counter");

    let fwd = json!({"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "FORWARDED_IP",
        "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"}}});
    let acl = compile(acl_doc(json!([rule("f", 0, fwd, "Block")]), "Allow"));
    for _ in 0..10 {
        assert!(
            acl.evaluate(
                &get("/")
                    .header("x-forwarded-for", "203.0.113.5, 10.0.0.1")
                    .build(),
                &env
            )
            .is_allowed()
        );
    }
    assert!(
        !acl.evaluate(
            &get("/").header("x-forwarded-for", "203.0.113.5").build(),
            &env
        )
        .is_allowed()
    );
    assert!(
        acl.evaluate(&get("/").build(), &env).is_allowed(),
        "no header: not applied"
    );
    assert!(
        !acl.evaluate(&get("/").header("x-forwarded-for", "junk").build(), &env)
            .is_allowed(),
        "fallback MATCH"
    );

    let mut tag = rule("tag", 0, uri_starts("/"), "Count");
    tag["RuleLabels"] = json!([{"Name": "tenant:gold"}]);
    let lbl = json!({"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"LabelNamespace": {"Namespace": "tenant:"}}]}});
    let acl = compile(acl_doc(json!([tag, rule("l", 1, lbl, "Block")]), "Allow"));
    // a namespace that is not fully qualified is read in the web ACL's context
    for _ in 0..10 {
        assert!(acl.evaluate(&get("/").build(), &env).is_allowed());
    }
    assert!(!acl.evaluate(&get("/").build(), &env).is_allowed());
    let lbl_missing = json!({"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"LabelNamespace": {"Namespace": "other:"}}]}});
    let acl = compile(acl_doc(
        json!([rule("l2", 1, lbl_missing, "Block")]),
        "Allow",
    ));
    for _ in 0..15 {
        assert!(
            acl.evaluate(&get("/").build(), &env).is_allowed(),
            "no label under the namespace: not counted"
        );
    }
}
