//! Keep-alive HTTP/1.1 connections to the upstream servers, kept per thread.
//!
//! Every thread that forwards requests (a worker runtime's thread, or a thread of the shared runtime when
//! [`crate::ProxyConfig::workers`] is 0) keeps its own idle connections per pool and server in a thread-local list:
//! taking a connection and giving it back touch no lock, no reference count shared with another thread and no
//! other thread's memory, and spawn no task. A connection's driver (hyper's client `Connection`) runs as a task on
//! the runtime of the request that opened it, so on a worker it never leaves the worker's thread.
//!
//! - **Reuse**: the most recently used idle connection first (LIFO: the warmest one; the others age out).
//! - **Idle limits**: at most [`crate::PoolConfig::max_idle_per_upstream`] idle connections per server and thread
//!   (0: no reuse); none idle for longer than [`IDLE_TIMEOUT`] is reused (stale ones are dropped whenever the list
//!   is touched; an upstream closing an idle connection ends its driver at once).
//! - **Return**: a connection goes back only when its response body was read to the end and hyper reports it
//!   ready for the next request (if hyper's driver has not caught up yet, a small task waits for it); a connection
//!   that failed, was closed, or whose response was abandoned is dropped, which closes it.
//! - **Requests that never reached the wire** (a reused connection the upstream closed meanwhile) go to the next
//!   idle connection or a new one, whatever the method, as hyper's legacy client does. A connection that cannot
//!   be made hands the request back unsent ([`SendError::Connect`]) so that the caller may try another server.
//! - **Timeouts**: the connect timeout here; the read timeout is the caller's.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::ForwardBody;

/// How long an idle upstream connection may wait for its next request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

type Sender = SendRequest<ForwardBody>;

/// An idle connection and when it went idle.
struct Idle {
    sender: Sender,
    since: Instant,
}

/// One pool's idle connections on one thread, per server.
struct Local {
    id: u64,
    alive: Weak<()>,
    servers: Vec<Vec<Idle>>,
}

thread_local! {
    static IDLE: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's idle lists of pool `id`, created when missing if `alive` (the pool's liveness) is
/// given. `None` when there are none, the pool is gone or the thread's storage is unavailable (thread teardown).
fn with_local<R>(
    id: u64,
    alive: Option<&Weak<()>>,
    f: impl FnOnce(&mut Vec<Vec<Idle>>) -> R,
) -> Option<R> {
    IDLE.try_with(|cell| {
        let mut locals = cell.try_borrow_mut().ok()?;
        // Pools that were dropped (reconfiguration) leave with their connections.
        locals.retain(|l| l.alive.strong_count() > 0);
        let pos = match locals.iter().position(|l| l.id == id) {
            Some(pos) => pos,
            None => {
                let alive = alive.filter(|a| a.strong_count() > 0)?;
                locals.push(Local {
                    id,
                    alive: alive.clone(),
                    servers: Vec::new(),
                });
                locals.len() - 1
            }
        };
        locals.get_mut(pos).map(|l| f(&mut l.servers))
    })
    .ok()
    .flatten()
}

/// Why a request could not be forwarded.
pub enum SendError {
    /// No connection could be made (refused, unreachable, connect timeout): the request was not sent and is
    /// handed back.
    Connect(Box<Request<ForwardBody>>, std::io::Error),
    /// The request failed on its connection (while or after being sent).
    Failed(hyper::Error),
}

/// The upstream connections of one pool (see the module doc).
#[derive(Debug)]
pub struct Conns {
    id: u64,
    /// Dropped with the pool: the thread-local lists of a dropped pool are then cleared.
    _alive: Arc<()>,
    /// `alive`, downgraded once (the thread-local lists hold clones).
    weak: Weak<()>,
    max_idle: usize,
    connect_timeout: Duration,
}

impl Conns {
    /// Connections of a pool keeping up to `max_idle` idle ones per server and thread.
    pub fn new(max_idle: usize, connect_timeout: Duration) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let alive = Arc::new(());
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            weak: Arc::downgrade(&alive),
            _alive: alive,
            max_idle,
            connect_timeout,
        }
    }

    /// Send `req` to server `server` (at `addr`) over an idle connection of this thread, or a new one. On success
    /// the [`Lease`] must be released once the response body has been read to the end.
    pub async fn send(
        &self,
        server: usize,
        addr: SocketAddr,
        mut req: Request<ForwardBody>,
    ) -> Result<(Response<Incoming>, Lease), SendError> {
        while let Some(mut sender) = self.checkout(server) {
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok((resp, self.lease(server, sender))),
                Err(mut e) => match e.take_message() {
                    // Never written: the connection had closed. Try the next one.
                    Some(unsent) => req = unsent,
                    None => return Err(SendError::Failed(e.into_error())),
                },
            }
        }
        let mut sender = match self.connect(addr).await {
            Ok(s) => s,
            Err(e) => return Err(SendError::Connect(Box::new(req), e)),
        };
        match sender.try_send_request(req).await {
            Ok(resp) => Ok((resp, self.lease(server, sender))),
            Err(e) => Err(SendError::Failed(e.into_error())),
        }
    }

    fn lease(&self, server: usize, sender: Sender) -> Lease {
        Lease {
            sender,
            id: self.id,
            server,
            max_idle: self.max_idle,
        }
    }

    /// The newest ready idle connection to `server` on this thread, dropping stale and closed ones.
    fn checkout(&self, server: usize) -> Option<Sender> {
        if self.max_idle == 0 {
            return None;
        }
        // The lists are made here (a lease returns to them): a connection released on a thread that never took
        // one for this pool (a readiness wait that ran elsewhere) is closed.
        with_local(self.id, Some(&self.weak), |servers| {
            let list = servers.get_mut(server)?;
            prune(list, Instant::now());
            while let Some(idle) = list.pop() {
                if idle.sender.is_ready() {
                    return Some(idle.sender);
                }
            }
            None
        })
        .flatten()
    }

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Sender> {
        let tcp = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
            Ok(tcp) => tcp?,
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ));
            }
        };
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(upstream = %addr, error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// Drops the idle connections at the front of `list` (the oldest) that waited longer than [`IDLE_TIMEOUT`].
fn prune(list: &mut Vec<Idle>, now: Instant) {
    let stale = stale_prefix(list.iter().map(|i| i.since), now);
    if stale > 0 {
        list.drain(..stale);
    }
}

/// How many of `since` (oldest first) are older than [`IDLE_TIMEOUT`] at `now`.
fn stale_prefix(since: impl Iterator<Item = Instant>, now: Instant) -> usize {
    since
        .take_while(|&t| now.saturating_duration_since(t) >= IDLE_TIMEOUT)
        .count()
}

/// A connection lent to one request. [`Lease::release`] gives it back for reuse; dropping it closes it.
pub struct Lease {
    sender: Sender,
    id: u64,
    server: usize,
    max_idle: usize,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// Give the connection back: its response was read to the end. It joins this thread's idle list when hyper
    /// reports it ready (at once, or from a small task when hyper's driver has not caught up yet).
    pub fn release(mut self) {
        if self.max_idle == 0 || self.sender.is_closed() {
            return;
        }
        if self.sender.is_ready() {
            self.check_in();
        } else if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if self.sender.ready().await.is_ok() {
                    self.check_in();
                }
            });
        }
    }

    fn check_in(self) {
        let Self {
            sender,
            id,
            server,
            max_idle,
        } = self;
        with_local(id, None, |servers| {
            if servers.len() <= server {
                servers.resize_with(server + 1, Vec::new);
            }
            if let Some(list) = servers.get_mut(server) {
                let now = Instant::now();
                prune(list, now);
                if list.len() >= max_idle && !list.is_empty() {
                    list.remove(0);
                }
                list.push(Idle { sender, since: now });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tokio::net::TcpListener;

    use crate::body::Prefix;

    /// An upstream answering `ok` on keep-alive connections, counting the connections it accepted.
    async fn upstream() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        (addr, accepted)
    }

    fn request() -> Request<ForwardBody> {
        let prefix = Prefix {
            chunks: Default::default(),
            len: 0,
            trailers: None,
            rest: None,
        };
        let mut req = Request::new(ForwardBody::new(prefix, 1024).0);
        req.headers_mut()
            .insert(http::header::HOST, "up".parse().unwrap());
        req
    }

    async fn round_trip(conns: &Conns, addr: SocketAddr) {
        let (resp, lease) = conns.send(0, addr, request()).await.ok().unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "ok");
        lease.release();
        // Let a pending readiness wait, if any, finish.
        tokio::task::yield_now().await;
    }

    #[tokio::test]
    async fn released_connections_are_reused() {
        let (addr, accepted) = upstream().await;
        let conns = Conns::new(4, Duration::from_secs(1));
        for _ in 0..5 {
            round_trip(&conns, addr).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn abandoned_or_unpooled_connections_are_not_reused() {
        let (addr, accepted) = upstream().await;
        let conns = Conns::new(4, Duration::from_secs(1));
        // A lease dropped without release closes its connection.
        let (_resp, lease) = conns.send(0, addr, request()).await.ok().unwrap();
        drop(lease);
        round_trip(&conns, addr).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // No idle connections at all.
        let none = Conns::new(0, Duration::from_secs(1));
        round_trip(&none, addr).await;
        round_trip(&none, addr).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_connection_closed_by_the_upstream_is_replaced() {
        // An upstream that closes every connection after one response.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        let conns = Conns::new(4, Duration::from_secs(1));
        for _ in 0..3 {
            round_trip(&conns, addr).await;
        }
    }

    #[tokio::test]
    async fn refused_connections_hand_the_request_back() {
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let conns = Conns::new(4, Duration::from_secs(1));
        match conns.send(0, dead, request()).await {
            Err(SendError::Connect(req, _)) => {
                assert_eq!(req.headers()[http::header::HOST], "up")
            }
            _ => panic!("expected a connect error"),
        }
    }

    #[test]
    fn stale_idle_entries_are_counted_from_the_front() {
        let now = Instant::now() + IDLE_TIMEOUT * 3;
        let since = |age: Duration| now - age;
        let list = [
            IDLE_TIMEOUT * 2,
            IDLE_TIMEOUT,
            Duration::from_secs(1),
            IDLE_TIMEOUT * 2,
        ];
        assert_eq!(stale_prefix(list.into_iter().map(since), now), 2);
        assert_eq!(stale_prefix(std::iter::empty(), now), 0);
    }
}
