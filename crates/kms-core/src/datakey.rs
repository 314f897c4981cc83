//! Random bytes and data keys: GenerateRandom, GenerateDataKey and GenerateDataKeyPair
//! (reference §4.3). The plaintext keys are fresh CSPRNG output, unrelated to any KMS key;
//! wrapping them is the service's job (with [`crate::encrypt_symmetric`]).

use zeroize::Zeroizing;

use crate::error::KmsCryptoError;
use crate::material::{KeyMaterial, random_vec};
use crate::spec::{DataKeyPairSpec, DataKeySpec};

/// The largest `NumberOfBytes` AWS accepts.
pub const MAX_RANDOM_BYTES: usize = 1024;

/// `n` random bytes, `1..=1024` (GenerateRandom's `NumberOfBytes`); otherwise
/// [`KmsCryptoError::Validation`].
pub fn random_bytes(n: usize) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    if !(1..=MAX_RANDOM_BYTES).contains(&n) {
        return Err(KmsCryptoError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy \
             constraint: Member must have value between 1 and {MAX_RANDOM_BYTES}"
        )));
    }
    random_vec(n).map(Zeroizing::new)
}

/// A plaintext data key: `spec`'s length, or `number_of_bytes` (`1..=1024`). Exactly one
/// of the two must be given, as in AWS; otherwise [`KmsCryptoError::Validation`].
pub fn generate_data_key(
    spec: Option<DataKeySpec>,
    number_of_bytes: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    match (spec, number_of_bytes) {
        (Some(spec), None) => random_bytes(spec.len()),
        (None, Some(n)) => random_bytes(n),
        (Some(_), Some(_)) => Err(KmsCryptoError::Validation(
            "KeySpec and NumberOfBytes cannot both be specified".into(),
        )),
        (None, None) => Err(KmsCryptoError::Validation(
            "Either KeySpec or NumberOfBytes must be specified".into(),
        )),
    }
}

/// A fresh key pair: the PKCS#8 DER private key and the DER SubjectPublicKeyInfo.
pub fn generate_data_key_pair(
    spec: DataKeyPairSpec,
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KmsCryptoError> {
    let material = KeyMaterial::generate(spec.key_spec())?;
    let public = material.public_key_der()?;
    Ok((Zeroizing::new(material.as_bytes().to_vec()), public))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{sign, verify};
    use crate::{MessageType, SigningAlgorithm};

    #[test]
    fn data_key_sizes() {
        assert_eq!(
            generate_data_key(Some(DataKeySpec::Aes256), None)
                .unwrap()
                .len(),
            32
        );
        assert_eq!(
            generate_data_key(Some(DataKeySpec::Aes128), None)
                .unwrap()
                .len(),
            16
        );
        assert_eq!(generate_data_key(None, Some(1)).unwrap().len(), 1);
        assert_eq!(generate_data_key(None, Some(1024)).unwrap().len(), 1024);
        let a = generate_data_key(Some(DataKeySpec::Aes256), None).unwrap();
        let b = generate_data_key(Some(DataKeySpec::Aes256), None).unwrap();
        assert_ne!(a.as_slice(), b.as_slice());
    }

    #[test]
    fn data_key_arguments_are_validated() {
        for (spec, n) in [
            (None, None),
            (Some(DataKeySpec::Aes256), Some(32)),
            (None, Some(0)),
            (None, Some(1025)),
        ] {
            assert!(matches!(
                generate_data_key(spec, n),
                Err(KmsCryptoError::Validation(_))
            ));
        }
        let Err(KmsCryptoError::Validation(msg)) = random_bytes(0) else {
            panic!("0 bytes must be rejected");
        };
        assert!(msg.contains("numberOfBytes"), "{msg}");
        assert_eq!(random_bytes(MAX_RANDOM_BYTES).unwrap().len(), 1024);
    }

    #[test]
    fn data_key_pairs_are_usable() {
        for &spec in DataKeyPairSpec::ALL {
            let (private, public) = generate_data_key_pair(spec).unwrap();
            let m = KeyMaterial::from_bytes(spec.key_spec(), &private).unwrap();
            assert_eq!(m.public_key_der().unwrap(), public, "{spec}");
        }
        let (private, _) = generate_data_key_pair(DataKeyPairSpec::EccNistP256).unwrap();
        let m = KeyMaterial::from_bytes(crate::KeySpec::EccNistP256, &private).unwrap();
        let alg = SigningAlgorithm::EcdsaSha256;
        let sig = sign(&m, alg, MessageType::Raw, b"m").unwrap();
        assert!(verify(&m, alg, MessageType::Raw, b"m", &sig).unwrap());
    }
}
