//! The reachability analysis: for each instance ENI, the TCP/UDP ports reachable from the
//! internet and from peered VPCs, computed over address "atoms" (the intervals between all
//! CIDR boundaries relevant to the ENI), so every source address is covered exactly.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::compiled::{CompiledAcl, CompiledRtb, CompiledSg, Target};
use super::ipv4::{Cidr, non_internet_blocks, parse_addr};
use super::load::Network;
use super::model::{Instance, NetworkInterface};
use super::output::{
    EniReachability, NetworkPath, NetworkReachabilityDetails, PathStep, PortRange, Protocol,
    ReachabilityFinding, ReachabilityReport, ReachabilityRoute, RouteExposure,
};
use super::ports::PortSet;

/// Ephemeral source ports a client may use (AWS documents 1024–65535 to cover all clients).
pub const EPHEMERAL: (u16, u16) = (1024, 65535);

const PROTOCOLS: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

struct Index<'a> {
    subnet_vpc: HashMap<&'a str, &'a str>,
    subnets_by_vpc: HashMap<&'a str, Vec<(&'a str, Cidr)>>,
    rtbs: Vec<CompiledRtb>,
    subnet_rtb: HashMap<&'a str, usize>,
    main_rtb: HashMap<&'a str, usize>,
    acls: Vec<CompiledAcl>,
    subnet_acl: HashMap<&'a str, usize>,
    default_acl: HashMap<&'a str, usize>,
    sgs: HashMap<&'a str, CompiledSg>,
    igws: HashMap<&'a str, Vec<&'a str>>,
    /// (pcx, vpc, peer vpc) for both directions of every active connection.
    peerings: HashMap<&'a str, Vec<(&'a str, &'a str)>>,
    /// Sorted, disjoint `[start, end)` intervals that are not internet addresses.
    non_internet: Vec<(u64, u64)>,
    instances: HashMap<&'a str, &'a Instance>,
}

impl<'a> Index<'a> {
    fn new(net: &'a Network) -> Self {
        let r = &net.resources;
        let mut non_internet = non_internet_blocks();
        for v in &r.vpcs {
            let blocks = v.cidr_block.iter().chain(
                v.cidr_block_association_set
                    .iter()
                    .filter_map(|a| a.cidr_block.as_ref()),
            );
            non_internet.extend(blocks.filter_map(|b| Cidr::parse(b)));
        }
        let mut subnet_vpc = HashMap::new();
        let mut subnets_by_vpc: HashMap<&str, Vec<(&str, Cidr)>> = HashMap::new();
        for s in &r.subnets {
            let Some(vpc) = s.vpc_id.as_deref() else {
                continue;
            };
            subnet_vpc.insert(s.subnet_id.as_str(), vpc);
            if let Some(c) = s.cidr_block.as_deref().and_then(Cidr::parse) {
                non_internet.push(c);
                subnets_by_vpc
                    .entry(vpc)
                    .or_default()
                    .push((s.subnet_id.as_str(), c));
            }
        }
        let mut rtbs = Vec::new();
        let mut subnet_rtb = HashMap::new();
        let mut main_rtb = HashMap::new();
        for (i, rt) in r.route_tables.iter().enumerate() {
            rtbs.push(CompiledRtb::new(rt));
            for a in &rt.associations {
                if let Some(s) = a.subnet_id.as_deref() {
                    subnet_rtb.insert(s, i);
                }
                if a.main == Some(true)
                    && let Some(v) = rt.vpc_id.as_deref()
                {
                    main_rtb.insert(v, i);
                }
            }
        }
        let mut acls = Vec::new();
        let mut subnet_acl = HashMap::new();
        let mut default_acl = HashMap::new();
        for (i, acl) in r.network_acls.iter().enumerate() {
            acls.push(CompiledAcl::new(acl));
            for a in &acl.associations {
                if let Some(s) = a.subnet_id.as_deref() {
                    subnet_acl.insert(s, i);
                }
            }
            if acl.is_default == Some(true)
                && let Some(v) = acl.vpc_id.as_deref()
            {
                default_acl.insert(v, i);
            }
        }
        let sgs = r
            .security_groups
            .iter()
            .map(|g| (g.group_id.as_str(), CompiledSg::new(g)))
            .collect();
        let mut igws: HashMap<&str, Vec<&str>> = HashMap::new();
        for g in &r.internet_gateways {
            for a in &g.attachments {
                let ok = a
                    .state
                    .as_deref()
                    .is_none_or(|s| s == "available" || s == "attached");
                if let (true, Some(v)) = (ok, a.vpc_id.as_deref()) {
                    igws.entry(v)
                        .or_default()
                        .push(g.internet_gateway_id.as_str());
                }
            }
        }
        let mut peerings: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
        for p in &r.vpc_peering_connections {
            let active = p
                .status
                .as_ref()
                .and_then(|s| s.code.as_deref())
                .is_some_and(|c| c == "active");
            let req = p
                .requester_vpc_info
                .as_ref()
                .and_then(|i| i.vpc_id.as_deref());
            let acc = p
                .accepter_vpc_info
                .as_ref()
                .and_then(|i| i.vpc_id.as_deref());
            if let (true, Some(a), Some(b)) = (active, req, acc) {
                let id = p.vpc_peering_connection_id.as_str();
                peerings.entry(a).or_default().push((id, b));
                peerings.entry(b).or_default().push((id, a));
            }
        }
        non_internet.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for c in non_internet {
            let (b, e) = (c.start(), c.end_exclusive());
            match merged.last_mut() {
                Some(last) if b <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((b, e)),
            }
        }
        let non_internet = merged;
        let instances = r
            .reservations
            .iter()
            .flat_map(|res| res.instances.iter())
            .map(|i| (i.instance_id.as_str(), i))
            .collect();
        Self {
            subnet_vpc,
            subnets_by_vpc,
            rtbs,
            subnet_rtb,
            main_rtb,
            acls,
            subnet_acl,
            default_acl,
            sgs,
            igws,
            peerings,
            non_internet,
            instances,
        }
    }

    fn is_internet(&self, addr: u64) -> bool {
        let i = self.non_internet.partition_point(|&(_, e)| e <= addr);
        self.non_internet.get(i).is_none_or(|&(b, _)| addr < b)
    }

    fn rtb_for(&self, subnet: &str, vpc: &str) -> Option<&CompiledRtb> {
        let i = self
            .subnet_rtb
            .get(subnet)
            .or_else(|| self.main_rtb.get(vpc))?;
        self.rtbs.get(*i)
    }

    fn acl_for(&self, subnet: &str, vpc: &str) -> Option<&CompiledAcl> {
        let i = self
            .subnet_acl
            .get(subnet)
            .or_else(|| self.default_acl.get(vpc))?;
        self.acls.get(*i)
    }
}

/// One ENI to analyse, gathered from `DescribeNetworkInterfaces` and `DescribeInstances`.
struct Endpoint<'a> {
    instance_id: Option<&'a str>,
    eni_id: &'a str,
    subnet_id: &'a str,
    vpc_id: &'a str,
    private_ip: Option<u32>,
    public: bool,
    groups: Vec<&'a str>,
}

fn skipped_state(inst: &Instance) -> bool {
    matches!(
        inst.state.as_ref().and_then(|s| s.name.as_deref()),
        Some("terminated" | "stopped" | "stopping" | "shutting-down")
    )
}

fn endpoint<'a>(
    idx: &Index<'a>,
    eni: &'a NetworkInterface,
    instance: Option<&'a Instance>,
) -> Option<Endpoint<'a>> {
    if eni
        .interface_type
        .as_deref()
        .is_some_and(|t| t != "interface")
    {
        return None;
    }
    if instance.is_some_and(skipped_state) {
        return None;
    }
    let subnet_id = eni
        .subnet_id
        .as_deref()
        .or_else(|| instance.and_then(|i| i.subnet_id.as_deref()))?;
    let vpc_id = eni
        .vpc_id
        .as_deref()
        .or_else(|| idx.subnet_vpc.get(subnet_id).copied())
        .or_else(|| instance.and_then(|i| i.vpc_id.as_deref()))?;
    let primary = eni.attachment.as_ref().and_then(|a| a.device_index) == Some(0)
        || instance.is_some_and(|i| {
            (i.private_ip_address.is_some() && i.private_ip_address == eni.private_ip_address)
                || (i.network_interfaces.len() == 1
                    && i.network_interfaces
                        .iter()
                        .all(|e| e.network_interface_id == eni.network_interface_id))
        });
    let public = eni
        .association
        .as_ref()
        .and_then(|a| a.public_ip.as_ref())
        .is_some()
        || eni.private_ip_addresses.iter().any(|p| {
            p.association
                .as_ref()
                .and_then(|a| a.public_ip.as_ref())
                .is_some()
        })
        || (primary
            && instance
                .and_then(|i| i.public_ip_address.as_ref())
                .is_some());
    let mut groups: Vec<&str> = eni.groups.iter().map(|g| g.group_id.as_str()).collect();
    if groups.is_empty()
        && primary
        && let Some(i) = instance
    {
        groups = i
            .security_groups
            .iter()
            .map(|g| g.group_id.as_str())
            .collect();
    }
    let private_ip = eni
        .private_ip_address
        .as_deref()
        .or_else(|| instance.filter(|_| primary)?.private_ip_address.as_deref())
        .and_then(parse_addr);
    Some(Endpoint {
        instance_id: eni
            .attachment
            .as_ref()
            .and_then(|a| a.instance_id.as_deref())
            .or_else(|| instance.map(|i| i.instance_id.as_str())),
        eni_id: eni.network_interface_id.as_str(),
        subnet_id,
        vpc_id,
        private_ip,
        public,
        groups,
    })
}

fn endpoints<'a>(net: &'a Network, idx: &Index<'a>) -> Vec<Endpoint<'a>> {
    let r = &net.resources;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for eni in &r.network_interfaces {
        if !seen.insert(eni.network_interface_id.as_str()) {
            continue;
        }
        let inst = eni
            .attachment
            .as_ref()
            .and_then(|a| a.instance_id.as_deref())
            .and_then(|id| idx.instances.get(id).copied());
        out.extend(endpoint(idx, eni, inst));
    }
    for inst in r.reservations.iter().flat_map(|res| res.instances.iter()) {
        for eni in &inst.network_interfaces {
            if seen.insert(eni.network_interface_id.as_str()) {
                out.extend(endpoint(idx, eni, Some(inst)));
            }
        }
    }
    out
}

/// Sorted interval starts partitioning `[lo, hi)` by every block boundary in `cidrs` and
/// every bound in `extra`.
fn atoms(cidrs: &[Cidr], extra: &[(u64, u64)], lo: u64, hi: u64) -> Vec<u64> {
    let mut pts: Vec<u64> = vec![lo];
    let bounds = cidrs
        .iter()
        .map(|c| (c.start(), c.end_exclusive()))
        .chain(extra.iter().copied());
    for (b, e) in bounds {
        for p in [b, e] {
            if p > lo && p < hi {
                pts.push(p);
            }
        }
    }
    pts.sort_unstable();
    pts.dedup();
    pts
}

fn step(id: &str, ty: &str) -> PathStep {
    PathStep {
        component_id: id.to_owned(),
        component_type: ty.to_owned(),
        component_arn: None,
    }
}

type Acc = BTreeMap<(ReachabilityRoute, String, Protocol), (PortSet, Vec<PathStep>)>;

fn ephemeral() -> PortSet {
    PortSet::range(EPHEMERAL.0, EPHEMERAL.1)
}

struct EniCtx<'i, 'a> {
    ep: &'i Endpoint<'a>,
    rtb: &'i CompiledRtb,
    acl: Option<&'i CompiledAcl>,
    sgs: Vec<&'i CompiledSg>,
}

impl EniCtx<'_, '_> {
    fn cidrs(&self) -> Vec<Cidr> {
        let mut v: Vec<Cidr> = self.rtb.cidrs().collect();
        if let Some(a) = self.acl {
            v.extend(a.cidrs());
        }
        for g in &self.sgs {
            v.extend(g.cidrs());
        }
        v
    }

    /// Ports admitted from `src` through the ENI's own ACL (both directions) and
    /// each of its groups; `extra` further restricts the ACL result per protocol.
    /// `reply` is the set of client ports the far side lets the reply back to.
    fn admit(
        &self,
        src: u32,
        p: Protocol,
        extra: Option<&PortSet>,
        reply: &PortSet,
    ) -> Vec<(usize, PortSet)> {
        let acl_in = match self.acl {
            Some(a) => {
                if a.egress_ports(src, p).intersect(reply).is_empty() {
                    return Vec::new();
                }
                a.ingress_ports(src, p)
            }
            None => PortSet::all(),
        };
        let acl_in = match extra {
            Some(e) => acl_in.intersect(e),
            None => acl_in,
        };
        if acl_in.is_empty() {
            return Vec::new();
        }
        self.sgs
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.ingress_ports(src, p).intersect(&acl_in)))
            .filter(|(_, s)| !s.is_empty())
            .collect()
    }

    fn tail(&self, sg: &str, mut head: Vec<PathStep>) -> Vec<PathStep> {
        head.push(step(&self.rtb.id, "AWS::EC2::RouteTable"));
        if let Some(a) = self.acl {
            head.push(step(&a.id, "AWS::EC2::NetworkAcl"));
        }
        head.push(step(sg, "AWS::EC2::SecurityGroup"));
        head.push(step(self.ep.eni_id, "AWS::EC2::NetworkInterface"));
        if let Some(i) = self.ep.instance_id {
            head.push(step(i, "AWS::EC2::Instance"));
        }
        head
    }
}

fn internet(idx: &Index<'_>, cx: &EniCtx<'_, '_>, acc: &mut Acc) {
    if !cx.ep.public {
        return;
    }
    let Some(igws) = idx.igws.get(cx.ep.vpc_id) else {
        return;
    };
    let reply = ephemeral();
    let cidrs = cx.cidrs();
    for start in atoms(&cidrs, &idx.non_internet, 0, 1u64 << 32) {
        let Ok(addr) = u32::try_from(start) else {
            continue;
        };
        if !idx.is_internet(start) {
            continue;
        }
        let Some(Target::Igw(igw)) = cx.rtb.lookup(addr) else {
            continue;
        };
        if !igws.contains(&igw.as_str()) {
            continue;
        }
        let route = ReachabilityRoute::Internet {
            internet_gateway_id: igw.clone(),
        };
        for p in PROTOCOLS {
            for (i, set) in cx.admit(addr, p, None, &reply) {
                let Some(g) = cx.sgs.get(i) else { continue };
                let e = acc
                    .entry((route.clone(), g.id.clone(), p))
                    .or_insert_with(|| {
                        let head = vec![step(igw, "AWS::EC2::InternetGateway")];
                        (PortSet::empty(), cx.tail(&g.id, head))
                    });
                e.0.union_with(&set);
            }
        }
    }
}

fn peered(idx: &Index<'_>, cx: &EniCtx<'_, '_>, acc: &mut Acc) {
    let Some(eni_ip) = cx.ep.private_ip else {
        return;
    };
    let Some(peers) = idx.peerings.get(cx.ep.vpc_id) else {
        return;
    };
    let base = cx.cidrs();
    for &(pcx, peer_vpc) in peers {
        let route = ReachabilityRoute::PeeredVpc {
            vpc_peering_connection_id: pcx.to_owned(),
            peer_vpc_id: peer_vpc.to_owned(),
        };
        for &(subnet, scidr) in idx.subnets_by_vpc.get(peer_vpc).into_iter().flatten() {
            let Some(srtb) = idx.rtb_for(subnet, peer_vpc) else {
                continue;
            };
            if !matches!(srtb.lookup(eni_ip), Some(Target::Pcx(x)) if x == pcx) {
                continue;
            }
            let sacl = idx.acl_for(subnet, peer_vpc);
            for p in PROTOCOLS {
                // The source subnet's ACL: request out towards the ENI, reply in from it.
                let (out, reply) = match sacl {
                    Some(a) => (
                        a.egress_ports(eni_ip, p),
                        a.ingress_ports(eni_ip, p).intersect(&ephemeral()),
                    ),
                    None => (PortSet::all(), ephemeral()),
                };
                if out.is_empty() || reply.is_empty() {
                    continue;
                }
                for start in atoms(&base, &[], scidr.start(), scidr.end_exclusive()) {
                    let Ok(addr) = u32::try_from(start) else {
                        continue;
                    };
                    if !matches!(cx.rtb.lookup(addr), Some(Target::Pcx(x)) if x == pcx) {
                        continue;
                    }
                    for (i, set) in cx.admit(addr, p, Some(&out), &reply) {
                        let Some(g) = cx.sgs.get(i) else { continue };
                        let e = acc
                            .entry((route.clone(), g.id.clone(), p))
                            .or_insert_with(|| {
                                let head = vec![step(pcx, "AWS::EC2::VPCPeeringConnection")];
                                (PortSet::empty(), cx.tail(&g.id, head))
                            });
                        e.0.union_with(&set);
                    }
                }
            }
        }
    }
}

/// Analyses every instance ENI of `net` and returns its reachable ports and findings.
pub fn analyze(net: &Network) -> ReachabilityReport {
    let idx = Index::new(net);
    let mut report = ReachabilityReport::default();
    for ep in endpoints(net, &idx) {
        let Some(rtb) = idx.rtb_for(ep.subnet_id, ep.vpc_id) else {
            continue;
        };
        let cx = EniCtx {
            ep: &ep,
            rtb,
            acl: idx.acl_for(ep.subnet_id, ep.vpc_id),
            sgs: ep.groups.iter().filter_map(|g| idx.sgs.get(g)).collect(),
        };
        let mut acc = Acc::new();
        internet(&idx, &cx, &mut acc);
        peered(&idx, &cx, &mut acc);
        let mut by_route: BTreeMap<ReachabilityRoute, (PortSet, PortSet)> = BTreeMap::new();
        for ((route, sg, p), (set, steps)) in acc {
            let e = by_route.entry(route.clone()).or_default();
            match p {
                Protocol::Tcp => e.0.union_with(&set),
                Protocol::Udp => e.1.union_with(&set),
            }
            for &(begin, end) in set.ranges() {
                report.findings.push(ReachabilityFinding {
                    instance_id: ep.instance_id.map(str::to_owned),
                    network_interface_id: ep.eni_id.to_owned(),
                    security_group_id: sg.clone(),
                    route: route.clone(),
                    network_reachability_details: NetworkReachabilityDetails {
                        open_port_range: PortRange { begin, end },
                        protocol: p,
                        network_path: NetworkPath {
                            steps: steps.clone(),
                        },
                    },
                });
            }
        }
        report.enis.push(EniReachability {
            instance_id: ep.instance_id.map(str::to_owned),
            network_interface_id: ep.eni_id.to_owned(),
            exposures: by_route
                .into_iter()
                .map(|(route, (tcp, udp))| RouteExposure { route, tcp, udp })
                .collect(),
        });
    }
    report.enis.sort_by(|a, b| {
        (&a.instance_id, &a.network_interface_id).cmp(&(&b.instance_id, &b.network_interface_id))
    });
    report.findings.sort();
    report
}
