//! Sign and Verify with `SIGN_VERIFY` keys (reference §4.5).
//!
//! * `RAW` messages are hashed with the algorithm's hash; `DIGEST` messages must already
//!   be that hash (length checked) and are signed without hashing again, so a `DIGEST`
//!   signature verifies as `RAW` over the original message and vice versa.
//! * RSA-PSS uses MGF1 with the same hash and a salt as long as the digest; RSA
//!   signatures are PKCS#1 (RFC 8017); ECDSA signatures are DER (X9.62 / RFC 3279).
//! * ECDSA hash and curve are paired as AWS pairs them: P-256 and secp256k1 with
//!   SHA-256, P-384 with SHA-384, P-521 with SHA-512.
//! * Ed25519 (`ED25519_SHA_512`) takes `RAW` only. `ED25519_PH_SHA_512` (Ed25519ph) is not
//!   offered by aws-lc-rs 1.19 and is refused with `UnsupportedAlgorithm`.
//! * ML-DSA signs `RAW` messages (pure ML-DSA, empty context). `EXTERNAL_MU` needs a
//!   μ-signing entry point aws-lc-rs 1.19 does not expose: `UnsupportedAlgorithm`.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{self, RsaEncoding, UnparsedPublicKey, VerificationAlgorithm};

use crate::algorithm::{MessageType, SigningAlgorithm};
use crate::error::KmsCryptoError;
use crate::material::KeyMaterial;
use crate::spec::{KeySpec, KeyUsage};

/// What to sign or verify, after the (spec, algorithm, message type) rules are applied.
enum Input<'a> {
    /// A digest for RSA / ECDSA.
    Digest(Digest),
    /// The message itself for Ed25519 and ML-DSA, which hash internally.
    Message(&'a [u8]),
}

/// Signs `message` with an asymmetric `SIGN_VERIFY` key.
pub fn sign(
    material: &KeyMaterial,
    alg: SigningAlgorithm,
    message_type: MessageType,
    message: &[u8],
) -> Result<Vec<u8>, KmsCryptoError> {
    let input = prepare(material.spec(), alg, message_type, message)?;
    let fail = |_| KmsCryptoError::internal("signing failed");
    match (material.spec(), input) {
        (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, Input::Digest(d)) => {
            let pair = material.rsa_key_pair()?;
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign_digest(rsa_encoding(alg)?, &d, &mut sig)
                .map_err(fail)?;
            Ok(sig)
        }
        (
            KeySpec::EccNistP256
            | KeySpec::EccNistP384
            | KeySpec::EccNistP521
            | KeySpec::EccSecgP256k1,
            Input::Digest(d),
        ) => Ok(material
            .ecdsa_key_pair()?
            .sign_digest(&d)
            .map_err(fail)?
            .as_ref()
            .to_vec()),
        (KeySpec::EccNistEdwards25519, Input::Message(m)) => Ok(material
            .ed25519_key_pair()?
            .try_sign(m)
            .map_err(fail)?
            .as_ref()
            .to_vec()),
        (KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87, Input::Message(m)) => {
            let pair = material.ml_dsa_key_pair()?;
            let mut sig = vec![0u8; pair.algorithm().signature_len()];
            let len = pair.sign(m, &mut sig).map_err(fail)?;
            sig.truncate(len);
            Ok(sig)
        }
        _ => Err(KmsCryptoError::not_for_key(
            alg.as_str(),
            material.spec().as_str(),
        )),
    }
}

/// Verifies `signature` over `message`. Returns `Ok(false)` for a signature that does not
/// verify (the service answers `KMSInvalidSignatureException`), and an error for requests
/// that are wrong before any signature is looked at.
pub fn verify(
    material: &KeyMaterial,
    alg: SigningAlgorithm,
    message_type: MessageType,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, KmsCryptoError> {
    let input = prepare(material.spec(), alg, message_type, message)?;
    let public = material.public_key_der()?;
    let key = UnparsedPublicKey::new(verification_algorithm(material.spec(), alg)?, &public);
    let ok = match input {
        Input::Digest(d) => key.verify_digest(&d, signature).is_ok(),
        Input::Message(m) => key.verify(m, signature).is_ok(),
    };
    Ok(ok)
}

/// Applies the spec/algorithm/message-type rules and computes the digest if needed.
fn prepare(
    spec: KeySpec,
    alg: SigningAlgorithm,
    message_type: MessageType,
    message: &[u8],
) -> Result<Input<'_>, KmsCryptoError> {
    if alg == SigningAlgorithm::Ed25519PhSha512 && spec == KeySpec::EccNistEdwards25519 {
        return Err(KmsCryptoError::UnsupportedAlgorithm(
            alg.as_str().to_owned(),
        ));
    }
    if !spec.signing_algorithms(KeyUsage::SignVerify).contains(&alg) {
        return Err(KmsCryptoError::not_for_key(alg.as_str(), spec.as_str()));
    }
    let wrong_type = || {
        KmsCryptoError::Validation(format!(
            "MessageType {message_type} is not valid for signing algorithm {alg}"
        ))
    };
    match (alg, message_type) {
        (SigningAlgorithm::MlDsaShake256, MessageType::Raw) => Ok(Input::Message(message)),
        (SigningAlgorithm::MlDsaShake256, MessageType::ExternalMu) => Err(
            KmsCryptoError::UnsupportedAlgorithm(format!("{alg} with MessageType EXTERNAL_MU")),
        ),
        (SigningAlgorithm::Ed25519Sha512, MessageType::Raw) => Ok(Input::Message(message)),
        (SigningAlgorithm::MlDsaShake256 | SigningAlgorithm::Ed25519Sha512, _)
        | (_, MessageType::ExternalMu) => Err(wrong_type()),
        (_, MessageType::Raw) => {
            let hash = alg.digest_algorithm().ok_or_else(wrong_type)?;
            Ok(Input::Digest(digest::digest(hash, message)))
        }
        (_, MessageType::Digest) => {
            let hash = alg.digest_algorithm().ok_or_else(wrong_type)?;
            if message.len() != hash.output_len() {
                return Err(KmsCryptoError::Validation(format!(
                    "Digest is {} bytes but {alg} requires a {}-byte digest",
                    message.len(),
                    hash.output_len()
                )));
            }
            Digest::import_less_safe(message, hash)
                .map(Input::Digest)
                .map_err(|_| KmsCryptoError::internal("digest import"))
        }
    }
}

fn rsa_encoding(alg: SigningAlgorithm) -> Result<&'static dyn RsaEncoding, KmsCryptoError> {
    use SigningAlgorithm::*;
    Ok(match alg {
        RsassaPssSha256 => &signature::RSA_PSS_SHA256,
        RsassaPssSha384 => &signature::RSA_PSS_SHA384,
        RsassaPssSha512 => &signature::RSA_PSS_SHA512,
        RsassaPkcs1V15Sha256 => &signature::RSA_PKCS1_SHA256,
        RsassaPkcs1V15Sha384 => &signature::RSA_PKCS1_SHA384,
        RsassaPkcs1V15Sha512 => &signature::RSA_PKCS1_SHA512,
        other => return Err(KmsCryptoError::not_for_key(other.as_str(), "RSA")),
    })
}

fn verification_algorithm(
    spec: KeySpec,
    alg: SigningAlgorithm,
) -> Result<&'static dyn VerificationAlgorithm, KmsCryptoError> {
    use SigningAlgorithm::*;
    Ok(match (spec, alg) {
        (_, RsassaPssSha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (_, RsassaPssSha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (_, RsassaPssSha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (_, RsassaPkcs1V15Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (_, RsassaPkcs1V15Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (_, RsassaPkcs1V15Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (KeySpec::EccNistP256, EcdsaSha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeySpec::EccSecgP256k1, EcdsaSha256) => &signature::ECDSA_P256K1_SHA256_ASN1,
        (KeySpec::EccNistP384, EcdsaSha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeySpec::EccNistP521, EcdsaSha512) => &signature::ECDSA_P521_SHA512_ASN1,
        (KeySpec::EccNistEdwards25519, Ed25519Sha512) => &signature::ED25519,
        (KeySpec::MlDsa44, MlDsaShake256) => &signature::ML_DSA_44,
        (KeySpec::MlDsa65, MlDsaShake256) => &signature::ML_DSA_65,
        (KeySpec::MlDsa87, MlDsaShake256) => &signature::ML_DSA_87,
        _ => return Err(KmsCryptoError::not_for_key(alg.as_str(), spec.as_str())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RsaParameters, RsaPssSaltLength};

    const MSG: &[u8] = b"the quick brown fox";

    fn signing_specs() -> impl Iterator<Item = KeySpec> {
        KeySpec::ALL
            .iter()
            .copied()
            .filter(|s| s.allows(KeyUsage::SignVerify))
    }

    #[test]
    fn every_spec_and_algorithm_signs_and_verifies_raw_and_digest() {
        for spec in signing_specs() {
            let m = KeyMaterial::generate(spec).unwrap();
            let public = m.public_key_der().unwrap();
            let algs = spec.signing_algorithms(KeyUsage::SignVerify);
            assert!(!algs.is_empty(), "{spec}");
            for alg in algs {
                let raw = sign(&m, alg, MessageType::Raw, MSG).unwrap();
                assert!(
                    verify(&m, alg, MessageType::Raw, MSG, &raw).unwrap(),
                    "{spec} {alg}"
                );
                assert!(!verify(&m, alg, MessageType::Raw, b"another message", &raw).unwrap());
                let mut bad = raw.clone();
                bad[raw.len() / 2] ^= 0x01;
                assert!(
                    !verify(&m, alg, MessageType::Raw, MSG, &bad).unwrap(),
                    "{spec} {alg}"
                );
                // Independent check: aws-lc-rs verifying against the SPKI, as a client would.
                let client =
                    UnparsedPublicKey::new(verification_algorithm(spec, alg).unwrap(), &public);
                assert!(
                    client.verify(MSG, &raw).is_ok(),
                    "{spec} {alg}: client verify"
                );

                if let Some(hash) = alg
                    .digest_algorithm()
                    .filter(|_| alg != SigningAlgorithm::Ed25519Sha512)
                {
                    let d = digest::digest(hash, MSG);
                    let from_digest = sign(&m, alg, MessageType::Digest, d.as_ref()).unwrap();
                    assert!(
                        verify(&m, alg, MessageType::Raw, MSG, &from_digest).unwrap(),
                        "{spec} {alg}: DIGEST sig as RAW"
                    );
                    assert!(
                        verify(&m, alg, MessageType::Digest, d.as_ref(), &raw).unwrap(),
                        "{spec} {alg}: RAW sig as DIGEST"
                    );
                    assert!(client.verify(MSG, &from_digest).is_ok());
                    let short = &d.as_ref()[1..];
                    assert!(matches!(
                        sign(&m, alg, MessageType::Digest, short),
                        Err(KmsCryptoError::Validation(_))
                    ));
                    // Hashing the digest again (moto's bug) would not verify.
                    assert!(!verify(&m, alg, MessageType::Raw, d.as_ref(), &from_digest).unwrap());
                }
            }
        }
    }

    #[test]
    fn ecdsa_signatures_are_der_and_rsa_are_modulus_sized() {
        let ec = KeyMaterial::generate(KeySpec::EccNistP384).unwrap();
        let sig = sign(&ec, SigningAlgorithm::EcdsaSha384, MessageType::Raw, MSG).unwrap();
        assert_eq!(sig.first(), Some(&0x30));
        assert_eq!(
            usize::from(sig[1]) + 2,
            sig.len(),
            "DER SEQUENCE length covers the rest"
        );
        let rsa = KeyMaterial::generate(KeySpec::Rsa3072).unwrap();
        let sig = sign(
            &rsa,
            SigningAlgorithm::RsassaPkcs1V15Sha256,
            MessageType::Raw,
            MSG,
        )
        .unwrap();
        assert_eq!(sig.len(), 384);
    }

    #[test]
    fn pss_salt_is_the_digest_length() {
        static SALT_32: RsaParameters =
            signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(32));
        static SALT_MAX: RsaParameters =
            signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);
        let m = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        let der = m.public_key_der().unwrap();
        let sig = sign(&m, SigningAlgorithm::RsassaPssSha256, MessageType::Raw, MSG).unwrap();
        let check = |alg: &'static RsaParameters| {
            UnparsedPublicKey::new(alg, &der).verify(MSG, &sig).is_ok()
        };
        assert!(check(&signature::RSA_PSS_2048_8192_SHA256));
        assert!(check(&SALT_32));
        assert!(
            !check(&SALT_MAX),
            "a max-salt (moto-style) verifier must reject a 32-byte salt"
        );
    }

    #[test]
    fn algorithm_must_fit_the_key() {
        let cases = [
            (KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha384),
            (KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha256),
            (KeySpec::EccNistP521, SigningAlgorithm::EcdsaSha384),
            (KeySpec::EccSecgP256k1, SigningAlgorithm::EcdsaSha512),
            (KeySpec::Rsa2048, SigningAlgorithm::EcdsaSha256),
            (KeySpec::EccNistP256, SigningAlgorithm::RsassaPssSha256),
            (KeySpec::EccNistEdwards25519, SigningAlgorithm::EcdsaSha512),
            (KeySpec::MlDsa44, SigningAlgorithm::Ed25519Sha512),
            (KeySpec::Rsa2048, SigningAlgorithm::MlDsaShake256),
            (KeySpec::Hmac256, SigningAlgorithm::RsassaPssSha256),
            (KeySpec::SymmetricDefault, SigningAlgorithm::EcdsaSha256),
        ];
        for (spec, alg) in cases {
            let m = KeyMaterial::generate(spec).unwrap();
            let expected = KmsCryptoError::not_for_key(alg.as_str(), spec.as_str());
            assert_eq!(
                sign(&m, alg, MessageType::Raw, MSG),
                Err(expected.clone()),
                "{spec} {alg}"
            );
            assert_eq!(
                verify(&m, alg, MessageType::Raw, MSG, &[0; 64]),
                Err(expected)
            );
        }
    }

    #[test]
    fn message_type_rules() {
        let ed = KeyMaterial::generate(KeySpec::EccNistEdwards25519).unwrap();
        let digest = [0u8; 64];
        assert!(matches!(
            sign(
                &ed,
                SigningAlgorithm::Ed25519Sha512,
                MessageType::Digest,
                &digest
            ),
            Err(KmsCryptoError::Validation(_))
        ));
        assert_eq!(
            sign(
                &ed,
                SigningAlgorithm::Ed25519PhSha512,
                MessageType::Digest,
                &digest
            ),
            Err(KmsCryptoError::UnsupportedAlgorithm(
                "ED25519_PH_SHA_512".into()
            ))
        );
        let ml = KeyMaterial::generate(KeySpec::MlDsa65).unwrap();
        assert!(matches!(
            sign(
                &ml,
                SigningAlgorithm::MlDsaShake256,
                MessageType::ExternalMu,
                &digest
            ),
            Err(KmsCryptoError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            sign(
                &ml,
                SigningAlgorithm::MlDsaShake256,
                MessageType::Digest,
                &digest
            ),
            Err(KmsCryptoError::Validation(_))
        ));
        let ec = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(matches!(
            sign(
                &ec,
                SigningAlgorithm::EcdsaSha256,
                MessageType::ExternalMu,
                &digest
            ),
            Err(KmsCryptoError::Validation(_))
        ));
    }
}
