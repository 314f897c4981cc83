//! KMS symmetric ciphertext blobs: `parse_ciphertext` and `decrypt_symmetric` on arbitrary
//! bytes never panic, and a forged blob never decrypts under a fixed key.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_kms_core::{
    EncryptionContext, KeyMaterial, KeySpec, decrypt_symmetric, parse_ciphertext,
};

fn material() -> &'static KeyMaterial {
    static M: OnceLock<KeyMaterial> = OnceLock::new();
    M.get_or_init(|| {
        KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[7u8; 32]).expect("256-bit AES key")
    })
}

fuzz_target!(|data: &[u8]| {
    let header = parse_ciphertext(data);
    let plain = decrypt_symmetric(data, material(), &EncryptionContext::new());
    // Anything that decrypts must at least have a well-formed header.
    if plain.is_ok() {
        assert!(
            header.is_ok(),
            "decrypted a blob whose header does not parse"
        );
    }
});
