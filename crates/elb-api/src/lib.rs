//! The Elastic Load Balancing v2 API (AWS Query protocol, version 2015-12-01) over the store: the
//! load balancers, listeners, rules and target groups that the WAF proxy nodes serve.
//!
//! - [`model`]: what is stored, one [`model::World`] per account and region; [`arn`]: ARNs and ids.
//! - [`input`]: Query parameters and the structures built from them (actions, conditions, tags, targets).
//! - [`state`]: the store layout, the revision the nodes poll, IAM authorization (`elasticloadbalancing:<Op>`)
//!   and the [`state::HealthSource`] `DescribeTargetHealth` reads.
//! - [`ops`]: the operations; [`render`]: their XML; [`service`]: the [`portcullis_http::AwsService`]
//!   registered under `elasticloadbalancing`.
//!
//! What a node runs from this state is built in the binary (`waf_node::elb`): every listener becomes a proxy
//! listener named by its ARN, every target group with targets a pool named by its ARN, and rules become routes.
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
pub mod model;
pub mod ops;
pub mod render;
pub mod service;
pub mod state;

pub use error::ElbError;
pub use service::{ElbService, XMLNS};
pub use state::{ElbApi, HealthSource, bind_address};
