//! Network reachability: the corpus example network, botocore describe-* parsing, and a
//! property test comparing the analysis with an independent brute-force packet walk.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use portcullis_inspector_core::reachability::model::{
    DescribeOutput, NetworkAcl, NetworkInterface, RouteTable, SecurityGroup,
};
use portcullis_inspector_core::reachability::{
    Network, PortSet, Protocol, ReachabilityReport, ReachabilityRoute, analyze,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        });
    let dir = dir.join("inspector/aws-network-examples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "!!!!! SKIPPING: aws-network-examples corpus not found at {} (set PORTCULLIS_CORPORA) !!!!!",
            dir.display()
        );
        None
    }
}

fn ranges_json(set: &PortSet) -> Value {
    Value::Array(set.ranges().iter().map(|&(b, e)| json!([b, e])).collect())
}

/// Internet exposure of every instance with at least one reachable port, in the expected
/// file's normalised form `{instance: {"TCP": [[b, e], ...], "UDP": [...]}}`.
fn normalised_exposure(report: &ReachabilityReport) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let instances: BTreeSet<&str> = report
        .enis
        .iter()
        .filter_map(|e| e.instance_id.as_deref())
        .collect();
    for i in instances {
        let tcp = report.instance_internet_ports(i, Protocol::Tcp);
        let udp = report.instance_internet_ports(i, Protocol::Udp);
        if !tcp.is_empty() || !udp.is_empty() {
            out.insert(
                i.to_owned(),
                json!({"TCP": ranges_json(&tcp), "UDP": ranges_json(&udp)}),
            );
        }
    }
    out
}

type Ranges = Vec<(u16, u16)>;

#[test]
fn sample_vpc_snapshot_matches_expected() {
    let Some(dir) = corpus_dir() else { return };
    let snap = std::fs::read(dir.join("sample_vpc_snapshot.json")).unwrap();
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("sample_vpc_snapshot.expected.json")).unwrap(),
    )
    .unwrap();
    let net = Network::from_snapshot_json(&snap).unwrap();
    let report = analyze(&net);

    // Every listed reachable (instance, eni, protocol, port) is reachable, and nothing else is:
    // the expected exposure built from the list equals the computed one exactly.
    let mut want: BTreeMap<String, (Ranges, Ranges)> = BTreeMap::new();
    for r in expected["reachable"].as_array().unwrap() {
        let inst = r["instance"].as_str().unwrap();
        let eni = r["eni"].as_str().unwrap();
        let port = u16::try_from(r["port"].as_u64().unwrap()).unwrap();
        let proto = match r["protocol"].as_str().unwrap() {
            "TCP" => Protocol::Tcp,
            _ => Protocol::Udp,
        };
        let e = report
            .enis
            .iter()
            .find(|e| e.network_interface_id == eni)
            .unwrap();
        assert_eq!(e.instance_id.as_deref(), Some(inst));
        assert!(
            e.internet_ports(proto).contains(port),
            "{inst} {proto:?} {port}"
        );
        let slot = want.entry(inst.to_owned()).or_default();
        match proto {
            Protocol::Tcp => slot.0.push((port, port)),
            Protocol::Udp => slot.1.push((port, port)),
        }
    }
    let want: BTreeMap<String, Value> = want
        .into_iter()
        .map(|(i, (t, u))| {
            let t = PortSet::from_ranges(t);
            let u = PortSet::from_ranges(u);
            (i, json!({"TCP": ranges_json(&t), "UDP": ranges_json(&u)}))
        })
        .collect();
    let got = normalised_exposure(&report);
    assert_eq!(got, want);
    assert_eq!(got["i-web"], expected["network_exposure_i-web"]);

    for r in expected["not_reachable"].as_array().unwrap() {
        let inst = r["instance"].as_str().unwrap();
        let tcp = report.instance_internet_ports(inst, Protocol::Tcp);
        let udp = report.instance_internet_ports(inst, Protocol::Udp);
        match (r["protocol"].as_str().unwrap(), r["port"].as_u64()) {
            ("TCP", Some(p)) => assert!(!tcp.contains(u16::try_from(p).unwrap()), "{r}"),
            ("UDP", Some(p)) => assert!(!udp.contains(u16::try_from(p).unwrap()), "{r}"),
            _ => assert!(tcp.is_empty() && udp.is_empty(), "{r}"),
        }
    }

    // Findings: one per (ENI, SG, protocol, range), each with the full component path.
    assert_eq!(report.findings.len(), 3);
    for f in &report.findings {
        let ids: Vec<&str> = f
            .network_reachability_details
            .network_path
            .steps
            .iter()
            .map(|s| s.component_id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["igw-1", "rtb-pub", "acl-pub", "sg-web", "eni-web", "i-web"]
        );
        assert_eq!(f.network_reachability_details.protocol, Protocol::Tcp);
    }
    let json = serde_json::to_value(&report.findings[0].network_reachability_details).unwrap();
    assert_eq!(json["openPortRange"], json!({"begin": 22, "end": 22}));
    assert_eq!(json["protocol"], "TCP");
    assert_eq!(
        json["networkPath"]["steps"][0],
        json!({"componentId": "igw-1", "componentType": "AWS::EC2::InternetGateway"})
    );
}

/// Real `DescribeInstances` output carries the ENIs inline; without `DescribeNetworkInterfaces`
/// the instance's own subnet, groups and public IP are used for its primary ENI.
/// The example network's finding types for i-web: without an agent, and with an agent that
/// listens on 443 (wildcard), 8080 (a private address) and 22 on loopback only.
#[test]
fn sample_vpc_finding_types() {
    use portcullis_inspector_core::inventory::{Listener, SocketProtocol};
    use portcullis_inspector_core::reachability::classify;
    let Some(dir) = corpus_dir() else { return };
    let snap = std::fs::read(dir.join("sample_vpc_snapshot.json")).unwrap();
    let report = analyze(&Network::from_snapshot_json(&snap).unwrap());
    let kinds = |v: &[portcullis_inspector_core::reachability::NetworkFinding]| {
        v.iter()
            .map(|f| {
                let r = &f.reachability.network_reachability_details.open_port_range;
                format!(
                    "{}:{}-{}:{}",
                    f.finding_type.as_str(),
                    r.begin,
                    r.end,
                    f.severity.as_str()
                )
            })
            .collect::<BTreeSet<_>>()
    };
    let none = classify(&report.findings, "i-web", None);
    let expect: BTreeSet<String> = [
        "RecognizedPortNoAgent:22-22:MEDIUM",
        "RecognizedPortNoAgent:443-443:LOW",
        "NetworkExposure:22-22:INFORMATIONAL",
        "NetworkExposure:443-443:INFORMATIONAL",
        "NetworkExposure:8080-8080:INFORMATIONAL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds(&none), expect);
    let l = |a: &str, port: u16| Listener {
        protocol: SocketProtocol::Tcp,
        address: a.parse().unwrap(),
        port,
        process: None,
        pid: None,
    };
    let ls = [l("::", 443), l("10.0.1.10", 8080), l("127.0.0.1", 22)];
    let with = classify(&report.findings, "i-web", Some(&ls));
    let expect: BTreeSet<String> = [
        "RecognizedPortNoListener:22-22:MEDIUM",
        "RecognizedPortWithListener:443-443:LOW",
        "UnrecognizedPortWithListener:8080-8080:LOW",
        "NetworkExposure:22-22:INFORMATIONAL",
        "NetworkExposure:443-443:INFORMATIONAL",
        "NetworkExposure:8080-8080:INFORMATIONAL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds(&with), expect);
    // Every path starts outside (the IGW) and ends at the instance.
    for f in &with {
        let steps = &f
            .reachability
            .network_reachability_details
            .network_path
            .steps;
        assert_eq!(
            steps.first().map(|s| s.component_id.as_str()),
            Some("igw-1")
        );
        assert!(steps.len() <= 30);
    }
    for quiet in ["i-nopub", "i-db"] {
        assert!(
            classify(&report.findings, quiet, Some(&ls)).is_empty(),
            "{quiet}"
        );
    }
}

#[test]
fn instances_without_describe_network_interfaces() {
    let Some(dir) = corpus_dir() else { return };
    let mut snap: Value =
        serde_json::from_slice(&std::fs::read(dir.join("sample_vpc_snapshot.json")).unwrap())
            .unwrap();
    snap.as_object_mut()
        .unwrap()
        .remove("DescribeNetworkInterfaces");
    let net = Network::from_snapshot_json(snap.to_string().as_bytes()).unwrap();
    let report = analyze(&net);
    assert_eq!(report.enis.len(), 3);
    let got = normalised_exposure(&report);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got["i-web"],
        json!({"TCP": [[22, 22], [443, 443], [8080, 8080]], "UDP": []})
    );
}

#[test]
fn botocore_examples_parse() {
    let Some(dir) = corpus_dir() else { return };
    let all: BTreeMap<String, Vec<Value>> =
        serde_json::from_slice(&std::fs::read(dir.join("botocore_ec2_examples.json")).unwrap())
            .unwrap();
    let mut net = Network::new();
    let mut non_empty = 0;
    for (call, outputs) in &all {
        for out in outputs {
            net.add_describe_json(serde_json::to_string(out).unwrap().as_bytes())
                .unwrap_or_else(|e| panic!("{call}: {e}"));
            if out.as_object().is_some_and(|o| !o.is_empty()) {
                non_empty += 1;
            }
        }
    }
    assert_eq!(non_empty, 7);
    let r = &net.resources;
    for (name, n) in [
        ("vpcs", r.vpcs.len()),
        ("subnets", r.subnets.len()),
        ("igws", r.internet_gateways.len()),
        ("nats", r.nat_gateways.len()),
        ("rtbs", r.route_tables.len()),
        ("acls", r.network_acls.len()),
        ("enis", r.network_interfaces.len()),
    ] {
        assert!(n > 0, "{name} empty");
    }
    assert!(r.network_interfaces.iter().any(|e| {
        e.association.as_ref().and_then(|a| a.public_ip.as_deref()) == Some("203.0.113.12")
    }));
    // The combined examples are analysable without panicking.
    let _ = analyze(&net);
}

#[test]
fn rejects_garbage() {
    assert!(Network::from_snapshot_json(b"[1,2").is_err());
    assert!(Network::from_snapshot_json(br#"{"DescribeVpcs": {"Vpcs": 3}}"#).is_err());
    let ok = Network::from_snapshot_json(
        br#"{"_comment": 1, "DescribeVpcs": {"Vpcs": [{"VpcId": "v", "Extra": {"x": 1}}]}}"#,
    )
    .unwrap();
    assert_eq!(ok.resources.vpcs.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Brute-force packet walk, written independently of the analysis: it evaluates concrete
// packets against the raw describe-* model, one rule at a time.

fn ip(s: &str) -> u32 {
    u32::from(s.parse::<Ipv4Addr>().unwrap())
}

fn in_cidr(addr: u32, cidr: &str) -> bool {
    let Some((a, l)) = cidr.split_once('/') else {
        return false;
    };
    let Ok(base) = a.parse::<Ipv4Addr>() else {
        return false;
    };
    let l: u32 = l.parse().unwrap();
    if l == 0 {
        return true;
    }
    let shift = 32 - l;
    (addr >> shift) == (u32::from(base) >> shift)
}

fn proto_num(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "6",
        Protocol::Udp => "17",
    }
}

/// Does the ACL let a packet through? `peer` is the source (ingress) or destination (egress).
fn acl_allows(acl: &NetworkAcl, egress: bool, peer: u32, p: Protocol, dport: u16) -> bool {
    let mut entries: Vec<_> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    entries.sort_by_key(|e| e.rule_number);
    for e in entries {
        let Some(c) = e.cidr_block.as_deref() else {
            continue;
        };
        if !in_cidr(peer, c) {
            continue;
        }
        let proto = e.protocol.as_deref().unwrap_or("");
        if proto != "-1" && proto != proto_num(p) {
            continue;
        }
        if proto != "-1"
            && let Some(r) = &e.port_range
        {
            let (f, t) = (r.from.unwrap(), r.to.unwrap());
            if i64::from(dport) < f || i64::from(dport) > t {
                continue;
            }
        }
        return e.rule_action.as_deref() == Some("allow");
    }
    false
}

fn sg_allows(sg: &SecurityGroup, src: u32, p: Protocol, dport: u16) -> bool {
    sg.ip_permissions.iter().any(|perm| {
        let proto = perm.ip_protocol.as_deref().unwrap_or("");
        let want = match p {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        let port_ok = proto == "-1"
            || (proto == want
                && i64::from(dport) >= perm.from_port.unwrap()
                && i64::from(dport) <= perm.to_port.unwrap());
        port_ok
            && perm
                .ip_ranges
                .iter()
                .any(|r| in_cidr(src, r.cidr_ip.as_deref().unwrap()))
    })
}

/// Next hop for `dst` in the table: (gateway or pcx id) of the longest active prefix.
fn next_hop(rt: &RouteTable, dst: u32) -> Option<String> {
    let mut best: Option<(u32, String)> = None;
    for r in &rt.routes {
        if r.state.as_deref() != Some("active") {
            continue;
        }
        let c = r.destination_cidr_block.as_deref().unwrap();
        if !in_cidr(dst, c) {
            continue;
        }
        let len: u32 = c.split_once('/').unwrap().1.parse().unwrap();
        let hop = r
            .gateway_id
            .clone()
            .or_else(|| r.vpc_peering_connection_id.clone())
            .or_else(|| r.nat_gateway_id.clone())
            .unwrap();
        if best.as_ref().is_none_or(|(l, _)| len > *l) {
            best = Some((len, hop));
        }
    }
    best.map(|(_, h)| h)
}

struct World<'a> {
    r: &'a DescribeOutput,
}

impl World<'_> {
    fn subnet_vpc(&self, subnet: &str) -> &str {
        let s = self
            .r
            .subnets
            .iter()
            .find(|s| s.subnet_id == subnet)
            .unwrap();
        s.vpc_id.as_deref().unwrap()
    }
    fn rtb(&self, subnet: &str) -> &RouteTable {
        let vpc = self.subnet_vpc(subnet);
        self.r
            .route_tables
            .iter()
            .find(|t| {
                t.associations
                    .iter()
                    .any(|a| a.subnet_id.as_deref() == Some(subnet))
            })
            .or_else(|| {
                self.r.route_tables.iter().find(|t| {
                    t.vpc_id.as_deref() == Some(vpc)
                        && t.associations.iter().any(|a| a.main == Some(true))
                })
            })
            .unwrap()
    }
    fn acl(&self, subnet: &str) -> &NetworkAcl {
        self.r
            .network_acls
            .iter()
            .find(|a| {
                a.associations
                    .iter()
                    .any(|x| x.subnet_id.as_deref() == Some(subnet))
            })
            .unwrap()
    }
    fn sg_ok(&self, eni: &NetworkInterface, src: u32, p: Protocol, dport: u16) -> bool {
        eni.groups.iter().any(|g| {
            self.r
                .security_groups
                .iter()
                .filter(|s| s.group_id == g.group_id)
                .any(|s| sg_allows(s, src, p, dport))
        })
    }
    fn igw_of(&self, vpc: &str) -> Option<&str> {
        self.r
            .internet_gateways
            .iter()
            .find(|g| {
                g.attachments
                    .iter()
                    .any(|a| a.vpc_id.as_deref() == Some(vpc))
            })
            .map(|g| g.internet_gateway_id.as_str())
    }

    /// A TCP/UDP packet from internet client `src:sport` to the ENI's public IP on `dport`,
    /// and its reply.
    fn walk_internet(
        &self,
        eni: &NetworkInterface,
        src: u32,
        sport: u16,
        p: Protocol,
        dport: u16,
    ) -> bool {
        let subnet = eni.subnet_id.as_deref().unwrap();
        let vpc = self.subnet_vpc(subnet);
        let has_public = eni
            .association
            .as_ref()
            .and_then(|a| a.public_ip.as_ref())
            .is_some();
        let Some(igw) = self.igw_of(vpc) else {
            return false;
        };
        if !has_public {
            return false;
        }
        let acl = self.acl(subnet);
        // inbound: IGW translates to the private IP, subnet ACL, security groups
        if !acl_allows(acl, false, src, p, dport) || !self.sg_ok(eni, src, p, dport) {
            return false;
        }
        // reply: SG is stateful; ACL egress to the client's port; route back to the IGW
        acl_allows(acl, true, src, p, sport)
            && next_hop(self.rtb(subnet), src).as_deref() == Some(igw)
    }

    /// A packet from `src:sport` in peer subnet `src_subnet` over `pcx`, and its reply.
    #[allow(clippy::too_many_arguments)]
    fn walk_peer(
        &self,
        eni: &NetworkInterface,
        pcx: &str,
        src_subnet: &str,
        src: u32,
        sport: u16,
        p: Protocol,
        dport: u16,
    ) -> bool {
        let subnet = eni.subnet_id.as_deref().unwrap();
        let dst = ip(eni.private_ip_address.as_deref().unwrap());
        let sacl = self.acl(src_subnet);
        let acl = self.acl(subnet);
        next_hop(self.rtb(src_subnet), dst).as_deref() == Some(pcx)
            && acl_allows(sacl, true, dst, p, dport)
            && acl_allows(acl, false, src, p, dport)
            && self.sg_ok(eni, src, p, dport)
            && acl_allows(acl, true, src, p, sport)
            && next_hop(self.rtb(subnet), src).as_deref() == Some(pcx)
            && acl_allows(sacl, false, dst, p, sport)
    }
}

const CIDRS: &[&str] = &[
    "0.0.0.0/0",
    "198.51.100.0/24",
    "198.51.100.128/25",
    "8.0.0.0/8",
    "10.0.0.0/16",
    "10.0.1.0/25",
    "10.1.0.0/16",
    "10.1.1.0/25",
];
const RANGES: &[(u16, u16)] = &[
    (22, 22),
    (80, 80),
    (443, 443),
    (1000, 2000),
    (1024, 65535),
    (0, 65535),
    (3389, 3389),
    (30000, 40000),
    (50000, 50010),
];
const INTERNET_SOURCES: &[&str] = &["8.8.8.8", "198.51.100.7", "198.51.100.200", "203.0.113.9"];

fn candidate_ports() -> Vec<u16> {
    let mut v = BTreeSet::from([0u16, 65535]);
    for &(b, e) in RANGES {
        for x in [b.saturating_sub(1), b, e, e.saturating_add(1)] {
            v.insert(x);
        }
    }
    v.into_iter().collect()
}

fn client_ports() -> Vec<u16> {
    candidate_ports()
        .into_iter()
        .filter(|p| *p >= 1024)
        .collect()
}

#[derive(Debug, Clone)]
struct Gen {
    two_vpcs: bool,
    pcx_active: bool,
    igw: [bool; 2],
    // per subnet (A1, A2, B1, B2): present?, explicit table index (0 = main, 1 = alt)
    subnets: Vec<(bool, u8)>,
    // per VPC and table (main, alt): extra routes (cidr idx, target 0=igw 1=nat 2=pcx 3=blackhole-igw)
    routes: Vec<Vec<(usize, u8)>>,
    // per VPC and table: default route (0 none, 1 igw, 2 nat) and whether the peer VPC's
    // block routes to the peering connection
    defaults: Vec<(u8, bool)>,
    // per subnet: ACL rules (number, proto 0/1/2, allow, cidr, range, egress), and whether
    // rule 1000 allows everything inbound / outbound
    #[allow(clippy::type_complexity)]
    acls: Vec<(Vec<(u16, u8, bool, usize, usize, bool)>, bool, bool)>,
    // SGs: rules (proto 0/1/2, cidr, range)
    sgs: Vec<Vec<(u8, usize, usize)>>,
    // ENIs: (subnet idx, public, sg mask)
    enis: Vec<(usize, bool, u8)>,
}

fn cidr_idx() -> impl Strategy<Value = usize> {
    // Weighted towards 0.0.0.0/0 and the peer blocks so that paths open often.
    prop_oneof![3 => Just(0usize), 4 => 0..CIDRS.len()]
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    let acl_rule = (
        1u16..8,
        0u8..3,
        prop_oneof![3 => Just(true), 1 => Just(false)],
        cidr_idx(),
        0..RANGES.len(),
        any::<bool>(),
    );
    let target = prop_oneof![4 => Just(0u8), 1 => Just(1u8), 3 => Just(2u8), 1 => Just(3u8)];
    (
        prop_oneof![3 => Just(true), 1 => Just(false)],
        prop_oneof![3 => Just(true), 1 => Just(false)],
        (
            prop_oneof![4 => Just(true), 1 => Just(false)],
            any::<bool>(),
        )
            .prop_map(|(a, b)| [a, b]),
        prop::collection::vec((any::<bool>(), 0u8..2), 4),
        prop::collection::vec(prop::collection::vec((cidr_idx(), target), 0..4), 4),
        prop::collection::vec(
            (
                prop::collection::vec(acl_rule, 0..7),
                prop_oneof![3 => Just(true), 1 => Just(false)],
                prop_oneof![3 => Just(true), 1 => Just(false)],
            ),
            4,
        ),
        prop::collection::vec(
            prop::collection::vec((0u8..3, cidr_idx(), 0..RANGES.len()), 0..4),
            1..4,
        ),
        prop::collection::vec(
            (
                0usize..4,
                prop_oneof![3 => Just(true), 1 => Just(false)],
                1u8..8,
            ),
            1..4,
        ),
        prop::collection::vec(
            (
                prop_oneof![1 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)],
                prop_oneof![3 => Just(true), 1 => Just(false)],
            ),
            4,
        ),
    )
        .prop_map(
            |(two_vpcs, pcx_active, igw, subnets, routes, acls, sgs, enis, defaults)| Gen {
                defaults,
                two_vpcs,
                pcx_active,
                igw,
                subnets,
                routes,
                acls,
                sgs,
                enis,
            },
        )
}

const SUBNETS: [(&str, &str, &str); 4] = [
    ("subnet-a1", "vpc-a", "10.0.1.0/24"),
    ("subnet-a2", "vpc-a", "10.0.2.0/24"),
    ("subnet-b1", "vpc-b", "10.1.1.0/24"),
    ("subnet-b2", "vpc-b", "10.1.2.0/24"),
];

fn build(g: &Gen) -> Value {
    let vpcs: Vec<(&str, &str, usize)> = if g.two_vpcs {
        vec![("vpc-a", "10.0.0.0/16", 0), ("vpc-b", "10.1.0.0/16", 1)]
    } else {
        vec![("vpc-a", "10.0.0.0/16", 0)]
    };
    let present = |i: usize| -> bool {
        let (_, vpc, _) = SUBNETS[i];
        (i.is_multiple_of(2) || g.subnets[i].0) && (vpc == "vpc-a" || g.two_vpcs)
    };
    let mut subnets = vec![];
    let mut rtbs = vec![];
    let mut acls = vec![];
    for (vpc, cidr, vi) in &vpcs {
        for t in 0..2 {
            let id = format!("rtb-{vpc}-{t}");
            let mut routes = vec![
                json!({"DestinationCidrBlock": cidr, "GatewayId": "local", "State": "active"}),
            ];
            let (default, peer_route) = g.defaults[vi * 2 + t];
            match default {
                1 => routes.push(json!({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": format!("igw-{vpc}"), "State": "active"})),
                2 => routes.push(json!({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-x", "State": "active"})),
                _ => {}
            }
            if peer_route {
                let peer = if *vi == 0 {
                    "10.1.0.0/16"
                } else {
                    "10.0.0.0/16"
                };
                routes.push(json!({"DestinationCidrBlock": peer, "VpcPeeringConnectionId": "pcx-ab", "State": "active"}));
            }
            for &(c, target) in &g.routes[vi * 2 + t] {
                let mut r = json!({"DestinationCidrBlock": CIDRS[c], "State": "active"});
                match target {
                    0 => r["GatewayId"] = json!(format!("igw-{vpc}")),
                    1 => r["NatGatewayId"] = json!("nat-x"),
                    2 => r["VpcPeeringConnectionId"] = json!("pcx-ab"),
                    _ => {
                        r["GatewayId"] = json!(format!("igw-{vpc}"));
                        r["State"] = json!("blackhole");
                    }
                }
                routes.push(r);
            }
            let mut assoc = vec![];
            if t == 0 {
                assoc.push(json!({"Main": true}));
            }
            for (i, (sid, svpc, _)) in SUBNETS.iter().enumerate() {
                if svpc == vpc && present(i) && g.subnets[i].1 == 1 && t == 1 {
                    assoc.push(json!({"SubnetId": sid, "Main": false}));
                }
            }
            rtbs.push(
                json!({"RouteTableId": id, "VpcId": vpc, "Associations": assoc, "Routes": routes}),
            );
        }
    }
    for (i, (sid, vpc, cidr)) in SUBNETS.iter().enumerate() {
        if !present(i) {
            continue;
        }
        subnets.push(json!({"SubnetId": sid, "VpcId": vpc, "CidrBlock": cidr}));
        let mut entries = vec![
            json!({"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": false, "CidrBlock": "0.0.0.0/0"}),
            json!({"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": true, "CidrBlock": "0.0.0.0/0"}),
        ];
        let (rules, open_in, open_out) = &g.acls[i];
        for (open, egress) in [(*open_in, false), (*open_out, true)] {
            if open {
                entries.push(json!({"RuleNumber": 1000, "Protocol": "-1", "RuleAction": "allow", "Egress": egress, "CidrBlock": "0.0.0.0/0"}));
            }
        }
        let mut used = BTreeSet::new();
        for &(n, proto, allow, c, r, egress) in rules {
            if !used.insert((n, egress)) {
                continue;
            }
            let proto_s = ["6", "17", "-1"][proto as usize];
            let mut e = json!({"RuleNumber": u32::from(n) * 10, "Protocol": proto_s,
                "RuleAction": if allow {"allow"} else {"deny"}, "Egress": egress, "CidrBlock": CIDRS[c]});
            if proto < 2 {
                e["PortRange"] = json!({"From": RANGES[r].0, "To": RANGES[r].1});
            }
            entries.push(e);
        }
        acls.push(
            json!({"NetworkAclId": format!("acl-{sid}"), "VpcId": vpc, "IsDefault": false,
            "Associations": [{"SubnetId": sid}], "Entries": entries}),
        );
    }
    let mut sgs = vec![];
    for (k, rules) in g.sgs.iter().enumerate() {
        let perms: Vec<Value> = rules
            .iter()
            .map(|&(proto, c, r)| {
                let proto_s = ["tcp", "udp", "-1"][proto as usize];
                let mut p = json!({"IpProtocol": proto_s, "IpRanges": [{"CidrIp": CIDRS[c]}],
                    "UserIdGroupPairs": [{"GroupId": "sg-0"}]});
                if proto < 2 {
                    p["FromPort"] = json!(RANGES[r].0);
                    p["ToPort"] = json!(RANGES[r].1);
                }
                p
            })
            .collect();
        sgs.push(json!({"GroupId": format!("sg-{k}"), "IpPermissions": perms, "IpPermissionsEgress": []}));
    }
    let mut enis = vec![];
    for (n, &(s, public, mask)) in g.enis.iter().enumerate() {
        let s = if present(s) { s } else { 0 };
        let (sid, vpc, cidr) = SUBNETS[s];
        let prefix = cidr.trim_end_matches(".0/24");
        let groups: Vec<Value> = (0..g.sgs.len())
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| json!({"GroupId": format!("sg-{k}")}))
            .collect();
        let mut e = json!({"NetworkInterfaceId": format!("eni-{n}"), "SubnetId": sid, "VpcId": vpc,
            "InterfaceType": "interface", "PrivateIpAddress": format!("{prefix}.{}", 10 + n),
            "Groups": groups, "Attachment": {"InstanceId": format!("i-{n}"), "DeviceIndex": 0}});
        if public {
            e["Association"] = json!({"PublicIp": format!("203.0.113.{}", 100 + n)});
        }
        enis.push(e);
    }
    let mut igws = vec![];
    for (vpc, _, vi) in &vpcs {
        if g.igw[*vi] {
            igws.push(json!({"InternetGatewayId": format!("igw-{vpc}"), "Attachments": [{"VpcId": vpc, "State": "available"}]}));
        }
    }
    let pcx = if g.two_vpcs {
        vec![json!({"VpcPeeringConnectionId": "pcx-ab",
            "RequesterVpcInfo": {"VpcId": "vpc-a", "CidrBlock": "10.0.0.0/16"},
            "AccepterVpcInfo": {"VpcId": "vpc-b", "CidrBlock": "10.1.0.0/16"},
            "Status": {"Code": if g.pcx_active {"active"} else {"pending-acceptance"}}})]
    } else {
        vec![]
    };
    json!({
        "DescribeVpcs": {"Vpcs": vpcs.iter().map(|(v, c, _)| json!({"VpcId": v, "CidrBlock": c})).collect::<Vec<_>>()},
        "DescribeSubnets": {"Subnets": subnets},
        "DescribeInternetGateways": {"InternetGateways": igws},
        "DescribeRouteTables": {"RouteTables": rtbs},
        "DescribeNetworkAcls": {"NetworkAcls": acls},
        "DescribeSecurityGroups": {"SecurityGroups": sgs},
        "DescribeNetworkInterfaces": {"NetworkInterfaces": enis},
        "DescribeVpcPeeringConnections": {"VpcPeeringConnections": pcx},
    })
}

fn peer_sources(r: &DescribeOutput, peer_vpc: &str) -> Vec<(String, u32)> {
    let mut out = vec![];
    for s in r
        .subnets
        .iter()
        .filter(|s| s.vpc_id.as_deref() == Some(peer_vpc))
    {
        let base = ip(s.cidr_block.as_deref().unwrap().split_once('/').unwrap().0);
        for off in [5, 200] {
            out.push((s.subnet_id.clone(), base + off));
        }
    }
    out
}

fn check(g: &Gen) -> Result<(), TestCaseError> {
    let doc = build(g);
    let net = Network::from_snapshot_json(doc.to_string().as_bytes()).unwrap();
    let report = analyze(&net);
    let w = World { r: &net.resources };
    let ports = candidate_ports();
    let sports = client_ports();
    prop_assert_eq!(report.enis.len(), net.resources.network_interfaces.len());
    for eni in &net.resources.network_interfaces {
        let got = report
            .enis
            .iter()
            .find(|e| e.network_interface_id == eni.network_interface_id)
            .unwrap();
        let vpc = eni.vpc_id.as_deref().unwrap();
        let peer_vpc = if vpc == "vpc-a" { "vpc-b" } else { "vpc-a" };
        let pcx_route = ReachabilityRoute::PeeredVpc {
            vpc_peering_connection_id: "pcx-ab".into(),
            peer_vpc_id: peer_vpc.into(),
        };
        let peer_set = |p: Protocol| {
            got.exposures
                .iter()
                .find(|e| e.route == pcx_route)
                .map(|e| e.ports(p).clone())
                .unwrap_or_default()
        };
        let peers = if g.two_vpcs && g.pcx_active {
            peer_sources(w.r, peer_vpc)
        } else {
            vec![]
        };
        for p in [Protocol::Tcp, Protocol::Udp] {
            let inet = got.internet_ports(p);
            let peer = peer_set(p);
            for &port in &ports {
                let walk = INTERNET_SOURCES.iter().any(|s| {
                    sports
                        .iter()
                        .any(|&sp| w.walk_internet(eni, ip(s), sp, p, port))
                });
                prop_assert_eq!(
                    inet.contains(port),
                    walk,
                    "internet {} {:?} {} in {}",
                    eni.network_interface_id,
                    p,
                    port,
                    doc
                );
                let walk = peers.iter().any(|(sub, src)| {
                    sports
                        .iter()
                        .any(|&sp| w.walk_peer(eni, "pcx-ab", sub, *src, sp, p, port))
                });
                prop_assert_eq!(
                    peer.contains(port),
                    walk,
                    "peer {} {:?} {} in {}",
                    eni.network_interface_id,
                    p,
                    port,
                    doc
                );
            }
        }
    }
    Ok(())
}

/// The generator must produce networks where ports are actually open, or the comparison
/// above would pass vacuously.
#[test]
fn generator_opens_paths_often() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut inet, mut peer, n) = (0, 0, 300);
    for _ in 0..n {
        let g = gen_strategy().new_tree(&mut runner).unwrap().current();
        let net = Network::from_snapshot_json(build(&g).to_string().as_bytes()).unwrap();
        let report = analyze(&net);
        if report.findings.iter().any(|f| f.route.is_internet()) {
            inet += 1;
        }
        if report.findings.iter().any(|f| !f.route.is_internet()) {
            peer += 1;
        }
    }
    eprintln!("networks with internet exposure: {inet}/{n}, with peering exposure: {peer}/{n}");
    assert!(inet * 100 >= n * 15, "{inet}/{n}");
    assert!(peer * 100 >= n * 5, "{peer}/{n}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
    #[test]
    fn analysis_equals_packet_walk(g in gen_strategy()) {
        check(&g)?;
    }
}
