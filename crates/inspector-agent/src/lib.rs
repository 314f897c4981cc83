//! The Inspector host agent: collects the host's inventory and reports changes to the server over mTLS.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
