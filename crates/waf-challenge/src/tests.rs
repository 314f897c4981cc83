//! End-to-end tests through [`Interstitials`]: pages → answers → cookies → token state, as the proxy drives it.

use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use portcullis_waf_core::{TokenRejection, TokenState};
use proptest::prelude::*;

use crate::*;

mod engine;
mod node;

const NOW: u64 = 1_800_000_000_000;
const NO_DOMAINS: &[&str] = &[];

/// Always the same bytes: the page and `new_captcha` then draw the same puzzle.
struct FixedEntropy(u8);

impl Entropy for FixedEntropy {
    fn fill(&self, buf: &mut [u8]) {
        buf.fill(self.0);
    }
}

fn engine() -> Interstitials {
    let config = InterstitialConfig {
        difficulty_bits: 10,
        ..InterstitialConfig::default()
    };
    Interstitials::new(
        TokenKeys::new(vec![TokenKey::new(&[9; 32]).unwrap()]).unwrap(),
        config,
    )
    .unwrap()
}

fn headers(ua: &str, cookie: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::USER_AGENT, HeaderValue::from_str(ua).unwrap());
    if let Some(c) = cookie {
        h.insert(header::COOKIE, HeaderValue::from_str(c).unwrap());
    }
    h
}

fn req<'a>(h: &HeaderMap, now: u64) -> ClientRequest<'a> {
    ClientRequest::new(
        "shop.example.com",
        true,
        "203.0.113.5".parse().unwrap(),
        h,
        now,
    )
}

/// The value of `data-<name>="…"` or `name="<name>" value="…"` in a page.
pub(super) fn attr(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap() + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

fn body_str(r: &http::Response<Vec<u8>>) -> &str {
    std::str::from_utf8(r.body()).unwrap()
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn post(
    e: &Interstitials,
    path: &str,
    h: &HeaderMap,
    body: &str,
    now: u64,
) -> http::Response<Vec<u8>> {
    e.intercept(&req(h, now), &Method::POST, path, h, body.as_bytes())
        .expect("endpoint answered")
}

#[test]
fn challenge_round_trip() {
    let e = engine();
    let h = headers("Mozilla/5.0", None);
    let page = e.challenge_page(&req(&h, NOW), "/shop?item=42&x=%22");
    assert_eq!(page.status(), StatusCode::ACCEPTED);
    assert_eq!(page.headers()["x-amzn-waf-action"], "challenge");
    assert!(
        page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("sha256-")
    );
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = body_str(&page);
    assert!(html.contains("<noscript>") && html.contains("crypto.subtle"));
    let puzzle = attr(html, "data-puzzle=\"");
    let nonce = attr(html, "data-nonce=\"");
    assert_eq!(attr(html, "data-bits=\""), "10");
    assert_eq!(attr(html, "data-action=\""), VERIFY_PATH);

    let counter = pow::solve(&nonce, 10);
    let body = serde_urlencoded::to_string([
        ("puzzle", puzzle.as_str()),
        ("counter", &counter.to_string()),
    ])
    .unwrap();
    let r = post(&e, VERIFY_PATH, &h, &body, NOW + 2000);
    assert_eq!(r.status(), StatusCode::OK, "{}", body_str(&r));
    assert_eq!(body_str(&r), r#"{"location":"/shop?item=42&x=%22"}"#);
    let sc = r.headers()[header::SET_COOKIE].to_str().unwrap();
    for part in [
        "aws-waf-token=v1.",
        "; Path=/",
        "; Max-Age=259200",
        "; HttpOnly",
        "; SameSite=Lax",
        "; Secure",
    ] {
        assert!(sc.contains(part), "{sc}");
    }
    let h2 = headers(
        "Mozilla/5.0",
        Some(&format!("a=b; {}; c=d", cookie_pair(sc))),
    );
    assert_eq!(
        e.token_state(&req(&h2, NOW + 3000), &h2, NO_DOMAINS),
        Some(TokenState {
            challenge_solved_ms: Some(NOW + 2000),
            captcha_solved_ms: None,
            rejection: None
        })
    );

    // a wrong counter is refused without a cookie
    let bad = (0..)
        .find(|&c| pow::leading_zero_bits(&pow::hash(&nonce, c)) < 10)
        .unwrap();
    let body = format!("puzzle={}&counter={bad}", puzzle);
    let r = post(&e, VERIFY_PATH, &h, &body, NOW + 2000);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    // the same solution from another browser, or after expiry, is refused
    let other = headers("curl/8.0", None);
    let body = format!("puzzle={}&counter={counter}", puzzle);
    assert_eq!(
        post(&e, VERIFY_PATH, &other, &body, NOW).status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&e, VERIFY_PATH, &h, &body, NOW + 301_000).status(),
        StatusCode::FORBIDDEN
    );
    // replay within validity is allowed (documented)
    assert_eq!(
        post(&e, VERIFY_PATH, &h, &body, NOW + 5000).status(),
        StatusCode::OK
    );
    // malformed bodies
    assert_eq!(
        post(&e, VERIFY_PATH, &h, "counter=1", NOW).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&e, VERIFY_PATH, &h, "puzzle=x&counter=-1", NOW).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&e, VERIFY_PATH, &h, &"a".repeat(MAX_BODY + 1), NOW).status(),
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn endpoints_and_methods() {
    let e = engine();
    let h = headers("x", None);
    assert!(
        e.intercept(&req(&h, NOW), &Method::GET, "/", &h, b"")
            .is_none()
    );
    assert!(
        e.intercept(
            &req(&h, NOW),
            &Method::POST,
            "/.well-known/portcullis-waf/other",
            &h,
            b""
        )
        .is_none()
    );
    let r = e
        .intercept(
            &req(&h, NOW),
            &Method::GET,
            &format!("{VERIFY_PATH}?x=1"),
            &h,
            b"",
        )
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()[header::ALLOW], "POST");
    assert!(r.headers().get("x-amzn-waf-action").is_none());
    assert!(Interstitials::is_endpoint(CAPTCHA_PATH));
}

#[test]
fn captcha_round_trip_and_failures() {
    let e = engine().with_entropy(Arc::new(FixedEntropy(3)));
    let h = headers("Mozilla/5.0", None);
    let page = e.captcha_page(&req(&h, NOW), "/login?next=%2Fhome");
    assert_eq!(page.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(page.headers()["x-amzn-waf-action"], "captcha");
    assert!(
        !page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src")
    );
    let html = body_str(&page);
    let puzzle = attr(html, "name=\"puzzle\" value=\"");
    assert_eq!(attr(html, "action=\""), CAPTCHA_PATH);
    let issued = e.new_captcha(&req(&h, NOW), "/login?next=%2Fhome");
    assert_eq!(issued.signed, puzzle, "same entropy, same puzzle");
    let answer = issued.answer;
    assert_eq!(answer.len(), 6);
    assert!(
        !html.to_ascii_uppercase().contains(&answer),
        "page spells the answer"
    );
    assert!(!html.contains("<script") && !html.contains("<text"));

    // wrong answer: a new puzzle for the same page, with a message, and no cookie
    let r = post(
        &e,
        CAPTCHA_PATH,
        &h,
        &format!("puzzle={puzzle}&answer=zzzzzz"),
        NOW + 1000,
    );
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    let again = body_str(&r);
    assert!(again.contains("That was not right"));
    let p2 = attr(again, "name=\"puzzle\" value=\"");
    assert_eq!(
        captcha::signed_url(e.keys(), &p2).as_deref(),
        Some("/login?next=%2Fhome")
    );

    // expired
    let r = post(
        &e,
        CAPTCHA_PATH,
        &h,
        &format!("puzzle={puzzle}&answer={answer}"),
        NOW + 601_000,
    );
    assert!(body_str(&r).contains("expired"));

    // right answer, lower case with spaces
    let typed = format!(" {} ", answer.to_lowercase());
    let body =
        serde_urlencoded::to_string([("puzzle", puzzle.as_str()), ("answer", &typed)]).unwrap();
    let r = post(&e, CAPTCHA_PATH, &h, &body, NOW + 1000);
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login?next=%2Fhome");
    let sc = r.headers()[header::SET_COOKIE].to_str().unwrap();
    let h2 = headers("Mozilla/5.0", Some(&cookie_pair(sc)));
    let st = e
        .token_state(&req(&h2, NOW + 2000), &h2, NO_DOMAINS)
        .unwrap();
    assert_eq!(st.captcha_solved_ms, Some(NOW + 1000));
    assert_eq!(st.challenge_solved_ms, Some(NOW + 1000));
    assert_eq!(st.rejection, None);
}

#[test]
fn open_redirects_refused() {
    let e = engine().with_entropy(Arc::new(FixedEntropy(5)));
    let h = headers("Mozilla/5.0", None);
    for evil in [
        "//evil.com",
        "https://evil.com",
        "/\\evil",
        "/\\/evil.com",
        "//evil.com/%2F..",
        "http:/evil",
    ] {
        // through the page: the puzzle only ever records "/"
        let issued = e.new_captcha(&req(&h, NOW), evil);
        let body = format!("puzzle={}&answer={}", issued.signed, issued.answer);
        let r = post(&e, CAPTCHA_PATH, &h, &body, NOW);
        assert_eq!(r.headers()[header::LOCATION], "/", "{evil}");
        // a puzzle that somehow holds a bad URL is still not followed
        let raw = captcha::issue(
            e.keys(),
            &FixedEntropy(6),
            "shop.example.com",
            &req(&h, NOW).client,
            evil,
            6,
            NOW,
        );
        let s = e.verify_captcha(
            &req(&h, NOW),
            &h,
            format!("puzzle={}&answer={}", raw.signed, raw.answer).as_bytes(),
        );
        assert_eq!(s.unwrap().location, "/", "{evil}");
        // same for the challenge
        let p = pow::issue(
            e.keys(),
            &FixedEntropy(7),
            "shop.example.com",
            &req(&h, NOW).client,
            evil,
            4,
            NOW,
        );
        let c = pow::solve(&p.nonce, 4);
        let s = e.verify_challenge(
            &req(&h, NOW),
            &h,
            format!("puzzle={}&counter={c}", p.signed).as_bytes(),
        );
        assert_eq!(s.unwrap().location, "/", "{evil}");
    }
}

#[test]
fn challenge_keeps_earlier_captcha_time() {
    let e = engine();
    let h = headers("Mozilla/5.0", None);
    let issued = e.new_captcha(&req(&h, NOW), "/");
    let s = e
        .verify_captcha(
            &req(&h, NOW),
            &h,
            format!("puzzle={}&answer={}", issued.signed, issued.answer).as_bytes(),
        )
        .unwrap();
    let h2 = headers("Mozilla/5.0", Some(&cookie_pair(&s.set_cookie)));
    let p = pow::issue(
        e.keys(),
        &SystemEntropy,
        "shop.example.com",
        &req(&h, NOW).client,
        "/",
        4,
        NOW + 10_000,
    );
    let c = pow::solve(&p.nonce, 4);
    let s2 = e
        .verify_challenge(
            &req(&h2, NOW + 10_000),
            &h2,
            format!("puzzle={}&counter={c}", p.signed).as_bytes(),
        )
        .unwrap();
    assert_eq!(s2.token.captcha_ms, Some(NOW));
    assert_eq!(s2.token.challenge_ms, Some(NOW + 10_000));
    assert_eq!(s2.token.id, s.token.id);
    assert!(!s2.set_cookie.contains("Secure") || req(&h, NOW).https);
}

#[test]
fn token_state_sources() {
    let e = engine();
    let h = headers("Mozilla/5.0", None);
    assert_eq!(e.token_state(&req(&h, NOW), &h, NO_DOMAINS), None);
    assert!(!Interstitials::carries_token(&h));
    // other cookies, an empty token: none carried
    let other = headers(
        "Mozilla/5.0",
        Some("session=1; aws-waf-token=; x=aws-waf-token"),
    );
    assert!(!Interstitials::carries_token(&other));
    assert_eq!(e.token_state(&req(&other, NOW), &other, NO_DOMAINS), None);
    let garbage = headers("Mozilla/5.0", Some("aws-waf-token=not-a-token"));
    assert!(Interstitials::carries_token(&garbage));
    assert_eq!(
        e.token_state(&req(&garbage, NOW), &garbage, NO_DOMAINS)
            .unwrap()
            .rejection,
        Some(TokenRejection::Invalid)
    );
    let issued = e.new_captcha(&req(&h, NOW), "/");
    let s = e
        .verify_captcha(
            &req(&h, NOW),
            &h,
            format!("puzzle={}&answer={}", issued.signed, issued.answer).as_bytes(),
        )
        .unwrap();
    let value = cookie_pair(&s.set_cookie)
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    // the header form some SDKs use
    let mut hh = headers("Mozilla/5.0", None);
    hh.insert(TOKEN_HEADER, HeaderValue::from_str(&value).unwrap());
    assert!(Interstitials::carries_token(&hh));
    assert_eq!(
        e.token_state(&req(&hh, NOW), &hh, NO_DOMAINS)
            .unwrap()
            .rejection,
        None
    );
    // a bad cookie next to a good one: the good one wins
    let both = headers(
        "Mozilla/5.0",
        Some(&format!("aws-waf-token=junk; aws-waf-token={value}")),
    );
    assert_eq!(
        e.token_state(&req(&both, NOW), &both, NO_DOMAINS)
            .unwrap()
            .rejection,
        None
    );
    // another site of the same owner accepts it only through TokenDomains
    let api = ClientRequest::new(
        "api.example.com",
        true,
        "203.0.113.5".parse().unwrap(),
        &both,
        NOW,
    );
    assert_eq!(
        e.token_state(&api, &both, NO_DOMAINS).unwrap().rejection,
        Some(TokenRejection::DomainMismatch)
    );
    assert_eq!(
        e.token_state(&api, &both, &["example.com".to_owned()])
            .unwrap()
            .rejection,
        None
    );
}

#[test]
fn engine_is_shareable() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Interstitials>();
}

#[test]
fn config_validation() {
    let keys = || TokenKeys::new(vec![TokenKey::generate()]).unwrap();
    for bad in [
        InterstitialConfig {
            difficulty_bits: 0,
            ..Default::default()
        },
        InterstitialConfig {
            difficulty_bits: 29,
            ..Default::default()
        },
        InterstitialConfig {
            captcha_len: 3,
            ..Default::default()
        },
        InterstitialConfig {
            captcha_ttl_s: 1,
            ..Default::default()
        },
        InterstitialConfig {
            cookie_max_age_s: 0,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            Interstitials::new(keys(), bad),
            Err(ChallengeError::Config(_))
        ));
    }
}

proptest! {
    #[test]
    fn verification_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        cookie in "[ -~]{0,300}",
        path in prop_oneof![Just(VERIFY_PATH.to_owned()), Just(CAPTCHA_PATH.to_owned()), "/[ -~]{0,40}"],
        text in "\\PC{0,200}",
    ) {
        let e = engine();
        let mut h = headers("ua", None);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.insert(header::COOKIE, v);
        }
        let r = req(&h, NOW);
        let _ = e.intercept(&r, &Method::POST, &path, &h, &body);
        let _ = e.token_state(&r, &h, &["example.com"]);
        let _ = e.verify_captcha(&r, &h, text.as_bytes());
        let _ = e.verify_challenge(&r, &h, text.as_bytes());
        let st = e.keys().verify(&text, "h", &r.client, NO_DOMAINS, NOW);
        prop_assert_eq!(st.rejection, Some(TokenRejection::Invalid));
        let forged = format!("puzzle=v1.{}&answer=A&counter=1", text.replace(['&', '='], ""));
        prop_assert!(e.verify_challenge(&r, &h, forged.as_bytes()).is_err());
        prop_assert!(e.verify_captcha(&r, &h, forged.as_bytes()).is_err());
    }

    #[test]
    fn return_url_is_always_local(url in "\\PC{0,60}") {
        let u = safe_return_url(&url);
        prop_assert!(u.starts_with('/') && !u.starts_with("//") && !u.contains('\\'));
    }
}
