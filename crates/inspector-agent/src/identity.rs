//! The host's cloud identity: which instance of the imported network description it is.
//!
//! Given explicitly (`--instance-id`), or read from an instance-identity document when a URL
//! is configured (`--identity-url http://169.254.169.254/latest/dynamic/instance-identity/document`
//! on EC2, or a `file://` path). Nothing is fetched unless a URL is configured. Over HTTP the
//! IMDSv2 session token is asked for first (`PUT /latest/api/token`); without one the plain
//! GET (IMDSv1) is tried. Answers are capped at 64 KiB and the exchange at 5 seconds.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use portcullis_inspector_core::inventory::CloudIdentity;

use crate::AgentError;

/// Largest identity document read.
const MAX_DOCUMENT: usize = 64 << 10;
/// Longest one identity lookup may take.
const TIMEOUT: Duration = Duration::from_secs(5);

fn bad(url: &str, reason: &str) -> AgentError {
    AgentError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Reads the identity document at `url` (`http://…` or `file:///…`).
pub async fn fetch(url: &str) -> Result<CloudIdentity, AgentError> {
    let bytes = if let Some(path) = url.strip_prefix("file://") {
        let data = tokio::fs::read(path)
            .await
            .map_err(|source| AgentError::Io {
                path: path.into(),
                source,
            })?;
        Bytes::from(data)
    } else {
        match tokio::time::timeout(TIMEOUT, fetch_http(url)).await {
            Ok(r) => r?,
            Err(_) => return Err(AgentError::Unreachable("identity lookup timed out".into())),
        }
    };
    if bytes.len() > MAX_DOCUMENT {
        return Err(AgentError::InvalidResponse(
            "the identity document is too large".into(),
        ));
    }
    CloudIdentity::from_identity_document(&bytes).ok_or_else(|| {
        AgentError::InvalidResponse("the identity document has no valid instanceId".into())
    })
}

async fn request(
    uri: &http::Uri,
    method: http::Method,
    headers: &[(&str, &str)],
) -> Result<(u16, Bytes), AgentError> {
    let down = |e: &dyn std::fmt::Display| AgentError::Unreachable(e.to_string());
    let host = uri.host().unwrap_or_default().to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| down(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| down(&e))?;
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, format!("{host}:{port}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|e| bad(&uri.to_string(), &e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(|e| down(&e))?;
    let status = resp.status().as_u16();
    let body = Limited::new(resp.into_body(), MAX_DOCUMENT)
        .collect()
        .await
        .map_err(|e| down(&*e))?
        .to_bytes();
    conn.abort();
    Ok((status, body))
}

async fn fetch_http(url: &str) -> Result<Bytes, AgentError> {
    let uri: http::Uri = url.parse().map_err(|_| bad(url, "not a URL"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(bad(
            url,
            "the identity URL must be http://host[:port]/path or file://",
        ));
    }
    let authority = uri.authority().map_or("", |a| a.as_str());
    let token_uri: http::Uri = format!("http://{authority}/latest/api/token")
        .parse()
        .map_err(|_| bad(url, "no authority"))?;
    let token = match request(
        &token_uri,
        http::Method::PUT,
        &[("x-aws-ec2-metadata-token-ttl-seconds", "60")],
    )
    .await
    {
        Ok((200, t)) => String::from_utf8(t.to_vec()).ok(),
        _ => None,
    };
    let headers: Vec<(&str, &str)> = token
        .as_deref()
        .map(|t| vec![("x-aws-ec2-metadata-token", t.trim())])
        .unwrap_or_default();
    match request(&uri, http::Method::GET, &headers).await? {
        (200, body) => Ok(body),
        (s, _) => Err(AgentError::Rejected {
            status: s,
            body: "the identity document could not be read".into(),
        }),
    }
}
