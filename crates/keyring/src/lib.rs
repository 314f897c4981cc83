//! The root key that seals every stored secret.
//!
//! Secrets that Portcullis keeps (secret access keys, session tokens, KMS key material) are
//! sealed under one root key before they reach the store. [`Sealer`] is the narrow trait the
//! services use; two implementations exist:
//!
//! - [`FileRootKey`]: AES-256-GCM in this process, the key read from `PORTCULLIS_ROOT_KEY`
//!   or a file (created with mode 0600 on first start);
//! - [`Pkcs11RootKey`]: AES-256-GCM inside an HSM token reached over PKCS#11. The key is
//!   generated in the token as sensitive and non-extractable, and never leaves it.
//!
//! Both produce the same sealed shape, base64 of `nonce (12 bytes) || ciphertext || tag
//! (16 bytes)`, with the caller's `context` bound as associated data so a sealed value
//! copied onto another record does not open. The nonce is always drawn by us from the
//! system random generator, never by the token.
//!
//! Calls are blocking. The file key takes about a microsecond; a PKCS#11 call to a local
//! SoftHSM token takes some tens of microseconds and a network HSM more, so callers on an
//! async runtime may call [`Sealer`] inline for the occasional secret but should move bulk
//! work to `spawn_blocking`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod error;
mod file;
mod pkcs11;

pub use error::SealError;
pub use file::{FileRootKey, ROOT_KEY_ENV, write_private};
pub use pkcs11::{Pkcs11Config, Pkcs11RootKey};

use zeroize::Zeroizing;

/// Length of the random nonce at the front of every sealed value, in bytes (96 bits).
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag at the end of every sealed value, in bytes (128 bits).
pub const TAG_LEN: usize = 16;

/// Seals secrets under the root key.
///
/// Implementations: [`FileRootKey`] (AES-256-GCM in process) and [`Pkcs11RootKey`]
/// (AES-256-GCM inside an HSM token; the key is generated in the token, sensitive and
/// non-extractable, and never leaves it).
pub trait Sealer: Send + Sync + std::fmt::Debug + 'static {
    /// Seals `plaintext`, bound to `context` (the AEAD's associated data); the result is
    /// base64 text for the store.
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError>;

    /// Opens a value sealed by [`Sealer::seal`] under the same root key and `context`.
    /// A value that was altered, belongs to another context or was sealed under another
    /// key gives [`SealError::Open`].
    fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError>;

    /// Which kind of root key this is, for logs: `"file"` or `"pkcs11"`.
    fn kind(&self) -> &'static str;
}

/// Draws a fresh random nonce.
fn random_nonce() -> Result<[u8; NONCE_LEN], SealError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Random)?;
    Ok(nonce)
}

/// Decodes sealed text into its nonce and `ciphertext || tag`, refusing values too short to
/// hold both a nonce and a tag.
fn split_sealed(sealed: &str) -> Result<([u8; NONCE_LEN], Vec<u8>), SealError> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed.trim())
        .map_err(|_| SealError::Open)?;
    if raw.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Open);
    }
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Open)?;
    Ok((nonce, rest.to_vec()))
}

/// Joins a nonce and `ciphertext || tag` into sealed text.
fn join_sealed(nonce: &[u8; NONCE_LEN], ct_and_tag: &[u8]) -> String {
    use base64::Engine;
    let mut out = Vec::with_capacity(NONCE_LEN + ct_and_tag.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(ct_and_tag);
    base64::engine::general_purpose::STANDARD.encode(out)
}
