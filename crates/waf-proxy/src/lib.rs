//! The WAF reverse proxy: listeners that run a web ACL on every request before forwarding it to an upstream pool.
//!
//! # Request path
//! 1. **Accept** on one of the worker threads ([`ProxyConfig::workers`]: each runs its own event loop, its own
//!    `SO_REUSEPORT` socket per listener and its own upstream connections, so a request stays on one thread),
//!    bounded by [`Limits::max_connections`]; TLS with SNI certificate choice ([`tls`]); HTTP/1.1 served by the
//!    proxy's own server side (`h1`: heads parsed where they were read, no dispatcher between the connection and
//!    its request), HTTP/2 (ALPN or prior knowledge) by hyper.
//! 2. **Hygiene**: the server side rejects unparseable heads (400) and oversized heads (431), the head watchdog
//!    closes slow heads (after [`Limits::header_read_timeout`]); the [`sniff`] tap rejects request-smuggling shapes
//!    a parser alone would accept (400 and the connection closed); per-IP concurrency ([`Limits::max_requests_per_ip`], 429) and body size
//!    ([`Limits::max_body_bytes`], 413) are enforced.
//! 3. **Inspection**: the head (kept as the bytes it came in, with field offsets: `head`) and the first N body
//!    bytes (the inspector's body limit or [`Limits::inspection_limit`]) become a [`portcullis_waf_request::Request`]; the current [`Inspector`] (from a
//!    hot-swappable [`InspectorCell`]) returns a [`Decision`]. Errors and panics follow [`FailMode`] (default: fail
//!    closed with 500, as an ALB does unless `waf_fail_open` is set).
//! 4. **Forwarding**: Block answers with the decision's response (403 by default); Allow adds the decision's headers
//!    (`x-amzn-waf-*`) and `X-Forwarded-*` ([`forwarded`]), then sends the buffered prefix followed by the rest of
//!    the body *streamed* to a server picked by the route's pool ([`upstream`]), over a keep-alive connection of the
//!    proxy's own HTTP/1.1 client (`connpool`: request head written from the client's head bytes, response head
//!    parsed into the answer's header map, response body read from the connection by the answer itself).
//! 5. **WebSockets**: an HTTP/1.1 `GET` with `Connection: upgrade` and `Upgrade: websocket` goes through steps
//!    1-4 like any request; when the upstream answers 101, the client and upstream connections are joined and
//!    bytes flow both ways until either side closes. (WebSockets over HTTP/2, RFC 8441, are not offered.)
//!
//! # Web ACLs, logs, samples, metrics
//! Each listener has an [`InspectorCell`]: its own ([`ListenerConfig::inspector`]) or the proxy's default one
//! ([`ProxyHandle::inspector`]); [`ProxyHandle::inspector_for`] finds a listener's cell. Inspectors report an
//! [`AclDetail`] with the decision ([`Inspector::inspect_detailed`], filled by [`AclInspector`]); from it the
//! proxy counts Prometheus metrics (`metrics` module doc), keeps sampled requests ([`samples`]) and writes WAF
//! log records in the AWS format to the sink of the web ACL's [`LoggingConfig`] ([`logging`]).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod acl_inspector;
pub mod body;
pub mod config;
mod connpool;
pub mod detail;
pub mod error;
pub mod forwarded;
mod h1;
mod handler;
mod head;
mod hop;
pub mod inspect;
pub mod logging;
mod metrics;
mod observe;
mod running;
pub mod samples;
mod server;
pub mod sniff;
pub mod tls;
pub mod upstream;
mod watchdog;
mod workers;

pub use acl_inspector::AclInspector;
pub use config::{
    Balance, CertificateFiles, FailMode, HealthCheckConfig, Limits, ListenerConfig, PoolConfig,
    ProxyConfig, RouteConfig, TlsConfig, default_workers,
};
pub use detail::{AclDetail, AclMeta, RuleHit, RuleKind, RuleMeta, WafAction};
pub use error::ProxyError;
pub use inspect::{
    AllowAll, BlockResponse, Decision, InspectContext, InspectError, Inspection, Inspector,
    InspectorCell,
};
pub use logging::{
    FileSink, LogRecord, LogSink, Logging, LoggingConfig, MemorySink, StdoutSink, WriterSink,
};
/// The CAPTCHA/challenge crate, re-exported so that the wiring builds [`ProxyConfig::interstitials`] with the same types.
pub use portcullis_waf_challenge as challenge;
pub use running::{ProxyHandle, Reconfigured, start};
pub use samples::{Samples, SamplesConfig};
