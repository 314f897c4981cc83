//! The one error type of the PKI crate.
//!
//! Variants carry the path, name or serial that caused them so that the CLI can say what
//! to fix. None of them ever carries private-key material: key parse failures name the
//! file, not its contents.

use std::path::PathBuf;

use time::OffsetDateTime;

/// Everything that can go wrong while opening the PKI directory, issuing, rotating or
/// revoking certificates, or building TLS configurations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Reading, writing, renaming or inspecting a file or directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A private key file is readable or writable by users other than its owner.
    #[error("private key file {path} has mode {mode:o}; it must be 0600 (owner only)")]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// Exactly one of the CA certificate and CA key exists, so the CA can neither be
    /// loaded nor safely re-created without destroying the other half.
    #[error("incomplete CA: {missing} is missing while its counterpart exists")]
    IncompleteCa {
        /// The file that is missing.
        missing: PathBuf,
    },

    /// A PEM input held no certificate, or the certificate could not be parsed as X.509.
    #[error("invalid certificate in {what}: {reason}")]
    InvalidCertificate {
        /// Where the certificate came from (a path or a description).
        what: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A PEM input held no private key, or the key could not be parsed.
    #[error("invalid private key in {what}")]
    InvalidKey {
        /// Where the key came from (a path or a description); never the key itself.
        what: String,
    },

    /// A private key does not belong to the certificate it is paired with.
    #[error("private key in {what} does not match its certificate")]
    KeyMismatch {
        /// The pair that disagrees.
        what: String,
    },

    /// The CA certificate is not valid now (expired or not yet valid); a new CA must be
    /// created deliberately, never silently.
    #[error("CA certificate is not valid now (valid {not_before} to {not_after})")]
    CaNotValid {
        /// Start of the CA's validity.
        not_before: OffsetDateTime,
        /// End of the CA's validity.
        not_after: OffsetDateTime,
    },

    /// A certificate presented as the CA is not a CA certificate.
    #[error("{what} is not a CA certificate")]
    NotCa {
        /// Where the certificate came from.
        what: String,
    },

    /// A server certificate was requested without any DNS name or IP address.
    #[error("a server certificate needs at least one DNS name or IP address")]
    NoNames,

    /// A server name is neither a valid DNS name nor an IP address.
    #[error("invalid server name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A client certificate's common name is empty, too long or holds control characters.
    #[error("invalid client name {name:?}: {reason}")]
    InvalidClientName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The principal ARN for a client certificate is not a well-formed ARN that fits in a
    /// URI (ASCII, no whitespace).
    #[error("invalid principal ARN {arn:?}: {reason}")]
    InvalidPrincipal {
        /// The rejected ARN.
        arn: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The requested validity is zero days or would outlive the CA.
    #[error("invalid validity of {days} days: {reason}")]
    InvalidValidity {
        /// The requested number of days.
        days: u32,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A serial number given by the user is not hexadecimal.
    #[error("invalid serial number {serial:?}: expected hexadecimal digits")]
    InvalidSerial {
        /// The rejected input.
        serial: String,
    },

    /// No certificate with this serial number was issued by this CA.
    #[error("no certificate with serial {serial} in the registry")]
    UnknownSerial {
        /// The normalised serial (lowercase hex).
        serial: String,
    },

    /// The CA's own certificate cannot be revoked; replace the CA instead.
    #[error("the CA certificate {serial} cannot be revoked")]
    CannotRevokeCa {
        /// The CA certificate's serial.
        serial: String,
    },

    /// A registry record exists but is not valid JSON of the expected shape.
    #[error("corrupt registry record {path}: {source}")]
    CorruptRecord {
        /// The record file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },

    /// Certificate generation or signing failed inside rcgen.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),

    /// The system random number generator failed.
    #[error("random number generator failed")]
    Random,

    /// rustls refused the configuration (for example an unusable key or no protocol
    /// versions).
    #[error("TLS configuration error: {0}")]
    Tls(#[from] rustls::Error),

    /// The client-certificate verifier could not be built from the CA.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

impl PkiError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
