//! The webhook export: each batch is one HTTP/1.1 POST of JSON lines
//! (`application/x-ndjson`) over plain HTTP or HTTPS (rustls); any 2xx reply is a delivery,
//! anything else (or a timeout) is retried by the export worker.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Uri};
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::Sink;
use crate::error::{IngestError, Result};

/// The CA bundle used for https when the export names none.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Limit on connecting (TCP and TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit on one POST and its reply.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// POSTs batches to a URL.
pub struct WebhookSink {
    url: String,
    uri: Uri,
    host: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    headers: Vec<(HeaderName, HeaderValue)>,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn bad(url: &str, reason: impl std::fmt::Display) -> IngestError {
    IngestError::Export {
        target: url.to_owned(),
        reason: reason.to_string(),
    }
}

fn tls_connector(url: &str, ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector> {
    let path = ca_file.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
    let pem = std::fs::read(path).map_err(|e| bad(url, format!("{}: {e}", path.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| bad(url, format!("{}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| bad(url, format!("{}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(bad(url, format!("{} holds no certificate", path.display())));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(url, e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

impl WebhookSink {
    /// An export to `url` (`http://` or `https://`), trusting the CAs in `ca_file` (default
    /// [`SYSTEM_CA_BUNDLE`]) for https, sending `headers` with every request.
    pub fn new(url: &str, ca_file: Option<&Path>, headers: &[(String, String)]) -> Result<Self> {
        let uri: Uri = url.parse().map_err(|e| bad(url, e))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad(url, "the scheme must be http or https")),
        };
        let host = uri
            .host()
            .ok_or_else(|| bad(url, "no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            Some(tls_connector(url, ca_file)?)
        } else {
            None
        };
        let headers = headers
            .iter()
            .map(|(k, v)| {
                Ok((
                    HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(url, e))?,
                    HeaderValue::from_str(v).map_err(|e| bad(url, e))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(WebhookSink {
            url: url.to_owned(),
            uri,
            host,
            port,
            tls,
            headers,
            conn: None,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| bad(&self.url, "connect timed out"))?
        .map_err(|e| bad(&self.url, e))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => self.handshake(TokioIo::new(tcp)).await,
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| bad(&self.url, e))?;
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(name, tcp))
                    .await
                    .map_err(|_| bad(&self.url, "TLS handshake timed out"))?
                    .map_err(|e| bad(&self.url, e))?;
                self.handshake(TokioIo::new(stream)).await
            }
        }
    }

    async fn handshake<T>(&self, io: TokioIo<T>) -> Result<SendRequest<Full<Bytes>>>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| bad(&self.url, e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(send)
    }

    async fn post(&mut self, body: Bytes) -> Result<()> {
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => self.connect().await?,
        };
        conn.ready().await.map_err(|e| bad(&self.url, e))?;
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let authority = self
            .uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_else(|| self.host.clone());
        let mut req = Request::post(path)
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/x-ndjson")
            .header(http::header::USER_AGENT, "portcullis-guard");
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(body)).map_err(|e| bad(&self.url, e))?;
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, conn.send_request(req))
            .await
            .map_err(|_| bad(&self.url, "no reply in time"))?
            .map_err(|e| bad(&self.url, e))?;
        let status = resp.status();
        // Drain the reply so the connection can be reused.
        let _ = tokio::time::timeout(
            REQUEST_TIMEOUT,
            http_body_util::BodyExt::collect(resp.into_body()),
        )
        .await;
        if !status.is_success() {
            return Err(bad(&self.url, format!("replied {status}")));
        }
        self.conn = Some(conn);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Sink for WebhookSink {
    async fn send(&mut self, lines: &[Arc<str>]) -> Result<()> {
        let mut body = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            body.extend_from_slice(l.as_bytes());
            body.push(b'\n');
        }
        self.post(Bytes::from(body)).await
    }

    fn target(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A one-route HTTP server that fails the first `fail` requests with 503 and records the
    /// bodies of the rest.
    async fn server(fail: usize) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let g = got.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (g, seen) = (g.clone(), seen.clone());
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (g, seen) = (g.clone(), seen.clone());
                            async move {
                                let auth = req
                                    .headers()
                                    .get("authorization")
                                    .map(|v| v.to_str().unwrap().to_owned());
                                let body = http_body_util::BodyExt::collect(req.into_body())
                                    .await
                                    .unwrap()
                                    .to_bytes();
                                let n = seen.fetch_add(1, Ordering::SeqCst);
                                let status = if n < fail { 503 } else { 200 };
                                if n >= fail {
                                    assert_eq!(auth.as_deref(), Some("Bearer t"));
                                    g.lock()
                                        .unwrap()
                                        .push(String::from_utf8(body.to_vec()).unwrap());
                                }
                                Ok::<_, std::convert::Infallible>(
                                    hyper::Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::new()))
                                        .unwrap(),
                                )
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        (format!("http://{addr}/hook?x=1"), got)
    }

    #[tokio::test]
    async fn posts_json_lines_and_retries_through_the_export_worker() {
        let (url, got) = server(2).await;
        let sink =
            WebhookSink::new(&url, None, &[("Authorization".into(), "Bearer t".into())]).unwrap();
        let ex = crate::export::Exports::start(vec![(Box::new(sink) as Box<dyn Sink>, 100, false)]);
        ex.publish(&[portcullis_guard_api::Stored {
            doc: serde_json::json!({"id": "f1"}),
            created: true,
            archived: false,
        }]);
        ex.shutdown(Duration::from_secs(10)).await;
        let got = got.lock().unwrap().clone();
        assert_eq!(got, ["{\"id\":\"f1\"}\n"]);
        assert_eq!(ex.queues()[0].failures.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn posts_over_https_to_a_server_the_ca_file_vouches_for() {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ck.cert.pem()).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = got.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let Ok(tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let g = g.clone();
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let g = g.clone();
                            async move {
                                let body = http_body_util::BodyExt::collect(req.into_body())
                                    .await
                                    .unwrap()
                                    .to_bytes();
                                g.lock().unwrap().push(body);
                                Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                    Bytes::new(),
                                )))
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        let url = format!("https://localhost:{port}/in");
        let mut sink = WebhookSink::new(&url, Some(&ca), &[]).unwrap();
        sink.send(&[Arc::from("{\"id\":\"a\"}")]).await.unwrap();
        sink.send(&[Arc::from("{\"id\":\"b\"}")]).await.unwrap();
        assert_eq!(got.lock().unwrap().len(), 2);
        // A CA that did not issue the server's certificate is refused.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let wrong = dir.path().join("wrong.pem");
        std::fs::write(&wrong, other.cert.pem()).unwrap();
        let mut sink = WebhookSink::new(&url, Some(&wrong), &[]).unwrap();
        assert!(sink.send(&[Arc::from("{}")]).await.is_err());
        assert_eq!(got.lock().unwrap().len(), 2);
    }

    #[test]
    fn refuses_bad_urls_and_missing_ca_files() {
        assert!(WebhookSink::new("ftp://x/", None, &[]).is_err());
        assert!(WebhookSink::new("https://x/", Some(Path::new("/nonexistent.pem")), &[]).is_err());
        assert!(WebhookSink::new("http://x/", None, &[("bad header".into(), "v".into())]).is_err());
    }
}
