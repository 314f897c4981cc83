//! The Inspector2 API (REST-JSON, `inspector2`, API version 2020-06-08) over the store, and
//! the ingestion of host agents' inventory reports.
//!
//! - [`ingest`]: `POST /agent/report` → stored inventory (full or delta) → findings kept in
//!   step with it ([`InspectorApi::ingest`]), and the advisory-index watcher.
//! - [`network`]: imported network descriptions → `NETWORK_REACHABILITY` findings per
//!   instance, with the listeners of the agent reporting that instance id.
//! - [`network_files`]: the description files (`inspector network import`, `[inspector]
//!   network_files`) imported at start and whenever they change.
//! - [`body`]: gzip-encoded report and network bodies, decoded under a cap.
//! - [`evaluate`]: an inventory → `PACKAGE_VULNERABILITY` findings (OSV index) and
//!   `CODE_VULNERABILITY` findings (failed best-practice checks).
//! - [`index`]: the advisory index file, reloaded off the request path.
//! - [`criteria`]: `FilterCriteria`, `CoverageFilterCriteria`, `ResourceFilterCriteria`,
//!   `SortCriteria`.
//! - [`sbom`]: CycloneDX 1.4 and SPDX 2.3 documents of a host.
//! - [`ops`]: the operations and the method + path routing; [`service`]: the
//!   [`portcullis_http::AwsService`] registered under `inspector2`.
//! - [`state`]: the store layout, records, ARNs and IAM authorization; [`error`]: the
//!   model's exceptions.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod body;
pub mod criteria;
pub mod error;
pub mod evaluate;
pub mod index;
pub mod ingest;
pub mod network;
pub mod network_files;
pub mod ops;
pub mod sbom;
pub mod service;
pub mod state;

pub use error::InspectorApiError;
pub use index::AdvisoryIndex;
pub use ingest::Ack;
pub use service::InspectorService;
pub use state::InspectorApi;
