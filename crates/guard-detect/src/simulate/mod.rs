//! Deterministic native-format logs for demos and tests: a day of benign background from
//! a small estate (a few instances and users, DNS lookups of popular domains, routine API
//! calls) plus the attack scenarios the GuardDuty tester runs (reference guard.md §10.4),
//! re-enacted as VPC flow v2 lines, Resolver query-log JSON lines and a gzip CloudTrail
//! file. The same seed gives the same bytes.

mod attacks;
mod benign;

use std::io::Write;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::error::DetectError;
use crate::time::format_iso;

/// One simulated scenario and the finding types it must produce.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Name for `--scenario`.
    pub name: &'static str,
    /// What it re-enacts.
    pub description: &'static str,
    /// Finding types it must produce.
    pub expected: &'static [&'static str],
    /// Further types (any severity) it may legitimately produce.
    pub allowed: &'static [&'static str],
}

/// Every attack scenario (`benign` and `all` are handled separately).
pub const SCENARIOS: &[Scenario] = attacks::SCENARIOS;

/// One output file: a relative path and its bytes.
#[derive(Debug, Clone)]
pub struct SimFile {
    /// Relative path (`vpcflow/...log`, `dns/...jsonl`, `cloudtrail/...json.gz`).
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// Start of the simulated day: 2026-11-02T00:00:00Z.
pub const DAY_START: i64 = 1_793_577_600;
/// The simulated account.
pub const ACCOUNT: &str = "123456789012";
/// The simulated region.
pub const REGION: &str = "us-east-1";
const VPC: &str = "vpc-0a1b2c3d4e5f60718";

/// An instance of the estate.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// Name tag.
    pub name: &'static str,
    /// Instance ID.
    pub id: &'static str,
    /// Primary interface.
    pub eni: &'static str,
    /// Private address.
    pub ip: [u8; 4],
}

/// The estate: two web servers, a database, a bastion, a worker, a Windows host and the
/// tester's attacker instance.
pub const HOSTS: &[Host] = &[
    Host {
        name: "web-1",
        id: "i-0a1b2c3d4e5f60001",
        eni: "eni-0a1b2c3d4e5f60001",
        ip: [10, 0, 1, 10],
    },
    Host {
        name: "web-2",
        id: "i-0a1b2c3d4e5f60002",
        eni: "eni-0a1b2c3d4e5f60002",
        ip: [10, 0, 1, 11],
    },
    Host {
        name: "db",
        id: "i-0a1b2c3d4e5f60003",
        eni: "eni-0a1b2c3d4e5f60003",
        ip: [10, 0, 2, 20],
    },
    Host {
        name: "bastion",
        id: "i-0a1b2c3d4e5f60004",
        eni: "eni-0a1b2c3d4e5f60004",
        ip: [10, 0, 0, 5],
    },
    Host {
        name: "worker",
        id: "i-0a1b2c3d4e5f60005",
        eni: "eni-0a1b2c3d4e5f60005",
        ip: [10, 0, 1, 30],
    },
    Host {
        name: "win-1",
        id: "i-0a1b2c3d4e5f60006",
        eni: "eni-0a1b2c3d4e5f60006",
        ip: [10, 0, 1, 40],
    },
    Host {
        name: "tester",
        id: "i-0a1b2c3d4e5f60007",
        eni: "eni-0a1b2c3d4e5f60007",
        ip: [10, 0, 3, 50],
    },
];

/// NAT gateway address every instance's internet traffic leaves from.
pub const NAT_IP: [u8; 4] = [54, 164, 10, 77];

/// splitmix64: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi.saturating_sub(lo) + 1)
    }

    /// An element of a non-empty slice (the first when empty is impossible by construction).
    pub fn pick<'s, T>(&mut self, items: &'s [T]) -> Option<&'s T> {
        if items.is_empty() {
            return None;
        }
        let i = usize::try_from(self.next_u64() % items.len() as u64).unwrap_or(0);
        items.get(i)
    }

    /// A random string over `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .filter_map(|_| self.pick(alphabet).map(|b| char::from(*b)))
            .collect()
    }

    /// A public-looking client address outside the ranges used by the estate's services.
    pub fn client_ip(&mut self) -> Ipv4Addr {
        let first = *self
            .pick(&[81u8, 86, 92, 109, 145, 176, 188, 212, 217])
            .unwrap_or(&81);
        Ipv4Addr::new(
            first,
            self.range(1, 254) as u8,
            self.range(1, 254) as u8,
            self.range(1, 254) as u8,
        )
    }
}

/// Collected records of one simulation.
#[derive(Debug, Default)]
pub struct Logs {
    flows: Vec<(i64, String)>,
    dns: Vec<(i64, String)>,
    trail: Vec<(i64, Value)>,
}

impl Logs {
    /// Adds a v2 flow line (one ENI's view), aggregated over 60 s from `t`.
    #[allow(clippy::too_many_arguments)]
    pub fn flow(
        &mut self,
        t: i64,
        eni: &str,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sp: u16,
        dp: u16,
        proto: u8,
        packets: u64,
        bytes: u64,
        accept: bool,
    ) {
        let line = format!(
            "2 {ACCOUNT} {eni} {src} {dst} {sp} {dp} {proto} {packets} {bytes} {t} {} {} OK",
            t + 60,
            if accept { "ACCEPT" } else { "REJECT" }
        );
        self.flows.push((t, line));
    }

    /// Adds a Resolver query record.
    #[allow(clippy::too_many_arguments)]
    pub fn dns(
        &mut self,
        t: i64,
        host: &Host,
        name: &str,
        qtype: &str,
        rcode: &str,
        answers: &[&str],
        rng: &mut Rng,
    ) {
        let answers: Vec<Value> = answers
            .iter()
            .map(|a| json!({ "Rdata": a, "Type": qtype, "Class": "IN" }))
            .collect();
        let v = json!({
            "version": "1.100000",
            "account_id": ACCOUNT,
            "region": REGION,
            "vpc_id": VPC,
            "query_timestamp": format_iso(t),
            "query_name": format!("{name}."),
            "query_type": qtype,
            "query_class": "IN",
            "rcode": rcode,
            "answers": answers,
            "srcaddr": Ipv4Addr::from(host.ip).to_string(),
            "srcport": rng.range(1024, 65535).to_string(),
            "transport": "UDP",
            "srcids": { "instance": host.id },
        });
        self.dns.push((t, v.to_string()));
    }

    /// Adds a CloudTrail event; `identity` is the `userIdentity` object.
    #[allow(clippy::too_many_arguments)]
    pub fn api(
        &mut self,
        t: i64,
        source: &str,
        name: &str,
        identity: Value,
        ip: &str,
        ua: &str,
        request: Value,
        response: Value,
        rng: &mut Rng,
    ) {
        let read_only = ["Get", "List", "Describe", "Lookup"]
            .iter()
            .any(|p| name.starts_with(p));
        let event_type = if name == "ConsoleLogin" {
            "AwsConsoleSignIn"
        } else {
            "AwsApiCall"
        };
        let v = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": format_iso(t),
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": ip,
            "userAgent": ua,
            "requestParameters": request,
            "responseElements": response,
            "requestID": uuid(rng),
            "eventID": uuid(rng),
            "readOnly": read_only,
            "eventType": event_type,
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        });
        self.trail.push((t, v));
    }

    fn render(mut self, scenario: &str) -> Result<Vec<SimFile>, DetectError> {
        self.flows.sort_by_key(|(t, _)| *t);
        self.dns.sort_by_key(|(t, _)| *t);
        self.trail.sort_by_key(|(t, _)| *t);
        let mut flows = String::from(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
        );
        for (_, l) in &self.flows {
            flows.push_str(l);
            flows.push('\n');
        }
        let mut dns = String::new();
        for (_, l) in &self.dns {
            dns.push_str(l);
            dns.push('\n');
        }
        let records: Vec<Value> = self.trail.into_iter().map(|(_, v)| v).collect();
        let trail = json!({ "Records": records }).to_string();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let gz_err = |e: std::io::Error| DetectError::Gzip {
            message: e.to_string(),
        };
        gz.write_all(trail.as_bytes()).map_err(gz_err)?;
        let trail_gz = gz.finish().map_err(gz_err)?;
        Ok(vec![
            SimFile {
                path: format!("vpcflow/{ACCOUNT}_vpcflowlogs_{REGION}_{scenario}.log"),
                bytes: flows.into_bytes(),
            },
            SimFile {
                path: format!("dns/{ACCOUNT}_resolver_{REGION}_{scenario}.jsonl"),
                bytes: dns.into_bytes(),
            },
            SimFile {
                path: format!("cloudtrail/{ACCOUNT}_CloudTrail_{REGION}_{scenario}.json.gz"),
                bytes: trail_gz,
            },
        ])
    }
}

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// The host named `name` (the estate is fixed, so lookups of known names succeed).
pub fn host(name: &str) -> Host {
    HOSTS
        .iter()
        .copied()
        .find(|h| h.name == name)
        .unwrap_or(Host {
            name: "web-1",
            id: "i-0a1b2c3d4e5f60001",
            eni: "eni-0a1b2c3d4e5f60001",
            ip: [10, 0, 1, 10],
        })
}

/// Names accepted by [`simulate`].
pub fn scenario_names() -> Vec<&'static str> {
    let mut v = vec!["benign", "all"];
    v.extend(SCENARIOS.iter().map(|s| s.name));
    v
}

/// Simulates `name` (`benign`, `all` or one of [`SCENARIOS`]) with `seed`: a day of benign
/// background plus the attack(s). Returns the files to write.
pub fn simulate(name: &str, seed: u64) -> Result<Vec<SimFile>, DetectError> {
    let mut rng = Rng::new(seed);
    let mut logs = Logs::default();
    benign::day(&mut logs, &mut rng);
    match name {
        "benign" => {}
        "all" => {
            for s in SCENARIOS {
                attacks::run(s.name, &mut logs, &mut rng);
            }
        }
        other => {
            if !SCENARIOS.iter().any(|s| s.name == other) {
                return Err(DetectError::UnknownScenario {
                    name: other.to_owned(),
                    known: scenario_names().join(", "),
                });
            }
            attacks::run(other, &mut logs, &mut rng);
        }
    }
    logs.render(name)
}
