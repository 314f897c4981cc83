//! KMS errors, named and rendered as AWS KMS names them.

use http::StatusCode;
use portcullis_http::AwsError;
use portcullis_kms_core::KmsCryptoError;
use portcullis_store::StoreError;

/// Everything a KMS operation can fail with. The variant picks the AWS exception name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// A parameter is missing, malformed or out of range (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// The named key, alias or grant does not exist (`NotFoundException`).
    #[error("{0}")]
    NotFound(String),
    /// The key is disabled (`DisabledException`).
    #[error("{0}")]
    Disabled(String),
    /// The key's state does not allow the operation (`KMSInvalidStateException`).
    #[error("{0}")]
    InvalidState(String),
    /// The key's usage or spec does not fit the operation or algorithm (`InvalidKeyUsageException`).
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// The ciphertext is not valid for this key and context (`InvalidCiphertextException`).
    #[error("")]
    InvalidCiphertext,
    /// The ciphertext belongs to another key than the one named (`IncorrectKeyException`).
    #[error("The key ID in the request does not identify a CMK that can perform this operation.")]
    IncorrectKey,
    /// Verify found the signature invalid (`KMSInvalidSignatureException`).
    #[error("")]
    InvalidSignature,
    /// VerifyMac found the MAC invalid (`KMSInvalidMacException`).
    #[error("")]
    InvalidMac,
    /// The caller may not do this (`AccessDeniedException`).
    #[error("{0}")]
    AccessDenied(String),
    /// The alias already exists (`AlreadyExistsException`).
    #[error("{0}")]
    AlreadyExists(String),
    /// The alias name is not valid (`InvalidAliasNameException`).
    #[error("{0}")]
    InvalidAliasName(String),
    /// An ARN does not parse (`InvalidArnException`).
    #[error("{0}")]
    InvalidArn(String),
    /// A pagination marker is not one we issued (`InvalidMarkerException`).
    #[error("{0}")]
    InvalidMarker(String),
    /// A grant id is not valid (`InvalidGrantIdException`).
    #[error("{0}")]
    InvalidGrantId(String),
    /// A grant token is not valid (`InvalidGrantTokenException`).
    #[error("{0}")]
    InvalidGrantToken(String),
    /// The key policy is not valid or fails the lockout check (`MalformedPolicyDocumentException`).
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// A tag is not valid (`TagException`).
    #[error("{0}")]
    Tag(String),
    /// Not supported for this key or by this server (`UnsupportedOperationException`).
    #[error("{0}")]
    UnsupportedOperation(String),
    /// A quota is reached (`LimitExceededException`).
    #[error("{0}")]
    LimitExceeded(String),
    /// A conflicting operation is in progress (`ConflictException`).
    #[error("{0}")]
    Conflict(String),
    /// The request would have succeeded (`DryRunOperationException`).
    #[error("The request would have succeeded, but the DryRun option is set.")]
    DryRun,
    /// Imported key material does not belong to this key (`IncorrectKeyMaterialException`).
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    /// The import token has expired (`ExpiredImportTokenException`).
    #[error("{0}")]
    ExpiredImportToken(String),
    /// The import token is not valid for this key (`InvalidImportTokenException`).
    #[error("{0}")]
    InvalidImportToken(String),
    /// The body is not JSON of the right shape (`SerializationException`).
    #[error("{0}")]
    Serialization(String),
    /// The operation is not one KMS has (`UnknownOperationException`).
    #[error("{0}")]
    UnknownOperation(String),
    /// The store failed (503, generic message).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An internal invariant failed (500 `KMSInternalException`, generic message).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<KmsCryptoError> for KmsError {
    fn from(e: KmsCryptoError) -> Self {
        match e {
            KmsCryptoError::InvalidCiphertext => KmsError::InvalidCiphertext,
            KmsCryptoError::Validation(m) => KmsError::Validation(m),
            KmsCryptoError::UnsupportedSpec(m) | KmsCryptoError::UnsupportedAlgorithm(m) => {
                KmsError::UnsupportedOperation(format!("{m} is not supported by this server."))
            }
            KmsCryptoError::AlgorithmNotForKey {
                algorithm,
                key_spec,
            } => KmsError::InvalidKeyUsage(format!(
                "Algorithm {algorithm} is incompatible with key spec {key_spec}."
            )),
            KmsCryptoError::IncorrectKeyMaterial => {
                KmsError::IncorrectKeyMaterial("The key material does not match the key.".into())
            }
            other => KmsError::Internal(other.to_string()),
        }
    }
}

impl From<KmsError> for AwsError {
    fn from(e: KmsError) -> AwsError {
        let code = match &e {
            KmsError::Validation(_) => "ValidationException",
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
            KmsError::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            KmsError::InvalidCiphertext => "InvalidCiphertextException",
            KmsError::IncorrectKey => "IncorrectKeyException",
            KmsError::InvalidSignature => "KMSInvalidSignatureException",
            KmsError::InvalidMac => "KMSInvalidMacException",
            KmsError::AccessDenied(_) => "AccessDeniedException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::InvalidAliasName(_) => "InvalidAliasNameException",
            KmsError::InvalidArn(_) => "InvalidArnException",
            KmsError::InvalidMarker(_) => "InvalidMarkerException",
            KmsError::InvalidGrantId(_) => "InvalidGrantIdException",
            KmsError::InvalidGrantToken(_) => "InvalidGrantTokenException",
            KmsError::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            KmsError::Tag(_) => "TagException",
            KmsError::UnsupportedOperation(_) => "UnsupportedOperationException",
            KmsError::LimitExceeded(_) => "LimitExceededException",
            KmsError::Conflict(_) => "ConflictException",
            KmsError::DryRun => "DryRunOperationException",
            KmsError::IncorrectKeyMaterial(_) => "IncorrectKeyMaterialException",
            KmsError::ExpiredImportToken(_) => "ExpiredImportTokenException",
            KmsError::InvalidImportToken(_) => "InvalidImportTokenException",
            KmsError::Serialization(_) => "SerializationException",
            KmsError::UnknownOperation(_) => "UnknownOperationException",
            KmsError::Store(StoreError::ConditionFailed { .. }) => {
                // Lost an optimistic-concurrency race with another writer: the client may retry.
                return AwsError {
                    status: StatusCode::BAD_REQUEST,
                    code: "ConflictException".into(),
                    message: "The key was changed by another request at the same time; retry."
                        .into(),
                    sender_fault: true,
                    members: Default::default(),
                };
            }
            KmsError::Store(err) => {
                tracing::error!(error = %err, "store failure");
                return AwsError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "DependencyTimeoutException".into(),
                    message: "The system timed out while trying to fulfill the request. You can retry the request.".into(),
                    sender_fault: false,
                    members: Default::default(),
                };
            }
            KmsError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                return AwsError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "KMSInternalException".into(),
                    message: "The request was rejected because an internal exception occurred. The request can be retried.".into(),
                    sender_fault: false,
                    members: Default::default(),
                };
            }
        };
        AwsError::bad_request(code, e.to_string())
    }
}

/// Shorthand.
pub type Result<T, E = KmsError> = std::result::Result<T, E>;
