//! GuardDuty errors, named and rendered as GuardDuty names them.

use http::StatusCode;
use portcullis_http::AwsError;
use portcullis_store::StoreError;

/// Everything a GuardDuty operation can fail with. The variant picks the AWS exception name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardApiError {
    /// The input is not valid, names a resource that does not exist, or breaks a rule
    /// (`BadRequestException`, 400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this (`AccessDeniedException`, 403).
    #[error("{0}")]
    AccessDenied(String),
    /// No GuardDuty operation has this method and path (`BadRequestException`, 400).
    #[error("{0}")]
    UnknownOperation(String),
    /// The request conflicts with what was stored before, e.g. a `PutEvents` batch ID reused
    /// for a different body (`ConflictException`, 409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed (`InternalServerErrorException`, 500; a lost write race is retried first).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An internal invariant failed (`InternalServerErrorException`, 500, generic message).
    #[error("internal: {0}")]
    Internal(String),
}

impl GuardApiError {
    /// `BadRequestException` with GuardDuty's generic invalid-input message and a detail.
    pub fn invalid(detail: impl std::fmt::Display) -> Self {
        GuardApiError::BadRequest(format!(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: {detail}"
        ))
    }

    /// The AWS exception name.
    pub fn code(&self) -> &'static str {
        match self {
            GuardApiError::BadRequest(_) | GuardApiError::UnknownOperation(_) => {
                "BadRequestException"
            }
            GuardApiError::AccessDenied(_) => "AccessDeniedException",
            GuardApiError::Conflict(_) => "ConflictException",
            GuardApiError::Store(_) | GuardApiError::Internal(_) => "InternalServerErrorException",
        }
    }
}

impl From<GuardApiError> for AwsError {
    fn from(e: GuardApiError) -> AwsError {
        let code = e.code();
        match e {
            GuardApiError::Store(err) => {
                tracing::error!(error = %err, "store failure");
                AwsError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: code.into(),
                    message: "The request is rejected because an internal server error occurred; retry it.".into(),
                    sender_fault: false,
                    members: Default::default(),
                }
                .with_member("type", "InternalException")
            }
            GuardApiError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                AwsError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: code.into(),
                    message: "The request is rejected because an internal server error occurred; retry it.".into(),
                    sender_fault: false,
                    members: Default::default(),
                }
                .with_member("type", "InternalException")
            }
            GuardApiError::AccessDenied(m) => {
                AwsError::client(StatusCode::FORBIDDEN, code, m).with_member("type", "AccessDenied")
            }
            GuardApiError::Conflict(m) => {
                AwsError::client(StatusCode::CONFLICT, code, m).with_member("type", "Conflict")
            }
            other => AwsError::bad_request(code, other.to_string())
                .with_member("type", "InvalidInputException"),
        }
    }
}

/// Shorthand.
pub type Result<T, E = GuardApiError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let bad = AwsError::from(GuardApiError::invalid("x"));
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.code, "BadRequestException");
        assert!(bad.message.ends_with(": x"));
        let denied = AwsError::from(GuardApiError::AccessDenied("no".into()));
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert_eq!(denied.code, "AccessDeniedException");
        let internal = AwsError::from(GuardApiError::Internal("secret detail".into()));
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.message.contains("secret"));
        let conflict = AwsError::from(GuardApiError::Conflict("reused".into()));
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        assert_eq!(conflict.code, "ConflictException");
        assert_eq!(conflict.message, "reused");
    }
}
