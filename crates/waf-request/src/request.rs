//! The HTTP request as the WAF sees it: request line, headers in arrival order, and the inspectable body prefix.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One HTTP request, as received by the proxy, ready for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The peer address of the client connection.
    pub client_addr: SocketAddr,
    /// The local address the request arrived on.
    pub server_addr: SocketAddr,
    /// The request method exactly as sent (e.g. `GET`).
    pub method: String,
    /// The request target exactly as sent, e.g. `/a%20b/c.php?x=1&y` (not decoded, not normalised).
    pub uri: String,
    /// The protocol version, e.g. `HTTP/1.1` or `HTTP/2`.
    pub version: String,
    /// The headers in received order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body bytes available for inspection (may be only a prefix of the body).
    pub body: Vec<u8>,
    /// The full body length; greater than `body.len()` when the body was truncated for inspection.
    pub body_total_len: u64,
    /// The JA3 fingerprint of the TLS ClientHello, when one was computed.
    pub ja3: Option<String>,
    /// The JA4 fingerprint of the TLS ClientHello, when one was computed.
    pub ja4: Option<String>,
}

impl Request {
    /// Starts a builder with test-friendly defaults: client `127.0.0.1:50000`, server `127.0.0.1:80`, `GET /`,
    /// `HTTP/1.1`, no headers, empty body.
    pub fn builder() -> RequestBuilder {
        RequestBuilder::default()
    }

    /// Starts a builder like [`Request::builder`] that writes into `self`'s buffers (method, target, version,
    /// every header's name and value, body) instead of allocating new ones: a proxy building one request per
    /// client request keeps the last one and refills it. Nothing of the old request remains in the result.
    pub fn refill(mut self) -> RequestBuilder {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        self.client_addr = SocketAddr::new(lo, 50000);
        self.server_addr = SocketAddr::new(lo, 80);
        "GET".clone_into(&mut self.method);
        "/".clone_into(&mut self.uri);
        "HTTP/1.1".clone_into(&mut self.version);
        self.body.clear();
        self.body_total_len = 0;
        self.ja3 = None;
        self.ja4 = None;
        RequestBuilder {
            req: self,
            body_total_len: None,
            headers: 0,
        }
    }

    /// Bytes held by this request's buffers (its capacity, not its length).
    pub fn footprint(&self) -> usize {
        let strings = self.method.capacity() + self.uri.capacity() + self.version.capacity();
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.capacity() + v.capacity())
            .sum();
        strings
            + headers
            + self.headers.capacity() * std::mem::size_of::<(String, Vec<u8>)>()
            + self.body.capacity()
    }

    /// The request target before the first `?` (as ModSecurity's `REQUEST_FILENAME` before decoding).
    pub fn path(&self) -> &str {
        self.uri
            .split_once('?')
            .map_or(self.uri.as_str(), |(p, _)| p)
    }

    /// Everything after the first `?`, or `""` when there is none (as ModSecurity's `QUERY_STRING`).
    pub fn query(&self) -> &str {
        self.uri.split_once('?').map_or("", |(_, q)| q)
    }

    /// The fragment after the first `#` (browsers do not send it, but a raw client may), if any.
    pub fn fragment(&self) -> Option<&str> {
        self.uri.split_once('#').map(|(_, f)| f)
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.header_values(name).next()
    }

    /// The values of every header named `name` (ASCII case-insensitive), in received order.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first `Content-Type` header value, if any.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.header("content-type")
    }

    /// The media type of `Content-Type` (before any `;`), trimmed and lowercased, e.g. `multipart/form-data`.
    pub fn media_type(&self) -> Option<String> {
        let ct = self.content_type()?;
        let end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
        let mt = ct.get(..end).unwrap_or(ct).trim_ascii();
        Some(String::from_utf8_lossy(mt).to_ascii_lowercase())
    }

    /// True when the body was truncated for inspection (`body_total_len > body.len()`).
    pub fn body_truncated(&self) -> bool {
        self.body_total_len > self.body.len() as u64
    }

    /// Header names in arrival order, lowercased, joined by `:` (AWS `HeaderOrder`).
    pub fn header_order(&self) -> String {
        let mut out = String::new();
        for (i, (n, _)) in self.headers.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&n.to_ascii_lowercase());
        }
        out
    }

    /// The query-string arguments (see [`crate::query::parse`]).
    pub fn query_args(&self) -> Vec<crate::query::Param> {
        crate::query::parse(self.query().as_bytes())
    }

    /// The cookies of every `Cookie` header (see [`crate::cookies::parse`]).
    pub fn cookies(&self) -> Vec<crate::query::Param> {
        crate::cookies::parse(self)
    }

    /// The request line as ModSecurity's `REQUEST_LINE`: `METHOD URI VERSION`.
    pub fn request_line(&self) -> String {
        format!("{} {} {}", self.method, self.uri, self.version)
    }
}

/// Builds a [`Request`] for tests and tools; see [`Request::builder`] for the defaults.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    req: Request,
    body_total_len: Option<u64>,
    /// Headers set so far: `req.headers` beyond them are a refilled request's old ones, reused in place and
    /// dropped by `build`.
    headers: usize,
}

impl Default for RequestBuilder {
    /// The defaults of [`Request::builder`], set by [`Request::refill`] (the one place that names them) on an
    /// empty request.
    fn default() -> Self {
        let unset = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        Request {
            client_addr: unset,
            server_addr: unset,
            method: String::new(),
            uri: String::new(),
            version: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
            body_total_len: 0,
            ja3: None,
            ja4: None,
        }
        .refill()
    }
}

impl RequestBuilder {
    /// Sets the client address.
    pub fn client_addr(mut self, addr: SocketAddr) -> Self {
        self.req.client_addr = addr;
        self
    }

    /// Sets the server address.
    pub fn server_addr(mut self, addr: SocketAddr) -> Self {
        self.req.server_addr = addr;
        self
    }

    /// Sets the method.
    pub fn method(mut self, method: &str) -> Self {
        method.clone_into(&mut self.req.method);
        self
    }

    /// Sets the request target (path and query as sent).
    pub fn uri(mut self, uri: &str) -> Self {
        uri.clone_into(&mut self.req.uri);
        self
    }

    /// Sets the protocol version.
    pub fn version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.req.version);
        self
    }

    /// Appends a header.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.push_header(name, value.as_ref());
        self
    }

    /// Appends a header, in place: a loop over many headers does not move the builder in and out of each call as
    /// [`RequestBuilder::header`] does.
    pub fn push_header(&mut self, name: &str, value: &[u8]) {
        match self.req.headers.get_mut(self.headers) {
            Some((n, v)) => {
                name.clone_into(n);
                v.clear();
                v.extend_from_slice(value);
            }
            None => self.req.headers.push((name.to_owned(), value.to_vec())),
        }
        self.headers += 1;
    }

    /// Sets the body; `body_total_len` defaults to its length.
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.req.body.clear();
        self.req.body.extend_from_slice(body.as_ref());
        self
    }

    /// Declares the full body length (to simulate a body truncated for inspection).
    pub fn body_total_len(mut self, len: u64) -> Self {
        self.body_total_len = Some(len);
        self
    }

    /// Sets the JA3 fingerprint.
    pub fn ja3(mut self, ja3: &str) -> Self {
        self.req.ja3 = Some(ja3.to_owned());
        self
    }

    /// Sets the JA4 fingerprint.
    pub fn ja4(mut self, ja4: &str) -> Self {
        self.req.ja4 = Some(ja4.to_owned());
        self
    }

    /// Finishes the request.
    pub fn build(self) -> Request {
        let mut req = self.req;
        req.headers.truncate(self.headers);
        req.body_total_len = self
            .body_total_len
            .unwrap_or(req.body.len() as u64)
            .max(req.body.len() as u64);
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_helpers() {
        let r = Request::builder()
            .uri("/a%20b/c.php?x=1&y")
            .header("Host", "h")
            .header("Cookie", "a=1")
            .header("cookie", "b=2")
            .header("Content-Type", "Multipart/Form-Data; boundary=x")
            .build();
        assert_eq!(r.method, "GET");
        assert_eq!(r.client_addr.to_string(), "127.0.0.1:50000");
        assert_eq!(r.server_addr.to_string(), "127.0.0.1:80");
        assert_eq!(r.path(), "/a%20b/c.php");
        assert_eq!(r.query(), "x=1&y");
        assert_eq!(r.fragment(), None);
        assert_eq!(r.header("HOST"), Some(&b"h"[..]));
        assert_eq!(r.header("COOKIE"), Some(&b"a=1"[..]));
        assert_eq!(r.header_values("cookie").count(), 2);
        assert_eq!(r.header("missing"), None);
        assert_eq!(r.media_type().as_deref(), Some("multipart/form-data"));
        assert_eq!(r.header_order(), "host:cookie:cookie:content-type");
        assert_eq!(r.cookies().len(), 2);
        assert_eq!(r.query_args().len(), 2);
        assert_eq!(r.query_args()[1].name, b"y");
        assert!(!r.body_truncated());
    }

    #[test]
    fn a_refilled_request_keeps_nothing_of_the_old_one() {
        let old = Request::builder()
            .client_addr("10.0.0.1:1234".parse().unwrap())
            .method("POST")
            .uri("/login?user=admin")
            .version("HTTP/2")
            .header("Authorization", "Basic c2VjcmV0")
            .header("Cookie", "session=1")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("password=hunter2")
            .body_total_len(99)
            .ja3("771,4865")
            .ja4("t13d")
            .build();
        let uri_capacity = old.uri.capacity();
        let fresh = Request::builder()
            .uri("/x")
            .header("Host", "a.example")
            .build();
        let refilled = old.refill().uri("/x").header("Host", "a.example").build();
        assert_eq!(refilled, fresh);
        assert!(
            refilled.uri.capacity() >= uri_capacity,
            "the target's buffer is reused"
        );
        assert_eq!(Request::builder().build(), refilled.refill().build());
    }

    #[test]
    fn refilling_with_more_headers_than_before_keeps_them_all() {
        let old = Request::builder().header("a", "1").build();
        let r = old
            .refill()
            .header("b", "2")
            .header("c", "3")
            .body("xyz")
            .build();
        assert_eq!(
            r.headers,
            vec![
                ("b".to_owned(), b"2".to_vec()),
                ("c".to_owned(), b"3".to_vec())
            ]
        );
        assert_eq!(r.body_total_len, 3);
        assert!(r.footprint() >= 3 + 2 + 2);
    }

    #[test]
    fn no_query() {
        let r = Request::builder().uri("/x").build();
        assert_eq!(r.path(), "/x");
        assert_eq!(r.query(), "");
        let r = Request::builder().uri("/x?").build();
        assert_eq!(r.query(), "");
        let r = Request::builder().uri("/x?a?b=c").build();
        assert_eq!(r.query(), "a?b=c");
    }

    #[test]
    fn truncated_body() {
        let r = Request::builder()
            .method("POST")
            .body(b"abc")
            .body_total_len(10)
            .build();
        assert!(r.body_truncated());
        assert_eq!(r.body_total_len, 10);
        assert_eq!(r.request_line(), "POST / HTTP/1.1");
    }
}
