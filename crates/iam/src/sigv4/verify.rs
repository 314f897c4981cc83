//! Signature verification: the canonical request and string to sign are rebuilt from the
//! received request, signed with the (cached) signing key and compared in constant time.
//!
//! What goes into the canonical request (see [`super::canonical`] for the encoding rules):
//!
//! - **Headers**: only the headers the client listed in `SignedHeaders`, every value of each.
//!   A signed `x-amz-date` is the request time in `yyyymmddThhmmssZ` form.
//! - **Session token**: covered like any other value, as a signed header (header form) or a
//!   query parameter (presigned URL); the caller compares it with the key's token.
//! - **`x-amz-content-sha256`**: if present it must equal the hex SHA-256 of the body, so that
//!   a signed declaration can never stand in for the body (`UNSIGNED-PAYLOAD` is refused).
//!   The payload hash line is always the body's hash, computed once.
//! - **Presigned URLs**: the client's query minus `X-Amz-Signature`, so the `X-Amz-*`
//!   parameters enter the canonical query string exactly as the client sent them. The payload
//!   hash is `UNSIGNED-PAYLOAD` (botocore, S3 style) or, failing that, the body's hash (other
//!   SDKs); either is accepted, and both are always computed and compared.
//! - **Host**: the `Host` header; on HTTP/2, where there is none, the URI's authority.
//! - **Path and query**: as received, with the non-S3 rules (path normalisation, double
//!   percent-encoding, query sorting).
//!
//! The result is byte-for-byte what `aws-sigv4` (the AWS SDK for Rust's signer) and botocore
//! produce; the tests check it against both.

use aws_lc_rs::{digest, hmac};
use http::header::HOST;
use portcullis_common::constant_time_eq;
use time::{OffsetDateTime, UtcOffset};

use super::canonical::{
    canonical_header_names, push_canonical_path, push_canonical_query, push_trimmed,
};
use super::parse::query_without_signature;
use super::signing_key::signing_key;
use super::{ALGORITHM, AuthLocation, ParsedAuth, SCOPE_TERMINATOR, SigV4Error, SignedRequest};

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Rebuilds the request's signature with `secret_access_key` as described by `auth` and
/// compares it with the client's signature in constant time.
///
/// Call [`super::parse`] first (it produces `auth`) and [`super::check_time`] as well: this
/// function checks only the signature.
pub fn verify(
    req: &SignedRequest<'_>,
    auth: &ParsedAuth,
    secret_access_key: &str,
) -> Result<(), SigV4Error> {
    let body_hash = hex_lower(digest::digest(&digest::SHA256, req.body).as_ref());
    check_declared_payload_hash(req, &body_hash)?;
    let amz_date = amz_date(auth.request_time);
    let mut creq = canonical_request_without_payload(req, auth, &amz_date)?;
    let key = signing_key(&auth.access_key_id, secret_access_key, &auth.scope);

    let body_hash = std::str::from_utf8(&body_hash).unwrap_or_default();
    let candidates: &[&str] = match auth.location {
        AuthLocation::Header => &[body_hash],
        AuthLocation::Query => &[UNSIGNED_PAYLOAD, body_hash],
    };
    let prefix = creq.len();
    let mut string_to_sign = String::with_capacity(160);
    let mut matched = false;
    for payload_hash in candidates {
        creq.truncate(prefix);
        creq.push_str(payload_hash);
        string_to_sign.clear();
        push_string_to_sign(&mut string_to_sign, auth, &amz_date, &creq);
        let ours = hex_lower(hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
        // Every candidate is computed and compared, so the time taken does not say which
        // one matched.
        matched |= constant_time_eq(&ours, auth.signature.as_bytes());
    }
    if matched {
        Ok(())
    } else {
        Err(SigV4Error::SignatureMismatch)
    }
}

/// The canonical request up to and including the signed-headers line and its newline; the
/// payload hash is appended by the caller.
pub(crate) fn canonical_request_without_payload(
    req: &SignedRequest<'_>,
    auth: &ParsedAuth,
    amz_date: &str,
) -> Result<String, SigV4Error> {
    let path = req.uri.path();
    let query = req.uri.query().unwrap_or_default();
    let mut out = String::with_capacity(320 + path.len() + 2 * query.len());
    out.push_str(req.method.as_str());
    out.push('\n');
    push_canonical_path(&mut out, path);
    out.push('\n');
    match auth.location {
        AuthLocation::Header => push_canonical_query(&mut out, query),
        AuthLocation::Query => push_canonical_query(&mut out, &query_without_signature(query)),
    }
    out.push('\n');
    let names = canonical_header_names(&auth.signed_headers);
    for name in &names {
        out.push_str(name);
        out.push(':');
        push_header_values(&mut out, req, name, amz_date)?;
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    Ok(out)
}

/// Appends the canonical value of one signed header: every value, trimmed, joined with `,`.
fn push_header_values(
    out: &mut String,
    req: &SignedRequest<'_>,
    name: &str,
    amz_date: &str,
) -> Result<(), SigV4Error> {
    if name == X_AMZ_DATE {
        out.push_str(amz_date);
        return Ok(());
    }
    let mut any = false;
    for value in req.headers.get_all(name) {
        let text = value.to_str().map_err(|_| SigV4Error::Unsignable {
            reason: format!("the value of signed header '{name}' is not visible ASCII"),
        })?;
        if any {
            out.push(',');
        }
        push_trimmed(out, text);
        any = true;
    }
    if !any
        && name == HOST.as_str()
        && let Some(host) = authority_as_host(req.uri)
    {
        out.push_str(host);
        any = true;
    }
    if any {
        Ok(())
    } else {
        Err(SigV4Error::SignedHeaderMissing {
            name: name.to_owned(),
        })
    }
}

/// `AWS4-HMAC-SHA256`, the request time, the scope and the hex SHA-256 of the canonical
/// request, one per line.
fn push_string_to_sign(out: &mut String, auth: &ParsedAuth, amz_date: &str, creq: &str) {
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(amz_date);
    out.push('\n');
    for part in [&auth.scope.date, &auth.scope.region, &auth.scope.service] {
        out.push_str(part);
        out.push('/');
    }
    out.push_str(SCOPE_TERMINATOR);
    out.push('\n');
    let hash = hex_lower(digest::digest(&digest::SHA256, creq.as_bytes()).as_ref());
    out.push_str(std::str::from_utf8(&hash).unwrap_or_default());
}

/// An `x-amz-content-sha256` header, signed or not, must be the hash of the body we got.
fn check_declared_payload_hash(
    req: &SignedRequest<'_>,
    body_hash: &[u8; 64],
) -> Result<(), SigV4Error> {
    let Some(declared) = req.headers.get(X_AMZ_CONTENT_SHA256) else {
        return Ok(());
    };
    if constant_time_eq(declared.as_bytes(), body_hash) {
        Ok(())
    } else {
        Err(SigV4Error::PayloadHashMismatch)
    }
}

/// The `host` value an HTTP/2 client signed: the `:authority`, without a port that is the
/// scheme's default (botocore and `aws-sigv4` both drop it when they derive `host`).
fn authority_as_host(uri: &http::Uri) -> Option<&str> {
    let authority = uri.authority()?;
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    if authority.port_u16().is_some() && authority.port_u16() == default_port {
        Some(authority.host())
    } else {
        Some(authority.as_str())
    }
}

/// The request time as SigV4 writes it, `yyyymmddThhmmssZ` in UTC.
pub(crate) fn amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Lower-case hex of a 32-byte digest or tag, on the stack.
fn hex_lower(bytes: &[u8]) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        for (o, n) in pair.iter_mut().zip([b >> 4, b & 0x0f]) {
            *o = HEX.get(usize::from(n)).copied().unwrap_or(b'0');
        }
    }
    out
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
