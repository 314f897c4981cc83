//! Requests signed by botocore (the signer behind boto3 and the AWS CLI), replayed against
//! the verifier.
//!
//! `testdata/vectors.json` was produced by `testdata/gen_vectors.py` with botocore 1.44.8 at a
//! fixed time; each entry is the request as the server receives it. The vectors cover an STS
//! Query POST, KMS JSON 1.1 POSTs (one with a session token), GETs with awkward and repeated
//! query parameters (`%20` and `+` spaces), paths that need double encoding or normalising,
//! presigned URLs (with and without a token), the `Date` header form and a default port.

use serde::Deserialize;

use super::skew::parse_amz_date;
use super::test_support::OwnedRequest;
use super::{AuthLocation, SigV4Error, check_time, parse, verify};

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    access_key_id: String,
    secret: String,
    session_token: Option<String>,
    now: String,
    region: String,
    service: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("testdata/vectors.json")).unwrap()
}

/// The request as an HTTP/1.1 server sees it: origin-form target plus a `Host` header.
fn http1(v: &Vector) -> OwnedRequest {
    let url: http::Uri = v.url.parse().unwrap();
    let target = url.path_and_query().unwrap().as_str();
    let headers: Vec<(&str, &str)> = v
        .headers
        .iter()
        .map(|(n, val)| (n.as_str(), val.as_str()))
        .collect();
    OwnedRequest::new(&v.method, target, &headers, v.body.as_bytes())
}

/// The request as an HTTP/2 server sees it: absolute URI (`:authority`), no `Host` header.
fn http2(v: &Vector) -> OwnedRequest {
    let mut req = http1(v);
    let host = req.headers.remove(http::header::HOST).unwrap();
    let pq = req.uri.path_and_query().unwrap().as_str().to_owned();
    req.uri = format!("https://{}{pq}", host.to_str().unwrap())
        .parse()
        .unwrap();
    req
}

#[test]
fn every_botocore_vector_verifies_over_http1_and_http2() {
    let all = vectors();
    assert_eq!(all.len(), 11);
    for v in &all {
        let now = parse_amz_date(&v.now).unwrap();
        for req in [http1(v), http2(v)] {
            let signed = req.as_signed();
            let auth = parse(&signed)
                .unwrap()
                .unwrap_or_else(|| panic!("{}: no auth", v.name));
            assert_eq!(auth.access_key_id, v.access_key_id, "{}", v.name);
            assert_eq!(auth.scope.region, v.region, "{}", v.name);
            assert_eq!(auth.scope.service, v.service, "{}", v.name);
            assert_eq!(auth.session_token, v.session_token, "{}", v.name);
            assert_eq!(auth.request_time, now, "{}", v.name);
            assert_eq!(check_time(&auth, now), Ok(()), "{}", v.name);
            assert_eq!(verify(&signed, &auth, &v.secret), Ok(()), "{}", v.name);
        }
    }
}

#[test]
fn botocore_vectors_fail_with_the_wrong_secret() {
    for v in vectors() {
        let req = http1(&v);
        let auth = parse(&req.as_signed()).unwrap().unwrap();
        let wrong = format!("{}x", v.secret);
        assert_eq!(
            verify(&req.as_signed(), &auth, &wrong),
            Err(SigV4Error::SignatureMismatch),
            "{}",
            v.name
        );
    }
}

#[test]
fn botocore_vectors_fail_when_tampered() {
    for v in vectors() {
        let original = http1(&v);
        let auth = parse(&original.as_signed()).unwrap().unwrap();

        let mut other_path = original.clone();
        let pq = original.uri.path_and_query().unwrap().as_str();
        other_path.uri = format!("/x{pq}").parse().unwrap();
        assert!(
            verify(&other_path.as_signed(), &auth, &v.secret).is_err(),
            "{}",
            v.name
        );

        let mut other_host = original.clone();
        other_host
            .headers
            .insert(http::header::HOST, "evil.test:7443".parse().unwrap());
        assert!(
            verify(&other_host.as_signed(), &auth, &v.secret).is_err(),
            "{}",
            v.name
        );

        // Presigned URLs do not cover the body (UNSIGNED-PAYLOAD); the header form does.
        if auth.location == AuthLocation::Header && !original.body.is_empty() {
            let mut other_body = original.clone();
            if let Some(b) = other_body.body.last_mut() {
                *b ^= 1;
            }
            assert_eq!(
                verify(&other_body.as_signed(), &auth, &v.secret),
                Err(SigV4Error::SignatureMismatch),
                "{}",
                v.name
            );
        }
    }
}

#[test]
fn presigned_vectors_expire_after_their_window() {
    for v in vectors().iter().filter(|v| v.name.starts_with("presigned")) {
        let req = http1(v);
        let auth = parse(&req.as_signed()).unwrap().unwrap();
        assert_eq!(auth.location, AuthLocation::Query);
        let expires = auth.expires.unwrap();
        let now = parse_amz_date(&v.now).unwrap();
        assert_eq!(check_time(&auth, now + expires), Ok(()), "{}", v.name);
        assert!(matches!(
            check_time(&auth, now + expires + time::Duration::SECOND),
            Err(SigV4Error::PresignedUrlExpired { .. })
        ));
    }
}
