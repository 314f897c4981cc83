//! IAM core for Portcullis: the AWS IAM policy language and its evaluation, and
//! verification of SigV4-signed requests.
//!
//! This crate does no I/O. Callers look up principals, secrets and policies in the store,
//! then hand the values here and get a decision back.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod policy;
pub mod sigv4;
