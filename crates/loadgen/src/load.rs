//! The client side: C keep-alive HTTP/1.1 connections over TLS, each sending one request at a
//! time for a fixed warm-up plus measurement window.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::server::{ADMIN_KEY_ID, ADMIN_SECRET};
use crate::sign::Signer;

/// The STS Query body of `aws sts get-caller-identity`.
const GET_CALLER_IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// The content type of KMS's JSON 1.1 protocol.
const KMS_JSON: &str = "application/x-amz-json-1.1";
/// At most this many error lines are printed per target; the rest are only counted.
const MAX_PRINTED_ERRORS: usize = 5;
/// Connection attempts per worker before it gives up (each failure is an error).
const MAX_CONNECTS: usize = 20;

/// What is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// `GET /health`: the same listener and TLS, no authentication, no store, no audit.
    Health,
    /// STS `GetCallerIdentity`: authentication and audit, no policy evaluated.
    GetCallerIdentity,
    /// KMS `Encrypt` of 256 bytes under a symmetric key.
    Encrypt,
    /// KMS `Decrypt` of a ciphertext made at set-up.
    Decrypt,
    /// KMS `GenerateDataKey` (`AES_256`).
    GenerateDataKey,
    /// KMS `Sign` (`ECDSA_SHA_256`, 32-byte raw message) with an `ECC_NIST_P256` key.
    SignP256,
    /// KMS `GenerateMac` (`HMAC_SHA_256`, 32-byte message) with an `HMAC_256` key.
    GenerateMac,
}

impl Op {
    /// The name used in the table and the JSON output (the `--ops` spelling).
    pub fn name(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::GetCallerIdentity => "get-caller-identity",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::GenerateDataKey => "generate-data-key",
            Self::SignP256 => "sign-p256",
            Self::GenerateMac => "generate-mac",
        }
    }

    /// Whether this operation needs the KMS keys made at set-up.
    pub fn needs_kms(self) -> bool {
        !matches!(self, Self::Health | Self::GetCallerIdentity)
    }
}

/// The keys and ciphertext the KMS operations use, made by signed calls before measuring.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    /// Request bodies, prepared once per operation (only the signature changes).
    bodies: Vec<(Op, Bytes)>,
}

impl Fixtures {
    /// Creates a symmetric, an `ECC_NIST_P256` and an `HMAC_256` key, and a ciphertext.
    pub async fn create(authority: &str, tls: &TlsConnector) -> Result<Self> {
        let mut s = connect(authority, tls).await?;
        let mut signer = Signer::new(ADMIN_KEY_ID, ADMIN_SECRET);
        let mut create = async |spec: &str, usage: &str| -> Result<String> {
            let body = serde_json::json!({
                "KeySpec": spec,
                "KeyUsage": usage,
                "Description": "portcullis-loadgen",
            });
            let reply = kms_call(&mut s, &mut signer, authority, "CreateKey", &body).await?;
            reply
                .pointer("/KeyMetadata/KeyId")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .context("CreateKey reply without KeyMetadata.KeyId")
        };
        let symmetric = create("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await?;
        let p256 = create("ECC_NIST_P256", "SIGN_VERIFY").await?;
        let hmac = create("HMAC_256", "GENERATE_VERIFY_MAC").await?;
        let plaintext = B64.encode([0x5a_u8; 256]);
        let message = B64.encode([0xa5_u8; 32]);
        let encrypt = serde_json::json!({"KeyId": symmetric, "Plaintext": plaintext});
        let reply = kms_call(&mut s, &mut signer, authority, "Encrypt", &encrypt).await?;
        let blob = reply
            .get("CiphertextBlob")
            .and_then(serde_json::Value::as_str)
            .context("Encrypt reply without CiphertextBlob")?
            .to_owned();
        let json = |v: serde_json::Value| Bytes::from(v.to_string());
        Ok(Self {
            bodies: vec![
                (Op::Encrypt, json(encrypt)),
                (
                    Op::Decrypt,
                    json(serde_json::json!({"CiphertextBlob": blob, "KeyId": symmetric})),
                ),
                (
                    Op::GenerateDataKey,
                    json(serde_json::json!({"KeyId": symmetric, "KeySpec": "AES_256"})),
                ),
                (
                    Op::SignP256,
                    json(serde_json::json!({"KeyId": p256, "Message": message,
                        "MessageType": "RAW", "SigningAlgorithm": "ECDSA_SHA_256"})),
                ),
                (
                    Op::GenerateMac,
                    json(serde_json::json!({"KeyId": hmac, "Message": message,
                        "MacAlgorithm": "HMAC_SHA_256"})),
                ),
            ],
        })
    }

    fn body(&self, op: Op) -> Result<Bytes> {
        self.bodies
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, b)| b.clone())
            .with_context(|| format!("no KMS fixtures for {}", op.name()))
    }
}

/// One signed KMS call at set-up; the reply's JSON, or an error with its body.
async fn kms_call(
    s: &mut Sender,
    signer: &mut Signer,
    authority: &str,
    operation: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value> {
    let request = signed_kms(signer, authority, operation, Bytes::from(body.to_string()))?;
    s.ready().await?;
    let reply = s.send_request(request).await?;
    let status = reply.status();
    let bytes = reply.into_body().collect().await?.to_bytes();
    if status != http::StatusCode::OK {
        bail!(
            "{operation} at set-up: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    serde_json::from_slice(&bytes).with_context(|| format!("{operation} reply is not JSON"))
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
pub async fn run(
    target: Op,
    plan: &Plan,
    tls: &TlsConnector,
    fixtures: &Arc<Fixtures>,
) -> Result<Outcome> {
    let start = Instant::now();
    let counted_from = start + plan.warmup;
    let deadline = counted_from + plan.measure;
    let mut tasks = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let (authority, tls, fixtures) = (plan.authority.clone(), tls.clone(), fixtures.clone());
        tasks.push(tokio::spawn(async move {
            worker(target, &authority, &tls, &fixtures, counted_from, deadline).await
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
    target: Op,
    authority: &str,
    tls: &TlsConnector,
    fixtures: &Fixtures,
    counted_from: Instant,
    deadline: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    // One signer per connection, as each SDK client keeps its own.
    let mut signer = Signer::new(ADMIN_KEY_ID, ADMIN_SECRET);
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
        let request = match build(target, &mut signer, authority, fixtures) {
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

fn build(
    target: Op,
    signer: &mut Signer,
    authority: &str,
    fixtures: &Fixtures,
) -> Result<http::Request<Full<Bytes>>> {
    match target {
        Op::Health => Ok(http::Request::get("/health")
            .header(http::header::HOST, authority)
            .body(Full::new(Bytes::new()))?),
        Op::GetCallerIdentity => signed(
            signer,
            authority,
            "sts",
            "application/x-www-form-urlencoded; charset=utf-8",
            None,
            Bytes::from_static(GET_CALLER_IDENTITY.as_bytes()),
        ),
        Op::Encrypt => signed_kms(signer, authority, "Encrypt", fixtures.body(target)?),
        Op::Decrypt => signed_kms(signer, authority, "Decrypt", fixtures.body(target)?),
        Op::GenerateDataKey => {
            signed_kms(signer, authority, "GenerateDataKey", fixtures.body(target)?)
        }
        Op::SignP256 => signed_kms(signer, authority, "Sign", fixtures.body(target)?),
        Op::GenerateMac => signed_kms(signer, authority, "GenerateMac", fixtures.body(target)?),
    }
}

/// A KMS JSON 1.1 call `TrentService.<operation>`, signed now.
fn signed_kms(
    signer: &mut Signer,
    authority: &str,
    operation: &str,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>> {
    let target = format!("TrentService.{operation}");
    signed(signer, authority, "kms", KMS_JSON, Some(&target), body)
}

/// `POST /` with `body`, signed now as the AWS SDK signs it (`us-east-1`; see [`Signer`]).
fn signed(
    signer: &mut Signer,
    authority: &str,
    service: &str,
    content_type: &str,
    amz_target: Option<&str>,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>> {
    let mut headers = vec![("host", authority), ("content-type", content_type)];
    if let Some(t) = amz_target {
        headers.push(("x-amz-target", t));
    }
    let sig = signer.sign_post(service, &headers, &body, SystemTime::now());
    let mut builder = http::Request::post("/")
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, content_type)
        .header("x-amz-date", sig.amz_date)
        .header(http::header::AUTHORIZATION, sig.authorization);
    if let Some(t) = amz_target {
        builder = builder.header("x-amz-target", t);
    }
    Ok(builder.body(Full::new(body))?)
}

/// Percentile `p` (0..=100) of sorted latencies, in microseconds.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}
