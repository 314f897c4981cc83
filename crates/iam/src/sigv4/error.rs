//! The SigV4 verification error and its mapping to AWS error codes.
//!
//! Messages are written for the client that sent the request: they name what is missing or
//! wrong, in the spirit of AWS's own messages, but never echo the signature, a session token
//! or anything derived from a secret.

use time::OffsetDateTime;
use time::macros::format_description;

/// Why a request's SigV4 authentication was rejected.
///
/// [`SigV4Error::code`] gives the AWS error code to send back. An unknown access key
/// (`InvalidClientTokenId` / `UnrecognizedClientException`) is never reported from here: the
/// caller decides that after its own lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// The `Authorization` header names an algorithm other than `AWS4-HMAC-SHA256` (SigV2,
    /// SigV4A, `Basic`, ...), or `X-Amz-Algorithm` does.
    #[error("Unsupported AWS 'algorithm': '{algorithm}'. Only 'AWS4-HMAC-SHA256' is accepted.")]
    UnsupportedAlgorithm {
        /// The algorithm the client named (truncated to 64 characters).
        algorithm: String,
    },
    /// A required part of the SigV4 credentials is absent: `Credential`, `SignedHeaders` or
    /// `Signature` in the header, or the matching `X-Amz-*` query parameter.
    #[error("Authorization requires '{name}' parameter, which is missing or empty.")]
    MissingParameter {
        /// The missing parameter's name as the client would write it.
        name: &'static str,
    },
    /// A part of the credentials is present but unreadable: a component without `=`, a
    /// repeated or unknown component, an empty signed-header name.
    #[error("Authorization parameter '{name}' is malformed: {reason}.")]
    MalformedParameter {
        /// The parameter that could not be read.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `Credential` is not `<access key>/<yyyymmdd>/<region>/<service>/aws4_request` with
    /// every part non-empty.
    #[error("Credential should be scoped to a valid region, service and date: {reason}.")]
    MalformedCredential {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The credential scope does not end in `aws4_request`.
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{found}'.")]
    BadScopeTerminator {
        /// The terminator the client sent (truncated to 64 characters).
        found: String,
    },
    /// Neither `X-Amz-Date` nor `Date` is present (or, for a presigned URL, `X-Amz-Date`).
    #[error("Authorization requires existence of either a 'X-Amz-Date' or a 'Date' header.")]
    MissingDate,
    /// The request date cannot be parsed (`yyyymmddThhmmssZ` for `X-Amz-Date`, RFC 1123 for
    /// `Date`).
    #[error("The request date '{value}' is not a valid ISO 8601 basic (or RFC 1123) timestamp.")]
    MalformedDate {
        /// The value received (truncated to 64 characters).
        value: String,
    },
    /// The scope date differs from the date part of the request time.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '{scope_date}' != '{request_date}'."
    )]
    ScopeDateMismatch {
        /// The date in the credential scope.
        scope_date: String,
        /// The date of the request time, `yyyymmdd`.
        request_date: String,
    },
    /// `host` is not among the signed headers.
    #[error("'Host' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// A presigned URL's `X-Amz-Expires` is not a whole number of seconds in 1..=604800.
    #[error(
        "X-Amz-Expires must be a number of seconds from 1 to 604800 (one week), not '{value}'."
    )]
    InvalidExpires {
        /// The value received (truncated to 64 characters).
        value: String,
    },
    /// The request carries both an `Authorization` header and presigned query parameters.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the \
         Authorization header should be specified."
    )]
    ConflictingAuth,
    /// A header-signed request is more than 15 minutes older than the server clock.
    #[error(
        "Signature expired: {} is now earlier than {} ({} - 15 min.)",
        amz(.request_time), amz_shifted(.now, -1), amz(.now)
    )]
    SignatureExpired {
        /// The request time the client signed.
        request_time: OffsetDateTime,
        /// The server time.
        now: OffsetDateTime,
    },
    /// A request (header-signed or presigned) is dated more than 15 minutes in the future.
    #[error(
        "Signature not yet current: {} is still later than {} ({} + 15 min.)",
        amz(.request_time), amz_shifted(.now, 1), amz(.now)
    )]
    SignatureNotYetCurrent {
        /// The request time the client signed.
        request_time: OffsetDateTime,
        /// The server time.
        now: OffsetDateTime,
    },
    /// A presigned URL is used after `X-Amz-Date + X-Amz-Expires`.
    #[error("Request has expired: the presigned URL was valid until {}.", amz(.valid_until))]
    PresignedUrlExpired {
        /// The last instant the URL was valid.
        valid_until: OffsetDateTime,
    },
    /// A header listed in `SignedHeaders` is not present in the request (for `host` on
    /// HTTP/2: the URI has no authority either).
    #[error("The header '{name}' is listed in SignedHeaders but is not present in the request.")]
    SignedHeaderMissing {
        /// The lower-case header name.
        name: String,
    },
    /// `X-Amz-Content-Sha256` is present but is not the lower-case hex SHA-256 of the body
    /// (this includes `UNSIGNED-PAYLOAD`: these services require the body to be signed).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
    /// The request cannot be handed to the signer: a signed header value is not UTF-8 or not a
    /// valid header value, or the method or path is unusable.
    #[error("The request cannot be canonicalised for SigV4: {reason}.")]
    Unsignable {
        /// What the signer rejected.
        reason: String,
    },
    /// The signature we computed with the stored secret differs from the one the client sent.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method."
    )]
    SignatureMismatch,
}

impl SigV4Error {
    /// The AWS Query-protocol error code for this error.
    ///
    /// All of them are client errors (HTTP 400 for `IncompleteSignature`, 403 for the rest).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedAlgorithm { .. }
            | Self::MissingParameter { .. }
            | Self::MalformedParameter { .. }
            | Self::MalformedCredential { .. }
            | Self::BadScopeTerminator { .. }
            | Self::MissingDate
            | Self::MalformedDate { .. }
            | Self::ScopeDateMismatch { .. }
            | Self::HostNotSigned
            | Self::InvalidExpires { .. }
            | Self::ConflictingAuth => "IncompleteSignature",
            Self::SignatureExpired { .. }
            | Self::SignatureNotYetCurrent { .. }
            | Self::PresignedUrlExpired { .. } => "RequestExpired",
            Self::SignedHeaderMissing { .. }
            | Self::PayloadHashMismatch
            | Self::Unsignable { .. }
            | Self::SignatureMismatch => "SignatureDoesNotMatch",
        }
    }
}

/// Formats a time as SigV4 does, `yyyymmddThhmmssZ`, in UTC.
pub(crate) fn amz(t: &OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_else(|_| String::from("(unrepresentable time)"))
}

/// Formats `t` moved by the allowed clock skew, earlier (`direction < 0`) or later.
fn amz_shifted(t: &OffsetDateTime, direction: i8) -> String {
    let skew = crate::sigv4::skew::MAX_SKEW;
    let shifted = if direction < 0 {
        t.checked_sub(skew)
    } else {
        t.checked_add(skew)
    };
    shifted.map_or_else(|| amz(t), |s| amz(&s))
}

/// Cuts client-supplied text that is echoed in an error to at most 64 characters.
pub(crate) fn clip(value: &str) -> String {
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expired_message_names_the_window() {
        let e = SigV4Error::SignatureExpired {
            request_time: datetime!(2026-11-29 12:00:00 UTC),
            now: datetime!(2026-11-29 12:30:00 UTC),
        };
        assert_eq!(
            e.to_string(),
            "Signature expired: 20261129T120000Z is now earlier than 20261129T121500Z \
             (20261129T123000Z - 15 min.)"
        );
        assert_eq!(e.code(), "RequestExpired");
    }

    #[test]
    fn codes_follow_the_aws_split() {
        assert_eq!(SigV4Error::HostNotSigned.code(), "IncompleteSignature");
        assert_eq!(SigV4Error::MissingDate.code(), "IncompleteSignature");
        assert_eq!(
            SigV4Error::SignatureMismatch.code(),
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            SigV4Error::PayloadHashMismatch.code(),
            "SignatureDoesNotMatch"
        );
        let expired = SigV4Error::PresignedUrlExpired {
            valid_until: datetime!(2026-11-29 12:05:00 UTC),
        };
        assert_eq!(expired.code(), "RequestExpired");
        assert!(expired.to_string().starts_with("Request has expired"));
    }

    #[test]
    fn clip_bounds_echoed_text() {
        assert_eq!(clip(&"x".repeat(500)).len(), 64);
        assert_eq!(amz(&datetime!(2026-11-29 13:00:00 +1)), "20261129T120000Z");
    }
}
