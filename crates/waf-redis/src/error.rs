//! The crate's error type.

/// Why a counter could not be built or a sync with Redis failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable (a zero flush interval, an empty key prefix, ...).
    #[error("invalid Redis rate counter configuration: {0}")]
    InvalidConfig(String),
    /// The Redis URL could not be parsed, or a Redis command failed (connection refused, reset,
    /// script error).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the configured I/O timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Redis answered with a reply of an unexpected shape.
    #[error("unexpected reply from redis: {0}")]
    Protocol(String),
}
