//! The Inspector2 API (REST-JSON, scope inspector2): agent reports, findings, coverage, filters, SBOM exports.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
