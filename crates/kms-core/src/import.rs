//! BYOK: GetParametersForImport's RSA wrapping key, and unwrapping of the
//! `EncryptedKeyMaterial` a client sends to ImportKeyMaterial.
//!
//! * `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256` / `RSAES_PKCS1_V1_5`: the material is
//!   RSA-encrypted directly (OAEP with the same hash for MGF1 and an empty label).
//! * `RSA_AES_KEY_WRAP_SHA_1` / `_SHA_256`: the first `bytes(modulus)` bytes are an
//!   RSA-OAEP (SHA-1 / SHA-256) encryption of an ephemeral AES key (128 or 256 bits), the
//!   rest is the material wrapped under that key with AES key wrap with padding (RFC 5649).
//!   This is how asymmetric (PKCS#8) material, too long for RSA alone, is imported.

use aws_lc_rs::key_wrap::{AES_128, AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    Pkcs1PrivateDecryptingKey, PrivateDecryptingKey,
};
use zeroize::Zeroizing;

use crate::error::KmsCryptoError;
use crate::material::KeyMaterial;
use crate::names::aws_enum;
use crate::spec::KeySpec;

aws_enum! {
    /// `AlgorithmSpec` of GetParametersForImport: how the client wraps the material.
    pub enum WrappingAlgorithm {
        field = "wrappingAlgorithm",
        unsupported = ["SM2PKE"] => KmsCryptoError::UnsupportedAlgorithm,
        /// RSA PKCS#1 v1.5 encryption of the material.
        RsaesPkcs1V15 = "RSAES_PKCS1_V1_5",
        /// RSA-OAEP with SHA-1 of the material.
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256 of the material.
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
        /// RSA-OAEP-SHA-1 of an AES key, then RFC 5649 wrap of the material.
        RsaAesKeyWrapSha1 = "RSA_AES_KEY_WRAP_SHA_1",
        /// RSA-OAEP-SHA-256 of an AES key, then RFC 5649 wrap of the material.
        RsaAesKeyWrapSha256 = "RSA_AES_KEY_WRAP_SHA_256",
    }
}

aws_enum! {
    /// `WrappingKeySpec` of GetParametersForImport.
    pub enum WrappingKeySpec {
        field = "wrappingKeySpec",
        unsupported = ["SM2"] => KmsCryptoError::UnsupportedSpec,
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
    }
}

/// A fresh import wrapping key pair. The private half stays in the store with the
/// import token; the public half is GetParametersForImport's `PublicKey`.
pub struct ImportParameters {
    /// PKCS#8 DER private key. Secret.
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
    /// DER SubjectPublicKeyInfo given to the client.
    pub public_key_der: Vec<u8>,
}

impl std::fmt::Debug for ImportParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportParameters")
            .field("private_key_pkcs8", &format_args!("[redacted]"))
            .field("public_key_der", &hex::encode(&self.public_key_der))
            .finish()
    }
}

/// Generates an RSA wrapping key pair of `spec`.
pub fn generate_import_parameters(
    spec: WrappingKeySpec,
) -> Result<ImportParameters, KmsCryptoError> {
    let key_spec = match spec {
        WrappingKeySpec::Rsa2048 => KeySpec::Rsa2048,
        WrappingKeySpec::Rsa3072 => KeySpec::Rsa3072,
        WrappingKeySpec::Rsa4096 => KeySpec::Rsa4096,
    };
    let material = KeyMaterial::generate(key_spec)?;
    Ok(ImportParameters {
        public_key_der: material.public_key_der()?,
        private_key_pkcs8: Zeroizing::new(material.as_bytes().to_vec()),
    })
}

/// Recovers the plaintext key material from `encrypted` with the wrapping private key.
/// Anything that does not decrypt → [`KmsCryptoError::InvalidCiphertext`]. The caller
/// still validates the result with [`KeyMaterial::from_bytes`].
pub fn unwrap_imported_material(
    private_key_pkcs8: &[u8],
    alg: WrappingAlgorithm,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    let private = PrivateDecryptingKey::from_pkcs8(private_key_pkcs8)
        .map_err(|_| KmsCryptoError::internal("import wrapping key does not parse"))?;
    match alg {
        WrappingAlgorithm::RsaesOaepSha1 => oaep_decrypt(private, &OAEP_SHA1_MGF1SHA1, encrypted),
        WrappingAlgorithm::RsaesOaepSha256 => {
            oaep_decrypt(private, &OAEP_SHA256_MGF1SHA256, encrypted)
        }
        WrappingAlgorithm::RsaesPkcs1V15 => {
            let key = Pkcs1PrivateDecryptingKey::new(private)
                .map_err(|_| KmsCryptoError::internal("RSA private key"))?;
            if encrypted.len() != key.key_size_bytes() {
                return Err(KmsCryptoError::InvalidCiphertext);
            }
            let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
            let len = key
                .decrypt(encrypted, &mut out)
                .map_err(|_| KmsCryptoError::InvalidCiphertext)?
                .len();
            out.truncate(len);
            Ok(out)
        }
        WrappingAlgorithm::RsaAesKeyWrapSha1 => {
            rsa_aes_unwrap(private, &OAEP_SHA1_MGF1SHA1, encrypted)
        }
        WrappingAlgorithm::RsaAesKeyWrapSha256 => {
            rsa_aes_unwrap(private, &OAEP_SHA256_MGF1SHA256, encrypted)
        }
    }
}

fn oaep_decrypt(
    private: PrivateDecryptingKey,
    oaep: &'static OaepAlgorithm,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    let key = OaepPrivateDecryptingKey::new(private)
        .map_err(|_| KmsCryptoError::internal("RSA private key"))?;
    if encrypted.len() != key.key_size_bytes() {
        return Err(KmsCryptoError::InvalidCiphertext);
    }
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let len = key
        .decrypt(oaep, encrypted, &mut out, None)
        .map_err(|_| KmsCryptoError::InvalidCiphertext)?
        .len();
    out.truncate(len);
    Ok(out)
}

fn rsa_aes_unwrap(
    private: PrivateDecryptingKey,
    oaep: &'static OaepAlgorithm,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    let (wrapped_key, wrapped_material) = encrypted
        .split_at_checked(private.key_size_bytes())
        .ok_or(KmsCryptoError::InvalidCiphertext)?;
    if wrapped_material.is_empty() {
        return Err(KmsCryptoError::InvalidCiphertext);
    }
    let aes_key = oaep_decrypt(private, oaep, wrapped_key)?;
    let cipher = match aes_key.len() {
        16 => &AES_128,
        32 => &AES_256,
        _ => return Err(KmsCryptoError::InvalidCiphertext),
    };
    let kek = AesKek::new(cipher, &aes_key).map_err(|_| KmsCryptoError::InvalidCiphertext)?;
    let mut out = Zeroizing::new(vec![0u8; wrapped_material.len()]);
    let len = kek
        .unwrap_with_padding(wrapped_material, &mut out)
        .map_err(|_| KmsCryptoError::InvalidCiphertext)?
        .len();
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::key_wrap::KeyWrapPadded;
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, Pkcs1PublicEncryptingKey, PublicEncryptingKey};
    use std::str::FromStr;

    /// What a client does with GetParametersForImport's public key, using aws-lc-rs
    /// directly and nothing from this crate.
    fn client_wrap(public_der: &[u8], alg: WrappingAlgorithm, material: &[u8]) -> Vec<u8> {
        let public = || PublicEncryptingKey::from_der(public_der).unwrap();
        let oaep = |alg: &'static OaepAlgorithm, msg: &[u8]| {
            let key = OaepPublicEncryptingKey::new(public()).unwrap();
            let mut out = vec![0u8; key.ciphertext_size()];
            key.encrypt(alg, msg, &mut out, None).unwrap().to_vec()
        };
        let key_wrap = |alg: &'static OaepAlgorithm| {
            let aes = [0x42u8; 32];
            let mut out = oaep(alg, &aes);
            let mut wrapped = vec![0u8; material.len() + 16];
            let kek = AesKek::new(&AES_256, &aes).unwrap();
            out.extend_from_slice(kek.wrap_with_padding(material, &mut wrapped).unwrap());
            out
        };
        match alg {
            WrappingAlgorithm::RsaesOaepSha1 => oaep(&OAEP_SHA1_MGF1SHA1, material),
            WrappingAlgorithm::RsaesOaepSha256 => oaep(&OAEP_SHA256_MGF1SHA256, material),
            WrappingAlgorithm::RsaesPkcs1V15 => {
                let key = Pkcs1PublicEncryptingKey::new(public()).unwrap();
                let mut out = vec![0u8; key.ciphertext_size()];
                key.encrypt(material, &mut out).unwrap().to_vec()
            }
            WrappingAlgorithm::RsaAesKeyWrapSha1 => key_wrap(&OAEP_SHA1_MGF1SHA1),
            WrappingAlgorithm::RsaAesKeyWrapSha256 => key_wrap(&OAEP_SHA256_MGF1SHA256),
        }
    }

    #[test]
    fn every_wrapping_algorithm_round_trips() {
        let params = generate_import_parameters(WrappingKeySpec::Rsa2048).unwrap();
        let aes = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        for &alg in WrappingAlgorithm::ALL {
            let wrapped = client_wrap(&params.public_key_der, alg, aes.as_bytes());
            let plain = unwrap_imported_material(&params.private_key_pkcs8, alg, &wrapped).unwrap();
            assert_eq!(plain.as_slice(), aes.as_bytes(), "{alg}");
            KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &plain).unwrap();
        }
    }

    #[test]
    fn asymmetric_material_needs_and_survives_aes_key_wrap() {
        let params = generate_import_parameters(WrappingKeySpec::Rsa3072).unwrap();
        let rsa = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        assert!(rsa.as_bytes().len() > 384, "too long for RSA-OAEP alone");
        for alg in [
            WrappingAlgorithm::RsaAesKeyWrapSha1,
            WrappingAlgorithm::RsaAesKeyWrapSha256,
        ] {
            let wrapped = client_wrap(&params.public_key_der, alg, rsa.as_bytes());
            let plain = unwrap_imported_material(&params.private_key_pkcs8, alg, &wrapped).unwrap();
            let back = KeyMaterial::from_bytes(KeySpec::Rsa2048, &plain).unwrap();
            assert_eq!(
                back.public_key_der().unwrap(),
                rsa.public_key_der().unwrap()
            );
        }
    }

    #[test]
    fn mismatches_are_invalid_ciphertext() {
        let params = generate_import_parameters(WrappingKeySpec::Rsa2048).unwrap();
        let other = generate_import_parameters(WrappingKeySpec::Rsa2048).unwrap();
        let material = [7u8; 32];
        let sha256 = client_wrap(
            &params.public_key_der,
            WrappingAlgorithm::RsaesOaepSha256,
            &material,
        );
        let unwrap = |key: &[u8], alg, blob: &[u8]| unwrap_imported_material(key, alg, blob);
        let invalid = Err(KmsCryptoError::InvalidCiphertext);
        assert_eq!(
            unwrap(
                &params.private_key_pkcs8,
                WrappingAlgorithm::RsaesOaepSha1,
                &sha256
            ),
            invalid
        );
        assert_eq!(
            unwrap(
                &other.private_key_pkcs8,
                WrappingAlgorithm::RsaesOaepSha256,
                &sha256
            ),
            invalid
        );
        assert_eq!(
            unwrap(
                &params.private_key_pkcs8,
                WrappingAlgorithm::RsaesOaepSha256,
                &sha256[1..]
            ),
            invalid
        );
        let kw = client_wrap(
            &params.public_key_der,
            WrappingAlgorithm::RsaAesKeyWrapSha256,
            &material,
        );
        let mut tampered = kw.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            unwrap(
                &params.private_key_pkcs8,
                WrappingAlgorithm::RsaAesKeyWrapSha256,
                &tampered
            ),
            invalid
        );
        assert_eq!(
            unwrap(
                &params.private_key_pkcs8,
                WrappingAlgorithm::RsaAesKeyWrapSha256,
                &kw[..256]
            ),
            invalid
        );
    }

    #[test]
    fn wrapping_key_sizes_and_names() {
        for (spec, bytes) in [
            (WrappingKeySpec::Rsa3072, 384),
            (WrappingKeySpec::Rsa4096, 512),
        ] {
            let p = generate_import_parameters(spec).unwrap();
            let key = PublicEncryptingKey::from_der(&p.public_key_der).unwrap();
            assert_eq!(key.key_size_bytes(), bytes);
            assert!(format!("{p:?}").contains("[redacted]"));
        }
        assert_eq!(
            WrappingKeySpec::from_str("SM2"),
            Err(KmsCryptoError::UnsupportedSpec("SM2".into()))
        );
        assert_eq!(
            WrappingAlgorithm::from_str("SM2PKE"),
            Err(KmsCryptoError::UnsupportedAlgorithm("SM2PKE".into()))
        );
    }
}
