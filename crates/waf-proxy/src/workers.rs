//! Worker runtimes: one single-threaded tokio runtime per worker thread, as nginx runs one event loop per worker
//! process.
//!
//! With [`crate::ProxyConfig::workers`] at `N >= 1` the proxy starts `N` threads, each driving its own
//! current-thread runtime. Every listener binds one socket *per worker* on the same address with `SO_REUSEPORT`,
//! so the kernel spreads new connections over the workers; a connection is then accepted, served, inspected and
//! forwarded on that worker's thread only, over that worker's own upstream connections
//! (idle upstream connections are kept per thread, see `connpool`). Nothing is handed between threads on the
//! request path: no work stealing, no cross-thread wake-ups. With `workers = 0` everything runs on the runtime
//! that called [`crate::start`] (tokio's scheduler decides the threads), with one socket per listener.
//!
//! The threads live as long as the [`crate::ProxyHandle`] and the listener tasks: dropping the handle tells the
//! listeners to stop; each drains (bounded by the shutdown grace) and the threads end after the last one, cancelling
//! whatever still runs on them.

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::ProxyError;

thread_local! {
    /// The index of the worker whose thread this is; `None` on any other thread.
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the worker runtime the calling thread drives, if any.
#[cfg(test)]
pub(crate) fn current() -> Option<usize> {
    WORKER.with(Cell::get)
}

/// The listen backlog of each socket (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 1024;

/// Where the proxy's tasks run: the caller's runtime, or `N` worker runtimes of its own.
pub(crate) struct Workers {
    /// The worker runtimes; empty when the proxy runs on the caller's runtime.
    runtimes: Vec<Worker>,
}

struct Worker {
    handle: Handle,
    /// The thread ends (dropping its runtime, which cancels what still runs there) once this sender and every
    /// clone held by a task spawned through [`Workers::spawn`] are gone: dropping the handle lets the listeners
    /// drain before the thread goes.
    alive: mpsc::Sender<()>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("runtimes", &self.runtimes.len())
            .finish()
    }
}

impl Workers {
    /// Start `n` worker threads (none for `n == 0`).
    pub fn start(n: usize) -> Result<Self, ProxyError> {
        let mut runtimes = Vec::with_capacity(n);
        for index in 0..n {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ProxyError::Runtime)?;
            let handle = rt.handle().clone();
            let (alive, mut watch_alive) = mpsc::channel::<()>(1);
            std::thread::Builder::new()
                .name(format!("waf-worker-{index}"))
                .spawn(move || {
                    WORKER.with(|w| w.set(Some(index)));
                    // Nothing is ever sent: `recv` answers `None` when the last sender is gone.
                    rt.block_on(async { while watch_alive.recv().await.is_some() {} });
                    // Dropping the runtime cancels the tasks still running on it.
                    drop(rt);
                })
                .map_err(ProxyError::Runtime)?;
            runtimes.push(Worker { handle, alive });
        }
        Ok(Self { runtimes })
    }

    /// How many worker runtimes there are (0: the caller's runtime is used).
    pub fn count(&self) -> usize {
        self.runtimes.len()
    }

    /// Spawn `future` on worker `slot` (on the caller's runtime when there are no workers).
    pub fn spawn<F>(&self, slot: usize, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.runtimes.get(slot) {
            Some(w) => {
                let alive = w.alive.clone();
                w.handle.spawn(async move {
                    let out = future.await;
                    drop(alive);
                    out
                })
            }
            None => tokio::spawn(future),
        }
    }

    /// Bind `addr` once per slot, each socket registered with its worker's runtime. With workers the sockets share
    /// the address through `SO_REUSEPORT` (port 0: the port the first socket got is reused for the others);
    /// `exclusive` first refuses a port some other socket listens on ([`ensure_free`]), which the proxy turns off
    /// only while one of its own listeners holds the port.
    pub async fn bind(
        &self,
        addr: SocketAddr,
        exclusive: bool,
    ) -> Result<(Vec<TcpListener>, SocketAddr), ProxyError> {
        let err = |source| ProxyError::Bind { addr, source };
        if self.runtimes.is_empty() {
            // A plain socket: a port in use is refused by the bind itself.
            let listener = TcpListener::bind(addr).await.map_err(err)?;
            let bound = listener.local_addr().map_err(err)?;
            return Ok((vec![listener], bound));
        }
        if exclusive {
            ensure_free(addr).map_err(err)?;
        }
        let mut listeners = Vec::with_capacity(self.runtimes.len());
        let mut target = addr;
        for slot in 0..self.runtimes.len() {
            // Registering a socket ties it to the reactor of the runtime that does it: do it on the worker.
            let listener = self
                .spawn(slot, async move { bind_reuseport(target) })
                .await
                .map_err(|e| err(std::io::Error::other(e)))?
                .map_err(err)?;
            if slot == 0 {
                target = listener.local_addr().map_err(err)?;
            }
            listeners.push(listener);
        }
        Ok((listeners, target))
    }
}

/// Fails with `AddrInUse` when a socket already listens on `addr` (or on an address overlapping it), even one with
/// `SO_REUSEPORT`: the workers' reuse-port sockets would otherwise join that socket's group, and a second
/// Portcullis started with the same configuration (or an old one still running) would silently take a share of the
/// connections, answering them with its own rules. Probed with a socket of `SO_REUSEADDR` alone (a closed
/// connection in `TIME_WAIT` does not count), closed again before the workers bind. An ephemeral port (0) is always
/// free.
fn ensure_free(addr: SocketAddr) -> std::io::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    let probe = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    probe.set_reuseaddr(true)?;
    probe.bind(addr)
}

/// A listening socket on `addr` with `SO_REUSEADDR` and `SO_REUSEPORT`, registered with the current runtime.
fn bind_reuseport(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn workers_share_one_port_and_know_their_index() {
        let workers = Workers::start(2).unwrap();
        assert_eq!(workers.count(), 2);
        let (listeners, addr) = workers
            .bind("127.0.0.1:0".parse().unwrap(), true)
            .await
            .unwrap();
        assert_eq!(listeners.len(), 2);
        assert_ne!(addr.port(), 0);
        for l in &listeners {
            assert_eq!(l.local_addr().unwrap(), addr);
        }
        for slot in 0..2 {
            assert_eq!(
                workers.spawn(slot, async { current() }).await.unwrap(),
                Some(slot)
            );
        }
        assert_eq!(current(), None);
    }

    #[tokio::test]
    async fn no_workers_binds_once_on_the_caller() {
        let workers = Workers::start(0).unwrap();
        assert_eq!(workers.count(), 0);
        let (listeners, addr) = workers
            .bind("127.0.0.1:0".parse().unwrap(), true)
            .await
            .unwrap();
        assert_eq!(listeners.len(), 1);
        assert_ne!(addr.port(), 0);
        assert_eq!(workers.spawn(0, async { current() }).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_port_taken_without_reuseport_is_refused() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let workers = Workers::start(2).unwrap();
        let r = workers.bind(taken.local_addr().unwrap(), true).await;
        assert!(matches!(r, Err(ProxyError::Bind { .. })));
    }

    #[tokio::test]
    async fn a_port_another_reuse_port_socket_listens_on_is_refused_unless_shared_on_purpose() {
        // What another Portcullis process with the same configuration holds: a reuse-port socket, listening.
        let other = bind_reuseport("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = other.local_addr().unwrap();
        for n in [2, 0] {
            let workers = Workers::start(n).unwrap();
            match workers.bind(addr, true).await {
                Err(ProxyError::Bind { source, .. }) => {
                    assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse, "{n} workers")
                }
                other => panic!("{n} workers: bound a port in use: {other:?}"),
            }
        }
        // Once that socket is gone the port is free again.
        let port = addr.port();
        drop(other);
        let workers = Workers::start(2).unwrap();
        let (listeners, bound) = workers.bind(addr, true).await.unwrap();
        assert_eq!((listeners.len(), bound.port()), (2, port));
        // The proxy's own listener moving to another name or address on the same port joins its group on purpose
        // (its connections drain while the new sockets accept).
        let (more, again) = workers.bind(addr, false).await.unwrap();
        assert_eq!((more.len(), again), (2, bound));
    }
}
