//! Detectors over Route 53 Resolver query logs (resource type `Instance`, action
//! `DNS_REQUEST`). Domain lists match by label suffix (guard-core's intel); trusted and
//! threat *IP* lists do not apply here, as in GuardDuty (reference guard.md §2.4).

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use portcullis_guard_core::record::ResolverRecord;
use serde_json::json;

use crate::config::{Config, DNS_WINDOW_SECS};
use crate::dga::{registered_domain, registered_label, score, shannon_entropy};
use crate::engine::{Ctx, Loc, instance_resource};
use crate::finding::severity::{HIGH, LOW, MEDIUM};
use crate::finding::{Action, ThreatIntelligenceDetail};
use crate::intel::{IntelClass, classify, test_domain};
use crate::store::Detection;
use crate::window::BoundedMap;

/// A window of distinct hashed names plus a byte counter.
#[derive(Debug, Clone)]
struct NameWindow {
    start: i64,
    names: Vec<u64>,
    bytes: u64,
    queries: u64,
    fired: bool,
    first: Loc,
}

impl NameWindow {
    fn new(t: i64, loc: Loc) -> Self {
        Self {
            start: t,
            names: Vec::new(),
            bytes: 0,
            queries: 0,
            fired: false,
            first: loc,
        }
    }

    /// Adds a name; true when the distinct count first reaches `threshold` in this window.
    fn add(&mut self, name: &str, bytes: usize, t: i64, threshold: usize, loc: Loc) -> bool {
        if t.saturating_sub(self.start) > DNS_WINDOW_SECS {
            *self = Self::new(t, loc);
        }
        self.queries += 1;
        self.bytes += bytes as u64;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut h);
        let h = h.finish();
        if self.fired || self.names.contains(&h) {
            return false;
        }
        self.names.push(h);
        if self.names.len() >= threshold {
            self.fired = true;
            return true;
        }
        false
    }
}

/// State of the DNS detectors.
pub struct DnsDetectors {
    dga: BoundedMap<String, NameWindow>,
    exfil: BoundedMap<(String, String), NameWindow>,
}

fn severity_of(ty: &str) -> f64 {
    match ty {
        "Impact:EC2/SuspiciousDomainRequest.Reputation" => LOW,
        "Impact:EC2/AbusedDomainRequest.Reputation"
        | "Trojan:EC2/BlackholeTraffic!DNS"
        | "Trojan:EC2/DropPoint!DNS" => MEDIUM,
        _ => HIGH,
    }
}

fn title_of(ty: &str) -> &'static str {
    match ty {
        "Backdoor:EC2/C&CActivity.B!DNS" => {
            "is querying a domain name associated with a known command and control server"
        }
        "CryptoCurrency:EC2/BitcoinTool.B!DNS" => {
            "is querying a domain name associated with cryptocurrency activity"
        }
        "Trojan:EC2/PhishingDomainRequest!DNS" => {
            "is querying a domain involved in phishing attacks"
        }
        "Trojan:EC2/BlackholeTraffic!DNS" => {
            "is querying a domain name that is being redirected to a black hole IP address"
        }
        "Trojan:EC2/DropPoint!DNS" => {
            "is querying a domain name known to hold credentials and stolen data"
        }
        "Trojan:EC2/DriveBySourceTraffic!DNS" => {
            "is querying a domain name of a remote host that is a known source of drive-by download attacks"
        }
        "Trojan:EC2/DGADomainRequest.C!DNS" => {
            "is querying algorithmically generated domains (known DGA feed)"
        }
        "Impact:EC2/AbusedDomainRequest.Reputation" => {
            "is querying a low reputation domain name associated with known abused domains"
        }
        "Impact:EC2/BitcoinDomainRequest.Reputation" => {
            "is querying a low reputation domain name associated with cryptocurrency activity"
        }
        "Impact:EC2/MaliciousDomainRequest.Reputation" => {
            "is querying a low reputation domain name associated with known malicious domains"
        }
        "Impact:EC2/SuspiciousDomainRequest.Reputation" => {
            "is querying a low reputation domain name that is suspicious in nature"
        }
        _ => "is querying a suspicious domain",
    }
}

impl DnsDetectors {
    /// Empty state sized by `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Self {
            dga: BoundedMap::new(cfg.max_tracked_keys, DNS_WINDOW_SECS),
            exfil: BoundedMap::new(cfg.max_tracked_keys, DNS_WINDOW_SECS),
        }
    }

    /// (evicted, tracked).
    pub fn state(&self) -> (u64, usize) {
        (
            self.dga.evicted() + self.exfil.evicted(),
            self.dga.len() + self.exfil.len(),
        )
    }

    /// Runs the DNS detectors on one query at time `t`.
    pub fn observe(
        &mut self,
        rec: &ResolverRecord<'_>,
        t: i64,
        loc: Loc,
        ctx: &Ctx<'_>,
        out: &mut Vec<Detection>,
    ) {
        let name = rec.query_name_normalized();
        let name: &str = &name;
        if name.is_empty() || name.ends_with(".arpa") {
            return;
        }
        let ip = rec.src_ip();
        let instance = rec.srcids.instance.as_deref();
        let who = instance
            .map(str::to_owned)
            .or_else(|| ip.map(|i| i.to_string()))
            .unwrap_or_else(|| "unknown".into());
        let base = |ty: &'static str, sev: f64, key: &str| {
            let resource = match ip {
                Some(ip) => instance_resource(ip, None, instance, rec.vpc_id.as_deref()),
                None => instance_resource(
                    IpAddr::from([0, 0, 0, 0]),
                    None,
                    instance,
                    rec.vpc_id.as_deref(),
                ),
            };
            let mut d = Detection::new(ty, sev, resource, t);
            d.resource_key = who.clone();
            d.key = key.to_owned();
            d.action = Action {
                action_type: "DNS_REQUEST".into(),
                dns_request_action: Some(json!({
                    "domain": name,
                    "protocol": rec.transport.as_deref().unwrap_or("UDP"),
                    "blocked": rec.firewall_rule_action.as_deref() == Some("BLOCK"),
                    "domainWithSuffix": registered_domain(name),
                })),
                ..Action::default()
            };
            d.account_id = rec.account_id.as_deref().map(str::to_owned);
            d.region = rec.region.as_deref().map(str::to_owned);
            d.locations = vec![ctx.loc(loc)];
            d
        };
        let mut listed = false;
        if let Some((suffix, ty)) = test_domain(name) {
            listed = true;
            let mut d = base(ty, severity_of(ty), suffix);
            d.title = format!("EC2 instance {who} {}.", title_of(ty));
            d.description =
                format!("{who} queried {name}, under the built-in test indicator {suffix}.");
            d.info
                .push(("threatListName", json!("GuardDutyTestDomains")));
            d.evidence.push(ThreatIntelligenceDetail {
                threat_list_name: "GuardDutyTestDomains".into(),
                threat_names: vec![suffix.to_owned()],
            });
            out.push(d);
        } else if let Some(m) = ctx.intel.match_domain(name) {
            let ty = match classify(m.source) {
                IntelClass::CommandAndControl => Some("Backdoor:EC2/C&CActivity.B!DNS"),
                IntelClass::Crypto => Some("CryptoCurrency:EC2/BitcoinTool.B!DNS"),
                IntelClass::Phishing => Some("Trojan:EC2/PhishingDomainRequest!DNS"),
                IntelClass::DynamicDns => Some("Impact:EC2/AbusedDomainRequest.Reputation"),
                IntelClass::Sinkhole => Some("Trojan:EC2/BlackholeTraffic!DNS"),
                IntelClass::Malicious => Some("Impact:EC2/MaliciousDomainRequest.Reputation"),
                IntelClass::Suspicious => Some("Impact:EC2/SuspiciousDomainRequest.Reputation"),
                IntelClass::Custom | IntelClass::Tor | IntelClass::Scanner => None,
            };
            if let Some(ty) = ty {
                listed = true;
                let mut d = base(ty, severity_of(ty), registered_domain(name));
                d.title = format!("EC2 instance {who} {}.", title_of(ty));
                d.description = format!(
                    "{who} queried {name}, listed (suffix match) on `{}` ({}).",
                    m.source.name, m.source.category
                );
                d.info.push(("threatListName", json!(m.source.name)));
                d.evidence.push(ThreatIntelligenceDetail {
                    threat_list_name: m.source.name.clone(),
                    threat_names: vec![m.source.category.clone()],
                });
                out.push(d);
            }
        }
        for a in &rec.answers {
            let Some(ip) = a.rdata.as_deref().and_then(|r| r.parse::<IpAddr>().ok()) else {
                continue;
            };
            if ip == IpAddr::from([169, 254, 169, 254]) {
                let ty = "UnauthorizedAccess:EC2/MetadataDNSRebind";
                let mut d = base(ty, HIGH, name);
                d.title = format!(
                    "EC2 instance {who} is performing DNS lookups that resolve to the instance metadata service."
                );
                d.description =
                    format!("{name} resolved to 169.254.169.254 (DNS rebinding against IMDS).");
                out.push(d);
            } else if let Some(m) = ctx.intel.match_ip(ip)
                && classify(m.source) == IntelClass::Sinkhole
            {
                let ty = "Trojan:EC2/BlackholeTraffic!DNS";
                let mut d = base(ty, MEDIUM, name);
                d.title = format!("EC2 instance {who} {}.", title_of(ty));
                d.description = format!(
                    "{name} resolved to {ip}, on sinkhole list `{}`.",
                    m.source.name
                );
                out.push(d);
            }
        }
        if !listed {
            self.dga(name, &who, t, loc, ctx, &base, out);
        }
        self.exfil(name, &who, t, loc, ctx, &base, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn dga(
        &mut self,
        name: &str,
        who: &str,
        t: i64,
        loc: Loc,
        ctx: &Ctx<'_>,
        base: &dyn Fn(&'static str, f64, &str) -> Detection,
        out: &mut Vec<Detection>,
    ) {
        let label = registered_label(name);
        let s = score(label);
        if s < ctx.cfg.dga_min_score {
            return;
        }
        let reg = registered_domain(name);
        let th = ctx.cfg.dga_min_domains;
        let w = self
            .dga
            .entry(who.to_owned(), t, || NameWindow::new(t, loc));
        let crossed = w.add(reg, 0, t, th, loc);
        // One finding per instance, updated by each further domain (the latest is in the action).
        let ty = "Impact:EC2/SuspiciousDomainRequest.Reputation";
        let mut d = base(ty, LOW, "lexical");
        d.title = format!("EC2 instance {who} {}.", title_of(ty));
        d.description = format!(
            "{who} queried {name}; its registered label `{label}` looks machine-generated (DGA score {s:.2} ≥ {:.2}).",
            ctx.cfg.dga_min_score
        );
        d.info
            .push(("dgaScore", json!((s * 100.0).round() / 100.0)));
        out.push(d);
        if crossed {
            let ty = "Trojan:EC2/DGADomainRequest.B";
            let mut d = base(ty, HIGH, "");
            d.locations = vec![ctx.loc(w.first), ctx.loc(loc)];
            d.title = format!("EC2 instance {who} is querying algorithmically generated domains.");
            d.description = format!(
                "{who} queried {} distinct machine-generated-looking domains within {DNS_WINDOW_SECS} s (score ≥ {:.2}, threshold {th} domains); latest {name}.",
                w.names.len(),
                ctx.cfg.dga_min_score
            );
            d.info.push(("distinctDomains", json!(w.names.len())));
            d.info.push(("threshold", json!(th)));
            out.push(d);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn exfil(
        &mut self,
        name: &str,
        who: &str,
        t: i64,
        loc: Loc,
        ctx: &Ctx<'_>,
        base: &dyn Fn(&'static str, f64, &str) -> Detection,
        out: &mut Vec<Detection>,
    ) {
        let reg = registered_domain(name);
        let Some(sub) = name.strip_suffix(reg).and_then(|s| s.strip_suffix('.')) else {
            return;
        };
        if sub.len() < ctx.cfg.exfil_min_subdomain_len {
            return;
        }
        let payload: String = sub.chars().filter(|c| *c != '.').collect();
        let h = shannon_entropy(&payload);
        if h < ctx.cfg.exfil_min_entropy {
            return;
        }
        let th = ctx.cfg.exfil_min_unique;
        let w = self.exfil.entry((who.to_owned(), reg.to_owned()), t, || {
            NameWindow::new(t, loc)
        });
        if !w.add(sub, payload.len(), t, th, loc) {
            return;
        }
        let ty = "Trojan:EC2/DNSDataExfiltration";
        let mut d = base(ty, HIGH, reg);
        d.locations = vec![ctx.loc(w.first), ctx.loc(loc)];
        d.title = format!("EC2 instance {who} is exfiltrating data through DNS queries.");
        d.description = format!(
            "{who} sent {} unique encoded-looking names ({} bytes of sub-domain data in {} queries) under {reg} within {DNS_WINDOW_SECS} s (threshold {th}; sub-domain ≥ {} chars, entropy ≥ {:.1} bits/char; latest {h:.2}).",
            w.names.len(),
            w.bytes,
            w.queries,
            ctx.cfg.exfil_min_subdomain_len,
            ctx.cfg.exfil_min_entropy
        );
        d.info.push(("uniqueNames", json!(w.names.len())));
        d.info.push(("encodedBytes", json!(w.bytes)));
        d.info.push(("threshold", json!(th)));
        out.push(d);
    }
}
