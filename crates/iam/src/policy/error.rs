//! Why a policy document was rejected.
//!
//! Every variant renders (through `Display`) to the reason IAM returns with a
//! `MalformedPolicyDocument` error, worded as closely to AWS's own messages as is useful.

/// A policy document that cannot be accepted.
///
/// Returned by [`Policy::parse`](super::Policy::parse); the `Display` text is the
/// user-facing reason for the `MalformedPolicyDocument` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is not JSON, or its top level is not a JSON object.
    #[error("Syntax errors in policy.")]
    NotJson {
        /// Line of the JSON error (1-based), 0 when the JSON was valid but not an object.
        line: usize,
        /// Column of the JSON error (1-based), 0 when the JSON was valid but not an object.
        column: usize,
    },
    /// An object repeats a key, e.g. two `Effect` elements in one statement.
    #[error("Syntax errors in policy. Duplicate element at line {line}, column {column}.")]
    DuplicateElement {
        /// Line of the repeated key (1-based).
        line: usize,
        /// Column just past the repeated key's value (1-based).
        column: usize,
    },
    /// An element has the wrong JSON type, e.g. `"Effect": 1` or `"Action": {}`.
    #[error("Syntax errors in policy. {element} must be {expected}.")]
    WrongType {
        /// The element's name.
        element: String,
        /// What the grammar expects there.
        expected: &'static str,
    },
    /// A top-level or statement element that the grammar does not know, e.g. `"Actions"`.
    #[error("Syntax errors in policy. Unknown field {element}.")]
    UnknownElement {
        /// The element's name as written.
        element: String,
    },
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    #[error(
        "The policy failed legacy parsing: Version {version:?} is not 2012-10-17 or 2008-10-17."
    )]
    InvalidVersion {
        /// The version as written.
        version: String,
    },
    /// A required element is absent (or is an empty list).
    #[error("Missing required field {field}")]
    MissingField {
        /// `Statement`, `Effect`, `Action`, `Resource` or `Principal`.
        field: &'static str,
    },
    /// `Statement` is an empty list.
    #[error("Policy document must contain at least one statement.")]
    NoStatements,
    /// Two statements share a `Sid`.
    #[error("Statement IDs (SID) in a single policy must be unique: {sid:?} is repeated.")]
    DuplicateSid {
        /// The repeated statement id.
        sid: String,
    },
    /// `Effect` is neither `Allow` nor `Deny` (the names are case-sensitive).
    #[error("Invalid effect: {effect}")]
    InvalidEffect {
        /// The effect as written.
        effect: String,
    },
    /// A statement names both an element and its negation, e.g. `Action` and `NotAction`.
    #[error("Syntax errors in policy. A statement cannot contain both {element} and Not{element}.")]
    Conflicting {
        /// `Action`, `Resource` or `Principal`.
        element: &'static str,
    },
    /// An action is neither `*` nor of the form `service:action`.
    #[error(
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. (action {action:?})"
    )]
    InvalidAction {
        /// The action as written.
        action: String,
    },
    /// A resource is neither `*` nor an ARN.
    #[error("Resource {resource} must be in ARN format or \"*\".")]
    InvalidResource {
        /// The resource as written.
        resource: String,
    },
    /// An identity policy names a `Principal` or `NotPrincipal`.
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// A principal entry is malformed: an unknown principal type, an empty list, or an
    /// `AWS` value that is not `*`, an account id or an ARN without wildcards.
    #[error("Invalid principal in policy: {principal}")]
    InvalidPrincipal {
        /// The offending entry, as `"Type":"value"`.
        principal: String,
    },
    /// A condition operator that the grammar does not know, e.g. `StringEqual`.
    #[error("Invalid Condition type : {operator}")]
    UnknownConditionOperator {
        /// The operator as written.
        operator: String,
    },
    /// A condition key without a service prefix, e.g. `username` instead of `aws:username`.
    #[error(
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. (condition key {key:?})"
    )]
    InvalidConditionKey {
        /// The key as written.
        key: String,
    },
    /// A condition value that its operator cannot use: not a number for `Numeric*`, not a
    /// date for `Date*`, not an IP address or CIDR for `IpAddress`, not `true`/`false` for
    /// `Bool` and `Null`, not base64 for `BinaryEquals`.
    #[error("Invalid value {value:?} for condition operator {operator} on key {key}.")]
    InvalidConditionValue {
        /// The operator as written.
        operator: String,
        /// The condition key.
        key: String,
        /// The value as written.
        value: String,
    },
}

impl PolicyError {
    /// A [`PolicyError::WrongType`] for `element`.
    pub(crate) fn wrong_type(element: impl Into<String>, expected: &'static str) -> Self {
        Self::WrongType {
            element: element.into(),
            expected,
        }
    }
}
