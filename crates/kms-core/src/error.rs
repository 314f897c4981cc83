//! The one error type of this crate.
//!
//! Each variant maps to exactly one AWS KMS exception in the API layer; the mapping is
//! chosen by variant, never by inspecting the message.

/// Everything that can go wrong in a KMS cryptographic operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KmsCryptoError {
    /// A ciphertext was malformed, tampered with, bound to another encryption context or
    /// produced under other key material. Deliberately carries no detail (AWS
    /// `InvalidCiphertextException`).
    #[error("the ciphertext is invalid")]
    InvalidCiphertext,
    /// A request value failed validation: unknown enum name, wrong length, out-of-range
    /// size (AWS `ValidationException`). The message names the bad value.
    #[error("{0}")]
    Validation(String),
    /// A key spec (or key pair / wrapping key spec) that AWS defines but Portcullis does not
    /// implement, such as `SM2` or `ML_KEM_768` (AWS `UnsupportedOperationException`).
    #[error("key spec {0} is not supported")]
    UnsupportedSpec(String),
    /// An algorithm that AWS defines but the crypto backend cannot perform, such as
    /// `ED25519_PH_SHA_512` or `SM2PKE` (AWS `UnsupportedOperationException`).
    #[error("algorithm {0} is not supported")]
    UnsupportedAlgorithm(String),
    /// The algorithm (or message type) is valid in general but not for this key spec, for
    /// example `ECDSA_SHA_384` with an `ECC_NIST_P256` key (AWS `InvalidKeyUsageException`).
    #[error("algorithm {algorithm} is not valid for key spec {key_spec}")]
    AlgorithmNotForKey {
        /// The AWS name of the requested algorithm or message type.
        algorithm: String,
        /// The AWS name of the key's spec.
        key_spec: String,
    },
    /// Supplied key material does not parse as, or does not match, the key spec it was
    /// given for (AWS `IncorrectKeyMaterialException` on import).
    #[error("the key material is not valid for this key spec")]
    IncorrectKeyMaterial,
    /// The crypto backend failed where it should not (randomness, key generation,
    /// serialisation). Indicates a bug or an environment fault, never bad input.
    #[error("internal cryptographic error: {0}")]
    Internal(String),
}

impl KmsCryptoError {
    /// An [`KmsCryptoError::Internal`] naming the operation that failed.
    pub(crate) fn internal(what: &str) -> Self {
        Self::Internal(what.to_owned())
    }

    /// An [`KmsCryptoError::AlgorithmNotForKey`] from AWS names.
    pub(crate) fn not_for_key(algorithm: &str, key_spec: &str) -> Self {
        Self::AlgorithmNotForKey {
            algorithm: algorithm.to_owned(),
            key_spec: key_spec.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_ciphertext_carries_no_detail() {
        assert_eq!(
            KmsCryptoError::InvalidCiphertext.to_string(),
            "the ciphertext is invalid"
        );
    }

    #[test]
    fn algorithm_not_for_key_names_both() {
        let e = KmsCryptoError::not_for_key("ECDSA_SHA_384", "ECC_NIST_P256");
        let s = e.to_string();
        assert!(
            s.contains("ECDSA_SHA_384") && s.contains("ECC_NIST_P256"),
            "{s}"
        );
    }
}
