//! Sans-I/O heart of Inspector vulnerability matching.
//!
//! * [`version`]: the [`version::Ecosystem`] enum and each ecosystem's version ordering.
//! * [`osv`]: OSV advisory types, the OSV range algorithm, severities (CVSS v3.x scoring).
//! * [`advisory_db`]: an in-memory index `(ecosystem, package) → advisories` loaded from bytes.
//! * [`lockfile`]: lockfile parsers (Cargo.lock).
//! * [`scan`]: matching packages against the index into sorted findings.
//! * [`fs`]: a small directory walker feeding the loader (the only module doing I/O).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod advisory_db;
pub mod error;
pub mod fs;
pub mod lockfile;
pub mod osv;
pub mod reachability;
pub mod scan;
pub mod version;

pub use error::Error;
