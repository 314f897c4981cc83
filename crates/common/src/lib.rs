//! Shared vocabulary for every Portcullis crate.
//!
//! Nothing here does I/O: identifiers (account ids, ARNs), the injected [`Clock`],
//! secret wrappers that never print or linger, the audit event type that services
//! emit and the audit trail records, and the one-line [`report()`] of an error chain.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod arn;
pub mod audit;
pub mod clock;
pub mod ids;
pub mod json;
pub mod net;
pub mod report;
pub mod secret;

pub use arn::{AccountId, Arn, ArnError};
pub use clock::{Clock, FixedClock, SystemClock};
pub use report::report;
pub use secret::{Secret, constant_time_eq};

/// The partition every ARN Portcullis issues lives in.
pub const PARTITION: &str = "aws";

/// The account created on first start unless configured otherwise.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

/// The region Portcullis reports when a client does not name one.
pub const DEFAULT_REGION: &str = "us-east-1";
