//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors from building or running the proxy. Per-request problems never surface here: they become HTTP
/// responses (4xx for the client's fault, 5xx for ours or the upstream's) and a log line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The configuration is inconsistent (a route names an unknown pool, a pool has no upstreams, ...). All problems
    /// found are listed, one per line.
    #[error("invalid proxy configuration:\n{0}")]
    Config(String),
    /// A listener could not bind its address.
    #[error("cannot bind listener {addr}: {source}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The operating-system error (also in the message, for log lines that print the error alone; the
        /// one-line report of a chain, `portcullis_common::report`, writes it once).
        source: std::io::Error,
    },
    /// A certificate or key file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file named in the configuration.
        path: PathBuf,
        /// The operating-system error (in the message too, as for `Bind`).
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or private key, or the key type is not supported.
    #[error("bad certificate or key in {path}: {reason}")]
    BadCertificate {
        /// The file named in the configuration.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A WAFv2 `LoggingConfiguration` could not be used.
    #[error("invalid logging configuration: {0}")]
    LoggingConfig(String),
    /// A log sink could not be set up (file not writable, writer thread not started).
    #[error("log sink: {what}: {source}")]
    LogSink {
        /// What was attempted.
        what: String,
        /// The operating-system error (in the message too, as for `Bind`).
        source: std::io::Error,
    },
    /// A worker thread or its tokio runtime could not be started.
    #[error("cannot start a proxy worker runtime: {0}")]
    Runtime(std::io::Error),
    /// rustls rejected the TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}
