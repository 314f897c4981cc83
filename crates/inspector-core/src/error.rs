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
    /// The persisted advisory index is corrupted, truncated or not an index at all.
    #[error("invalid advisory index: {0}")]
    InvalidIndex(String),
    /// The persisted advisory index was written in a format version this build cannot read.
    #[error("advisory index format version {0} is not supported (expected {expected}); re-import the database", expected = crate::index::FORMAT_VERSION)]
    UnsupportedIndexVersion(u32),
    /// An advisory archive (tar, tar.gz, zip) could not be read.
    #[error("invalid archive {path}: {reason}")]
    InvalidArchive {
        /// Path (or label) of the archive.
        path: String,
        /// What is wrong.
        reason: String,
    },
}
