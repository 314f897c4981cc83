//! The KMS service: the AWS KMS API (AWS JSON 1.1, `TrentService`) over `kms-core`.
//!
//! - [`model`]: keys (every version of their material sealed under the root key),
//!   aliases and grants as stored.
//! - [`state`]: key resolution (id, ARN, alias, alias ARN), the authorization decision
//!   (key policy, IAM policies and grants; explicit deny wins), the material cache.
//! - [`ops`]: one module per group of operations; handlers are thin: parse, resolve,
//!   authorize, check state and usage, call the core, render.
//! - [`scheduler`]: automatic rotations, deletions and material expiry when they fall due.
//! - [`service`]: the [`portcullis_http::AwsService`] registered under `kms`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod checks;
pub mod error;
pub mod grants;
pub mod input;
pub mod model;
pub mod ops;
pub mod scheduler;
pub mod service;
pub mod state;

pub use error::KmsError;
pub use service::KmsService;
pub use state::Kms;
