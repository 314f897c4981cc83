//! One test (or more) per statement type and field, each with cases that must not match.

use serde_json::json;

use super::*;
use crate::CompileError;
use crate::geo::GeoDb;
use crate::geo::testdb::{Writer, asn_record, city_record};

#[test]
fn byte_match_positions() {
    let path = json!({"UriPath": {}});
    let cases = [
        ("EXACTLY", "/admin", "/admin", true),
        ("EXACTLY", "/admin", "/admin/x", false),
        ("STARTS_WITH", "/admin", "/admin/x", true),
        ("STARTS_WITH", "/admin", "/x/admin", false),
        ("ENDS_WITH", ".php", "/a/b.php", true),
        ("ENDS_WITH", ".php", "/a/b.php5", false),
        ("CONTAINS", "etc", "/x/etc/passwd", true),
        ("CONTAINS", "etc", "/x/ETC/passwd", false),
        ("CONTAINS_WORD", "admin", "/x/admin/y", true),
        ("CONTAINS_WORD", "admin", "admin", true),
        ("CONTAINS_WORD", "admin", "/administrator", false),
        ("CONTAINS_WORD", "admin", "/my_admin", false),
        // the second occurrence is bounded
        ("CONTAINS_WORD", "admin", "/adminx/admin", true),
    ];
    for (pos, search, uri, want) in cases {
        let st = byte_match(search, path.clone(), pos, &["NONE"]);
        assert_eq!(
            blocks(st, &get(uri).build()),
            want,
            "{pos} {search:?} in {uri:?}"
        );
    }
}

#[test]
fn byte_match_is_case_sensitive_unless_transformed() {
    let st = byte_match("select", json!({"QueryString": {}}), "CONTAINS", &["NONE"]);
    assert!(!blocks(st, &get("/?q=SELECT").build()));
    let st = byte_match(
        "select",
        json!({"QueryString": {}}),
        "CONTAINS",
        &["URL_DECODE", "LOWERCASE"],
    );
    assert!(blocks(st.clone(), &get("/?q=%53ELECT").build()));
    assert!(!blocks(st, &get("/?q=SELEC").build()));
}

#[test]
fn byte_match_fields() {
    let hdr = byte_match(
        "curl",
        json!({"SingleHeader": {"Name": "User-Agent"}}),
        "STARTS_WITH",
        &["NONE"],
    );
    assert!(blocks(
        hdr.clone(),
        &get("/").header("user-agent", "curl/8").build()
    ));
    assert!(!blocks(
        hdr.clone(),
        &get("/").header("x-user-agent", "curl/8").build()
    ));
    assert!(
        !blocks(hdr, &get("/").build()),
        "missing header never matches"
    );

    let arg = byte_match(
        "1",
        json!({"SingleQueryArgument": {"Name": "Debug"}}),
        "EXACTLY",
        &["NONE"],
    );
    assert!(blocks(arg.clone(), &get("/?DEBUG=1").build()));
    assert!(!blocks(arg.clone(), &get("/?debugx=1&x=1").build()));
    assert!(!blocks(arg, &get("/?q=debug%3D1").build()));

    let all = byte_match(
        "<x>",
        json!({"AllQueryArguments": {}}),
        "CONTAINS",
        &["URL_DECODE"],
    );
    assert!(blocks(all.clone(), &get("/?a=1&b=%3Cx%3E").build()));
    assert!(
        !blocks(all, &get("/?%3Cx%3E=1").build()),
        "argument names are not values"
    );

    let path = byte_match("q", json!({"UriPath": {}}), "CONTAINS", &["NONE"]);
    assert!(
        !blocks(path, &get("/a?q=1").build()),
        "UriPath excludes the query"
    );

    let method = byte_match("DELETE", json!({"Method": {}}), "EXACTLY", &["NONE"]);
    assert!(blocks(method.clone(), &get("/").method("DELETE").build()));
    assert!(!blocks(method, &get("/").method("GET").build()));

    let qs = byte_match("a=1&b", json!({"QueryString": {}}), "EXACTLY", &["NONE"]);
    assert!(blocks(qs.clone(), &get("/p?a=1&b").build()));
    assert!(!blocks(qs, &get("/p?a=1&b=2").build()));

    let frag = byte_match("x", json!({"UriFragment": {}}), "EXACTLY", &["NONE"]);
    assert!(blocks(frag.clone(), &get("/p#x").build()));
    assert!(!blocks(frag, &get("/p").build()));
    let frag_fb = byte_match(
        "x",
        json!({"UriFragment": {"FallbackBehavior": "MATCH"}}),
        "EXACTLY",
        &["NONE"],
    );
    assert!(blocks(frag_fb, &get("/p").build()));
}

#[test]
fn shared_field_automaton_keeps_rules_apart() {
    // Three byte matches on the same (field, transformations) share one automaton; each rule sees only its own.
    let f = json!({"QueryString": {}});
    let acl = compile(acl_doc(
        json!([
            rule(
                "a",
                0,
                byte_match("alpha", f.clone(), "CONTAINS", &["LOWERCASE"]),
                "Count"
            ),
            rule(
                "b",
                1,
                byte_match("beta", f.clone(), "STARTS_WITH", &["LOWERCASE"]),
                "Count"
            ),
            rule(
                "c",
                2,
                byte_match("gamma", f.clone(), "ENDS_WITH", &["LOWERCASE"]),
                "Count"
            ),
        ]),
        "Allow",
    ));
    assert_eq!(acl.distinct_fields(), 1);
    let v = eval(&acl, &get("/?x=ALPHA&beta=gamma").build());
    let names: Vec<&str> = v.non_terminating.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
}

#[test]
fn regex_match_and_pattern_sets() {
    let st = json!({"RegexMatchStatement": {"RegexString": "^/api/v[0-9]+/", "FieldToMatch": {"UriPath": {}},
        "TextTransformations": tt(&["NONE"])}});
    assert!(blocks(st.clone(), &get("/api/v12/x").build()));
    assert!(!blocks(st, &get("/x/api/v1/").build()));

    let arn = "arn:aws:wafv2:us-east-1:111122223333:regional/regexpatternset/bad/1";
    let mut res = Resources::default();
    res.add_regex_pattern_set(
        arn,
        portcullis_waf_model::RegexPatternSet::from_value(json!({"ARN": arn,
            "RegularExpressionList": [{"RegexString": "(?i)sqlmap"}, {"RegexString": "nikto"}]}))
        .unwrap(),
    );
    let st = json!({"RegexPatternSetReferenceStatement": {"ARN": arn,
        "FieldToMatch": {"SingleHeader": {"Name": "user-agent"}}, "TextTransformations": tt(&["NONE"])}});
    let acl = compile_with(acl_doc(json!([rule("r", 0, st, "Block")]), "Allow"), &res);
    assert!(!eval(&acl, &get("/").header("User-Agent", "SQLMap/1.0").build()).is_allowed());
    assert!(!eval(&acl, &get("/").header("User-Agent", "x nikto").build()).is_allowed());
    assert!(eval(&acl, &get("/").header("User-Agent", "Mozilla").build()).is_allowed());
}

#[test]
fn regex_that_does_not_compile_is_named() {
    let st = json!({"RegexMatchStatement": {"RegexString": "(a)\\1", "FieldToMatch": {"UriPath": {}},
        "TextTransformations": tt(&["NONE"])}});
    let err = CompiledAcl::compile(
        &parse_acl(acl_doc(json!([rule("bad-re", 0, st, "Block")]), "Allow")),
        &Resources::default(),
    )
    .unwrap_err();
    match err {
        CompileError::Regex { rule, pattern, .. } => {
            assert_eq!(rule, "bad-re");
            assert_eq!(pattern, "(a)\\1");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_references_are_compile_errors() {
    let st =
        json!({"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:1:regional/ipset/x/y"}});
    let err = CompiledAcl::compile(
        &parse_acl(acl_doc(json!([rule("r", 0, st, "Block")]), "Allow")),
        &Resources::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CompileError::UnknownIpSet { .. }), "{err:?}");
}

#[test]
fn size_constraint_after_transformations() {
    let st = |op: &str, size: i64, t: &[&str]| {
        json!({"SizeConstraintStatement": {"FieldToMatch": {"QueryString": {}}, "ComparisonOperator": op,
            "Size": size, "TextTransformations": tt(t)}})
    };
    // "a%20b" is 5 bytes raw, 3 after URL_DECODE.
    assert!(blocks(st("EQ", 5, &["NONE"]), &get("/?a%20b").build()));
    assert!(blocks(
        st("EQ", 3, &["URL_DECODE"]),
        &get("/?a%20b").build()
    ));
    assert!(!blocks(
        st("GT", 3, &["URL_DECODE"]),
        &get("/?a%20b").build()
    ));
    assert!(blocks(
        st("LT", 4, &["URL_DECODE"]),
        &get("/?a%20b").build()
    ));
    assert!(blocks(st("NE", 4, &["NONE"]), &get("/?a%20b").build()));
    assert!(blocks(st("GE", 5, &["NONE"]), &get("/?a%20b").build()));
    assert!(!blocks(st("LE", 4, &["NONE"]), &get("/?a%20b").build()));
    let uri = json!({"SizeConstraintStatement": {"FieldToMatch": {"UriPath": {}}, "ComparisonOperator": "EQ",
        "Size": 9, "TextTransformations": tt(&["NONE"])}});
    assert!(
        blocks(uri, &get("/logo.jpg").build()),
        "AWS: /logo.jpg is 9 bytes"
    );
    let hdr = json!({"SizeConstraintStatement": {"FieldToMatch": {"SingleHeader": {"Name": "x"}},
        "ComparisonOperator": "LT", "Size": 100, "TextTransformations": tt(&["NONE"])}});
    assert!(
        !blocks(hdr, &get("/").build()),
        "a missing header has no size to compare"
    );
}

#[test]
fn body_oversize_handling() {
    let st = |handling: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64("evil"), "FieldToMatch": {"Body": {"OversizeHandling": handling}},
            "PositionalConstraint": "CONTAINS", "TextTransformations": tt(&["NONE"])}})
    };
    let res = Resources {
        body_inspection_limit: Some(16),
        ..Resources::default()
    };
    let run = |handling: &str, body: &str| {
        let acl = compile_with(
            acl_doc(json!([rule("r", 0, st(handling), "Block")]), "Allow"),
            &res,
        );
        !eval(&acl, &get("/").method("POST").body(body).build()).is_allowed()
    };
    let beyond = format!("{}evil", "x".repeat(20));
    let within = "xx evil";
    assert!(run("CONTINUE", within));
    assert!(
        !run("CONTINUE", &beyond),
        "CONTINUE inspects only the window"
    );
    assert!(run("MATCH", &beyond));
    assert!(run("MATCH", within));
    assert!(
        !run("NO_MATCH", &format!("evil{}", "x".repeat(20))),
        "NO_MATCH even when the window matches"
    );
    assert!(run("NO_MATCH", within));

    let size = json!({"SizeConstraintStatement": {"FieldToMatch": {"Body": {}}, "ComparisonOperator": "GT",
        "Size": 16, "TextTransformations": tt(&["NONE"])}});
    let acl = compile_with(acl_doc(json!([rule("r", 0, size, "Block")]), "Allow"), &res);
    assert!(
        eval(&acl, &get("/").method("POST").body("x".repeat(40)).build()).is_allowed(),
        "only the inspected bytes are counted"
    );
}

#[test]
fn sqli_and_xss() {
    let sqli = |level: &str| {
        json!({"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}},
            "TextTransformations": tt(&["URL_DECODE"]), "SensitivityLevel": level}})
    };
    assert!(blocks(
        sqli("LOW"),
        &get("/?id=1%27%20OR%20%271%27%3D%271").build()
    ));
    assert!(!blocks(sqli("LOW"), &get("/?q=hello%20world").build()));
    assert!(blocks(
        sqli("HIGH"),
        &get("/?id=1%20UNION%20SELECT%20password%20FROM%20users").build()
    ));
    let xss = json!({"XssMatchStatement": {"FieldToMatch": {"QueryString": {}},
        "TextTransformations": tt(&["URL_DECODE", "HTML_ENTITY_DECODE"])}});
    assert!(blocks(
        xss.clone(),
        &get("/?q=%3Cscript%3Ealert(1)%3C/script%3E").build()
    ));
    assert!(!blocks(xss, &get("/?q=a%20%3C%20b").build()));
}

fn ip_set_res(addrs: &[&str]) -> (Resources, String) {
    let arn = "arn:aws:wafv2:us-east-1:111122223333:regional/ipset/bad/abc".to_owned();
    let set =
        portcullis_waf_model::IpSet::from_value(json!({"Name": "bad", "Id": "abc", "ARN": arn,
        "IPAddressVersion": "IPV4", "Addresses": addrs}))
        .unwrap();
    let mut res = Resources::default();
    res.add_ip_set(set);
    (res, arn)
}

#[test]
fn ip_set_reference_and_forwarded_positions() {
    let (res, arn) = ip_set_res(&["192.0.2.0/24", "198.51.100.7/32"]);
    let run = |st: serde_json::Value, req: &Request| {
        let acl = compile_with(acl_doc(json!([rule("r", 0, st, "Block")]), "Allow"), &res);
        !eval(&acl, req).is_allowed()
    };
    let plain = json!({"IPSetReferenceStatement": {"ARN": arn}});
    assert!(run(plain.clone(), &from("192.0.2.55").build()));
    assert!(!run(plain.clone(), &from("192.0.3.55").build()));
    assert!(!run(
        plain,
        &from("10.0.0.1")
            .header("X-Forwarded-For", "192.0.2.1")
            .build()
    ));

    let fwd = |pos: &str, fb: &str| {
        json!({"IPSetReferenceStatement": {"ARN": arn, "IPSetForwardedIPConfig":
            {"HeaderName": "X-Forwarded-For", "FallbackBehavior": fb, "Position": pos}}})
    };
    let chain = "203.0.113.9, 198.51.100.7, 10.1.1.1";
    let req = from("10.0.0.1").header("x-forwarded-for", chain).build();
    assert!(!run(fwd("FIRST", "NO_MATCH"), &req));
    assert!(!run(fwd("LAST", "NO_MATCH"), &req));
    assert!(run(fwd("ANY", "NO_MATCH"), &req));
    let req = from("10.0.0.1")
        .header("x-forwarded-for", "192.0.2.4")
        .build();
    assert!(run(fwd("FIRST", "NO_MATCH"), &req));
    // header absent: not applied, even with fallback MATCH; the peer address is not used either
    assert!(!run(fwd("FIRST", "MATCH"), &from("192.0.2.1").build()));
    // header present but invalid: fallback decides
    let junk = from("10.0.0.1")
        .header("x-forwarded-for", "unknown")
        .build();
    assert!(run(fwd("FIRST", "MATCH"), &junk));
    assert!(!run(fwd("FIRST", "NO_MATCH"), &junk));
}

fn geo_db() -> GeoDb {
    let mut w = Writer::new("Test-City-ASN", 6).unwrap();
    let mut fr = city_record("FR", "IDF");
    let asn = asn_record(64500, "Example");
    if let (crate::geo::testdb::Value::Map(a), crate::geo::testdb::Value::Map(b)) = (&mut fr, asn) {
        a.extend(b);
    }
    w.insert("192.0.2.0/24".parse().unwrap(), fr).unwrap();
    w.insert("198.51.100.0/24".parse().unwrap(), city_record("US", "CA"))
        .unwrap();
    GeoDb::from_bytes(w.build().unwrap()).unwrap()
}

#[test]
fn geo_match_labels_every_inspected_request() {
    let db = geo_db();
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(0, &rate).with_geo(&db);
    let st = json!({"GeoMatchStatement": {"CountryCodes": ["FR", "DE"]}});
    let acl = compile(acl_doc(json!([rule("geo", 0, st, "Block")]), "Allow"));
    let v = acl.evaluate(&from("192.0.2.1").build(), &env);
    assert!(!v.is_allowed());
    assert!(
        v.has_label("awswaf:clientip:geo:country:FR"),
        "{:?}",
        v.labels
    );
    let v = acl.evaluate(&from("198.51.100.1").build(), &env);
    assert!(v.is_allowed());
    assert!(v.has_label("awswaf:clientip:geo:country:US"));
    assert!(v.has_label("awswaf:clientip:geo:region:US-CA"));
    let v = acl.evaluate(&from("203.0.113.1").build(), &env);
    assert!(v.is_allowed() && v.labels.is_empty());

    let fwd = json!({"GeoMatchStatement": {"CountryCodes": ["US"],
        "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"}}});
    let acl = compile(acl_doc(json!([rule("geo", 0, fwd, "Block")]), "Allow"));
    let v = acl.evaluate(
        &from("192.0.2.1")
            .header("X-Forwarded-For", "198.51.100.3, 192.0.2.1")
            .build(),
        &env,
    );
    assert!(!v.is_allowed());
    assert!(v.has_label("awswaf:forwardedip:geo:country:US"));
    let v = acl.evaluate(&from("198.51.100.3").build(), &env);
    assert!(v.is_allowed(), "no header: not applied");
}

#[test]
fn asn_match() {
    let db = geo_db();
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(0, &rate).with_geo(&db);
    let acl = compile(acl_doc(
        json!([rule(
            "asn",
            0,
            json!({"AsnMatchStatement": {"AsnList": [64500, 64501]}}),
            "Block"
        )]),
        "Allow",
    ));
    assert!(!acl.evaluate(&from("192.0.2.9").build(), &env).is_allowed());
    assert!(
        acl.evaluate(&from("198.51.100.9").build(), &env)
            .is_allowed()
    );
    // without a geo database nothing matches
    assert!(
        acl.evaluate(&from("192.0.2.9").build(), &EvalEnv::new(0, &rate))
            .is_allowed()
    );
}

#[test]
fn and_or_not() {
    let a = byte_match("a", json!({"QueryString": {}}), "CONTAINS", &["NONE"]);
    let b = byte_match("b", json!({"QueryString": {}}), "CONTAINS", &["NONE"]);
    let and = json!({"AndStatement": {"Statements": [a.clone(), b.clone()]}});
    let or = json!({"OrStatement": {"Statements": [a.clone(), b.clone()]}});
    let not = json!({"NotStatement": {"Statement": a.clone()}});
    assert!(blocks(and.clone(), &get("/?ab").build()));
    assert!(!blocks(and, &get("/?a").build()));
    assert!(blocks(or.clone(), &get("/?b").build()));
    assert!(!blocks(or, &get("/?c").build()));
    assert!(blocks(not.clone(), &get("/?c").build()));
    assert!(!blocks(not, &get("/?a").build()));
}

#[test]
fn json_body_scopes_paths_and_fallbacks() {
    let st = |pattern: serde_json::Value, scope: &str, fb: Option<&str>| {
        let mut jb = json!({"MatchPattern": pattern, "MatchScope": scope});
        if let Some(fb) = fb {
            jb["InvalidFallbackBehavior"] = json!(fb);
        }
        json!({"ByteMatchStatement": {"SearchString": b64("admin"), "FieldToMatch": {"JsonBody": jb},
            "PositionalConstraint": "EXACTLY", "TextTransformations": tt(&["NONE"])}})
    };
    let post = |body: &str| {
        get("/")
            .method("POST")
            .header("content-type", "application/json")
            .body(body)
            .build()
    };
    let all = json!({"All": {}});
    let doc = r#"{"user":{"role":"admin"},"admin":false,"tags":["x","admin"]}"#;
    assert!(blocks(st(all.clone(), "VALUE", None), &post(doc)));
    assert!(blocks(st(all.clone(), "KEY", None), &post(doc)));
    assert!(!blocks(
        st(all.clone(), "VALUE", None),
        &post(r#"{"admin":1}"#)
    ));
    assert!(!blocks(
        st(all.clone(), "KEY", None),
        &post(r#"{"role":"admin"}"#)
    ));
    assert!(blocks(
        st(all.clone(), "ALL", None),
        &post(r#"{"role":"admin"}"#)
    ));
    // escaped string values are compared decoded
    assert!(blocks(
        st(all.clone(), "VALUE", None),
        &post(r#"{"r":"adm\u0069n"}"#)
    ));

    let paths = json!({"IncludedPaths": ["/user/role", "/tags/0"]});
    assert!(blocks(st(paths.clone(), "VALUE", None), &post(doc)));
    assert!(!blocks(
        st(paths.clone(), "VALUE", None),
        &post(r#"{"tags":["x","admin"]}"#)
    ));
    assert!(blocks(
        st(json!({"IncludedPaths": ["/tags"]}), "VALUE", None),
        &post(r#"{"tags":["x","admin"]}"#)
    ));

    // invalid JSON
    let bad = r#"{"a":"admin", oops"#;
    assert!(
        blocks(st(all.clone(), "VALUE", None), &post(bad)),
        "no fallback: inspect up to the first error"
    );
    assert!(!blocks(
        st(all.clone(), "VALUE", Some("NO_MATCH")),
        &post(bad)
    ));
    assert!(blocks(
        st(all.clone(), "VALUE", Some("MATCH")),
        &post("nonsense")
    ));
    let raw = json!({"ByteMatchStatement": {"SearchString": b64("oops"), "FieldToMatch": {"JsonBody":
        {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "InvalidFallbackBehavior": "EVALUATE_AS_STRING"}},
        "PositionalConstraint": "CONTAINS", "TextTransformations": tt(&["NONE"])}});
    assert!(blocks(raw.clone(), &post(bad)));
    assert!(
        !blocks(raw, &post(r#"{"oops":1}"#)),
        "valid JSON is not evaluated as a string"
    );
}

#[test]
fn json_body_oversize() {
    let res = Resources {
        body_inspection_limit: Some(32),
        ..Resources::default()
    };
    let st = |oh: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64("x"), "FieldToMatch": {"JsonBody":
            {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": oh,
             "InvalidFallbackBehavior": "NO_MATCH"}},
            "PositionalConstraint": "EXACTLY", "TextTransformations": tt(&["NONE"])}})
    };
    let big = format!(r#"{{"a":"{}"}}"#, "y".repeat(64));
    for (oh, want) in [("MATCH", true), ("NO_MATCH", false), ("CONTINUE", false)] {
        let acl = compile_with(
            acl_doc(json!([rule("r", 0, st(oh), "Block")]), "Allow"),
            &res,
        );
        assert_eq!(
            !eval(&acl, &get("/").method("POST").body(&big).build()).is_allowed(),
            want,
            "{oh}"
        );
    }
}

#[test]
fn headers_and_cookies_fields() {
    let headers = |pattern: serde_json::Value, scope: &str, search: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64(search), "FieldToMatch": {"Headers":
            {"MatchPattern": pattern, "MatchScope": scope, "OversizeHandling": "CONTINUE"}},
            "PositionalConstraint": "EXACTLY", "TextTransformations": tt(&["LOWERCASE"])}})
    };
    let req = get("/")
        .header("X-Api", "Secret")
        .header("Accept", "*/*")
        .build();
    assert!(blocks(headers(json!({"All": {}}), "VALUE", "secret"), &req));
    assert!(blocks(headers(json!({"All": {}}), "KEY", "x-api"), &req));
    assert!(!blocks(headers(json!({"All": {}}), "KEY", "secret"), &req));
    assert!(!blocks(
        headers(json!({"IncludedHeaders": ["accept"]}), "VALUE", "secret"),
        &req
    ));
    assert!(blocks(
        headers(json!({"IncludedHeaders": ["X-API"]}), "VALUE", "secret"),
        &req
    ));
    assert!(!blocks(
        headers(json!({"ExcludedHeaders": ["x-api"]}), "ALL", "secret"),
        &req
    ));

    let cookies = |pattern: serde_json::Value, scope: &str, search: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64(search), "FieldToMatch": {"Cookies":
            {"MatchPattern": pattern, "MatchScope": scope, "OversizeHandling": "NO_MATCH"}},
            "PositionalConstraint": "EXACTLY", "TextTransformations": tt(&["NONE"])}})
    };
    let req = get("/").header("Cookie", "session=abc; theme=dark").build();
    assert!(blocks(cookies(json!({"All": {}}), "VALUE", "dark"), &req));
    assert!(blocks(
        cookies(json!({"IncludedCookies": ["session"]}), "VALUE", "abc"),
        &req
    ));
    assert!(
        !blocks(
            cookies(json!({"IncludedCookies": ["Session"]}), "VALUE", "abc"),
            &req
        ),
        "cookie names are exact"
    );
    assert!(!blocks(
        cookies(json!({"ExcludedCookies": ["theme"]}), "ALL", "dark"),
        &req
    ));
    assert!(blocks(cookies(json!({"All": {}}), "KEY", "theme"), &req));
}

#[test]
fn headers_oversize() {
    let st = |oh: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64("zzz"), "FieldToMatch": {"Headers":
            {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": oh}},
            "PositionalConstraint": "EXACTLY", "TextTransformations": tt(&["NONE"])}})
    };
    let mut b = get("/");
    for i in 0..201 {
        b = b.header(&format!("h{i}"), "v");
    }
    let many = b.header("late", "zzz").build();
    assert!(blocks(st("MATCH"), &many));
    assert!(!blocks(st("NO_MATCH"), &many));
    assert!(
        !blocks(st("CONTINUE"), &many),
        "headers past the first 200 are not inspected"
    );
    let few = get("/").header("late", "zzz").build();
    assert!(blocks(st("NO_MATCH"), &few));
}

#[test]
fn header_order_and_fingerprints() {
    let st = byte_match(
        "host:user-agent:accept",
        json!({"HeaderOrder": {"OversizeHandling": "CONTINUE"}}),
        "STARTS_WITH",
        &["NONE"],
    );
    let req = get("/")
        .header("Host", "h")
        .header("User-Agent", "u")
        .header("Accept", "*/*")
        .build();
    assert!(blocks(st.clone(), &req));
    let req2 = get("/")
        .header("User-Agent", "u")
        .header("Host", "h")
        .build();
    assert!(!blocks(st, &req2));

    let ja3 = |fb: &str| {
        byte_match(
            "771,4865",
            json!({"JA3Fingerprint": {"FallbackBehavior": fb}}),
            "STARTS_WITH",
            &["NONE"],
        )
    };
    assert!(blocks(
        ja3("NO_MATCH"),
        &get("/").ja3("771,4865-4866,0").build()
    ));
    assert!(!blocks(ja3("NO_MATCH"), &get("/").ja3("769,1").build()));
    assert!(!blocks(ja3("NO_MATCH"), &get("/").build()));
    assert!(blocks(ja3("MATCH"), &get("/").build()));
    let ja4 = byte_match(
        "t13d1516h2_8daaf6152771_02713d6af862",
        json!({"JA4Fingerprint": {"FallbackBehavior": "NO_MATCH"}}),
        "EXACTLY",
        &["NONE"],
    );
    assert!(blocks(
        ja4.clone(),
        &get("/").ja4("t13d1516h2_8daaf6152771_02713d6af862").build()
    ));
    assert!(!blocks(ja4, &get("/").build()));
}

#[test]
fn pre_parse_transformations() {
    let st = |pre: &[&str]| {
        let pre: Vec<_> = pre
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"Priority": i, "Type": t}))
            .collect();
        json!({"ByteMatchStatement": {"SearchString": b64("1,2"), "FieldToMatch": {"SingleQueryArgument": {"Name": "id"}},
            "PositionalConstraint": "EXACTLY", "TextTransformations": tt(&["NONE"]), "PreParseTextTransformations": pre}})
    };
    assert!(blocks(
        st(&["COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA"]),
        &get("/?id=1&id=2").build()
    ));
    assert!(!blocks(st(&["NONE"]), &get("/?id=1&id=2").build()));
    assert!(blocks(
        st(&[
            "REPLACE_SEMICOLONS_WITH_AMPERSANDS",
            "COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA"
        ]),
        &get("/?id=1;id=2").build()
    ));
}

#[test]
fn regexes_run_on_bytes_and_unicode_classes_still_compile() {
    // byte mode: `.` matches a non-UTF-8 byte
    let st = json!({"RegexMatchStatement": {"RegexString": "^a.b$", "FieldToMatch": {"QueryString": {}},
        "TextTransformations": tt(&["URL_DECODE"])}});
    assert!(blocks(st.clone(), &get("/?a%FFb").build()));
    assert!(!blocks(st, &get("/?a%FF%FFb").build()));
    // a pattern that needs Unicode mode is kept in it
    let st = json!({"RegexMatchStatement": {"RegexString": "^\\p{Lu}+$", "FieldToMatch": {"QueryString": {}},
        "TextTransformations": tt(&["URL_DECODE"])}});
    assert!(blocks(st.clone(), &get("/?%C3%89T%C3%89").build()));
    assert!(!blocks(st, &get("/?abc").build()));
    // two regexes on one field share a set and stay distinct
    let f = json!({"UriPath": {}});
    let acl = compile(acl_doc(
        json!([
            rule(
                "php",
                0,
                json!({"RegexMatchStatement": {"RegexString": "\\.php$", "FieldToMatch": f.clone(), "TextTransformations": tt(&["NONE"])}}),
                "Count"
            ),
            rule(
                "cgi",
                1,
                json!({"RegexMatchStatement": {"RegexString": "^/cgi-bin/", "FieldToMatch": f, "TextTransformations": tt(&["NONE"])}}),
                "Count"
            ),
        ]),
        "Allow",
    ));
    let v = eval(&acl, &get("/cgi-bin/x.sh").build());
    assert_eq!(
        v.non_terminating
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        ["cgi"]
    );
}

#[test]
fn verbose_mode_regex_with_trailing_comment() {
    let st = json!({"RegexMatchStatement": {"RegexString": "(?x) ^/a  # admin area", "FieldToMatch": {"UriPath": {}},
        "TextTransformations": tt(&["NONE"])}});
    assert!(blocks(st.clone(), &get("/a/b").build()));
    assert!(!blocks(st, &get("/b").build()));
}

#[test]
fn compiled_acl_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledAcl>();
    assert_send_sync::<crate::RuleGroupManaged>();
}
