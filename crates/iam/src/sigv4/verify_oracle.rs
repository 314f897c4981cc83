//! Test oracle: the previous verifier, which re-signs the received request with `aws-sigv4`
//! (the AWS SDK for Rust's signer). The purpose-built verifier in `verify.rs` must agree with it
//! on every request, signed correctly or tampered with.
//!
//! The canonical request is built by the signer, never here. This module only decides what
//! the signer sees, so that it rebuilds exactly the canonical request the client built:
//!
//! - **Headers**: only the headers the client listed in `SignedHeaders`, every value of each.
//!   The signer always adds `x-amz-date` in header mode; when the client did not sign it
//!   (the `Date` form, and presigned URLs) it is the one entry of the signer's exclusion list.
//!   Otherwise the exclusion list is empty: the default list would drop `user-agent`, which
//!   some clients sign.
//! - **Session token**: never given to the signer as a credential, so the signer adds no
//!   token of its own. A token the client signed is in the signed headers (header form) or in
//!   the query (presigned), and is covered from there like any other value.
//! - **`x-amz-content-sha256`**: if present it must equal the hex SHA-256 of the body, so that
//!   a signed declaration can never stand in for the body (`UNSIGNED-PAYLOAD` is refused).
//!   When signed it is passed through as an ordinary header; the payload hash line is always
//!   computed by the signer from the body, which then equals the declared value.
//! - **Presigned URLs** are verified in the signer's header mode too, with the client's query
//!   minus `X-Amz-Signature`: its `X-Amz-*` parameters then enter the canonical query string
//!   exactly as the client sent them. The payload hash is `UNSIGNED-PAYLOAD` (botocore, S3
//!   style) or, failing that, the body's hash (other SDKs); either is accepted.
//! - **Host**: the `Host` header; on HTTP/2, where there is none, the URI's authority.
//! - **Path and query**: exactly as received; the signer applies the non-S3 rules (path
//!   normalisation, double percent-encoding, query sorting).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::HOST;
use portcullis_common::constant_time_eq;
use sha2::{Digest, Sha256};

use super::parse::query_without_signature;
use super::{AuthLocation, ParsedAuth, SigV4Error, SignedRequest};

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Re-signs `req` with `secret_access_key` as described by `auth` and compares the result
/// with the client's signature in constant time.
///
/// Call [`super::parse`] first (it produces `auth`) and [`super::check_time`] as well: this
/// function checks only the signature.
pub(crate) fn resign_verify(
    req: &SignedRequest<'_>,
    auth: &ParsedAuth,
    secret_access_key: &str,
) -> Result<(), SigV4Error> {
    check_declared_payload_hash(req)?;
    let target = signing_target(req, auth.location);
    let headers = signed_header_values(req, auth)?;

    let identity: Identity = Credentials::new(
        auth.access_key_id.as_str(),
        secret_access_key,
        None,
        None,
        "portcullis-sigv4-verify",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::Headers;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.excluded_headers = Some(if is_signed(auth, X_AMZ_DATE) {
        Vec::new()
    } else {
        vec![X_AMZ_DATE.into()]
    });
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.scope.region)
        .name(&auth.scope.service)
        .time(SystemTime::from(auth.request_time))
        .settings(settings)
        .build()
        .map_err(|e| unsignable(&e))?
        .into();

    let body_candidates: &[SignableBody<'_>] = match auth.location {
        AuthLocation::Header => &[SignableBody::Bytes(req.body)],
        AuthLocation::Query => &[SignableBody::UnsignedPayload, SignableBody::Bytes(req.body)],
    };
    let mut matched = false;
    for body in body_candidates {
        let signable = SignableRequest::new(
            req.method.as_str(),
            target.as_str(),
            headers.iter().map(|(n, v)| (*n, v.as_str())),
            body.clone(),
        )
        .map_err(|e| unsignable(&e))?;
        let output = sign(signable, &params).map_err(|e| unsignable(&e))?;
        // Every candidate is computed and compared, so the time taken does not say which
        // one matched.
        matched |= constant_time_eq(output.signature().as_bytes(), auth.signature.as_bytes());
    }
    if matched {
        Ok(())
    } else {
        Err(SigV4Error::SignatureMismatch)
    }
}

/// An `x-amz-content-sha256` header, signed or not, must be the hash of the body we got.
fn check_declared_payload_hash(req: &SignedRequest<'_>) -> Result<(), SigV4Error> {
    let Some(declared) = req.headers.get(X_AMZ_CONTENT_SHA256) else {
        return Ok(());
    };
    let actual = hex::encode(Sha256::digest(req.body));
    if constant_time_eq(declared.as_bytes(), actual.as_bytes()) {
        Ok(())
    } else {
        Err(SigV4Error::PayloadHashMismatch)
    }
}

/// The request target handed to the signer: the raw path and query as received, without the
/// signature parameter of a presigned URL.
fn signing_target(req: &SignedRequest<'_>, location: AuthLocation) -> String {
    let path = req.uri.path();
    let path = if path.is_empty() { "/" } else { path };
    match (req.uri.query(), location) {
        (None, _) => path.to_owned(),
        (Some(query), AuthLocation::Header) => format!("{path}?{query}"),
        (Some(query), AuthLocation::Query) => {
            let query = query_without_signature(query);
            if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            }
        }
    }
}

/// Every value of every signed header, in request order, with `host` synthesised from the
/// URI authority on HTTP/2.
fn signed_header_values<'a>(
    req: &SignedRequest<'a>,
    auth: &'a ParsedAuth,
) -> Result<Vec<(&'a str, String)>, SigV4Error> {
    let mut out: Vec<(&'a str, String)> = Vec::with_capacity(auth.signed_headers.len() + 1);
    for (i, name) in auth.signed_headers.iter().enumerate() {
        // A name listed twice contributes its values once, as it would in the client's own
        // canonical request.
        let repeated = auth
            .signed_headers
            .iter()
            .take(i)
            .any(|n| n.eq_ignore_ascii_case(name));
        if repeated {
            continue;
        }
        let before = out.len();
        for value in req.headers.get_all(name.as_str()) {
            let text = value.to_str().map_err(|_| SigV4Error::Unsignable {
                reason: format!("the value of signed header '{name}' is not visible ASCII"),
            })?;
            out.push((name.as_str(), text.to_owned()));
        }
        if out.len() == before
            && name.eq_ignore_ascii_case(HOST.as_str())
            && let Some(host) = authority_as_host(req.uri)
        {
            out.push((name.as_str(), host));
        }
        if out.len() == before {
            return Err(SigV4Error::SignedHeaderMissing {
                name: name.to_ascii_lowercase(),
            });
        }
    }
    Ok(out)
}

/// The `host` value an HTTP/2 client signed: the `:authority`, without a port that is the
/// scheme's default (botocore and `aws-sigv4` both drop it when they derive `host`).
fn authority_as_host(uri: &http::Uri) -> Option<String> {
    let authority = uri.authority()?;
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    if authority.port_u16().is_some() && authority.port_u16() == default_port {
        Some(authority.host().to_owned())
    } else {
        Some(authority.as_str().to_owned())
    }
}

fn is_signed(auth: &ParsedAuth, name: &str) -> bool {
    auth.signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

fn unsignable(e: &dyn std::fmt::Display) -> SigV4Error {
    SigV4Error::Unsignable {
        reason: e.to_string(),
    }
}
