//! Sealing secrets under the root key before they reach the store.
//!
//! The root key itself lives in [`portcullis_keyring`] (a key file or an HSM token over
//! PKCS#11); IAM takes it as an `Arc<dyn Sealer>`. A sealed value is bound to what it
//! belongs to (the access key id, the session) through the AEAD's associated data, so a
//! sealed secret copied onto another record does not open. This module re-exports the
//! keyring so existing paths stay valid.

pub use portcullis_keyring::{
    FileRootKey, Pkcs11Config, Pkcs11RootKey, ROOT_KEY_ENV, SealError, Sealer, write_private,
};
