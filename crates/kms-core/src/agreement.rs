//! DeriveSharedSecret: ECDH (SP 800-56A, cofactor Diffie-Hellman) with NIST-curve keys
//! created for `KEY_AGREEMENT`. The raw shared secret (the x-coordinate) is returned; any
//! KDF is the caller's business, as in AWS.

use aws_lc_rs::agreement::{self, ECDH_P256, ECDH_P384, ECDH_P521, PrivateKey, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::error::KmsCryptoError;
use crate::material::KeyMaterial;
use crate::spec::KeySpec;

/// The one `KeyAgreementAlgorithmSpec`.
pub const KEY_AGREEMENT_ECDH: &str = "ECDH";

/// The ECDH shared secret between `material` and the peer's DER SubjectPublicKeyInfo.
/// A key that is not on a NIST curve → [`KmsCryptoError::AlgorithmNotForKey`]; a peer key
/// that is not SPKI DER, or is on another curve, or is not a valid point →
/// [`KmsCryptoError::Validation`].
pub fn derive_shared_secret(
    material: &KeyMaterial,
    peer_public_key_der: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    let alg = match material.spec() {
        KeySpec::EccNistP256 => &ECDH_P256,
        KeySpec::EccNistP384 => &ECDH_P384,
        KeySpec::EccNistP521 => &ECDH_P521,
        other => {
            return Err(KmsCryptoError::not_for_key(
                KEY_AGREEMENT_ECDH,
                other.as_str(),
            ));
        }
    };
    // AWS takes only DER SubjectPublicKeyInfo; aws-lc-rs would also take a bare SEC1
    // point, so insist on the outer SEQUENCE tag.
    if peer_public_key_der.first() != Some(&0x30) {
        return Err(bad_peer());
    }
    let private = PrivateKey::from_private_key_der(alg, material.as_bytes())
        .map_err(|_| KmsCryptoError::IncorrectKeyMaterial)?;
    let peer = UnparsedPublicKey::new(alg, peer_public_key_der);
    agreement::agree(&private, peer, bad_peer(), |secret| {
        Ok(Zeroizing::new(secret.to_vec()))
    })
}

fn bad_peer() -> KmsCryptoError {
    KmsCryptoError::Validation(
        "PublicKey must be a DER-encoded X.509 SubjectPublicKeyInfo on the key's curve".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_derive_the_same_secret() {
        for (spec, len) in [
            (KeySpec::EccNistP256, 32),
            (KeySpec::EccNistP384, 48),
            (KeySpec::EccNistP521, 66),
        ] {
            let a = KeyMaterial::generate(spec).unwrap();
            let b = KeyMaterial::generate(spec).unwrap();
            let ab = derive_shared_secret(&a, &b.public_key_der().unwrap()).unwrap();
            let ba = derive_shared_secret(&b, &a.public_key_der().unwrap()).unwrap();
            assert_eq!(ab.as_slice(), ba.as_slice(), "{spec}");
            assert_eq!(ab.len(), len);
            let c = KeyMaterial::generate(spec).unwrap();
            let ac = derive_shared_secret(&a, &c.public_key_der().unwrap()).unwrap();
            assert_ne!(ab.as_slice(), ac.as_slice());
        }
    }

    #[test]
    fn bad_peer_keys_are_validation_errors() {
        let a = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        let p384 = KeyMaterial::generate(KeySpec::EccNistP384).unwrap();
        let rsa = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        let mut der = KeyMaterial::generate(KeySpec::EccNistP256)
            .unwrap()
            .public_key_der()
            .unwrap();
        for peer in [
            p384.public_key_der().unwrap(),
            rsa.public_key_der().unwrap(),
            vec![],
            vec![0x30, 0x00],
        ] {
            assert!(matches!(
                derive_shared_secret(&a, &peer),
                Err(KmsCryptoError::Validation(_))
            ));
        }
        // Move the point off the curve.
        let last = der.len() - 1;
        der[last] ^= 1;
        assert!(matches!(
            derive_shared_secret(&a, &der),
            Err(KmsCryptoError::Validation(_))
        ));
        // A raw SEC1 point is not what AWS accepts.
        let raw = &a.public_key_der().unwrap()[26..];
        assert_eq!(raw.first(), Some(&0x04));
        assert!(matches!(
            derive_shared_secret(&a, raw),
            Err(KmsCryptoError::Validation(_))
        ));
    }

    #[test]
    fn non_nist_keys_cannot_agree() {
        for spec in [
            KeySpec::EccSecgP256k1,
            KeySpec::EccNistEdwards25519,
            KeySpec::SymmetricDefault,
        ] {
            let m = KeyMaterial::generate(spec).unwrap();
            assert!(matches!(
                derive_shared_secret(&m, &[0x30]),
                Err(KmsCryptoError::AlgorithmNotForKey { .. })
            ));
        }
    }
}
