//! The crate's error type.

use std::path::PathBuf;

/// Everything that can stop a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `.http` request file is malformed.
    #[error("{path}: {reason}")]
    HttpFile {
        /// The request file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A managed rule group file is not a valid WAFv2 `RuleGroup`.
    #[error("rule group {path}: {reason}")]
    RuleGroup {
        /// The rule group file.
        path: PathBuf,
        /// The parse or compile error.
        reason: String,
    },
    /// The benchmark web ACL could not be built or compiled.
    #[error("web ACL: {0}")]
    WebAcl(String),
    /// The SecLang rule set (engine settings + CRS) could not be loaded.
    #[error("SecLang rules: {0}")]
    SecLang(String),
    /// An engine gave a verdict other than the expected one, so its timing would be meaningless.
    #[error("unexpected verdict: {0}")]
    Verdict(String),
    /// The command line is wrong.
    #[error("usage: {0}")]
    Usage(String),
}

impl BenchError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> BenchError {
        BenchError::Io {
            path: path.into(),
            source,
        }
    }
}
