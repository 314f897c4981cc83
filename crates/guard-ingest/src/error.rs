//! The crate's one error type.

use portcullis_guard_api::GuardApiError;

/// Everything Guard's sources and exports can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The GuardDuty API (its store) refused or failed a read or write.
    #[error("guardduty: {0}")]
    Api(#[from] GuardApiError),
    /// The store failed reading or writing checkpoints.
    #[error("store: {0}")]
    Store(#[from] portcullis_store::StoreError),
    /// A source or export cannot be built from its configuration.
    #[error("{0}")]
    Config(String),
    /// A source names a detector that does not exist.
    #[error("no detector with id {0}")]
    NoDetector(String),
    /// Reading a log file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A stored checkpoint does not decode.
    #[error("checkpoint {key} does not decode: {reason}")]
    BadCheckpoint {
        /// Its key.
        key: String,
        /// Why.
        reason: String,
    },
    /// An export could not deliver (the batch is retried).
    #[error("export to {target}: {reason}")]
    Export {
        /// The export's target (file, URL, subject).
        target: String,
        /// Why.
        reason: String,
    },
    /// A NATS connection, stream or consumer operation failed.
    #[error("nats {what}: {reason}")]
    Nats {
        /// What was being done.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A background task ended abnormally.
    #[error("task: {0}")]
    Task(String),
}

/// Shorthand.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;
