//! One inventory report to the server: `POST <server>/agent/report` over HTTPS/1.1 with the
//! agent's client certificate (mTLS), trusting only the Portcullis CA.
//!
//! The agent only ever connects out; nothing listens on the host. One connection per
//! report: reports are hours apart, so there is nothing to gain from keeping one open.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use portcullis_common::Secret;
use portcullis_inspector_core::inventory::InventoryReport;
use rustls::pki_types::ServerName;
use serde::Deserialize;

use crate::AgentError;

/// Header naming the service the request is for (the agent does not sign with SigV4).
pub const SERVICE_HEADER: &str = "x-portcullis-service";
/// Largest response body read.
const MAX_RESPONSE_BYTES: usize = 64 << 10;
/// Reports larger than this are sent `Content-Encoding: gzip` (a first full report of a big
/// host can exceed the server's 1 MiB body limit uncompressed).
pub const GZIP_ABOVE: usize = 256 << 10;
/// Longest one exchange (connect, TLS, request, response) may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the server said about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// 200: the server now holds the inventory as of this sequence number.
    Acknowledged(u64),
    /// 409 `ConflictException`: the server does not hold the delta's base; send a full report.
    Conflict,
}

#[derive(Deserialize)]
struct AckBody {
    acknowledged: u64,
}

/// An HTTPS client for one server.
#[derive(Clone)]
pub struct Client {
    tls: tokio_rustls::TlsConnector,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    path: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `server` (`https://host[:port][/prefix]`) presenting `cert_pem` / `key_pem`
    /// and trusting `ca_pem`.
    pub fn new(
        server: &str,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &Secret<String>,
    ) -> Result<Client, AgentError> {
        let bad = |reason: &str| AgentError::InvalidUrl {
            url: server.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: http::Uri = server.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("the scheme must be https"));
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let server_name = ServerName::try_from(bare.clone())
            .map_err(|_| bad("the host is not a valid DNS name or IP address"))?;
        let base = uri.path().trim_end_matches('/');
        let config = portcullis_pki::client_tls_config(ca_pem, Some((cert_pem, key_pem)))?;
        let mut config = (*config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            host: bare,
            port: uri.port_u16().unwrap_or(443),
            server_name,
            path: format!("{base}/agent/report"),
        })
    }

    /// Sends one report. Transport failures are [`AgentError::Unreachable`]; statuses other
    /// than 200 and 409 are [`AgentError::Rejected`].
    pub async fn send(&self, report: &InventoryReport) -> Result<Reply, AgentError> {
        let json = serde_json::to_vec(report)?;
        let gzip = json.len() > GZIP_ABOVE;
        let body = if gzip {
            use std::io::Write as _;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&json)
                .and_then(|()| e.finish())
                .map(Bytes::from)
                .map_err(|e| AgentError::Collect(format!("compressing the report: {e}")))?
        } else {
            Bytes::from(json)
        };
        match tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(body, gzip)).await {
            Ok(r) => r,
            Err(_) => Err(AgentError::Unreachable("the exchange timed out".into())),
        }
    }

    async fn exchange(&self, body: Bytes, gzip: bool) -> Result<Reply, AgentError> {
        let down = |e: &dyn std::fmt::Display| AgentError::Unreachable(e.to_string());
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| down(&e))?;
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| down(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| down(&e))?;
        let conn = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed");
            }
        });
        let authority = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut req = http::Request::post(self.path.as_str());
        if gzip {
            req = req.header(http::header::CONTENT_ENCODING, "gzip");
        }
        let req = req
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("portcullis-agent/", env!("CARGO_PKG_VERSION")),
            )
            .header(SERVICE_HEADER, "inspector2")
            .body(Full::new(body))
            .map_err(|e| AgentError::InvalidUrl {
                url: self.path.clone(),
                reason: e.to_string(),
            })?;
        let resp = sender.send_request(req).await.map_err(|e| down(&e))?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| down(&*e))?
            .to_bytes();
        conn.abort();
        match status.as_u16() {
            200 => serde_json::from_slice::<AckBody>(&bytes)
                .map(|a| Reply::Acknowledged(a.acknowledged))
                .map_err(|e| AgentError::InvalidResponse(e.to_string())),
            409 => Ok(Reply::Conflict),
            s => Err(AgentError::Rejected {
                status: s,
                body: String::from_utf8_lossy(bytes.get(..512).unwrap_or(&bytes)).into_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ca = "not pem";
        let key = Secret::new(String::new());
        for (url, what) in [
            ("http://x", "scheme"),
            ("https://", "URL"),
            ("not a url at all", "URL"),
        ] {
            match Client::new(url, ca, ca, &key) {
                Err(AgentError::InvalidUrl { reason, .. }) => {
                    assert!(
                        reason.contains(what) || reason.contains("host"),
                        "{url}: {reason}"
                    )
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        // A good URL with bad PEM fails on the TLS material.
        assert!(matches!(
            Client::new("https://[::1]:7443/p/", ca, ca, &key),
            Err(AgentError::Tls(_))
        ));
    }
}
