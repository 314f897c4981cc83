//! Round trips against `aws-sigv4` used as a client, each verify-time failure, and property
//! tests: what a client signs always verifies, and any change to a signed part never does.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

use super::*;
use crate::sigv4::parse;
use crate::sigv4::test_support::{
    ClientOptions, OwnedRequest, SECRET, client_sign, signed_kms_request,
};

fn parse_and_verify(req: &OwnedRequest, secret: &str) -> Result<ParsedAuth, SigV4Error> {
    let signed = req.as_signed();
    let auth = parse(&signed)?.ok_or(SigV4Error::MissingDate)?;
    verify(&signed, &auth, secret)?;
    Ok(auth)
}

/// The same request as an HTTP/2 server sees it: authority in the URI, no `Host` header.
fn as_http2(req: &OwnedRequest, authority: &str) -> OwnedRequest {
    let mut h2 = req.clone();
    h2.headers.remove(HOST);
    let pq = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
    h2.uri = format!("https://{authority}{pq}").parse().unwrap();
    h2
}

#[test]
fn header_form_round_trip_http1_and_http2() {
    let req = signed_kms_request(ClientOptions::default());
    assert_eq!(
        parse_and_verify(&req, SECRET).map(|a| a.location),
        Ok(AuthLocation::Header)
    );
    let h2 = as_http2(&req, "kms.example.test:7443");
    assert!(parse_and_verify(&h2, SECRET).is_ok());
    // A signed host that differs from the HTTP/2 authority fails.
    let elsewhere = as_http2(&req, "other.example.test:7443");
    assert_eq!(
        parse_and_verify(&elsewhere, SECRET),
        Err(SigV4Error::SignatureMismatch)
    );
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let req = signed_kms_request(ClientOptions::default());
    let err = parse_and_verify(&req, "not-the-secret").unwrap_err();
    assert_eq!(err, SigV4Error::SignatureMismatch);
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    assert!(
        err.to_string()
            .starts_with("The request signature we calculated does not match")
    );
}

#[test]
fn session_token_is_covered_by_the_signature() {
    let opts = ClientOptions {
        session_token: Some("FQoG/token+=="),
        ..ClientOptions::default()
    };
    let req = signed_kms_request(opts);
    let auth = parse_and_verify(&req, SECRET).unwrap();
    assert_eq!(auth.session_token.as_deref(), Some("FQoG/token+=="));
    let mut swapped = req.clone();
    swapped
        .headers
        .insert("x-amz-security-token", "FQoG/other+==".parse().unwrap());
    assert_eq!(
        parse_and_verify(&swapped, SECRET),
        Err(SigV4Error::SignatureMismatch)
    );
}

#[test]
fn unsigned_headers_may_change_but_signed_user_agent_may_not() {
    let req = signed_kms_request(ClientOptions::default());
    let mut other_agent = req.clone();
    other_agent
        .headers
        .insert("user-agent", "proxy-rewrote-this".parse().unwrap());
    other_agent
        .headers
        .insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
    assert!(parse_and_verify(&other_agent, SECRET).is_ok());

    let every = signed_kms_request(ClientOptions {
        sign_every_header: true,
        ..ClientOptions::default()
    });
    let auth = parse_and_verify(&every, SECRET).unwrap();
    assert!(auth.signed_headers.iter().any(|h| h == "user-agent"));
    let mut tampered = every.clone();
    tampered
        .headers
        .insert("user-agent", "proxy-rewrote-this".parse().unwrap());
    assert_eq!(
        parse_and_verify(&tampered, SECRET),
        Err(SigV4Error::SignatureMismatch)
    );
}

#[test]
fn content_sha256_must_match_the_body() {
    let req = signed_kms_request(ClientOptions {
        content_sha256: true,
        ..ClientOptions::default()
    });
    let auth = parse_and_verify(&req, SECRET).unwrap();
    assert!(
        auth.signed_headers
            .iter()
            .any(|h| h == "x-amz-content-sha256")
    );
    let mut unsigned = req.clone();
    unsigned
        .headers
        .insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    let err = parse_and_verify(&unsigned, SECRET).unwrap_err();
    assert_eq!(
        (err.clone(), err.code()),
        (SigV4Error::PayloadHashMismatch, "SignatureDoesNotMatch")
    );
    let mut other_body = req.clone();
    other_body.body.push(b' ');
    assert_eq!(
        parse_and_verify(&other_body, SECRET),
        Err(SigV4Error::PayloadHashMismatch)
    );
}

#[test]
fn presigned_round_trip_with_either_payload_hash() {
    for unsigned_payload in [true, false] {
        let opts = ClientOptions {
            service: "sts",
            presign_secs: Some(900),
            unsigned_payload,
            session_token: Some("tok/en+=="),
            ..ClientOptions::default()
        };
        let mut req = OwnedRequest::new(
            "GET",
            "/?Action=GetCallerIdentity&Version=2011-06-15",
            &[("host", "sts.example.test")],
            b"",
        );
        client_sign(
            "https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15",
            &mut req,
            opts,
        );
        let auth = parse_and_verify(&req, SECRET).unwrap();
        assert_eq!(auth.location, AuthLocation::Query);
        assert_eq!(auth.expires, Some(time::Duration::seconds(900)));
        assert_eq!(auth.session_token.as_deref(), Some("tok/en+=="));
        assert!(parse_and_verify(&as_http2(&req, "sts.example.test"), SECRET).is_ok());
        let mut other_action = req.clone();
        let query = req
            .uri
            .query()
            .unwrap()
            .replace("GetCallerIdentity", "GetSessionToken");
        other_action.uri = format!("/?{query}").parse().unwrap();
        assert_eq!(
            parse_and_verify(&other_action, SECRET),
            Err(SigV4Error::SignatureMismatch)
        );
    }
}

#[test]
fn signed_header_must_be_present() {
    let req = signed_kms_request(ClientOptions::default());
    let mut missing = req.clone();
    missing.headers.remove("x-amz-target");
    let err = parse_and_verify(&missing, SECRET).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::SignedHeaderMissing {
            name: "x-amz-target".into()
        }
    );
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    // HTTP/2 without an authority has no host at all.
    let mut no_host = req.clone();
    no_host.headers.remove(HOST);
    let err = parse_and_verify(&no_host, SECRET).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::SignedHeaderMissing {
            name: "host".into()
        }
    );
}

#[test]
fn non_text_signed_header_is_unsignable() {
    let mut req = signed_kms_request(ClientOptions::default());
    req.headers.insert(
        "x-amz-target",
        http::HeaderValue::from_bytes(b"Trent\xc3\xa9").unwrap(),
    );
    let err = parse_and_verify(&req, SECRET).unwrap_err();
    assert!(matches!(err, SigV4Error::Unsignable { .. }), "{err:?}");
    assert_eq!(err.code(), "SignatureDoesNotMatch");
}

#[test]
fn repeated_header_values_keep_their_order() {
    let mut req = OwnedRequest::new(
        "POST",
        "/",
        &[
            ("host", "h.test"),
            ("x-amz-meta-tag", "b"),
            ("x-amz-meta-tag", "a"),
        ],
        b"{}",
    );
    client_sign("https://h.test/", &mut req, ClientOptions::default());
    assert!(parse_and_verify(&req, SECRET).is_ok());
    let mut swapped = req.clone();
    swapped.headers.remove("x-amz-meta-tag");
    swapped
        .headers
        .append("x-amz-meta-tag", "a".parse().unwrap());
    swapped
        .headers
        .append("x-amz-meta-tag", "b".parse().unwrap());
    assert_eq!(
        parse_and_verify(&swapped, SECRET),
        Err(SigV4Error::SignatureMismatch)
    );
}

#[test]
fn default_port_is_dropped_from_http2_authority() {
    let mut req = OwnedRequest::new("POST", "/", &[("host", "kms.example.test")], b"{}");
    client_sign(
        "https://kms.example.test/",
        &mut req,
        ClientOptions::default(),
    );
    assert!(parse_and_verify(&as_http2(&req, "kms.example.test:443"), SECRET).is_ok());
}

/// A random request: path segments and query pairs built from arbitrary text, encoded the way
/// an SDK encodes them, plus a signed custom header and a body.
fn arb_request() -> impl Strategy<Value = OwnedRequest> {
    (
        prop::collection::vec("\\PC{0,8}", 0..4),
        prop::collection::vec(("\\PC{1,6}", "\\PC{0,6}"), 0..4),
        "[!-~]{1,16}",
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(segments, pairs, header, body)| {
            let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
            let path: String = segments.iter().map(|s| format!("/{}", enc(s))).collect();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            let query: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            let target = if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            };
            let mut req = OwnedRequest::new(
                "POST",
                &target,
                &[("host", "api.example.test:7443"), ("x-custom", &header)],
                &body,
            );
            client_sign(
                &format!("https://api.example.test:7443{target}"),
                &mut req,
                ClientOptions::default(),
            );
            req
        })
}

#[derive(Debug, Clone)]
enum Tamper {
    SignedHeader(usize),
    BodyByte(usize, u8),
    BodyAppend(u8),
    Path(String),
    Query(String),
}

fn arb_tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        any::<usize>().prop_map(Tamper::SignedHeader),
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Tamper::BodyByte(i, x)),
        any::<u8>().prop_map(Tamper::BodyAppend),
        "[a-zA-Z0-9]{1,4}".prop_map(Tamper::Path),
        "[a-zA-Z0-9]{1,4}".prop_map(Tamper::Query),
    ]
}

fn apply(req: &OwnedRequest, auth: &ParsedAuth, tamper: &Tamper) -> OwnedRequest {
    let mut t = req.clone();
    let pq = req
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    match tamper {
        Tamper::SignedHeader(i) => {
            let name = &auth.signed_headers[i % auth.signed_headers.len()];
            let old = req.headers.get(name.as_str()).unwrap().to_str().unwrap();
            t.headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                format!("{old}0").parse().unwrap(),
            );
        }
        Tamper::BodyByte(i, x) if !req.body.is_empty() => {
            let i = i % req.body.len();
            t.body[i] ^= x;
        }
        Tamper::BodyByte(_, x) | Tamper::BodyAppend(x) => t.body.push(*x),
        Tamper::Path(s) => {
            let (path, query) = pq
                .split_once('?')
                .map_or((pq.as_str(), None), |(p, q)| (p, Some(q)));
            let path = format!("{}/{s}", path.trim_end_matches('/'));
            let target = query.map_or(path.clone(), |q| format!("{path}?{q}"));
            t.uri = target.parse().unwrap();
        }
        Tamper::Query(s) => {
            let sep = if req.uri.query().is_some() { '&' } else { '?' };
            t.uri = format!("{pq}{sep}{s}=1").parse().unwrap();
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever `aws-sigv4` signs as a client (encoded paths, repeated or odd query pairs,
    /// arbitrary header text, any body), the verifier accepts.
    #[test]
    fn client_signed_requests_verify(req in arb_request()) {
        prop_assert!(parse_and_verify(&req, SECRET).is_ok());
    }

    /// Changing any signed header, any body byte, the path or the query always fails.
    #[test]
    fn any_tampering_fails(req in arb_request(), tamper in arb_tamper()) {
        let auth = parse(&req.as_signed()).unwrap().unwrap();
        let tampered = apply(&req, &auth, &tamper);
        prop_assert!(parse_and_verify(&tampered, SECRET).is_err(), "{:?}", tamper);
    }
}

proptest! {
    /// Junk signed-header names, regions and services never panic the signer; they just fail.
    #[test]
    fn junk_credentials_fail_cleanly(
        names in prop::collection::vec("[!-~]{1,12}", 0..4),
        region in "[!-+--~]{1,12}",
        service in "[!-+--~]{1,12}",
    ) {
        let signed = [names.join(";"), "host".to_owned()].join(";");
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AK/20261129/{region}/{service}/aws4_request, \
             SignedHeaders={signed}, Signature={}", "0".repeat(64)
        );
        let req = OwnedRequest::new(
            "POST", "/", &[("host", "h.test"), ("x-amz-date", "20261129T120000Z"), ("authorization", &auth)], b"",
        );
        if let Ok(Some(parsed)) = parse(&req.as_signed()) {
            prop_assert!(verify(&req.as_signed(), &parsed, SECRET).is_err());
        }
    }
}
