//! The answers a load balancer gives itself, without a target: `fixed-response` and `redirect` actions, and `503`
//! for a target group without registered targets. The proxy routes only to pools, so each distinct answer is a tiny
//! HTTP/1.1 server on a loopback port that the route's pool points at; the request has passed the web ACL before
//! it gets there, as at AWS.

use std::collections::HashMap;
use std::net::SocketAddr;

use portcullis_elb_api::model::Action;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Largest request head a responder reads.
const MAX_HEAD: usize = 16 * 1024;

/// What a responder answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answer {
    /// A fixed response: status, content type, body.
    Fixed {
        /// Status code.
        status: u16,
        /// Content type.
        content_type: String,
        /// Body.
        body: String,
    },
    /// A redirect of a request received on a listener of `listener_port`.
    Redirect {
        /// `Protocol`, `Port`, `Host`, `Path`, `Query` templates.
        parts: [String; 5],
        /// 301 or 302.
        status: u16,
        /// The listener's port (`#{port}`).
        listener_port: u16,
    },
}

impl Answer {
    /// The answer for a non-forward action on a listener of `listener_port`; `None` for `forward`.
    pub fn of(action: &Action, listener_port: u16) -> Option<Answer> {
        match action {
            Action::Forward { .. } => None,
            Action::FixedResponse {
                status,
                content_type,
                body,
            } => Some(Answer::Fixed {
                status: status.parse().unwrap_or(503),
                content_type: content_type.clone().unwrap_or_else(|| "text/plain".into()),
                body: body.clone().unwrap_or_default(),
            }),
            Action::Redirect {
                protocol,
                port,
                host,
                path,
                query,
                status,
            } => Some(Answer::Redirect {
                parts: [
                    protocol.clone().unwrap_or_else(|| "#{protocol}".into()),
                    port.clone().unwrap_or_else(|| "#{port}".into()),
                    host.clone().unwrap_or_else(|| "#{host}".into()),
                    path.clone().unwrap_or_else(|| "/#{path}".into()),
                    query.clone().unwrap_or_else(|| "#{query}".into()),
                ],
                status: if status == "HTTP_301" { 301 } else { 302 },
                listener_port,
            }),
        }
    }

    /// The 503 of a target group with no targets.
    pub fn no_targets() -> Answer {
        Answer::Fixed {
            status: 503,
            content_type: "text/html".into(),
            body: "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".into(),
        }
    }

    /// The response to a request with `target` (path and query), `host` and `proto` (`http`/`https`).
    pub fn respond(&self, target: &str, host: &str, proto: &str) -> Vec<u8> {
        match self {
            Answer::Fixed {
                status,
                content_type,
                body,
            } => format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                reason(*status),
                body.len()
            )
            .into_bytes(),
            Answer::Redirect {
                parts,
                status,
                listener_port,
            } => {
                let location = location(parts, *listener_port, target, host, proto);
                format!(
                    "HTTP/1.1 {status} {}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    reason(*status)
                )
                .into_bytes()
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        403 => "Forbidden",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// The `Location` of a redirect: `#{protocol}`, `#{host}`, `#{port}`, `#{path}` (without its leading `/`) and
/// `#{query}` (without `?`) replaced by the request's.
fn location(
    parts: &[String; 5],
    listener_port: u16,
    target: &str,
    host: &str,
    proto: &str,
) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let host_only = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let port = listener_port.to_string();
    let fill = |s: &str| {
        s.replace("#{protocol}", proto)
            .replace("#{host}", host_only)
            .replace("#{port}", &port)
            .replace("#{path}", path.strip_prefix('/').unwrap_or(path))
            .replace("#{query}", query)
    };
    let [p, po, h, pa, q] = parts;
    let scheme = fill(p).to_ascii_lowercase();
    let port = fill(po);
    let default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
    let mut out = format!("{scheme}://{}", fill(h));
    if !default_port {
        out.push(':');
        out.push_str(&port);
    }
    out.push_str(&fill(pa));
    let q = fill(q);
    if !q.is_empty() {
        out.push('?');
        out.push_str(&q);
    }
    out
}

/// The running responders, by answer.
#[derive(Default)]
pub struct Responders {
    running: HashMap<Answer, (SocketAddr, JoinHandle<()>)>,
}

impl Responders {
    /// The address of the responder for `answer`, started if it is not running.
    pub async fn addr(&mut self, answer: &Answer) -> std::io::Result<SocketAddr> {
        if let Some((addr, _)) = self.running.get(answer) {
            return Ok(*addr);
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, answer.clone()));
        self.running.insert(answer.clone(), (addr, task));
        Ok(addr)
    }

    /// Stops the responders whose answer is not in `keep`.
    pub fn retain(&mut self, keep: &[Answer]) {
        self.running.retain(|a, (_, task)| {
            let k = keep.contains(a);
            if !k {
                task.abort();
            }
            k
        });
    }
}

impl Drop for Responders {
    fn drop(&mut self) {
        for (_, task) in self.running.values() {
            task.abort();
        }
    }
}

async fn serve(listener: TcpListener, answer: Answer) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let answer = answer.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 2048];
            let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return false,
                        Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
                    }
                }
                true
            })
            .await;
            if read != Ok(true) {
                return;
            }
            let text = String::from_utf8_lossy(&head);
            let mut lines = text.split("\r\n");
            let target = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or("/")
                .to_owned();
            let mut host = String::new();
            let mut proto = "http".to_owned();
            for l in lines {
                if let Some((k, v)) = l.split_once(':') {
                    let v = v.trim();
                    if k.eq_ignore_ascii_case("x-forwarded-host")
                        || (k.eq_ignore_ascii_case("host") && host.is_empty())
                    {
                        host = v.to_owned();
                    } else if k.eq_ignore_ascii_case("x-forwarded-proto") {
                        proto = v.to_ascii_lowercase();
                    }
                }
            }
            let _ = conn
                .write_all(&answer.respond(&target, &host, &proto))
                .await;
            let _ = conn.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_fill_the_templates() {
        let a = Answer::of(
            &Action::Redirect {
                protocol: Some("HTTPS".into()),
                port: Some("443".into()),
                host: None,
                path: None,
                query: None,
                status: "HTTP_301".into(),
            },
            8080,
        )
        .unwrap();
        let r = String::from_utf8(a.respond("/a/b?x=1", "shop.example:8080", "http")).unwrap();
        assert!(r.starts_with("HTTP/1.1 301 "), "{r}");
        assert!(
            r.contains("Location: https://shop.example/a/b?x=1\r\n"),
            "{r}"
        );
        let a = Answer::of(
            &Action::Redirect {
                protocol: None,
                port: None,
                host: Some("other".into()),
                path: Some("/new".into()),
                query: None,
                status: "HTTP_302".into(),
            },
            8080,
        )
        .unwrap();
        let r = String::from_utf8(a.respond("/old", "x", "http")).unwrap();
        assert!(r.contains("Location: http://other:8080/new\r\n"), "{r}");
    }

    #[test]
    fn fixed_responses_carry_their_body() {
        let a = Answer::of(
            &Action::FixedResponse {
                status: "418".into(),
                content_type: Some("application/json".into()),
                body: Some("{}".into()),
            },
            80,
        )
        .unwrap();
        let r = String::from_utf8(a.respond("/", "h", "http")).unwrap();
        assert!(r.starts_with("HTTP/1.1 418 "));
        assert!(r.contains("Content-Type: application/json") && r.ends_with("\r\n\r\n{}"));
        assert!(
            Answer::of(
                &Action::Forward {
                    target_group_arn: "x".into()
                },
                80
            )
            .is_none()
        );
    }
}
