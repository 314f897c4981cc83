//! The HTTPS accept loop: TLS (rustls), HTTP/1.1 and HTTP/2, body caps, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::pipeline::Pipeline;

/// What the listener knows about a connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client's address.
    pub remote: SocketAddr,
    /// e.g. `TLSv1.3`.
    pub tls_version: String,
    /// e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The principal ARN of a verified client certificate, if the client sent one.
    pub client_principal: Option<String>,
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the pipeline on `listener` until `shutdown` resolves, then stops accepting and
/// gives in-flight requests up to `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    pipeline: Arc<Pipeline>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let pipeline = pipeline.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            let conn_info = {
                let (_, session) = tls.get_ref();
                ConnInfo {
                    remote,
                    tls_version: session
                        .protocol_version()
                        .map(|v| match v {
                            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
                            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
                            other => format!("{other:?}"),
                        })
                        .unwrap_or_default(),
                    cipher_suite: session
                        .negotiated_cipher_suite()
                        .map(|c| format!("{:?}", c.suite()))
                        .unwrap_or_default(),
                    client_principal: session
                        .peer_certificates()
                        .and_then(|certs| certs.first())
                        .and_then(|c| portcullis_pki::principal_from_client_cert(c.as_ref())),
                }
            };
            let conn_info = Arc::new(conn_info);
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let pipeline = pipeline.clone();
                let conn_info = conn_info.clone();
                async move { Ok::<_, Infallible>(handle(&pipeline, req, &conn_info).await) }
            });
            let conn = builder.serve_connection(TokioIo::new(tls), svc);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!("grace period over; closing remaining connections"),
    }
    Ok(())
}

/// How much of an over-limit body is read and thrown away after answering 413, so that
/// clients which send the whole body before reading the reply (most SDKs) see the 413
/// rather than a reset connection. Beyond this the connection is closed.
const DRAIN_CAP: usize = 16 << 20;
/// How long that draining may take.
const DRAIN_TIME: Duration = Duration::from_secs(5);

async fn handle(
    pipeline: &Pipeline,
    req: Request<Incoming>,
    conn: &ConnInfo,
) -> Response<Full<Bytes>> {
    let limit = pipeline.config().max_body_bytes;
    let (parts, mut body) = req.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        tokio::spawn(drain(body));
        return pipeline.too_large(&parts.headers);
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The client went away or sent a malformed body; nobody is left to answer.
            return pipeline.too_large(&parts.headers);
        };
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > limit {
                tokio::spawn(drain(body));
                return pipeline.too_large(&parts.headers);
            }
            buf.extend_from_slice(data);
        }
    }
    pipeline
        .handle(Request::from_parts(parts, buf.freeze()), conn)
        .await
}

/// Reads and discards the rest of a refused body while the 413 goes out, so a client that
/// sends everything before reading sees the answer instead of a reset.
async fn drain(mut body: Incoming) {
    let mut seen = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > DRAIN_CAP {
                break;
            }
        }
    })
    .await;
}
