//! Listeners: accept (bounded by the connection limit), TLS handshake, serve HTTP/1.1 ([`crate::h1`]) and HTTP/2
//! (hyper), and drain gracefully. Each listener reads its settings from a [`LiveCell`] that a reconfiguration swaps: a new
//! connection takes the TLS acceptor, hyper settings and connection limit current when it is accepted, and each
//! request takes the routes, pools and limits current when it arrives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::body::ClientBody;
use crate::config::Limits;
use crate::connpool::UpstreamFields;
use crate::h1::{BoxIo, Served};
use crate::handler::{ConnInfo, ListenerCtx, handle};
use crate::head::{Fields, Head};
use crate::sniff::{HeadChecks, Tap, TappedIo};

/// The settings one listener serves with; replaced as a whole by a reconfiguration.
pub(crate) struct Live {
    /// Routes, inspector cell and the proxy-wide state.
    pub ctx: Arc<ListenerCtx>,
    /// `None` serves plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// hyper's HTTP/2 connection settings (from the limits).
    pub h2: Arc<http2::Builder<TokioExecutor>>,
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

/// hyper's settings for HTTP/2 connections.
pub(crate) fn h2_builder(limits: &Limits) -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
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
        // Connections in progress, and the signal that asks them to finish.
        let tracker = TaskTracker::new();
        let draining = CancellationToken::new();
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
                draining: draining.clone(),
            };
            tracker.spawn(async move {
                conn.serve(tcp, peer).await;
                drop(permit);
            });
        }
        drop(self.listener);
        let grace = self.live.load().grace;
        tracker.close();
        tracing::info!(listener = %name, in_flight = tracker.len(), "listener stopping; draining connections");
        draining.cancel();
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::warn!(listener = %name, "grace period over; closing remaining connections");
        }
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
    /// Cancelled when the listener stops: finish the request in progress, take no more.
    draining: CancellationToken,
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
                self.serve_io(
                    Box::new(TappedIo::new(tcp, tap)),
                    checks,
                    false,
                    peer,
                    local,
                )
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
                self.serve_io(
                    Box::new(TappedIo::new(stream, tap)),
                    checks,
                    h2,
                    peer,
                    local,
                )
                .await;
            }
        }
    }

    /// Serve one connection: HTTP/1 (the tap follows its heads), or HTTP/2 when `h2` (negotiated by ALPN).
    async fn serve_io(
        self,
        io: BoxIo,
        checks: HeadChecks,
        h2: bool,
        peer: SocketAddr,
        local: SocketAddr,
    ) {
        let head_state = checks.clone();
        let info = Arc::new(ConnInfo {
            peer,
            local,
            checks,
            peer_text: crate::forwarded::peer_value(peer.ip()),
            per_ip: self.live.ctx.shared.per_ip.counter(peer.ip()),
        });
        if h2 {
            return self.serve_h2(io, info).await;
        }
        let limits = &self.live.ctx.shared.limits;
        let draining = AtomicBool::new(false);
        let served = {
            let h1 = crate::h1::serve(
                io,
                limits.max_header_bytes,
                limits.max_headers,
                &draining,
                |head, body| handle(self.current_ctx(), Arc::clone(&info), head, body),
            );
            let mut h1 = std::pin::pin!(h1);
            let timeout = limits.header_read_timeout;
            tokio::select! {
                biased;
                served = h1.as_mut() => served,
                slow_head = crate::watchdog::overdue(&head_state, timeout) => {
                    // Dropping the connection closes it without an answer.
                    tracing::debug!(%peer, slow_head, "request head timed out; closing the connection");
                    if slow_head {
                        crate::metrics::rejected(&self.live.ctx.name, "header_timeout");
                    }
                    return;
                }
                () = self.draining.cancelled() => {
                    if !head_state.serving() {
                        // Waiting for a head: closed now.
                        return;
                    }
                    draining.store(true, Ordering::Relaxed);
                    h1.await
                }
            }
        };
        match served {
            Served::Closed => {}
            Served::Refused(reason) => crate::metrics::rejected(&self.live.ctx.name, reason),
            Served::H2(rewound) => self.serve_h2(Box::new(rewound), info).await,
        }
    }

    /// The listener context for a request arriving now: the worker's copy unless reconfigured since the
    /// connection was accepted.
    fn current_ctx(&self) -> Arc<ListenerCtx> {
        if self.cell.generation() == self.generation {
            Arc::clone(&self.ctx)
        } else {
            self.cell.load().ctx.clone()
        }
    }

    /// Serve an HTTP/2 connection with hyper.
    async fn serve_h2(&self, io: BoxIo, info: Arc<ConnInfo>) {
        let (this, peer) = (self, info.peer);
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let (ctx, info) = (this.current_ctx(), Arc::clone(&info));
            let (parts, body) = req.into_parts();
            let head = Head {
                fields: Fields::from_map(&parts.headers),
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
            };
            async move {
                let mut resp = handle(ctx, info, head, ClientBody::h2(body)).await;
                // hyper writes only the header map: an upstream's fields go into it, first.
                if let Some(UpstreamFields(fields)) =
                    resp.extensions_mut().remove::<UpstreamFields>()
                {
                    let mut headers = fields.to_map();
                    for (name, value) in resp.headers() {
                        headers.append(name.clone(), value.clone());
                    }
                    *resp.headers_mut() = headers;
                }
                Ok::<_, Infallible>(resp)
            }
        });
        let mut conn = std::pin::pin!(self.live.h2.serve_connection(TokioIo::new(io), service));
        let result = tokio::select! {
            r = conn.as_mut() => r,
            () = self.draining.cancelled() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "client connection ended with an error");
        }
    }
}
