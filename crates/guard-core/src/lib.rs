//! Sans-I/O heart of Portcullis Guard, the GuardDuty-compatible threat detector.
//!
//! * [`record`] — typed, borrowed-where-cheap records for CloudTrail, VPC Flow Logs and
//!   Route 53 Resolver query logs.
//! * [`decode`] — format detection and decoding of a chunk of bytes (a file's content,
//!   gzip or not) into records, with per-record errors that carry their location; a
//!   malformed record is counted and skipped, never stops the stream.
//! * [`intel`] — threat lists: IP sets (exact IPs, CIDRs, IP:port), domain lists with
//!   suffix matching, loaded from GuardDuty's list formats and from maltrail/IPsum trails,
//!   with GuardDuty's public-IP-only semantics.
//!
//! Nothing here touches files, sockets or the clock: bytes go in, records and matches
//! come out.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod decode;
pub mod error;
pub mod intel;
pub mod record;

pub use error::GuardError;
