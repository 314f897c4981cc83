//! Mixed pre-checks (`crate::precheck`, rare bytes or literals on long values) only skip searches that would have
//! found nothing: every Portcullis managed rule group gives the same verdicts, labels and counted rules with and
//! without them, on corpus payloads placed in long values (padded past [`LONG`]) of each part of a request.

use super::joined::{assert_same_outcomes, outcome};
use super::needs::{all_groups_with, counting_with_and_without, enc, payloads};
use super::*;
use crate::precheck::LONG;

/// Ordinary text with none of the bytes a mixed requirement names, at least [`LONG`] bytes of it.
fn padding() -> String {
    let line = "Please leave the parcel with the neighbour at number 14 if nobody is home. ";
    line.repeat(LONG / line.len() + 1)
}

/// The payload after the padding in one long value of a JSON body, a form body, a raw body, a query argument, a
/// header and a cookie; and the payload alone in a query argument, a header and a cookie of a browser's request.
fn long_placements(p: &str) -> Vec<Request> {
    let pad = padding();
    let e = enc(p);
    let post = |content_type: &str, body: String| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/orders")
            .header("Content-Type", content_type)
            .header("Content-Length", body.len().to_string())
            .body(body)
            .build()
    };
    let json = json!({"order_id": "ord-1", "notes": format!("{pad}{p}"), "qty": 1}).to_string();
    let header_safe: String = p.chars().filter(|c| (' '..='~').contains(c)).collect();
    vec![
        post("application/json", json),
        post(
            "application/x-www-form-urlencoded",
            format!("a=1&notes={}{e}", enc(&pad)),
        ),
        post("text/plain", format!("{pad}{p}")),
        Request::builder()
            .method("GET")
            .uri(&format!("/a?q={}{e}&x=1", enc(&pad)))
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("X-Data", format!("{pad}{header_safe}"))
            .header("Cookie", format!("s={}{e}; t=1", enc(&pad)))
            .build(),
        // Short values of a browser's request, long together: a check runs once on their joined text.
        Request::builder()
            .method("GET")
            .uri(&format!(
                "/shop/search?q={e}&category=footwear&size=42&sort=price_asc&page=2&lang=en-GB"
            ))
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            )
            .header("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
            .header("Accept-Language", "en-GB,en;q=0.5")
            .header("X-Data", &header_safe)
            .header(
                "Cookie",
                format!("session_id=7f3a9c2e4b1d8f6a; s={e}; theme=dark; consent=a%3Dno%2Cb%3Dno"),
            )
            .build(),
    ]
}

#[test]
fn managed_groups_give_the_same_verdicts_without_mixed_prechecks() {
    let Some(payloads) = payloads() else {
        return;
    };
    let acls = counting_with_and_without(&crate::precheck::OFF);
    // What the padding alone matches (some rules look at sizes), placement by placement: a request matches when
    // its outcome differs from that.
    let padding_only: Vec<_> = long_placements("")
        .iter()
        .map(|r| outcome(&eval(&acls.0, r)))
        .collect();
    assert_same_outcomes(
        "mixed pre-checks (a match: more than the padding alone)",
        &acls,
        &payloads,
        long_placements,
        |i, o| padding_only.get(i) != Some(o),
        5_000,
    );
}

/// The SQLi extended patterns still see an attack at the end of a long JSON body, which is where the mixed
/// pre-check runs, and its padding alone passes.
#[test]
fn sqli_extended_patterns_match_at_the_end_of_a_long_body() {
    let acl = all_groups_with(true);
    let names = |p: &str| {
        let req = &long_placements(p)[0];
        outcome(&eval(&acl, req)).3
    };
    assert!(!names("").iter().any(|n| n.contains("SQLiExtended")));
    for attack in [
        "1 UNION ALL SELECT password FROM users",
        "x' or 1=1 --",
        "SELECT * FROM INFORMATION_SCHEMA.TABLES",
        "WAITFOR DELAY '0:0:5'",
    ] {
        assert!(
            names(attack).iter().any(|n| n.contains("SQLiExtended")),
            "{attack}: {:?}",
            names(attack)
        );
    }
}
