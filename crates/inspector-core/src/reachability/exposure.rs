//! Inspector's Network Reachability finding types: the analysis' reachable ranges of one
//! instance combined with what its agent says is listening (reference §1.5).
//!
//! * `RecognizedPortWithListener` / `RecognizedPortNoListener`: a port of the recognized-port
//!   table is reachable and the agent does / does not see a reachable listener on it.
//! * `RecognizedPortNoAgent`: a recognized port is reachable and no agent reports for the
//!   instance, so listening is unknown.
//! * `UnrecognizedPortWithListener`: a reachable port outside the table with a listener (needs
//!   the agent), severity Low.
//! * `NetworkExposure`: every reachable range (one per ENI, security group, route, protocol
//!   and range, since an Inspector2 finding carries exactly one `openPortRange`), Informational.
//!
//! A listener bound only to a loopback address cannot be reached from outside the host, so it
//! does not count as listening; one bound to the wildcard or any other address does.
//!
//! The per-service severities are not published (reference §1.5); Portcullis's choice is the
//! [`RECOGNIZED`] table: clear-text or file/directory/database protocols High, remote shells,
//! authentication and infrastructure services Medium, HTTP(S) Low (the one user report says
//! HTTP(S) Low and SSH Medium).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::output::{NetworkReachabilityDetails, PortRange, Protocol, ReachabilityFinding};
use crate::inventory::{Listener, SocketProtocol};

/// A finding's severity (Inspector2's spelling via [`Severity::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Severity {
    /// `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Informational => "INFORMATIONAL",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
        }
    }
}

/// The Network Reachability finding types, spelled as AWS spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NetworkFindingType {
    /// A recognized port is reachable and something listens on it.
    RecognizedPortWithListener,
    /// A recognized port is reachable; the agent sees nothing listening.
    RecognizedPortNoListener,
    /// A recognized port is reachable; no agent, so listening is unknown.
    RecognizedPortNoAgent,
    /// A port outside the table is reachable and something listens on it.
    UnrecognizedPortWithListener,
    /// A reachable port range (always reported).
    NetworkExposure,
}

impl NetworkFindingType {
    /// The type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecognizedPortWithListener => "RecognizedPortWithListener",
            Self::RecognizedPortNoListener => "RecognizedPortNoListener",
            Self::RecognizedPortNoAgent => "RecognizedPortNoAgent",
            Self::UnrecognizedPortWithListener => "UnrecognizedPortWithListener",
            Self::NetworkExposure => "NetworkExposure",
        }
    }
}

/// One row of the recognized-port table: service, TCP ports, UDP ports, severity.
pub type RecognizedRow = (&'static str, &'static [u16], &'static [u16], Severity);

/// The recognized ports (reference §1.5, the guide's exact table) with Portcullis's severities.
pub const RECOGNIZED: &[RecognizedRow] = &[
    ("SMB", &[445], &[445], Severity::High),
    ("NetBIOS", &[137, 139], &[137, 138], Severity::High),
    ("LDAP", &[389], &[389], Severity::High),
    ("LDAP over TLS", &[636], &[], Severity::Medium),
    ("Global catalog LDAP", &[3268], &[], Severity::High),
    (
        "Global catalog LDAP over TLS",
        &[3269],
        &[],
        Severity::Medium,
    ),
    (
        "NFS",
        &[111, 2049, 4045, 1110],
        &[111, 2049, 4045, 1110],
        Severity::High,
    ),
    (
        "Kerberos",
        &[88, 464, 543, 544, 749, 751],
        &[88, 464, 749, 750, 751, 752],
        Severity::Medium,
    ),
    ("RPC", &[111, 135, 530], &[111, 135, 530], Severity::High),
    ("WINS", &[1512, 42], &[1512, 42], Severity::Medium),
    (
        "DHCP",
        &[67, 68, 546, 547],
        &[67, 68, 546, 547],
        Severity::Medium,
    ),
    ("Syslog", &[601], &[514], Severity::Medium),
    ("Print services", &[515], &[], Severity::Medium),
    ("Telnet", &[23], &[23], Severity::High),
    ("FTP", &[21], &[21], Severity::High),
    ("SSH", &[22], &[22], Severity::Medium),
    ("RDP", &[3389], &[3389], Severity::High),
    (
        "MongoDB",
        &[27017, 27018, 27019, 28017],
        &[],
        Severity::High,
    ),
    ("SQL Server", &[1433], &[1434], Severity::High),
    ("MySQL", &[3306], &[], Severity::High),
    ("PostgreSQL", &[5432], &[], Severity::High),
    ("Oracle", &[1521, 1630], &[], Severity::High),
    ("Elasticsearch", &[9300, 9200], &[], Severity::High),
    ("HTTP", &[80], &[80], Severity::Low),
    ("HTTPS", &[443], &[443], Severity::Low),
];

fn row_ports(row: &RecognizedRow, protocol: Protocol) -> &'static [u16] {
    match protocol {
        Protocol::Tcp => row.1,
        Protocol::Udp => row.2,
    }
}

/// The services a port is recognized as (port 111 is both NFS and RPC); empty when it is not
/// in the table.
pub fn recognized_services(protocol: Protocol, port: u16) -> Vec<&'static str> {
    RECOGNIZED
        .iter()
        .filter(|r| row_ports(r, protocol).contains(&port))
        .map(|r| r.0)
        .collect()
}

/// The severity of a recognized port (the highest of its services), `None` if unrecognized.
pub fn recognized_severity(protocol: Protocol, port: u16) -> Option<Severity> {
    RECOGNIZED
        .iter()
        .filter(|r| row_ports(r, protocol).contains(&port))
        .map(|r| r.3)
        .max()
}

/// Every recognized port of `protocol` within `begin..=end`, ascending.
fn recognized_in(protocol: Protocol, begin: u16, end: u16) -> BTreeSet<u16> {
    RECOGNIZED
        .iter()
        .flat_map(|r| row_ports(r, protocol).iter().copied())
        .filter(|p| (begin..=end).contains(p))
        .collect()
}

/// One Network Reachability finding of an instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkFinding {
    /// The type.
    pub finding_type: NetworkFindingType,
    /// The severity.
    pub severity: Severity,
    /// The analysed range (ENI, security group, route, protocol, range, path); for per-port
    /// types `openPortRange` is narrowed to the one port.
    pub reachability: ReachabilityFinding,
    /// The recognized services of the port (empty for unrecognized ports and exposures).
    pub services: Vec<String>,
    /// The listening process, when the agent could name it.
    pub process: Option<String>,
}

impl NetworkFinding {
    /// A stable identity: type, ENI, security group, route, protocol and range. A finding
    /// whose type changes (a listener appears) is a new finding; the old one closes.
    pub fn key(&self) -> String {
        let r = &self.reachability;
        let route = match &r.route {
            super::output::ReachabilityRoute::Internet {
                internet_gateway_id,
            } => internet_gateway_id.as_str(),
            super::output::ReachabilityRoute::PeeredVpc {
                vpc_peering_connection_id,
                ..
            } => vpc_peering_connection_id.as_str(),
        };
        let d = &r.network_reachability_details;
        format!(
            "net|{}|{}|{}|{route}|{}|{}-{}",
            self.finding_type.as_str(),
            r.network_interface_id,
            r.security_group_id,
            d.protocol.as_str(),
            d.open_port_range.begin,
            d.open_port_range.end
        )
    }
}

fn socket_protocol(p: Protocol) -> SocketProtocol {
    match p {
        Protocol::Tcp => SocketProtocol::Tcp,
        Protocol::Udp => SocketProtocol::Udp,
    }
}

/// The listener on `port` that outside traffic could reach (not loopback-only), if any.
fn reachable_listener(listeners: &[Listener], protocol: Protocol, port: u16) -> Option<&Listener> {
    let proto = socket_protocol(protocol);
    listeners
        .iter()
        .find(|l| l.protocol == proto && l.port == port && !l.address.is_loopback())
}

fn narrowed(f: &ReachabilityFinding, port: u16) -> ReachabilityFinding {
    let mut out = f.clone();
    out.network_reachability_details = NetworkReachabilityDetails {
        open_port_range: PortRange {
            begin: port,
            end: port,
        },
        ..f.network_reachability_details.clone()
    };
    out
}

/// The findings of `instance_id` from the analysis' per-range results `reachable` (the
/// entries of other instances are ignored). `listeners` is the agent's list, or `None` when
/// no agent reports for the instance. Sorted, without duplicates.
pub fn classify(
    reachable: &[ReachabilityFinding],
    instance_id: &str,
    listeners: Option<&[Listener]>,
) -> Vec<NetworkFinding> {
    let mut out = BTreeSet::new();
    for f in reachable
        .iter()
        .filter(|f| f.instance_id.as_deref() == Some(instance_id))
    {
        let d = &f.network_reachability_details;
        let (begin, end) = (d.open_port_range.begin, d.open_port_range.end);
        out.insert(NetworkFinding {
            finding_type: NetworkFindingType::NetworkExposure,
            severity: Severity::Informational,
            reachability: f.clone(),
            services: Vec::new(),
            process: None,
        });
        for port in recognized_in(d.protocol, begin, end) {
            let listener = listeners.map(|ls| reachable_listener(ls, d.protocol, port));
            let finding_type = match listener {
                None => NetworkFindingType::RecognizedPortNoAgent,
                Some(Some(_)) => NetworkFindingType::RecognizedPortWithListener,
                Some(None) => NetworkFindingType::RecognizedPortNoListener,
            };
            out.insert(NetworkFinding {
                finding_type,
                severity: recognized_severity(d.protocol, port).unwrap_or(Severity::Low),
                reachability: narrowed(f, port),
                services: recognized_services(d.protocol, port)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                process: listener.flatten().and_then(|l| l.process.clone()),
            });
        }
        let proto = socket_protocol(d.protocol);
        for l in listeners.unwrap_or_default().iter().filter(|l| {
            l.protocol == proto
                && (begin..=end).contains(&l.port)
                && !l.address.is_loopback()
                && recognized_severity(d.protocol, l.port).is_none()
        }) {
            out.insert(NetworkFinding {
                finding_type: NetworkFindingType::UnrecognizedPortWithListener,
                severity: Severity::Low,
                reachability: narrowed(f, l.port),
                services: Vec::new(),
                process: l.process.clone(),
            });
        }
    }
    // Two listeners on one port (IPv4 and IPv6) give one finding.
    let mut v: Vec<NetworkFinding> = out.into_iter().collect();
    v.dedup_by(|a, b| a.key() == b.key());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reachability::output::{NetworkPath, PathStep, ReachabilityRoute};

    fn range(begin: u16, end: u16, protocol: Protocol) -> ReachabilityFinding {
        ReachabilityFinding {
            instance_id: Some("i-1".into()),
            network_interface_id: "eni-1".into(),
            security_group_id: "sg-1".into(),
            route: ReachabilityRoute::Internet {
                internet_gateway_id: "igw-1".into(),
            },
            network_reachability_details: NetworkReachabilityDetails {
                open_port_range: PortRange { begin, end },
                protocol,
                network_path: NetworkPath {
                    steps: vec![PathStep {
                        component_id: "igw-1".into(),
                        component_type: "AWS::EC2::InternetGateway".into(),
                        component_arn: None,
                    }],
                },
            },
        }
    }

    fn listener(addr: &str, port: u16) -> Listener {
        Listener {
            protocol: SocketProtocol::Tcp,
            address: addr.parse().unwrap(),
            port,
            process: Some("srv".into()),
            pid: Some(1),
        }
    }

    fn types(v: &[NetworkFinding]) -> Vec<(&'static str, u16)> {
        v.iter()
            .map(|f| {
                (
                    f.finding_type.as_str(),
                    f.reachability
                        .network_reachability_details
                        .open_port_range
                        .begin,
                )
            })
            .collect()
    }

    #[test]
    fn the_table_maps_ports_to_sets_of_services() {
        assert_eq!(recognized_services(Protocol::Tcp, 111), vec!["NFS", "RPC"]);
        assert_eq!(recognized_services(Protocol::Udp, 514), vec!["Syslog"]);
        assert!(recognized_services(Protocol::Tcp, 514).is_empty());
        assert_eq!(
            recognized_severity(Protocol::Tcp, 22),
            Some(Severity::Medium)
        );
        assert_eq!(recognized_severity(Protocol::Tcp, 443), Some(Severity::Low));
        assert_eq!(recognized_severity(Protocol::Tcp, 8080), None);
    }

    #[test]
    fn without_an_agent_recognized_ports_are_no_agent() {
        let r = [
            range(20, 25, Protocol::Tcp),
            range(8080, 8080, Protocol::Tcp),
        ];
        let v = classify(&r, "i-1", None);
        let mut t = types(&v);
        t.sort();
        assert_eq!(
            t,
            vec![
                ("NetworkExposure", 20),
                ("NetworkExposure", 8080),
                ("RecognizedPortNoAgent", 21),
                ("RecognizedPortNoAgent", 22),
                ("RecognizedPortNoAgent", 23),
            ]
        );
        assert!(classify(&r, "i-other", None).is_empty());
    }

    #[test]
    fn listeners_decide_with_or_no_listener_and_loopback_does_not_count() {
        let r = [
            range(22, 22, Protocol::Tcp),
            range(1024, 65535, Protocol::Tcp),
        ];
        let ls = [
            listener("0.0.0.0", 22),
            listener("127.0.0.1", 5432),
            listener("10.0.1.10", 9000),
            listener("::", 9000),
            listener("127.0.0.1", 7000),
        ];
        let v = classify(&r, "i-1", Some(&ls));
        let t = types(&v);
        assert!(t.contains(&("RecognizedPortWithListener", 22)));
        assert!(t.contains(&("RecognizedPortNoListener", 5432)));
        assert!(t.contains(&("UnrecognizedPortWithListener", 9000)));
        assert!(!t.iter().any(|(_, p)| *p == 7000));
        assert_eq!(
            t.iter()
                .filter(|x| **x == ("UnrecognizedPortWithListener", 9000))
                .count(),
            1
        );
        let w = v
            .iter()
            .find(|f| f.finding_type == NetworkFindingType::RecognizedPortWithListener)
            .unwrap();
        assert_eq!(w.severity, Severity::Medium);
        assert_eq!(w.services, vec!["SSH".to_owned()]);
        assert_eq!(w.process.as_deref(), Some("srv"));
        assert!(
            w.key()
                .starts_with("net|RecognizedPortWithListener|eni-1|sg-1|igw-1|TCP|22-22")
        );
        // A UDP range is not opened by TCP listeners.
        let u = classify(&[range(9000, 9000, Protocol::Udp)], "i-1", Some(&ls));
        assert_eq!(types(&u), vec![("NetworkExposure", 9000)]);
    }
}
