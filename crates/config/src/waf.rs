//! The `[waf]` section: the WAF reverse proxy's listeners, upstream pools, limits and web ACL files, as
//! written ([`RawWaf`]) and checked ([`WafConfig`]).
//!
//! Durations are strings with a unit (`"250ms"`, `"10s"`, `"2m"`, `"1h"`); addresses are `IP:port`; CIDRs are
//! `10.0.0.0/8` or a bare address. Every problem names the key it is about (`waf.pools.upstreams`) and the
//! pool or listener it is in.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use crate::resolve::Problem;

/// Where Debian's `modsecurity-crs` package puts the OWASP Core Rule Set.
pub const DEFAULT_CRS_DIR: &str = "/usr/share/modsecurity-crs";

/// `[waf]`: the WAF reverse proxy. Nothing is started unless at least one `[[waf.listeners]]` exists.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWaf {
    /// What happens when inspection fails: `"closed"` answers 500 (the default, as an ALB), `"open"` forwards
    /// the request uninspected.
    pub fail_mode: Option<String>,
    /// Peers (CIDRs or addresses) whose `X-Forwarded-For`/`-Proto`/`-Host` are trusted and extended; other
    /// peers' are replaced. Default: none.
    pub trusted_proxies: Option<Vec<String>>,
    /// Request and connection limits.
    #[serde(default)]
    pub limits: RawWafLimits,
    /// Upstream pools that routes point at.
    #[serde(default)]
    pub pools: Vec<RawWafPool>,
    /// Listening sockets.
    #[serde(default)]
    pub listeners: Vec<RawWafListener>,
    /// Where rate-based rules count, shared by every node: `redis://HOST:PORT[/DB]`,
    /// `rediss://HOST:PORT[/DB]` (TLS), or a Redis Cluster as `redis+cluster://HOST:PORT,HOST:PORT,...`
    /// (`rediss+cluster://` for TLS). Default: counted in this process.
    pub redis: Option<String>,
    /// PEM root certificates that a `rediss://` Redis must chain to. Default: the built-in CA
    /// (`<data_dir>/ca.pem`); name `/etc/ssl/certs/ca-certificates.crt` for a Redis with a public certificate.
    pub redis_ca_file: Option<String>,
    /// The OWASP CRS directory (holding `rules/`). Default `/usr/share/modsecurity-crs`.
    pub crs: Option<String>,
    /// The CRS paranoia level, 1–4. Default 1.
    pub crs_paranoia: Option<u8>,
    /// Where WAF log records of web ACLs from files go: `"stdout"`, a file path (JSON lines, appended) or
    /// `"nats://HOST:PORT/SUBJECT"` (one JSON message per record). Default: not logged. Web ACLs managed through the API log as their `PutLoggingConfiguration` says.
    pub log: Option<String>,
    /// Logging destinations of `PutLoggingConfiguration` that go to NATS instead of a file: the destination's
    /// name (the last part of its ARN, e.g. `aws-waf-logs-site` of
    /// `arn:aws:firehose:REGION:ACCOUNT:deliverystream/aws-waf-logs-site`) → `"nats://HOST:PORT/SUBJECT"`.
    #[serde(default)]
    pub log_destinations: BTreeMap<String, String>,
    /// The file holding the key that signs `aws-waf-token` cookies (32–64 random bytes, base64). Nodes that share
    /// clients must share it. Default `<data_dir>/waf/token.key`, created on first start.
    pub token_key_file: Option<String>,
    /// A MaxMind DB (`GeoLite2-Country.mmdb`, `GeoIP2-City.mmdb`, or another database in that format) for
    /// `GeoMatchStatement` and the `country` of log records and sampled requests. Without one, geo match
    /// statements never match. Read at start.
    pub geoip_db: Option<String>,
    /// A MaxMind ASN database (`GeoLite2-ASN.mmdb`) for `AsnMatchStatement`, when the `geoip_db` has no ASNs.
    pub asn_db: Option<String>,
    /// Address lists that fill the IP sets of the Portcullis `IpReputationList` managed rule group.
    #[serde(default)]
    pub ip_reputation: RawIpReputation,
    /// Worker threads of the proxy, each with its own event loop, `SO_REUSEPORT` socket per listener and
    /// upstream connections (as nginx's `worker_processes`). `0` runs the listeners on the shared runtime.
    /// Default: the number of cores. Read at start.
    pub workers: Option<usize>,
}

/// `[waf.ip_reputation]`: files of addresses and CIDRs (one per line, the first token of the line; `#` and
/// `;` start comments: IPsum, FireHOL netsets, Spamhaus DROP, plain lists) for the three rules of the
/// Portcullis `IpReputationList` group. Read at start.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawIpReputation {
    /// Known malicious hosts (rule `ManagedIPReputationList`).
    pub malicious: Option<Vec<String>>,
    /// Reconnaissance sources: scanners, probes (rule `ManagedReconnaissanceList`).
    pub reconnaissance: Option<Vec<String>>,
    /// DDoS participants (rule `ManagedIPDDoSList`).
    pub ddos: Option<Vec<String>>,
}

/// `[waf.limits]`; every field defaults to the proxy's built-in value.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafLimits {
    /// Size of the request line plus headers; larger heads get 431. Default 65536.
    pub max_header_bytes: Option<u64>,
    /// Number of request headers; more get 431. Default 100.
    pub max_headers: Option<u64>,
    /// Largest request body; larger gets 413. Default 104857600 (100 MiB).
    pub max_body_bytes: Option<u64>,
    /// Body bytes handed to the web ACL when the ACL does not set its own limit. Default 16384.
    pub inspection_limit: Option<u64>,
    /// Time allowed to send the request head. Default `"10s"`.
    pub header_read_timeout: Option<String>,
    /// Time allowed to send the inspected body prefix; slower clients get 408. Default `"30s"`.
    pub body_prefix_timeout: Option<String>,
    /// Open client connections per listener. Default 10000.
    pub max_connections: Option<u64>,
    /// Requests in flight per client IP; more get 429. Default 256.
    pub max_requests_per_ip: Option<u64>,
    /// HTTP/2 streams per connection. Default 128.
    pub max_h2_streams: Option<u64>,
}

/// `[[waf.pools]]`: equivalent upstream servers.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafPool {
    /// The name routes refer to. Required.
    pub name: Option<String>,
    /// The servers, `IP:port` (plain HTTP/1.1). Required, at least one.
    pub upstreams: Option<Vec<String>>,
    /// `"round_robin"` (default) or `"least_connections"`.
    pub balance: Option<String>,
    /// Limit on opening a connection to a server. Default `"3s"`.
    pub connect_timeout: Option<String>,
    /// Limit on waiting for the response head, and between body chunks. Default `"60s"`.
    pub read_timeout: Option<String>,
    /// Attempts on another server when a connection cannot be opened (idempotent requests only). Default 1.
    pub retries: Option<u32>,
    /// Idle keep-alive connections kept per server. Default 32.
    pub max_idle_per_upstream: Option<u64>,
    /// Active health checks; without this table every server is considered healthy.
    pub health_check: Option<RawWafHealthCheck>,
}

/// `[waf.pools.health_check]`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafHealthCheck {
    /// Path requested with GET; 2xx/3xx is healthy. Default `"/"`.
    pub path: Option<String>,
    /// Time between checks. Default `"10s"`.
    pub interval: Option<String>,
    /// Limit for one check. Default `"2s"`.
    pub timeout: Option<String>,
    /// Successes in a row that make a server healthy. Default 2.
    pub healthy_threshold: Option<u32>,
    /// Failures in a row that make a server unhealthy. Default 2.
    pub unhealthy_threshold: Option<u32>,
}

/// `[[waf.listeners]]`: one socket, its certificates, its web ACL and its routes.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafListener {
    /// A name for logs. Required, unique.
    pub name: Option<String>,
    /// `IP:port` to bind. Required.
    pub bind: Option<String>,
    /// HTTPS: `{ certificates = [{ cert = "…", key = "…" }] }` (PEM files) or `{ issue = ["www.example.com"] }`
    /// (certificates issued by the built-in CA at start). Without it the listener speaks plain HTTP.
    pub tls: Option<RawWafTls>,
    /// A JSON file holding the web ACL (as `aws wafv2 get-web-acl` prints it); watched and re-applied on change.
    /// Without it every request is allowed.
    pub web_acl: Option<String>,
    /// Shorthand for one route `{ path_prefix = "/", pool = … }`.
    pub pool: Option<String>,
    /// Routes, tried in order.
    #[serde(default)]
    pub routes: Vec<RawWafRoute>,
}

/// A listener's `tls` table.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafTls {
    /// Certificate and key PEM files; the SNI name picks one, the first is the default.
    pub certificates: Option<Vec<RawWafCert>>,
    /// DNS names / IPs for one certificate issued by the built-in CA.
    pub issue: Option<Vec<String>>,
}

/// One certificate of a listener.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafCert {
    /// The chain, leaf first (PEM).
    pub cert: Option<String>,
    /// The private key (PEM).
    pub key: Option<String>,
}

/// `[[waf.listeners.routes]]`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawWafRoute {
    /// The `Host` to match (without port); absent matches any host.
    pub host: Option<String>,
    /// The path prefix to match. Default `"/"`.
    pub path_prefix: Option<String>,
    /// The pool to forward to. Required.
    pub pool: Option<String>,
}

/// The resolved `[waf]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct WafConfig {
    /// Whether inspection failures let requests through.
    pub fail_open: bool,
    /// Trusted forwarding proxies.
    pub trusted_proxies: Vec<IpNet>,
    /// Limits; `None` keeps the proxy's default.
    pub limits: WafLimits,
    /// Pools.
    pub pools: Vec<WafPool>,
    /// Listeners.
    pub listeners: Vec<WafListener>,
    /// The Redis URL for rate counters.
    pub redis: Option<String>,
    /// The CA bundle for `rediss://`; `None` means the built-in CA.
    pub redis_ca_file: Option<PathBuf>,
    /// The CRS directory.
    pub crs_dir: PathBuf,
    /// The CRS paranoia level (1–4).
    pub crs_paranoia: u8,
    /// Where file web ACLs log.
    pub log: Option<WafLog>,
    /// `PutLoggingConfiguration` destination names that publish to NATS (always [`WafLog::Nats`]).
    pub log_destinations: BTreeMap<String, WafLog>,
    /// The token key file; `None` means `<data_dir>/waf/token.key`.
    pub token_key_file: Option<PathBuf>,
    /// The geo database, if any.
    pub geoip_db: Option<PathBuf>,
    /// The separate ASN database, if any.
    pub asn_db: Option<PathBuf>,
    /// The IP reputation list files.
    pub ip_reputation: IpReputation,
    /// Proxy worker threads; `None` means one per core.
    pub workers: Option<usize>,
}

/// Resolved `[waf.ip_reputation]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpReputation {
    /// Files for the malicious-hosts set.
    pub malicious: Vec<PathBuf>,
    /// Files for the reconnaissance set.
    pub reconnaissance: Vec<PathBuf>,
    /// Files for the DDoS set.
    pub ddos: Vec<PathBuf>,
}

/// Where WAF log records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WafLog {
    /// Standard output.
    Stdout,
    /// A file, appended.
    File(PathBuf),
    /// A NATS subject: each record is published as one JSON message.
    Nats {
        /// `nats://HOST:PORT`.
        url: String,
        /// The subject.
        subject: String,
    },
}

impl Default for WafConfig {
    fn default() -> Self {
        WafConfig {
            fail_open: false,
            trusted_proxies: Vec::new(),
            limits: WafLimits::default(),
            pools: Vec::new(),
            listeners: Vec::new(),
            redis: None,
            redis_ca_file: None,
            crs_dir: PathBuf::from(DEFAULT_CRS_DIR),
            crs_paranoia: 1,
            log: None,
            log_destinations: BTreeMap::new(),
            token_key_file: None,
            geoip_db: None,
            asn_db: None,
            ip_reputation: IpReputation::default(),
            workers: None,
        }
    }
}

/// Resolved `[waf.limits]`; `None` means the proxy's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WafLimits {
    /// `max_header_bytes`.
    pub max_header_bytes: Option<usize>,
    /// `max_headers`.
    pub max_headers: Option<usize>,
    /// `max_body_bytes`.
    pub max_body_bytes: Option<u64>,
    /// `inspection_limit`.
    pub inspection_limit: Option<usize>,
    /// `header_read_timeout`.
    pub header_read_timeout: Option<Duration>,
    /// `body_prefix_timeout`.
    pub body_prefix_timeout: Option<Duration>,
    /// `max_connections`.
    pub max_connections: Option<usize>,
    /// `max_requests_per_ip`.
    pub max_requests_per_ip: Option<usize>,
    /// `max_h2_streams`.
    pub max_h2_streams: Option<u32>,
}

/// A resolved pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafPool {
    /// Name.
    pub name: String,
    /// Servers.
    pub upstreams: Vec<SocketAddr>,
    /// True for least-connections, false for round robin.
    pub least_connections: bool,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read timeout.
    pub read_timeout: Duration,
    /// Retries.
    pub retries: u32,
    /// Idle connections kept per server.
    pub max_idle_per_upstream: usize,
    /// Health checks.
    pub health_check: Option<WafHealthCheck>,
}

/// A resolved health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafHealthCheck {
    /// Path.
    pub path: String,
    /// Interval.
    pub interval: Duration,
    /// Timeout.
    pub timeout: Duration,
    /// Healthy threshold.
    pub healthy_threshold: u32,
    /// Unhealthy threshold.
    pub unhealthy_threshold: u32,
}

/// A resolved listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafListener {
    /// Name.
    pub name: String,
    /// Address.
    pub bind: SocketAddr,
    /// TLS, if any.
    pub tls: Option<WafTls>,
    /// The web ACL file.
    pub web_acl: Option<PathBuf>,
    /// Routes.
    pub routes: Vec<WafRoute>,
}

/// A listener's certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WafTls {
    /// PEM files: (certificate chain, key).
    Files(Vec<(PathBuf, PathBuf)>),
    /// Issue one certificate for these names from the built-in CA.
    Issue(Vec<String>),
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WafRoute {
    /// Host, lower case.
    pub host: Option<String>,
    /// Path prefix.
    pub path_prefix: String,
    /// Pool name.
    pub pool: String,
}

/// Parses `nats://HOST:PORT/SUBJECT` (a subject without wildcards).
fn parse_nats(s: &str) -> Option<WafLog> {
    let rest = s.strip_prefix("nats://")?;
    let (host, subject) = rest.split_once('/')?;
    if host.is_empty() || subject.is_empty() || subject.contains(['/', ' ', '*', '>']) {
        return None;
    }
    Some(WafLog::Nats {
        url: format!("nats://{host}"),
        subject: subject.to_owned(),
    })
}

/// Parses `"250ms"`, `"10s"`, `"2m"`, `"1h"`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

struct Cx<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Cx<'_> {
    fn push(&mut self, field: &'static str, message: String) {
        self.problems.push(Problem { field, message });
    }

    fn duration(
        &mut self,
        field: &'static str,
        whose: &str,
        v: Option<&str>,
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(s) => match parse_duration(s) {
                Some(d) if !d.is_zero() && d <= Duration::from_secs(86_400) => d,
                _ => {
                    self.push(
                        field,
                        format!("{whose}{s:?} is not a duration between 1ms and 24h such as \"250ms\", \"10s\" or \"2m\""),
                    );
                    default
                }
            },
        }
    }

    fn count(&mut self, field: &'static str, v: Option<u64>, max: u64) -> Option<usize> {
        let v = v?;
        if v == 0 || v > max {
            self.push(field, format!("{v} is outside 1..={max}"));
            return None;
        }
        usize::try_from(v).ok()
    }
}

fn whose(kind: &str, name: &str) -> String {
    format!("{kind} {name:?}: ")
}

/// Checks `[waf]`, pushing every problem.
pub(crate) fn resolve_waf(raw: RawWaf, problems: &mut Vec<Problem>) -> WafConfig {
    let mut cx = Cx { problems };
    let fail_open = match raw.fail_mode.as_deref() {
        None | Some("closed") => false,
        Some("open") => true,
        Some(other) => {
            cx.push(
                "waf.fail_mode",
                format!("{other:?} is not \"closed\" or \"open\""),
            );
            false
        }
    };
    let mut trusted_proxies = Vec::new();
    for t in raw.trusted_proxies.unwrap_or_default() {
        match t.parse::<IpNet>() {
            Ok(n) => trusted_proxies.push(n),
            Err(_) => match t.parse::<IpAddr>() {
                Ok(a) => trusted_proxies.push(IpNet::from(a)),
                Err(_) => cx.push(
                    "waf.trusted_proxies",
                    format!("{t:?} is not a CIDR such as 10.0.0.0/8 or an IP address"),
                ),
            },
        }
    }
    let limits = resolve_limits(&raw.limits, &mut cx);

    let mut pool_names = HashSet::new();
    let mut pools = Vec::new();
    for p in raw.pools {
        if let Some(pool) = resolve_pool(p, &mut cx, &mut pool_names) {
            pools.push(pool);
        }
    }
    let mut listener_names = HashSet::new();
    let mut binds = HashSet::new();
    let mut listeners = Vec::new();
    for l in raw.listeners {
        if let Some(l) = resolve_listener(l, &mut cx, &pool_names, &mut listener_names) {
            if l.bind.port() != 0 && !binds.insert(l.bind) {
                cx.push(
                    "waf.listeners.bind",
                    format!(
                        "{}{} is used by another listener",
                        whose("listener", &l.name),
                        l.bind
                    ),
                );
            }
            listeners.push(l);
        }
    }
    let redis = raw.redis.filter(|r| {
        let cluster = ["redis+cluster://", "rediss+cluster://"]
            .iter()
            .find_map(|p| r.strip_prefix(p));
        let ok = match cluster {
            Some(hosts) => hosts.split(',').any(|h| !h.trim().trim_end_matches('/').is_empty()),
            None => r.starts_with("redis://") || r.starts_with("rediss://"),
        };
        if !ok {
            cx.push(
                "waf.redis",
                "must be redis://HOST:PORT, rediss://HOST:PORT or redis+cluster://HOST:PORT,HOST:PORT (rediss+cluster:// with TLS)"
                    .to_owned(),
            );
        }
        ok
    });
    let redis_ca_file = raw.redis_ca_file.as_deref().and_then(|f| {
        if f.is_empty() {
            cx.push("waf.redis_ca_file", "must not be empty".to_owned());
            None
        } else {
            Some(PathBuf::from(f))
        }
    });
    let log = match raw.log.as_deref() {
        None => None,
        Some("stdout") => Some(WafLog::Stdout),
        Some("") => {
            cx.push(
                "waf.log",
                "must be \"stdout\", a file path or nats://HOST:PORT/SUBJECT".to_owned(),
            );
            None
        }
        Some(nats) if nats.starts_with("nats://") => {
            let parsed = parse_nats(nats);
            if parsed.is_none() {
                cx.push(
                    "waf.log",
                    format!(
                        "{nats:?} is not nats://HOST:PORT/SUBJECT (a subject without wildcards)"
                    ),
                );
            }
            parsed
        }
        Some(path) => Some(WafLog::File(PathBuf::from(path))),
    };
    let mut log_destinations = BTreeMap::new();
    for (name, target) in raw.log_destinations {
        let good_name = !name.is_empty()
            && name.len() <= 512
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !good_name {
            cx.push(
                "waf.log_destinations",
                format!("{name:?} is not a destination name (letters, digits, - _ .)"),
            );
            continue;
        }
        match parse_nats(&target) {
            Some(t) => {
                log_destinations.insert(name, t);
            }
            None => cx.push(
                "waf.log_destinations",
                format!(
                    "{name}: {target:?} is not nats://HOST:PORT/SUBJECT (a subject without wildcards)"
                ),
            ),
        }
    }
    let token_key_file = match raw.token_key_file {
        Some(p) if p.is_empty() => {
            cx.push("waf.token_key_file", "must not be empty".to_owned());
            None
        }
        other => other.map(PathBuf::from),
    };
    let mut db_path = |field: &'static str, v: Option<String>| match v {
        Some(p) if p.is_empty() => {
            cx.push(field, "must not be empty".to_owned());
            None
        }
        other => other.map(PathBuf::from),
    };
    let geoip_db = db_path("waf.geoip_db", raw.geoip_db);
    let asn_db = db_path("waf.asn_db", raw.asn_db);
    let mut lists = |field: &'static str, v: Option<Vec<String>>| -> Vec<PathBuf> {
        v.unwrap_or_default()
            .into_iter()
            .filter_map(|p| db_path(field, Some(p)))
            .collect()
    };
    let ip_reputation = IpReputation {
        malicious: lists("waf.ip_reputation.malicious", raw.ip_reputation.malicious),
        reconnaissance: lists(
            "waf.ip_reputation.reconnaissance",
            raw.ip_reputation.reconnaissance,
        ),
        ddos: lists("waf.ip_reputation.ddos", raw.ip_reputation.ddos),
    };
    let crs_dir = PathBuf::from(raw.crs.unwrap_or_else(|| DEFAULT_CRS_DIR.to_owned()));
    if crs_dir.as_os_str().is_empty() {
        cx.push("waf.crs", "must not be empty".to_owned());
    }
    if let Some(n) = raw.workers
        && n > 1024
    {
        cx.push("waf.workers", format!("{n} is above 1024"));
    }
    let workers = raw.workers;
    let crs_paranoia = raw.crs_paranoia.unwrap_or(1);
    if !(1..=4).contains(&crs_paranoia) {
        cx.push(
            "waf.crs_paranoia",
            format!("{crs_paranoia} is outside 1..=4"),
        );
    }
    WafConfig {
        fail_open,
        trusted_proxies,
        limits,
        pools,
        listeners,
        redis,
        redis_ca_file,
        crs_dir,
        crs_paranoia,
        log,
        log_destinations,
        token_key_file,
        geoip_db,
        asn_db,
        ip_reputation,
        workers,
    }
}

fn resolve_limits(l: &RawWafLimits, cx: &mut Cx<'_>) -> WafLimits {
    let timeout = |cx: &mut Cx<'_>, field, v: &Option<String>| {
        v.as_deref()
            .map(|s| cx.duration(field, "", Some(s), Duration::from_secs(10)))
    };
    WafLimits {
        max_header_bytes: cx.count("waf.limits.max_header_bytes", l.max_header_bytes, 1 << 20),
        max_headers: cx.count("waf.limits.max_headers", l.max_headers, 10_000),
        max_body_bytes: cx
            .count("waf.limits.max_body_bytes", l.max_body_bytes, 1 << 40)
            .map(|v| v as u64),
        inspection_limit: cx.count("waf.limits.inspection_limit", l.inspection_limit, 1 << 20),
        header_read_timeout: timeout(cx, "waf.limits.header_read_timeout", &l.header_read_timeout),
        body_prefix_timeout: timeout(cx, "waf.limits.body_prefix_timeout", &l.body_prefix_timeout),
        max_connections: cx.count("waf.limits.max_connections", l.max_connections, 1_000_000),
        max_requests_per_ip: cx.count(
            "waf.limits.max_requests_per_ip",
            l.max_requests_per_ip,
            1_000_000,
        ),
        max_h2_streams: cx
            .count("waf.limits.max_h2_streams", l.max_h2_streams, 10_000)
            .and_then(|v| u32::try_from(v).ok()),
    }
}

fn resolve_pool(p: RawWafPool, cx: &mut Cx<'_>, names: &mut HashSet<String>) -> Option<WafPool> {
    let name = match p.name {
        Some(n) if !n.is_empty() => n,
        _ => {
            cx.push("waf.pools.name", "every pool needs a name".to_owned());
            return None;
        }
    };
    let w = whose("pool", &name);
    if !names.insert(name.clone()) {
        cx.push("waf.pools.name", format!("{w}defined twice"));
    }
    let mut upstreams = Vec::new();
    match p.upstreams {
        None => cx.push(
            "waf.pools.upstreams",
            format!("{w}is required, e.g. [\"127.0.0.1:3000\"]"),
        ),
        Some(list) if list.is_empty() => {
            cx.push(
                "waf.pools.upstreams",
                format!("{w}needs at least one server"),
            );
        }
        Some(list) => {
            for u in list {
                match u.parse::<SocketAddr>() {
                    Ok(a) => upstreams.push(a),
                    Err(_) => cx.push(
                        "waf.pools.upstreams",
                        format!("{w}{u:?} is not an IP:port such as 127.0.0.1:3000"),
                    ),
                }
            }
        }
    }
    let least_connections = match p.balance.as_deref() {
        None | Some("round_robin") => false,
        Some("least_connections") => true,
        Some(other) => {
            cx.push(
                "waf.pools.balance",
                format!("{w}{other:?} is not \"round_robin\" or \"least_connections\""),
            );
            false
        }
    };
    let connect_timeout = cx.duration(
        "waf.pools.connect_timeout",
        &w,
        p.connect_timeout.as_deref(),
        Duration::from_secs(3),
    );
    let read_timeout = cx.duration(
        "waf.pools.read_timeout",
        &w,
        p.read_timeout.as_deref(),
        Duration::from_secs(60),
    );
    let retries = p.retries.unwrap_or(1);
    if retries > 10 {
        cx.push("waf.pools.retries", format!("{w}{retries} is above 10"));
    }
    let max_idle_per_upstream = cx
        .count(
            "waf.pools.max_idle_per_upstream",
            p.max_idle_per_upstream,
            100_000,
        )
        .unwrap_or(32);
    let health_check = p.health_check.map(|h| {
        let path = h.path.unwrap_or_else(|| "/".to_owned());
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            cx.push(
                "waf.pools.health_check.path",
                format!("{w}{path:?} is not a path starting with /"),
            );
        }
        let threshold = |cx: &mut Cx<'_>, field, v: Option<u32>| {
            let v = v.unwrap_or(2);
            if !(1..=100).contains(&v) {
                cx.push(field, format!("{w}{v} is outside 1..=100"));
            }
            v
        };
        WafHealthCheck {
            interval: cx.duration(
                "waf.pools.health_check.interval",
                &w,
                h.interval.as_deref(),
                Duration::from_secs(10),
            ),
            timeout: cx.duration(
                "waf.pools.health_check.timeout",
                &w,
                h.timeout.as_deref(),
                Duration::from_secs(2),
            ),
            healthy_threshold: threshold(
                cx,
                "waf.pools.health_check.healthy_threshold",
                h.healthy_threshold,
            ),
            unhealthy_threshold: threshold(
                cx,
                "waf.pools.health_check.unhealthy_threshold",
                h.unhealthy_threshold,
            ),
            path,
        }
    });
    Some(WafPool {
        name,
        upstreams,
        least_connections,
        connect_timeout,
        read_timeout,
        retries,
        max_idle_per_upstream,
        health_check,
    })
}

fn resolve_listener(
    l: RawWafListener,
    cx: &mut Cx<'_>,
    pools: &HashSet<String>,
    names: &mut HashSet<String>,
) -> Option<WafListener> {
    let name = match l.name {
        Some(n) if !n.is_empty() => n,
        _ => {
            cx.push(
                "waf.listeners.name",
                "every listener needs a name".to_owned(),
            );
            return None;
        }
    };
    let w = whose("listener", &name);
    if !names.insert(name.clone()) {
        cx.push("waf.listeners.name", format!("{w}defined twice"));
    }
    let bind = match l.bind.as_deref().map(str::parse::<SocketAddr>) {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => {
            cx.push(
                "waf.listeners.bind",
                format!(
                    "{w}{:?} is not an IP:port such as 0.0.0.0:8080",
                    l.bind.unwrap_or_default()
                ),
            );
            None
        }
        None => {
            cx.push(
                "waf.listeners.bind",
                format!("{w}is required, e.g. \"0.0.0.0:8080\""),
            );
            None
        }
    };
    let tls = match l.tls {
        None => None,
        Some(RawWafTls {
            certificates: Some(_),
            issue: Some(_),
        }) => {
            cx.push(
                "waf.listeners.tls",
                format!("{w}set either `certificates` or `issue`, not both"),
            );
            None
        }
        Some(RawWafTls {
            certificates: Some(certs),
            issue: None,
        }) => {
            let mut files = Vec::new();
            if certs.is_empty() {
                cx.push(
                    "waf.listeners.tls.certificates",
                    format!("{w}needs at least one {{ cert, key }}"),
                );
            }
            for c in certs {
                match (c.cert, c.key) {
                    (Some(cert), Some(key)) if !cert.is_empty() && !key.is_empty() => {
                        files.push((PathBuf::from(cert), PathBuf::from(key)));
                    }
                    _ => cx.push(
                        "waf.listeners.tls.certificates",
                        format!("{w}each certificate needs both `cert` and `key` (PEM file paths)"),
                    ),
                }
            }
            Some(WafTls::Files(files))
        }
        Some(RawWafTls {
            certificates: None,
            issue: Some(names),
        }) => {
            if names.is_empty()
                || names
                    .iter()
                    .any(|n| n.is_empty() || n.contains(char::is_whitespace))
            {
                cx.push(
                    "waf.listeners.tls.issue",
                    format!("{w}needs one or more DNS names or IP addresses"),
                );
            }
            Some(WafTls::Issue(names))
        }
        Some(RawWafTls {
            certificates: None,
            issue: None,
        }) => {
            cx.push(
                "waf.listeners.tls",
                format!("{w}needs `certificates = [{{ cert, key }}]` or `issue = [names]`"),
            );
            None
        }
    };
    let web_acl = match l.web_acl {
        Some(p) if p.is_empty() => {
            cx.push("waf.listeners.web_acl", format!("{w}must not be empty"));
            None
        }
        p => p.map(PathBuf::from),
    };
    let mut raw_routes = l.routes;
    if let Some(pool) = l.pool {
        raw_routes.push(RawWafRoute {
            host: None,
            path_prefix: None,
            pool: Some(pool),
        });
    }
    if raw_routes.is_empty() {
        cx.push(
            "waf.listeners.routes",
            format!("{w}needs `pool = \"…\"` or at least one [[waf.listeners.routes]]"),
        );
    }
    let mut routes = Vec::new();
    for r in raw_routes {
        let pool = r.pool.unwrap_or_default();
        if !pools.contains(&pool) {
            cx.push(
                "waf.listeners.routes.pool",
                format!("{w}{pool:?} is not the name of a [[waf.pools]]"),
            );
        }
        let path_prefix = r.path_prefix.unwrap_or_else(|| "/".to_owned());
        if !path_prefix.starts_with('/') {
            cx.push(
                "waf.listeners.routes.path_prefix",
                format!("{w}{path_prefix:?} must start with /"),
            );
        }
        routes.push(WafRoute {
            host: r.host.map(|h| h.to_ascii_lowercase()),
            path_prefix,
            pool,
        });
    }
    Some(WafListener {
        name,
        bind: bind?,
        tls,
        web_acl,
        routes,
    })
}

#[cfg(test)]
#[path = "waf_tests.rs"]
mod tests;
