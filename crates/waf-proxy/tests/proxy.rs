//! End-to-end tests of the WAF proxy on loopback: a tiny hyper upstream, the proxy in front of it, and clients
//! speaking HTTP/1.1 (hyper client or raw TCP for malformed input) and TLS.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_waf_proxy::{
    Decision, HealthCheckConfig, InspectError, Limits, ListenerConfig, PoolConfig, ProxyConfig,
    ProxyHandle, RouteConfig,
};
use portcullis_waf_request::Request as WafRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "proxy/observe.rs"]
mod observe;

#[path = "proxy/interstitial.rs"]
mod interstitial;

#[path = "proxy/websocket.rs"]
mod websocket;

#[path = "proxy/reconfigure.rs"]
mod reconfigure;

#[path = "proxy/headtimer.rs"]
mod headtimer;

// ---------------------------------------------------------------------------------------------------------------
// Upstream

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body_len: usize,
    body_sum: u64,
}

struct Upstream {
    name: &'static str,
    addr: SocketAddr,
    seen: Mutex<Vec<Seen>>,
    healthy: AtomicBool,
}

impl Upstream {
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("upstream saw a request")
    }
}

async fn upstream_handle(
    up: Arc<Upstream>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    if path == "/health" {
        let status = if up.healthy.load(Ordering::SeqCst) {
            200
        } else {
            503
        };
        return Ok(Response::builder()
            .status(status)
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    // Read the body frame by frame, never holding it whole.
    let mut body = body;
    let (mut len, mut sum) = (0usize, 0u64);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Some(d) = frame.data_ref() {
            len += d.len();
            sum += d.iter().map(|&b| b as u64).sum::<u64>();
        }
    }
    up.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers: parts.headers,
        body_len: len,
        body_sum: sum,
    });
    if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(500))).await;
    }
    Ok(Response::builder()
        .header("x-upstream", up.name)
        .body(Full::new(Bytes::from(format!("hello from {}", up.name))))
        .unwrap())
}

async fn upstream(name: &'static str) -> Arc<Upstream> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = Arc::new(Upstream {
        name,
        addr: listener.local_addr().unwrap(),
        seen: Mutex::new(Vec::new()),
        healthy: AtomicBool::new(true),
    });
    let up2 = Arc::clone(&up);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let up = Arc::clone(&up2);
            tokio::spawn(async move {
                let svc = service_fn(move |req| upstream_handle(Arc::clone(&up), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    up
}

/// An upstream that runs `serve` on every connection it accepts (for answers no HTTP server would give).
async fn raw_upstream<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    addr
}

/// An address nothing listens on.
async fn dead_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Proxy and clients

fn config(upstreams: Vec<SocketAddr>) -> ProxyConfig {
    let mut pool = PoolConfig::new("app", upstreams);
    pool.connect_timeout = Duration::from_secs(1);
    pool.read_timeout = Duration::from_secs(10);
    ProxyConfig {
        listeners: vec![ListenerConfig {
            name: "web".into(),
            bind: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            routes: vec![RouteConfig {
                host: None,
                path_prefix: "/".into(),
                pool: "app".into(),
            }],
            inspector: None,
        }],
        pools: vec![pool],
        limits: Limits {
            header_read_timeout: Duration::from_secs(5),
            ..Limits::default()
        },
        ..ProxyConfig::default()
    }
}

async fn start(
    config: ProxyConfig,
    inspector: impl portcullis_waf_proxy::Inspector + 'static,
) -> ProxyHandle {
    portcullis_waf_proxy::start(config, Arc::new(inspector))
        .await
        .unwrap()
}

fn allow_all() -> impl Fn(&WafRequest) -> Result<Decision, InspectError> + Send + Sync {
    |_: &WafRequest| Ok(Decision::allow())
}

type TestClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn get(
    client: &TestClient,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut b = Request::get(format!("http://{addr}{path}"));
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        client.request(b.body(Full::new(Bytes::new())).unwrap()),
    )
    .await
    .expect("response in time")
    .expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// Send raw bytes, read until the server closes (or 5 s), return what came back.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn allow_and_block_with_inserted_and_custom_headers() {
    let up = upstream("a").await;
    let proxy = start(config(vec![up.addr]), |req: &WafRequest| {
        if req.path().starts_with("/admin") {
            Ok(Decision::Block(portcullis_waf_proxy::BlockResponse {
                status: 451,
                headers: vec![("x-blocked-by".into(), "test".into())],
                body: b"nope".to_vec(),
            }))
        } else if req.path() == "/plain-block" {
            Ok(Decision::block())
        } else {
            Ok(Decision::Allow {
                insert_headers: vec![("x-amzn-waf-seen".into(), req.method.clone())],
            })
        }
    })
    .await;
    let addr = proxy.local_addrs()[0];
    let c = client();

    let (status, headers, body) = get(&c, addr, "/hello?x=1", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-upstream"], "a");
    assert_eq!(body, "hello from a");
    assert_eq!(up.last().path, "/hello");
    assert_eq!(up.last().headers["x-amzn-waf-seen"], "GET");

    let (status, headers, body) = get(&c, addr, "/admin/x", &[]).await;
    assert_eq!(status, 451);
    assert_eq!(headers["x-blocked-by"], "test");
    assert_eq!(body, "nope");
    let (status, _, _) = get(&c, addr, "/plain-block", &[]).await;
    assert_eq!(status, 403);
    assert_eq!(up.count(), 1, "blocked requests never reach the upstream");
    proxy.shutdown().await;
}

#[tokio::test]
async fn fail_closed_and_fail_open() {
    let up = upstream("a").await;
    let failing = |req: &WafRequest| -> Result<Decision, InspectError> {
        if req.path() == "/panic" {
            panic!("inspector bug");
        }
        Err(InspectError("engine broke".into()))
    };
    let proxy = start(config(vec![up.addr]), failing).await;
    let c = client();
    let addr = proxy.local_addrs()[0];
    assert_eq!(get(&c, addr, "/x", &[]).await.0, 500);
    assert_eq!(
        get(&c, addr, "/panic", &[]).await.0,
        500,
        "a panic is contained and fails closed"
    );
    assert_eq!(up.count(), 0);
    proxy.shutdown().await;

    let mut cfg = config(vec![up.addr]);
    cfg.fail_mode = portcullis_waf_proxy::FailMode::Open;
    let proxy = start(cfg, failing).await;
    let addr = proxy.local_addrs()[0];
    assert_eq!(get(&c, addr, "/x", &[]).await.0, 200);
    assert_eq!(up.count(), 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn five_megabytes_stream_through_with_only_the_prefix_inspected() {
    let up = upstream("a").await;
    let inspected = Arc::new(Mutex::new(Vec::new()));
    let rec = Arc::clone(&inspected);
    let mut cfg = config(vec![up.addr]);
    cfg.limits.inspection_limit = 16 * 1024;
    let proxy = start(cfg, move |req: &WafRequest| {
        rec.lock()
            .unwrap()
            .push((req.body.len(), req.body_total_len, req.body_truncated()));
        Ok(Decision::allow())
    })
    .await;
    let addr = proxy.local_addrs()[0];

    let body: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let sum: u64 = body.iter().map(|&b| b as u64).sum();
    // Stream the body in 64 KiB chunks, without Content-Length (chunked).
    let chunks = body.chunks(64 * 1024).map(Bytes::copy_from_slice).collect();
    let stream_body = ChunkBody(chunks);
    let c: Client<_, ChunkBody> = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::post(format!("http://{addr}/upload"))
        .body(stream_body)
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let seen = up.last();
    assert_eq!(seen.body_len, body.len(), "the upstream got every byte");
    assert_eq!(seen.body_sum, sum);
    let (len, total, truncated) = inspected.lock().unwrap()[0];
    assert_eq!(
        len,
        16 * 1024,
        "only the inspection window reached the inspector"
    );
    assert!(total > len as u64 && truncated);

    // With Content-Length the inspector learns the real total.
    let c = client();
    let req = Request::post(format!("http://{addr}/upload2"))
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    assert_eq!(c.request(req).await.unwrap().status(), 200);
    assert_eq!(up.last().body_len, body.len());
    let (len, total, _) = inspected.lock().unwrap()[1];
    assert_eq!((len, total), (16 * 1024, body.len() as u64));
    proxy.shutdown().await;
}

/// A chunked request body handed out one chunk per poll.
struct ChunkBody(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[tokio::test]
async fn smuggling_shapes_get_400_and_never_reach_upstream() {
    let up = upstream("a").await;
    let proxy = start(config(vec![up.addr]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let cases: &[(&str, &[u8])] = &[
        ("CL then TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"),
        ("TE then CL", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG"),
        ("duplicate CL, same value", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nA"),
        ("duplicate CL, different values", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nAB"),
        ("CL list", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nA"),
        ("invalid CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n"),
        ("negative CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"),
        ("obs-fold on TE", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
        ("TE not chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("TE chunked not last", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("TE xchunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"),
        ("duplicate TE", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        ("chunk data without CRLF", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"),
        ("space before colon", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello"),
        ("duplicate Host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("missing Host", b"GET / HTTP/1.1\r\n\r\n"),
        ("bare CR in header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    ];
    let mut wrong = Vec::new();
    for (name, bytes) in cases {
        let reply = raw(addr, bytes).await;
        if !reply.starts_with("HTTP/1.1 400") {
            wrong.push(format!("{name}: {:?}", reply.lines().next()));
        }
    }
    assert!(wrong.is_empty(), "not rejected with 400: {wrong:#?}");
    assert_eq!(up.count(), 0, "no malformed request reached the upstream");

    // A well-formed keep-alive pair on one connection still works (the tap follows framing correctly).
    let reply = raw(
        addr,
        b"POST /one HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.matches("HTTP/1.1 200").count(), 2, "{reply}");
    assert_eq!(up.count(), 2);
    assert_eq!(up.seen.lock().unwrap()[0].body_len, 3);
    proxy.shutdown().await;
}

#[tokio::test]
async fn size_limits() {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    cfg.limits.max_body_bytes = 100_000;
    cfg.limits.max_header_bytes = 8 * 1024;
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let reply = raw(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    // A chunked body that grows past the limit after the inspection window.
    let mut req = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..30 {
        req.extend_from_slice(b"2000\r\n");
        req.extend_from_slice(&[b'a'; 0x2000]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let reply = raw(addr, &req).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let reply = raw(addr, big.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn slowloris_connection_is_closed_after_header_timeout() {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    cfg.limits.header_read_timeout = Duration::from_millis(500);
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        // Keep dribbling header bytes; the deadline is for the whole head, not per byte.
        loop {
            let mut chunk = [0u8; 1024];
            tokio::select! {
                n = tcp.read(&mut chunk) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                },
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if tcp.write_all(b"X-a: b\r\n").await.is_err() {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "connection still open after 5 s");
    assert!(
        buf.is_empty() || String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        "{buf:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(up.count(), 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn per_ip_concurrency_limit() {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    cfg.limits.max_requests_per_ip = 1;
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, addr, "/slow/800", &[]).await.0 })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&c, addr, "/fast", &[]).await.0, 429);
    assert_eq!(slow.await.unwrap(), 200);
    assert_eq!(
        get(&c, addr, "/fast", &[]).await.0,
        200,
        "the slot is released"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn round_robin_and_failover() {
    let a = upstream("a").await;
    let b = upstream("b").await;
    let proxy = start(config(vec![a.addr, b.addr]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    let mut names = Vec::new();
    for _ in 0..4 {
        let (status, headers, _) = get(&c, addr, "/", &[]).await;
        assert_eq!(status, 200);
        names.push(headers["x-upstream"].to_str().unwrap().to_owned());
    }
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 2, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "b").count(), 2, "{names:?}");
    assert_ne!(names[0], names[1]);
    proxy.shutdown().await;

    // One server down: idempotent requests retry on the other one.
    let dead = dead_addr().await;
    let proxy = start(config(vec![dead, a.addr]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let before = a.count();
    for _ in 0..4 {
        assert_eq!(get(&c, addr, "/", &[]).await.0, 200);
    }
    assert_eq!(a.count() - before, 4);
    // A POST is not retried: it fails when it lands on the dead server.
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let req = Request::post(format!("http://{addr}/p"))
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap();
        statuses.push(c.request(req).await.unwrap().status().as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 502]);
    proxy.shutdown().await;
}

#[tokio::test]
async fn health_checks_mark_servers_down_and_up() {
    let a = upstream("a").await;
    let b = upstream("b").await;
    let mut cfg = config(vec![a.addr, b.addr]);
    cfg.pools[0].health_check = Some(HealthCheckConfig {
        interval: Duration::from_millis(100),
        path: "/health".into(),
        timeout: Duration::from_millis(500),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
    });
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let pool = proxy.pool("app").unwrap();
    b.healthy.store(false, Ordering::SeqCst);
    wait_for(|| !pool.servers[1].is_healthy()).await;
    assert!(pool.servers[0].is_healthy());
    let c = client();
    for _ in 0..4 {
        assert_eq!(get(&c, addr, "/", &[]).await.1["x-upstream"], "a");
    }
    b.healthy.store(true, Ordering::SeqCst);
    wait_for(|| pool.servers[1].is_healthy()).await;
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(
            get(&c, addr, "/", &[]).await.1["x-upstream"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(names.iter().any(|n| n == "b"), "{names:?}");
    proxy.shutdown().await;
}

async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn forwarded_headers_trusted_and_untrusted() {
    let up = upstream("a").await;
    let c = client();
    let spoof = [
        ("x-forwarded-for", "1.2.3.4"),
        ("x-forwarded-proto", "https"),
        ("host", "app.example"),
    ];

    let mut cfg = config(vec![up.addr]);
    cfg.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let proxy = start(cfg, allow_all()).await;
    get(&c, proxy.local_addrs()[0], "/", &spoof).await;
    let h = up.last().headers;
    assert_eq!(h["x-forwarded-for"], "1.2.3.4, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-forwarded-host"], "app.example");
    assert_eq!(h["host"], "app.example", "Host is preserved");
    proxy.shutdown().await;

    let mut cfg = config(vec![up.addr]);
    cfg.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    let proxy = start(cfg, allow_all()).await;
    get(&c, proxy.local_addrs()[0], "/", &spoof).await;
    let h = up.last().headers;
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    proxy.shutdown().await;
}

#[tokio::test]
async fn hot_swap_applies_to_new_requests_and_spares_in_flight_ones() {
    let up = upstream("a").await;
    let proxy = start(config(vec![up.addr]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    // Warm a keep-alive connection.
    assert_eq!(get(&c, addr, "/warm", &[]).await.0, 200);
    let slow = {
        let c = client();
        tokio::spawn(async move { get(&c, addr, "/slow/1000", &[]).await.0 })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let swapped = Instant::now();
    proxy
        .inspector()
        .swap(Arc::new(|_: &WafRequest| Ok(Decision::block())));
    assert_eq!(
        get(&c, addr, "/after", &[]).await.0,
        403,
        "new ACL applies to the kept-alive connection"
    );
    assert!(swapped.elapsed() < Duration::from_secs(1));
    assert_eq!(
        slow.await.unwrap(),
        200,
        "the in-flight request finished under the old ACL"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let up = upstream("a").await;
    let proxy = start(config(vec![up.addr]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let slow = tokio::spawn(async move { get(&client(), addr, "/slow/600", &[]).await.0 });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    proxy.shutdown().await;
    assert_eq!(slow.await.unwrap(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

// ---------------------------------------------------------------------------------------------------------------
// TLS

struct TestCert {
    der: rustls::pki_types::CertificateDer<'static>,
    files: portcullis_waf_proxy::CertificateFiles,
}

fn make_cert(dir: &std::path::Path, name: &str) -> TestCert {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    let cert_pem = dir.join(format!("{name}.crt"));
    let key_pem = dir.join(format!("{name}.key"));
    std::fs::write(&cert_pem, ck.cert.pem()).unwrap();
    std::fs::write(&key_pem, ck.signing_key.serialize_pem()).unwrap();
    TestCert {
        der: ck.cert.der().clone(),
        files: portcullis_waf_proxy::CertificateFiles { cert_pem, key_pem },
    }
}

async fn tls_connect(
    addr: SocketAddr,
    name: &str,
    roots: &[&TestCert],
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut store = rustls::RootCertStore::empty();
    for c in roots {
        store.add(c.der.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let server_name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    connector.connect(server_name, tcp).await.unwrap()
}

#[tokio::test]
async fn tls_listener_picks_certificate_by_sni_and_speaks_h1_and_h2() {
    let up = upstream("a").await;
    let dir = tempfile::tempdir().unwrap();
    let a = make_cert(dir.path(), "a.test");
    let b = make_cert(dir.path(), "b.test");
    let mut cfg = config(vec![up.addr]);
    cfg.listeners[0].tls = Some(portcullis_waf_proxy::TlsConfig {
        certificates: vec![a.files.clone(), b.files.clone()],
    });
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];

    for (name, cert) in [("a.test", &a), ("b.test", &b)] {
        let mut tls = tls_connect(addr, name, &[&a, &b], &[b"http/1.1"]).await;
        let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
        assert_eq!(presented, cert.der, "SNI {name} got the wrong certificate");
        tls.write_all(
            format!("GET /tls HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert_eq!(up.last().headers["x-forwarded-proto"], "https");
        assert_eq!(up.last().headers["host"], name);
    }

    // HTTP/2 by ALPN; the :authority becomes Host upstream.
    let tls = tls_connect(addr, "b.test", &[&b], &[b"h2"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::get("https://b.test/over-h2")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(up.last().path, "/over-h2");
    assert_eq!(up.last().headers["host"], "b.test");
    proxy.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------------
// A real web ACL

fn body_acl() -> portcullis_waf_core::CompiledAcl {
    use serde_json::json;
    let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
    let doc = json!({
        "Name": "e2e", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/e2e/id",
        "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("e2e"),
        "AssociationConfig": {"RequestBody": {"APPLICATION_LOAD_BALANCER": {"DefaultSizeInspectionLimit": "KB_16"}}},
        "Rules": [{
            "Name": "evil-body", "Priority": 0, "VisibilityConfig": vis("evil"),
            // base64("evil")
            "Statement": {"ByteMatchStatement": {"SearchString": "ZXZpbA==",
                "FieldToMatch": {"Body": {"OversizeHandling": "CONTINUE"}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}},
            "Action": {"Block": {}}
        }]
    });
    let acl = portcullis_waf_model::WebAcl::from_value(doc).unwrap();
    portcullis_waf_core::CompiledAcl::compile(&acl, &portcullis_waf_core::Resources::default())
        .unwrap()
}

#[tokio::test]
async fn compiled_web_acl_inspects_only_its_body_window() {
    let up = upstream("a").await;
    let acl = body_acl();
    let window = acl.body_inspection_limit();
    let proxy = start(
        config(vec![up.addr]),
        portcullis_waf_proxy::AclInspector::local(acl),
    )
    .await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    let post = |body: Vec<u8>| {
        Request::post(format!("http://{addr}/form"))
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };

    let mut early = b"evil".to_vec();
    early.extend(std::iter::repeat_n(b'.', 100_000));
    let blocked = c.request(post(early)).await.unwrap();
    assert_eq!(blocked.status(), 403);
    // Most of the body is unread: the connection must not be reused.
    assert_eq!(
        blocked.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );

    let mut late = vec![b'.'; window + 10];
    late.extend_from_slice(b"evil");
    assert_eq!(
        c.request(post(late.clone())).await.unwrap().status(),
        200,
        "past the window, CONTINUE"
    );
    assert_eq!(up.last().body_len, late.len());
    assert_eq!(up.count(), 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn garbage_input_never_takes_the_proxy_down() {
    let up = upstream("a").await;
    let proxy = start(config(vec![up.addr]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let prefixes: [&[u8]; 4] = [
        b"",
        b"GET / HTTP/1.1\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    let mut conns = Vec::new();
    for i in 0..60 {
        let mut bytes = prefixes[i % prefixes.len()].to_vec();
        let n = (next() % 600) as usize;
        bytes.extend((0..n).map(|_| next() as u8));
        conns.push(tokio::spawn(async move {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let _ = tcp.write_all(&bytes).await;
            let _ = tcp.shutdown().await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
        }));
    }
    for c in conns {
        c.await.unwrap();
    }
    assert_eq!(get(&client(), addr, "/still-up", &[]).await.0, 200);
    proxy.shutdown().await;
}

#[tokio::test]
async fn connection_limit_queues_further_connections() {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    cfg.limits.max_connections = 1;
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let holder = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut waiting = TcpStream::connect(addr).await.unwrap();
    waiting
        .write_all(b"GET /queued HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "second connection served while the first holds the only slot"
    );
    assert_eq!(up.count(), 0);
    drop(holder);
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), waiting.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    proxy.shutdown().await;
}

#[tokio::test]
async fn slow_body_gets_408() {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    cfg.limits.body_prefix_timeout = Duration::from_millis(400);
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        .await
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 408"),
        "{out:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(up.count(), 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn stalled_upstream_response_is_cut_after_read_timeout() {
    // An upstream that sends a head promising 100 bytes, sends 3 and stalls.
    let stall_addr = raw_upstream(|mut tcp| async move {
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let mut cfg = config(vec![stall_addr]);
    cfg.pools[0].read_timeout = Duration::from_millis(500);
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let resp = client()
        .request(
            Request::get(format!("http://{addr}/"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let started = Instant::now();
    let body = tokio::time::timeout(Duration::from_secs(5), resp.into_body().collect()).await;
    assert!(
        matches!(body, Ok(Err(_))),
        "the truncated body ends in an error, not a hang"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    proxy.shutdown().await;
}

#[tokio::test]
async fn an_upstream_answering_before_the_upload_ends_is_heard() {
    // The upstream reads the head only and refuses at once, as a server with an upload limit does.
    let up = raw_upstream(|mut tcp| async move {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let _ = tcp
            .write_all(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\nconnection: close\r\n\r\nfull")
            .await;
        // Keep reading (and dropping) until the proxy lets go of the connection.
        let mut sink = vec![0u8; 64 * 1024];
        while tcp.read(&mut sink).await.unwrap_or(0) > 0 {}
    })
    .await;
    let mut cfg = config(vec![up]);
    cfg.limits.inspection_limit = 8 * 1024;
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    // A chunked upload that goes on well past the inspection window and never ends by itself.
    let chunks = (0..4096)
        .map(|_| Bytes::from(vec![b'x'; 16 * 1024]))
        .collect();
    let c: Client<_, ChunkBody> = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::post(format!("http://{addr}/upload"))
        .body(ChunkBody(chunks))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), c.request(req))
        .await
        .expect("an answer before the upload ends")
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "full");
    proxy.shutdown().await;
}

#[tokio::test]
async fn upstream_answer_fields_pass_as_sent_with_one_framing() {
    // Names in their own case, a field listed by `Connection`, a repeated length and a date of its own.
    let up = raw_upstream(|mut tcp| async move {
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .write_all(
                b"HTTP/1.1 200 OK\r\nX-Up-Case: Yes\r\nConnection: X-Private\r\nX-Private: 1\r\n\
                  Content-Length: 2, 2\r\nDate: Tue, 01 Dec 2026 00:00:00 GMT\r\nSet-Cookie: a=1\r\n\
                  Set-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok",
            )
            .await;
    })
    .await;
    let proxy = start(config(vec![up]), allow_all()).await;
    let addr = proxy.local_addrs()[0];
    let reply = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "ok");
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    assert!(lines.contains(&"X-Up-Case: Yes"), "{head}");
    assert!(
        lines.contains(&"Set-Cookie: a=1") && lines.contains(&"Set-Cookie: b=2"),
        "{head}"
    );
    assert!(
        lines.contains(&"Date: Tue, 01 Dec 2026 00:00:00 GMT"),
        "{head}"
    );
    let lower = head.to_ascii_lowercase();
    assert_eq!(lower.matches("content-length").count(), 1, "{head}");
    assert!(lower.contains("content-length: 2\r\n"), "{head}");
    assert_eq!(lower.matches("\r\ndate:").count(), 1, "{head}");
    assert!(!lower.contains("x-private"), "{head}");
    proxy.shutdown().await;
}
