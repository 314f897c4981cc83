//! Encryption, signing and MAC algorithm names and message types, with the digest
//! each algorithm implies.

use aws_lc_rs::{digest, hmac};

use crate::error::KmsCryptoError;
use crate::names::aws_enum;

aws_enum! {
    /// `EncryptionAlgorithmSpec`. `SM2PKE` is refused with
    /// [`KmsCryptoError::UnsupportedAlgorithm`].
    pub enum EncryptionAlgorithm {
        field = "encryptionAlgorithm",
        unsupported = ["SM2PKE"] => KmsCryptoError::UnsupportedAlgorithm,
        /// AES-256-GCM in the Portcullis symmetric ciphertext format.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA-OAEP with SHA-1 for both OAEP and MGF1, empty label.
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256 for both OAEP and MGF1, empty label.
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
    }
}

aws_enum! {
    /// `SigningAlgorithmSpec`. `SM2DSA` is refused with
    /// [`KmsCryptoError::UnsupportedAlgorithm`].
    pub enum SigningAlgorithm {
        field = "signingAlgorithm",
        unsupported = ["SM2DSA"] => KmsCryptoError::UnsupportedAlgorithm,
        /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
        RsassaPssSha256 = "RSASSA_PSS_SHA_256",
        /// RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt.
        RsassaPssSha384 = "RSASSA_PSS_SHA_384",
        /// RSASSA-PSS, SHA-512, MGF1-SHA-512, 64-byte salt.
        RsassaPssSha512 = "RSASSA_PSS_SHA_512",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RsassaPkcs1V15Sha256 = "RSASSA_PKCS1_V1_5_SHA_256",
        /// RSASSA-PKCS1-v1_5 with SHA-384.
        RsassaPkcs1V15Sha384 = "RSASSA_PKCS1_V1_5_SHA_384",
        /// RSASSA-PKCS1-v1_5 with SHA-512.
        RsassaPkcs1V15Sha512 = "RSASSA_PKCS1_V1_5_SHA_512",
        /// ECDSA with SHA-256, DER (X9.62) signature.
        EcdsaSha256 = "ECDSA_SHA_256",
        /// ECDSA with SHA-384, DER (X9.62) signature.
        EcdsaSha384 = "ECDSA_SHA_384",
        /// ECDSA with SHA-512, DER (X9.62) signature.
        EcdsaSha512 = "ECDSA_SHA_512",
        /// ML-DSA (pure, empty context); FIPS 204 uses SHAKE-256 internally.
        MlDsaShake256 = "ML_DSA_SHAKE_256",
        /// PureEdDSA Ed25519 (RFC 8032); `RAW` messages only.
        Ed25519Sha512 = "ED25519_SHA_512",
        /// HashEdDSA Ed25519ph; `DIGEST` messages only. Not available in aws-lc-rs 1.19.
        Ed25519PhSha512 = "ED25519_PH_SHA_512",
    }
}

aws_enum! {
    /// `MacAlgorithmSpec`: HMAC (RFC 2104) with a SHA-2 hash.
    pub enum MacAlgorithm {
        field = "macAlgorithm",
        unsupported = [] => KmsCryptoError::UnsupportedAlgorithm,
        /// HMAC-SHA-224.
        HmacSha224 = "HMAC_SHA_224",
        /// HMAC-SHA-256.
        HmacSha256 = "HMAC_SHA_256",
        /// HMAC-SHA-384.
        HmacSha384 = "HMAC_SHA_384",
        /// HMAC-SHA-512.
        HmacSha512 = "HMAC_SHA_512",
    }
}

aws_enum! {
    /// `MessageType` of Sign and Verify.
    pub enum MessageType {
        field = "messageType",
        unsupported = [] => KmsCryptoError::UnsupportedAlgorithm,
        /// The message itself; KMS hashes it as the algorithm requires.
        Raw = "RAW",
        /// A precomputed digest of the algorithm's hash; KMS signs it without hashing again.
        Digest = "DIGEST",
        /// The 64-byte μ of FIPS 204 §6.2 (ML-DSA only).
        ExternalMu = "EXTERNAL_MU",
    }
}

impl SigningAlgorithm {
    /// The hash applied to a `RAW` message (and whose length a `DIGEST` must have),
    /// or `None` for ML-DSA, whose hashing is internal.
    pub fn digest_algorithm(self) -> Option<&'static digest::Algorithm> {
        use SigningAlgorithm::*;
        match self {
            RsassaPssSha256 | RsassaPkcs1V15Sha256 | EcdsaSha256 => Some(&digest::SHA256),
            RsassaPssSha384 | RsassaPkcs1V15Sha384 | EcdsaSha384 => Some(&digest::SHA384),
            RsassaPssSha512 | RsassaPkcs1V15Sha512 | EcdsaSha512 | Ed25519Sha512
            | Ed25519PhSha512 => Some(&digest::SHA512),
            MlDsaShake256 => None,
        }
    }

    /// The length in bytes a `DIGEST` message must have, if the algorithm has a digest.
    pub fn digest_len(self) -> Option<usize> {
        self.digest_algorithm().map(digest::Algorithm::output_len)
    }
}

impl MacAlgorithm {
    /// The aws-lc-rs HMAC algorithm.
    pub(crate) fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::HmacSha224 => hmac::HMAC_SHA224,
            Self::HmacSha256 => hmac::HMAC_SHA256,
            Self::HmacSha384 => hmac::HMAC_SHA384,
            Self::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// The MAC (and digest) length in bytes.
    pub fn output_len(self) -> usize {
        self.hmac().digest_algorithm().output_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn sm_algorithms_are_unsupported() {
        assert_eq!(
            SigningAlgorithm::from_str("SM2DSA"),
            Err(KmsCryptoError::UnsupportedAlgorithm("SM2DSA".into()))
        );
        assert_eq!(
            EncryptionAlgorithm::from_str("SM2PKE"),
            Err(KmsCryptoError::UnsupportedAlgorithm("SM2PKE".into()))
        );
    }

    #[test]
    fn every_name_round_trips() {
        for a in SigningAlgorithm::ALL {
            assert_eq!(SigningAlgorithm::from_str(a.as_str()), Ok(*a));
        }
        for a in EncryptionAlgorithm::ALL {
            assert_eq!(EncryptionAlgorithm::from_str(&a.to_string()), Ok(*a));
        }
        for a in MacAlgorithm::ALL {
            assert_eq!(MacAlgorithm::from_str(a.as_str()), Ok(*a));
        }
        for a in MessageType::ALL {
            assert_eq!(MessageType::from_str(a.as_str()), Ok(*a));
        }
        assert!(matches!(
            MessageType::from_str("raw"),
            Err(KmsCryptoError::Validation(m)) if m.contains("'messageType'")
        ));
    }

    #[test]
    fn digest_lengths() {
        assert_eq!(SigningAlgorithm::EcdsaSha384.digest_len(), Some(48));
        assert_eq!(SigningAlgorithm::RsassaPssSha256.digest_len(), Some(32));
        assert_eq!(SigningAlgorithm::Ed25519PhSha512.digest_len(), Some(64));
        assert_eq!(SigningAlgorithm::MlDsaShake256.digest_len(), None);
        assert_eq!(MacAlgorithm::HmacSha224.output_len(), 28);
    }
}
