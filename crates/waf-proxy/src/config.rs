//! The proxy's configuration: listeners, routes, upstream pools, limits and the inspection settings.
//!
//! These are resolved values (addresses parsed, durations typed); the binary's TOML layer maps onto them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use portcullis_waf_challenge::Interstitials;

use crate::inspect::InspectorCell;
use crate::logging::Logging;
use crate::samples::Samples;

/// Everything one proxy instance needs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The listeners to bind.
    pub listeners: Vec<ListenerConfig>,
    /// The upstream pools that routes point at.
    pub pools: Vec<PoolConfig>,
    /// Request and connection limits.
    pub limits: Limits,
    /// Peers whose `X-Forwarded-*` headers are believed and extended; all other peers have them replaced.
    pub trusted_proxies: Vec<IpNet>,
    /// What to do when inspection fails or panics.
    pub fail_mode: FailMode,
    /// How long graceful shutdown waits for in-flight requests before closing connections.
    pub shutdown_grace: Duration,
    /// The logging configurations of the web ACLs (shared state: pass a clone of a kept [`Logging`] to carry
    /// configurations across restarts; also reachable as `ProxyHandle::logging`).
    pub logging: Logging,
    /// The sampled-request store (shared state, like `logging`; also `ProxyHandle::samples`).
    pub samples: Samples,
    /// The CAPTCHA and challenge interstitials and the `aws-waf-token` keys; `None` answers Captcha and Challenge
    /// decisions with a bare 405/202 and evaluates every request as token-less.
    pub interstitials: Option<Arc<Interstitials>>,
    /// How many worker threads serve the listeners, each with its own single-threaded runtime, its own
    /// `SO_REUSEPORT` socket per listener and its own upstream connections (see the `workers` module of the
    /// crate): a request never changes threads. `0` runs everything on the runtime that calls [`crate::start`].
    /// Default: the number of available cores. Read by [`crate::start`] only; a reconfiguration keeps the count.
    pub workers: usize,
}

/// The default [`ProxyConfig::workers`]: the number of cores this process may use.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            listeners: Vec::new(),
            pools: Vec::new(),
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            fail_mode: FailMode::default(),
            shutdown_grace: Duration::from_secs(10),
            logging: Logging::default(),
            samples: Samples::default(),
            interstitials: None,
            workers: default_workers(),
        }
    }
}

/// One listening socket.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// A name for logs and (later) the listener's ARN.
    pub name: String,
    /// The address to bind (`127.0.0.1:0` picks a free port; see `ProxyHandle::local_addrs`).
    pub bind: SocketAddr,
    /// Serve HTTPS with these certificates; `None` serves plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Routes tried in order; the first whose host and path prefix match wins.
    pub routes: Vec<RouteConfig>,
    /// The web ACL associated with this listener. `None` uses the proxy's default cell (the inspector given to
    /// `start`, `ProxyHandle::inspector`). Pass a cell you keep to swap the listener's ACL later and to keep it
    /// across proxy restarts.
    pub inspector: Option<InspectorCell>,
}

impl ListenerConfig {
    /// A plain-HTTP listener without routes, using the proxy's default inspector.
    pub fn new(name: &str, bind: SocketAddr) -> Self {
        Self {
            name: name.to_owned(),
            bind,
            tls: None,
            routes: Vec::new(),
            inspector: None,
        }
    }
}

/// TLS settings of a listener.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Certificates; the SNI name picks one by its subject alternative DNS names (exact, then `*.` wildcard), and
    /// the first certificate answers clients that send no or an unknown name.
    pub certificates: Vec<CertificateFiles>,
}

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// The chain, leaf first.
    pub cert_pem: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: PathBuf,
}

/// Which requests go to which pool.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// The `Host` (without port, case-insensitive) to match; `None` matches any host.
    pub host: Option<String>,
    /// The path prefix to match (`/` matches everything).
    pub path_prefix: String,
    /// The pool's name.
    pub pool: String,
}

/// A set of equivalent upstream servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The name routes refer to.
    pub name: String,
    /// The upstream servers (plain HTTP/1.1).
    pub upstreams: Vec<SocketAddr>,
    /// How a server is picked for each request.
    pub balance: Balance,
    /// Active health checking; `None` treats every server as healthy.
    pub health_check: Option<HealthCheckConfig>,
    /// Limit on establishing a TCP connection to an upstream.
    pub connect_timeout: Duration,
    /// Limit on waiting for the upstream's response head after the request was sent, and on each pause between
    /// response body frames.
    pub read_timeout: Duration,
    /// Extra attempts on another server, only for idempotent methods whose body was fully buffered and only when the
    /// connection could not be established (nothing reached the upstream).
    pub retries: u32,
    /// Idle keep-alive connections kept per upstream server.
    pub max_idle_per_upstream: usize,
}

impl PoolConfig {
    /// A pool with the given servers and default settings (round robin, 3 s connect, 60 s read, 1 retry).
    pub fn new(name: &str, upstreams: Vec<SocketAddr>) -> Self {
        Self {
            name: name.to_owned(),
            upstreams,
            balance: Balance::RoundRobin,
            health_check: None,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(60),
            retries: 1,
            max_idle_per_upstream: 32,
        }
    }
}

/// Load-balancing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balance {
    /// Each healthy server in turn.
    #[default]
    RoundRobin,
    /// The healthy server with the fewest requests in flight (ties: the next in round-robin order).
    LeastConnections,
}

/// Active health checks: `GET path` to each server every `interval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// Time between checks.
    pub interval: Duration,
    /// The path requested (a 2xx or 3xx answer within `timeout` is a success).
    pub path: String,
    /// Limit for one check.
    pub timeout: Duration,
    /// Consecutive successes that mark an unhealthy server healthy.
    pub healthy_threshold: u32,
    /// Consecutive failures that mark a healthy server unhealthy.
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            path: "/".to_owned(),
            timeout: Duration::from_secs(2),
            healthy_threshold: 2,
            unhealthy_threshold: 2,
        }
    }
}

/// Limits that keep one client from exhausting the proxy.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total size of the HTTP/1 request head (request line and headers); larger heads get 431.
    pub max_header_bytes: usize,
    /// Maximum number of request headers (HTTP/1); more get 431.
    pub max_headers: usize,
    /// Largest body accepted (declared or streamed); larger gets 413.
    pub max_body_bytes: u64,
    /// The body prefix handed to the web ACL (8, 16, 32, 48 or 64 KiB in AWS; any value here).
    pub inspection_limit: usize,
    /// The client must send the complete request head within this time, or the connection is closed.
    pub header_read_timeout: Duration,
    /// The client must send the inspected body prefix (or the whole body, if shorter) within this time after the
    /// head, or gets 408 (slow-POST protection; the rest of the body is streamed and bounded by the upstream).
    pub body_prefix_timeout: Duration,
    /// Open client connections across all listeners; further connections wait in the accept queue.
    pub max_connections: usize,
    /// Requests in flight per client IP (peer address); more get 429.
    pub max_requests_per_ip: usize,
    /// HTTP/2 streams per connection.
    pub max_h2_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: 100 * 1024 * 1024,
            inspection_limit: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_prefix_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_requests_per_ip: 256,
            max_h2_streams: 128,
        }
    }
}

/// Behaviour when inspection cannot decide (the inspector returned an error or panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Refuse the request with this status. AWS's load balancer refuses by default
    /// (`routing.http.waf_fail_open.enabled=false`) and reports the failure as an HTTP 500; we default to 500 too.
    Closed {
        /// The status sent (500 by default).
        status: u16,
    },
    /// Forward the request uninspected (ALB's `waf_fail_open`), logging a warning.
    Open,
}

impl Default for FailMode {
    fn default() -> Self {
        FailMode::Closed { status: 500 }
    }
}
