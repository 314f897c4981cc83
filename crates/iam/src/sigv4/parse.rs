//! Finding and reading SigV4 credentials: the `Authorization` header or presigned query
//! parameters.
//!
//! Everything here is shape checking on untrusted text; no secret is involved yet. The checks
//! that need no secret happen here so that a malformed request is rejected before the caller
//! looks anything up.

use std::borrow::Cow;

use http::header::{AUTHORIZATION, DATE, HOST};
use percent_encoding::percent_decode_str;

use super::error::{SigV4Error, clip};
use super::skew::{MAX_EXPIRES_SECS, is_scope_date, parse_amz_date, parse_http_date, scope_date};
use super::{
    ALGORITHM, AuthLocation, CredentialScope, ParsedAuth, SCOPE_TERMINATOR, SignedRequest,
};

/// Presigned-URL query parameter names (case-sensitive, as AWS treats them).
pub(crate) mod param {
    pub(crate) const ALGORITHM: &str = "X-Amz-Algorithm";
    pub(crate) const CREDENTIAL: &str = "X-Amz-Credential";
    pub(crate) const DATE: &str = "X-Amz-Date";
    pub(crate) const EXPIRES: &str = "X-Amz-Expires";
    pub(crate) const SECURITY_TOKEN: &str = "X-Amz-Security-Token";
    pub(crate) const SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
    pub(crate) const SIGNATURE: &str = "X-Amz-Signature";
}

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

/// Finds and parses the SigV4 credentials (`Authorization` header, or `X-Amz-*` query
/// parameters for presigned URLs).
///
/// Returns `Ok(None)` when the request carries no SigV4 auth at all (the caller answers
/// `MissingAuthenticationToken`). Otherwise checks, without any secret: the algorithm, that
/// `Credential`, `SignedHeaders` and `Signature` are present, the scope shape and its
/// `aws4_request` terminator, that `host` is signed, the request date and that the scope date
/// equals it, and for presigned URLs that `X-Amz-Expires` is within one week.
pub fn parse(req: &SignedRequest<'_>) -> Result<Option<ParsedAuth>, SigV4Error> {
    let header = single_header(req, AUTHORIZATION.as_str())?;
    let query = req.uri.query().unwrap_or_default();
    let presigned = query_pairs(query).any(|(key, _)| {
        key == param::ALGORITHM || key == param::CREDENTIAL || key == param::SIGNATURE
    });
    match (header, presigned) {
        (Some(_), true) => Err(SigV4Error::ConflictingAuth),
        (Some(value), false) => parse_header_form(req, value).map(Some),
        (None, true) => parse_query_form(query).map(Some),
        (None, false) => Ok(None),
    }
}

/// The raw components of either form, before the shared checks.
struct RawAuth<'a> {
    credential: Option<Cow<'a, str>>,
    signed_headers: Option<Cow<'a, str>>,
    signature: Option<Cow<'a, str>>,
}

fn parse_header_form(req: &SignedRequest<'_>, value: &str) -> Result<ParsedAuth, SigV4Error> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm {
            algorithm: clip(algorithm),
        });
    }
    let mut raw = RawAuth {
        credential: None,
        signed_headers: None,
        signature: None,
    };
    for component in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let Some((key, val)) = component.split_once('=') else {
            return Err(SigV4Error::MalformedParameter {
                name: clip(component),
                reason: "expected 'name=value'",
            });
        };
        let slot = match key.trim() {
            "Credential" => &mut raw.credential,
            "SignedHeaders" => &mut raw.signed_headers,
            "Signature" => &mut raw.signature,
            other => {
                return Err(SigV4Error::MalformedParameter {
                    name: clip(other),
                    reason: "not a SigV4 Authorization component",
                });
            }
        };
        if slot.replace(Cow::Borrowed(val.trim())).is_some() {
            return Err(SigV4Error::MalformedParameter {
                name: clip(key.trim()),
                reason: "given more than once",
            });
        }
    }
    // X-Amz-Date takes precedence over Date, as in AWS's own SigV4 rules.
    let request_time = match single_header(req, X_AMZ_DATE)? {
        Some(v) => parse_amz_date(v.trim())?,
        None => match single_header(req, DATE.as_str())? {
            Some(v) => parse_http_date(v)?,
            None => return Err(SigV4Error::MissingDate),
        },
    };
    let session_token = single_header(req, X_AMZ_SECURITY_TOKEN)?.map(|t| t.trim().to_owned());
    let names = ("Credential", "SignedHeaders", "Signature");
    finish(
        raw,
        names,
        request_time,
        session_token,
        None,
        AuthLocation::Header,
    )
}

fn parse_query_form(query: &str) -> Result<ParsedAuth, SigV4Error> {
    let mut algorithm = None;
    let mut date = None;
    let mut expires = None;
    let mut session_token = None;
    let mut raw = RawAuth {
        credential: None,
        signed_headers: None,
        signature: None,
    };
    for (key, value) in query_pairs(query) {
        let slot = match key.as_ref() {
            param::ALGORITHM => &mut algorithm,
            param::CREDENTIAL => &mut raw.credential,
            param::DATE => &mut date,
            param::EXPIRES => &mut expires,
            param::SECURITY_TOKEN => &mut session_token,
            param::SIGNED_HEADERS => &mut raw.signed_headers,
            param::SIGNATURE => &mut raw.signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(SigV4Error::MalformedParameter {
                name: key.into_owned(),
                reason: "given more than once",
            });
        }
    }
    match algorithm.as_deref() {
        Some(ALGORITHM) => {}
        Some(other) => {
            return Err(SigV4Error::UnsupportedAlgorithm {
                algorithm: clip(other),
            });
        }
        None => {
            return Err(SigV4Error::MissingParameter {
                name: param::ALGORITHM,
            });
        }
    }
    let request_time = parse_amz_date(date.as_deref().ok_or(SigV4Error::MissingDate)?)?;
    let expires = expires.ok_or(SigV4Error::MissingParameter {
        name: param::EXPIRES,
    })?;
    let secs = parse_expires(&expires)?;
    let names = (param::CREDENTIAL, param::SIGNED_HEADERS, param::SIGNATURE);
    let session_token = session_token.map(Cow::into_owned);
    let expires = Some(time::Duration::seconds(secs));
    finish(
        raw,
        names,
        request_time,
        session_token,
        expires,
        AuthLocation::Query,
    )
}

/// `X-Amz-Expires`: plain decimal seconds in 1..=604800.
fn parse_expires(value: &str) -> Result<i64, SigV4Error> {
    let invalid = || SigV4Error::InvalidExpires { value: clip(value) };
    if value.is_empty() || value.len() > 7 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let secs: i64 = value.parse().map_err(|_| invalid())?;
    if (1..=MAX_EXPIRES_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(invalid())
    }
}

/// The checks both forms share, once the raw components are known.
fn finish(
    raw: RawAuth<'_>,
    (credential_name, signed_headers_name, signature_name): (
        &'static str,
        &'static str,
        &'static str,
    ),
    request_time: time::OffsetDateTime,
    session_token: Option<String>,
    expires: Option<time::Duration>,
    location: AuthLocation,
) -> Result<ParsedAuth, SigV4Error> {
    let required = |v: Option<Cow<'_, str>>, name: &'static str| match v {
        Some(v) if !v.is_empty() => Ok(v.into_owned()),
        _ => Err(SigV4Error::MissingParameter { name }),
    };
    let credential = required(raw.credential, credential_name)?;
    let signed_headers = required(raw.signed_headers, signed_headers_name)?;
    let signature = required(raw.signature, signature_name)?;

    let (access_key_id, scope) = parse_credential(&credential)?;
    let signed_headers: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(SigV4Error::MalformedParameter {
            name: signed_headers_name.to_owned(),
            reason: "contains an empty header name",
        });
    }
    if !signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case(HOST.as_str()))
    {
        return Err(SigV4Error::HostNotSigned);
    }
    if !is_scope_date(&scope.date, request_time) {
        return Err(SigV4Error::ScopeDateMismatch {
            scope_date: scope.date,
            request_date: scope_date(request_time),
        });
    }
    Ok(ParsedAuth {
        access_key_id,
        scope,
        signed_headers,
        signature,
        request_time,
        session_token,
        expires,
        location,
    })
}

/// `<access key>/<yyyymmdd>/<region>/<service>/aws4_request`.
fn parse_credential(credential: &str) -> Result<(String, CredentialScope), SigV4Error> {
    let malformed = |reason| SigV4Error::MalformedCredential { reason };
    let mut parts = credential.split('/');
    let mut next = |what| {
        parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or(malformed(what))
    };
    let access_key_id = next("the access key id is missing")?;
    let date = next("the date is missing")?;
    let region = next("the region is missing")?;
    let service = next("the service is missing")?;
    let terminator = next("the terminator is missing")?;
    if parts.next().is_some() {
        return Err(malformed("it has more than five '/'-separated parts"));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("the date must be yyyymmdd"));
    }
    if terminator != SCOPE_TERMINATOR {
        return Err(SigV4Error::BadScopeTerminator {
            found: clip(terminator),
        });
    }
    let scope = CredentialScope {
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    };
    Ok((access_key_id.to_owned(), scope))
}

/// The one value of header `name`, as text. Absent is `None`; repeated or non-text is an
/// error, since the auth headers must be unambiguous.
fn single_header<'r>(req: &SignedRequest<'r>, name: &str) -> Result<Option<&'r str>, SigV4Error> {
    let mut values = req.headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let malformed = |reason| SigV4Error::MalformedParameter {
        name: name.to_owned(),
        reason,
    };
    if values.next().is_some() {
        return Err(malformed("header given more than once"));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| malformed("header value is not visible ASCII"))
}

/// Splits a raw query into decoded `(key, value)` pairs, form-style (`+` is a space), the way
/// the signer reads it.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key), decode(value))
    })
}

fn decode(raw: &str) -> Cow<'_, str> {
    if raw.contains('+') {
        Cow::Owned(
            percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned(),
        )
    } else {
        percent_decode_str(raw).decode_utf8_lossy()
    }
}

/// The raw query with every `X-Amz-Signature` pair removed, other pairs untouched: what a
/// presigned URL's signature covers.
pub(crate) fn query_without_signature(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            decode(key) != param::SIGNATURE
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
