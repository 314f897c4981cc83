//! `RateBasedStatement`: builds the aggregation key, counts the request and compares with the limit
//! [model §1.11].

use std::borrow::Cow;
use std::net::IpAddr;

use crate::field::{path_of, query_of, transform};
use crate::plan::{RateKey, RateSpec};

use super::Ctx;
use super::addr::{Source, source};

/// Appends one key component, length-prefixed so that different tuples never collide.
fn push(key: &mut Vec<u8>, kind: u8, value: &[u8]) {
    key.push(kind);
    key.extend_from_slice(&(value.len() as u32).to_be_bytes());
    key.extend_from_slice(value);
}

/// Appends an address as its octets (IPv4-mapped IPv6 folded to IPv4, so both spellings share a counter).
fn push_ip(key: &mut Vec<u8>, kind: u8, ip: IpAddr) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => push(key, kind, &v4.octets()),
        IpAddr::V6(v6) => push(key, kind, &v6.octets()),
    }
}

impl Ctx<'_> {
    /// Appends the component for `k`; `None` when the request lacks it (it is then not counted).
    fn key_component(&self, k: &RateKey, tag: u8, key: &mut Vec<u8>) -> Option<()> {
        let req = self.parsed.req;
        match k {
            RateKey::Ip => push_ip(key, tag, req.client_addr.ip()),
            RateKey::ForwardedIp(fwd) => match source(req, Some(fwd)) {
                Source::Ips(ips) => push_ip(key, tag, *ips.first()?),
                Source::Absent | Source::Fallback(_) => return None,
            },
            RateKey::Header(name, t) => {
                let v = req.header(name)?;
                push(key, tag, &transform(t, Cow::Borrowed(v)));
            }
            RateKey::Cookie(name, t) => {
                let (_, value) = self
                    .parsed
                    .cookies()
                    .iter()
                    .find(|(n, _)| *n == name.as_bytes())?;
                push(key, tag, &transform(t, Cow::Borrowed(*value)));
            }
            RateKey::QueryArg(name, t) => {
                let a = self
                    .parsed
                    .args()
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name.as_bytes()))?;
                push(key, tag, &transform(t, Cow::Borrowed(a.raw_value)));
            }
            RateKey::QueryString(t) => {
                let q = query_of(req);
                if q.is_empty() {
                    return None;
                }
                push(key, tag, &transform(t, Cow::Borrowed(q.as_bytes())));
            }
            RateKey::Method => push(key, tag, req.method.as_bytes()),
            RateKey::UriPath(t) => push(
                key,
                tag,
                &transform(t, Cow::Borrowed(path_of(req).as_bytes())),
            ),
            RateKey::LabelNamespace(ns) => {
                let mut found = false;
                for l in &self.labels {
                    if l.starts_with(ns.as_str()) {
                        push(key, tag, l.as_bytes());
                        found = true;
                    }
                }
                if !found {
                    return None;
                }
            }
            RateKey::Ja3(fb) => match &req.ja3 {
                Some(v) => push(key, tag, v.as_bytes()),
                None if fb.matches() => push(key, tag, b""),
                None => return None,
            },
            RateKey::Ja4(fb) => match &req.ja4 {
                Some(v) => push(key, tag, v.as_bytes()),
                None if fb.matches() => push(key, tag, b""),
                None => return None,
            },
            RateKey::Asn => {
                let asn = self.env.geo?.asn(req.client_addr.ip())?;
                push(key, tag, &asn.to_be_bytes());
            }
        }
        Some(())
    }

    /// Counts the request under its aggregation instance; true once the instance is over the limit.
    pub(super) fn rate(&mut self, spec: &RateSpec) -> bool {
        if let Some(sd) = &spec.scope_down
            && !self.eval(sd)
        {
            return false;
        }
        // A forwarded-IP key whose header is missing is not applied; one without a valid address takes the
        // configured fallback, without counting.
        for k in &spec.keys {
            if let RateKey::ForwardedIp(fwd) = k {
                match source(self.parsed.req, Some(fwd)) {
                    Source::Absent => return false,
                    Source::Fallback(b) => return b,
                    Source::Ips(_) => {}
                }
            }
        }
        let mut key = spec.id.clone();
        for (i, k) in spec.keys.iter().enumerate() {
            let tag = u8::try_from(i).unwrap_or(u8::MAX);
            if self.key_component(k, tag, &mut key).is_none() {
                return false;
            }
        }
        let count = self.env.rate.add(&key, spec.window_secs, self.env.now_ms);
        let over = count > spec.limit;
        if over
            && let Some(registry) = self.env.managed_keys
            && let Some(ip) = self.single_ip(spec)
        {
            registry.record(&spec.id, ip, &key, spec.window_secs, spec.limit);
        }
        over
    }

    /// The address a rule that aggregates on the IP address alone counts this request under.
    fn single_ip(&self, spec: &RateSpec) -> Option<IpAddr> {
        match spec.keys.as_slice() {
            [RateKey::Ip] => Some(self.parsed.req.client_addr.ip().to_canonical()),
            [RateKey::ForwardedIp(fwd)] => match source(self.parsed.req, Some(fwd)) {
                Source::Ips(ips) => ips.first().map(|ip| ip.to_canonical()),
                Source::Absent | Source::Fallback(_) => None,
            },
            _ => None,
        }
    }
}
