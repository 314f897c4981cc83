//! The IAM and STS services.
//!
//! - [`model`]: users, roles, managed policies, access keys and STS sessions as stored.
//! - [`repo`]: reading and writing them in the store, with optimistic concurrency.
//! - [`sealing`]: secrets (secret access keys, session tokens) are sealed under the root
//!   key before they are stored, never kept in plaintext.
//! - [`authn`]: the [`portcullis_http::Authenticator`] that the listener uses.
//! - [`authz`]: [`authz::Authorizer`], the decision every service asks before acting.
//! - [`query`] and [`ops`]: the AWS Query protocol and one module per operation.
//! - [`bootstrap`]: first-start creation of the account and its admin user.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod authn;
pub mod authz;
pub mod bootstrap;
pub mod error;
pub mod managed;
pub mod model;
pub mod ops;
pub mod query;
pub mod repo;
pub mod sealing;
pub mod service;

pub use authn::IamAuthenticator;
pub use authz::Authorizer;
pub use bootstrap::{AdminKey, bootstrap};
pub use repo::Repo;
pub use sealing::{FileRootKey, Sealer};
pub use service::{IamService, StsService};
