//! The GuardDuty API (REST-JSON, `guardduty`, API version 2017-11-28) over the store:
//! detectors, findings, filters (suppression rules), trusted IP and threat lists, tags.
//!
//! - [`state`]: the store layout, stored documents, ARNs and IAM authorization.
//! - [`criteria`]: `FindingCriteria` matching and `SortCriteria`.
//! - [`ingest`]: [`GuardApi::ingest_findings`], how detector findings enter the store
//!   (aggregation as GuardDuty does, ARCHIVE filters applied).
//! - [`analyze`]: [`GuardApi::analyze_files`], guard-detect over log files with the detector's
//!   threat lists and trusted IP list, then ingest.
//! - [`batch`]: [`GuardApi::ingest_batch`], the same merge in one transaction with a caller's
//!   own writes (log-source checkpoints).
//! - [`events`]: `PutEvents` (log records pushed over the API) and the [`EventSink`] hook.
//! - [`samples`]: `CreateSampleFindings` documents.
//! - [`wire`]: time formats and the finding document as the API renders it.
//! - [`ops`]: the operations and the method + path routing; [`service`]: the
//!   [`portcullis_http::AwsService`] registered under `guardduty`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod analyze;
pub mod batch;
pub mod criteria;
pub mod error;
pub mod events;
pub mod ingest;
pub mod ops;
pub mod samples;
pub mod service;
pub mod state;
pub mod wire;

pub use analyze::AnalyzeReport;
pub use batch::{BatchReport, Stored};
pub use error::GuardApiError;
pub use events::{BATCH_ID_HEADER, EventSink, PushReport};
pub use ingest::IngestReport;
pub use service::GuardService;
pub use state::GuardApi;
