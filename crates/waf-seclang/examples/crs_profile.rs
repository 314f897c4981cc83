//! Profiling driver for the CRS 3.3.4 PL1 requests of `benches/crs.rs`: runs one request type `N` times so that
//! `valgrind --tool=callgrind` can count instructions per request.
//! Usage: `crs_profile <simple|browser|json> [N]`.

use std::hint::black_box;

use portcullis_waf_request::Request;
use portcullis_waf_seclang::{RuleSet, Transaction};

const CRS_LOAD: &str = "/usr/share/modsecurity-crs/owasp-crs.load";

const SETTINGS: &str = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "application/json" \
     "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyJsonDepthLimit 512
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400"
"#;

fn run(rules: &RuleSet, req: &Request) -> bool {
    let mut tx = Transaction::new(rules, req);
    let blocked = tx.process_request().is_some();
    tx.process_response(
        200,
        &[("Content-Type".into(), b"text/html".to_vec())],
        b"<html>ok</html>",
    );
    tx.finish();
    blocked
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "browser".to_owned());
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let src = vec![(
        "settings".to_owned(),
        format!("{SETTINGS}\nInclude {CRS_LOAD}\n"),
    )];
    let Ok((rules, _)) = RuleSet::from_sources(&src, None) else {
        eprintln!("CRS did not load");
        return;
    };
    let simple = Request::builder()
        .uri("/")
        .header("Host", "localhost")
        .header("User-Agent", "curl/7.88.1")
        .header("Accept", "*/*")
        .build();
    let browser = Request::builder()
        .uri("/search/results.php?q=blue+shoes&page=2&sort=price&lang=en&size=42&color=navy")
        .header("Host", "www.example.com")
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        )
        .header(
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .header("Accept-Language", "en-US,en;q=0.5")
        .header("Accept-Encoding", "gzip, deflate, br")
        .header("Referer", "https://www.example.com/")
        .header(
            "Cookie",
            "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; consent=yes",
        )
        .build();
    let body = br#"{"user":{"name":"Alice Example","email":"alice@example.com","roles":["reader","writer"]},"items":[{"sku":"A-100","qty":2,"price":19.99},{"sku":"B-200","qty":1,"price":5.5}],"note":"Please deliver after 5pm, ring the bell twice.","coupon":null,"gift":false,"address":{"street":"1 Main Street","city":"Springfield","zip":"12345","country":"US"},"tags":["express","fragile","insured"],"meta":{"client":"web","version":"3.4.1","locale":"en-US"}}"#;
    let json = Request::builder()
        .method("POST")
        .uri("/api/orders")
        .header("Host", "api.example.com")
        .header("User-Agent", "Mozilla/5.0")
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("Content-Length", body.len().to_string())
        .body(body)
        .build();
    let req = match kind.as_str() {
        "simple" => simple,
        "json" => json,
        _ => browser,
    };
    let mut blocked = 0;
    for _ in 0..n {
        blocked += u32::from(black_box(run(&rules, black_box(&req))));
    }
    eprintln!("{kind}: {n} requests, {blocked} blocked");
}
