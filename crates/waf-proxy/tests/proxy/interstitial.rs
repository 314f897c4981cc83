//! CAPTCHA and Challenge through the proxy: the interstitial pages, the verify endpoint issuing an
//! `aws-waf-token`, and the engine honouring the token on the next request.

use http::header;
use portcullis_waf_proxy::AclInspector;
use portcullis_waf_proxy::challenge::{
    InterstitialConfig, Interstitials, TokenKey, TokenKeys, VERIFY_PATH, pow,
};
use serde_json::json;

use super::*;

/// `/guarded` needs a solved challenge, `/human` a solved CAPTCHA; everything else is allowed.
fn inspector() -> AclInspector {
    let vis = |m: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": m});
    let uri = |b64: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64, "FieldToMatch": {"UriPath": {}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}})
    };
    let doc = json!({
        "Name": "gate", "Id": "id-gate", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/gate/id-gate",
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vis("gate"),
        "Rules": [
            // base64("/guarded"), base64("/human")
            {"Name": "challenge", "Priority": 0, "VisibilityConfig": vis("challenge"),
             "Statement": uri("L2d1YXJkZWQ="), "Action": {"Challenge": {}}},
            {"Name": "captcha", "Priority": 1, "VisibilityConfig": vis("captcha"),
             "Statement": uri("L2h1bWFu"), "Action": {"Captcha": {}}}
        ]
    });
    let model = portcullis_waf_model::WebAcl::from_value(doc).unwrap();
    let compiled = portcullis_waf_core::CompiledAcl::compile(
        &model,
        &portcullis_waf_core::Resources::default(),
    )
    .unwrap();
    AclInspector::local(compiled).with_web_acl(&model)
}

fn attribute<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let len = html[start..].find('"').unwrap();
    &html[start..start + len]
}

async fn post_form(
    client: &TestClient,
    addr: SocketAddr,
    path: &str,
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let req = Request::post(format!("http://{addr}{path}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, "test-browser/1.0")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn challenge_is_solved_and_the_token_lets_the_request_through() {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    let keys = TokenKeys::new(vec![TokenKey::generate()]).unwrap();
    cfg.interstitials = Some(Arc::new(
        Interstitials::new(keys, InterstitialConfig::default()).unwrap(),
    ));
    let proxy = start(cfg, inspector()).await;
    let addr = proxy.local_addr("web").unwrap();
    let c = client();
    let ua = [("user-agent", "test-browser/1.0")];

    // No token: the challenge page, nothing reaches the upstream.
    let (status, headers, page) = get(&c, addr, "/guarded/page", &ua).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["x-amzn-waf-action"], "challenge");
    assert_eq!(up.count(), 0);
    let puzzle = attribute(&page, "data-puzzle").to_owned();
    let nonce = attribute(&page, "data-nonce").to_owned();
    let bits: u8 = attribute(&page, "data-bits").parse().unwrap();

    // A wrong answer is refused and issues no token.
    let solved = pow::solve(&nonce, bits);
    let wrong = (solved + 1..)
        .find(|c| pow::leading_zero_bits(&pow::hash(&nonce, *c)) < u32::from(bits))
        .unwrap();
    let (status, headers, _) = post_form(
        &c,
        addr,
        VERIFY_PATH,
        format!("puzzle={puzzle}&counter={wrong}"),
    )
    .await;
    assert_ne!(status, StatusCode::OK);
    assert!(headers.get(header::SET_COOKIE).is_none());

    // The right answer gets the cookie.
    let (status, headers, _) = post_form(
        &c,
        addr,
        VERIFY_PATH,
        format!("puzzle={puzzle}&counter={solved}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("aws-waf-token="), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();

    // With the token the guarded path reaches the upstream; the CAPTCHA path still wants a CAPTCHA.
    let with = [
        ("user-agent", "test-browser/1.0"),
        ("cookie", pair.as_str()),
    ];
    let (status, _, _) = get(&c, addr, "/guarded/page", &with).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(up.count(), 1);
    let (status, headers, page) = get(&c, addr, "/human", &with).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["x-amzn-waf-action"], "captcha");
    assert!(page.contains("<svg"), "the CAPTCHA page shows a puzzle");

    // A tampered token, or the token from another browser, counts for nothing.
    let tampered = format!("{}x", pair);
    let (status, _, _) = get(
        &c,
        addr,
        "/guarded/page",
        &[
            ("user-agent", "test-browser/1.0"),
            ("cookie", tampered.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = get(
        &c,
        addr,
        "/guarded/page",
        &[
            ("user-agent", "other-browser/2.0"),
            ("cookie", pair.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(up.count(), 1);
}

#[tokio::test]
async fn without_interstitials_the_bare_status_is_answered() {
    let up = upstream("a").await;
    let proxy = start(config(vec![up.addr]), inspector()).await;
    let addr = proxy.local_addr("web").unwrap();
    let (status, headers, _) = get(&client(), addr, "/guarded", &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["x-amzn-waf-action"], "challenge");
    // The verify endpoint is nothing special then: the request is proxied.
    let (status, _, _) = get(&client(), addr, VERIFY_PATH, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(up.count(), 1);
}
