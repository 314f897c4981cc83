//! Reachability analysis time on a generated network of 10,000 instances and 2,000 security
//! groups (20 VPCs, 200 subnets, 10 peering connections), plus the JSON load time.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_inspector_core::reachability::{Network, analyze};
use serde_json::{Value, json};

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VPCS: u64 = 20;
const SUBNETS_PER_VPC: u64 = 10;
const SGS: u64 = 2_000;
const INSTANCES: u64 = 10_000;
const PORTS: &[(u16, u16)] = &[
    (22, 22),
    (80, 80),
    (443, 443),
    (3389, 3389),
    (5432, 5432),
    (8000, 8100),
    (1024, 65535),
    (0, 65535),
];
const SOURCES: &[&str] = &[
    "0.0.0.0/0",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "8.0.0.0/8",
    "10.0.0.0/8",
    "192.0.2.0/24",
];

pub fn generate(seed: u64) -> Value {
    let mut rng = Rng(seed | 1);
    let mut vpcs = vec![];
    let mut subnets = vec![];
    let mut rtbs = vec![];
    let mut acls = vec![];
    let mut igws = vec![];
    let mut pcxs = vec![];
    for v in 0..VPCS {
        let vpc = format!("vpc-{v}");
        vpcs.push(json!({"VpcId": vpc, "CidrBlock": format!("10.{v}.0.0/16")}));
        igws.push(json!({"InternetGatewayId": format!("igw-{v}"), "Attachments": [{"VpcId": vpc, "State": "available"}]}));
        let peer = (v + 1) % VPCS;
        if v.is_multiple_of(2) {
            pcxs.push(json!({"VpcPeeringConnectionId": format!("pcx-{v}"), "Status": {"Code": "active"},
                "RequesterVpcInfo": {"VpcId": vpc}, "AccepterVpcInfo": {"VpcId": format!("vpc-{peer}")}}));
        }
        let pcx_routes = |v: u64| -> Vec<Value> {
            if v.is_multiple_of(2) {
                vec![
                    json!({"DestinationCidrBlock": format!("10.{}.0.0/16", (v + 1) % VPCS), "VpcPeeringConnectionId": format!("pcx-{v}"), "State": "active"}),
                ]
            } else {
                vec![
                    json!({"DestinationCidrBlock": format!("10.{}.0.0/16", v - 1), "VpcPeeringConnectionId": format!("pcx-{}", v - 1), "State": "active"}),
                ]
            }
        };
        let local = json!({"DestinationCidrBlock": format!("10.{v}.0.0/16"), "GatewayId": "local", "State": "active"});
        let mut main_routes = vec![
            local.clone(),
            json!({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": format!("nat-{v}"), "State": "active"}),
        ];
        main_routes.extend(pcx_routes(v));
        rtbs.push(json!({"RouteTableId": format!("rtb-main-{v}"), "VpcId": vpc, "Associations": [{"Main": true}], "Routes": main_routes}));
        let mut pub_assoc = vec![];
        for s in 0..SUBNETS_PER_VPC {
            let sid = format!("subnet-{v}-{s}");
            subnets.push(
                json!({"SubnetId": sid, "VpcId": vpc, "CidrBlock": format!("10.{v}.{s}.0/24")}),
            );
            if s.is_multiple_of(2) {
                pub_assoc.push(json!({"SubnetId": sid}));
            }
            let mut entries = vec![];
            for n in 0..(2 + rng.below(6)) {
                let (b, e) = PORTS[rng.below(PORTS.len() as u64) as usize];
                entries.push(json!({"RuleNumber": 10 * (n + 1), "Protocol": if rng.below(4) == 0 {"17"} else {"6"},
                    "RuleAction": if rng.below(4) == 0 {"deny"} else {"allow"}, "Egress": false,
                    "CidrBlock": SOURCES[rng.below(SOURCES.len() as u64) as usize], "PortRange": {"From": b, "To": e}}));
            }
            entries.push(json!({"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": true, "CidrBlock": "0.0.0.0/0"}));
            for egress in [false, true] {
                entries.push(json!({"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": egress, "CidrBlock": "0.0.0.0/0"}));
            }
            acls.push(json!({"NetworkAclId": format!("acl-{v}-{s}"), "VpcId": vpc, "Associations": [{"SubnetId": sid}], "Entries": entries}));
        }
        let mut pub_routes = vec![
            local,
            json!({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": format!("igw-{v}"), "State": "active"}),
        ];
        pub_routes.extend(pcx_routes(v));
        rtbs.push(json!({"RouteTableId": format!("rtb-pub-{v}"), "VpcId": vpc, "Associations": pub_assoc, "Routes": pub_routes}));
    }
    let mut sgs = vec![];
    for g in 0..SGS {
        let mut perms = vec![];
        for _ in 0..(1 + rng.below(5)) {
            let (b, e) = PORTS[rng.below(PORTS.len() as u64) as usize];
            perms.push(json!({"IpProtocol": if rng.below(5) == 0 {"udp"} else {"tcp"}, "FromPort": b, "ToPort": e,
                "IpRanges": [{"CidrIp": SOURCES[rng.below(SOURCES.len() as u64) as usize]}]}));
        }
        sgs.push(json!({"GroupId": format!("sg-{g}"), "VpcId": format!("vpc-{}", g % VPCS), "IpPermissions": perms}));
    }
    let mut enis = vec![];
    let mut instances = vec![];
    for i in 0..INSTANCES {
        let v = i % VPCS;
        let s = rng.below(SUBNETS_PER_VPC);
        let groups: Vec<Value> = (0..(1 + rng.below(3)))
            .map(|_| json!({"GroupId": format!("sg-{}", v + VPCS * rng.below(SGS / VPCS))}))
            .collect();
        let ip = format!("10.{v}.{s}.{}", 4 + (i / VPCS) % 250);
        let mut eni = json!({"NetworkInterfaceId": format!("eni-{i}"), "SubnetId": format!("subnet-{v}-{s}"),
            "VpcId": format!("vpc-{v}"), "InterfaceType": "interface", "PrivateIpAddress": ip, "Groups": groups,
            "Attachment": {"InstanceId": format!("i-{i}"), "DeviceIndex": 0}});
        if rng.below(10) < 6 {
            eni["Association"] = json!({"PublicIp": format!("198.18.{}.{}", i / 256, i % 256)});
        }
        enis.push(eni);
        instances.push(
            json!({"InstanceId": format!("i-{i}"), "State": {"Name": "running"},
            "NetworkInterfaces": [{"NetworkInterfaceId": format!("eni-{i}")}]}),
        );
    }
    json!({
        "DescribeVpcs": {"Vpcs": vpcs},
        "DescribeSubnets": {"Subnets": subnets},
        "DescribeInternetGateways": {"InternetGateways": igws},
        "DescribeRouteTables": {"RouteTables": rtbs},
        "DescribeNetworkAcls": {"NetworkAcls": acls},
        "DescribeSecurityGroups": {"SecurityGroups": sgs},
        "DescribeNetworkInterfaces": {"NetworkInterfaces": enis},
        "DescribeInstances": {"Reservations": [{"Instances": instances}]},
        "DescribeVpcPeeringConnections": {"VpcPeeringConnections": pcxs},
    })
}

fn bench(c: &mut Criterion) {
    let bytes = generate(0x5eed).to_string().into_bytes();
    let net = match Network::from_snapshot_json(&bytes) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("generated network does not load: {e}");
            return;
        }
    };
    let report = analyze(&net);
    let exposed = report
        .enis
        .iter()
        .filter(|e| !e.exposures.is_empty())
        .count();
    eprintln!(
        "network: {} bytes JSON, {} ENIs analysed, {} exposed, {} findings",
        bytes.len(),
        report.enis.len(),
        exposed,
        report.findings.len()
    );
    let mut g = c.benchmark_group("reachability_10k_instances_2k_sgs");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("load_json", |b| {
        b.iter(|| Network::from_snapshot_json(&bytes))
    });
    g.bench_function("analyze", |b| b.iter(|| analyze(&net)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
