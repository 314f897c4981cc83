//! One threat-list indicator and its parser (shared by every list format).

use std::net::{IpAddr, SocketAddr};

use crate::error::{GuardError, clip};

/// An indicator of compromise as lists carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indicator {
    /// One address.
    Ip(IpAddr),
    /// A network `addr/len` (host bits are ignored).
    Cidr(IpAddr, u8),
    /// An address and port (maltrail's `IP:port`, e.g. stratum mining ports).
    IpPort(IpAddr, u16),
    /// A domain; matches itself and every sub-domain. Lower case, no trailing dot.
    Domain(String),
    /// A URL or `host/path` without scheme, lower-cased host.
    Url(String),
}

/// Longest domain name (RFC 1035).
const MAX_DOMAIN: usize = 253;

fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_DOMAIN
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Normalises a domain: lower case, no trailing dot, no leading `*.` or `.`.
pub fn normalize_domain(s: &str) -> String {
    let s = s.trim().trim_end_matches('.');
    let s = s
        .strip_prefix("*.")
        .or_else(|| s.strip_prefix('.'))
        .unwrap_or(s);
    s.to_ascii_lowercase()
}

fn parse_cidr(s: &str) -> Option<Indicator> {
    let (addr, len) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some(if len == max {
        Indicator::Ip(addr)
    } else {
        Indicator::Cidr(addr, len)
    })
}

/// Parses one entry (comments already removed): IP, CIDR, IP:port, domain, URL or
/// `host/path`.
pub fn parse_indicator(entry: &str) -> Result<Indicator, GuardError> {
    let e = entry.trim();
    let bad = || GuardError::IntelEntry { entry: clip(e) };
    if e.is_empty() {
        return Err(bad());
    }
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Ok(Indicator::Ip(ip));
    }
    if let Ok(sa) = e.parse::<SocketAddr>() {
        return Ok(Indicator::IpPort(sa.ip(), sa.port()));
    }
    if let Some(c) = parse_cidr(e) {
        return Ok(c);
    }
    // A leading-dot single label names a whole TLD (maltrail's `.onion`).
    if let Some(tld) = e.strip_prefix('.')
        && !tld.is_empty()
        && tld.len() <= 63
        && tld.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && tld.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return Ok(Indicator::Domain(tld.to_ascii_lowercase()));
    }
    let (rest, had_scheme) = match e.split_once("://") {
        Some((scheme, rest)) if scheme.bytes().all(|b| b.is_ascii_alphabetic()) => (rest, true),
        Some(_) => return Err(bad()),
        None => (e, false),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        // A bare host, with or without a scheme.
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Indicator::Ip(ip));
        }
        if let Ok(sa) = host.parse::<SocketAddr>() {
            return Ok(Indicator::IpPort(sa.ip(), sa.port()));
        }
        let d = normalize_domain(host.split(':').next().unwrap_or(host));
        return if is_domain(&d) {
            Ok(Indicator::Domain(d))
        } else {
            Err(bad())
        };
    }
    // `IP/digits` without a scheme is a CIDR with a bad length, not a URL.
    if !had_scheme
        && host.parse::<IpAddr>().is_ok()
        && path
            .get(1..)
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let host_only = host.split(':').next().unwrap_or(host);
    if host.is_empty()
        || host_only.parse::<IpAddr>().is_ok()
        || is_domain(&normalize_domain(host_only))
    {
        Ok(Indicator::Url(format!(
            "{}{}",
            host.to_ascii_lowercase(),
            path
        )))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = parse_indicator(&s);
        }

        #[test]
        fn every_ipv4_round_trips(a in any::<u32>(), len in 0u8..=32) {
            let ip = std::net::Ipv4Addr::from(a);
            prop_assert_eq!(parse_indicator(&ip.to_string()).unwrap(), Indicator::Ip(ip.into()));
            let cidr = parse_indicator(&format!("{ip}/{len}")).unwrap();
            if len == 32 {
                prop_assert_eq!(cidr, Indicator::Ip(ip.into()));
            } else {
                prop_assert_eq!(cidr, Indicator::Cidr(ip.into(), len));
            }
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            parse_indicator("1.2.3.4").unwrap(),
            Indicator::Ip("1.2.3.4".parse().unwrap())
        );
        assert_eq!(
            parse_indicator("5.63.151.0/24").unwrap(),
            Indicator::Cidr("5.63.151.0".parse().unwrap(), 24)
        );
        assert_eq!(
            parse_indicator("1.2.3.4/32").unwrap(),
            Indicator::Ip("1.2.3.4".parse().unwrap())
        );
        assert_eq!(
            parse_indicator("45.9.148.3:3333").unwrap(),
            Indicator::IpPort("45.9.148.3".parse().unwrap(), 3333)
        );
        assert_eq!(
            parse_indicator("Evil.COM.").unwrap(),
            Indicator::Domain("evil.com".into())
        );
        assert_eq!(
            parse_indicator("http://13.113.188.183").unwrap(),
            Indicator::Ip("13.113.188.183".parse().unwrap())
        );
        assert_eq!(
            parse_indicator("evil.com/gate.php").unwrap(),
            Indicator::Url("evil.com/gate.php".into())
        );
        assert_eq!(
            parse_indicator(".onion").unwrap(),
            Indicator::Domain("onion".into())
        );
        assert_eq!(
            parse_indicator("/gwsup").unwrap(),
            Indicator::Url("/gwsup".into())
        );
        assert_eq!(
            parse_indicator("2001:4860::/32").unwrap(),
            Indicator::Cidr("2001:4860::".parse().unwrap(), 32)
        );
        for bad in ["", "hello", "1.2.3.4/33", "a b.com", "ftp:/x", "-.-"] {
            assert!(parse_indicator(bad).is_err(), "{bad}");
        }
    }
}
