//! The one error type of the keyring.

/// Why loading the root key, sealing or opening failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The root key text (from `PORTCULLIS_ROOT_KEY` or the key file) is not 32 bytes of
    /// base64.
    #[error("the root key must be 32 bytes, base64-encoded")]
    BadRootKey,
    /// The sealed value was altered, belongs to another context, or was sealed under
    /// another root key.
    #[error("sealed value does not open under this root key")]
    Open,
    /// The system random generator failed while drawing a key or a nonce.
    #[error("random generator failed")]
    Random,
    /// Reading or writing the root key file failed.
    #[error("root key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// No slot of the PKCS#11 module holds a token with this label.
    #[error("no PKCS#11 token labelled {label:?} (tokens present: {present:?})")]
    TokenNotFound {
        /// The label asked for.
        label: String,
        /// Labels of the tokens the module does offer.
        present: Vec<String>,
    },
    /// The token refused the user PIN (wrong PIN, or the PIN is locked).
    #[error("the PKCS#11 token {token:?} refused the user PIN: {reason}")]
    BadPin {
        /// The token's label.
        token: String,
        /// What the module said (`PinIncorrect`, `PinLocked`, ...).
        reason: String,
    },
    /// The key found under the label is unfit to be the root key: it is extractable, not
    /// sensitive, not AES-256, or several keys share the label.
    #[error("PKCS#11 key {label:?} cannot be the root key: {reason}")]
    UnfitKey {
        /// The key label.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A PKCS#11 call failed for another reason (module not loadable, token error, ...).
    #[error("PKCS#11 {operation}: {detail}")]
    Pkcs11 {
        /// What was being done (`load module`, `login`, `encrypt`, ...).
        operation: &'static str,
        /// The module's answer.
        detail: String,
    },
}

impl SealError {
    /// A [`SealError::Pkcs11`] for `operation` from any displayable cause.
    pub(crate) fn pkcs11(operation: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Pkcs11 {
            operation,
            detail: e.to_string(),
        }
    }
}
