//! Property tests of the symmetric ciphertext format, through the public API only.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use portcullis_kms_core::{
    EncryptionContext, KeyMaterial, KeySpec, KmsCryptoError, decrypt_symmetric, encrypt_symmetric,
    new_material_id, parse_ciphertext,
};
use proptest::prelude::*;

const KEY_ID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

fn material() -> &'static KeyMaterial {
    static M: OnceLock<KeyMaterial> = OnceLock::new();
    M.get_or_init(|| KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap())
}

fn material_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(new_material_id)
}

fn context_strategy() -> impl Strategy<Value = EncryptionContext> {
    prop::collection::btree_map("[a-zA-Z0-9:/_-]{1,12}", "\\PC{0,12}", 0..4)
        .prop_map(EncryptionContext)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trips(plaintext in prop::collection::vec(any::<u8>(), 0..512), ctx in context_strategy()) {
        let blob = encrypt_symmetric(KEY_ID, material_id(), material(), &plaintext, &ctx).unwrap();
        let header = parse_ciphertext(&blob).unwrap();
        prop_assert_eq!(header.key_id.as_str(), KEY_ID);
        prop_assert_eq!(header.material_id.as_str(), material_id());
        let reversed: EncryptionContext = ctx.0.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
        let decrypted = decrypt_symmetric(&blob, material(), &reversed).unwrap();
        prop_assert_eq!(decrypted.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn any_single_bit_flip_is_invalid_ciphertext(
        plaintext in prop::collection::vec(any::<u8>(), 0..64),
        ctx in context_strategy(),
        bit in any::<prop::sample::Index>(),
    ) {
        let mut blob = encrypt_symmetric(KEY_ID, material_id(), material(), &plaintext, &ctx).unwrap();
        let bit = bit.index(blob.len() * 8);
        blob[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(decrypt_symmetric(&blob, material(), &ctx), Err(KmsCryptoError::InvalidCiphertext));
    }

    #[test]
    fn any_other_context_is_invalid_ciphertext(
        ctx in context_strategy(),
        other in context_strategy(),
    ) {
        prop_assume!(ctx != other);
        let blob = encrypt_symmetric(KEY_ID, material_id(), material(), b"secret", &ctx).unwrap();
        prop_assert_eq!(decrypt_symmetric(&blob, material(), &other), Err(KmsCryptoError::InvalidCiphertext));
    }

    #[test]
    fn truncation_is_invalid_ciphertext(cut in 1usize..120) {
        let ctx = EncryptionContext::new();
        let blob = encrypt_symmetric(KEY_ID, material_id(), material(), b"some plaintext", &ctx).unwrap();
        let keep = blob.len().saturating_sub(cut);
        prop_assert_eq!(decrypt_symmetric(&blob[..keep], material(), &ctx), Err(KmsCryptoError::InvalidCiphertext));
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let parsed = parse_ciphertext(&bytes);
        if let Ok(h) = &parsed {
            prop_assert!(!h.key_id.is_empty() && h.material_id.len() == 64);
        } else {
            prop_assert_eq!(parsed, Err(KmsCryptoError::InvalidCiphertext));
        }
        prop_assert!(decrypt_symmetric(&bytes, material(), &EncryptionContext::new()).is_err());
    }

    #[test]
    fn parse_never_panics_on_mutated_valid_headers(len in 0u8..=255, tail in prop::collection::vec(any::<u8>(), 0..120)) {
        let mut bytes = vec![1u8, len];
        bytes.extend_from_slice(&tail);
        let _ = parse_ciphertext(&bytes);
        let _ = decrypt_symmetric(&bytes, material(), &EncryptionContext::new());
    }
}

#[test]
fn nonces_never_repeat() {
    let ctx = EncryptionContext(BTreeMap::from([("k".to_owned(), "v".to_owned())]));
    let nonce_at = 2 + KEY_ID.len() + 32;
    let mut nonces = HashSet::new();
    let mut blobs = HashSet::new();
    for _ in 0..20_000 {
        let blob =
            encrypt_symmetric(KEY_ID, material_id(), material(), b"same plaintext", &ctx).unwrap();
        assert!(
            nonces.insert(blob[nonce_at..nonce_at + 12].to_vec()),
            "nonce repeated"
        );
        assert!(blobs.insert(blob), "ciphertext repeated");
    }
}
