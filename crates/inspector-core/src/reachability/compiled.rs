//! Compiled forms of route tables, network ACLs and security groups: CIDRs parsed, rules
//! sorted, ports as [`PortSet`]s, ready for repeated evaluation.

use super::ipv4::Cidr;
use super::model::{IpPermission, NetworkAcl, NetworkAclEntry, RouteTable, SecurityGroup};
use super::output::Protocol;
use super::ports::PortSet;

/// Which protocols a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtoMatch {
    /// Every protocol.
    Any,
    /// One of TCP/UDP.
    One(Protocol),
    /// A protocol outside TCP/UDP (ICMP, …): never matches TCP/UDP traffic.
    Other,
}

impl ProtoMatch {
    /// Parses a NACL (`"6"`, `"17"`, `"-1"`) or SG (`"tcp"`, `"udp"`, `"-1"`) protocol.
    pub(crate) fn parse(s: Option<&str>) -> Self {
        match s.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            Some("-1" | "all") => Self::Any,
            Some("6" | "tcp") => Self::One(Protocol::Tcp),
            Some("17" | "udp") => Self::One(Protocol::Udp),
            _ => Self::Other,
        }
    }

    /// True when traffic of `p` matches.
    pub(crate) fn matches(self, p: Protocol) -> bool {
        match self {
            Self::Any => true,
            Self::One(q) => q == p,
            Self::Other => false,
        }
    }
}

fn port_set(from: Option<i64>, to: Option<i64>) -> PortSet {
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => {
            let f = u16::try_from(f.min(65535)).unwrap_or(u16::MAX);
            let t = u16::try_from(t.min(65535)).unwrap_or(u16::MAX);
            PortSet::range(f, t)
        }
        _ => PortSet::all(),
    }
}

/// What a route sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Inside the VPC.
    Local,
    /// An internet gateway.
    Igw(String),
    /// A peering connection.
    Pcx(String),
    /// Anything else (NAT, VGW, TGW, ENI, instance, egress-only IGW, unknown).
    Other,
}

/// A route table with active IPv4 routes.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRtb {
    pub(crate) id: String,
    routes: Vec<(Cidr, Target)>,
}

impl CompiledRtb {
    pub(crate) fn new(rt: &RouteTable) -> Self {
        let mut routes = Vec::new();
        for r in &rt.routes {
            if r.state.as_deref().is_some_and(|s| s != "active") {
                continue;
            }
            let Some(cidr) = r.destination_cidr_block.as_deref().and_then(Cidr::parse) else {
                continue;
            };
            let target = if let Some(pcx) = &r.vpc_peering_connection_id {
                Target::Pcx(pcx.clone())
            } else if r.nat_gateway_id.is_some()
                || r.transit_gateway_id.is_some()
                || r.network_interface_id.is_some()
                || r.instance_id.is_some()
                || r.egress_only_internet_gateway_id.is_some()
            {
                Target::Other
            } else {
                match r.gateway_id.as_deref() {
                    Some("local") => Target::Local,
                    Some(g) if g.starts_with("igw-") => Target::Igw(g.to_owned()),
                    _ => Target::Other,
                }
            };
            routes.push((cidr, target));
        }
        Self {
            id: rt.route_table_id.clone(),
            routes,
        }
    }

    /// Longest-prefix match for `addr` (first listed wins a tie).
    pub(crate) fn lookup(&self, addr: u32) -> Option<&Target> {
        let mut best: Option<(u8, &Target)> = None;
        for (c, t) in &self.routes {
            if c.contains(addr) && best.is_none_or(|(l, _)| c.len > l) {
                best = Some((c.len, t));
            }
        }
        best.map(|(_, t)| t)
    }

    /// Every destination block.
    pub(crate) fn cidrs(&self) -> impl Iterator<Item = Cidr> + '_ {
        self.routes.iter().map(|(c, _)| *c)
    }
}

#[derive(Debug, Clone)]
struct AclRule {
    cidr: Cidr,
    proto: ProtoMatch,
    allow: bool,
    ports: PortSet,
}

/// A network ACL: IPv4 rules per direction, lowest rule number first.
#[derive(Debug, Clone)]
pub(crate) struct CompiledAcl {
    pub(crate) id: String,
    ingress: Vec<AclRule>,
    egress: Vec<AclRule>,
}

fn acl_rule(e: &NetworkAclEntry) -> Option<(i64, AclRule)> {
    let cidr = e.cidr_block.as_deref().and_then(Cidr::parse)?;
    let proto = ProtoMatch::parse(e.protocol.as_deref());
    let ports = match proto {
        ProtoMatch::One(_) => e
            .port_range
            .as_ref()
            .map_or_else(PortSet::all, |p| port_set(p.from, p.to)),
        _ => PortSet::all(),
    };
    let allow = e
        .rule_action
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("allow"));
    Some((
        e.rule_number,
        AclRule {
            cidr,
            proto,
            allow,
            ports,
        },
    ))
}

impl CompiledAcl {
    pub(crate) fn new(acl: &NetworkAcl) -> Self {
        let mut ingress = Vec::new();
        let mut egress = Vec::new();
        for e in &acl.entries {
            if let Some(r) = acl_rule(e) {
                if e.egress {
                    egress.push(r);
                } else {
                    ingress.push(r);
                }
            }
        }
        // Stable sort: equal numbers (invalid in AWS) keep document order.
        ingress.sort_by_key(|(n, _)| *n);
        egress.sort_by_key(|(n, _)| *n);
        Self {
            id: acl.network_acl_id.clone(),
            ingress: ingress.into_iter().map(|(_, r)| r).collect(),
            egress: egress.into_iter().map(|(_, r)| r).collect(),
        }
    }

    fn eval(rules: &[AclRule], addr: u32, p: Protocol) -> PortSet {
        let mut remaining = PortSet::all();
        let mut allowed = PortSet::empty();
        for r in rules {
            if !r.cidr.contains(addr) || !r.proto.matches(p) {
                continue;
            }
            if r.allow {
                allowed.union_with(&remaining.intersect(&r.ports));
            }
            remaining = remaining.subtract(&r.ports);
            if remaining.is_empty() {
                break;
            }
        }
        allowed
    }

    /// Destination ports admitted inbound from `src` (first match wins, implicit deny).
    pub(crate) fn ingress_ports(&self, src: u32, p: Protocol) -> PortSet {
        Self::eval(&self.ingress, src, p)
    }

    /// Destination ports admitted outbound towards `dst`.
    pub(crate) fn egress_ports(&self, dst: u32, p: Protocol) -> PortSet {
        Self::eval(&self.egress, dst, p)
    }

    /// Every block in the rules.
    pub(crate) fn cidrs(&self) -> impl Iterator<Item = Cidr> + '_ {
        self.ingress
            .iter()
            .chain(self.egress.iter())
            .map(|r| r.cidr)
    }
}

/// A security group's inbound rules with IPv4 CIDR sources.
#[derive(Debug, Clone)]
pub(crate) struct CompiledSg {
    pub(crate) id: String,
    ingress: Vec<(Cidr, ProtoMatch, PortSet)>,
}

fn sg_rules(perm: &IpPermission, out: &mut Vec<(Cidr, ProtoMatch, PortSet)>) {
    let proto = ProtoMatch::parse(perm.ip_protocol.as_deref());
    let ports = match proto {
        ProtoMatch::One(_) => port_set(perm.from_port, perm.to_port),
        _ => PortSet::all(),
    };
    for r in &perm.ip_ranges {
        if let Some(c) = r.cidr_ip.as_deref().and_then(Cidr::parse) {
            out.push((c, proto, ports.clone()));
        }
    }
}

impl CompiledSg {
    pub(crate) fn new(sg: &SecurityGroup) -> Self {
        let mut ingress = Vec::new();
        for p in &sg.ip_permissions {
            sg_rules(p, &mut ingress);
        }
        Self {
            id: sg.group_id.clone(),
            ingress,
        }
    }

    /// Ports allowed inbound from `src` (union of matching rules).
    pub(crate) fn ingress_ports(&self, src: u32, p: Protocol) -> PortSet {
        let mut out = PortSet::empty();
        for (c, proto, ports) in &self.ingress {
            if proto.matches(p) && c.contains(src) {
                out.union_with(ports);
            }
        }
        out
    }

    /// Every source block.
    pub(crate) fn cidrs(&self) -> impl Iterator<Item = Cidr> + '_ {
        self.ingress.iter().map(|(c, _, _)| *c)
    }
}
