//! `X-Forwarded-For`, `-Proto` and `-Host` on forwarded requests.
//!
//! Policy (documented in the crate docs):
//! - The peer is **trusted** (its address is in `trusted_proxies`, e.g. a CDN or another load balancer in front of
//!   us): its `X-Forwarded-For` chain is kept and the peer address is **appended** (nginx's
//!   `$proxy_add_x_forwarded_for`, ALB's default `append` mode); `X-Forwarded-Proto`/`-Host` it sent are kept, and
//!   set from this hop when absent.
//! - Any other peer: whatever it sent is **replaced**: `X-Forwarded-For` becomes the peer address alone,
//!   `X-Forwarded-Proto` this listener's scheme and `X-Forwarded-Host` the request's host (ALB's `replace` mode,
//!   applied to untrusted peers only), so a client cannot forge the chain the application reads.
//!
//! The web ACL always sees the peer address as the client IP; rules that read a forwarded header say so with
//! `ForwardedIPConfig`, as in AWS.

use std::net::IpAddr;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use ipnet::IpNet;

/// `x-forwarded-for`.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";
/// `x-forwarded-proto`.
pub const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
/// `x-forwarded-host`.
pub const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// Whether `peer` is one of the trusted proxies.
pub fn is_trusted(peer: IpAddr, trusted: &[IpNet]) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    trusted.iter().any(|net| net.contains(&peer))
}

/// The peer address as a header value (made once per connection by the proxy, for [`apply_with`]).
pub fn peer_value(peer: IpAddr) -> Option<HeaderValue> {
    // One allocation: the address text becomes the header value's buffer.
    HeaderValue::from_maybe_shared(Bytes::from(peer.to_string())).ok()
}

/// Rewrite the forwarding headers of a request about to be sent upstream.
pub fn apply(
    headers: &mut HeaderMap,
    peer: IpAddr,
    trusted: &[IpNet],
    scheme: &'static str,
    host: Option<&str>,
) {
    apply_with(headers, peer, peer_value(peer), trusted, scheme, host);
}

/// What becomes of one forwarding field of the client's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The client's fields (if any) stay.
    Keep,
    /// The client's fields go; this value is sent instead.
    Set(HeaderValue),
    /// The client's fields go.
    Remove,
}

/// [`apply`] with the peer's text already made ([`peer_value`]); `host` is reused from the `Host` header
/// without a copy when it is that header's value.
pub fn apply_with(
    headers: &mut HeaderMap,
    peer: IpAddr,
    peer_text: Option<HeaderValue>,
    trusted: &[IpNet],
    scheme: &'static str,
    host: Option<&str>,
) {
    for (name, field) in fields(headers, peer, peer_text, trusted, scheme, host) {
        match field {
            Field::Keep => {}
            Field::Set(value) => {
                headers.insert(name, value);
            }
            Field::Remove => {
                headers.remove(name);
            }
        }
    }
}

/// The policy of [`apply_with`] as three decisions (`X-Forwarded-For`, `-Proto`, `-Host`), leaving `headers` as
/// they are: a proxy that writes the upstream head itself applies them as it writes.
pub fn fields(
    headers: &HeaderMap,
    peer: IpAddr,
    peer_text: Option<HeaderValue>,
    trusted: &[IpNet],
    scheme: &'static str,
    host: Option<&str>,
) -> [(HeaderName, Field); 3] {
    fields_of(headers, peer, peer_text, trusted, scheme, host)
}

/// What [`fields_of`] reads of a head.
pub(crate) trait Source {
    /// The values of the field `name` (lower case), in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a;
    /// The first value of `name`, sharing the head's bytes when it can.
    fn shared(&self, name: &str) -> Option<HeaderValue>;
}

impl Source for HeaderMap {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).iter().map(HeaderValue::as_bytes)
    }

    fn shared(&self, name: &str) -> Option<HeaderValue> {
        self.get(name).cloned()
    }
}

impl Source for crate::head::Fields {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name)
    }

    fn shared(&self, name: &str) -> Option<HeaderValue> {
        self.value_of(name)
    }
}

/// [`fields`] of any head.
pub(crate) fn fields_of(
    headers: &impl Source,
    peer: IpAddr,
    peer_text: Option<HeaderValue>,
    trusted: &[IpNet],
    scheme: &'static str,
    host: Option<&str>,
) -> [(HeaderName, Field); 3] {
    // Made at compile time (at run time, `from_static` checks every byte of the name).
    const XFF: HeaderName = HeaderName::from_static(X_FORWARDED_FOR);
    const PROTO: HeaderName = HeaderName::from_static(X_FORWARDED_PROTO);
    const XFH: HeaderName = HeaderName::from_static(X_FORWARDED_HOST);
    let (xff, proto, xfh) = (XFF, PROTO, XFH);
    if is_trusted(peer, trusted) {
        let chain: Vec<&str> = headers
            .values(X_FORWARDED_FOR)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        let mut value = chain.join(", ");
        if !value.is_empty() {
            value.push_str(", ");
        }
        value.push_str(&peer.to_string());
        let chain = text_field(value);
        let proto_field = if headers.values(X_FORWARDED_PROTO).next().is_some() {
            Field::Keep
        } else {
            Field::Set(HeaderValue::from_static(scheme))
        };
        let host_field = if headers.values(X_FORWARDED_HOST).next().is_some() {
            Field::Keep
        } else {
            host_field(headers, host)
        };
        [(xff, chain), (proto, proto_field), (xfh, host_field)]
    } else {
        let chain = match peer_text {
            Some(v) => Field::Set(v),
            None => text_field(peer.to_string()),
        };
        [
            (xff, chain),
            (proto, Field::Set(HeaderValue::from_static(scheme))),
            (xfh, host_field(headers, host)),
        ]
    }
}

/// `X-Forwarded-Host`: the `Host` header's own value (shared, not copied) when `host` is it.
fn host_field(headers: &impl Source, host: Option<&str>) -> Field {
    let same = headers
        .shared("host")
        .filter(|v| host.is_some_and(|h| v.as_bytes() == h.as_bytes()));
    match (same, host.map(HeaderValue::from_str)) {
        (Some(v), _) => Field::Set(v),
        (None, Some(Ok(v))) => Field::Set(v),
        _ => Field::Remove,
    }
}

/// A value made from text; a value that cannot be a field value removes the field.
fn text_field(value: String) -> Field {
    match HeaderValue::from_maybe_shared(Bytes::from(value)) {
        Ok(v) => Field::Set(v),
        Err(_) => Field::Remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn trusted_peer_appends() {
        let mut h = HeaderMap::new();
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("1.2.3.4"));
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("5.6.7.8"));
        h.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        apply(
            &mut h,
            "10.1.1.1".parse().unwrap(),
            &nets(),
            "http",
            Some("a.example"),
        );
        assert_eq!(h[X_FORWARDED_FOR], "1.2.3.4, 5.6.7.8, 10.1.1.1");
        assert_eq!(h[X_FORWARDED_PROTO], "https");
        assert_eq!(h[X_FORWARDED_HOST], "a.example");
    }

    #[test]
    fn untrusted_peer_replaces() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("1.2.3.4"));
        h.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        h.insert(X_FORWARDED_HOST, HeaderValue::from_static("evil"));
        apply(&mut h, "192.0.2.9".parse().unwrap(), &nets(), "http", None);
        assert_eq!(h[X_FORWARDED_FOR], "192.0.2.9");
        assert_eq!(h[X_FORWARDED_PROTO], "http");
        assert!(h.get(X_FORWARDED_HOST).is_none());
    }

    #[test]
    fn host_header_is_reused_and_peer_text_used() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::HOST,
            HeaderValue::from_static("a.example:8080"),
        );
        let peer: IpAddr = "192.0.2.9".parse().unwrap();
        apply_with(
            &mut h,
            peer,
            peer_value(peer),
            &nets(),
            "https",
            Some("a.example:8080"),
        );
        assert_eq!(h[X_FORWARDED_FOR], "192.0.2.9");
        assert_eq!(h[X_FORWARDED_HOST], "a.example:8080");
        assert_eq!(h[X_FORWARDED_PROTO], "https");
        // A host that is not the header's value (absolute-form target) is copied.
        apply_with(&mut h, peer, None, &nets(), "http", Some("b.example"));
        assert_eq!(h[X_FORWARDED_HOST], "b.example");
        assert_eq!(h[X_FORWARDED_FOR], "192.0.2.9");
    }

    #[test]
    fn mapped_v4_is_matched() {
        assert!(is_trusted("::ffff:10.2.3.4".parse().unwrap(), &nets()));
        assert!(!is_trusted("::1".parse().unwrap(), &nets()));
    }
}
