//! A small HTTPS client: one TLS connection per request (so every request sees the
//! server's current certificate and the test can pick HTTP/1.1 or HTTP/2), SigV4 signing
//! with `aws-sigv4`, and helpers for AWS Query and JSON calls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_common::Secret;
use rustls::pki_types::ServerName;

/// An access key (and, for temporary credentials, its session token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// Access key id.
    pub id: String,
    /// Secret access key.
    pub secret: String,
    /// Session token.
    pub token: Option<String>,
}

/// A reply and what the connection looked like.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
    /// The HTTP version the reply came over.
    pub version: Version,
    /// The server's leaf certificate (DER).
    pub peer_cert: Vec<u8>,
}

impl Resp {
    /// The text of the first `<tag>` element of an XML body.
    pub fn xml(&self, tag: &str) -> Option<String> {
        xml_text(&self.body, tag)
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The text of the first `<tag>` element in `xml`.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(xml[start..end].to_owned())
}

/// Who the client is at the TLS layer and what it trusts.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    /// The HTTP version to speak.
    pub version: Version,
}

/// Client TLS settings without session resumption, so that every connection makes a full
/// handshake (the server's current certificate, the client certificate checked afresh).
fn no_resumption(config: Arc<rustls::ClientConfig>) -> Arc<rustls::ClientConfig> {
    let mut config = (*config).clone();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

impl Client {
    /// A client that trusts `ca_pem` and presents no certificate; HTTP/2.
    pub fn new(addr: SocketAddr, ca_pem: &str) -> Self {
        let tls = portcullis_pki::client_tls_config(ca_pem, None).expect("client TLS config");
        Self {
            addr,
            tls: no_resumption(tls),
            version: Version::HTTP_2,
        }
    }

    /// The same client resuming TLS sessions (as browsers and SDKs do) across requests.
    pub fn with_resumption(mut self) -> Self {
        let mut config = (*self.tls).clone();
        config.resumption = rustls::client::Resumption::in_memory_sessions(32);
        self.tls = Arc::new(config);
        self
    }

    /// The connection's TLS stream, after the handshake.
    pub async fn connect(
        &self,
    ) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let mut config = (*self.tls).clone();
        config.alpn_protocols = vec![if self.version == Version::HTTP_2 {
            b"h2".to_vec()
        } else {
            b"http/1.1".to_vec()
        }];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        Ok(connector.connect(name, tcp).await?)
    }

    /// A client that presents a client certificate.
    pub fn with_cert(addr: SocketAddr, ca_pem: &str, cert_pem: &str, key_pem: &str) -> Self {
        let key = Secret::new(key_pem.to_owned());
        let tls = portcullis_pki::client_tls_config(ca_pem, Some((cert_pem, &key)))
            .expect("client TLS config with a certificate");
        Self {
            addr,
            tls: no_resumption(tls),
            version: Version::HTTP_2,
        }
    }

    /// The same client speaking HTTP/1.1.
    pub fn http1(mut self) -> Self {
        self.version = Version::HTTP_11;
        self
    }

    /// The `Host` / `:authority` value for this server.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// A request skeleton for `path` with the right URI form for the HTTP version.
    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        let b = Request::builder()
            .method(method)
            .uri(format!("https://{}{path}", self.authority()));
        if self.version == Version::HTTP_11 {
            b.header("host", self.authority())
        } else {
            b
        }
    }

    /// Sends one request over a new connection.
    pub async fn send(&self, req: Request<Bytes>) -> anyhow::Result<Resp> {
        let tls = self.connect().await?;
        let peer_cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default();
        let io = TokioIo::new(tls);
        let req = req.map(Full::new);
        // The connection is closed once the reply is read, so no idle connection is left to
        // hold up the server's graceful shutdown.
        let (resp, conn) = if self.version == Version::HTTP_2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            let conn = tokio::spawn(conn);
            (sender.send_request(req).await, conn)
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            let conn = tokio::spawn(conn);
            let (mut parts, body) = req.into_parts();
            // HTTP/1.1 requests carry the path; the host travels in the Host header.
            parts.uri = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .parse()?;
            (
                sender.send_request(Request::from_parts(parts, body)).await,
                conn,
            )
        };
        let (parts, body) = resp?.into_parts();
        let body = tokio::time::timeout(Duration::from_secs(10), body.collect()).await??;
        let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        Ok(Resp {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body.to_bytes()).into_owned(),
            version: parts.version,
            peer_cert,
        })
    }

    /// Sends a request that must get an HTTP reply.
    pub async fn must_send(&self, req: Request<Bytes>) -> Resp {
        self.send(req).await.expect("the request got a reply")
    }

    /// An AWS Query call (`Action=...`), signed for `service` with `creds`.
    pub async fn query(
        &self,
        service: &str,
        creds: &Creds,
        action: &str,
        params: &[(&str, &str)],
    ) -> Resp {
        let req = self.query_request(action, params);
        self.must_send(sign_at(req, creds, service, SystemTime::now()))
            .await
    }

    /// An unsigned AWS Query request.
    pub fn query_request(&self, action: &str, params: &[(&str, &str)]) -> Request<Bytes> {
        let version = if action == "GetCallerIdentity"
            || action == "AssumeRole"
            || action == "GetSessionToken"
        {
            "2011-06-15"
        } else {
            "2010-05-08"
        };
        let mut form = vec![("Action", action), ("Version", version)];
        form.extend_from_slice(params);
        let body = serde_urlencoded_pairs(&form);
        self.request(Method::POST, "/")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(Bytes::from(body))
            .expect("a valid request")
    }
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs a request (SigV4, `Authorization` header) for `service` in us-east-1 at `time`.
pub fn sign_at(
    mut req: Request<Bytes>,
    creds: &Creds,
    service: &str,
    time: SystemTime,
) -> Request<Bytes> {
    let identity: Identity = Credentials::new(
        &creds.id,
        &creds.secret,
        creds.token.clone(),
        None,
        "portcullis-e2e",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body()),
    )
    .expect("a signable request");
    let (instructions, _) = sign(signable, &params).expect("signing").into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req
}
