//! Serde types for the JSON bodies of the EC2 `describe-*` calls (botocore `ec2` 2016-11-15
//! member names). Every field is optional or defaulted and unknown fields are ignored, so real
//! AWS output, CLI output and hand-written snapshots all load.

use serde::Deserialize;

/// `DescribeVpcs` → `Vpcs[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Vpc {
    /// `vpc-…` id.
    pub vpc_id: String,
    /// Primary IPv4 CIDR block.
    pub cidr_block: Option<String>,
    /// All associated IPv4 CIDR blocks.
    pub cidr_block_association_set: Vec<CidrBlockAssociation>,
    /// `available` / `pending`.
    pub state: Option<String>,
    /// Whether this is the region's default VPC.
    pub is_default: Option<bool>,
}

/// One entry of `CidrBlockAssociationSet` / `CidrBlockSet`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CidrBlockAssociation {
    /// The IPv4 block.
    pub cidr_block: Option<String>,
}

/// `DescribeSubnets` → `Subnets[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Subnet {
    /// `subnet-…` id.
    pub subnet_id: String,
    /// Owning VPC.
    pub vpc_id: Option<String>,
    /// IPv4 block.
    pub cidr_block: Option<String>,
    /// Availability zone name.
    pub availability_zone: Option<String>,
    /// Whether launches get a public IP.
    pub map_public_ip_on_launch: Option<bool>,
    /// `available` / `pending`.
    pub state: Option<String>,
}

/// `DescribeInternetGateways` → `InternetGateways[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InternetGateway {
    /// `igw-…` id.
    pub internet_gateway_id: String,
    /// VPC attachments.
    pub attachments: Vec<GatewayAttachment>,
}

/// An internet gateway's attachment to a VPC.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GatewayAttachment {
    /// Attached VPC.
    pub vpc_id: Option<String>,
    /// `available` / `attached` / `attaching` / `detaching` / `detached`.
    pub state: Option<String>,
}

/// `DescribeNatGateways` → `NatGateways[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NatGateway {
    /// `nat-…` id.
    pub nat_gateway_id: String,
    /// Subnet it lives in.
    pub subnet_id: Option<String>,
    /// VPC it lives in.
    pub vpc_id: Option<String>,
    /// `pending|failed|available|deleting|deleted`.
    pub state: Option<String>,
    /// `public` / `private`.
    pub connectivity_type: Option<String>,
}

/// `DescribeVpcPeeringConnections` → `VpcPeeringConnections[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpcPeeringConnection {
    /// `pcx-…` id.
    pub vpc_peering_connection_id: String,
    /// The requester side.
    pub requester_vpc_info: Option<PeeringVpcInfo>,
    /// The accepter side.
    pub accepter_vpc_info: Option<PeeringVpcInfo>,
    /// Status; only `active` connections carry traffic.
    pub status: Option<PeeringStatus>,
}

/// One side of a peering connection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeeringVpcInfo {
    /// The VPC on this side.
    pub vpc_id: Option<String>,
    /// Its primary block.
    pub cidr_block: Option<String>,
    /// All its blocks.
    pub cidr_block_set: Vec<CidrBlockAssociation>,
    /// Owning account.
    pub owner_id: Option<String>,
}

/// A peering connection's status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeeringStatus {
    /// `active`, `pending-acceptance`, `rejected`, …
    pub code: Option<String>,
}

/// `DescribeRouteTables` → `RouteTables[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteTable {
    /// `rtb-…` id.
    pub route_table_id: String,
    /// Owning VPC.
    pub vpc_id: Option<String>,
    /// Subnet / main / gateway associations.
    pub associations: Vec<RouteTableAssociation>,
    /// Routes.
    pub routes: Vec<Route>,
}

/// A route table association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteTableAssociation {
    /// Explicitly associated subnet.
    pub subnet_id: Option<String>,
    /// True for the VPC's main table.
    pub main: Option<bool>,
    /// Edge association to a gateway.
    pub gateway_id: Option<String>,
}

/// A route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Route {
    /// IPv4 destination.
    pub destination_cidr_block: Option<String>,
    /// IPv6 destination (not analysed).
    pub destination_ipv6_cidr_block: Option<String>,
    /// Prefix-list destination (not analysed).
    pub destination_prefix_list_id: Option<String>,
    /// `local`, `igw-…`, `vgw-…`.
    pub gateway_id: Option<String>,
    /// NAT gateway target.
    pub nat_gateway_id: Option<String>,
    /// Transit gateway target.
    pub transit_gateway_id: Option<String>,
    /// Peering target.
    pub vpc_peering_connection_id: Option<String>,
    /// ENI target.
    pub network_interface_id: Option<String>,
    /// Instance target.
    pub instance_id: Option<String>,
    /// Egress-only IGW target.
    pub egress_only_internet_gateway_id: Option<String>,
    /// `active` / `blackhole` / `filtered`.
    pub state: Option<String>,
}

/// `DescribeNetworkAcls` → `NetworkAcls[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAcl {
    /// `acl-…` id.
    pub network_acl_id: String,
    /// Owning VPC.
    pub vpc_id: Option<String>,
    /// True for the VPC's default ACL (used by subnets with no explicit association).
    pub is_default: Option<bool>,
    /// Subnet associations.
    pub associations: Vec<NetworkAclAssociation>,
    /// Rules, ingress and egress mixed.
    pub entries: Vec<NetworkAclEntry>,
}

/// A network ACL association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAclAssociation {
    /// Associated subnet.
    pub subnet_id: Option<String>,
}

/// A network ACL rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAclEntry {
    /// Evaluation order: lowest first.
    pub rule_number: i64,
    /// IP protocol number as a string (`"6"`, `"17"`, `"-1"`).
    pub protocol: Option<String>,
    /// `allow` / `deny`.
    pub rule_action: Option<String>,
    /// True for outbound rules.
    pub egress: bool,
    /// IPv4 block the rule matches (source for ingress, destination for egress).
    pub cidr_block: Option<String>,
    /// IPv6 block (not analysed).
    pub ipv6_cidr_block: Option<String>,
    /// Destination port range (TCP/UDP).
    pub port_range: Option<NaclPortRange>,
}

/// `PortRange` of a network ACL rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NaclPortRange {
    /// First port.
    pub from: Option<i64>,
    /// Last port.
    pub to: Option<i64>,
}

/// `DescribeSecurityGroups` → `SecurityGroups[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecurityGroup {
    /// `sg-…` id.
    pub group_id: String,
    /// Name.
    pub group_name: Option<String>,
    /// Owning VPC.
    pub vpc_id: Option<String>,
    /// Owning account.
    pub owner_id: Option<String>,
    /// Inbound rules.
    pub ip_permissions: Vec<IpPermission>,
    /// Outbound rules.
    pub ip_permissions_egress: Vec<IpPermission>,
}

/// A security group rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp`, `-1` or a protocol number.
    pub ip_protocol: Option<String>,
    /// First port (or ICMP type).
    pub from_port: Option<i64>,
    /// Last port (or ICMP code).
    pub to_port: Option<i64>,
    /// IPv4 sources.
    pub ip_ranges: Vec<IpRange>,
    /// IPv6 sources (not analysed).
    pub ipv6_ranges: Vec<serde_json::Value>,
    /// Prefix-list sources (not resolved: no prefix-list data in the snapshot).
    pub prefix_list_ids: Vec<serde_json::Value>,
    /// Security-group sources.
    pub user_id_group_pairs: Vec<UserIdGroupPair>,
}

/// An IPv4 source of a security group rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpRange {
    /// The block.
    pub cidr_ip: Option<String>,
}

/// A security-group source of a rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UserIdGroupPair {
    /// Referenced group.
    pub group_id: Option<String>,
    /// Its account.
    pub user_id: Option<String>,
    /// Peering connection for cross-VPC references.
    pub vpc_peering_connection_id: Option<String>,
}

/// A group reference on an ENI or instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GroupIdentifier {
    /// `sg-…` id.
    pub group_id: String,
    /// Name.
    pub group_name: Option<String>,
}

/// A public IP association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpAssociation {
    /// The public address.
    pub public_ip: Option<String>,
    /// EIP allocation.
    pub allocation_id: Option<String>,
    /// `amazon` or an account.
    pub ip_owner_id: Option<String>,
}

/// A private address of an ENI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PrivateIpAddress {
    /// The private address.
    pub private_ip_address: Option<String>,
    /// Whether it is the primary address.
    pub primary: Option<bool>,
    /// Public IP mapped to it.
    pub association: Option<IpAssociation>,
}

/// An ENI's attachment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EniAttachment {
    /// Attached instance.
    pub instance_id: Option<String>,
    /// Device index (0 = primary).
    pub device_index: Option<i64>,
    /// `attached`, …
    pub status: Option<String>,
}

/// `DescribeNetworkInterfaces` → `NetworkInterfaces[]`, also the entries of
/// `Instances[].NetworkInterfaces[]` (same member names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterface {
    /// `eni-…` id.
    pub network_interface_id: String,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// `interface`, `natGateway`, `load_balancer`, …
    pub interface_type: Option<String>,
    /// `in-use`, `available`, …
    pub status: Option<String>,
    /// Primary private address.
    pub private_ip_address: Option<String>,
    /// All private addresses.
    pub private_ip_addresses: Vec<PrivateIpAddress>,
    /// Security groups.
    pub groups: Vec<GroupIdentifier>,
    /// Attachment.
    pub attachment: Option<EniAttachment>,
    /// Public IP of the primary address.
    pub association: Option<IpAssociation>,
}

/// `DescribeInstances` → `Reservations[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Reservation {
    /// Instances.
    pub instances: Vec<Instance>,
}

/// An instance's state.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceState {
    /// `pending|running|shutting-down|terminated|stopping|stopped`.
    pub name: Option<String>,
}

/// `Reservations[].Instances[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Instance {
    /// `i-…` id.
    pub instance_id: String,
    /// Primary subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Primary private address.
    pub private_ip_address: Option<String>,
    /// Public address of the primary ENI.
    pub public_ip_address: Option<String>,
    /// State.
    pub state: Option<InstanceState>,
    /// ENIs (member names as in `DescribeNetworkInterfaces`).
    pub network_interfaces: Vec<NetworkInterface>,
    /// Security groups of the primary ENI.
    pub security_groups: Vec<GroupIdentifier>,
}

/// The union of the top-level members of every supported `describe-*` output. A single
/// call's body (e.g. `{"Vpcs": [...]}`) deserializes into it with the other lists empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeOutput {
    /// `DescribeVpcs`.
    pub vpcs: Vec<Vpc>,
    /// `DescribeSubnets`.
    pub subnets: Vec<Subnet>,
    /// `DescribeInternetGateways`.
    pub internet_gateways: Vec<InternetGateway>,
    /// `DescribeNatGateways`.
    pub nat_gateways: Vec<NatGateway>,
    /// `DescribeVpcPeeringConnections`.
    pub vpc_peering_connections: Vec<VpcPeeringConnection>,
    /// `DescribeRouteTables`.
    pub route_tables: Vec<RouteTable>,
    /// `DescribeNetworkAcls`.
    pub network_acls: Vec<NetworkAcl>,
    /// `DescribeSecurityGroups`.
    pub security_groups: Vec<SecurityGroup>,
    /// `DescribeNetworkInterfaces`.
    pub network_interfaces: Vec<NetworkInterface>,
    /// `DescribeInstances`.
    pub reservations: Vec<Reservation>,
}
