//! Guard's log sources (files followed, stdin, HTTPS push, NATS JetStream) with checkpoints, feeding the detectors, and finding exports.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
