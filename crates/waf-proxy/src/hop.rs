//! Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection and are never forwarded, nor are the fields
//! a `Connection` field names.

use http::header::{self, HeaderMap, HeaderName};

/// The hop-by-hop field names (lower-case, as `HeaderName` keeps names).
pub(crate) const NAMES: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The index of `Connection` in [`NAMES`].
pub(crate) const CONNECTION: usize = 0;
/// The index of `Transfer-Encoding` in [`NAMES`].
pub(crate) const TRANSFER_ENCODING: usize = 7;

/// The index of `name` in [`NAMES`], ignoring ASCII case (`Connection` lists names in any case, and a head read off
/// the wire has them in any case).
pub(crate) fn index(name: &[u8]) -> Option<usize> {
    NAMES
        .iter()
        .position(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

/// [`index`] for a name already in lower case, as every `HeaderName` is: one length dispatch and at most one
/// comparison, where `index` tries all nine names (this runs on every field of every request).
pub(crate) fn index_lower(name: &str) -> Option<usize> {
    match name {
        "connection" => Some(0),
        "keep-alive" => Some(1),
        "proxy-connection" => Some(2),
        "proxy-authenticate" => Some(3),
        "proxy-authorization" => Some(4),
        "te" => Some(5),
        "trailer" => Some(6),
        "transfer-encoding" => Some(7),
        "upgrade" => Some(8),
        _ => None,
    }
}

/// The comma-separated tokens of a field value, trimmed, empty ones skipped.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// What one `Connection` value says besides the fields it names.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// `close`.
    pub close: bool,
    /// `keep-alive`.
    pub keep_alive: bool,
}

/// Adds to `out` the fields one `Connection` value names, other than hop-by-hop ones (those go anyway) and the
/// `close` and `keep-alive` options, which are returned; tokens that are no field name are ignored.
pub(crate) fn listed_in(value: &[u8], out: &mut Vec<HeaderName>) -> Options {
    let mut options = Options::default();
    for token in tokens(value) {
        if token.eq_ignore_ascii_case(b"close") {
            options.close = true;
        } else if token.eq_ignore_ascii_case(b"keep-alive") {
            options.keep_alive = true;
        } else if index(token).is_none() {
            out.extend(HeaderName::from_bytes(token).ok());
        }
    }
    options
}

/// The fields the `Connection` fields of `headers` name ([`listed_in`]).
pub(crate) fn listed(headers: &HeaderMap) -> Vec<HeaderName> {
    let mut out = Vec::new();
    for value in headers.get_all(header::CONNECTION) {
        listed_in(value.as_bytes(), &mut out);
    }
    out
}

/// Removes the hop-by-hop fields and the fields `Connection` names. One pass over the names finds which are
/// present (a bit each), so a head carrying none costs no look-up.
pub(crate) fn strip(headers: &mut HeaderMap) {
    let mut present = 0u16;
    for name in headers.keys() {
        if let Some(i) = index_lower(name.as_str()) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    if present & (1 << CONNECTION) != 0 {
        for name in listed(headers) {
            headers.remove(name);
        }
    }
    for (i, name) in NAMES.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(*name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn lower_case_index_agrees_with_the_list() {
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(index_lower(name), Some(i), "{name}");
            assert_eq!(index(name.as_bytes()), Some(i), "{name}");
            assert_eq!(index(name.to_uppercase().as_bytes()), Some(i), "{name}");
        }
        assert_eq!(NAMES[CONNECTION], "connection");
        assert_eq!(NAMES[TRANSFER_ENCODING], "transfer-encoding");
        for other in [
            "",
            "t",
            "tes",
            "upgrades",
            "connectio",
            "x-forwarded-for",
            "host",
        ] {
            assert_eq!(index_lower(other), None, "{other}");
            assert_eq!(index(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn connection_lists_fields() {
        let mut h = HeaderMap::new();
        h.append(
            "connection",
            HeaderValue::from_static("Keep-Alive, X-Trace"),
        );
        h.append(
            "connection",
            HeaderValue::from_static(" , close,te,bad name"),
        );
        assert_eq!(listed(&h), ["x-trace"]);
        assert!(listed(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn hop_by_hop_and_connection_tokens_removed() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("close, x-secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        strip(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-keep"));

        // Every hop-by-hop name goes, listed or not; names `Connection` lists go in any case; others stay.
        let mut h = HeaderMap::new();
        for name in NAMES {
            h.append(name, HeaderValue::from_static("1"));
        }
        h.insert("connection", HeaderValue::from_static("Keep-Alive"));
        h.append(
            "connection",
            HeaderValue::from_static("X-Trace , ,bad name"),
        );
        h.insert("x-trace", HeaderValue::from_static("1"));
        h.insert("content-length", HeaderValue::from_static("3"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        strip(&mut h);
        assert_eq!(
            h.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            ["content-length"]
        );

        // A head without any is left as it is.
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("a"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        let before = h.clone();
        strip(&mut h);
        assert_eq!(h, before);
    }
}
