//! Key material: generation, validation of stored or imported bytes, and the public
//! half of asymmetric keys.
//!
//! Encodings (what [`KeyMaterial::as_bytes`] returns and what gets wrapped under the
//! root key): `SYMMETRIC_DEFAULT` is a raw 32-byte AES-256 key; `HMAC_*` is the raw
//! HMAC key (generated at the digest length: 28, 32, 48 or 64 bytes; imported keys may be
//! as long as AWS allows); every asymmetric spec is an unencrypted PKCS#8 DER private
//! key.

use std::fmt;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use crate::error::KmsCryptoError;
use crate::spec::KeySpec;

/// Length of a `KeyMaterialId`: 64 lower-case hex characters (32 bytes).
pub const MATERIAL_ID_HEX_LEN: usize = 64;

/// The secret material of one KMS key version. `Debug` prints `[redacted]`; the bytes are
/// zeroed on drop.
#[derive(Clone)]
pub struct KeyMaterial {
    spec: KeySpec,
    bytes: Zeroizing<Vec<u8>>,
    /// Parsed forms, made once on first use and shared by clones: parsing a PKCS#8 key
    /// costs more than the signature itself.
    parsed: Arc<Parsed>,
}

/// The parsed key objects of one material (only the one for its spec is ever filled).
#[derive(Default)]
struct Parsed {
    rsa: OnceLock<RsaKeyPair>,
    ecdsa: OnceLock<EcdsaKeyPair>,
    ed25519: OnceLock<Ed25519KeyPair>,
    ml_dsa: OnceLock<PqdsaKeyPair>,
    public_der: OnceLock<Vec<u8>>,
}

/// The value in `cell`, made with `make` on first use.
fn once<T>(
    cell: &OnceLock<T>,
    make: impl FnOnce() -> Result<T, KmsCryptoError>,
) -> Result<&T, KmsCryptoError> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let made = make()?;
    // A racing thread may have filled it first; either value is the same key.
    let _ = cell.set(made);
    cell.get()
        .ok_or_else(|| KmsCryptoError::internal("parsed key cache"))
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("spec", &self.spec)
            .field("bytes", &format_args!("[redacted]"))
            .finish()
    }
}

impl KeyMaterial {
    /// Generates fresh material for `spec` from the system CSPRNG.
    pub fn generate(spec: KeySpec) -> Result<KeyMaterial, KmsCryptoError> {
        let fail = |_| KmsCryptoError::internal("key generation failed");
        let bytes: Vec<u8> = match spec {
            KeySpec::SymmetricDefault => random_vec(32)?,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                random_vec(hmac_generated_len(spec))?
            }
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                let pair = RsaKeyPair::generate(rsa_key_size(spec)?).map_err(fail)?;
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(fail)?;
                der.as_ref().to_vec()
            }
            KeySpec::EccNistP256
            | KeySpec::EccNistP384
            | KeySpec::EccNistP521
            | KeySpec::EccSecgP256k1 => {
                let pair = EcdsaKeyPair::generate(ecdsa_signing(spec)?).map_err(fail)?;
                pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()
            }
            KeySpec::EccNistEdwards25519 => {
                let pair = Ed25519KeyPair::generate().map_err(fail)?;
                pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()
            }
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => {
                let pair = PqdsaKeyPair::generate(ml_dsa_signing(spec)?).map_err(fail)?;
                pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()
            }
        };
        Ok(KeyMaterial {
            spec,
            bytes: Zeroizing::new(bytes),
            parsed: Arc::default(),
        })
    }

    /// Wraps existing bytes after checking they are valid material for `spec`: the right
    /// length for symmetric and HMAC keys, a parseable PKCS#8 key of the right type, curve
    /// or modulus size for asymmetric ones. Wrong bytes → [`KmsCryptoError::IncorrectKeyMaterial`].
    pub fn from_bytes(spec: KeySpec, bytes: &[u8]) -> Result<KeyMaterial, KmsCryptoError> {
        let material = KeyMaterial {
            spec,
            bytes: Zeroizing::new(bytes.to_vec()),
            parsed: Arc::default(),
        };
        let ok = match spec {
            KeySpec::SymmetricDefault => bytes.len() == 32,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                hmac_import_range(spec).is_some_and(|r| r.contains(&bytes.len()))
            }
            // Parsing checks type, curve and structure; the public key derivation below
            // proves the private key is usable.
            _ => material.public_key_der().is_ok(),
        };
        if ok {
            Ok(material)
        } else {
            Err(KmsCryptoError::IncorrectKeyMaterial)
        }
    }

    /// The encoded material, as wrapped under the root key. Treat as secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key spec this material belongs to.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The DER SubjectPublicKeyInfo (RFC 5280) of an asymmetric key, as `GetPublicKey`
    /// returns it. Symmetric and HMAC specs → [`KmsCryptoError::UnsupportedSpec`].
    pub fn public_key_der(&self) -> Result<Vec<u8>, KmsCryptoError> {
        once(&self.parsed.public_der, || self.encode_public_key()).cloned()
    }

    fn encode_public_key(&self) -> Result<Vec<u8>, KmsCryptoError> {
        let fail = |_| KmsCryptoError::internal("public key encoding failed");
        let der: PublicKeyX509Der<'static> = match self.spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                self.rsa_key_pair()?.public_key().as_der().map_err(fail)?
            }
            KeySpec::EccNistP256
            | KeySpec::EccNistP384
            | KeySpec::EccNistP521
            | KeySpec::EccSecgP256k1 => {
                self.ecdsa_key_pair()?.public_key().as_der().map_err(fail)?
            }
            KeySpec::EccNistEdwards25519 => self
                .ed25519_key_pair()?
                .public_key()
                .as_der()
                .map_err(fail)?,
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => self
                .ml_dsa_key_pair()?
                .public_key()
                .as_der()
                .map_err(fail)?,
            other => return Err(KmsCryptoError::UnsupportedSpec(other.as_str().to_owned())),
        };
        Ok(der.as_ref().to_vec())
    }

    /// The RSA key pair (RSA specs only), with the modulus size checked against the spec.
    pub(crate) fn rsa_key_pair(&self) -> Result<&RsaKeyPair, KmsCryptoError> {
        once(&self.parsed.rsa, || {
            let size = rsa_key_size(self.spec)?;
            let pair = RsaKeyPair::from_pkcs8(&self.bytes)
                .map_err(|_| KmsCryptoError::IncorrectKeyMaterial)?;
            if pair.public_modulus_len() != size.len() {
                return Err(KmsCryptoError::IncorrectKeyMaterial);
            }
            Ok(pair)
        })
    }

    /// The ECDSA key pair with the one hash AWS pairs with its curve.
    pub(crate) fn ecdsa_key_pair(&self) -> Result<&EcdsaKeyPair, KmsCryptoError> {
        once(&self.parsed.ecdsa, || {
            EcdsaKeyPair::from_pkcs8(ecdsa_signing(self.spec)?, &self.bytes)
                .map_err(|_| KmsCryptoError::IncorrectKeyMaterial)
        })
    }

    /// The Ed25519 key pair.
    pub(crate) fn ed25519_key_pair(&self) -> Result<&Ed25519KeyPair, KmsCryptoError> {
        if self.spec != KeySpec::EccNistEdwards25519 {
            return Err(KmsCryptoError::IncorrectKeyMaterial);
        }
        once(&self.parsed.ed25519, || {
            Ed25519KeyPair::from_pkcs8(&self.bytes)
                .map_err(|_| KmsCryptoError::IncorrectKeyMaterial)
        })
    }

    /// The ML-DSA key pair of the spec's parameter set.
    pub(crate) fn ml_dsa_key_pair(&self) -> Result<&PqdsaKeyPair, KmsCryptoError> {
        once(&self.parsed.ml_dsa, || {
            PqdsaKeyPair::from_pkcs8(ml_dsa_signing(self.spec)?, &self.bytes)
                .map_err(|_| KmsCryptoError::IncorrectKeyMaterial)
        })
    }
}

/// A fresh random `KeyMaterialId`: 64 lower-case hex characters.
pub fn new_material_id() -> String {
    let mut id = [0u8; MATERIAL_ID_HEX_LEN / 2];
    // A CSPRNG failure is unrecoverable for the whole process; a zero id would still be
    // well-formed, and uniqueness is additionally enforced by the store.
    let _ = SystemRandom::new().fill(&mut id);
    hex::encode(id)
}

/// Whether `id` has the `KeyMaterialId` shape (64 lower-case hex characters).
pub fn is_valid_material_id(id: &str) -> bool {
    id.len() == MATERIAL_ID_HEX_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `n` bytes from the system CSPRNG.
pub(crate) fn random_vec(n: usize) -> Result<Vec<u8>, KmsCryptoError> {
    let mut out = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| KmsCryptoError::internal("random generator failed"))?;
    Ok(out)
}

fn hmac_generated_len(spec: KeySpec) -> usize {
    spec.mac_algorithm().map_or(0, |m| m.output_len())
}

/// Imported HMAC key lengths AWS accepts: from the digest length up to the block size.
fn hmac_import_range(spec: KeySpec) -> Option<std::ops::RangeInclusive<usize>> {
    match spec {
        KeySpec::Hmac224 => Some(28..=64),
        KeySpec::Hmac256 => Some(32..=64),
        KeySpec::Hmac384 => Some(48..=128),
        KeySpec::Hmac512 => Some(64..=128),
        _ => None,
    }
}

pub(crate) fn rsa_key_size(spec: KeySpec) -> Result<KeySize, KmsCryptoError> {
    match spec {
        KeySpec::Rsa2048 => Ok(KeySize::Rsa2048),
        KeySpec::Rsa3072 => Ok(KeySize::Rsa3072),
        KeySpec::Rsa4096 => Ok(KeySize::Rsa4096),
        _ => Err(KmsCryptoError::IncorrectKeyMaterial),
    }
}

fn ecdsa_signing(
    spec: KeySpec,
) -> Result<&'static signature::EcdsaSigningAlgorithm, KmsCryptoError> {
    match spec {
        KeySpec::EccNistP256 => Ok(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeySpec::EccNistP384 => Ok(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeySpec::EccNistP521 => Ok(&signature::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeySpec::EccSecgP256k1 => Ok(&signature::ECDSA_P256K1_SHA256_ASN1_SIGNING),
        _ => Err(KmsCryptoError::IncorrectKeyMaterial),
    }
}

fn ml_dsa_signing(
    spec: KeySpec,
) -> Result<&'static signature::PqdsaSigningAlgorithm, KmsCryptoError> {
    match spec {
        KeySpec::MlDsa44 => Ok(&signature::ML_DSA_44_SIGNING),
        KeySpec::MlDsa65 => Ok(&signature::ML_DSA_65_SIGNING),
        KeySpec::MlDsa87 => Ok(&signature::ML_DSA_87_SIGNING),
        _ => Err(KmsCryptoError::IncorrectKeyMaterial),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_generates_and_round_trips() {
        for &spec in KeySpec::ALL {
            let m = KeyMaterial::generate(spec).unwrap();
            let back = KeyMaterial::from_bytes(spec, m.as_bytes()).unwrap();
            assert_eq!(back.as_bytes(), m.as_bytes(), "{spec}");
            assert_eq!(back.spec(), spec);
            if spec.is_asymmetric() {
                let der = m.public_key_der().unwrap();
                assert_eq!(der.first(), Some(&0x30), "{spec}: SPKI is a DER SEQUENCE");
                assert_eq!(back.public_key_der().unwrap(), der);
            } else {
                assert!(matches!(
                    m.public_key_der(),
                    Err(KmsCryptoError::UnsupportedSpec(_))
                ));
            }
        }
    }

    #[test]
    fn generated_sizes() {
        assert_eq!(
            KeyMaterial::generate(KeySpec::SymmetricDefault)
                .unwrap()
                .as_bytes()
                .len(),
            32
        );
        assert_eq!(
            KeyMaterial::generate(KeySpec::Hmac224)
                .unwrap()
                .as_bytes()
                .len(),
            28
        );
        assert_eq!(
            KeyMaterial::generate(KeySpec::Hmac512)
                .unwrap()
                .as_bytes()
                .len(),
            64
        );
        let a = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let b = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn from_bytes_rejects_mismatched_material() {
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        let rsa = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        let bad = |spec, bytes: &[u8]| KeyMaterial::from_bytes(spec, bytes).unwrap_err();
        assert_eq!(
            bad(KeySpec::EccNistP384, p256.as_bytes()),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::EccSecgP256k1, p256.as_bytes()),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::Rsa3072, rsa.as_bytes()),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::EccNistEdwards25519, rsa.as_bytes()),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::MlDsa44, p256.as_bytes()),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::SymmetricDefault, &[0u8; 31]),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::Hmac256, &[0u8; 31]),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert_eq!(
            bad(KeySpec::Hmac256, &[0u8; 65]),
            KmsCryptoError::IncorrectKeyMaterial
        );
        assert!(KeyMaterial::from_bytes(KeySpec::Hmac512, &[7u8; 128]).is_ok());
    }

    #[test]
    fn debug_never_shows_bytes() {
        let m = KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[0xAB; 32]).unwrap();
        let s = format!("{m:?}");
        assert!(
            s.contains("[redacted]") && !s.contains("171") && !s.to_lowercase().contains("ab, "),
            "{s}"
        );
    }

    #[test]
    fn material_ids_are_64_lower_hex_and_fresh() {
        let a = new_material_id();
        assert!(is_valid_material_id(&a), "{a}");
        assert_ne!(a, new_material_id());
        assert!(!is_valid_material_id(&a.to_uppercase()));
        assert!(!is_valid_material_id(&a[..63]));
    }
}
