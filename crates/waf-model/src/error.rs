//! The crate's error type.

use crate::validate::ValidationError;

/// Why a document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The document is not JSON, or a member has the wrong JSON type, a required member is missing, or a
    /// blob is not base64. AWS answers these with `SerializationException` (the request cannot be decoded).
    #[error("{message}")]
    Serialization {
        /// serde_json's description, with line and column.
        message: String,
    },
    /// The document decodes but breaks a rule AWS checks while decoding: a union with none or several
    /// members, or an enum value outside the model. AWS answers with `WAFInvalidParameterException`.
    #[error("{0}")]
    Invalid(ValidationError),
    /// A `RuleGroupReferenceStatement` names a rule group the capacity resolver does not know. AWS answers
    /// with `WAFNonexistentItemException`.
    #[error("rule group {arn} does not exist")]
    UnknownRuleGroup {
        /// The referenced ARN.
        arn: String,
    },
    /// A `ManagedRuleGroupStatement` names a group the capacity resolver does not know
    /// (`WAFNonexistentItemException`).
    #[error("managed rule group {vendor}/{name} does not exist")]
    UnknownManagedRuleGroup {
        /// `VendorName`.
        vendor: String,
        /// `Name`.
        name: String,
    },
    /// A per-document quota is exceeded (custom response bodies, inserted headers, IP set size, ...). AWS
    /// answers with `WAFLimitsExceededException`.
    #[error("limit exceeded: {limit_name} allows {limit}, got {actual}")]
    LimitExceeded {
        /// The member the quota applies to.
        limit_name: &'static str,
        /// The quota.
        limit: usize,
        /// The count found.
        actual: usize,
    },
    /// The document is larger than [`crate::MAX_DOCUMENT_BYTES`].
    #[error("document of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The document's size.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl ModelError {
    /// The AWS exception (`__type`) the API answers this error with.
    pub fn aws_error_type(&self) -> &'static str {
        match self {
            ModelError::Serialization { .. } => "SerializationException",
            ModelError::Invalid(_) => "WAFInvalidParameterException",
            ModelError::UnknownRuleGroup { .. } | ModelError::UnknownManagedRuleGroup { .. } => {
                "WAFNonexistentItemException"
            }
            ModelError::LimitExceeded { .. } | ModelError::TooLarge { .. } => {
                "WAFLimitsExceededException"
            }
        }
    }

    /// The JSON error body: `{"__type", "Message"}`, or for `WAFInvalidParameterException` the members of
    /// [`ValidationError::to_json`].
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ModelError::Invalid(v) => v.to_json(),
            other => serde_json::json!({
                "__type": other.aws_error_type(),
                "Message": other.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::ParameterExceptionField;

    #[test]
    fn exception_types_and_bodies() {
        let invalid = ModelError::Invalid(ValidationError::new(
            ParameterExceptionField::Statement,
            "Statement",
            "r",
        ));
        assert_eq!(invalid.aws_error_type(), "WAFInvalidParameterException");
        assert_eq!(invalid.to_json()["Field"], "STATEMENT");
        let missing = ModelError::UnknownRuleGroup { arn: "a".into() };
        assert_eq!(missing.aws_error_type(), "WAFNonexistentItemException");
        assert_eq!(
            missing.to_json(),
            serde_json::json!({"__type": "WAFNonexistentItemException", "Message": "rule group a does not exist"})
        );
        let bad = ModelError::Serialization {
            message: "x".into(),
        };
        assert_eq!(bad.to_json()["__type"], "SerializationException");
    }
}
