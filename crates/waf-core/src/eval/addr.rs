//! The address a Geo/ASN/IP-set/rate statement looks at: the connection's peer or a forwarded-IP header
//! [model §1.8].

use std::net::IpAddr;

use portcullis_waf_request::Request;

use crate::plan::{Forwarded, FwdPosition};

/// Where the statement's address comes from.
pub(crate) enum Source {
    /// The forwarded-IP header is missing: the statement is not applied (does not match).
    Absent,
    /// The header holds no valid address at the configured position: `FallbackBehavior` decides.
    Fallback(bool),
    /// The address(es) to inspect (several only for position `ANY`).
    Ips(Vec<IpAddr>),
}

/// Parses one element of a forwarded-IP header (`1.2.3.4`, `2001:db8::1`, `[2001:db8::1]`).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}

/// The addresses a statement inspects.
pub(crate) fn source(req: &Request, fwd: Option<&Forwarded>) -> Source {
    let Some(fwd) = fwd else {
        return Source::Ips(vec![req.client_addr.ip()]);
    };
    let Some(value) = req.header(&fwd.header) else {
        return Source::Absent;
    };
    let text = String::from_utf8_lossy(value);
    let mut parts = text.split(',');
    let ips: Vec<IpAddr> = match fwd.position {
        FwdPosition::First => parts.next().and_then(parse_ip).into_iter().collect(),
        FwdPosition::Last => parts.next_back().and_then(parse_ip).into_iter().collect(),
        FwdPosition::Any => {
            let all: Vec<&str> = parts.collect();
            let skip = all.len().saturating_sub(10);
            all.into_iter().skip(skip).filter_map(parse_ip).collect()
        }
    };
    if ips.is_empty() {
        Source::Fallback(fwd.fallback.matches())
    } else {
        Source::Ips(ips)
    }
}
