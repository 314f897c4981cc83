//! SigV4 credential parsing: an arbitrary `Authorization` header value (and `X-Amz-Date`, or a
//! presigned query string) never makes `sigv4::parse` panic.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use portcullis_iam::sigv4::{SignedRequest, parse};

#[derive(Debug, Arbitrary)]
struct Input {
    authorization: Option<Vec<u8>>,
    amz_date: Option<Vec<u8>>,
    date: Option<Vec<u8>>,
    token: Option<Vec<u8>>,
    query: String,
}

fuzz_target!(|inp: Input| {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("kms.us-east-1.example"));
    for (name, value) in [
        ("authorization", &inp.authorization),
        ("x-amz-date", &inp.amz_date),
        ("date", &inp.date),
        ("x-amz-security-token", &inp.token),
    ] {
        if let Some(v) = value.as_ref().and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.append(name, v);
        }
    }
    let uri: Uri = match format!("/?{}", inp.query).parse() {
        Ok(u) => u,
        Err(_) => Uri::from_static("/"),
    };
    let req = SignedRequest {
        method: &Method::POST,
        uri: &uri,
        headers: &headers,
        body: b"{}",
    };
    let _ = parse(&req);
});
