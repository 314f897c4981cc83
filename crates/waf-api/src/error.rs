//! WAFv2 errors, named and rendered as AWS WAFv2 names them.

use http::StatusCode;
use portcullis_http::AwsError;
use portcullis_store::StoreError;
use portcullis_waf_model::{ModelError, ParameterExceptionField, ValidationError};

/// Everything a WAFv2 operation can fail with. The variant picks the AWS exception name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WafError {
    /// A parameter is not valid (`WAFInvalidParameterException`, with `Field`, `Parameter`,
    /// `Reason`).
    #[error("{0}")]
    InvalidParameter(ValidationError),
    /// The body is not JSON of the right shape (`SerializationException`).
    #[error("{0}")]
    Serialization(String),
    /// The named resource does not exist (`WAFNonexistentItemException`).
    #[error("{0}")]
    Nonexistent(String),
    /// A resource of that name already exists in the scope (`WAFDuplicateItemException`).
    #[error("{0}")]
    Duplicate(String),
    /// The lock token is not the resource's current one (`WAFOptimisticLockException`).
    #[error("{0}")]
    OptimisticLock(String),
    /// The resource is in use: associated, or referenced by another (`WAFAssociatedItemException`).
    #[error("{0}")]
    Associated(String),
    /// A quota or the capacity limit is exceeded (`WAFLimitsExceededException`).
    #[error("{0}")]
    LimitsExceeded(String),
    /// The operation is not valid for this resource (`WAFInvalidOperationException`).
    #[error("{0}")]
    InvalidOperation(String),
    /// The rate-based rule does not aggregate on the IP address alone
    /// (`WAFUnsupportedAggregateKeyTypeException`).
    #[error("{0}")]
    UnsupportedAggregateKeyType(String),
    /// The caller may not do this (`AccessDeniedException`).
    #[error("{0}")]
    AccessDenied(String),
    /// The operation is not a WAFv2 operation (`UnknownOperationException`).
    #[error("{0}")]
    UnknownOperation(String),
    /// The store failed (or a write lost a race and ran out of retries).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An internal invariant failed (500 `WAFInternalErrorException`, generic message).
    #[error("internal: {0}")]
    Internal(String),
}

impl WafError {
    /// `WAFInvalidParameterException` for `field`, `parameter`, `reason`.
    pub fn invalid(
        field: ParameterExceptionField,
        parameter: impl Into<String>,
        reason: &str,
    ) -> WafError {
        WafError::InvalidParameter(ValidationError::new(field, parameter, reason))
    }

    /// The AWS exception name.
    pub fn code(&self) -> &'static str {
        match self {
            WafError::InvalidParameter(_) => "WAFInvalidParameterException",
            WafError::Serialization(_) => "SerializationException",
            WafError::Nonexistent(_) => "WAFNonexistentItemException",
            WafError::Duplicate(_) => "WAFDuplicateItemException",
            WafError::OptimisticLock(_) => "WAFOptimisticLockException",
            WafError::Associated(_) => "WAFAssociatedItemException",
            WafError::LimitsExceeded(_) => "WAFLimitsExceededException",
            WafError::InvalidOperation(_) => "WAFInvalidOperationException",
            WafError::UnsupportedAggregateKeyType(_) => "WAFUnsupportedAggregateKeyTypeException",
            WafError::AccessDenied(_) => "AccessDeniedException",
            WafError::UnknownOperation(_) => "UnknownOperationException",
            WafError::Store(_) => "WAFUnavailableEntityException",
            WafError::Internal(_) => "WAFInternalErrorException",
        }
    }
}

impl From<ModelError> for WafError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Invalid(v) => WafError::InvalidParameter(v),
            ModelError::Serialization { message } => WafError::Serialization(message),
            ModelError::UnknownRuleGroup { arn } => WafError::Nonexistent(format!(
                "WAF couldn't perform the operation because your resource doesn't exist: rule group {arn}."
            )),
            ModelError::UnknownManagedRuleGroup { vendor, name } => WafError::Nonexistent(format!(
                "WAF couldn't perform the operation because your resource doesn't exist: managed rule group {vendor}/{name}."
            )),
            other @ (ModelError::LimitExceeded { .. } | ModelError::TooLarge { .. }) => {
                WafError::LimitsExceeded(other.to_string())
            }
            other => WafError::Internal(other.to_string()),
        }
    }
}

impl From<WafError> for AwsError {
    fn from(e: WafError) -> AwsError {
        let code = e.code();
        match e {
            WafError::Store(StoreError::ConditionFailed { .. }) => AwsError {
                status: StatusCode::BAD_REQUEST,
                code: "WAFOptimisticLockException".into(),
                message: "WAF couldn't save your changes because another request changed the resource at the same time. Get it again and retry.".into(),
                sender_fault: true,
                members: Default::default(),
            },
            WafError::Store(err) => {
                tracing::error!(error = %err, "store failure");
                AwsError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "WAFUnavailableEntityException".into(),
                    message: "WAF couldn't retrieve the resource; retry the operation.".into(),
                    sender_fault: false,
                    members: Default::default(),
                }
            }
            WafError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                AwsError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: code.into(),
                    message: "Your request is valid, but WAF couldn't perform the operation because of a system problem. Retry your request.".into(),
                    sender_fault: false,
                    members: Default::default(),
                }
            }
            WafError::InvalidParameter(v) => {
                let message = WafError::InvalidParameter(v.clone()).to_string();
                AwsError::bad_request(code, message)
                    .with_member("Field", v.field.as_str())
                    .with_member("Parameter", v.parameter)
                    .with_member("Reason", v.reason)
            }
            other => AwsError::bad_request(code, other.to_string()),
        }
    }
}

/// Shorthand.
pub type Result<T, E = WafError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_parameter_message_names_field_parameter_and_reason() {
        let e = WafError::invalid(ParameterExceptionField::ResourceArn, "arn:x", "bad");
        let aws = AwsError::from(e);
        assert_eq!(aws.code, "WAFInvalidParameterException");
        assert_eq!(aws.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            aws.message,
            "Error reason: bad, field: RESOURCE_ARN, parameter: arn:x"
        );
        assert_eq!(aws.members["Field"], "RESOURCE_ARN");
        assert_eq!(aws.members["Parameter"], "arn:x");
        assert_eq!(aws.members["Reason"], "bad");
        let lost = WafError::Store(StoreError::ConditionFailed {
            collection: "c".into(),
            key: "k".into(),
        });
        assert_eq!(AwsError::from(lost).code, "WAFOptimisticLockException");
    }
}
