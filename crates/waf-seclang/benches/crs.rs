//! CPU time per request of the CRS 3.3.4 (PL1, blocking) on the SecLang engine: a simple GET, a browser-like GET
//! and a small JSON POST — the requests whose ModSecurity cost is listed in the WAF reference (§0).
//! Needs Debian's `modsecurity-crs`; prints a notice and does nothing when it is absent.

// The criterion macros generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
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

/// CPU time of this thread in nanoseconds (Linux `schedstat`), so the figure is not inflated by other load on a
/// shared machine the way wall-clock time is.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Prints the mean CPU time per request over `n` runs.
fn cpu_per_request(name: &str, rules: &RuleSet, req: &Request, n: u32) {
    let Some(start) = thread_cpu_ns() else { return };
    for _ in 0..n {
        black_box(run(rules, black_box(req)));
    }
    let Some(end) = thread_cpu_ns() else { return };
    let us = (end - start) as f64 / f64::from(n) / 1000.0;
    eprintln!("{name}: {us:.1} µs CPU per request (mean of {n})");
}

fn bench(c: &mut Criterion) {
    if !Path::new(CRS_LOAD).exists() {
        eprintln!("SKIPPED: {CRS_LOAD} not found");
        return;
    }
    let src = vec![(
        "settings".to_owned(),
        format!("{SETTINGS}\nInclude {CRS_LOAD}\n"),
    )];
    let Ok((rules, _)) = RuleSet::from_sources(&src, None) else {
        eprintln!("SKIPPED: CRS did not load");
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
    assert!(!run(&rules, &simple) && !run(&rules, &browser) && !run(&rules, &json));
    cpu_per_request("cpu crs_pl1_simple_get", &rules, &simple, 2000);
    cpu_per_request("cpu crs_pl1_browser_get", &rules, &browser, 500);
    cpu_per_request("cpu crs_pl1_json_post", &rules, &json, 500);
    c.bench_function("crs_pl1_simple_get", |b| {
        b.iter(|| run(&rules, black_box(&simple)))
    });
    c.bench_function("crs_pl1_browser_get", |b| {
        b.iter(|| run(&rules, black_box(&browser)))
    });
    c.bench_function("crs_pl1_json_post", |b| {
        b.iter(|| run(&rules, black_box(&json)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
