//! The one error type of this crate.

/// Every way loading intel or simulating can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// A threat list could not be loaded.
    #[error("threat list `{name}`: {source}")]
    Intel {
        /// The list's name.
        name: String,
        /// What guard-core reported.
        source: portcullis_guard_core::GuardError,
    },
    /// `simulate` was asked for a scenario it does not know.
    #[error("unknown scenario `{name}` (known: {known})")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A stored baseline document does not decode.
    #[error("baseline document `{key}`: {message}")]
    Baseline {
        /// The document's key.
        key: String,
        /// Why it does not decode.
        message: String,
    },
    /// A GeoIP or ASN database does not open.
    #[error("{what}: {message}")]
    Geo {
        /// Which database (`geoip_db`, `asn_db`).
        what: String,
        /// The reader's message.
        message: String,
    },
    /// Compressing simulated output failed.
    #[error("gzip: {message}")]
    Gzip {
        /// The compressor's message.
        message: String,
    },
}
