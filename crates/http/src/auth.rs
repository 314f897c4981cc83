//! Authentication: SigV4-signed requests and mTLS client certificates become a [`Caller`].
//!
//! The listener owns the protocol checks (parse, skew, signature, session token, expiry);
//! an [`Authenticator`] (the IAM service) owns the look-ups. Every failure is an
//! [`AuthFailure`], rendered with the code an AWS client expects for the protocol in use.

use http::StatusCode;
use portcullis_common::Secret;
use portcullis_common::audit::UserIdentity;
use portcullis_iam::policy::{Principal, PrincipalKind};
use portcullis_iam::sigv4::{self, ParsedAuth, SignedRequest};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{AwsError, Protocol};

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// A long-term access key.
    AccessKey,
    /// Temporary credentials from STS, with a session token.
    SessionToken,
    /// A client certificate from the built-in CA.
    ClientCertificate,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal, for policy evaluation.
    pub principal: Principal,
    /// The access key the request was signed with, if any.
    pub access_key_id: Option<String>,
    /// How the caller authenticated.
    pub source: CredentialSource,
    /// For assumed roles, the `sessionContext` recorded in the audit trail.
    pub session_context: Option<Value>,
}

impl Caller {
    /// The `userIdentity` block of a CloudTrail record.
    pub fn user_identity(&self) -> UserIdentity {
        let p = &self.principal;
        let identity_type = match p.kind {
            PrincipalKind::Root => "Root",
            PrincipalKind::User => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
        };
        UserIdentity {
            identity_type: identity_type.into(),
            principal_id: Some(p.user_id.clone()),
            arn: Some(p.arn.clone()),
            account_id: Some(p.account.clone()),
            access_key_id: self.access_key_id.clone(),
            user_name: p.user_name.clone(),
            session_context: self.session_context.clone(),
        }
    }
}

/// What the authenticator knows about an access key.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The secret access key.
    pub secret: Secret<String>,
    /// For temporary credentials, the session token the request must present.
    pub session_token: Option<Secret<String>>,
    /// For temporary credentials, when they stop working.
    pub expires_at: Option<OffsetDateTime>,
    /// False for a deactivated key.
    pub active: bool,
    /// Who signs with this key.
    pub caller: Caller,
}

/// Look-ups the listener needs to authenticate requests.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The credentials for an access key id (long-term or temporary), or `None`.
    async fn credentials(&self, access_key_id: &str) -> Result<Option<Credentials>, AwsError>;
    /// The caller a client certificate's principal ARN stands for, or `None`.
    async fn caller_for_principal(&self, arn: &str) -> Result<Option<Caller>, AwsError>;
    /// Notes that a key was used (for `GetAccessKeyLastUsed`); best effort.
    async fn key_used(
        &self,
        _access_key_id: &str,
        _service: &str,
        _region: &str,
        _at: OffsetDateTime,
    ) {
    }
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No SigV4 credentials and no mapped client certificate.
    Missing,
    /// SigV4 credentials present but malformed.
    Incomplete(String),
    /// The signature does not match the request.
    SignatureMismatch,
    /// The signing time is outside the allowed skew, or a presigned URL has expired.
    RequestExpired(String),
    /// The access key id is unknown or the key is deactivated.
    InvalidKey,
    /// Temporary credentials whose session token is missing or wrong.
    InvalidToken,
    /// Temporary credentials past their expiry.
    ExpiredToken,
}

impl AuthFailure {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Incomplete(_) => "incomplete",
            AuthFailure::SignatureMismatch => "signature_mismatch",
            AuthFailure::RequestExpired(_) => "request_expired",
            AuthFailure::InvalidKey => "invalid_key",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::ExpiredToken => "expired_token",
        }
    }

    /// The error a client of the given protocol expects.
    pub fn to_error(&self, protocol: Protocol) -> AwsError {
        let json = protocol.is_json();
        let (status, query_code, json_code, message) = match self {
            AuthFailure::Missing => (
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "MissingAuthenticationTokenException",
                "Request is missing Authentication Token".to_owned(),
            ),
            AuthFailure::Incomplete(m) => {
                (StatusCode::BAD_REQUEST, "IncompleteSignature", "IncompleteSignatureException", m.clone())
            }
            AuthFailure::SignatureMismatch => (
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
                    .to_owned(),
            ),
            AuthFailure::RequestExpired(m) => {
                (StatusCode::BAD_REQUEST, "RequestExpired", "InvalidSignatureException", m.clone())
            }
            AuthFailure::InvalidKey | AuthFailure::InvalidToken => (
                StatusCode::FORBIDDEN,
                "InvalidClientTokenId",
                "UnrecognizedClientException",
                "The security token included in the request is invalid.".to_owned(),
            ),
            AuthFailure::ExpiredToken => (
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "ExpiredTokenException",
                "The security token included in the request is expired".to_owned(),
            ),
        };
        let status = if json {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        AwsError::client(status, if json { json_code } else { query_code }, message)
    }
}

/// Verifies a parsed SigV4 request against the authenticator's records.
pub async fn authenticate_sigv4(
    authn: &dyn Authenticator,
    req: &SignedRequest<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
    max_skew: time::Duration,
) -> Result<Caller, AuthFailure> {
    // Cheap checks first: skew is judged before any look-up or crypto.
    if let Err(e) = sigv4::check_time(parsed, now) {
        return Err(AuthFailure::RequestExpired(e.to_string()));
    }
    if parsed.expires.is_none() && (parsed.request_time - now).abs() > max_skew {
        return Err(AuthFailure::RequestExpired(format!(
            "Signature expired: the request time is more than {} minutes from the server time.",
            max_skew.whole_minutes()
        )));
    }
    let creds = match authn.credentials(&parsed.access_key_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(AuthFailure::InvalidKey),
        Err(e) => {
            tracing::error!(error = %e, "credential look-up failed");
            return Err(AuthFailure::InvalidKey);
        }
    };
    if !creds.active {
        return Err(AuthFailure::InvalidKey);
    }
    // The signature proves possession of the secret; only then do token and expiry matter,
    // so that an attacker without the secret learns nothing about the key's state.
    sigv4::verify(req, parsed, creds.secret.expose()).map_err(|e| match e.code() {
        "SignatureDoesNotMatch" => AuthFailure::SignatureMismatch,
        "RequestExpired" => AuthFailure::RequestExpired(e.to_string()),
        _ => AuthFailure::Incomplete(e.to_string()),
    })?;
    if let Some(expected) = &creds.session_token {
        let presented = parsed.session_token.as_deref().unwrap_or("");
        if !portcullis_common::constant_time_eq(presented.as_bytes(), expected.expose().as_bytes())
        {
            return Err(AuthFailure::InvalidToken);
        }
        if creds.expires_at.is_some_and(|t| t <= now) {
            return Err(AuthFailure::ExpiredToken);
        }
    } else if parsed.session_token.is_some() {
        return Err(AuthFailure::InvalidToken);
    }
    Ok(creds.caller)
}
