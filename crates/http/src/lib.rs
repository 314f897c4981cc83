//! The API listener shared by every AWS-compatible service.
//!
//! One HTTPS listener serves every API. For each request the [`pipeline`] answers
//! `/health` and `/metrics` itself; anything else must carry SigV4 credentials (or come
//! over an mTLS connection whose client certificate maps to a principal). The credential
//! scope's service name picks the registered [`service::AwsService`], which receives the
//! authenticated [`auth::Caller`] and returns an outcome; the pipeline renders errors in the
//! service's protocol, records metrics and hands a CloudTrail record to the audit sink.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod auth;
pub mod error;
pub mod metrics;
pub mod pipeline;
pub mod server;
pub mod service;
pub mod workers;
pub mod xml;

pub use auth::{Authenticator, Caller, CredentialSource, Credentials};
pub use error::{AwsError, Protocol};
pub use pipeline::{Pipeline, PipelineConfig};
pub use server::{ConnInfo, serve};
pub use service::{ApiOutcome, ApiRequest, AwsService, Registry, Reply};
pub use workers::ApiListener;
