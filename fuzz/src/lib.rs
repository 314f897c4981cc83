//! Shared helpers for the fuzz targets: an [`arbitrary`]-derived HTTP request shape that is
//! turned into a [`portcullis_waf_request::Request`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arbitrary::Arbitrary;
use portcullis_waf_request::Request;

/// Methods the fuzzer picks from (plus a free-form one).
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];

/// Content types that steer the body parsers (JSON, form, multipart, XML).
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "text/xml",
    "application/xml; charset=utf-8",
    "text/plain",
];

/// A request as the fuzzer generates it.
#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    /// Index into [`METHODS`]; out of range uses `free_method`.
    pub method: u8,
    /// Free-form method text.
    pub free_method: String,
    /// The request target (path, query, fragment).
    pub uri: String,
    /// Index into [`CONTENT_TYPES`]; out of range sends no `Content-Type`.
    pub content_type: u8,
    /// Extra headers (name, raw value).
    pub headers: Vec<(String, Vec<u8>)>,
    /// A `Cookie` header value, if any.
    pub cookie: Option<Vec<u8>>,
    /// The body.
    pub body: Vec<u8>,
    /// Client IPv4 address.
    pub client: [u8; 4],
}

impl FuzzRequest {
    /// Builds the WAF request.
    pub fn build(&self) -> Request {
        let method = METHODS
            .get(usize::from(self.method))
            .copied()
            .unwrap_or(self.free_method.as_str());
        let mut b = Request::builder()
            .method(method)
            .uri(&self.uri)
            .client_addr(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(self.client)),
                40000,
            ))
            .header("host", "fuzz.example");
        if let Some(ct) = CONTENT_TYPES.get(usize::from(self.content_type)) {
            b = b.header("content-type", ct);
        }
        for (name, value) in self.headers.iter().take(32) {
            b = b.header(name, value);
        }
        if let Some(c) = &self.cookie {
            b = b.header("cookie", c);
        }
        b.body(&self.body).build()
    }
}
