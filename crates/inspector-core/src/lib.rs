//! Sans-I/O heart of Inspector vulnerability matching.
//!
//! * [`version`]: the [`version::Ecosystem`] enum and each ecosystem's version ordering.
//! * [`osv`]: OSV advisory types, the OSV range algorithm, severities (CVSS v3.x scoring).
//! * [`advisory_db`]: an in-memory index `(ecosystem, package) → advisories` loaded from bytes.
//! * [`lockfile`]: lockfile parsers (Cargo.lock, package-lock.json, yarn.lock, poetry.lock,
//!   Pipfile.lock, requirements.txt, go.mod, go.sum).
//! * [`scan`]: matching packages against the index into sorted findings.
//! * [`index`]: the persisted binary advisory index (`db import` writes it, `scan` reads it).
//! * [`archive`]: tar / tar.gz / zip readers feeding the loader.
//! * [`report`]: scan output as a table, Inspector2 findings JSON, SARIF 2.1.0, CycloneDX 1.4.
//! * [`checks`]: best-practice checks over an agent's inventory.
//! * [`inventory`]: what a host agent reports, and the deltas between reports.
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
pub mod archive;
pub mod checks;
pub mod error;
pub mod fs;
pub mod index;
pub mod inventory;
pub mod lockfile;
pub mod osv;
pub mod reachability;
pub mod report;
pub mod scan;
pub mod version;

pub use error::Error;
