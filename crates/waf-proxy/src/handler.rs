//! One request: hygiene checks, routing, inspection of the head and body prefix, then forwarding with the rest of
//! the body streamed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Body as _;
use ipnet::IpNet;
use portcullis_waf_request::Request as WafRequest;

use crate::body::{
    BodyReadError, ClientBody, ForwardBody, LimitFlag, Prefix, ProxyBody, full, read_prefix,
    upstream_body,
};
use crate::config::{FailMode, Limits};
use crate::connpool::{ResponseBody, Rewrite, SendError, Upgraded, is_idempotent};
use crate::forwarded;
use crate::head::{Fields, Head};
use crate::hop;
use crate::inspect::{Decision, InspectContext, Inspection, Inspector, InspectorCell};
use crate::logging::Logging;
use crate::metrics;
use crate::observe::{RequestView, observe};
use crate::samples::Samples;
use crate::sniff::HeadChecks;
use crate::upstream::Pool;
use portcullis_waf_challenge::{ClientRequest, Interstitials, MAX_BODY as MAX_INTERSTITIAL_BODY};

/// State shared by every listener of one proxy.
pub(crate) struct Shared {
    pub limits: Limits,
    pub trusted: Vec<IpNet>,
    pub fail_mode: FailMode,
    pub per_ip: PerIp,
    pub logging: Logging,
    pub samples: Samples,
    pub interstitials: Option<Arc<Interstitials>>,
}

/// A compiled route.
#[derive(Clone)]
pub(crate) struct Route {
    pub host: Option<String>,
    pub prefix: String,
    pub pool: Arc<Pool>,
    pub pool_name: Arc<str>,
    /// `portcullis_waf_upstream_duration_seconds{pool}`, resolved once.
    pub latency: ::metrics::Histogram,
}

/// State of one listener.
#[derive(Clone)]
pub(crate) struct ListenerCtx {
    pub name: Arc<str>,
    pub inspector: InspectorCell,
    /// The inspector of `inspector` when this context was made, with its generation: used while the cell's
    /// generation is unchanged, so a request takes no lock and touches no shared reference count.
    pub snapshot: (u64, Arc<dyn Inspector>),
    pub scheme: &'static str,
    pub routes: Vec<Route>,
    pub shared: Arc<Shared>,
}

impl ListenerCtx {
    /// A copy for one worker (its own reference counts), with a fresh inspector snapshot.
    pub fn worker_copy(&self) -> Self {
        Self {
            snapshot: self.inspector.snapshot(),
            ..self.clone()
        }
    }
}

/// What the handler knows about the connection a request came on.
pub(crate) struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub checks: HeadChecks,
    /// The peer address as an `X-Forwarded-For` value, made once.
    pub peer_text: Option<HeaderValue>,
    /// The in-flight request count of the peer's IP address (shared by all its connections).
    pub per_ip: Arc<AtomicUsize>,
}

/// Requests in flight per client IP: one counter per address, looked up once per connection
/// ([`PerIp::counter`]); a request only increments and decrements it.
#[derive(Clone, Default)]
pub(crate) struct PerIp(Arc<Mutex<PerIpMap>>);

#[derive(Default)]
struct PerIpMap {
    counters: HashMap<IpAddr, Weak<AtomicUsize>>,
    /// Sweep the counters no connection holds any more when the map reaches this size.
    sweep_at: usize,
}

/// One request of a connection, from its head until its response ends (or is abandoned): dropping it tells the
/// connection's head watchdog that the connection waits for a head again.
pub(crate) struct Turn(Arc<ConnInfo>);

impl Turn {
    fn new(conn: &Arc<ConnInfo>) -> Self {
        Self(Arc::clone(conn))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.checks.answered();
    }
}

/// Holds one slot of a client IP's request budget, and the request's [`Turn`] (whose connection keeps the counter
/// alive).
pub(crate) struct IpSlot(Turn);

impl PerIp {
    /// The counter of `ip`, shared with the other connections from that address.
    pub fn counter(&self, ip: IpAddr) -> Arc<AtomicUsize> {
        let Ok(mut map) = self.0.lock() else {
            // Poisoned (cannot happen: nothing panics under the lock): count this connection alone.
            return Arc::default();
        };
        if let Some(c) = map.counters.get(&ip).and_then(Weak::upgrade) {
            return c;
        }
        let counter = Arc::new(AtomicUsize::new(0));
        map.counters.insert(ip, Arc::downgrade(&counter));
        if map.counters.len() >= map.sweep_at {
            map.counters.retain(|_, c| c.strong_count() > 0);
            map.sweep_at = (map.counters.len() * 2).max(64);
        }
        counter
    }

    /// How many addresses have a counter (live or not yet swept).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.counters.len())
    }
}

impl IpSlot {
    /// One more request from the address of `turn`'s connection, unless it already has `max` in flight (the turn
    /// back then).
    fn acquire(turn: Turn, max: usize) -> Result<Self, Turn> {
        let per_ip = &turn.0.per_ip;
        if per_ip.fetch_add(1, Ordering::AcqRel) >= max {
            per_ip.fetch_sub(1, Ordering::AcqRel);
            return Err(turn);
        }
        Ok(Self(turn))
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        self.0.0.per_ip.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A plain-text response; `close` asks the server side to close an HTTP/1 connection after it.
fn plain(status: StatusCode, text: &str, close: bool) -> Response<ProxyBody> {
    let mut resp = Response::new(full(format!("{text}\n")));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

fn version_text(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The request's host: its `Host` field, else the authority of its target.
fn request_host(head: &Head) -> Option<String> {
    head.fields
        .get("host")
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned)
        .or_else(|| head.uri.authority().map(|a| a.as_str().to_owned()))
}

fn strip_port(host: &str) -> String {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    h.to_ascii_lowercase()
}

/// The `Upgrade` value of an HTTP/1.1 WebSocket handshake (`GET`, `Connection: upgrade`, `Upgrade: websocket`),
/// or `None` for any other request.
fn websocket_upgrade(head: &Head) -> Option<HeaderValue> {
    if head.version != Version::HTTP_11 || head.method != Method::GET {
        return None;
    }
    let has_token = |name: &str, token: &[u8]| {
        head.fields
            .get_all(name)
            .flat_map(hop::tokens)
            .any(|t| t.eq_ignore_ascii_case(token))
    };
    if !has_token("connection", b"upgrade") || !has_token("upgrade", b"websocket") {
        return None;
    }
    head.fields.value_of("upgrade")
}

/// Carries bytes both ways between an upgraded client connection and an upgraded upstream connection until
/// either side closes (what the upstream sent right after its 101 goes to the client first); `guard` (the
/// client's request slot and the upstream server's in-flight count) is held for as long as the tunnel lives.
async fn tunnel<G: Send>(
    listener: Arc<str>,
    peer: SocketAddr,
    client: crate::h1::OnUpgrade,
    upstream: Upgraded,
    guard: G,
) {
    use tokio::io::AsyncWriteExt as _;
    let client = match client.await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(%listener, %peer, error = %e, "WebSocket upgrade did not complete");
            return;
        }
    };
    let mut client = client;
    let Upgraded {
        io: mut upstream,
        read_ahead,
    } = upstream;
    if !read_ahead.is_empty()
        && let Err(e) = client.write_all(&read_ahead).await
    {
        tracing::debug!(%listener, %peer, error = %e, "WebSocket ended with an error");
        return;
    }
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((up, down)) => {
            tracing::debug!(%listener, %peer, bytes_up = up, bytes_down = down, "WebSocket closed")
        }
        Err(e) => tracing::debug!(%listener, %peer, error = %e, "WebSocket ended with an error"),
    }
    drop(guard);
}

/// Handle one request; never fails (every problem is a response).
pub(crate) async fn handle(
    ctx: Arc<ListenerCtx>,
    conn: Arc<ConnInfo>,
    head: Head,
    body: ClientBody,
) -> Response<ProxyBody> {
    let turn = Turn::new(&conn);
    let h1 = head.version != Version::HTTP_2;
    if h1 && let Some(problem) = conn.checks.next() {
        tracing::warn!(listener = %ctx.name, peer = %conn.peer, reason = problem.reason(), "rejected malformed request");
        metrics::rejected(&ctx.name, "smuggling");
        return plain(
            StatusCode::BAD_REQUEST,
            &format!("Bad Request: {}", problem.reason()),
            true,
        );
    }
    // Pinned in place rather than awaited as a temporary: in the release build `inner(..).await` laid out the inner
    // future twice in this one (the value and the awaited copy; each level twice the one it awaits): 28.7 KiB per
    // request future, 6.5 KiB pinned (docs/benchmarks.md, 2026-12-02).
    let checked = std::pin::pin!(handle_checked(&ctx, &conn, turn, head, body, h1));
    checked.await
}

async fn handle_checked(
    ctx: &ListenerCtx,
    conn: &Arc<ConnInfo>,
    turn: Turn,
    mut head: Head,
    mut body: ClientBody,
    h1: bool,
) -> Response<ProxyBody> {
    let shared = &ctx.shared;
    // A WebSocket handshake is inspected like any request; only when the web ACL lets it through and the
    // upstream answers 101 do the two connections get joined.
    let websocket = websocket_upgrade(&head)
        .and_then(|value| Some((value, crate::h1::OnUpgrade::take(&mut body)?)));
    let limits = &shared.limits;
    if head.method == Method::CONNECT {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not supported",
            false,
        );
    }
    let Ok(slot) = IpSlot::acquire(turn, limits.max_requests_per_ip) else {
        tracing::warn!(listener = %ctx.name, peer = %conn.peer, "per-IP concurrency limit reached");
        metrics::rejected(&ctx.name, "per_ip_limit");
        return plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", false);
    };
    let host = request_host(&head);
    let route_host = host.as_deref().map(strip_port);
    let Some(route) = ctx.routes.iter().find(|r| {
        r.host
            .as_deref()
            .is_none_or(|h| route_host.as_deref() == Some(h))
            && head.uri.path().starts_with(r.prefix.as_str())
    }) else {
        // A body left unread would race the next request on the connection: close it.
        let unread = h1 && !body.is_end_stream();
        return plain(StatusCode::NOT_FOUND, "No route", unread);
    };
    let declared_len = head
        .fields
        .get("content-length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > limits.max_body_bytes) {
        metrics::rejected(&ctx.name, "body_too_large");
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large", h1);
    }

    let loaded;
    let inspector: &dyn Inspector = if ctx.inspector.generation() == ctx.snapshot.0 {
        &*ctx.snapshot.1
    } else {
        loaded = ctx.inspector.load();
        &*loaded
    };
    let window = inspector.body_limit().unwrap_or(limits.inspection_limit);
    // No body (most GETs): nothing to wait for, so no timer (`timeout` reads the clock and builds a timer entry).
    let no_body = body.is_end_stream();
    let read = read_prefix(body, window, limits.max_body_bytes);
    let read = if no_body {
        Ok(read.await)
    } else {
        tokio::time::timeout(limits.body_prefix_timeout, read).await
    };
    let prefix = match read {
        Err(_) => {
            tracing::warn!(listener = %ctx.name, peer = %conn.peer, "request body too slow");
            metrics::rejected(&ctx.name, "body_timeout");
            return plain(StatusCode::REQUEST_TIMEOUT, "Request Timeout", true);
        }
        Ok(Ok(p)) => p,
        Ok(Err(BodyReadError::TooLarge)) => {
            metrics::rejected(&ctx.name, "body_too_large");
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large", h1);
        }
        Ok(Err(BodyReadError::Client(e))) => {
            tracing::warn!(listener = %ctx.name, peer = %conn.peer, error = %e, "bad request body");
            metrics::rejected(&ctx.name, "malformed_body");
            return plain(StatusCode::BAD_REQUEST, "Bad Request: malformed body", true);
        }
    };
    // Borrowed from the head until its target moves upstream.
    let uri = std::mem::take(&mut head.uri);
    let path = uri.path();
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    // Inspection and its answers, in a scope of their own: the header map below is not `Sync`, and must be gone
    // before the request waits for the upstream.
    let pass = inspector.allows_everything();
    let insert_headers = {
        // The challenge code reads a `HeaderMap`: made only for the requests that reach it.
        let map = std::cell::OnceCell::new();
        let headers = || map.get_or_init(|| head.fields.to_map());

        // CAPTCHA and challenge: the verify endpoints answer before the web ACL (a Challenge rule on `/` must not
        // challenge its own answer), and the client's token is checked for the engine.
        // Without a web ACL (`allows_everything`) only the verify endpoints need the client's token state.
        // The client's binding (a hash of its network and User-Agent) and the clock are read only when something
        // uses them: an endpoint, a token to check, a CAPTCHA or challenge page; most requests need none.
        let client_request = || {
            ClientRequest::new(
                route_host.as_deref().unwrap_or_default(),
                ctx.scheme == "https",
                conn.peer.ip(),
                headers(),
                epoch_ms(),
            )
        };
        let mut cx = InspectContext::default();
        if let Some(inter) = &shared.interstitials {
            if Interstitials::is_endpoint(path_and_query) {
                let answer_body = prefix.inspected(MAX_INTERSTITIAL_BODY);
                if let Some(resp) = inter.intercept(
                    &client_request(),
                    &head.method,
                    path_and_query,
                    headers(),
                    &answer_body,
                ) {
                    return resp.map(full);
                }
            }
            if !pass && may_carry_token(&head.fields) && Interstitials::carries_token(headers()) {
                cx.token =
                    inter.token_state(&client_request(), headers(), inspector.token_domains());
            }
        }

        let decision = if pass {
            Ok(Ok(Decision::allow()))
        } else {
            let args = InspectArgs {
                ctx,
                conn,
                head: &head,
                query: uri.query().unwrap_or(""),
                host: host.as_deref(),
                path,
                path_and_query,
                prefix: &prefix,
                window,
                declared_len,
            };
            inspect(&args, inspector, &cx)
        };
        // Answered here with part of the body unread: the client must not reuse the connection (it would race the
        // close that follows).
        let unread = h1 && !prefix.complete();
        match decision {
            Ok(Ok(Decision::Allow { insert_headers })) => insert_headers,
            Ok(Ok(Decision::Block(block))) => {
                tracing::info!(listener = %ctx.name, peer = %conn.peer, path = %path, status = block.status, "request blocked");
                let mut resp = Response::new(full(block.body));
                *resp.status_mut() =
                    StatusCode::from_u16(block.status).unwrap_or(StatusCode::FORBIDDEN);
                for (n, v) in &block.headers {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(n.as_bytes()),
                        HeaderValue::from_str(v),
                    ) {
                        resp.headers_mut().append(n, v);
                    }
                }
                return closing(resp, unread);
            }
            Ok(Ok(Decision::Captcha)) => {
                let resp = match &shared.interstitials {
                    Some(inter) => inter
                        .captcha_page(&client_request(), path_and_query)
                        .map(full),
                    None => interstitial(StatusCode::METHOD_NOT_ALLOWED, "captcha"),
                };
                return closing(resp, unread);
            }
            Ok(Ok(Decision::Challenge)) => {
                let resp = match &shared.interstitials {
                    Some(inter) => inter
                        .challenge_page(&client_request(), path_and_query)
                        .map(full),
                    None => interstitial(StatusCode::ACCEPTED, "challenge"),
                };
                return closing(resp, unread);
            }
            Ok(Err(e)) => match fail(ctx, conn, &e.to_string()) {
                Some(resp) => return closing(resp, unread),
                None => Vec::new(),
            },
            Err(_) => match fail(ctx, conn, "inspector panicked") {
                Some(resp) => return closing(resp, unread),
                None => Vec::new(),
            },
        }
    };

    // What changes on the way upstream; the client's head itself is written as it is, minus what this drops.
    let mut rewrite = Rewrite::new(std::mem::take(&mut head.fields));
    if let Some((upgrade, _)) = &websocket {
        rewrite.set(header::CONNECTION, HeaderValue::from_static("upgrade"));
        rewrite.set(header::UPGRADE, upgrade.clone());
    }
    if !rewrite.client().contains("host")
        && let Some(h) = host.as_deref().and_then(|h| HeaderValue::from_str(h).ok())
    {
        rewrite.set(header::HOST, h);
    }
    let forwarding = forwarded::fields_of(
        rewrite.client(),
        conn.peer.ip(),
        conn.peer_text.clone(),
        &shared.trusted,
        ctx.scheme,
        host.as_deref(),
    );
    for (name, field) in forwarding {
        match field {
            forwarded::Field::Keep => {}
            forwarded::Field::Set(value) => rewrite.set(name, value),
            forwarded::Field::Remove => rewrite.remove(name),
        }
    }
    for (n, v) in insert_headers {
        match (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            (Ok(n), Ok(v)) => rewrite.set(n, v),
            _ => {
                tracing::warn!(header = %n, "inspector asked to insert an invalid header; skipped")
            }
        }
    }
    // Origin-form target: the client's own when it sent one (no rebuild), else its path and query.
    let uri = if uri.scheme().is_none() && uri.authority().is_none() {
        uri
    } else {
        origin_form(&uri)
    };
    let replayable = is_idempotent(&head.method) && prefix.complete();
    let (body, flags) = ForwardBody::new(prefix, limits.max_body_bytes);
    // The client's fields go upstream from `rewrite`; this request's own header map stays empty.
    let mut upstream_req = Request::new(body);
    *upstream_req.method_mut() = head.method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.version_mut() = Version::HTTP_11;
    if !pass {
        // Let the worker inspect every other request that is ready before this one goes upstream: their writes
        // then reach the upstream together, and it wakes once for the lot instead of once per request (an
        // inspected request takes long enough for the upstream to fall asleep between two of them). Behind the
        // managed groups this cut the upstream's and the proxy's kernel time per request by about a quarter.
        // Without a web ACL requests come fast enough to batch by themselves, and the extra poll would cost more.
        tokio::task::yield_now().await;
    }
    let started = std::time::Instant::now();
    // Pinned in place for the size of this future, as in `handle`.
    let sent = std::pin::pin!(send(
        &route.pool,
        upstream_req,
        &rewrite,
        replayable,
        &flags
    ));
    match sent.await {
        Ok((resp, in_flight)) => {
            route.latency.record(started.elapsed().as_secs_f64());
            if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
                // The connection becomes the tunnel: it never goes back to the idle list.
                let (mut parts, body) = resp.into_parts();
                let (Some((_, client_upgrade)), Some(upstream_upgrade)) =
                    (websocket, body.into_upgraded())
                else {
                    tracing::warn!(listener = %ctx.name, pool = %route.pool.config.name, "upstream switched protocols without being asked");
                    metrics::upstream_error(&route.pool_name, "other");
                    return plain(StatusCode::BAD_GATEWAY, "Bad Gateway", false);
                };
                let upgrade = parts.headers.get(header::UPGRADE).cloned();
                hop::strip(&mut parts.headers);
                parts
                    .headers
                    .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                if let Some(v) = upgrade {
                    parts.headers.insert(header::UPGRADE, v);
                }
                tokio::spawn(tunnel(
                    Arc::clone(&ctx.name),
                    conn.peer,
                    client_upgrade,
                    upstream_upgrade,
                    (slot, in_flight),
                ));
                return Response::from_parts(parts, full(Bytes::new()));
            }
            // The client's connection is not the upstream's: the response came without hop-by-hop fields.
            let (parts, body) = resp.into_parts();
            let body = upstream_body(body, route.pool.config.read_timeout, (slot, in_flight));
            Response::from_parts(parts, body)
        }
        Err(failure) => {
            tracing::warn!(listener = %ctx.name, peer = %conn.peer, pool = %route.pool.config.name, reason = failure.reason, "upstream request failed");
            if let Some(kind) = failure.kind {
                metrics::upstream_error(&route.pool_name, kind);
            }
            plain(
                failure.status,
                failure.reason,
                h1 && failure.status.is_client_error(),
            )
        }
    }
}

thread_local! {
    /// The engine's request of this thread's last inspection, refilled by the next (its header names and values
    /// keep their buffers: one allocation fewer per field).
    static SPARE_REQUEST: std::cell::Cell<Option<WafRequest>> = const { std::cell::Cell::new(None) };
}

/// The largest engine request kept for the next inspection (bytes of buffers): one with a body window of up to
/// 64 KiB and an ordinary head; a larger one is freed.
const SPARE_REQUEST_MAX: usize = 80 * 1024;

/// What [`inspect`] reads of a request.
struct InspectArgs<'a> {
    ctx: &'a ListenerCtx,
    conn: &'a ConnInfo,
    head: &'a Head,
    query: &'a str,
    host: Option<&'a str>,
    path: &'a str,
    path_and_query: &'a str,
    prefix: &'a Prefix,
    window: usize,
    declared_len: Option<u64>,
}

/// Build the engine's request, run the inspector (a panic is caught: the outer `Err`), and report what the web
/// ACL matched to the metrics, samples and logs.
fn inspect(
    a: &InspectArgs<'_>,
    inspector: &dyn crate::inspect::Inspector,
    cx: &InspectContext,
) -> std::thread::Result<Result<Decision, crate::inspect::InspectError>> {
    let InspectArgs {
        ctx,
        conn,
        head,
        query,
        host,
        path,
        path_and_query,
        prefix,
        window,
        declared_len,
    } = *a;
    let shared = &ctx.shared;
    let waf_req = {
        let inspected = prefix.inspected(window);
        let total = match (declared_len, prefix.complete()) {
            (Some(n), _) => n,
            (None, true) => prefix.len,
            (None, false) => prefix.len.max(inspected.len() as u64 + 1),
        };
        let mut b = SPARE_REQUEST
            .take()
            .map_or_else(WafRequest::builder, WafRequest::refill)
            .client_addr(conn.peer)
            .server_addr(conn.local)
            .method(head.method.as_str())
            .uri(path_and_query)
            .version(version_text(head.version));
        if !head.fields.contains("host")
            && let Some(h) = host
        {
            b = b.header("host", h);
        }
        for (name, value) in head.fields.iter() {
            // Names are tokens (checked by the parser): ASCII.
            if let Ok(name) = std::str::from_utf8(name) {
                b.push_header(name, value);
            }
        }
        b.body(inspected).body_total_len(total).build()
    };
    let inspection =
        std::panic::catch_unwind(AssertUnwindSafe(|| inspector.inspect_with(&waf_req, cx)));
    if waf_req.footprint() <= SPARE_REQUEST_MAX {
        SPARE_REQUEST.set(Some(waf_req));
    }
    // Metrics, samples and logs are taken from the web ACL's report before the head is moved upstream.
    inspection.map(|result| {
        result.map(|Inspection { decision, detail }| {
            if let Some(detail) = detail {
                let view = RequestView {
                    listener: &ctx.name,
                    client_ip: conn.peer.ip(),
                    headers: &head.fields,
                    method: head.method.as_str(),
                    path,
                    query,
                    version: version_text(head.version),
                };
                observe(&detail, &decision, &view, &shared.logging, &shared.samples);
            }
            decision
        })
    })
}

/// `resp`, with `Connection: close` when `close` is set.
fn closing(mut resp: Response<ProxyBody>, close: bool) -> Response<ProxyBody> {
    if close {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

fn interstitial(status: StatusCode, action: &'static str) -> Response<ProxyBody> {
    let mut resp = plain(status, &format!("This request requires a {action}."), false);
    resp.headers_mut()
        .insert("x-amzn-waf-action", HeaderValue::from_static(action));
    resp
}

/// Apply the fail mode: `Some(response)` to refuse, `None` to forward uninspected.
fn fail(ctx: &ListenerCtx, conn: &ConnInfo, why: &str) -> Option<Response<ProxyBody>> {
    match ctx.shared.fail_mode {
        FailMode::Closed { status } => {
            tracing::error!(listener = %ctx.name, peer = %conn.peer, error = why, "inspection failed; request refused (fail closed)");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(plain(status, "Request could not be inspected", false))
        }
        FailMode::Open => {
            tracing::warn!(listener = %ctx.name, peer = %conn.peer, error = why, "inspection failed; request forwarded (fail open)");
            None
        }
    }
}

struct SendFailure {
    status: StatusCode,
    reason: &'static str,
    /// The `kind` of `portcullis_waf_upstream_errors_total`; `None` when the client was at fault.
    kind: Option<&'static str>,
}

/// `uri`'s path and query alone (`/` when it has none), for an upstream request line.
fn origin_form(uri: &http::Uri) -> http::Uri {
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(
        uri.path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    http::Uri::from_parts(parts).unwrap_or_else(|_| http::Uri::from_static("/"))
}

/// Send `req` to a server of `pool`, retrying on another server when no connection could be made (the request
/// was not sent) and `replayable` (idempotent method, whole body buffered) allows it.
async fn send(
    pool: &Arc<Pool>,
    mut req: Request<ForwardBody>,
    rewrite: &Rewrite,
    replayable: bool,
    flags: &LimitFlag,
) -> Result<(Response<ResponseBody>, crate::upstream::InFlight), SendFailure> {
    // Servers already tried: filled only when a request is retried, so the usual single attempt allocates nothing.
    let mut tried = Vec::new();
    let mut attempt = 0;
    let attempts = if replayable {
        1 + pool.config.retries as usize
    } else {
        1
    };
    loop {
        let Some((index, in_flight)) = pool.pick(&tried) else {
            return Err(SendFailure {
                status: StatusCode::BAD_GATEWAY,
                reason: "No upstream available",
                kind: Some("unavailable"),
            });
        };
        attempt += 1;
        let Some(addr) = pool.servers.get(index).map(|s| s.addr) else {
            return Err(SendFailure {
                status: StatusCode::BAD_GATEWAY,
                reason: "No upstream available",
                kind: Some("unavailable"),
            });
        };
        if !rewrite.sends(&header::HOST)
            && !req.headers().contains_key(header::HOST)
            && let Ok(v) = HeaderValue::from_str(&addr.to_string())
        {
            req.headers_mut().insert(header::HOST, v);
        }
        match pool
            .conns
            .send(index, addr, req, rewrite, pool.config.read_timeout)
            .await
        {
            Ok(resp) => return Ok((resp, in_flight)),
            Err(SendError::Connect(unsent, e)) => {
                tracing::debug!(upstream = %addr, error = %e, "upstream connect failed");
                if attempt < attempts {
                    tried.push(index);
                    req = *unsent;
                    continue;
                }
                return Err(SendFailure {
                    status: StatusCode::BAD_GATEWAY,
                    reason: "Bad Gateway",
                    kind: Some("connect"),
                });
            }
            Err(SendError::Failed(e)) => {
                if flags.hit() {
                    return Err(SendFailure {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        reason: "Payload Too Large",
                        kind: None,
                    });
                }
                if flags.client_error() {
                    return Err(SendFailure {
                        status: StatusCode::BAD_REQUEST,
                        reason: "Bad Request: malformed body",
                        kind: None,
                    });
                }
                tracing::debug!(upstream = %addr, error = %e, "upstream error");
                return Err(SendFailure {
                    status: StatusCode::BAD_GATEWAY,
                    reason: "Bad Gateway",
                    kind: Some("other"),
                });
            }
            Err(SendError::TimedOut) => {
                return Err(SendFailure {
                    status: StatusCode::GATEWAY_TIMEOUT,
                    reason: "Gateway Timeout",
                    kind: Some("timeout"),
                });
            }
        }
    }
}

/// Whether the client may have sent a CAPTCHA or challenge token (an `x-aws-waf-token` field, or a cookie field
/// that mentions `aws-waf-token`): most requests do not, and then no header map is made for the challenge code.
fn may_carry_token(fields: &Fields) -> bool {
    fields.contains("x-aws-waf-token")
        || fields
            .get_all("cookie")
            .any(|v| memchr::memmem::find(v, b"aws-waf-token").is_some())
}

/// Milliseconds since the Unix epoch (token times).
fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("Example.COM:8080"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("a.b"), "a.b");
    }

    #[test]
    fn per_ip_slots() {
        let p = PerIp::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let conn = |per_ip| {
            Arc::new(ConnInfo {
                peer: SocketAddr::new(ip, 1),
                local: SocketAddr::new(ip, 2),
                checks: crate::sniff::Tap::disabled().1,
                peer_text: None,
                per_ip,
            })
        };
        // Two connections from one address share its budget.
        let (c1, c2) = (conn(p.counter(ip)), conn(p.counter(ip)));
        let acquire = |c: &Arc<ConnInfo>, max| IpSlot::acquire(Turn::new(c), max).ok();
        let a = acquire(&c1, 2).unwrap();
        let _b = acquire(&c2, 2).unwrap();
        assert!(acquire(&c1, 2).is_none());
        assert!(acquire(&c2, 2).is_none());
        drop(a);
        assert!(acquire(&c2, 2).is_some());
        // Another address has its own.
        let other = conn(p.counter("192.0.2.2".parse().unwrap()));
        assert!(acquire(&other, 1).is_some());
        // Counters of closed connections are swept.
        drop((c1, c2, other, _b));
        for i in 0..200u8 {
            drop(p.counter(IpAddr::from([198, 51, 100, i])));
        }
        assert!(p.len() < 100, "{}", p.len());
    }
}
