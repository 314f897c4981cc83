//! Detectors over VPC Flow Logs records (resource type `Instance`).
//!
//! "Ours" means a non-public (VPC) address; "remote" a publicly routable one. For a flow
//! our instance initiates, the resource role is `ACTOR`; for one it receives, `TARGET`
//! (GuardDuty's convention, reference guard.md §2.3). Counters are tumbling windows per
//! key in [`BoundedMap`]s; a finding is reported when a window crosses its threshold, so
//! `service.count` counts windows of activity.

use std::net::IpAddr;

use portcullis_guard_core::intel::is_public;
use portcullis_guard_core::record::{FlowAction, FlowRecord, LogStatus};
use serde_json::{Value, json};

use crate::config::{Config, PORTPROBE_WINDOW_SECS, PROBE_MAX_BYTES, PROBE_MAX_PACKETS};
use crate::engine::{Ctx, Loc, instance_resource, ip_details};
use crate::finding::severity::{HIGH, LOW, MEDIUM};
use crate::intel::{IntelClass, classify};
use crate::store::Detection;
use crate::window::BoundedMap;

/// Ports scanners probe that should not be open to the internet (remote admin, databases,
/// caches, search, container APIs, Hadoop/EMR). Web ports are deliberately absent. Sorted
/// (searched by bisection on every flow).
pub const PROBED_PORTS: &[u16] = &[
    21, 22, 23, 25, 135, 139, 445, 1433, 1521, 2375, 2376, 3306, 3389, 5432, 5601, 5900, 5985,
    5986, 6379, 7001, 8088, 9200, 9300, 11211, 27017,
];

/// Ports whose traffic is TCP; a UDP flood to them is DenialOfService.UdpOnTcpPorts.
/// 80/443 are excluded: QUIC/HTTP3 use UDP there (and the tester's UDP flood to port 80
/// expects DenialOfService.Udp). Sorted.
pub const TCP_ONLY_PORTS: &[u16] = &[
    21, 22, 23, 25, 110, 143, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 8443, 27017,
];

/// A window of distinct items, capped at the threshold.
#[derive(Debug, Clone)]
struct DistinctWindow<T> {
    start: i64,
    items: Vec<T>,
    rejects: u32,
    seen: u32,
    fired: bool,
    first: Loc,
}

impl<T: PartialEq> DistinctWindow<T> {
    fn new(t: i64, loc: Loc) -> Self {
        Self {
            start: t,
            items: Vec::new(),
            rejects: 0,
            seen: 0,
            fired: false,
            first: loc,
        }
    }

    /// Adds `item` at `t`; returns true when this addition crosses `threshold`.
    fn add(
        &mut self,
        item: T,
        t: i64,
        window: i64,
        threshold: usize,
        reject: bool,
        loc: Loc,
    ) -> bool {
        if t.saturating_sub(self.start) > window {
            *self = Self::new(t, loc);
        }
        self.seen = self.seen.saturating_add(1);
        self.rejects = self.rejects.saturating_add(u32::from(reject));
        if self.fired || self.items.contains(&item) {
            return false;
        }
        self.items.push(item);
        if self.items.len() >= threshold {
            self.fired = true;
            return true;
        }
        false
    }
}

/// A window of counters.
#[derive(Debug, Clone)]
struct CountWindow {
    start: i64,
    count: u64,
    packets: u64,
    bytes: u64,
    fired: bool,
    first: Loc,
}

impl CountWindow {
    fn new(t: i64, loc: Loc) -> Self {
        Self {
            start: t,
            count: 0,
            packets: 0,
            bytes: 0,
            fired: false,
            first: loc,
        }
    }

    fn roll(&mut self, t: i64, window: i64, loc: Loc) {
        if t.saturating_sub(self.start) > window {
            *self = Self::new(t, loc);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DosKind {
    Tcp,
    Udp,
    UdpOnTcpPorts,
    Dns,
    UnusualProtocol,
}

impl DosKind {
    fn finding_type(self) -> &'static str {
        match self {
            Self::Tcp => "Backdoor:EC2/DenialOfService.Tcp",
            Self::Udp => "Backdoor:EC2/DenialOfService.Udp",
            Self::UdpOnTcpPorts => "Backdoor:EC2/DenialOfService.UdpOnTcpPorts",
            Self::Dns => "Backdoor:EC2/DenialOfService.Dns",
            Self::UnusualProtocol => "Backdoor:EC2/DenialOfService.UnusualProtocol",
        }
    }
}

/// A flow's two addresses (IPv4-mapped IPv6 as IPv4) and whether each is publicly
/// routable: worked out once per record for every flow detector and the instance baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Whether `src` is publicly routable (a remote host; otherwise one of ours).
    pub src_public: bool,
    /// Whether `dst` is publicly routable.
    pub dst_public: bool,
}

impl Endpoints {
    /// The endpoints of a record that logged traffic ([`FlowRecord::endpoints`]).
    #[inline]
    pub fn of(rec: &FlowRecord<'_>) -> Option<Self> {
        let (src, dst) = match (rec.srcaddr, rec.dstaddr, rec.log_status) {
            // The common case, without the general path's canonicalisation.
            (Some(IpAddr::V4(s)), Some(IpAddr::V4(d)), None | Some(LogStatus::Ok)) => {
                (IpAddr::V4(s), IpAddr::V4(d))
            }
            _ => rec.endpoints()?,
        };
        Some(Self {
            src,
            dst,
            src_public: is_public(src),
            dst_public: is_public(dst),
        })
    }
}

/// State of every flow detector.
pub struct FlowDetectors {
    window: i64,
    scan: BoundedMap<(IpAddr, IpAddr), DistinctWindow<u16>>,
    sweep: BoundedMap<(IpAddr, u16), DistinctWindow<IpAddr>>,
    probe: BoundedMap<(IpAddr, u16), DistinctWindow<IpAddr>>,
    brute: BoundedMap<(IpAddr, IpAddr, u16), CountWindow>,
    dos: BoundedMap<(IpAddr, IpAddr, DosKind), CountWindow>,
    tor: BoundedMap<IpAddr, DistinctWindow<IpAddr>>,
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        58 => "ICMPV6".into(),
        n => format!("IANA-{n}"),
    }
}

fn port_name(p: u16) -> &'static str {
    match p {
        22 => "SSH",
        23 => "TELNET",
        25 => "SMTP",
        53 => "DNS",
        80 => "HTTP",
        443 => "HTTPS",
        445 => "SMB",
        1433 => "MSSQL",
        3306 => "MYSQL",
        3389 => "RDP",
        5432 => "POSTGRESQL",
        6379 => "REDIS",
        9200 | 9300 => "ELASTICSEARCH",
        27017 => "MONGODB",
        _ => "Unknown",
    }
}

/// One flow's facts, as detectors see them.
struct Flow<'r, 'a> {
    rec: &'r FlowRecord<'a>,
    src: IpAddr,
    dst: IpAddr,
    sp: u16,
    dp: u16,
    proto: u8,
    packets: u64,
    bytes: u64,
    reject: bool,
    t: i64,
    loc: Loc,
}

impl Flow<'_, '_> {
    /// Resource for our side `ip`; the interface is only certain when the other side is public.
    fn resource(&self, ip: IpAddr) -> crate::finding::Resource {
        let other = if ip == self.src { self.dst } else { self.src };
        let eni = is_public(other).then_some(self.rec.interface_id).flatten();
        let inst = is_public(other).then_some(self.rec.instance_id).flatten();
        instance_resource(ip, eni, inst, self.rec.vpc_id)
    }

    fn connection(&self, ours: IpAddr) -> Value {
        let outbound = ours == self.src;
        let (remote, lport, rport) = if outbound {
            (self.dst, self.sp, self.dp)
        } else {
            (self.src, self.dp, self.sp)
        };
        json!({
            "blocked": self.reject,
            "connectionDirection": if outbound { "OUTBOUND" } else { "INBOUND" },
            "localIpDetails": ip_details(ours),
            "localPortDetails": { "port": lport, "portName": port_name(lport) },
            "protocol": proto_name(self.proto),
            "remoteIpDetails": ip_details(remote),
            "remotePortDetails": { "port": rport, "portName": port_name(rport) },
        })
    }

    fn detection(
        &self,
        ctx: &Ctx<'_>,
        ty: &'static str,
        sev: f64,
        ours: IpAddr,
        first: Loc,
    ) -> Detection {
        let mut d = Detection::new(ty, sev, self.resource(ours), self.t);
        d.resource_key = ours.to_string();
        d.role = Some(if ours == self.src { "ACTOR" } else { "TARGET" });
        d.action = crate::finding::Action {
            action_type: "NETWORK_CONNECTION".into(),
            network_connection_action: Some(self.connection(ours)),
            ..Default::default()
        };
        d.account_id = self.rec.account_id.map(str::to_owned);
        d.region = self.rec.region.map(str::to_owned);
        d.locations = if first == self.loc {
            vec![ctx.loc(first)]
        } else {
            vec![ctx.loc(first), ctx.loc(self.loc)]
        };
        d
    }
}

impl FlowDetectors {
    /// Empty state sized by `cfg`.
    pub fn new(cfg: &Config) -> Self {
        let cap = cfg.max_tracked_keys;
        let w = cfg.flow_window_secs;
        Self {
            window: w,
            scan: BoundedMap::new(cap, w),
            sweep: BoundedMap::new(cap, w),
            probe: BoundedMap::new(cap, PORTPROBE_WINDOW_SECS),
            brute: BoundedMap::new(cap, w),
            dos: BoundedMap::new(cap, w),
            tor: BoundedMap::new(cap, PORTPROBE_WINDOW_SECS),
        }
    }

    /// (evicted, tracked) over all tables.
    pub fn state(&self) -> (u64, usize) {
        (
            self.scan.evicted()
                + self.sweep.evicted()
                + self.probe.evicted()
                + self.brute.evicted()
                + self.dos.evicted()
                + self.tor.evicted(),
            self.scan.len()
                + self.sweep.len()
                + self.probe.len()
                + self.brute.len()
                + self.dos.len()
                + self.tor.len(),
        )
    }

    /// Runs the flow detectors on one record (whose endpoints are `ends`) at time `t`.
    pub fn observe(
        &mut self,
        rec: &FlowRecord<'_>,
        ends: &Endpoints,
        t: i64,
        loc: Loc,
        ctx: &Ctx<'_>,
        out: &mut Vec<Detection>,
    ) {
        let src_ours = !ends.src_public;
        let dst_ours = !ends.dst_public;
        if !src_ours && !dst_ours {
            return;
        }
        let f = Flow {
            rec,
            src: ends.src,
            dst: ends.dst,
            sp: rec.srcport.unwrap_or(0),
            dp: rec.dstport.unwrap_or(0),
            proto: rec.protocol.unwrap_or(0),
            packets: rec.packets.unwrap_or(0),
            bytes: rec.bytes.unwrap_or(0),
            reject: rec.action == Some(FlowAction::Reject),
            t,
            loc,
        };
        self.intel(&f, src_ours, dst_ours, ctx, out);
        self.portscan(&f, src_ours, ctx, out);
        if src_ours && !dst_ours {
            self.portsweep(&f, ctx, out);
            self.dos(&f, ctx, out);
        }
        if dst_ours && !src_ours {
            self.portprobe(&f, ctx, out);
        }
        self.bruteforce(&f, src_ours, dst_ours, ctx, out);
    }

    fn intel(
        &mut self,
        f: &Flow<'_, '_>,
        src_ours: bool,
        dst_ours: bool,
        ctx: &Ctx<'_>,
        out: &mut Vec<Detection>,
    ) {
        let (ours, remote, rport) = match (src_ours, dst_ours) {
            (true, false) => (f.src, f.dst, f.dp),
            (false, true) => (f.dst, f.src, f.sp),
            _ => return,
        };
        let outbound = ours == f.src;
        let Some(m) = ctx.intel.match_ip_port(remote, rport) else {
            return;
        };
        let class = classify(m.source);
        let (ty, sev, title) = match (class, outbound) {
            (IntelClass::Custom, _) => (
                "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom",
                MEDIUM,
                "communicating with an IP address on a custom threat list",
            ),
            (IntelClass::CommandAndControl, true) => (
                "Backdoor:EC2/C&CActivity.B",
                HIGH,
                "communicating with a known command and control server",
            ),
            (IntelClass::Crypto, true) => (
                "CryptoCurrency:EC2/BitcoinTool.B",
                HIGH,
                "communicating with an IP address tied to cryptocurrency mining",
            ),
            (IntelClass::Sinkhole, true) => (
                "Trojan:EC2/BlackholeTraffic",
                MEDIUM,
                "communicating with a black-holed IP address",
            ),
            (IntelClass::Tor, _) => {
                let peers = self
                    .tor
                    .entry(ours, f.t, || DistinctWindow::new(f.t, f.loc));
                if peers.add(
                    remote,
                    f.t,
                    PORTPROBE_WINDOW_SECS,
                    ctx.cfg.tor_relay_min_peers,
                    f.reject,
                    f.loc,
                ) {
                    let mut d = f.detection(
                        ctx,
                        "UnauthorizedAccess:EC2/TorRelay",
                        HIGH,
                        ours,
                        peers.first,
                    );
                    d.title = format!("EC2 instance {ours} is acting as a Tor relay.");
                    d.description = format!(
                        "{ours} exchanged traffic with {} distinct Tor-listed addresses within {} s (threshold {}).",
                        peers.items.len(),
                        PORTPROBE_WINDOW_SECS,
                        ctx.cfg.tor_relay_min_peers
                    );
                    d.info.push(("distinctTorPeers", json!(peers.items.len())));
                    d.info
                        .push(("threshold", json!(ctx.cfg.tor_relay_min_peers)));
                    out.push(d);
                }
                if !outbound {
                    return;
                }
                (
                    "UnauthorizedAccess:EC2/TorClient",
                    HIGH,
                    "making connections to Tor network nodes",
                )
            }
            _ => return,
        };
        let mut d = f.detection(ctx, ty, sev, ours, f.loc);
        d.key = remote.to_string();
        d.title = format!("EC2 instance {ours} is {title}.");
        d.description = format!(
            "{} traffic between {ours} and {remote}:{rport}, which is on threat list `{}` ({}; matched as {:?}).",
            if outbound { "Outbound" } else { "Inbound" },
            m.source.name,
            m.source.category,
            m.kind
        );
        d.info.push(("threatListName", json!(m.source.name)));
        d.evidence.push(crate::finding::ThreatIntelligenceDetail {
            threat_list_name: m.source.name.clone(),
            threat_names: vec![m.source.category.clone()],
        });
        out.push(d);
    }

    fn portscan(
        &mut self,
        f: &Flow<'_, '_>,
        src_ours: bool,
        ctx: &Ctx<'_>,
        out: &mut Vec<Detection>,
    ) {
        let probe_like = f.reject || (f.packets <= PROBE_MAX_PACKETS && f.bytes <= PROBE_MAX_BYTES);
        if !probe_like || !matches!(f.proto, 6 | 17) {
            return;
        }
        let th = ctx.cfg.portscan_min_ports;
        let w = self
            .scan
            .entry((f.src, f.dst), f.t, || DistinctWindow::new(f.t, f.loc));
        if !w.add(f.dp, f.t, self.window, th, f.reject, f.loc) {
            return;
        }
        let (ours, sev) = if src_ours {
            (f.src, MEDIUM)
        } else {
            (f.dst, LOW)
        };
        let mut d = f.detection(ctx, "Recon:EC2/Portscan", sev, ours, w.first);
        d.key = if src_ours { f.dst } else { f.src }.to_string();
        d.title = if src_ours {
            format!(
                "EC2 instance {ours} is performing outbound port scans against {}.",
                f.dst
            )
        } else {
            format!("EC2 instance {ours} is being port-scanned by {}.", f.src)
        };
        d.description = format!(
            "{} probed {} distinct ports of {} within {} s (threshold {}); {} of {} probe flows rejected.",
            f.src,
            w.items.len(),
            f.dst,
            self.window,
            th,
            w.rejects,
            w.seen
        );
        d.info.push(("distinctPorts", json!(w.items.len())));
        d.info.push(("threshold", json!(th)));
        d.info.push(("rejectedFlows", json!(w.rejects)));
        d.info.push((
            "sampledPorts",
            json!(w.items.iter().take(10).collect::<Vec<_>>()),
        ));
        out.push(d);
    }

    fn portsweep(&mut self, f: &Flow<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
        let probe_like = f.reject || (f.packets <= PROBE_MAX_PACKETS && f.bytes <= PROBE_MAX_BYTES);
        if !probe_like || !matches!(f.proto, 6 | 17) {
            return;
        }
        let th = ctx.cfg.portsweep_min_hosts;
        let w = self
            .sweep
            .entry((f.src, f.dp), f.t, || DistinctWindow::new(f.t, f.loc));
        if !w.add(f.dst, f.t, self.window, th, f.reject, f.loc) {
            return;
        }
        let mut d = f.detection(ctx, "Impact:EC2/PortSweep", HIGH, f.src, w.first);
        d.key = f.dp.to_string();
        d.title = format!(
            "EC2 instance {} is probing port {} on many hosts.",
            f.src, f.dp
        );
        d.description = format!(
            "{} sent probe-like flows (≤ {PROBE_MAX_PACKETS} packets, ≤ {PROBE_MAX_BYTES} bytes) to port {} of {} distinct public hosts within {} s (threshold {th}).",
            f.src,
            f.dp,
            w.items.len(),
            self.window
        );
        d.info.push(("distinctHosts", json!(w.items.len())));
        d.info.push(("threshold", json!(th)));
        out.push(d);
    }

    fn portprobe(&mut self, f: &Flow<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
        if f.reject || PROBED_PORTS.binary_search(&f.dp).is_err() || !matches!(f.proto, 6 | 17) {
            return;
        }
        let listed = ctx
            .intel
            .match_ip(f.src)
            .filter(|m| classify(m.source) != IntelClass::Custom);
        let th = ctx.cfg.portprobe_min_sources;
        let w = self
            .probe
            .entry((f.dst, f.dp), f.t, || DistinctWindow::new(f.t, f.loc));
        let crossed = w.add(f.src, f.t, PORTPROBE_WINDOW_SECS, th, false, f.loc);
        if listed.is_none() && !crossed {
            return;
        }
        let sev = if matches!(f.dp, 9200 | 9300) {
            HIGH
        } else {
            LOW
        };
        let mut d = f.detection(
            ctx,
            "Recon:EC2/PortProbeUnprotectedPort",
            sev,
            f.dst,
            w.first,
        );
        d.key = f.dp.to_string();
        d.action = crate::finding::Action {
            action_type: "PORT_PROBE".into(),
            port_probe_action: Some(json!({
                "blocked": false,
                "portProbeDetails": [{
                    "localPortDetails": { "port": f.dp, "portName": port_name(f.dp) },
                    "localIpDetails": ip_details(f.dst),
                    "remoteIpDetails": ip_details(f.src),
                }],
            })),
            ..Default::default()
        };
        d.title = format!(
            "Unprotected port {} on EC2 instance {} is being probed.",
            f.dp, f.dst
        );
        d.description = match &listed {
            Some(m) => format!(
                "Port {} of {} accepted traffic from {}, a known scanner/malicious address on list `{}`.",
                f.dp, f.dst, f.src, m.source.name
            ),
            None => format!(
                "Port {} of {} accepted traffic from {} distinct public addresses within {} s (threshold {th}).",
                f.dp,
                f.dst,
                w.items.len(),
                PORTPROBE_WINDOW_SECS
            ),
        };
        if let Some(m) = listed {
            d.info.push(("threatListName", json!(m.source.name)));
            d.evidence.push(crate::finding::ThreatIntelligenceDetail {
                threat_list_name: m.source.name.clone(),
                threat_names: vec![m.source.category.clone()],
            });
        } else {
            d.info.push(("distinctSources", json!(w.items.len())));
            d.info.push(("threshold", json!(th)));
        }
        out.push(d);
    }

    fn bruteforce(
        &mut self,
        f: &Flow<'_, '_>,
        src_ours: bool,
        dst_ours: bool,
        ctx: &Ctx<'_>,
        out: &mut Vec<Detection>,
    ) {
        let ty = match f.dp {
            22 => "UnauthorizedAccess:EC2/SSHBruteForce",
            3389 => "UnauthorizedAccess:EC2/RDPBruteForce",
            _ => return,
        };
        if f.proto != 6 || f.packets > ctx.cfg.bruteforce_max_packets {
            return;
        }
        let th = ctx.cfg.bruteforce_min_attempts;
        let window = self.window;
        let w = self
            .brute
            .entry((f.src, f.dst, f.dp), f.t, || CountWindow::new(f.t, f.loc));
        w.roll(f.t, window, f.loc);
        w.count += 1;
        w.packets += f.packets;
        if w.fired || w.count < th {
            return;
        }
        w.fired = true;
        let (count, first) = (w.count, w.first);
        // GuardDuty: Low when our instance is the target, High when it is the actor.
        let sides = [(src_ours, f.src, HIGH), (dst_ours, f.dst, LOW)];
        for (is_ours, ours, sev) in sides {
            if !is_ours {
                continue;
            }
            let mut d = f.detection(ctx, ty, sev, ours, first);
            d.key = if ours == f.src { f.dst } else { f.src }.to_string();
            d.title = if ours == f.src {
                format!(
                    "EC2 instance {ours} is performing {} brute force attacks against {}.",
                    port_name(f.dp),
                    f.dst
                )
            } else {
                format!(
                    "{} is performing {} brute force attacks against {ours}.",
                    f.src,
                    port_name(f.dp)
                )
            };
            d.description = format!(
                "{count} short connections (≤ {} packets each) from {} to {}:{} within {window} s (threshold {th}).",
                ctx.cfg.bruteforce_max_packets, f.src, f.dst, f.dp
            );
            d.info.push(("connections", json!(count)));
            d.info.push(("threshold", json!(th)));
            out.push(d);
        }
    }

    fn dos(&mut self, f: &Flow<'_, '_>, ctx: &Ctx<'_>, out: &mut Vec<Detection>) {
        let kind = match (f.proto, f.dp) {
            (6 | 17, 53) => DosKind::Dns,
            (6, _) => DosKind::Tcp,
            (17, p) if TCP_ONLY_PORTS.binary_search(&p).is_ok() => DosKind::UdpOnTcpPorts,
            (17, _) => DosKind::Udp,
            (1 | 58, _) => return,
            _ => DosKind::UnusualProtocol,
        };
        let th = ctx.cfg.dos_min_packets;
        let max_mean = ctx.cfg.dos_max_mean_packet_bytes;
        let window = self.window;
        let w = self
            .dos
            .entry((f.src, f.dst, kind), f.t, || CountWindow::new(f.t, f.loc));
        w.roll(f.t, window, f.loc);
        w.count += 1;
        w.packets = w.packets.saturating_add(f.packets);
        w.bytes = w.bytes.saturating_add(f.bytes);
        if w.fired || w.packets < th || w.bytes / w.packets.max(1) > max_mean {
            return;
        }
        w.fired = true;
        let (packets, bytes, first) = (w.packets, w.bytes, w.first);
        let mut d = f.detection(ctx, kind.finding_type(), HIGH, f.src, first);
        d.key = f.dst.to_string();
        d.title = format!(
            "EC2 instance {} is behaving in a manner that may indicate it is being used to perform a Denial of Service (DoS) attack using the {} protocol.",
            f.src,
            proto_name(f.proto)
        );
        d.description = format!(
            "{} sent {packets} packets ({bytes} bytes, mean {} B/packet) to {}:{} within {window} s (threshold {th} packets, mean ≤ {max_mean} B).",
            f.src,
            bytes / packets.max(1),
            f.dst,
            f.dp
        );
        d.info.push(("packets", json!(packets)));
        d.info.push(("bytes", json!(bytes)));
        d.info.push(("threshold", json!(th)));
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists_are_sorted_for_bisection() {
        assert!(PROBED_PORTS.windows(2).all(|w| w[0] < w[1]));
        assert!(TCP_ONLY_PORTS.windows(2).all(|w| w[0] < w[1]));
    }
}
