//! IAM and STS errors, rendered with the codes and statuses AWS uses.

use http::StatusCode;
use portcullis_http::AwsError;
use portcullis_store::StoreError;

/// Everything an IAM or STS operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IamError {
    /// The named user, role, policy or key does not exist (404 `NoSuchEntity`).
    #[error("{0}")]
    NoSuchEntity(String),
    /// An entity with that name already exists (409 `EntityAlreadyExists`).
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// The policy document is not valid policy language (400 `MalformedPolicyDocument`).
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// A quota such as two access keys per user (409 `LimitExceeded`).
    #[error("{0}")]
    LimitExceeded(String),
    /// The entity still has dependents (409 `DeleteConflict`).
    #[error("{0}")]
    DeleteConflict(String),
    /// A parameter is missing or breaks a constraint (400 `ValidationError`).
    #[error("{0}")]
    Validation(String),
    /// A parameter value is not acceptable (400 `InvalidInput`).
    #[error("{0}")]
    InvalidInput(String),
    /// The caller is not allowed to do this (403 `AccessDenied`).
    #[error("{0}")]
    AccessDenied(String),
    /// Another request changed the entity at the same time (409 `ConcurrentModification`).
    #[error("{0}")]
    ConcurrentModification(String),
    /// The request names no operation this service has (400 `InvalidAction`).
    #[error("{0}")]
    InvalidAction(String),
    /// The store failed; the client gets a generic 500.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored secret did not open or a stored record did not decode; a generic 500.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<IamError> for AwsError {
    fn from(e: IamError) -> AwsError {
        let (status, code) = match &e {
            IamError::NoSuchEntity(_) => (StatusCode::NOT_FOUND, "NoSuchEntity"),
            IamError::EntityAlreadyExists(_) => (StatusCode::CONFLICT, "EntityAlreadyExists"),
            IamError::MalformedPolicyDocument(_) => {
                (StatusCode::BAD_REQUEST, "MalformedPolicyDocument")
            }
            IamError::LimitExceeded(_) => (StatusCode::CONFLICT, "LimitExceeded"),
            IamError::DeleteConflict(_) => (StatusCode::CONFLICT, "DeleteConflict"),
            IamError::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationError"),
            IamError::InvalidInput(_) => (StatusCode::BAD_REQUEST, "InvalidInput"),
            IamError::AccessDenied(_) => (StatusCode::FORBIDDEN, "AccessDenied"),
            IamError::ConcurrentModification(_) => (StatusCode::CONFLICT, "ConcurrentModification"),
            IamError::InvalidAction(_) => (StatusCode::BAD_REQUEST, "InvalidAction"),
            IamError::Store(StoreError::ConditionFailed { .. }) => {
                (StatusCode::CONFLICT, "ConcurrentModification")
            }
            IamError::Store(err) => {
                tracing::error!(error = %err, "store failure");
                return AwsError::unavailable();
            }
            IamError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                return AwsError::internal();
            }
        };
        AwsError::client(status, code, e.to_string())
    }
}

/// Shorthand.
pub type Result<T, E = IamError> = std::result::Result<T, E>;
