//! The crate's single error type.

use thiserror::Error;

/// Everything that can go wrong in inspector-core.
#[derive(Debug, Error)]
pub enum Error {
    /// An OSV document could not be decoded (JSON or YAML syntax, or a required field is missing).
    #[error("invalid OSV document {path}: {reason}")]
    InvalidOsv {
        /// Path (or label) of the offending document.
        path: String,
        /// Decoder message.
        reason: String,
    },
    /// An input exceeded a size bound.
    #[error("{what} too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A lockfile could not be parsed.
    #[error("invalid lockfile: {0}")]
    InvalidLockfile(String),
    /// A CVSS vector could not be parsed.
    #[error("invalid CVSS vector: {0}")]
    InvalidCvss(String),
    /// A filesystem operation failed (only the [`crate::fs`] helper does I/O).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
