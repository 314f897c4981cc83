//! Tests of credential parsing: every shape error, both forms, and robustness on junk.

use proptest::prelude::*;

use super::*;
use crate::sigv4::test_support::{OwnedRequest, T0};

const SIG: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const CRED: &str = "AKIDEXAMPLE/20261129/us-east-1/kms/aws4_request";

fn header_auth(cred: &str, signed: &str, sig: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}")
}

fn with_headers(headers: &[(&str, &str)]) -> OwnedRequest {
    OwnedRequest::new("POST", "/", headers, b"{}")
}

fn parse_headers(headers: &[(&str, &str)]) -> Result<Option<ParsedAuth>, SigV4Error> {
    parse(&with_headers(headers).as_signed())
}

fn parse_auth(authorization: &str) -> Result<Option<ParsedAuth>, SigV4Error> {
    parse_headers(&[
        ("host", "kms.example.test"),
        ("x-amz-date", "20261129T120000Z"),
        ("authorization", authorization),
    ])
}

fn parse_query(query: &str) -> Result<Option<ParsedAuth>, SigV4Error> {
    let req = OwnedRequest::new("GET", &format!("/?{query}"), &[("host", "h")], b"");
    parse(&req.as_signed())
}

fn presigned_query() -> String {
    format!(
        "Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}\
         &X-Amz-Date=20261129T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host\
         &X-Amz-Signature={SIG}",
        CRED.replace('/', "%2F")
    )
}

#[test]
fn no_credentials_is_none() {
    assert_eq!(
        parse_headers(&[("host", "h"), ("x-amz-date", "20261129T120000Z")]),
        Ok(None)
    );
    assert_eq!(
        parse_query("Action=ListUsers&X-Amz-Date=20261129T120000Z"),
        Ok(None)
    );
}

#[test]
fn reads_a_well_formed_header() {
    let auth = parse_auth(&header_auth(CRED, "content-type;host;x-amz-date", SIG))
        .unwrap()
        .unwrap();
    assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
    let scope = CredentialScope {
        date: "20261129".into(),
        region: "us-east-1".into(),
        service: "kms".into(),
    };
    assert_eq!(auth.scope, scope);
    assert_eq!(
        auth.scope.to_scope_string(),
        "20261129/us-east-1/kms/aws4_request"
    );
    assert_eq!(auth.signed_headers, ["content-type", "host", "x-amz-date"]);
    assert_eq!(auth.signature, SIG);
    assert_eq!(auth.request_time, T0);
    assert_eq!(
        (auth.location, auth.expires, auth.session_token),
        (AuthLocation::Header, None, None)
    );
}

#[test]
fn tolerates_sdk_whitespace() {
    let spaced = format!(
        "  AWS4-HMAC-SHA256   Credential={CRED} ,SignedHeaders=host;x-amz-date,\t Signature={SIG}  "
    );
    let auth = parse_auth(&spaced).unwrap().unwrap();
    assert_eq!(auth.signature, SIG);
    assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
}

#[test]
fn each_missing_component_is_named() {
    let cases = [
        (
            format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={SIG}"),
            "Credential",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={CRED}, Signature={SIG}"),
            "SignedHeaders",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host"),
            "Signature",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature="),
            "Signature",
        ),
        ("AWS4-HMAC-SHA256".to_owned(), "Credential"),
    ];
    for (header, name) in cases {
        let err = parse_auth(&header).unwrap_err();
        assert_eq!(err, SigV4Error::MissingParameter { name }, "{header}");
        assert_eq!(err.code(), "IncompleteSignature");
        assert!(err.to_string().contains(name));
    }
}

#[test]
fn only_hmac_sha256_sigv4_is_accepted() {
    for header in [
        header_auth(CRED, "host", SIG).replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
        "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
    ] {
        let err = parse_auth(&header).unwrap_err();
        assert!(
            matches!(err, SigV4Error::UnsupportedAlgorithm { .. }),
            "{header}: {err:?}"
        );
        assert_eq!(err.code(), "IncompleteSignature");
    }
}

#[test]
fn unreadable_components_are_rejected() {
    let no_equals = format!("AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders, Signature={SIG}");
    let repeated = format!("{}, Signature={SIG}", header_auth(CRED, "host", SIG));
    let unknown = format!("{}, Foo=bar", header_auth(CRED, "host", SIG));
    let empty_name = header_auth(CRED, "host;;x-amz-date", SIG);
    for header in [no_equals, repeated, unknown, empty_name] {
        let err = parse_auth(&header).unwrap_err();
        assert!(
            matches!(err, SigV4Error::MalformedParameter { .. }),
            "{header}: {err:?}"
        );
        assert_eq!(err.code(), "IncompleteSignature");
    }
}

#[test]
fn credential_scope_shape_is_checked() {
    let terminator = parse_auth(&header_auth(
        "AKIDEXAMPLE/20261129/us-east-1/kms/aws5_request",
        "host",
        SIG,
    ));
    assert_eq!(
        terminator,
        Err(SigV4Error::BadScopeTerminator {
            found: "aws5_request".into()
        })
    );
    for cred in [
        "AKIDEXAMPLE/20261129/us-east-1/kms",
        "AKIDEXAMPLE/20261129/us-east-1/kms/aws4_request/extra",
        "AKIDEXAMPLE/2026-11-29/us-east-1/kms/aws4_request",
        "AKIDEXAMPLE/20261129//kms/aws4_request",
        "/20261129/us-east-1/kms/aws4_request",
    ] {
        let err = parse_auth(&header_auth(cred, "host", SIG)).unwrap_err();
        assert!(
            matches!(err, SigV4Error::MalformedCredential { .. }),
            "{cred}: {err:?}"
        );
        assert_eq!(err.code(), "IncompleteSignature");
    }
}

#[test]
fn host_must_be_signed() {
    let err = parse_auth(&header_auth(CRED, "content-type;x-amz-date", SIG)).unwrap_err();
    assert_eq!(err, SigV4Error::HostNotSigned);
    assert_eq!(err.code(), "IncompleteSignature");
}

#[test]
fn scope_date_must_match_request_date() {
    let cred = "AKIDEXAMPLE/20261128/us-east-1/kms/aws4_request";
    let err = parse_auth(&header_auth(cred, "host;x-amz-date", SIG)).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::ScopeDateMismatch {
            scope_date: "20261128".into(),
            request_date: "20261129".into()
        }
    );
    assert_eq!(err.code(), "IncompleteSignature");
}

#[test]
fn request_date_rules() {
    let auth = header_auth(CRED, "host;x-amz-date", SIG);
    let missing = parse_headers(&[("host", "h"), ("authorization", &auth)]);
    assert_eq!(missing, Err(SigV4Error::MissingDate));
    let bad = parse_headers(&[
        ("host", "h"),
        ("x-amz-date", "2026-11-29T12:00:00Z"),
        ("authorization", &auth),
    ]);
    assert!(matches!(bad, Err(SigV4Error::MalformedDate { .. })));
    // `Date` is accepted when X-Amz-Date is absent...
    let date_only = [
        ("host", "h"),
        ("date", "Sun, 29 Nov 2026 12:00:00 GMT"),
        ("authorization", &auth),
    ];
    assert_eq!(parse_headers(&date_only).unwrap().unwrap().request_time, T0);
    // ...and X-Amz-Date wins when both are present.
    let both = [
        ("host", "h"),
        ("date", "Mon, 30 Nov 2026 08:00:00 GMT"),
        ("x-amz-date", "20261129T120000Z"),
        ("authorization", &auth),
    ];
    assert_eq!(parse_headers(&both).unwrap().unwrap().request_time, T0);
}

#[test]
fn session_token_and_repeated_authorization() {
    let auth = header_auth(CRED, "host;x-amz-date;x-amz-security-token", SIG);
    let base = [
        ("host", "h"),
        ("x-amz-date", "20261129T120000Z"),
        ("x-amz-security-token", "tok/+="),
    ];
    let mut headers = base.to_vec();
    headers.push(("authorization", &auth));
    assert_eq!(
        parse_headers(&headers)
            .unwrap()
            .unwrap()
            .session_token
            .as_deref(),
        Some("tok/+=")
    );
    headers.push(("authorization", &auth));
    let err = parse_headers(&headers).unwrap_err();
    assert!(
        matches!(err, SigV4Error::MalformedParameter { .. }),
        "{err:?}"
    );
}

#[test]
fn reads_a_presigned_query() {
    let auth = parse_query(&presigned_query()).unwrap().unwrap();
    assert_eq!(auth.location, AuthLocation::Query);
    assert_eq!(auth.expires, Some(time::Duration::seconds(300)));
    assert_eq!(auth.scope.service, "kms");
    assert_eq!(auth.signature, SIG);
    assert_eq!(auth.request_time, T0);
    let with_token = format!("{}&X-Amz-Security-Token=a%2Fb%2Bc%3D", presigned_query());
    assert_eq!(
        parse_query(&with_token)
            .unwrap()
            .unwrap()
            .session_token
            .as_deref(),
        Some("a/b+c=")
    );
}

#[test]
fn presigned_query_errors() {
    let q = presigned_query();
    type Expect = fn(&SigV4Error) -> bool;
    let cases: Vec<(String, Expect)> = vec![
        (q.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""), |e| {
            *e == SigV4Error::MissingParameter {
                name: "X-Amz-Algorithm",
            }
        }),
        (q.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), |e| {
            matches!(e, SigV4Error::UnsupportedAlgorithm { .. })
        }),
        (q.replace("&X-Amz-Date=20261129T120000Z", ""), |e| {
            *e == SigV4Error::MissingDate
        }),
        (q.replace("&X-Amz-Expires=300", ""), |e| {
            *e == SigV4Error::MissingParameter {
                name: "X-Amz-Expires",
            }
        }),
        (q.replace("X-Amz-Expires=300", "X-Amz-Expires=0"), |e| {
            matches!(e, SigV4Error::InvalidExpires { .. })
        }),
        (
            q.replace("X-Amz-Expires=300", "X-Amz-Expires=604801"),
            |e| matches!(e, SigV4Error::InvalidExpires { .. }),
        ),
        (q.replace("X-Amz-Expires=300", "X-Amz-Expires=-5"), |e| {
            matches!(e, SigV4Error::InvalidExpires { .. })
        }),
        (
            q.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"),
            |e| *e == SigV4Error::HostNotSigned,
        ),
        (format!("{q}&X-Amz-Signature={SIG}"), |e| {
            matches!(e, SigV4Error::MalformedParameter { .. })
        }),
        (q.replace(&format!("&X-Amz-Signature={SIG}"), ""), |e| {
            *e == SigV4Error::MissingParameter {
                name: "X-Amz-Signature",
            }
        }),
    ];
    for (query, expected) in cases {
        let err = parse_query(&query).unwrap_err();
        assert!(expected(&err), "{query}: {err:?}");
        assert_eq!(err.code(), "IncompleteSignature");
    }
    assert_eq!(
        parse_query(&q.replace("X-Amz-Expires=300", "X-Amz-Expires=604800"))
            .unwrap()
            .unwrap()
            .expires,
        Some(time::Duration::seconds(604_800))
    );
}

#[test]
fn header_and_query_together_is_refused() {
    let auth = header_auth(CRED, "host;x-amz-date", SIG);
    let req = OwnedRequest::new(
        "GET",
        &format!("/?{}", presigned_query()),
        &[
            ("host", "h"),
            ("x-amz-date", "20261129T120000Z"),
            ("authorization", &auth),
        ],
        b"",
    );
    assert_eq!(parse(&req.as_signed()), Err(SigV4Error::ConflictingAuth));
}

#[test]
fn strips_only_the_signature_pair() {
    assert_eq!(
        query_without_signature(
            "a=1&X-Amz-Signature=ab&X-Amz-SignedHeaders=host&X%2DAmz%2DSignature=cd"
        ),
        "a=1&X-Amz-SignedHeaders=host"
    );
}

proptest! {
    /// Arbitrary header text never panics and never parses into credentials without `host`.
    #[test]
    fn arbitrary_authorization_never_panics(
        tail in "[ -~]{0,200}",
        prefix in prop::sample::select(vec!["", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential="]),
    ) {
        let header = format!("{prefix}{tail}");
        if let Ok(Some(auth)) = parse_auth(&header) {
            prop_assert!(auth.signed_headers.iter().any(|h| h.eq_ignore_ascii_case("host")));
        }
    }

    /// Arbitrary presigned-looking queries never panic.
    #[test]
    fn arbitrary_query_never_panics(tail in "[!-~&=%]{0,200}") {
        let query = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&{tail}").replace('#', "%23");
        if let Ok(uri) = format!("/?{query}").parse::<http::Uri>() {
            let req = OwnedRequest { method: http::Method::GET, uri, headers: http::HeaderMap::new(), body: Vec::new() };
            let _ = parse(&req.as_signed());
        }
    }
}
