//! Key specs and key usages, with the rules that tie them to algorithms
//! (reference §3.2): which usages a spec allows and which algorithms each
//! (spec, usage) pair advertises in `DescribeKey`.

use crate::algorithm::{EncryptionAlgorithm, MacAlgorithm, SigningAlgorithm};
use crate::error::KmsCryptoError;
use crate::names::aws_enum;

aws_enum! {
    /// The `KeySpec` of a KMS key. `SM2` and `ML_KEM_*` exist in the model but are
    /// refused with [`KmsCryptoError::UnsupportedSpec`].
    pub enum KeySpec {
        field = "keySpec",
        unsupported = ["SM2", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"] => KmsCryptoError::UnsupportedSpec,
        /// AES-256-GCM.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA with a 2048-bit modulus.
        Rsa2048 = "RSA_2048",
        /// RSA with a 3072-bit modulus.
        Rsa3072 = "RSA_3072",
        /// RSA with a 4096-bit modulus.
        Rsa4096 = "RSA_4096",
        /// NIST P-256 (secp256r1).
        EccNistP256 = "ECC_NIST_P256",
        /// NIST P-384 (secp384r1).
        EccNistP384 = "ECC_NIST_P384",
        /// NIST P-521 (secp521r1).
        EccNistP521 = "ECC_NIST_P521",
        /// SECG secp256k1.
        EccSecgP256k1 = "ECC_SECG_P256K1",
        /// Ed25519 (RFC 8032).
        EccNistEdwards25519 = "ECC_NIST_EDWARDS25519",
        /// HMAC with SHA-224; 28-byte generated keys.
        Hmac224 = "HMAC_224",
        /// HMAC with SHA-256; 32-byte generated keys.
        Hmac256 = "HMAC_256",
        /// HMAC with SHA-384; 48-byte generated keys.
        Hmac384 = "HMAC_384",
        /// HMAC with SHA-512; 64-byte generated keys.
        Hmac512 = "HMAC_512",
        /// ML-DSA-44 (FIPS 204).
        MlDsa44 = "ML_DSA_44",
        /// ML-DSA-65 (FIPS 204).
        MlDsa65 = "ML_DSA_65",
        /// ML-DSA-87 (FIPS 204).
        MlDsa87 = "ML_DSA_87",
    }
}

aws_enum! {
    /// The `KeyUsage` of a KMS key, fixed at creation.
    pub enum KeyUsage {
        field = "keyUsage",
        unsupported = ["ENCAPSULATE_DECAPSULATE"] => KmsCryptoError::UnsupportedSpec,
        /// Encrypt and decrypt.
        EncryptDecrypt = "ENCRYPT_DECRYPT",
        /// Sign and verify.
        SignVerify = "SIGN_VERIFY",
        /// Generate and verify MACs.
        GenerateVerifyMac = "GENERATE_VERIFY_MAC",
        /// Derive shared secrets (ECDH).
        KeyAgreement = "KEY_AGREEMENT",
    }
}

aws_enum! {
    /// The `KeySpec` of `GenerateDataKey`: the length of a plaintext data key.
    pub enum DataKeySpec {
        field = "keySpec",
        unsupported = [] => KmsCryptoError::UnsupportedSpec,
        /// A 256-bit key.
        Aes256 = "AES_256",
        /// A 128-bit key.
        Aes128 = "AES_128",
    }
}

aws_enum! {
    /// The `KeyPairSpec` of `GenerateDataKeyPair`.
    pub enum DataKeyPairSpec {
        field = "keyPairSpec",
        unsupported = ["SM2", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"] => KmsCryptoError::UnsupportedSpec,
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
        /// NIST P-256.
        EccNistP256 = "ECC_NIST_P256",
        /// NIST P-384.
        EccNistP384 = "ECC_NIST_P384",
        /// NIST P-521.
        EccNistP521 = "ECC_NIST_P521",
        /// secp256k1.
        EccSecgP256k1 = "ECC_SECG_P256K1",
        /// Ed25519.
        EccNistEdwards25519 = "ECC_NIST_EDWARDS25519",
    }
}

impl DataKeySpec {
    /// The key length in bytes.
    pub fn len(self) -> usize {
        match self {
            Self::Aes256 => 32,
            Self::Aes128 => 16,
        }
    }

    /// Always `false`; present because `len` is.
    pub fn is_empty(self) -> bool {
        false
    }
}

impl DataKeyPairSpec {
    /// The KMS key spec whose material has the same shape.
    pub fn key_spec(self) -> KeySpec {
        match self {
            Self::Rsa2048 => KeySpec::Rsa2048,
            Self::Rsa3072 => KeySpec::Rsa3072,
            Self::Rsa4096 => KeySpec::Rsa4096,
            Self::EccNistP256 => KeySpec::EccNistP256,
            Self::EccNistP384 => KeySpec::EccNistP384,
            Self::EccNistP521 => KeySpec::EccNistP521,
            Self::EccSecgP256k1 => KeySpec::EccSecgP256k1,
            Self::EccNistEdwards25519 => KeySpec::EccNistEdwards25519,
        }
    }
}

impl KeySpec {
    /// The key usages a key of this spec may be created with (reference §3.2).
    pub fn allowed_usages(self) -> &'static [KeyUsage] {
        use KeyUsage::*;
        match self {
            Self::SymmetricDefault => &[EncryptDecrypt],
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &[EncryptDecrypt, SignVerify],
            Self::EccNistP256 | Self::EccNistP384 | Self::EccNistP521 => {
                &[SignVerify, KeyAgreement]
            }
            Self::EccSecgP256k1
            | Self::EccNistEdwards25519
            | Self::MlDsa44
            | Self::MlDsa65
            | Self::MlDsa87 => &[SignVerify],
            Self::Hmac224 | Self::Hmac256 | Self::Hmac384 | Self::Hmac512 => &[GenerateVerifyMac],
        }
    }

    /// Whether `usage` is allowed for this spec.
    pub fn allows(self, usage: KeyUsage) -> bool {
        self.allowed_usages().contains(&usage)
    }

    /// `DescribeKey`'s `EncryptionAlgorithms` for a key of this spec and usage
    /// (empty unless the usage is `ENCRYPT_DECRYPT` and allowed).
    pub fn encryption_algorithms(self, usage: KeyUsage) -> Vec<EncryptionAlgorithm> {
        if usage != KeyUsage::EncryptDecrypt || !self.allows(usage) {
            return Vec::new();
        }
        match self {
            Self::SymmetricDefault => vec![EncryptionAlgorithm::SymmetricDefault],
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => vec![
                EncryptionAlgorithm::RsaesOaepSha1,
                EncryptionAlgorithm::RsaesOaepSha256,
            ],
            _ => Vec::new(),
        }
    }

    /// `DescribeKey`'s `SigningAlgorithms` for a key of this spec and usage (empty unless
    /// the usage is `SIGN_VERIFY` and allowed). Lists only what [`crate::sign`] can
    /// perform: `ED25519_PH_SHA_512` is omitted because aws-lc-rs 1.19 has no Ed25519ph.
    pub fn signing_algorithms(self, usage: KeyUsage) -> Vec<SigningAlgorithm> {
        use SigningAlgorithm::*;
        if usage != KeyUsage::SignVerify || !self.allows(usage) {
            return Vec::new();
        }
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => vec![
                RsassaPssSha256,
                RsassaPssSha384,
                RsassaPssSha512,
                RsassaPkcs1V15Sha256,
                RsassaPkcs1V15Sha384,
                RsassaPkcs1V15Sha512,
            ],
            Self::EccNistP256 | Self::EccSecgP256k1 => vec![EcdsaSha256],
            Self::EccNistP384 => vec![EcdsaSha384],
            Self::EccNistP521 => vec![EcdsaSha512],
            Self::EccNistEdwards25519 => vec![Ed25519Sha512],
            Self::MlDsa44 | Self::MlDsa65 | Self::MlDsa87 => vec![MlDsaShake256],
            _ => Vec::new(),
        }
    }

    /// `DescribeKey`'s `MacAlgorithms`: the one HMAC of matching size, or empty.
    pub fn mac_algorithms(self) -> Vec<MacAlgorithm> {
        self.mac_algorithm().into_iter().collect()
    }

    /// The HMAC algorithm of an HMAC spec.
    pub fn mac_algorithm(self) -> Option<MacAlgorithm> {
        match self {
            Self::Hmac224 => Some(MacAlgorithm::HmacSha224),
            Self::Hmac256 => Some(MacAlgorithm::HmacSha256),
            Self::Hmac384 => Some(MacAlgorithm::HmacSha384),
            Self::Hmac512 => Some(MacAlgorithm::HmacSha512),
            _ => None,
        }
    }

    /// `DescribeKey`'s `KeyAgreementAlgorithms`: `["ECDH"]` for NIST curves created with
    /// `KEY_AGREEMENT`, otherwise empty.
    pub fn key_agreement_algorithms(self, usage: KeyUsage) -> Vec<&'static str> {
        if usage == KeyUsage::KeyAgreement && self.allows(usage) {
            vec![crate::agreement::KEY_AGREEMENT_ECDH]
        } else {
            Vec::new()
        }
    }

    /// `SYMMETRIC_DEFAULT`.
    pub fn is_symmetric(self) -> bool {
        self == Self::SymmetricDefault
    }

    /// One of the `HMAC_*` specs.
    pub fn is_hmac(self) -> bool {
        self.mac_algorithm().is_some()
    }

    /// Has a public key (RSA, ECC, Ed25519, ML-DSA).
    pub fn is_asymmetric(self) -> bool {
        !self.is_symmetric() && !self.is_hmac()
    }

    /// One of the RSA specs.
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// The deprecated `CustomerMasterKeySpec` echo: the same name, or `None` for specs
    /// that field never covered (Ed25519, ML-DSA).
    pub fn customer_master_key_spec(self) -> Option<&'static str> {
        match self {
            Self::EccNistEdwards25519 | Self::MlDsa44 | Self::MlDsa65 | Self::MlDsa87 => None,
            other => Some(other.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn names_round_trip() {
        for spec in KeySpec::ALL {
            assert_eq!(KeySpec::from_str(spec.as_str()), Ok(*spec));
        }
        for spec in DataKeyPairSpec::ALL {
            assert_eq!(spec.as_str(), spec.key_spec().as_str());
        }
        assert_eq!(KeySpec::ALL.len() + KeySpec::UNSUPPORTED_NAMES.len(), 20);
    }

    #[test]
    fn unsupported_specs_are_refused_not_faked() {
        for name in ["SM2", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"] {
            assert_eq!(
                KeySpec::from_str(name),
                Err(KmsCryptoError::UnsupportedSpec(name.to_owned()))
            );
            assert_eq!(
                DataKeyPairSpec::from_str(name),
                Err(KmsCryptoError::UnsupportedSpec(name.to_owned()))
            );
        }
    }

    #[test]
    fn unknown_name_is_an_aws_validation_error() {
        let Err(KmsCryptoError::Validation(msg)) = KeySpec::from_str("rsa_2048") else {
            panic!("expected a validation error");
        };
        assert!(
            msg.starts_with("1 validation error detected: Value 'rsa_2048' at 'keySpec'"),
            "{msg}"
        );
        assert!(msg.contains("[SYMMETRIC_DEFAULT, RSA_2048,"), "{msg}");
        assert!(msg.ends_with("ML_KEM_1024]"), "{msg}");
    }

    #[test]
    fn usages_and_algorithms_follow_the_table() {
        assert_eq!(
            KeySpec::SymmetricDefault.allowed_usages(),
            &[KeyUsage::EncryptDecrypt]
        );
        assert!(KeySpec::EccNistP384.allows(KeyUsage::KeyAgreement));
        assert!(!KeySpec::EccSecgP256k1.allows(KeyUsage::KeyAgreement));
        assert_eq!(
            KeySpec::Rsa3072
                .encryption_algorithms(KeyUsage::EncryptDecrypt)
                .len(),
            2
        );
        assert!(
            KeySpec::Rsa3072
                .encryption_algorithms(KeyUsage::SignVerify)
                .is_empty()
        );
        assert_eq!(
            KeySpec::EccNistP521.signing_algorithms(KeyUsage::SignVerify),
            vec![SigningAlgorithm::EcdsaSha512]
        );
        assert_eq!(
            KeySpec::Hmac384.mac_algorithms(),
            vec![MacAlgorithm::HmacSha384]
        );
        assert_eq!(
            KeySpec::EccNistP256.key_agreement_algorithms(KeyUsage::KeyAgreement),
            vec!["ECDH"]
        );
        assert!(
            KeySpec::EccNistP256
                .key_agreement_algorithms(KeyUsage::SignVerify)
                .is_empty()
        );
        assert_eq!(KeySpec::MlDsa65.customer_master_key_spec(), None);
        assert_eq!(
            KeySpec::Hmac224.customer_master_key_spec(),
            Some("HMAC_224")
        );
        assert!(KeySpec::Rsa2048.is_asymmetric() && !KeySpec::Hmac256.is_asymmetric());
    }
}
