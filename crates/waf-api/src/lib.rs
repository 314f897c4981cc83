//! The AWS WAFv2 API (AWS JSON 1.1, `AWSWAF_20190729`) over the store: web ACLs, IP sets, regex
//! pattern sets, rule groups, associations with the Portcullis proxy listeners, logging
//! configuration, tags, managed rule groups, capacity and sampled requests.
//!
//! - [`arn`]: resource ARNs and the listener ARNs web ACLs are associated with ([`listener_arn`]).
//! - [`state`]: the store layout and IAM authorization; [`read`]: the read API proxy nodes poll
//!   ([`WafApi::revision`], [`WafApi::web_acl_for_resource`], [`WafApi::logging_configuration`]),
//!   plus the [`SampleSource`] `GetSampledRequests` reads.
//! - [`managed`]: the managed rule groups (Portcullis's nine and the OWASP CRS).
//! - [`ops`]: the operations; [`service`]: the [`portcullis_http::AwsService`] registered under `wafv2`.
//!
//! Shapes, parsing, validation and capacity come from `portcullis-waf-model`; every web ACL and rule
//! group is compiled with `portcullis-waf-core` before it is stored, so what the API accepts runs.
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
pub mod error;
pub mod input;
pub mod managed;
pub mod ops;
pub mod read;
pub mod service;
pub mod state;

pub use arn::{ListenerArn, listener_arn, parse_listener_arn};
pub use error::WafError;
pub use read::{ResolvedAcl, SampleSource};
pub use service::WafService;
pub use state::{Association, WafApi};
