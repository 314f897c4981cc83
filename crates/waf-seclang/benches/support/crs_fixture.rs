//! The CRS 3.3.4 PL1 (blocking) setup and the three requests that `benches/crs.rs` measures and
//! `examples/crs_profile.rs` profiles, kept in one place so both run the same thing.

use portcullis_waf_request::Request;
use portcullis_waf_seclang::{RuleSet, Transaction};

/// Debian's include file for the whole rule set.
pub const CRS_LOAD: &str = "/usr/share/modsecurity-crs/owasp-crs.load";

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

/// Loads the engine settings and CRS; `None` when CRS is not installed or does not load.
pub fn load() -> Option<RuleSet> {
    if !std::path::Path::new(CRS_LOAD).exists() {
        return None;
    }
    let src = vec![(
        "settings".to_owned(),
        format!("{SETTINGS}\nInclude {CRS_LOAD}\n"),
    )];
    RuleSet::from_sources(&src, None)
        .ok()
        .map(|(rules, _)| rules)
}

/// Runs one whole transaction (request, response and logging phases); true when it was blocked.
pub fn run(rules: &RuleSet, req: &Request) -> bool {
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

/// A simple GET.
pub fn simple_get() -> Request {
    Request::builder()
        .uri("/")
        .header("Host", "localhost")
        .header("User-Agent", "curl/7.88.1")
        .header("Accept", "*/*")
        .build()
}

/// A browser-like GET: six query arguments, browser headers and three cookies.
pub fn browser_get() -> Request {
    Request::builder()
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
        .build()
}

/// A small JSON POST.
pub fn json_post() -> Request {
    let body = br#"{"user":{"name":"Alice Example","email":"alice@example.com","roles":["reader","writer"]},"items":[{"sku":"A-100","qty":2,"price":19.99},{"sku":"B-200","qty":1,"price":5.5}],"note":"Please deliver after 5pm, ring the bell twice.","coupon":null,"gift":false,"address":{"street":"1 Main Street","city":"Springfield","zip":"12345","country":"US"},"tags":["express","fragile","insured"],"meta":{"client":"web","version":"3.4.1","locale":"en-US"}}"#;
    Request::builder()
        .method("POST")
        .uri("/api/orders")
        .header("Host", "api.example.com")
        .header("User-Agent", "Mozilla/5.0")
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("Content-Length", body.len().to_string())
        .body(body)
        .build()
}

/// The 8 KB form POST of `bench/waf/requests/form-post-8k.http` (the `waf-bench` request), parsed the way
/// `waf-bench` reads it; `None` when the file is not there.
#[allow(dead_code)]
pub fn form_post() -> Option<Request> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/waf/requests/form-post-8k.http"
    );
    let text = std::fs::read_to_string(path).ok()?.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n")?;
    let body = body.strip_suffix('\n').unwrap_or(body);
    let mut lines = head.lines();
    let mut parts = lines.next()?.split(' ');
    let (method, uri) = (parts.next()?, parts.next()?);
    let mut b = Request::builder().method(method).uri(uri);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        b = b.header(name.trim(), value.trim());
    }
    Some(
        b.header("Content-Length", body.len().to_string())
            .body(body.as_bytes())
            .build(),
    )
}
