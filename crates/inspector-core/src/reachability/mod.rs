//! Network reachability (Inspector's Network Reachability package), sans I/O.
//!
//! * [`model`]: serde types for the EC2 `describe-*` JSON bodies, tolerant of extra fields.
//! * [`load`]: loading a snapshot (`{"DescribeVpcs": {...}, ...}`) or single call bodies into a
//!   [`Network`].
//! * [`analysis`]: for every instance ENI, the TCP/UDP port ranges reachable from the internet
//!   (through an attached IGW) and from each active peered VPC, with the component path.
//! * [`output`]: Inspector2-shaped results (`networkReachabilityDetails`).
//! * [`exposure`]: the finding types (`RecognizedPortWithListener`, …, `NetworkExposure`) of
//!   an instance from its reachable ranges and its agent's listeners.
//! * [`ports`] / [`ipv4`]: port-interval sets and IPv4 CIDR blocks.
//!
//! Semantics (AWS VPC behaviour, see the reference §6.2): security groups are stateful and
//! allow-only (union of all groups' rules; group-reference sources never match internet
//! addresses); network ACLs are stateless and ordered (lowest `RuleNumber` first, first match
//! wins, implicit deny), so the reply must also pass the outbound ACL towards the client's
//! ephemeral port (a client may use any source port in 1024–65535, the range AWS documents);
//! routes use longest-prefix match over `active` IPv4 routes; internet ingress needs a public IP
//! or EIP on the ENI and the subnet's route back to the client pointing at an IGW attached to
//! the VPC (a NAT gateway never admits inbound traffic); peering needs an `active` connection and
//! routes through it on both sides.

pub mod analysis;
mod compiled;
pub mod exposure;
pub mod ipv4;
pub mod load;
pub mod model;
pub mod output;
pub mod ports;

pub use analysis::analyze;
pub use exposure::{NetworkFinding, NetworkFindingType, Severity, classify};
pub use load::Network;
pub use output::{
    EniReachability, NetworkPath, NetworkReachabilityDetails, PathStep, PortRange, Protocol,
    ReachabilityFinding, ReachabilityReport, ReachabilityRoute, RouteExposure,
};
pub use ports::PortSet;

/// Errors of the reachability module.
#[derive(Debug, thiserror::Error)]
pub enum ReachabilityError {
    /// The input is not valid JSON or does not have the `describe-*` shapes.
    #[error("invalid network description: {0}")]
    InvalidJson(#[from] serde_json::Error),
    /// The input is larger than [`load::MAX_INPUT_BYTES`].
    #[error("network description too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
}
