//! The tokens this crate issues, read back into `TokenState` and judged by the real waf-core engine: immunity
//! times, CAPTCHA versus challenge, tampering.

use http::header::{self, HeaderMap, HeaderValue};
use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_core::{CompiledAcl, EvalEnv, FinalAction, Resources, Verdict};
use portcullis_waf_model::WebAcl;
use portcullis_waf_request::Request;
use serde_json::json;

use super::{NOW, engine, req};
use crate::{Interstitials, pow};

fn acl() -> CompiledAcl {
    let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
    let starts = |s: &str| {
        use base64::Engine as _;
        json!({"ByteMatchStatement": {"SearchString": base64::engine::general_purpose::STANDARD.encode(s),
            "FieldToMatch": {"UriPath": {}}, "PositionalConstraint": "STARTS_WITH",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}})
    };
    let doc = json!({"Name": "t", "Id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("t"),
    "CaptchaConfig": {"ImmunityTimeProperty": {"ImmunityTime": 60}},
    "Rules": [
        {"Name": "cap", "Priority": 0, "Statement": starts("/login"), "Action": {"Captcha": {}}, "VisibilityConfig": vis("cap")},
        {"Name": "chal", "Priority": 1, "Statement": starts("/"), "Action": {"Challenge": {}}, "VisibilityConfig": vis("chal")}
    ]});
    CompiledAcl::compile(&WebAcl::from_value(doc).unwrap(), &Resources::default()).unwrap()
}

fn eval(acl: &CompiledAcl, e: &Interstitials, h: &HeaderMap, uri: &str, now: u64) -> Verdict {
    let rate = InMemoryRateCounter::new();
    let mut env = EvalEnv::new(now, &rate);
    env.token = e.token_state(&req(h, now), h, &[] as &[&str]);
    acl.evaluate(&Request::builder().uri(uri).build(), &env)
}

fn with_cookie(set_cookie: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::USER_AGENT, HeaderValue::from_static("Mozilla/5.0"));
    h.insert(
        header::COOKIE,
        HeaderValue::from_str(set_cookie.split(';').next().unwrap()).unwrap(),
    );
    h
}

#[test]
fn issued_tokens_drive_the_engine() {
    let acl = acl();
    let e = engine();
    let mut bare = HeaderMap::new();
    bare.insert(header::USER_AGENT, HeaderValue::from_static("Mozilla/5.0"));
    assert_eq!(
        eval(&acl, &e, &bare, "/", NOW).action,
        FinalAction::Challenge
    );

    // solve the challenge
    let p = pow::issue(
        e.keys(),
        &crate::SystemEntropy,
        "shop.example.com",
        &req(&bare, NOW).client,
        "/",
        10,
        NOW,
    );
    let body = format!("puzzle={}&counter={}", p.signed, pow::solve(&p.nonce, 10));
    let solved = e
        .verify_challenge(&req(&bare, NOW), &bare, body.as_bytes())
        .unwrap();
    let h = with_cookie(&solved.set_cookie);
    let v = eval(&acl, &e, &h, "/", NOW + 1000);
    assert!(v.is_allowed(), "{v:?}");
    assert!(v.has_label("awswaf:managed:token:accepted"));
    // past the 300 s challenge immunity
    let v = eval(&acl, &e, &h, "/", NOW + 301_000);
    assert_eq!(v.action, FinalAction::Challenge);
    assert!(v.has_label("awswaf:managed:token:rejected:expired"));
    // a challenge token does not pass a CAPTCHA rule
    let v = eval(&acl, &e, &h, "/login", NOW + 1000);
    assert_eq!(v.action, FinalAction::Captcha);
    assert!(v.has_label("awswaf:managed:captcha:rejected:not_solved"));

    // solve the CAPTCHA with the challenge cookie present
    let c = e.new_captcha(&req(&h, NOW + 2000), "/login");
    let body = format!("puzzle={}&answer={}", c.signed, c.answer.to_lowercase());
    let solved = e
        .verify_captcha(&req(&h, NOW + 2000), &h, body.as_bytes())
        .unwrap();
    let h = with_cookie(&solved.set_cookie);
    assert!(eval(&acl, &e, &h, "/login", NOW + 3000).is_allowed());
    // CAPTCHA immunity is 60 s
    let v = eval(&acl, &e, &h, "/login", NOW + 63_000);
    assert_eq!(v.action, FinalAction::Captcha);
    assert!(v.has_label("awswaf:managed:captcha:rejected:expired"));

    // a tampered cookie is rejected as invalid
    let mut s = solved.set_cookie.clone();
    s.replace_range(20..21, if &s[20..21] == "A" { "B" } else { "A" });
    let v = eval(&acl, &e, &with_cookie(&s), "/", NOW + 3000);
    assert_eq!(v.action, FinalAction::Challenge);
    assert!(v.has_label("awswaf:managed:token:rejected:invalid"));
}
