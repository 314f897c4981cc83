//! The audit trail.
//!
//! [`AuditTrail`] is the [`AuditSink`](portcullis_common::audit::AuditSink) the API listener
//! hands a CloudTrail record for every call. Records are queued without blocking the
//! request, then a background task stores each one in the store's `audit` event stream
//! (indexed by the `LookupEvents` attributes) and gathers them into CloudTrail log files,
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz`,
//! each one `{"Records":[...]}` gzip-compressed. [`LookupService`] serves
//! `cloudtrail:LookupEvents` over the stored stream.

mod files;
mod lookup;
mod trail;

pub use files::LogFileWriter;
pub use lookup::LookupService;
pub use trail::{AUDIT_STREAM, AuditTrail, TrailConfig};
