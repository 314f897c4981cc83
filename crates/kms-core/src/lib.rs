//! Sans-I/O cryptography for the Portcullis KMS service.
//!
//! This crate knows every key spec and algorithm name AWS KMS uses, generates and
//! validates key material, defines the self-describing symmetric ciphertext format,
//! and performs every cryptographic operation KMS offers (encrypt/decrypt, sign/verify,
//! MACs, ECDH, data keys, BYOK unwrapping). All primitives come from `aws-lc-rs`; none
//! are written here. Nothing in this crate touches the network, the store, the clock or
//! the filesystem: values go in, bytes and decisions come out.
//!
//! Key material is held in zeroizing buffers whose `Debug` prints `[redacted]`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod names;

pub mod agreement;
pub mod algorithm;
pub mod asymmetric;
pub mod ciphertext;
pub mod context;
pub mod datakey;
pub mod error;
pub mod import;
pub mod mac;
pub mod material;
pub mod sign;
pub mod spec;

pub use agreement::{KEY_AGREEMENT_ECDH, derive_shared_secret};
pub use algorithm::{EncryptionAlgorithm, MacAlgorithm, MessageType, SigningAlgorithm};
pub use asymmetric::{rsa_decrypt, rsa_encrypt, rsa_max_plaintext_len};
pub use ciphertext::{
    CIPHERTEXT_VERSION, CiphertextHeader, decrypt_symmetric, encrypt_symmetric, parse_ciphertext,
};
pub use context::EncryptionContext;
pub use datakey::{MAX_RANDOM_BYTES, generate_data_key, generate_data_key_pair, random_bytes};
pub use error::KmsCryptoError;
pub use import::{
    ImportParameters, WrappingAlgorithm, WrappingKeySpec, generate_import_parameters,
    unwrap_imported_material,
};
pub use mac::{generate_mac, verify_mac};
pub use material::{KeyMaterial, MATERIAL_ID_HEX_LEN, is_valid_material_id, new_material_id};
pub use sign::{sign, verify};
pub use spec::{DataKeyPairSpec, DataKeySpec, KeySpec, KeyUsage};
