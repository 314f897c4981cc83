//! Listeners: accept (bounded by the connection limit), TLS handshake, serve HTTP/1.1 and HTTP/2 with hyper, and
//! drain gracefully. Each listener reads its settings from a [`LiveCell`] that a reconfiguration swaps: a new
//! connection takes the TLS acceptor, hyper settings and connection limit current when it is accepted, and each
//! request takes the routes, pools and limits current when it arrives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::config::Limits;
use crate::handler::{ConnInfo, ListenerCtx, handle};
use crate::sniff::{HeadChecks, Tap, TappedIo};

/// The settings one listener serves with; replaced as a whole by a reconfiguration.
pub(crate) struct Live {
    /// Routes, inspector cell and the proxy-wide state.
    pub ctx: Arc<ListenerCtx>,
    /// `None` serves plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// hyper's connection settings (from the limits).
    pub builder: Arc<auto::Builder<TokioExecutor>>,
    /// The proxy-wide open-connection budget.
    pub connections: Arc<Semaphore>,
    /// How long a stopping listener waits for its connections.
    pub grace: Duration,
}

/// The current [`Live`] settings of a listener, with a generation bumped by every [`LiveCell::store`]: a
/// connection checks it (one shared read) to know whether its worker's copy of the settings is still current.
#[derive(Clone)]
pub(crate) struct LiveCell(Arc<(RwLock<Arc<Live>>, AtomicU64)>);

impl LiveCell {
    pub fn new(live: Live) -> Self {
        Self(Arc::new((RwLock::new(Arc::new(live)), AtomicU64::new(0))))
    }

    pub fn load(&self) -> Arc<Live> {
        self.load_with_generation().1
    }

    /// The settings and their generation.
    pub fn load_with_generation(&self) -> (u64, Arc<Live>) {
        let g = match self.0.0.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        (self.generation(), Arc::clone(&g))
    }

    pub fn generation(&self) -> u64 {
        self.0.1.load(Ordering::Acquire)
    }

    pub fn store(&self, live: Live) {
        let live = Arc::new(live);
        let mut g = match self.0.0.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = live;
        self.0.1.fetch_add(1, Ordering::AcqRel);
    }
}

/// The number of header fields hyper accepts in an HTTP/1 head when no limit is set.
const HYPER_MAX_HEADERS: usize = 100;

pub(crate) fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // No per-request timer: the connection's head watchdog (`crate::watchdog`) times heads and idle
        // keep-alive connections (hyper's own default of 30 s is switched off too).
        .header_read_timeout(None)
        // hyper refuses buffers under 8 KiB.
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    // hyper's default limit (100 fields) parses into fixed arrays; an explicit limit, even the same one, fills a
    // buffer of that many entries for every request head (≈1.7k instructions), so it is set only when it differs.
    if limits.max_headers != HYPER_MAX_HEADERS {
        builder.http1().max_headers(limits.max_headers);
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_h2_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// The accept loop of one listener.
pub(crate) struct Accept {
    pub listener: TcpListener,
    pub live: LiveCell,
}

impl Accept {
    /// Accepts until `stop` changes (or its sender is dropped), then closes the socket and drains.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let graceful = GracefulShutdown::new();
        let name = self.live.load().ctx.name.clone();
        // This worker's own copy of the listener context (own reference counts: requests on this worker never
        // write to memory another worker reads), renewed when the settings or the inspector change.
        let mut local: Option<(u64, Arc<ListenerCtx>)> = None;
        loop {
            // Accept, then wait for a slot of the connection budget: with several workers each has its own socket,
            // and a worker holding a slot while it waits on an idle socket would starve the connections queued on
            // the others. At most one accepted connection per worker waits for a slot.
            let (tcp, peer) = tokio::select! {
                r = self.listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(listener = %name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.changed() => break,
            };
            let (generation, live) = self.live.load_with_generation();
            let ctx = match &local {
                Some((g, ctx))
                    if *g == generation && ctx.snapshot.0 == ctx.inspector.generation() =>
                {
                    Arc::clone(ctx)
                }
                _ => {
                    let ctx = Arc::new(live.ctx.worker_copy());
                    local = Some((generation, Arc::clone(&ctx)));
                    ctx
                }
            };
            let permit = tokio::select! {
                p = Arc::clone(&live.connections).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            };
            let conn = Conn {
                live: Arc::clone(&live),
                cell: self.live.clone(),
                ctx,
                generation,
                watcher: graceful.watcher(),
            };
            tokio::spawn(async move {
                conn.serve(tcp, peer).await;
                drop(permit);
            });
        }
        drop(self.listener);
        let grace = self.live.load().grace;
        tracing::info!(listener = %name, in_flight = graceful.count(), "listener stopping; draining connections");
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(listener = %name, "grace period over; closing remaining connections");
        }
    }
}

/// The `reason` of `portcullis_waf_rejected_requests_total` for a connection hyper gave up on (head timeouts are
/// the watchdog's: hyper's own header timer is off).
fn hygiene_reason(e: &hyper::Error) -> Option<&'static str> {
    if e.is_parse_too_large() {
        Some("head_too_large")
    } else if e.is_parse() {
        Some("malformed_head")
    } else {
        None
    }
}

struct Conn {
    /// The settings when the connection was accepted (TLS, hyper, limits of the connection itself).
    live: Arc<Live>,
    /// The listener's cell: each request takes the routes current when it arrives.
    cell: LiveCell,
    /// The worker's copy of the listener context, current while the cell is at `generation`.
    ctx: Arc<ListenerCtx>,
    generation: u64,
    watcher: Watcher,
}

impl Conn {
    async fn serve(self, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(peer);
        let live = Arc::clone(&self.live);
        let limits = &live.ctx.shared.limits;
        match live.tls.clone() {
            None => {
                let (tap, checks) = Tap::new(limits.max_header_bytes, limits.max_headers);
                self.serve_io(TappedIo::new(tcp, tap), checks, true, peer, local)
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
                            crate::metrics::rejected(&live.ctx.name, "tls_handshake_timeout");
                            return;
                        }
                    };
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                let (tap, checks) = if h2 {
                    Tap::disabled()
                } else {
                    Tap::new(limits.max_header_bytes, limits.max_headers)
                };
                self.serve_io(TappedIo::new(stream, tap), checks, !h2, peer, local)
                    .await;
            }
        }
    }

    /// Serve one connection; `watch_heads` runs the head watchdog (HTTP/1: the tap follows the heads).
    async fn serve_io<I>(
        self,
        io: I,
        checks: HeadChecks,
        watch_heads: bool,
        peer: SocketAddr,
        local: SocketAddr,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let head_state = checks.clone();
        let info = Arc::new(ConnInfo {
            peer,
            local,
            checks,
            peer_text: crate::forwarded::peer_value(peer.ip()),
            per_ip: self.live.ctx.shared.per_ip.counter(peer.ip()),
        });
        let cell = self.cell.clone();
        let (local, generation) = (Arc::clone(&self.ctx), self.generation);
        let service = service_fn(move |req| {
            let ctx = if cell.generation() == generation {
                Arc::clone(&local)
            } else {
                // Reconfigured since the connection was accepted: the current settings.
                cell.load().ctx.clone()
            };
            handle(ctx, Arc::clone(&info), req)
        });
        let conn = self
            .live
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let watched = self.watcher.watch(conn);
        let result = if watch_heads {
            let timeout = self.live.ctx.shared.limits.header_read_timeout;
            tokio::select! {
                biased;
                r = watched => r,
                slow_head = crate::watchdog::overdue(&head_state, timeout) => {
                    // Dropping the connection closes it without an answer, as hyper's header timeout did.
                    tracing::debug!(%peer, slow_head, "request head timed out; closing the connection");
                    if slow_head {
                        crate::metrics::rejected(&self.live.ctx.name, "header_timeout");
                    }
                    return;
                }
            }
        } else {
            watched.await
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "client connection ended with an error");
            if let Some(reason) = e.downcast_ref::<hyper::Error>().and_then(hygiene_reason) {
                crate::metrics::rejected(&self.live.ctx.name, reason);
            }
        }
    }
}
