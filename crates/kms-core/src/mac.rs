//! GenerateMac and VerifyMac with `HMAC_*` keys (RFC 2104). The algorithm must match
//! the key's size; verification compares in constant time.

use aws_lc_rs::hmac;

use crate::algorithm::MacAlgorithm;
use crate::error::KmsCryptoError;
use crate::material::KeyMaterial;

/// The HMAC of `message` under an HMAC key. An algorithm that does not match the key
/// spec → [`KmsCryptoError::AlgorithmNotForKey`].
pub fn generate_mac(
    material: &KeyMaterial,
    alg: MacAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, KmsCryptoError> {
    let key = key_for(material, alg)?;
    Ok(hmac::sign(&key, message).as_ref().to_vec())
}

/// Whether `mac` is the HMAC of `message`, compared in constant time. A mismatch is
/// `Ok(false)` (the service answers `KMSInvalidMacException`).
pub fn verify_mac(
    material: &KeyMaterial,
    alg: MacAlgorithm,
    message: &[u8],
    mac: &[u8],
) -> Result<bool, KmsCryptoError> {
    let key = key_for(material, alg)?;
    Ok(hmac::verify(&key, message, mac).is_ok())
}

fn key_for(material: &KeyMaterial, alg: MacAlgorithm) -> Result<hmac::Key, KmsCryptoError> {
    if material.spec().mac_algorithm() != Some(alg) {
        return Err(KmsCryptoError::not_for_key(
            alg.as_str(),
            material.spec().as_str(),
        ));
    }
    Ok(hmac::Key::new(alg.hmac(), material.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::KeySpec;

    /// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const DATA: &[u8] = b"what do ya want for nothing?";
    const RFC4231_CASE2: [(KeySpec, MacAlgorithm, &str); 4] = [
        (
            KeySpec::Hmac224,
            MacAlgorithm::HmacSha224,
            "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
        ),
        (
            KeySpec::Hmac256,
            MacAlgorithm::HmacSha256,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            KeySpec::Hmac384,
            MacAlgorithm::HmacSha384,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
             8e2240ca5e69e2c78b3239ecfab21649",
        ),
        (
            KeySpec::Hmac512,
            MacAlgorithm::HmacSha512,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
    ];

    /// "Jefe" is shorter than any length AWS accepts for an HMAC key. HMAC zero-pads a
    /// short key to the hash's block size (RFC 2104 step 1), so "Jefe" followed by zeros
    /// up to the spec's minimum length is the same key and must give RFC 4231's values.
    fn jefe(spec: KeySpec) -> KeyMaterial {
        let min = spec.mac_algorithm().unwrap().output_len();
        let mut key = b"Jefe".to_vec();
        key.resize(min, 0);
        KeyMaterial::from_bytes(spec, &key).unwrap()
    }

    #[test]
    fn rfc4231_case_2() {
        for (spec, alg, expected) in RFC4231_CASE2 {
            let m = jefe(spec);
            let mac = generate_mac(&m, alg, DATA).unwrap();
            assert_eq!(hex::encode(&mac), expected, "{alg}");
            assert!(verify_mac(&m, alg, DATA, &mac).unwrap());
        }
    }

    #[test]
    fn verify_rejects_mismatches() {
        let m = jefe(KeySpec::Hmac256);
        let alg = MacAlgorithm::HmacSha256;
        let mut mac = generate_mac(&m, alg, DATA).unwrap();
        assert!(!verify_mac(&m, alg, b"what do ya want for nothing!", &mac).unwrap());
        assert!(!verify_mac(&m, alg, DATA, &mac[..31]).unwrap());
        mac[31] ^= 0x80;
        assert!(!verify_mac(&m, alg, DATA, &mac).unwrap());
        let other = KeyMaterial::generate(KeySpec::Hmac256).unwrap();
        let good = generate_mac(&m, alg, DATA).unwrap();
        assert!(!verify_mac(&other, alg, DATA, &good).unwrap());
    }

    #[test]
    fn algorithm_must_match_key_size() {
        let m = KeyMaterial::generate(KeySpec::Hmac384).unwrap();
        assert!(matches!(
            generate_mac(&m, MacAlgorithm::HmacSha256, DATA),
            Err(KmsCryptoError::AlgorithmNotForKey { .. })
        ));
        let aes = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        assert!(matches!(
            verify_mac(&aes, MacAlgorithm::HmacSha256, DATA, &[0; 32]),
            Err(KmsCryptoError::AlgorithmNotForKey { .. })
        ));
    }
}
