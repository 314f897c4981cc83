//! The API listener on worker runtimes: one single-threaded tokio runtime per worker thread,
//! each with its own `SO_REUSEPORT` socket on the listening address.
//!
//! A request is then accepted, decrypted, authenticated, answered and encrypted again on one
//! thread: no work stealing between cores and no cross-thread wake-ups on the request path
//! (the multi-threaded runtime spent a fifth of the server's CPU in the kernel switching
//! threads under KMS load). The kernel spreads new connections over the sockets. The shared
//! state behind the [`Pipeline`] is already `Arc`'d and thread-safe, so every worker serves the
//! same pipeline. Work that is not on the request path (the audit trail's writer, schedulers,
//! log sources) stays on the runtime that called [`ApiListener::bind`], so a busy worker never
//! starves it.
//!
//! With `workers = 0` the listener is one ordinary socket served on the caller's runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};

use crate::pipeline::Pipeline;

/// The listen backlog of each socket (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 1024;

/// Most worker runtimes accepted; more is a configuration mistake, not a speed-up.
pub const MAX_WORKERS: usize = 1024;

/// The bound API listener: its sockets, and the worker runtimes that will serve them.
pub struct ApiListener {
    addr: SocketAddr,
    kind: Kind,
}

enum Kind {
    /// One socket, served on the caller's runtime.
    Shared(TcpListener),
    /// One socket per worker, each registered with its worker's reactor.
    Workers(Vec<Worker>),
}

/// A worker thread: its runtime's handle, the socket bound on it, and the channel whose
/// closing lets the thread end.
struct Worker {
    handle: Handle,
    listener: TcpListener,
    /// Dropped when the worker's listener has finished; the thread then drops its runtime.
    done: oneshot::Sender<()>,
}

impl std::fmt::Debug for ApiListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiListener")
            .field("addr", &self.addr)
            .field("workers", &self.workers())
            .finish()
    }
}

impl ApiListener {
    /// Binds `addr`: on the caller's runtime for `workers == 0`, else once per worker thread
    /// (each started here) with `SO_REUSEPORT`. Port 0 gets one kernel-chosen port that every
    /// worker's socket shares. A port another process listens on is refused (`AddrInUse`),
    /// with or without its `SO_REUSEPORT`. `workers` above [`MAX_WORKERS`] is capped.
    pub async fn bind(addr: SocketAddr, workers: usize) -> std::io::Result<Self> {
        if workers == 0 {
            let listener = TcpListener::bind(addr).await?;
            return Ok(Self {
                addr: listener.local_addr()?,
                kind: Kind::Shared(listener),
            });
        }
        // A plain bind first: `SO_REUSEPORT` alone would let this server share the port with
        // another one (of the same user) that is already listening there, instead of failing.
        // It also picks the port for port 0. Closed at once: a listener that never accepted
        // leaves nothing behind that holds the port.
        let target = std::net::TcpListener::bind(addr)?.local_addr()?;
        let n = workers.min(MAX_WORKERS);
        let mut started = Vec::with_capacity(n);
        for index in 0..n {
            let (handle, done) = start_thread(index)?;
            // Registering a socket ties it to the reactor of the runtime that does it.
            let listener = handle
                .spawn(async move { bind_reuseport(target) })
                .await
                .map_err(std::io::Error::other)??;
            started.push(Worker {
                handle,
                listener,
                done,
            });
        }
        Ok(Self {
            addr: target,
            kind: Kind::Workers(started),
        })
    }

    /// The address bound (with the port the kernel chose, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many worker runtimes serve the listener (0: the caller's runtime).
    pub fn workers(&self) -> usize {
        match &self.kind {
            Kind::Shared(_) => 0,
            Kind::Workers(w) => w.len(),
        }
    }

    /// Serves the pipeline until `shutdown` resolves; then every socket stops accepting and
    /// in-flight requests get up to `grace` to finish, as [`crate::serve`] does. Returns once
    /// every worker has finished.
    pub async fn serve(
        self,
        tls: Arc<rustls::ServerConfig>,
        pipeline: Arc<Pipeline>,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> std::io::Result<()> {
        let workers = match self.kind {
            Kind::Shared(listener) => {
                return crate::serve(listener, tls, pipeline, shutdown, grace).await;
            }
            Kind::Workers(w) => w,
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut running = Vec::with_capacity(workers.len());
        for w in workers {
            let (tls, pipeline, mut stop) = (tls.clone(), pipeline.clone(), stop_rx.clone());
            let done = w.done;
            running.push(w.handle.spawn(async move {
                let stopped = async move {
                    // An error means the sender is gone: stop as well.
                    let _ = stop.wait_for(|s| *s).await;
                };
                let r = crate::serve(w.listener, tls, pipeline, stopped, grace).await;
                drop(done);
                r
            }));
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        let mut result = Ok(());
        for task in running {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(e) => result = Err(std::io::Error::other(e)),
            }
        }
        result
    }
}

/// Starts worker thread `index` with a current-thread runtime; it runs until the returned
/// sender is dropped, then drops the runtime (cancelling whatever still runs on it).
fn start_thread(index: usize) -> std::io::Result<(Handle, oneshot::Sender<()>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let (done, finished) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(format!("api-worker-{index}"))
        .spawn(move || {
            // Nothing is ever sent: the receiver answers an error once the sender is dropped.
            let _ = rt.block_on(finished);
            drop(rt);
        })?;
    Ok((handle, done))
}

/// A listening socket on `addr` with `SO_REUSEADDR` and `SO_REUSEPORT`, registered with the
/// current runtime.
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
    async fn workers_share_one_port() {
        let l = ApiListener::bind("127.0.0.1:0".parse().unwrap(), 3)
            .await
            .unwrap();
        assert_eq!(l.workers(), 3);
        assert_ne!(l.local_addr().port(), 0);
        let Kind::Workers(w) = &l.kind else {
            panic!("expected worker sockets")
        };
        for worker in w {
            assert_eq!(worker.listener.local_addr().unwrap(), l.local_addr());
        }
    }

    #[tokio::test]
    async fn zero_workers_is_one_shared_socket() {
        let l = ApiListener::bind("127.0.0.1:0".parse().unwrap(), 0)
            .await
            .unwrap();
        assert_eq!(l.workers(), 0);
        assert_ne!(l.local_addr().port(), 0);
    }

    /// Knows no keys: only `/health` (which needs none) is asked for here.
    struct NoKeys;

    #[async_trait::async_trait]
    impl crate::Authenticator for NoKeys {
        async fn credentials(
            &self,
            _access_key_id: &str,
        ) -> Result<Option<crate::Credentials>, crate::AwsError> {
            Ok(None)
        }
        async fn caller_for_principal(
            &self,
            _arn: &str,
        ) -> Result<Option<crate::Caller>, crate::AwsError> {
            Ok(None)
        }
    }

    /// `GET /health` over TLS on a fresh connection; its status.
    async fn get_health(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> http::StatusCode {
        use http_body_util::{BodyExt, Empty};
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::get("/health")
            .header("host", "localhost")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("\"ok\""));
        status
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_answer_over_tls_and_stop_on_shutdown() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let pki = portcullis_pki::Pki::open_or_init(dir.path(), &["localhost".to_owned()]).unwrap();
        let server_tls = pki.server_tls_config().unwrap();
        let client_tls = portcullis_pki::client_tls_config(pki.ca_cert_pem(), None).unwrap();
        let pipeline = Arc::new(Pipeline::new(
            crate::Registry::new(),
            Arc::new(NoKeys),
            Arc::new(portcullis_common::audit::NullAuditSink),
            Arc::new(portcullis_common::SystemClock),
            crate::PipelineConfig {
                region: "us-east-1".into(),
                max_body_bytes: 1 << 20,
                max_skew: Duration::from_secs(900),
            },
            Arc::new(|| serde_json::json!({"status": "ok"})),
        ));
        let listener = ApiListener::bind("127.0.0.1:0".parse().unwrap(), 2)
            .await
            .unwrap();
        let addr = listener.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(listener.serve(
            server_tls,
            pipeline,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));
        // Enough connections that the kernel hands some to each worker's socket.
        for _ in 0..8 {
            assert_eq!(
                get_health(addr, client_tls.clone()).await,
                http::StatusCode::OK
            );
        }
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("the workers stop within the grace period")
            .unwrap()
            .unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn a_port_taken_without_reuseport_is_refused() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let r = ApiListener::bind(taken.local_addr().unwrap(), 2).await;
        assert!(r.is_err());
    }

    #[tokio::test]
    async fn a_second_server_with_workers_cannot_share_the_port() {
        let first = ApiListener::bind("127.0.0.1:0".parse().unwrap(), 2)
            .await
            .unwrap();
        let second = ApiListener::bind(first.local_addr(), 2).await;
        assert_eq!(second.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    }
}
