//! RSA-OAEP encryption with RSA `ENCRYPT_DECRYPT` keys: real RSA, so a ciphertext a
//! client makes offline with the `GetPublicKey` DER decrypts here (reference §4.4).
//!
//! OAEP uses the same hash for the OAEP digest and MGF1, and an empty label. The largest
//! plaintext is `bytes(modulus) − 2·hashLen − 2`; the ciphertext is exactly the modulus
//! length.

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey,
};
use zeroize::Zeroizing;

use crate::algorithm::EncryptionAlgorithm;
use crate::error::KmsCryptoError;
use crate::material::{KeyMaterial, rsa_key_size};
use crate::spec::KeySpec;

/// The largest plaintext `alg` can encrypt under an RSA key of `spec`, or `None` if the
/// pair is not an RSA-OAEP one.
pub fn rsa_max_plaintext_len(spec: KeySpec, alg: EncryptionAlgorithm) -> Option<usize> {
    let modulus = rsa_key_size(spec).ok()?.len();
    let hash_len = match alg {
        EncryptionAlgorithm::RsaesOaepSha1 => 20,
        EncryptionAlgorithm::RsaesOaepSha256 => 32,
        EncryptionAlgorithm::SymmetricDefault => return None,
    };
    Some(modulus - 2 * hash_len - 2)
}

/// Encrypts with the public half of an RSA key. Empty or oversized plaintext →
/// [`KmsCryptoError::Validation`]; a non-RSA key or `SYMMETRIC_DEFAULT` →
/// [`KmsCryptoError::AlgorithmNotForKey`].
pub fn rsa_encrypt(
    material: &KeyMaterial,
    alg: EncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsCryptoError> {
    let (oaep, max) = oaep_for(material, alg)?;
    if plaintext.is_empty() || plaintext.len() > max {
        return Err(KmsCryptoError::Validation(format!(
            "plaintext of {} bytes is outside 1..={max} bytes allowed for {alg} with {}",
            plaintext.len(),
            material.spec()
        )));
    }
    let private = private_key(material)?;
    let public = OaepPublicEncryptingKey::new(private.public_key())
        .map_err(|_| KmsCryptoError::internal("RSA public key"))?;
    let mut out = vec![0u8; public.ciphertext_size()];
    let len = public
        .encrypt(oaep, plaintext, &mut out, None)
        .map_err(|_| KmsCryptoError::internal("RSA-OAEP encryption failed"))?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Decrypts RSA-OAEP ciphertext. Wrong length, wrong algorithm, wrong key or corrupted
/// input → [`KmsCryptoError::InvalidCiphertext`].
pub fn rsa_decrypt(
    material: &KeyMaterial,
    alg: EncryptionAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    let (oaep, _) = oaep_for(material, alg)?;
    let key = OaepPrivateDecryptingKey::new(private_key(material)?)
        .map_err(|_| KmsCryptoError::internal("RSA private key"))?;
    if ciphertext.len() != key.key_size_bytes() {
        return Err(KmsCryptoError::InvalidCiphertext);
    }
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let len = key
        .decrypt(oaep, ciphertext, &mut out, None)
        .map_err(|_| KmsCryptoError::InvalidCiphertext)?
        .len();
    out.truncate(len);
    Ok(out)
}

fn oaep_for(
    material: &KeyMaterial,
    alg: EncryptionAlgorithm,
) -> Result<(&'static OaepAlgorithm, usize), KmsCryptoError> {
    let oaep = match alg {
        EncryptionAlgorithm::RsaesOaepSha1 => &OAEP_SHA1_MGF1SHA1,
        EncryptionAlgorithm::RsaesOaepSha256 => &OAEP_SHA256_MGF1SHA256,
        EncryptionAlgorithm::SymmetricDefault => {
            return Err(KmsCryptoError::not_for_key(
                alg.as_str(),
                material.spec().as_str(),
            ));
        }
    };
    let max = rsa_max_plaintext_len(material.spec(), alg)
        .ok_or_else(|| KmsCryptoError::not_for_key(alg.as_str(), material.spec().as_str()))?;
    Ok((oaep, max))
}

pub(crate) fn private_key(material: &KeyMaterial) -> Result<PrivateDecryptingKey, KmsCryptoError> {
    PrivateDecryptingKey::from_pkcs8(material.as_bytes())
        .map_err(|_| KmsCryptoError::IncorrectKeyMaterial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::PublicEncryptingKey;

    /// Encrypts as a client would: only the SPKI DER from `GetPublicKey`, straight into
    /// aws-lc-rs, no code from this crate.
    fn client_encrypt(der: &[u8], oaep: &'static OaepAlgorithm, msg: &[u8]) -> Vec<u8> {
        let public =
            OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(der).unwrap()).unwrap();
        let mut out = vec![0u8; public.ciphertext_size()];
        public.encrypt(oaep, msg, &mut out, None).unwrap().to_vec()
    }

    #[test]
    fn offline_client_ciphertext_decrypts_for_every_size_and_hash() {
        for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
            let m = KeyMaterial::generate(spec).unwrap();
            let der = m.public_key_der().unwrap();
            for (alg, oaep) in [
                (EncryptionAlgorithm::RsaesOaepSha1, &OAEP_SHA1_MGF1SHA1),
                (
                    EncryptionAlgorithm::RsaesOaepSha256,
                    &OAEP_SHA256_MGF1SHA256,
                ),
            ] {
                let max = rsa_max_plaintext_len(spec, alg).unwrap();
                let msg = vec![0x5Au8; max];
                let ct = client_encrypt(&der, oaep, &msg);
                assert_eq!(ct.len(), rsa_key_size(spec).unwrap().len());
                assert_eq!(
                    rsa_decrypt(&m, alg, &ct).unwrap().as_slice(),
                    msg.as_slice()
                );
                // Our own encryption round-trips too, and is randomised.
                let ours = rsa_encrypt(&m, alg, b"secret").unwrap();
                assert_ne!(ours, rsa_encrypt(&m, alg, b"secret").unwrap());
                assert_eq!(rsa_decrypt(&m, alg, &ours).unwrap().as_slice(), b"secret");
            }
        }
    }

    #[test]
    fn documented_plaintext_limits() {
        use EncryptionAlgorithm::*;
        let limits = [
            (KeySpec::Rsa2048, 214, 190),
            (KeySpec::Rsa3072, 342, 318),
            (KeySpec::Rsa4096, 470, 446),
        ];
        for (spec, sha1, sha256) in limits {
            assert_eq!(rsa_max_plaintext_len(spec, RsaesOaepSha1), Some(sha1));
            assert_eq!(rsa_max_plaintext_len(spec, RsaesOaepSha256), Some(sha256));
        }
        let m = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        assert!(rsa_encrypt(&m, RsaesOaepSha256, &[1u8; 190]).is_ok());
        assert!(matches!(
            rsa_encrypt(&m, RsaesOaepSha256, &[1u8; 191]),
            Err(KmsCryptoError::Validation(_))
        ));
        assert!(matches!(
            rsa_encrypt(&m, RsaesOaepSha1, &[1u8; 215]),
            Err(KmsCryptoError::Validation(_))
        ));
        assert!(matches!(
            rsa_encrypt(&m, RsaesOaepSha1, &[]),
            Err(KmsCryptoError::Validation(_))
        ));
    }

    #[test]
    fn wrong_inputs() {
        use EncryptionAlgorithm::*;
        let m = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        let ct = rsa_encrypt(&m, RsaesOaepSha256, b"x").unwrap();
        assert_eq!(
            rsa_decrypt(&m, RsaesOaepSha1, &ct),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        assert_eq!(
            rsa_decrypt(&m, RsaesOaepSha256, &ct[1..]),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        let mut flipped = ct.clone();
        flipped[100] ^= 1;
        assert_eq!(
            rsa_decrypt(&m, RsaesOaepSha256, &flipped),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        let other = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        assert_eq!(
            rsa_decrypt(&other, RsaesOaepSha256, &ct),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        assert!(matches!(
            rsa_encrypt(&m, SymmetricDefault, b"x"),
            Err(KmsCryptoError::AlgorithmNotForKey { .. })
        ));
        let ec = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(matches!(
            rsa_encrypt(&ec, RsaesOaepSha256, b"x"),
            Err(KmsCryptoError::AlgorithmNotForKey { .. })
        ));
    }
}
