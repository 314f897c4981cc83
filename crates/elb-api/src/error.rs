//! The one error type of the ELBv2 API; each variant renders as the AWS error code the elbv2 model names.

use http::StatusCode;
use portcullis_http::AwsError;
use portcullis_store::StoreError;

/// Everything an ELBv2 operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ElbError {
    /// A parameter is missing, malformed or out of range (`ValidationError`).
    #[error("{0}")]
    Validation(String),
    /// The caller's policies do not allow the action (`AccessDenied`, 403).
    #[error("{0}")]
    AccessDenied(String),
    /// The request names no operation this service has (`InvalidAction`).
    #[error("{0}")]
    InvalidAction(String),
    /// A load balancer named by ARN or name does not exist (`LoadBalancerNotFound`).
    #[error("{0}")]
    LoadBalancerNotFound(String),
    /// A target group named by ARN or name does not exist (`TargetGroupNotFound`).
    #[error("{0}")]
    TargetGroupNotFound(String),
    /// A listener named by ARN does not exist (`ListenerNotFound`).
    #[error("{0}")]
    ListenerNotFound(String),
    /// A rule named by ARN does not exist (`RuleNotFound`).
    #[error("{0}")]
    RuleNotFound(String),
    /// Another load balancer of the account and region has the name (`DuplicateLoadBalancerName`).
    #[error("{0}")]
    DuplicateLoadBalancerName(String),
    /// Another target group of the account and region has the name (`DuplicateTargetGroupName`).
    #[error("{0}")]
    DuplicateTargetGroupName(String),
    /// The load balancer already has a listener on the port, or another load balancer served by these
    /// nodes does (`DuplicateListener`).
    #[error("{0}")]
    DuplicateListener(String),
    /// A tag key is given twice (`DuplicateTagKeys`).
    #[error("{0}")]
    DuplicateTagKeys(String),
    /// More than 50 tags on one resource (`TooManyTags`).
    #[error("{0}")]
    TooManyTags(String),
    /// A limit on load balancers, target groups, listeners, rules or targets was reached
    /// (`TooManyLoadBalancers`, `TooManyTargetGroups`, `TooManyListeners`, `TooManyRules`, `TooManyTargets`).
    #[error("{message}")]
    TooMany {
        /// The AWS error code.
        code: &'static str,
        /// The message.
        message: String,
    },
    /// The resource is used by another (a target group a listener forwards to) (`ResourceInUse`).
    #[error("{0}")]
    ResourceInUse(String),
    /// The request is valid in shape but not something Portcullis can configure (`InvalidConfigurationRequest`).
    #[error("{0}")]
    InvalidConfiguration(String),
    /// A target is not an IP address, or is not registered (`InvalidTarget`).
    #[error("{0}")]
    InvalidTarget(String),
    /// Another rule of the listener has the priority (`PriorityInUse`).
    #[error("{0}")]
    PriorityInUse(String),
    /// The operation is not allowed on this resource (deleting a default rule) (`OperationNotPermitted`).
    #[error("{0}")]
    OperationNotPermitted(String),
    /// A protocol other than HTTP or HTTPS (`UnsupportedProtocol`).
    #[error("{0}")]
    UnsupportedProtocol(String),
    /// A certificate ARN that is not the built-in CA's (`CertificateNotFound`).
    #[error("{0}")]
    CertificateNotFound(String),
    /// An action that is malformed or not supported (`InvalidLoadBalancerAction`).
    #[error("{0}")]
    InvalidLbAction(String),
    /// A load balancer scheme other than `internet-facing` or `internal` (`InvalidScheme`).
    #[error("{0}")]
    InvalidScheme(String),
    /// The store failed (or a write lost a race more often than it is retried).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document does not decode, or another fault that is ours; details go to the log only.
    #[error("{0}")]
    Internal(String),
}

impl ElbError {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            ElbError::Validation(_) => "ValidationError",
            ElbError::AccessDenied(_) => "AccessDenied",
            ElbError::InvalidAction(_) => "InvalidAction",
            ElbError::LoadBalancerNotFound(_) => "LoadBalancerNotFound",
            ElbError::TargetGroupNotFound(_) => "TargetGroupNotFound",
            ElbError::ListenerNotFound(_) => "ListenerNotFound",
            ElbError::RuleNotFound(_) => "RuleNotFound",
            ElbError::DuplicateLoadBalancerName(_) => "DuplicateLoadBalancerName",
            ElbError::DuplicateTargetGroupName(_) => "DuplicateTargetGroupName",
            ElbError::DuplicateListener(_) => "DuplicateListener",
            ElbError::DuplicateTagKeys(_) => "DuplicateTagKeys",
            ElbError::TooManyTags(_) => "TooManyTags",
            ElbError::TooMany { code, .. } => code,
            ElbError::ResourceInUse(_) => "ResourceInUse",
            ElbError::InvalidConfiguration(_) => "InvalidConfigurationRequest",
            ElbError::InvalidTarget(_) => "InvalidTarget",
            ElbError::PriorityInUse(_) => "PriorityInUse",
            ElbError::OperationNotPermitted(_) => "OperationNotPermitted",
            ElbError::UnsupportedProtocol(_) => "UnsupportedProtocol",
            ElbError::CertificateNotFound(_) => "CertificateNotFound",
            ElbError::InvalidLbAction(_) => "InvalidLoadBalancerAction",
            ElbError::InvalidScheme(_) => "InvalidScheme",
            ElbError::Store(_) => "ServiceUnavailable",
            ElbError::Internal(_) => "InternalFailure",
        }
    }

    /// A `ValidationError` for a required parameter that is missing.
    pub fn missing(name: &str) -> ElbError {
        ElbError::Validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    }
}

/// `LoadBalancerArn` → `loadBalancerArn`, as AWS writes member names in messages.
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl From<ElbError> for AwsError {
    fn from(e: ElbError) -> AwsError {
        let code = e.code();
        match e {
            ElbError::AccessDenied(m) => AwsError::client(StatusCode::FORBIDDEN, code, m),
            ElbError::Store(err) => {
                tracing::error!(error = %err, "store failure");
                AwsError::unavailable()
            }
            ElbError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                AwsError::internal()
            }
            other => AwsError::bad_request(code, other.to_string()),
        }
    }
}

/// Shorthand.
pub type Result<T, E = ElbError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_model() {
        let e = AwsError::from(ElbError::LoadBalancerNotFound("nope".into()));
        assert_eq!(
            (e.code.as_str(), e.status),
            ("LoadBalancerNotFound", StatusCode::BAD_REQUEST)
        );
        let e = AwsError::from(ElbError::AccessDenied("no".into()));
        assert_eq!(
            (e.code.as_str(), e.status),
            ("AccessDenied", StatusCode::FORBIDDEN)
        );
        let e = AwsError::from(ElbError::Internal("secret detail".into()));
        assert!(!e.message.contains("secret"));
        assert_eq!(
            AwsError::from(ElbError::InvalidLbAction("x".into())).code,
            "InvalidLoadBalancerAction"
        );
        assert!(
            ElbError::missing("LoadBalancerArn")
                .to_string()
                .contains("'loadBalancerArn'")
        );
    }
}
