//! The symmetric (`SYMMETRIC_DEFAULT`) ciphertext blob: self-describing, so `Decrypt`
//! needs no `KeyId`, and tamper-evident, so any change is `InvalidCiphertext`.
//!
//! # Format (version 1)
//!
//! ```text
//! offset  size  field
//! 0       1     version = 0x01
//! 1       1     L = length of the key id (1..=255)
//! 2       L     key id, ASCII [A-Za-z0-9-] (a UUID, or mrk-<32 hex> for multi-region keys)
//! 2+L     32    key material id (the 64-hex KeyMaterialId, as raw bytes)
//! 34+L    12    AES-GCM nonce, fresh from the CSPRNG for every encryption
//! 46+L    n+16  AES-256-GCM ciphertext of the n-byte plaintext, then the 16-byte tag
//! ```
//!
//! The additional authenticated data is the whole header (bytes `0 .. 46+L`, nonce
//! included) followed by [`EncryptionContext::canonical_bytes`]. A flipped bit anywhere,
//! another encryption context, or other key material therefore fails the tag check.
//! Overhead for a UUID key id is 98 bytes, well inside the 2048 bytes AWS leaves between
//! a 4096-byte plaintext and a 6144-byte ciphertext.
//!
//! Random 96-bit nonces bound one key version to about 2^32 encryptions (NIST SP 800-38D);
//! rotation creates new material and a new material id.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::context::EncryptionContext;
use crate::error::KmsCryptoError;
use crate::material::{KeyMaterial, is_valid_material_id, random_vec};
use crate::spec::KeySpec;

/// The format version this crate writes and reads.
pub const CIPHERTEXT_VERSION: u8 = 1;
const MATERIAL_ID_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// What a symmetric blob says about the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiphertextHeader {
    /// The key id (UUID or `mrk-…`), never an ARN or alias.
    pub key_id: String,
    /// The `KeyMaterialId` (64 lower-case hex) of the key version used.
    pub material_id: String,
}

/// Encrypts `plaintext` under `material` (which must be `SYMMETRIC_DEFAULT`) and returns
/// the blob described in the module docs. Size limits on `plaintext` are the service's.
pub fn encrypt_symmetric(
    key_id: &str,
    material_id: &str,
    material: &KeyMaterial,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<Vec<u8>, KmsCryptoError> {
    if material.spec() != KeySpec::SymmetricDefault {
        return Err(KmsCryptoError::not_for_key(
            "SYMMETRIC_DEFAULT",
            material.spec().as_str(),
        ));
    }
    let key_len = u8::try_from(key_id.len())
        .ok()
        .filter(|&l| l > 0 && valid_key_id(key_id.as_bytes()))
        .ok_or_else(|| KmsCryptoError::Validation(format!("invalid key id '{key_id}'")))?;
    if !is_valid_material_id(material_id) {
        return Err(KmsCryptoError::Validation(format!(
            "invalid key material id '{material_id}'"
        )));
    }
    let material_raw =
        hex::decode(material_id).map_err(|_| KmsCryptoError::internal("material id hex"))?;
    let nonce_bytes = random_vec(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes)
        .map_err(|_| KmsCryptoError::internal("nonce"))?;

    let mut blob = Vec::with_capacity(2 + key_id.len() + 44 + plaintext.len() + TAG_LEN);
    blob.push(CIPHERTEXT_VERSION);
    blob.push(key_len);
    blob.extend_from_slice(key_id.as_bytes());
    blob.extend_from_slice(&material_raw);
    blob.extend_from_slice(&nonce_bytes);
    let aad = aad(&blob, context);

    let key = aes_key(material)?;
    let mut in_out = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::from(aad.as_slice()), &mut in_out)
        .map_err(|_| KmsCryptoError::internal("AES-GCM seal failed"))?;
    blob.extend_from_slice(&in_out);
    blob.extend_from_slice(tag.as_ref());
    Ok(blob)
}

/// Reads the header of a symmetric blob without decrypting it. Anything malformed
/// (unknown version, bad lengths, bad key id characters, no room for the tag) →
/// [`KmsCryptoError::InvalidCiphertext`]. Never panics, whatever the input.
pub fn parse_ciphertext(blob: &[u8]) -> Result<CiphertextHeader, KmsCryptoError> {
    parse(blob).map(|p| p.header)
}

/// Decrypts a blob made by [`encrypt_symmetric`] with the material its header names.
/// Any tampering, another context or other material → [`KmsCryptoError::InvalidCiphertext`],
/// with no further detail.
pub fn decrypt_symmetric(
    blob: &[u8],
    material: &KeyMaterial,
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, KmsCryptoError> {
    if material.spec() != KeySpec::SymmetricDefault {
        return Err(KmsCryptoError::InvalidCiphertext);
    }
    let parsed = parse(blob)?;
    let (header_bytes, sealed) = blob
        .split_at_checked(parsed.header_len)
        .ok_or(KmsCryptoError::InvalidCiphertext)?;
    let nonce_start = parsed.header_len - NONCE_LEN;
    let nonce = header_bytes
        .get(nonce_start..)
        .and_then(|n| Nonce::try_assume_unique_for_key(n).ok())
        .ok_or(KmsCryptoError::InvalidCiphertext)?;
    let aad = aad(header_bytes, context);
    let key = aes_key(material)?;
    let mut in_out = Zeroizing::new(sealed.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad.as_slice()), &mut in_out)
        .map_err(|_| KmsCryptoError::InvalidCiphertext)?
        .len();
    in_out.truncate(plain_len);
    Ok(in_out)
}

struct Parsed {
    header: CiphertextHeader,
    header_len: usize,
}

fn parse(blob: &[u8]) -> Result<Parsed, KmsCryptoError> {
    let bad = || KmsCryptoError::InvalidCiphertext;
    let (&version, rest) = blob.split_first().ok_or_else(bad)?;
    if version != CIPHERTEXT_VERSION {
        return Err(bad());
    }
    let (&key_len, rest) = rest.split_first().ok_or_else(bad)?;
    let key_len = usize::from(key_len);
    let (key_id, rest) = rest.split_at_checked(key_len).ok_or_else(bad)?;
    if key_len == 0 || !valid_key_id(key_id) {
        return Err(bad());
    }
    let (material, rest) = rest.split_at_checked(MATERIAL_ID_LEN).ok_or_else(bad)?;
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(bad());
    }
    Ok(Parsed {
        header: CiphertextHeader {
            key_id: String::from_utf8(key_id.to_vec()).map_err(|_| bad())?,
            material_id: hex::encode(material),
        },
        header_len: 2 + key_len + MATERIAL_ID_LEN + NONCE_LEN,
    })
}

fn valid_key_id(id: &[u8]) -> bool {
    id.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

fn aad(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(&context.canonical_bytes());
    aad
}

fn aes_key(material: &KeyMaterial) -> Result<LessSafeKey, KmsCryptoError> {
    UnboundKey::new(&AES_256_GCM, material.as_bytes())
        .map(LessSafeKey::new)
        .map_err(|_| KmsCryptoError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::material::new_material_id;

    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().copied().collect()
    }

    #[test]
    fn round_trip_with_context_and_header() {
        let m = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let mid = new_material_id();
        let c = ctx(&[("purpose", "test"), ("tenant", "a")]);
        let blob = encrypt_symmetric(KEY_ID, &mid, &m, b"hello", &c).unwrap();
        assert_eq!(blob.len(), 2 + KEY_ID.len() + 32 + 12 + 5 + 16);
        let h = parse_ciphertext(&blob).unwrap();
        assert_eq!(
            h,
            CiphertextHeader {
                key_id: KEY_ID.into(),
                material_id: mid
            }
        );
        let reordered = ctx(&[("tenant", "a"), ("purpose", "test")]);
        assert_eq!(
            decrypt_symmetric(&blob, &m, &reordered).unwrap().as_slice(),
            b"hello"
        );
        let wrong_case = ctx(&[("purpose", "Test"), ("tenant", "a")]);
        assert_eq!(
            decrypt_symmetric(&blob, &m, &wrong_case),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        assert_eq!(
            decrypt_symmetric(&blob, &m, &ctx(&[])),
            Err(KmsCryptoError::InvalidCiphertext)
        );
    }

    #[test]
    fn mrk_ids_and_empty_plaintext() {
        let m = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let id = "mrk-1234abcd12ab34cd56ef1234567890ab";
        let blob = encrypt_symmetric(id, &new_material_id(), &m, b"", &ctx(&[])).unwrap();
        assert_eq!(parse_ciphertext(&blob).unwrap().key_id, id);
        assert!(decrypt_symmetric(&blob, &m, &ctx(&[])).unwrap().is_empty());
    }

    #[test]
    fn other_material_is_invalid_ciphertext() {
        let m = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let other = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let blob = encrypt_symmetric(KEY_ID, &new_material_id(), &m, b"x", &ctx(&[])).unwrap();
        assert_eq!(
            decrypt_symmetric(&blob, &other, &ctx(&[])),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        let hmac = KeyMaterial::generate(KeySpec::Hmac256).unwrap();
        assert_eq!(
            decrypt_symmetric(&blob, &hmac, &ctx(&[])),
            Err(KmsCryptoError::InvalidCiphertext)
        );
    }

    #[test]
    fn encrypt_rejects_bad_inputs() {
        let m = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let mid = new_material_id();
        let e = |id: &str, mid: &str| encrypt_symmetric(id, mid, &m, b"x", &ctx(&[])).unwrap_err();
        assert!(matches!(e("", &mid), KmsCryptoError::Validation(_)));
        assert!(matches!(e("alias/x", &mid), KmsCryptoError::Validation(_)));
        assert!(matches!(
            e(&"a".repeat(256), &mid),
            KmsCryptoError::Validation(_)
        ));
        assert!(matches!(
            e(KEY_ID, &mid.to_uppercase()),
            KmsCryptoError::Validation(_)
        ));
        let hmac = KeyMaterial::generate(KeySpec::Hmac256).unwrap();
        assert!(matches!(
            encrypt_symmetric(KEY_ID, &mid, &hmac, b"x", &ctx(&[])),
            Err(KmsCryptoError::AlgorithmNotForKey { .. })
        ));
    }

    #[test]
    fn malformed_headers_are_invalid() {
        let m = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let blob = encrypt_symmetric(KEY_ID, &new_material_id(), &m, b"x", &ctx(&[])).unwrap();
        let mut v2 = blob.clone();
        v2[0] = 2;
        assert_eq!(
            parse_ciphertext(&v2),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        assert_eq!(
            parse_ciphertext(&blob[..blob.len() - 1 - 16]),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        assert!(
            parse_ciphertext(&blob[..blob.len() - 1]).is_ok(),
            "empty plaintext still parses"
        );
        assert_eq!(
            parse_ciphertext(&[]),
            Err(KmsCryptoError::InvalidCiphertext)
        );
        assert_eq!(
            parse_ciphertext(&[1, 0]),
            Err(KmsCryptoError::InvalidCiphertext)
        );
    }
}
