//! Result types, shaped after Inspector2's `networkReachabilityDetails`.

use serde::{Deserialize, Serialize};

use super::ports::PortSet;

/// Transport protocol of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
}

impl Protocol {
    /// Inspector2's spelling: `TCP` / `UDP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
        }
    }
}

/// `openPortRange`: inclusive bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub begin: u16,
    /// Last port.
    pub end: u16,
}

/// One step of `networkPath.steps`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathStep {
    /// Resource id (`igw-…`, `rtb-…`, `acl-…`, `sg-…`, `eni-…`, `i-…`, `pcx-…`).
    pub component_id: String,
    /// CloudFormation-style type, e.g. `AWS::EC2::InternetGateway`.
    pub component_type: String,
    /// ARN when known (the describe outputs carry no region, so usually `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_arn: Option<String>,
}

/// `networkPath`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetworkPath {
    /// Traversed components, outside first (at most 30).
    pub steps: Vec<PathStep>,
}

/// Inspector2 `networkReachabilityDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkReachabilityDetails {
    /// The reachable range.
    pub open_port_range: PortRange,
    /// `TCP` / `UDP`.
    pub protocol: Protocol,
    /// The components on the way.
    pub network_path: NetworkPath,
}

/// Where traffic comes from (Inspector classic's "reachability route").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ReachabilityRoute {
    /// From the internet through an internet gateway.
    Internet {
        /// The gateway.
        #[serde(rename = "internetGatewayId")]
        internet_gateway_id: String,
    },
    /// From a peered VPC.
    PeeredVpc {
        /// The peering connection.
        #[serde(rename = "vpcPeeringConnectionId")]
        vpc_peering_connection_id: String,
        /// The peer VPC.
        #[serde(rename = "peerVpcId")]
        peer_vpc_id: String,
    },
}

impl ReachabilityRoute {
    /// True for the internet route.
    pub fn is_internet(&self) -> bool {
        matches!(self, Self::Internet { .. })
    }
}

/// One Inspector2-style finding: one (ENI, security group, route, protocol, port range).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachabilityFinding {
    /// The instance, when the ENI is attached to one.
    pub instance_id: Option<String>,
    /// The ENI.
    pub network_interface_id: String,
    /// The security group whose rules open the range.
    pub security_group_id: String,
    /// Where the traffic comes from.
    pub route: ReachabilityRoute,
    /// The details.
    pub network_reachability_details: NetworkReachabilityDetails,
}

/// Reachable ports of one ENI along one route (union over its security groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteExposure {
    /// The route.
    pub route: ReachabilityRoute,
    /// Reachable TCP ports.
    pub tcp: PortSet,
    /// Reachable UDP ports.
    pub udp: PortSet,
}

impl RouteExposure {
    /// The set for one protocol.
    pub fn ports(&self, protocol: Protocol) -> &PortSet {
        match protocol {
            Protocol::Tcp => &self.tcp,
            Protocol::Udp => &self.udp,
        }
    }
}

/// Everything known about one analysed ENI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EniReachability {
    /// The instance, when attached.
    pub instance_id: Option<String>,
    /// The ENI.
    pub network_interface_id: String,
    /// One entry per route with at least one open port.
    pub exposures: Vec<RouteExposure>,
}

impl EniReachability {
    /// Union of the ports reachable from the internet (through any IGW).
    pub fn internet_ports(&self, protocol: Protocol) -> PortSet {
        let mut out = PortSet::empty();
        for e in self.exposures.iter().filter(|e| e.route.is_internet()) {
            out.union_with(e.ports(protocol));
        }
        out
    }
}

/// The whole analysis result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReachabilityReport {
    /// Every analysed ENI, sorted by (instance, ENI).
    pub enis: Vec<EniReachability>,
    /// Findings, sorted.
    pub findings: Vec<ReachabilityFinding>,
}

impl ReachabilityReport {
    /// Union of the internet-reachable ports of all ENIs of `instance_id`.
    pub fn instance_internet_ports(&self, instance_id: &str, protocol: Protocol) -> PortSet {
        let mut out = PortSet::empty();
        for e in self
            .enis
            .iter()
            .filter(|e| e.instance_id.as_deref() == Some(instance_id))
        {
            out.union_with(&e.internet_ports(protocol));
        }
        out
    }
}
