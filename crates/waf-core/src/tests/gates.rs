//! Gates (`crate::gate`) only rule out values no regex set of the group could admit, and a derived field is left
//! underived only when none of its values could: every Portcullis managed rule group gives the same verdicts,
//! labels and counted rules with and without gates, on corpus payloads placed in each part of a request, also
//! URL-encoded and JavaScript-escaped in headers and the query (so that the decodings create the gate's bytes).

use super::joined::{any_match, assert_same_outcomes, outcome};
use super::needs::{all_groups_with, counting_with_and_without, enc, payloads, placements};
use super::*;

/// Every byte outside `[A-Za-z0-9]` as `\xHH` (or `\u00HH` when `unicode`), as `JS_DECODE` reads them.
fn js_escape(s: &str, unicode: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ if unicode => format!("\\u00{b:02x}"),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// The payload URL-encoded and JavaScript-escaped in headers, the query string and a cookie.
fn escaped_placements(p: &str) -> Vec<Request> {
    let (e, js, uni) = (enc(p), js_escape(p, false), js_escape(p, true));
    vec![
        Request::builder()
            .method("GET")
            .uri("/")
            .header("X-Enc", &e)
            .header("X-Js", &js)
            .build(),
        Request::builder()
            .method("GET")
            .uri(&format!("/a?q={}&r={}", enc(&uni), enc(&js)))
            .header("X-Uni", &uni)
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("Cookie", format!("a=1; s={}", enc(&js)))
            .build(),
    ]
}

#[test]
fn managed_groups_give_the_same_verdicts_without_gates() {
    let Some(payloads) = payloads() else {
        return;
    };
    let acls = counting_with_and_without(&crate::gate::OFF);
    let requests = |p: &str| {
        let mut reqs = placements(p);
        reqs.extend(escaped_placements(p));
        reqs
    };
    assert_same_outcomes(
        "gates",
        &acls,
        &payloads,
        requests,
        |_, o| any_match(o),
        10_000,
    );
}

/// The Log4J header rule, the one a derived field is left underived for on ordinary traffic, still sees a lookup
/// that only `JS_DECODE` spells out.
#[test]
fn escaped_log4j_header_still_matches() {
    let with = all_groups_with(true);
    for v in [
        "${jndi:ldap://x/a}".to_owned(),
        js_escape("${jndi:ldap://x/a}", false),
        js_escape("${jndi:ldap://x/a}", true),
        enc("${jndi:ldap://x/a}"),
    ] {
        let req = Request::builder()
            .method("GET")
            .uri("/")
            .header("X-Api-Version", &v)
            .build();
        let (_, _, _, counted) = outcome(&eval(&with, &req));
        assert!(
            counted.iter().any(|r| r == "Log4JRCE_HEADER"),
            "{v}: {counted:?}"
        );
    }
}
