//! The audit trail.
//!
//! [`AuditTrail`] is the [`AuditSink`](portcullis_common::audit::AuditSink) the API listener
//! hands a CloudTrail record for every call. Records are queued without blocking the
//! request, then a background task serializes each one once and stores batches of them in
//! the store's `audit` event stream, one transaction per batch (indexed by the `LookupEvents`
//! attributes; event ids and `ReadOnly` need no index rows), while a second task gathers
//! the same JSON texts into CloudTrail log files,
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz`,
//! each one `{"Records":[...]}` gzip-compressed. [`LookupService`] serves
//! `cloudtrail:LookupEvents` over the stored stream.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod files;
mod lookup;
mod trail;

pub use files::LogFileWriter;
pub use lookup::LookupService;
pub use trail::{AUDIT_STREAM, AuditTrail, TrailConfig};
