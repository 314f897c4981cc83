//! The crate's single error type.
//!
//! Detection itself never fails (every byte string is a valid input); errors only arise when a caller
//! builds a [`crate::Fingerprint`] from text of its own.

/// Errors returned by this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fingerprint given as text was empty, longer than [`crate::Fingerprint::MAX_LEN`] bytes, or held a
    /// byte that is not printable ASCII.
    #[error("invalid SQLi fingerprint {text:?}: must be 1 to 8 printable ASCII bytes")]
    InvalidFingerprint {
        /// The rejected text.
        text: String,
    },
}
