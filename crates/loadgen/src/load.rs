//! The client side: C keep-alive HTTP/1.1 connections over TLS, each sending one request at a
//! time for a fixed warm-up plus measurement window.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::server::{ADMIN_KEY_ID, ADMIN_SECRET};

/// The STS Query body of `aws sts get-caller-identity`.
const GET_CALLER_IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// At most this many error lines are printed per target; the rest are only counted.
const MAX_PRINTED_ERRORS: usize = 5;
/// Connection attempts per worker before it gives up (each failure is an error).
const MAX_CONNECTS: usize = 20;

/// What is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `GET /health`: the same listener and TLS, no authentication, no store, no audit.
    Bare,
    /// STS `GetCallerIdentity`, SigV4-signed per request: authentication, IAM, audit.
    GetCallerIdentity,
}

impl Target {
    /// The name used in the table and the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare (GET /health)",
            Self::GetCallerIdentity => "GetCallerIdentity",
        }
    }
}

/// One load phase's settings.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the server listens, `host:port`.
    pub authority: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests before this long after the start are not counted.
    pub warmup: Duration,
    /// How long requests are counted.
    pub measure: Duration,
}

/// The outcome of one target.
#[derive(Debug, Default)]
pub struct Outcome {
    /// HTTP 200 replies within the measurement window.
    pub ok: u64,
    /// Non-200 replies and transport errors within the warm-up or the measurement window.
    pub errors: u64,
    /// Latency of each counted success, in microseconds.
    pub latencies_us: Vec<u32>,
    /// The first few errors, for the operator.
    pub error_samples: Vec<String>,
}

/// A TLS client configuration that trusts only the server's CA and speaks HTTP/1.1.
pub fn tls_connector(ca_pem: &Path) -> Result<TlsConnector> {
    let pem = std::fs::read(ca_pem).with_context(|| format!("reading {}", ca_pem.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.context("parsing ca.pem")?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Runs `target` on `plan.connections` connections and gathers the results.
pub async fn run(target: Target, plan: &Plan, tls: &TlsConnector) -> Result<Outcome> {
    let start = Instant::now();
    let counted_from = start + plan.warmup;
    let deadline = counted_from + plan.measure;
    let mut tasks = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let (authority, tls) = (plan.authority.clone(), tls.clone());
        tasks.push(tokio::spawn(async move {
            worker(target, &authority, &tls, counted_from, deadline).await
        }));
    }
    let mut total = Outcome::default();
    for t in tasks {
        let o = t.await.context("a load worker panicked")?;
        total.ok += o.ok;
        total.errors += o.errors;
        total.latencies_us.extend(o.latencies_us);
        for e in o.error_samples {
            if total.error_samples.len() < MAX_PRINTED_ERRORS {
                total.error_samples.push(e);
            }
        }
    }
    Ok(total)
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(authority: &str, tls: &TlsConnector) -> Result<Sender> {
    let tcp = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    tcp.set_nodelay(true)?;
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_matches(['[', ']']);
    let name = ServerName::try_from(host.to_owned())?;
    let stream = tls.connect(name, tcp).await.context("TLS handshake")?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn worker(
    target: Target,
    authority: &str,
    tls: &TlsConnector,
    counted_from: Instant,
    deadline: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let mut sender: Option<Sender> = None;
    let mut connects = 0;
    while Instant::now() < deadline {
        let s = match &mut sender {
            Some(s) => s,
            None if connects >= MAX_CONNECTS => break,
            None => {
                connects += 1;
                match connect(authority, tls).await {
                    Ok(s) => sender.insert(s),
                    Err(e) => {
                        note(&mut out, format!("connect: {e:#}"));
                        continue;
                    }
                }
            }
        };
        let request = match build(target, authority) {
            Ok(r) => r,
            Err(e) => {
                note(&mut out, format!("building the request: {e:#}"));
                break;
            }
        };
        let sent = Instant::now();
        let result = async {
            s.ready().await?;
            let reply = s.send_request(request).await?;
            let status = reply.status();
            let body = reply.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        }
        .await;
        let done = Instant::now();
        if done > deadline {
            break;
        }
        match result {
            Ok((status, _)) if status == http::StatusCode::OK => {
                if sent >= counted_from {
                    out.ok += 1;
                    let us = done.duration_since(sent).as_micros();
                    out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            Ok((status, body)) => {
                let text = String::from_utf8_lossy(&body);
                note(
                    &mut out,
                    format!(
                        "HTTP {status}: {}",
                        text.chars().take(300).collect::<String>()
                    ),
                );
            }
            Err(e) => {
                note(&mut out, format!("transport: {e}"));
                sender = None;
            }
        }
    }
    out
}

fn note(out: &mut Outcome, e: String) {
    out.errors += 1;
    if out.error_samples.len() < MAX_PRINTED_ERRORS {
        out.error_samples.push(e);
    }
}

fn build(target: Target, authority: &str) -> Result<http::Request<Full<Bytes>>> {
    match target {
        Target::Bare => Ok(http::Request::get("/health")
            .header(http::header::HOST, authority)
            .body(Full::new(Bytes::new()))?),
        Target::GetCallerIdentity => signed_get_caller_identity(authority),
    }
}

/// `POST /` with the STS Query body, signed now by `aws-sigv4` as the AWS SDK signs it.
fn signed_get_caller_identity(authority: &str) -> Result<http::Request<Full<Bytes>>> {
    let identity: Identity =
        Credentials::new(ADMIN_KEY_ID, ADMIN_SECRET, None, None, "loadgen").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let url = format!("https://{authority}/");
    let headers = [("host", authority), ("content-type", content_type)];
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.into_iter(),
        SignableBody::Bytes(GET_CALLER_IDENTITY.as_bytes()),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    let mut request = http::Request::post("/")
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from_static(
            GET_CALLER_IDENTITY.as_bytes(),
        )))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// Percentile `p` (0..=100) of sorted latencies, in microseconds.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}
