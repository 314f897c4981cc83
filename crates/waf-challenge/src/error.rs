//! The crate's one error type.

/// Why a key, a puzzle answer or a verification request was refused.
///
/// Every variant is a client-side or configuration problem; none carries secret material, so they may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// A token key is shorter than [`crate::MIN_KEY_LEN`] or longer than [`crate::MAX_KEY_LEN`] bytes.
    #[error("token key must be {min}..={max} bytes, got {len}")]
    KeyLength {
        /// The length that was given.
        len: usize,
        /// The minimum length.
        min: usize,
        /// The maximum length.
        max: usize,
    },
    /// A key given as text is not base64.
    #[error("token key is not valid base64")]
    KeyEncoding,
    /// [`crate::TokenKeys::new`] was given no key.
    #[error("at least one token key is required")]
    NoKeys,
    /// A configuration value is out of range.
    #[error("invalid interstitial configuration: {0}")]
    Config(&'static str),
    /// The verification request body is not a form, is too large, or lacks a field.
    #[error("malformed verification request: {0}")]
    Malformed(&'static str),
    /// The signed puzzle does not verify under any configured key, or is unreadable.
    #[error("puzzle signature invalid")]
    BadSignature,
    /// The puzzle is older than its validity period, or dated in the future.
    #[error("puzzle expired")]
    Expired,
    /// The puzzle was issued for another host.
    #[error("puzzle issued for another host")]
    WrongHost,
    /// The puzzle was issued to another client (IP prefix / User-Agent).
    #[error("puzzle issued to another client")]
    WrongClient,
    /// The proof-of-work counter does not give enough leading zero bits.
    #[error("proof of work insufficient")]
    BadProof,
    /// The CAPTCHA answer is wrong.
    #[error("wrong CAPTCHA answer")]
    WrongAnswer,
}
