//! Inspector2 errors, named and rendered as the API model names them.

use http::StatusCode;
use portcullis_http::AwsError;
use portcullis_store::StoreError;
use serde_json::json;

/// Everything an Inspector2 operation can fail with. The variant picks the exception name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectorApiError {
    /// A member is missing, malformed or out of range (`ValidationException`, 400, with
    /// `reason` and the offending `fields`).
    #[error("{message}")]
    Validation {
        /// Human-readable text.
        message: String,
        /// `CANNOT_PARSE` (the body is not JSON), `FIELD_VALIDATION_FAILED` or `OTHER`.
        reason: &'static str,
        /// `(member name, message)` of each failing member.
        fields: Vec<(String, String)>,
    },
    /// The request is well formed but cannot be done (`BadRequestException`, 400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this (`AccessDeniedException`, 403).
    #[error("{0}")]
    AccessDenied(String),
    /// The named filter, export or finding does not exist (`ResourceNotFoundException`, 404).
    #[error("{0}")]
    ResourceNotFound(String),
    /// The request conflicts with the stored state, e.g. an agent's delta whose base is not
    /// the acknowledged sequence (`ConflictException`, 409).
    #[error("{message}")]
    Conflict {
        /// Human-readable text.
        message: String,
        /// The conflicting resource.
        resource_id: String,
        /// Its type (`AGENT_INVENTORY`, `FILTER`).
        resource_type: &'static str,
    },
    /// A quota is reached (`ServiceQuotaExceededException`, 402).
    #[error("{message}")]
    QuotaExceeded {
        /// Human-readable text.
        message: String,
        /// The resource whose quota is reached.
        resource_id: String,
    },
    /// A decoded (gunzipped) body is larger than the operation accepts
    /// (`RequestEntityTooLarge`, 413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// No Inspector2 operation has this method and path (`ValidationException`, 400).
    #[error("{0}")]
    UnknownOperation(String),
    /// A network description file (`inspector network import`, `[inspector] network_files`)
    /// cannot be read or is not a description (`ValidationException`, 400, should it ever
    /// reach a response).
    #[error("{path}: {message}")]
    NetworkFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The store failed (`InternalServerException`, 500; a lost write race is retried first).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An internal invariant or a file write failed (`InternalServerException`, 500, generic
    /// message; the detail goes to the log).
    #[error("internal: {0}")]
    Internal(String),
}

impl InspectorApiError {
    /// A `ValidationException` for one member.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        InspectorApiError::Validation {
            message: format!("{name}: {message}"),
            reason: "FIELD_VALIDATION_FAILED",
            fields: vec![(name.to_owned(), message)],
        }
    }

    /// A `ValidationException` for a body that does not parse.
    pub fn cannot_parse(message: impl Into<String>) -> Self {
        InspectorApiError::Validation {
            message: message.into(),
            reason: "CANNOT_PARSE",
            fields: Vec::new(),
        }
    }

    /// The exception name.
    pub fn code(&self) -> &'static str {
        match self {
            InspectorApiError::Validation { .. }
            | InspectorApiError::UnknownOperation(_)
            | InspectorApiError::NetworkFile { .. } => "ValidationException",
            InspectorApiError::BadRequest(_) => "BadRequestException",
            InspectorApiError::PayloadTooLarge(_) => "RequestEntityTooLarge",
            InspectorApiError::AccessDenied(_) => "AccessDeniedException",
            InspectorApiError::ResourceNotFound(_) => "ResourceNotFoundException",
            InspectorApiError::Conflict { .. } => "ConflictException",
            InspectorApiError::QuotaExceeded { .. } => "ServiceQuotaExceededException",
            InspectorApiError::Store(_) | InspectorApiError::Internal(_) => {
                "InternalServerException"
            }
        }
    }
}

impl From<InspectorApiError> for AwsError {
    fn from(e: InspectorApiError) -> AwsError {
        let code = e.code();
        match e {
            InspectorApiError::Store(err) => {
                tracing::error!(error = %err, "store failure");
                internal(code)
            }
            InspectorApiError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                internal(code)
            }
            InspectorApiError::Validation {
                message,
                reason,
                fields,
            } => {
                let fields: Vec<_> = fields
                    .into_iter()
                    .map(|(name, message)| json!({"name": name, "message": message}))
                    .collect();
                let mut err = AwsError::bad_request(code, message).with_member("reason", reason);
                if !fields.is_empty() {
                    err = err.with_member("fields", fields);
                }
                err
            }
            InspectorApiError::UnknownOperation(m) => {
                AwsError::bad_request(code, m).with_member("reason", "OTHER")
            }
            e @ InspectorApiError::NetworkFile { .. } => {
                AwsError::bad_request(code, e.to_string()).with_member("reason", "OTHER")
            }
            InspectorApiError::BadRequest(m) => AwsError::bad_request(code, m),
            InspectorApiError::PayloadTooLarge(m) => {
                AwsError::client(StatusCode::PAYLOAD_TOO_LARGE, code, m)
            }
            InspectorApiError::AccessDenied(m) => AwsError::client(StatusCode::FORBIDDEN, code, m),
            InspectorApiError::ResourceNotFound(m) => {
                AwsError::client(StatusCode::NOT_FOUND, code, m)
            }
            InspectorApiError::Conflict {
                message,
                resource_id,
                resource_type,
            } => AwsError::client(StatusCode::CONFLICT, code, message)
                .with_member("resourceId", resource_id)
                .with_member("resourceType", resource_type),
            InspectorApiError::QuotaExceeded {
                message,
                resource_id,
            } => AwsError::client(StatusCode::PAYMENT_REQUIRED, code, message)
                .with_member("resourceId", resource_id),
        }
    }
}

fn internal(code: &str) -> AwsError {
    AwsError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: code.into(),
        message: "The request failed because of an internal error; retry it.".into(),
        sender_fault: false,
        members: Default::default(),
    }
}

/// Shorthand.
pub type Result<T, E = InspectorApiError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_members() {
        let v = AwsError::from(InspectorApiError::field("maxResults", "must be 1 to 100"));
        assert_eq!(
            (v.status, v.code.as_str()),
            (StatusCode::BAD_REQUEST, "ValidationException")
        );
        assert_eq!(v.members["reason"], "FIELD_VALIDATION_FAILED");
        assert_eq!(v.members["fields"][0]["name"], "maxResults");
        let c = AwsError::from(InspectorApiError::Conflict {
            message: "m".into(),
            resource_id: "agent-1".into(),
            resource_type: "AGENT_INVENTORY",
        });
        assert_eq!(c.status, StatusCode::CONFLICT);
        assert_eq!(c.members["resourceId"], "agent-1");
        let n = AwsError::from(InspectorApiError::ResourceNotFound("x".into()));
        assert_eq!(
            (n.status, n.code.as_str()),
            (StatusCode::NOT_FOUND, "ResourceNotFoundException")
        );
        let i = AwsError::from(InspectorApiError::Internal("secret path".into()));
        assert_eq!(i.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!i.message.contains("secret"));
    }
}
