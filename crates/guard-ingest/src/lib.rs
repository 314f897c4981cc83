//! Guard's continuous log sources and finding exports.
//!
//! - [`feed`]: one long-lived detection engine per detector; commits write new and updated
//!   findings into the GuardDuty API together with the sources' [`checkpoint`]s, in one
//!   transaction, so a restart neither loses nor double counts records.
//! - [`files`]: files, directories and globs, read once or followed (appended lines, new files,
//!   gzip and whole-document files once complete, rotation and truncation).
//! - [`push`]: records pushed over the API (`PutEvents`), processed before the reply.
//! - [`stdin`]: standard input (or any reader) as a stream of lines, without checkpoints.
//! - [`nats`]: NATS JetStream through a durable pull consumer shared by several workers, and the
//!   NATS export.
//! - [`export`]: findings as JSON lines to a file, stdout, a webhook or a NATS subject.
//!
//! [`start`] builds all of it from the `[guard]` configuration.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod checkpoint;
pub mod error;
pub mod export;
pub mod feed;
pub mod files;
pub mod nats;
pub mod push;
mod run;
pub mod stdin;

pub use error::IngestError;
pub use feed::{Feed, FeedSettings, Feeds};
pub use push::PushSink;
pub use run::{Running, start};
