//! A small HTTP/1 request reader that decides, like a strict front end would, whether a test's bytes reach the
//! WAF at all.
//!
//! The runner has no network: it needs to know what the HTTP stack in front of the engine would do with the
//! bytes ftw sends. [`receive`] returns one of three outcomes:
//! - [`Exchange::Accepted`]: a well-formed request, turned into a [`Request`] for the engine;
//! - [`Exchange::Rejected`]: the front end answers by itself (400 for a malformed request line, header or
//!   `Content-Length`, 505 for an HTTP version other than 1.0/1.1, 405 for `CONNECT`), as hyper and nginx do;
//! - [`Exchange::Failed`]: the client gets no parseable response (an HTTP/0.9 "simple request" is answered
//!   without a status line; a body shorter than its `Content-Length` leaves the server waiting until the
//!   client times out). ftw reports both as errors, which is what `expect_error: true` tests expect.
//!
//! What is deliberately *not* rejected: request targets with characters a URL should percent-encode (`<`,
//! `>`, `"`, spaces inside the target are still impossible), a missing `Host`, and non-UTF-8 bytes. Those are
//! the WAF's to judge (CRS 920 rules log them).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use portcullis_waf_request::Request;

/// At most this many header lines are read (hyper's default limit); more gives 431.
const MAX_HEADERS: usize = 100;

/// What the HTTP front end does with a request.
#[derive(Debug)]
pub enum Exchange {
    /// The request reaches the WAF.
    Accepted(Box<Request>),
    /// The front end answers with `status` without running the WAF.
    Rejected {
        /// The status sent.
        status: u16,
        /// Why.
        reason: String,
    },
    /// The client sees no valid HTTP response.
    Failed {
        /// Why.
        reason: String,
    },
}

fn reject(status: u16, reason: impl Into<String>) -> Exchange {
    Exchange::Rejected {
        status,
        reason: reason.into(),
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits off one line (without its `\n` and a trailing `\r`); `None` when no `\n` is left.
fn line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let (l, rest) = (buf.get(..nl)?, buf.get(nl + 1..)?);
    Some((l.strip_suffix(b"\r").unwrap_or(l), rest))
}

/// Reads one request as the front end would; `server_port` becomes the request's local port.
pub fn receive(bytes: &[u8], server_port: u16) -> Exchange {
    let mut rest = bytes;
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    while let Some(r) = rest
        .strip_prefix(b"\r\n")
        .or_else(|| rest.strip_prefix(b"\n"))
    {
        rest = r;
    }
    let Some((request_line, after)) = line(rest) else {
        return Exchange::Failed {
            reason: "the request line never ends: the server waits".into(),
        };
    };
    rest = after;
    if request_line.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return reject(400, "control character in the request line");
    }
    let parts: Vec<&[u8]> = request_line.split(|&b| b == b' ').collect();
    let (method, target, version) = match parts.as_slice() {
        [m, t] | [m, t, []] if !m.is_empty() && !t.is_empty() => {
            let _ = (m, t);
            return Exchange::Failed {
                reason: "HTTP/0.9 simple request: the answer has no status line".into(),
            };
        }
        [m, t, v] => (*m, *t, *v),
        _ => return reject(400, "the request line is not METHOD SP TARGET SP VERSION"),
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return reject(400, "the method is not a token");
    }
    match version {
        b"HTTP/1.0" | b"HTTP/1.1" => {}
        [b'H', b'T', b'T', b'P', b'/', major, ..] if major.is_ascii_digit() && *major >= b'2' => {
            return reject(505, "HTTP version not supported over HTTP/1");
        }
        _ => return reject(400, "malformed HTTP version"),
    }
    let is_connect = method == b"CONNECT";
    let target_ok = match target {
        b"*" => method == b"OPTIONS",
        [b'/', ..] => !is_connect,
        t if is_connect => authority_form(t),
        t => absolute_form(t),
    };
    if !target_ok {
        return reject(400, "invalid request target for this method");
    }

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    loop {
        let Some((l, after)) = line(rest) else {
            return Exchange::Failed {
                reason: "the header section never ends: the server waits".into(),
            };
        };
        rest = after;
        if l.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return reject(431, "too many headers");
        }
        if l.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            return reject(400, "obsolete header line folding");
        }
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            return reject(400, "header line without a colon");
        };
        let (name, value) = (
            l.get(..colon).unwrap_or_default(),
            l.get(colon + 1..).unwrap_or_default(),
        );
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return reject(400, "invalid header name");
        }
        let value = value.trim_ascii();
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return reject(400, "control character in a header value");
        }
        headers.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }

    let body = match body(&mut headers, rest) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let req = Request::builder()
        .client_addr(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50000))
        .server_addr(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            server_port,
        ))
        .method(&String::from_utf8_lossy(method))
        .uri(&String::from_utf8_lossy(target))
        .version(&String::from_utf8_lossy(version))
        .body(body);
    let mut req = req.build();
    req.headers = headers;
    Exchange::Accepted(Box::new(req))
}

/// `host:port` with a numeric port (CONNECT's target).
fn authority_form(t: &[u8]) -> bool {
    let Some(colon) = t.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (
        t.get(..colon).unwrap_or_default(),
        t.get(colon + 1..).unwrap_or_default(),
    );
    !host.is_empty() && !port.is_empty() && port.iter().all(u8::is_ascii_digit)
}

/// `scheme://…`.
fn absolute_form(t: &[u8]) -> bool {
    let Some(pos) = t.windows(3).position(|w| w == b"://") else {
        return false;
    };
    let scheme = t.get(..pos).unwrap_or_default();
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// Frames the body: chunked (then `Content-Length` is dropped, as Apache and RFC 9112 §6.3 do), else
/// `Content-Length`, else none.
fn body(headers: &mut Vec<(String, Vec<u8>)>, rest: &[u8]) -> Result<Vec<u8>, Exchange> {
    let te: Vec<Vec<u8>> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
        .map(|(_, v)| v.clone())
        .collect();
    if !te.is_empty() {
        let last = te
            .last()
            .map(|v| v.to_ascii_lowercase())
            .unwrap_or_default();
        let last_coding = last
            .rsplit(|&b| b == b',')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if last_coding != b"chunked" {
            return Err(reject(400, "transfer-encoding without chunked"));
        }
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-length"));
        return dechunk(rest);
    }
    let lengths: Vec<&Vec<u8>> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v)
        .collect();
    let Some(first) = lengths.first() else {
        return Ok(Vec::new());
    };
    if lengths.iter().any(|v| v != first) {
        return Err(reject(400, "conflicting Content-Length headers"));
    }
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) || first.len() > 15 {
        return Err(reject(400, "Content-Length is not a number"));
    }
    let n: usize = std::str::from_utf8(first)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    match rest.get(..n) {
        Some(b) => Ok(b.to_vec()),
        None => Err(Exchange::Failed {
            reason: format!(
                "the body has {} of {n} announced bytes: the server waits",
                rest.len()
            ),
        }),
    }
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, Exchange> {
    let waits = || Exchange::Failed {
        reason: "the chunked body never ends: the server waits".into(),
    };
    let mut out = Vec::new();
    loop {
        let (size_line, after) = line(rest).ok_or_else(waits)?;
        let hex = size_line
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let size = std::str::from_utf8(hex)
            .ok()
            .filter(|h| !h.is_empty() && h.len() <= 12)
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| reject(400, "invalid chunk size"))?;
        rest = after;
        if size == 0 {
            return Ok(out); // trailers are not inspected
        }
        let data = rest.get(..size).ok_or_else(waits)?;
        out.extend_from_slice(data);
        rest = rest.get(size..).unwrap_or_default();
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .ok_or_else(|| {
                if rest.is_empty() {
                    waits()
                } else {
                    reject(400, "chunk not followed by CRLF")
                }
            })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(b: &[u8]) -> Request {
        match receive(b, 80) {
            Exchange::Accepted(r) => *r,
            other => panic!("{other:?}"),
        }
    }

    fn status(b: &[u8]) -> Option<u16> {
        match receive(b, 80) {
            Exchange::Rejected { status, .. } => Some(status),
            _ => None,
        }
    }

    fn failed(b: &[u8]) -> bool {
        matches!(receive(b, 80), Exchange::Failed { .. })
    }

    #[test]
    fn well_formed() {
        let r = accepted(
            b"POST /a?b=<c> HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX:  v \r\n\r\nabcdef",
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri, "/a?b=<c>");
        assert_eq!(r.body, b"abc");
        assert_eq!(r.header("x"), Some(&b"v"[..]));
        assert_eq!(r.server_addr.port(), 80);
    }

    #[test]
    fn malformed_request_lines() {
        assert_eq!(status(b"     GET / HTTP/1.1\r\n\r\n"), Some(400));
        assert_eq!(status(b"\tGET / HTTP/1.1\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / HTTP/0.9\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / JUNK/1.0\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / 1.1\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / HTTP/3.0\r\n\r\n"), Some(505));
        assert_eq!(status(b"GET \\ HTTP/1.1\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET /a b HTTP/1.1\r\n\r\n"), Some(400));
        assert_eq!(status(b"CONNECT www.cnn.com HTTP/1.1\r\n\r\n"), Some(400));
        assert!(matches!(
            receive(b"CONNECT 1.2.3.4:80 HTTP/1.1\r\n\r\n", 80),
            Exchange::Accepted(_)
        ));
        assert!(matches!(
            receive(b"OPTIONS * HTTP/1.1\r\n\r\n", 80),
            Exchange::Accepted(_)
        ));
        assert!(failed(b"GET / \r\n\r\n"));
        assert!(failed(b"GET /"));
    }

    #[test]
    fn malformed_headers_and_bodies() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / HTTP/1.1\r\nA : b\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / HTTP/1.1\r\n folded\r\n\r\n"), Some(400));
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nContent-Length: NotDigits\r\n\r\n"),
            Some(400)
        );
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nContent-Length: 3;\r\n\r\nabc"),
            Some(400)
        );
        assert!(failed(
            b"POST / HTTP/1.1\r\nContent-Length: 10485760\r\n\r\nshort"
        ));
    }

    #[test]
    fn chunked_drops_content_length() {
        let r = accepted(
            b"POST / HTTP/1.1\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nfoo=bar\r\n0\r\n\r\n",
        );
        assert_eq!(r.body, b"foo=bar");
        assert_eq!(r.header("content-length"), None);
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Arbitrary bytes never panic the reader.
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = receive(&b, 80);
        }

        /// A well-formed request with any token method and header value round-trips.
        #[test]
        fn well_formed_requests_are_accepted(m in "[A-Z]{1,8}", v in "[ -~]{0,30}", body in "[a-z=&]{0,20}") {
            let raw = format!("{m} /p?q=1 HTTP/1.1\r\nX-V: {v}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            match receive(raw.as_bytes(), 80) {
                Exchange::Accepted(r) => {
                    prop_assert_eq!(&r.method, &m);
                    prop_assert_eq!(r.header("x-v"), Some(v.trim().as_bytes()));
                    prop_assert_eq!(&r.body, body.as_bytes());
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
