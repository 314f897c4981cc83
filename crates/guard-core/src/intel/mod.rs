//! Threat intelligence: threat lists of IPs, CIDRs, IP:port pairs, domains (suffix
//! matching) and URLs, with GuardDuty's public-IP-only semantics.
//!
//! Lookups cost a bounded number of hash probes: one for an exact address, one per
//! distinct CIDR prefix length present, one per label of a domain name.

mod entry;
mod formats;
mod ip;

use std::collections::HashMap;

/// Maps probed per record: a fast, randomly seeded hash instead of SipHash.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::net::IpAddr;

pub use entry::{Indicator, normalize_domain, parse_indicator};
pub use formats::ListFormat;
pub use ip::{is_public, is_public_v4, is_public_v6};

use crate::error::GuardError;
use ip::PrefixTable;

/// Where an indicator came from: a named list (threat name) in a category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The list's name (e.g. `cobaltstrike`, or a ThreatIntelSet name).
    pub name: String,
    /// Its category (e.g. maltrail's `malware`, `malicious`, `suspicious`).
    pub category: String,
}

/// Handle of a [`Source`] inside a [`ThreatIntel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(u32);

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Indicators stored.
    pub loaded: usize,
    /// Indicators dropped because their address is not publicly routable.
    pub non_public: usize,
    /// Entries already present (first source kept).
    pub duplicates: usize,
    /// Entries that did not parse, with their 1-based line.
    pub errors: Vec<(usize, GuardError)>,
}

/// A match: the source and the indicator form that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelMatch<'s> {
    /// The list that matched.
    pub source: &'s Source,
    /// What matched: `ip`, `cidr/<len>`, `ip:port`, `domain` or `url`.
    pub kind: MatchKind,
}

/// Which indicator form produced a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// An exact address.
    Ip,
    /// A network of this prefix length.
    Cidr(u8),
    /// An address and port.
    IpPort,
    /// A domain suffix; the number of labels stripped from the query (0 = exact).
    Domain(usize),
    /// A URL.
    Url,
}

/// A set of threat lists, ready for constant-time lookups.
#[derive(Debug, Clone, Default)]
pub struct ThreatIntel {
    sources: Vec<Source>,
    /// Exact IPv4 addresses (as integers: one hash word per probe).
    ips4: FastMap<u32, u32>,
    /// Exact IPv6 addresses (an IPv4-mapped entry stays IPv6, as listed).
    ips6: FastMap<u128, u32>,
    v4: PrefixTable<u32>,
    v6: PrefixTable<u128>,
    ip_ports: FastMap<(IpAddr, u16), u32>,
    domains: FastMap<Box<str>, u32>,
    urls: FastMap<Box<str>, u32>,
}

impl ThreatIntel {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a source (list) and returns its handle.
    pub fn add_source(&mut self, name: &str, category: &str) -> SourceId {
        let id = u32::try_from(self.sources.len()).unwrap_or(u32::MAX);
        self.sources.push(Source {
            name: name.to_owned(),
            category: category.to_owned(),
        });
        SourceId(id)
    }

    /// The source behind a handle.
    pub fn source(&self, id: SourceId) -> Option<&Source> {
        self.sources.get(usize::try_from(id.0).ok()?)
    }

    /// Stores one indicator. Returns `Ok(true)` when new, `Ok(false)` when a duplicate,
    /// `Err(())` when it names a non-public address (never stored).
    #[allow(clippy::result_unit_err)]
    pub fn insert(&mut self, ind: Indicator, source: SourceId) -> Result<bool, ()> {
        let s = source.0;
        let new = match ind {
            Indicator::Ip(ip) => {
                if !is_public(ip) {
                    return Err(());
                }
                match ip {
                    IpAddr::V4(a) => insert_new(&mut self.ips4, u32::from(a), s),
                    IpAddr::V6(a) => insert_new(&mut self.ips6, u128::from(a), s),
                }
            }
            Indicator::IpPort(ip, port) => {
                if !is_public(ip) {
                    return Err(());
                }
                insert_new(&mut self.ip_ports, (ip, port), s)
            }
            Indicator::Cidr(ip, len) => {
                if !is_public(ip) {
                    return Err(());
                }
                let before = self.v4.len() + self.v6.len();
                match ip {
                    IpAddr::V4(a) => self.v4.insert(u32::from(a), len, s),
                    IpAddr::V6(a) => self.v6.insert(u128::from(a), len, s),
                }
                self.v4.len() + self.v6.len() > before
            }
            Indicator::Domain(d) => insert_new(&mut self.domains, d.into_boxed_str(), s),
            Indicator::Url(u) => insert_new(&mut self.urls, u.into_boxed_str(), s),
        };
        Ok(new)
    }

    /// Parses `text` in `format` and stores its indicators under a new source.
    pub fn load(
        &mut self,
        text: &str,
        format: ListFormat,
        name: &str,
        category: &str,
    ) -> Result<LoadReport, GuardError> {
        let source = self.add_source(name, category);
        let mut report = LoadReport::default();
        formats::entries(text, format, |line, entry| {
            match entry.and_then(parse_indicator) {
                Ok(ind) => match self.insert(ind, source) {
                    Ok(true) => report.loaded += 1,
                    Ok(false) => report.duplicates += 1,
                    Err(()) => report.non_public += 1,
                },
                Err(e) => report.errors.push((line, e)),
            }
        })?;
        Ok(report)
    }

    fn src(&self, id: u32) -> Option<&Source> {
        self.sources.get(usize::try_from(id).ok()?)
    }

    /// Matches an address: exact first, then the longest CIDR. Non-public addresses
    /// never match.
    pub fn match_ip(&self, ip: IpAddr) -> Option<IntelMatch<'_>> {
        let ip = ip.to_canonical();
        if !is_public(ip) {
            return None;
        }
        self.match_public(ip)
    }

    /// [`ThreatIntel::match_ip`] for a canonical, public address.
    #[inline]
    fn match_public(&self, ip: IpAddr) -> Option<IntelMatch<'_>> {
        let (exact, cidr) = match ip {
            IpAddr::V4(a) => {
                let k = u32::from(a);
                match self.ips4.get(&k) {
                    Some(&s) => (Some(s), None),
                    None => (None, self.v4.lookup(k)),
                }
            }
            IpAddr::V6(a) => {
                let k = u128::from(a);
                match self.ips6.get(&k) {
                    Some(&s) => (Some(s), None),
                    None => (None, self.v6.lookup(k)),
                }
            }
        };
        if let Some(s) = exact {
            return Some(IntelMatch {
                source: self.src(s)?,
                kind: MatchKind::Ip,
            });
        }
        let (len, s) = cidr?;
        Some(IntelMatch {
            source: self.src(s)?,
            kind: MatchKind::Cidr(len),
        })
    }

    /// Matches an address and port: the pair first, then the address alone.
    pub fn match_ip_port(&self, ip: IpAddr, port: u16) -> Option<IntelMatch<'_>> {
        let ip = ip.to_canonical();
        if !is_public(ip) {
            return None;
        }
        if !self.ip_ports.is_empty()
            && let Some(&s) = self.ip_ports.get(&(ip, port))
        {
            return Some(IntelMatch {
                source: self.src(s)?,
                kind: MatchKind::IpPort,
            });
        }
        self.match_public(ip)
    }

    /// Matches a domain name (any case, trailing dot allowed) against the domain lists:
    /// an entry `evil.com` matches `evil.com` and `a.b.evil.com`. The most specific entry
    /// wins. Costs one hash probe per label.
    pub fn match_domain(&self, name: &str) -> Option<IntelMatch<'_>> {
        if self.domains.is_empty() {
            return None;
        }
        let name = name.trim_end_matches('.');
        let lowered;
        let mut rest: &str = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            &lowered
        } else {
            name
        };
        let mut stripped = 0usize;
        loop {
            if let Some(&s) = self.domains.get(rest) {
                return Some(IntelMatch {
                    source: self.src(s)?,
                    kind: MatchKind::Domain(stripped),
                });
            }
            let (_, tail) = rest.split_once('.')?;
            rest = tail;
            stripped += 1;
        }
    }

    /// Matches a URL (`scheme://host/path` or `host/path`) exactly, ignoring the scheme
    /// and the case of the host.
    pub fn match_url(&self, url: &str) -> Option<IntelMatch<'_>> {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let key = match rest.find('/') {
            Some(i) => format!(
                "{}{}",
                rest.get(..i).unwrap_or("").to_ascii_lowercase(),
                rest.get(i..).unwrap_or("").trim_end_matches('/')
            ),
            None => rest.to_ascii_lowercase(),
        };
        let &s = self.urls.get(key.as_str())?;
        Some(IntelMatch {
            source: self.src(s)?,
            kind: MatchKind::Url,
        })
    }

    /// Number of indicators stored (all forms).
    pub fn len(&self) -> usize {
        self.ips4.len()
            + self.ips6.len()
            + self.v4.len()
            + self.v6.len()
            + self.ip_ports.len()
            + self.domains.len()
            + self.urls.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn insert_new<K: std::hash::Hash + Eq>(map: &mut FastMap<K, u32>, key: K, source: u32) -> bool {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(_) => false,
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(source);
            true
        }
    }
}

#[cfg(test)]
mod tests;
