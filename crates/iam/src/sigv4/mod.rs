//! Server-side verification of AWS Signature Version 4 (SigV4).
//!
//! Verification runs in three steps, each a plain function so that the caller can do its own
//! work (the access-key lookup) between them:
//!
//! 1. [`parse`] finds the credentials, either in the `Authorization` header or, for presigned
//!    URLs, in the `X-Amz-*` query parameters, and checks their shape: algorithm, scope
//!    terminator, scope date against the request date, `host` among the signed headers.
//! 2. [`check_time`] checks the request time against the server clock (±15 minutes, or the
//!    presigned validity window).
//! 3. [`verify`] builds the canonical request and string to sign from the received request,
//!    signs it with the signing key derived from the stored secret (cached per key id, secret
//!    and credential scope, see [`signing_key`]) and compares the signatures in constant time.
//!
//! The canonical request follows the rules the AWS SDKs, botocore and the AWS CLI sign with
//! (URI double encoding, query sorting, header trimming); the tests replay requests signed by
//! botocore and by `aws-sigv4` (the AWS SDK for Rust's signer), and check on random requests
//! that [`verify`] agrees with re-signing the request through `aws-sigv4`.
//!
//! Nothing here does I/O or reads the clock: the caller passes `now`.

mod canonical;
mod error;
mod parse;
pub mod signing_key;
mod skew;
mod verify;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod vectors;
#[cfg(test)]
mod verify_oracle;

pub use error::SigV4Error;
pub use parse::parse;
pub use skew::check_time;
pub use verify::verify;

/// The algorithm name of SigV4 with HMAC-SHA256, the only one accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The terminator that closes every SigV4 credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";

/// The parts of a received HTTP request that SigV4 covers.
///
/// Borrowed, so the HTTP layer can build it from an `http::Request` without copying. On
/// HTTP/1.1, `uri` is usually origin-form (`/path?query`) and the host comes from the `Host`
/// header; on HTTP/2 there is no `Host` header and the authority is taken from `uri`.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The request method.
    pub method: &'a http::Method,
    /// The request target exactly as received (still percent-encoded).
    pub uri: &'a http::Uri,
    /// All request headers, including `Authorization`.
    pub headers: &'a http::HeaderMap,
    /// The complete request body.
    pub body: &'a [u8],
}

/// Where a request carried its SigV4 credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLocation {
    /// In the `Authorization` header (what the SDKs send).
    Header,
    /// In `X-Amz-*` query parameters (a presigned URL).
    Query,
}

/// The credential scope: `<date>/<region>/<service>/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// The scope date, `yyyymmdd`; always equal to the date of the request time.
    pub date: String,
    /// The region the client signed for, e.g. `us-east-1`.
    pub region: String,
    /// The service the client signed for, e.g. `kms`; the API router dispatches on it.
    pub service: String,
}

/// SigV4 credentials found in a request, checked for shape but not yet for time or signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    /// The access key id the client signed with; the caller looks up its secret.
    pub access_key_id: String,
    /// The credential scope.
    pub scope: CredentialScope,
    /// The signed header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The signature the client sent (hex, as received).
    pub signature: String,
    /// The request time, from `X-Amz-Date` (or the `Date` header).
    pub request_time: time::OffsetDateTime,
    /// The session token of temporary credentials (`X-Amz-Security-Token`), if any. The
    /// caller must check that it belongs to the access key.
    pub session_token: Option<String>,
    /// How long a presigned URL stays valid (`X-Amz-Expires`); `None` for the header form.
    pub expires: Option<time::Duration>,
    /// Where the credentials were found.
    pub location: AuthLocation,
}

impl CredentialScope {
    /// The scope as it appears in the string to sign, `date/region/service/aws4_request`.
    pub fn to_scope_string(&self) -> String {
        format!(
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}
