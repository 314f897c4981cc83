//! The body-size sweep: form and JSON bodies of 1–64 KB built from the same kind of content as the benchmark
//! files (ordinary words in many fields), sent with the headers of `form-post-8k` / `json-post-1k`.

use portcullis_waf_request::Request;

/// Body sizes of the sweep, in KiB.
pub const SIZES_KB: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

const WORDS: [&str; 24] = [
    "kettles",
    "clouds",
    "sing",
    "winter",
    "libraries",
    "fox",
    "seven",
    "bicycles",
    "harbours",
    "lazy",
    "lanterns",
    "trains",
    "jumps",
    "green",
    "gardens",
    "orchards",
    "quick",
    "dog",
    "rivers",
    "maps",
    "bridges",
    "parrots",
    "coffee",
    "meadows",
];

/// Words joined with `sep`, at least `len` bytes long, starting at word `seed`.
fn words(seed: usize, len: usize, sep: &str) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut i = seed;
    while s.len() < len {
        if !s.is_empty() {
            s.push_str(sep);
        }
        s.push_str(WORDS.get(i % WORDS.len()).copied().unwrap_or("word"));
        i += 7;
    }
    s
}

/// An `application/x-www-form-urlencoded` body of exactly `n` bytes (n ≥ 16): fields of about 300 bytes.
pub fn form_body(n: usize) -> String {
    let mut body = String::with_capacity(n + 400);
    let mut i = 0;
    while body.len() < n {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(&format!("field_{i}={}", words(i, 300, "+")));
        i += 1;
    }
    body.truncate(n);
    // Never end on a separator: the last value just gets shorter.
    while body.ends_with('&') || body.ends_with('=') || body.ends_with('+') {
        body.pop();
        body.push('x');
    }
    body
}

/// A JSON body of exactly `n` bytes (n ≥ 64): an object with line items and a closing note padded to size.
pub fn json_body(n: usize) -> String {
    const HEAD: &str = r#"{"order_id":"ord-2026-11-29-004211","items":["#;
    let tail = |pad: usize| format!(r#"],"note":"{}"}}"#, "x".repeat(pad));
    let mut body = String::from(HEAD);
    let mut i = 0;
    loop {
        let item = format!(
            r#"{}{{"sku":"SHOE-{i:03}","qty":{},"unit_price":{}.5,"gift":{},"note":"{}"}}"#,
            if i == 0 { "" } else { "," },
            i % 3 + 1,
            19 + i % 40,
            i % 4 == 0,
            words(i, 40, " ")
        );
        if body.len() + item.len() + tail(0).len() > n {
            break;
        }
        body.push_str(&item);
        i += 1;
    }
    let pad = n.saturating_sub(body.len() + tail(0).len());
    body.push_str(&tail(pad));
    body
}

/// `base` (its method, target and headers) with `body` and a matching `Content-Length`.
pub fn with_body(base: &Request, body: &[u8]) -> Request {
    let mut b = Request::builder()
        .method(&base.method)
        .uri(&base.uri)
        .version(&base.version);
    for (name, value) in &base.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            b = b.header(name, value);
        }
    }
    b.header("Content-Length", body.len().to_string())
        .body(body)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_exact_sizes_and_parse() {
        for kb in SIZES_KB {
            let n = kb * 1024;
            let f = form_body(n);
            assert_eq!(f.len(), n);
            assert!(f.split('&').all(|kv| kv.contains('=')), "{kb} KB form");
            let j = json_body(n);
            assert_eq!(j.len(), n, "{kb} KB json");
            let v: serde_json::Value = serde_json::from_str(&j).unwrap();
            assert!(v["items"].as_array().unwrap().len() >= kb * 5);
        }
    }

    #[test]
    fn with_body_replaces_content_length() {
        let base = Request::builder()
            .method("POST")
            .uri("/x")
            .header("Content-Type", "application/json")
            .header("Content-Length", "2")
            .body("{}")
            .build();
        let r = with_body(&base, b"[1,2]");
        assert_eq!(r.header("content-length"), Some(&b"5"[..]));
        assert_eq!(r.header_values("content-length").count(), 1);
        assert_eq!(r.body, b"[1,2]");
        assert_eq!(r.header("content-type"), Some(&b"application/json"[..]));
    }
}
