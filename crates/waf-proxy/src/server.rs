//! Listeners: bind, accept (bounded by the connection limit), TLS handshake, serve HTTP/1.1 and HTTP/2 with hyper,
//! and shut down gracefully.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::{Limits, ProxyConfig};
use crate::error::ProxyError;
use crate::handler::{ConnInfo, ListenerCtx, PerIp, Route, Shared, handle};
use crate::inspect::{Inspector, InspectorCell};
use crate::logging::Logging;
use crate::samples::Samples;
use crate::sniff::{HeadChecks, Tap, TappedIo};
use crate::upstream::Pool;

/// A running proxy. Dropping the handle stops accepting at once (like [`ProxyHandle::shutdown`], without waiting
/// for the drain).
pub struct ProxyHandle {
    addrs: Vec<(String, SocketAddr)>,
    inspector: InspectorCell,
    cells: Vec<(String, InspectorCell)>,
    logging: Logging,
    samples: Samples,
    pools: HashMap<String, Arc<Pool>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl ProxyHandle {
    /// The bound address of each listener, in configuration order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.addrs.iter().map(|(_, a)| *a).collect()
    }

    /// The bound address of the listener called `name`.
    pub fn local_addr(&self, name: &str) -> Option<SocketAddr> {
        self.addrs.iter().find(|(n, _)| n == name).map(|(_, a)| *a)
    }

    /// The default inspector cell (holding the inspector given to [`start`]), used by every listener configured
    /// without its own cell: [`InspectorCell::swap`] applies a new web ACL to requests that start afterwards.
    pub fn inspector(&self) -> &InspectorCell {
        &self.inspector
    }

    /// The inspector cell of the listener called `name` (its own, or the default one).
    pub fn inspector_for(&self, listener: &str) -> Option<&InspectorCell> {
        self.cells
            .iter()
            .find(|(n, _)| n == listener)
            .map(|(_, c)| c)
    }

    /// The logging configurations of the web ACLs: [`Logging::put`] / [`Logging::delete`] take effect for
    /// requests that start afterwards.
    pub fn logging(&self) -> &Logging {
        &self.logging
    }

    /// The sampled requests ([`Samples::query`] answers `GetSampledRequests`).
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// The pool called `name` (health state, in-flight counts).
    pub fn pool(&self, name: &str) -> Option<Arc<Pool>> {
        self.pools.get(name).cloned()
    }

    /// Stop accepting, let requests in flight finish (up to the configured grace period), then close.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

fn validate(config: &ProxyConfig) -> Result<(), ProxyError> {
    let mut problems = Vec::new();
    let mut names = std::collections::HashSet::new();
    for pool in &config.pools {
        if !names.insert(pool.name.as_str()) {
            problems.push(format!("pool {:?} is defined twice", pool.name));
        }
        if pool.upstreams.is_empty() {
            problems.push(format!("pool {:?} has no upstreams", pool.name));
        }
    }
    for l in &config.listeners {
        for r in &l.routes {
            if !names.contains(r.pool.as_str()) {
                problems.push(format!(
                    "listener {:?}: route {:?} names unknown pool {:?}",
                    l.name, r.path_prefix, r.pool
                ));
            }
        }
        if let Some(tls) = &l.tls
            && tls.certificates.is_empty()
        {
            problems.push(format!("listener {:?}: TLS without certificates", l.name));
        }
    }
    if config.limits.max_connections == 0 || config.limits.max_requests_per_ip == 0 {
        problems.push("connection and per-IP limits must be at least 1".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ProxyError::Config(problems.join("\n")))
    }
}

fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper refuses buffers under 8 KiB.
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_h2_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Validate `config`, bind every listener and start serving. Must be called inside a tokio runtime.
///
/// `inspector` goes into the default cell ([`ProxyHandle::inspector`]) that listeners without their own
/// [`crate::ListenerConfig::inspector`] use.
pub async fn start(
    config: ProxyConfig,
    inspector: Arc<dyn Inspector>,
) -> Result<ProxyHandle, ProxyError> {
    validate(&config)?;
    let (stop, stop_rx) = watch::channel(false);
    let pools: HashMap<String, Arc<Pool>> = config
        .pools
        .iter()
        .map(|p| (p.name.clone(), Arc::new(Pool::new(p.clone()))))
        .collect();
    let cell = InspectorCell::new(inspector);
    let shared = Arc::new(Shared {
        limits: config.limits.clone(),
        trusted: config.trusted_proxies.clone(),
        fail_mode: config.fail_mode,
        per_ip: PerIp::default(),
        logging: config.logging.clone(),
        samples: config.samples.clone(),
        interstitials: config.interstitials.clone(),
    });
    let builder = Arc::new(http_builder(&config.limits));
    let connections = Arc::new(Semaphore::new(config.limits.max_connections));

    let mut bound = Vec::new();
    let mut cells = Vec::new();
    for l in &config.listeners {
        let inspector = l.inspector.clone().unwrap_or_else(|| cell.clone());
        cells.push((l.name.clone(), inspector.clone()));
        let tls = match &l.tls {
            Some(t) => Some(TlsAcceptor::from(crate::tls::server_config(t)?)),
            None => None,
        };
        let listener = TcpListener::bind(l.bind)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: l.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: l.bind,
            source,
        })?;
        let routes = l
            .routes
            .iter()
            .filter_map(|r| {
                Some(Route {
                    host: r.host.as_deref().map(str::to_ascii_lowercase),
                    prefix: r.path_prefix.clone(),
                    pool: Arc::clone(pools.get(&r.pool)?),
                    pool_name: Arc::from(r.pool.as_str()),
                })
            })
            .collect();
        let ctx = Arc::new(ListenerCtx {
            name: Arc::from(l.name.as_str()),
            inspector,
            scheme: if tls.is_some() { "https" } else { "http" },
            routes,
            shared: Arc::clone(&shared),
        });
        bound.push((listener, addr, ctx, tls));
    }

    for pool in pools.values() {
        pool.spawn_health_checks(stop_rx.clone());
    }
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    for (listener, addr, ctx, tls) in bound {
        tracing::info!(listener = %ctx.name, %addr, tls = tls.is_some(), "WAF proxy listening");
        addrs.push((ctx.name.to_string(), addr));
        let accept = Accept {
            listener,
            ctx,
            tls,
            builder: Arc::clone(&builder),
            connections: Arc::clone(&connections),
            grace: config.shutdown_grace,
        };
        tasks.push(tokio::spawn(accept.run(stop_rx.clone())));
    }
    Ok(ProxyHandle {
        addrs,
        inspector: cell,
        cells,
        logging: config.logging.clone(),
        samples: config.samples.clone(),
        pools,
        stop,
        tasks,
    })
}

struct Accept {
    listener: TcpListener,
    ctx: Arc<ListenerCtx>,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    connections: Arc<Semaphore>,
    grace: Duration,
}

impl Accept {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let graceful = GracefulShutdown::new();
        loop {
            let permit = tokio::select! {
                p = Arc::clone(&self.connections).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            };
            let (tcp, peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(listener = %self.ctx.name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.changed() => break,
            };
            let conn = Conn {
                ctx: Arc::clone(&self.ctx),
                tls: self.tls.clone(),
                builder: Arc::clone(&self.builder),
                watcher: graceful.watcher(),
            };
            tokio::spawn(async move {
                conn.serve(tcp, peer).await;
                drop(permit);
            });
        }
        drop(self.listener);
        tracing::info!(listener = %self.ctx.name, in_flight = graceful.count(), "listener stopping; draining connections");
        if tokio::time::timeout(self.grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(listener = %self.ctx.name, "grace period over; closing remaining connections");
        }
    }
}

/// The `reason` of `portcullis_waf_rejected_requests_total` for a connection hyper gave up on (a timeout counts
/// only when part of a head had arrived: hyper also times out idle keep-alive connections).
fn hygiene_reason(e: &hyper::Error, head: &HeadChecks) -> Option<&'static str> {
    if e.is_timeout() {
        head.head_pending().then_some("header_timeout")
    } else if e.is_parse_too_large() {
        Some("head_too_large")
    } else if e.is_parse() {
        Some("malformed_head")
    } else {
        None
    }
}

struct Conn {
    ctx: Arc<ListenerCtx>,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
}

impl Conn {
    async fn serve(self, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(peer);
        let limits = &self.ctx.shared.limits;
        match self.tls.clone() {
            None => {
                let (tap, checks) = Tap::new(limits.max_header_bytes, limits.max_headers);
                self.serve_io(TappedIo::new(tcp, tap), checks, peer, local)
                    .await;
            }
            Some(acceptor) => {
                let stream =
                    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            crate::metrics::rejected(&self.ctx.name, "tls_handshake_timeout");
                            return;
                        }
                    };
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                let (tap, checks) = if h2 {
                    Tap::disabled()
                } else {
                    Tap::new(limits.max_header_bytes, limits.max_headers)
                };
                self.serve_io(TappedIo::new(stream, tap), checks, peer, local)
                    .await;
            }
        }
    }

    async fn serve_io<I>(self, io: I, checks: HeadChecks, peer: SocketAddr, local: SocketAddr)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let head_state = checks.clone();
        let info = Arc::new(ConnInfo {
            peer,
            local,
            checks,
        });
        let ctx = Arc::clone(&self.ctx);
        let service = service_fn(move |req| handle(Arc::clone(&ctx), Arc::clone(&info), req));
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        if let Err(e) = self.watcher.watch(conn).await {
            tracing::debug!(%peer, error = %e, "client connection ended with an error");
            if let Some(reason) = e
                .downcast_ref::<hyper::Error>()
                .and_then(|e| hygiene_reason(e, &head_state))
            {
                crate::metrics::rejected(&self.ctx.name, reason);
            }
        }
    }
}
