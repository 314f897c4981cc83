//! Detector thresholds. Each default is a named constant saying why it has that value;
//! [`Config`] carries them at run time (serde, so a `[guard]` config section can override).

use serde::{Deserialize, Serialize};

/// Window for the network counters. VPC Flow Logs aggregate over up to 10 minutes and
/// arrive out of order by as much (reference guard.md §1), so nothing shorter is reliable.
pub const FLOW_WINDOW_SECS: i64 = 600;
/// Distinct destination ports from one source to one host within the window for
/// Recon:EC2/Portscan. `nmap -sT` (the tester) probes 1,000 ports; normal clients use a
/// handful (a web client: 80/443; a database client: one port).
pub const PORTSCAN_MIN_PORTS: usize = 50;
/// Distinct public hosts probed on one port within the window for Impact:EC2/PortSweep.
/// Only probe-like flows count (see [`PROBE_MAX_PACKETS`]) so crawlers and NAT gateways
/// that complete their connections do not trip it.
pub const PORTSWEEP_MIN_HOSTS: usize = 50;
/// A flow of at most this many packets (and [`PROBE_MAX_BYTES`]) carries no payload: a
/// SYN, SYN/RST or a bare handshake, i.e. a probe.
pub const PROBE_MAX_PACKETS: u64 = 4;
/// See [`PROBE_MAX_PACKETS`]; 4 packets of 60–80 bytes of headers.
pub const PROBE_MAX_BYTES: u64 = 320;
/// Short connections to 22/3389 from one source to one host within the window for the
/// brute-force types. Crowbar in the tester makes 20 loops; an administrator opens a few.
pub const BRUTEFORCE_MIN_ATTEMPTS: u64 = 20;
/// A connection with at most this many packets is an authentication attempt, not a
/// session: a failed SSH key exchange and auth is ~20–40 packets, a working session hundreds.
pub const BRUTEFORCE_MAX_PACKETS: u64 = 60;
/// Distinct public sources accepted on one commonly probed port of one host within an
/// hour for Recon:EC2/PortProbeUnprotectedPort without a scanner-list hit. A bastion is
/// reached from a few office addresses, not from ten unrelated networks.
pub const PORTPROBE_MIN_SOURCES: usize = 10;
/// Window of the port-probe source counter.
pub const PORTPROBE_WINDOW_SECS: i64 = 3600;
/// Packets sent by one instance to one public target within the window for the
/// Backdoor:EC2/DenialOfService.* types (≈ 170 packets/s sustained over 10 minutes). The
/// tester's UDP flood is 400,000 datagrams.
pub const DOS_MIN_PACKETS: u64 = 100_000;
/// Mean packet size at or under which a high-volume flow looks like a flood rather than
/// an upload (bulk transfers run at ~1,400+ bytes per packet).
pub const DOS_MAX_MEAN_PACKET_BYTES: u64 = 600;
/// Distinct Tor-listed peers of one instance within an hour for UnauthorizedAccess:EC2/TorRelay
/// (a relay talks to many relays; a client to a few guards).
pub const TOR_RELAY_MIN_PEERS: usize = 10;
/// Window of DNS counters (DGA bursts, exfiltration).
pub const DNS_WINDOW_SECS: i64 = 3600;
/// DGA-looking registered domains queried by one instance within the DNS window for
/// Trojan:EC2/DGADomainRequest.B; one alone is Impact:EC2/SuspiciousDomainRequest.Reputation.
/// DGA malware tries dozens to thousands per hour; a person mistypes one or two.
pub const DGA_MIN_DOMAINS: usize = 8;
/// Score (see [`crate::dga`]) at or above which a label looks machine-generated.
pub const DGA_MIN_SCORE: f64 = 0.65;
/// Unique encoded-looking query names under one registered domain from one instance within
/// the DNS window for Trojan:EC2/DNSDataExfiltration. The tester sends 930; CDN and
/// telemetry names repeat rather than grow.
pub const EXFIL_MIN_UNIQUE: usize = 50;
/// Minimum length of the sub-domain part of a name for it to count as carrying data. The
/// tester's names are 113–229 characters with labels up to 62.
pub const EXFIL_MIN_SUBDOMAIN_LEN: usize = 40;
/// Minimum Shannon entropy (bits/char) of that sub-domain part; base32/base64 payloads
/// measure 4.9–5.7 in the tester set, English-like host names under 3.5.
pub const EXFIL_MIN_ENTROPY: f64 = 3.8;
/// Window in which several console logins of one user from different networks count as
/// UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B.
pub const CONSOLE_LOGIN_WINDOW_SECS: i64 = 3600;
/// Learning period of the baselines in days when none is configured: 0, i.e. the analysed
/// logs are all the history there is (see [`crate::baseline`]). The running service
/// configures [`crate::baseline::BASELINE_DAYS`] (`[guard] baseline_days`).
pub const BASELINE_DAYS_OFFLINE: u32 = 0;
/// Identity and instance profiles kept (each holds up to a few hundred usage entries, so
/// fewer than [`MAX_TRACKED_KEYS`]); the least recently active go first.
pub const MAX_PROFILES: usize = 20_000;
/// Keys tracked per detector table before eviction (see [`crate::window`]).
pub const MAX_TRACKED_KEYS: usize = 100_000;
/// Distinct findings kept in memory.
pub const MAX_FINDINGS: usize = 100_000;

/// Run-time settings of the detectors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Detector ID written into findings (32 hex chars).
    pub detector_id: String,
    /// Account used when records carry none.
    pub default_account: String,
    /// Region used when records carry none.
    pub default_region: String,
    /// See [`FLOW_WINDOW_SECS`].
    pub flow_window_secs: i64,
    /// See [`PORTSCAN_MIN_PORTS`].
    pub portscan_min_ports: usize,
    /// See [`PORTSWEEP_MIN_HOSTS`].
    pub portsweep_min_hosts: usize,
    /// See [`BRUTEFORCE_MIN_ATTEMPTS`].
    pub bruteforce_min_attempts: u64,
    /// See [`BRUTEFORCE_MAX_PACKETS`].
    pub bruteforce_max_packets: u64,
    /// See [`PORTPROBE_MIN_SOURCES`].
    pub portprobe_min_sources: usize,
    /// See [`DOS_MIN_PACKETS`].
    pub dos_min_packets: u64,
    /// See [`DOS_MAX_MEAN_PACKET_BYTES`].
    pub dos_max_mean_packet_bytes: u64,
    /// See [`TOR_RELAY_MIN_PEERS`].
    pub tor_relay_min_peers: usize,
    /// See [`DGA_MIN_DOMAINS`].
    pub dga_min_domains: usize,
    /// See [`DGA_MIN_SCORE`].
    pub dga_min_score: f64,
    /// See [`EXFIL_MIN_UNIQUE`].
    pub exfil_min_unique: usize,
    /// See [`EXFIL_MIN_SUBDOMAIN_LEN`].
    pub exfil_min_subdomain_len: usize,
    /// See [`EXFIL_MIN_ENTROPY`].
    pub exfil_min_entropy: f64,
    /// See [`MAX_TRACKED_KEYS`].
    pub max_tracked_keys: usize,
    /// See [`MAX_FINDINGS`].
    pub max_findings: usize,
    /// Networks counted as inside AWS for InstanceCredentialExfiltration.InsideAWS
    /// (CIDRs, e.g. from ip-ranges.json); other public addresses are "outside AWS".
    pub aws_networks: Vec<String>,
    /// Learning period of the per-identity and per-instance baselines, in days, counted from
    /// the first record; nothing baseline-based is reported during it. 0: no learning period.
    /// See [`BASELINE_DAYS_OFFLINE`].
    pub baseline_days: u32,
    /// See [`MAX_PROFILES`].
    pub max_profiles: usize,
    /// See [`crate::baseline::VOLUME_FACTOR`].
    pub traffic_volume_factor: f64,
    /// See [`crate::baseline::VOLUME_MIN_BYTES`].
    pub traffic_volume_min_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            detector_id: "6ac4c0ecb3d53d5e2b0c1f8a3e2f9d10".into(),
            default_account: "000000000000".into(),
            default_region: "us-east-1".into(),
            flow_window_secs: FLOW_WINDOW_SECS,
            portscan_min_ports: PORTSCAN_MIN_PORTS,
            portsweep_min_hosts: PORTSWEEP_MIN_HOSTS,
            bruteforce_min_attempts: BRUTEFORCE_MIN_ATTEMPTS,
            bruteforce_max_packets: BRUTEFORCE_MAX_PACKETS,
            portprobe_min_sources: PORTPROBE_MIN_SOURCES,
            dos_min_packets: DOS_MIN_PACKETS,
            dos_max_mean_packet_bytes: DOS_MAX_MEAN_PACKET_BYTES,
            tor_relay_min_peers: TOR_RELAY_MIN_PEERS,
            dga_min_domains: DGA_MIN_DOMAINS,
            dga_min_score: DGA_MIN_SCORE,
            exfil_min_unique: EXFIL_MIN_UNIQUE,
            exfil_min_subdomain_len: EXFIL_MIN_SUBDOMAIN_LEN,
            exfil_min_entropy: EXFIL_MIN_ENTROPY,
            max_tracked_keys: MAX_TRACKED_KEYS,
            max_findings: MAX_FINDINGS,
            aws_networks: Vec::new(),
            baseline_days: BASELINE_DAYS_OFFLINE,
            max_profiles: MAX_PROFILES,
            traffic_volume_factor: crate::baseline::VOLUME_FACTOR,
            traffic_volume_min_bytes: crate::baseline::VOLUME_MIN_BYTES,
        }
    }
}
