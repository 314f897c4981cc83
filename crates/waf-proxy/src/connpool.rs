//! The proxy's HTTP/1.1 client: keep-alive connections to the upstream servers, kept per thread, and the exchange
//! of one request and its response on them.
//!
//! The request head is written straight from the client's head (runs of the client's field lines copied as they
//! came, the proxy's edits after them; one write with the body when the body is buffered and small), the response head is parsed with httparse into the `HeaderMap` the listener answers with
//! (field values share the bytes read), and the response body is read from the connection by the body that the
//! listener polls: no task, channel or dispatcher sits between the request and its connection.
//!
//! - **Per thread**: every thread that forwards requests (a worker runtime's thread, or a thread of the shared
//!   runtime when [`crate::ProxyConfig::workers`] is 0) keeps its own idle connections per pool and server in a
//!   thread-local list: taking a connection and giving it back touch no lock and no other thread's memory.
//! - **Reuse**: the most recently used idle connection first (LIFO: the warmest one; the others age out). An idle
//!   connection that the upstream closed (or that has bytes nobody asked for) is dropped when it is taken: its
//!   socket's read readiness says so without a system call unless something arrived.
//! - **Idle limits**: at most [`crate::PoolConfig::max_idle_per_upstream`] idle connections per server and thread
//!   (0: no reuse); none idle for longer than [`IDLE_TIMEOUT`] is reused.
//! - **Return**: a connection goes back only when its response body was read to the end by its framing, nothing
//!   follows it, and neither side asked to close (`Connection: close`, HTTP/1.0 without `keep-alive`, a body
//!   delimited by the close, both `Transfer-Encoding` and `Content-Length`, a response that came before the
//!   request body was sent). A body dropped earlier closes its connection.
//! - **Framing** (RFC 9112 §6): no body for `HEAD`, 1xx, 204 and 304; chunked when `chunked` is the last transfer
//!   coding (its `Content-Length`, if any, is removed: it must not reach the client); another transfer coding or no
//!   length reads to the close; differing or invalid `Content-Length` values are refused. Interim 1xx responses
//!   other than 101 are skipped; a 101 hands the connection over ([`ResponseBody::into_upgraded`]).
//! - **Request bodies**: a buffered body goes with its length (`Content-Length` added when the client sent none);
//!   a body still streaming from the client goes with the client's `Content-Length`, or chunked. While it streams,
//!   the response is read at the same time: an upstream that answers early stops the upload.
//! - **A reused connection closed under the request** (the upstream's idle timeout raced it: nothing came back)
//!   is retried on the next idle connection or a new one when the method is idempotent and the body buffered;
//!   otherwise the request fails. A connection that cannot be made hands the request back unsent
//!   ([`SendError::Connect`]) so that the caller may try another server.
//! - **Timeouts**: connecting has the pool's connect timeout. The read timeout runs from when a request first
//!   waits on its connection (to write, or for the answer) to the end of the response head. Each connection has
//!   one timer, moved to every request's deadline: a later deadline is noted without touching the runtime's timer
//!   wheel, where a new timer per request was registered there and removed again.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::body::{BoxError, ForwardBody};
use crate::head::Fields;

/// How long an idle upstream connection may wait for its next request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest response head (or trailer section) accepted from an upstream.
const MAX_HEAD: usize = 64 * 1024;

/// The most fields a response head may carry (hyper's default, which the client used before).
const MAX_FIELDS: usize = 100;

/// The room asked of the socket for each read.
const READ_CHUNK: usize = 16 * 1024;

/// A buffered request body up to this size goes out in the same write as the head.
const INLINE_BODY: usize = 16 * 1024;

/// The longest chunk-size line of a chunked response body (size and extensions).
const MAX_CHUNK_LINE: usize = 4096;

/// Methods whose requests may be sent again: they mean the same when repeated.
pub(crate) fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// One HTTP/1.1 connection to an upstream server, with the bytes read from it and not yet used.
struct Conn {
    io: TcpStream,
    buf: BytesMut,
    /// The read timeout's timer, made when the first request on the connection had to wait.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Conn {
    fn new(io: TcpStream) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            timer: None,
        }
    }

    /// Whether an idle connection can carry a request: nothing unread and the upstream has not closed it. Read
    /// readiness is tracked by the runtime (a short read clears it), so an untouched idle socket answers without a
    /// system call; a ready one is looked at once.
    fn reusable_when_idle(&self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match self.io.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                // Bytes nobody asked for, or the close: either way the connection is done.
                matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            }
        }
    }
}

/// An idle connection and when it went idle.
struct Idle {
    conn: Conn,
    since: Instant,
}

/// One pool's idle connections on one thread, per server.
struct Local {
    id: u64,
    alive: Weak<()>,
    servers: Vec<Vec<Idle>>,
}

thread_local! {
    static IDLE: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's idle lists of pool `id`, created when missing if `alive` (the pool's liveness) is
/// given. `None` when there are none, the pool is gone or the thread's storage is unavailable (thread teardown).
fn with_local<R>(
    id: u64,
    alive: Option<&Weak<()>>,
    f: impl FnOnce(&mut Vec<Vec<Idle>>) -> R,
) -> Option<R> {
    IDLE.try_with(|cell| {
        let mut locals = cell.try_borrow_mut().ok()?;
        // Pools that were dropped (reconfiguration) leave with their connections.
        locals.retain(|l| l.alive.strong_count() > 0);
        let pos = match locals.iter().position(|l| l.id == id) {
            Some(pos) => pos,
            None => {
                let alive = alive.filter(|a| a.strong_count() > 0)?;
                locals.push(Local {
                    id,
                    alive: alive.clone(),
                    servers: Vec::new(),
                });
                locals.len() - 1
            }
        };
        locals.get_mut(pos).map(|l| f(&mut l.servers))
    })
    .ok()
    .flatten()
}

/// What went wrong between the proxy and an upstream server.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Reading or writing the connection failed.
    #[error("upstream connection: {0}")]
    Io(#[from] std::io::Error),
    /// The upstream closed the connection without answering.
    #[error("upstream closed the connection before answering")]
    Closed,
    /// The upstream's response broke HTTP/1.1.
    #[error("malformed upstream response: {0}")]
    Malformed(&'static str),
    /// The client's body failed while it was being forwarded (too large, broken framing).
    #[error("request body: {0}")]
    Body(BoxError),
}

/// Why a request could not be forwarded.
pub enum SendError {
    /// No connection could be made (refused, unreachable, connect timeout): the request was not sent and is
    /// handed back.
    Connect(Box<Request<ForwardBody>>, std::io::Error),
    /// The request failed on its connection (while or after being sent).
    Failed(UpstreamError),
    /// The response head did not arrive within the read timeout.
    TimedOut,
}

/// The upstream connections of one pool (see the module doc).
#[derive(Debug)]
pub struct Conns {
    id: u64,
    /// Dropped with the pool: the thread-local lists of a dropped pool are then cleared.
    _alive: Arc<()>,
    /// `alive`, downgraded once (the thread-local lists hold clones).
    weak: Weak<()>,
    max_idle: usize,
    connect_timeout: Duration,
}

/// Where a connection goes back to when its response is done.
#[derive(Debug, Clone, Copy)]
struct Home {
    id: u64,
    server: usize,
    max_idle: usize,
}

/// How one attempt on one connection ended without a response.
enum Attempt {
    /// A reused connection gave nothing back: the upstream had closed it (the request may be sent again if it is
    /// replayable).
    Stale(UpstreamError),
    Failed(UpstreamError),
    /// The read timeout passed.
    TimedOut,
}

impl Conns {
    /// Connections of a pool keeping up to `max_idle` idle ones per server and thread.
    pub fn new(max_idle: usize, connect_timeout: Duration) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let alive = Arc::new(());
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            weak: Arc::downgrade(&alive),
            _alive: alive,
            max_idle,
            connect_timeout,
        }
    }

    /// Send `req` to server `server` (at `addr`) over an idle connection of this thread, or a new one, its head
    /// changed by `rewrite` as it is written; the response head must come within `read_timeout` (see the module
    /// doc). The response's body gives the connection back once it was read to the end.
    pub async fn send(
        &self,
        server: usize,
        addr: SocketAddr,
        req: Request<ForwardBody>,
        rewrite: &Rewrite,
        read_timeout: Duration,
    ) -> Result<Response<ResponseBody>, SendError> {
        let (parts, mut body) = req.into_parts();
        let replayable = is_idempotent(&parts.method) && body.buffered().is_some();
        let out = Outgoing::new(&parts, &body, rewrite);
        let head_request = parts.method == Method::HEAD;
        let home = Home {
            id: self.id,
            server,
            max_idle: self.max_idle,
        };
        while let Some(conn) = self.checkout(server) {
            match exchange(conn, &out, &mut body, head_request, true, read_timeout).await {
                Ok(done) => return Ok(done.into_response(home)),
                Err(Attempt::Stale(_)) if replayable => {}
                Err(Attempt::Stale(e) | Attempt::Failed(e)) => return Err(SendError::Failed(e)),
                Err(Attempt::TimedOut) => return Err(SendError::TimedOut),
            }
        }
        let conn = match self.connect(addr).await {
            Ok(c) => c,
            Err(e) => {
                return Err(SendError::Connect(
                    Box::new(Request::from_parts(parts, body)),
                    e,
                ));
            }
        };
        match exchange(conn, &out, &mut body, head_request, false, read_timeout).await {
            Ok(done) => Ok(done.into_response(home)),
            Err(Attempt::Stale(e) | Attempt::Failed(e)) => Err(SendError::Failed(e)),
            Err(Attempt::TimedOut) => Err(SendError::TimedOut),
        }
    }

    /// The newest idle connection to `server` on this thread that can carry a request, dropping stale and closed
    /// ones.
    fn checkout(&self, server: usize) -> Option<Conn> {
        if self.max_idle == 0 {
            return None;
        }
        // The lists are made here (a response returns its connection to them): a connection released on a thread
        // that never took one for this pool is closed.
        with_local(self.id, Some(&self.weak), |servers| {
            let list = servers.get_mut(server)?;
            prune(list, Instant::now());
            while let Some(idle) = list.pop() {
                if idle.conn.reusable_when_idle() {
                    return Some(idle.conn);
                }
            }
            None
        })
        .flatten()
    }

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Conn> {
        let tcp = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
            Ok(tcp) => tcp?,
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ));
            }
        };
        let _ = tcp.set_nodelay(true);
        Ok(Conn::new(tcp))
    }
}

/// Gives `conn` back to this thread's idle list of `home`.
fn check_in(home: Home, conn: Conn) {
    with_local(home.id, None, |servers| {
        if servers.len() <= home.server {
            servers.resize_with(home.server + 1, Vec::new);
        }
        if let Some(list) = servers.get_mut(home.server) {
            let now = Instant::now();
            prune(list, now);
            if list.len() >= home.max_idle && !list.is_empty() {
                list.remove(0);
            }
            list.push(Idle { conn, since: now });
        }
    });
}

/// Drops the idle connections at the front of `list` (the oldest) that waited longer than [`IDLE_TIMEOUT`].
fn prune(list: &mut Vec<Idle>, now: Instant) {
    let stale = stale_prefix(list.iter().map(|i| i.since), now);
    if stale > 0 {
        list.drain(..stale);
    }
}

/// How many of `since` (oldest first) are older than [`IDLE_TIMEOUT`] at `now`.
fn stale_prefix(since: impl Iterator<Item = Instant>, now: Instant) -> usize {
    since
        .take_while(|&t| now.saturating_duration_since(t) >= IDLE_TIMEOUT)
        .count()
}

/// What the proxy changes in a client's head on the way upstream, applied as the head is written: the client's
/// hop-by-hop fields, the fields its `Connection` names and `Expect` (the proxy met the expectation by reading the
/// body) never go; fields the proxy sets replace the client's of the same name, and fields it removes go.
#[derive(Debug, Default)]
pub(crate) struct Rewrite {
    /// The client's fields, written upstream before the request's own header map (which the proxy leaves empty).
    client: Fields,
    /// Names of the client's fields that stay behind (besides the hop-by-hop ones and `Expect`).
    dropped: Vec<HeaderName>,
    /// Fields written after the client's.
    added: Vec<(HeaderName, HeaderValue)>,
    /// Bit `len % 64` set for the length of every name in `dropped` and `added`: most of the client's fields
    /// have a length none of them has, and skip the comparisons.
    lengths: u64,
}

impl Rewrite {
    /// The rewrite of a client's head with `client` fields: the fields its `Connection` fields name stay behind.
    pub(crate) fn new(client: Fields) -> Self {
        let mut dropped = Vec::new();
        for value in client.get_all("connection") {
            crate::hop::listed_in(value, &mut dropped);
        }
        let lengths = dropped.iter().fold(0, |m, n| m | length_bit(n));
        Self {
            client,
            dropped,
            added: Vec::with_capacity(4),
            lengths,
        }
    }

    /// The rewrite of a request whose fields are all in its own header map.
    #[cfg(test)]
    pub(crate) fn of_map(headers: &HeaderMap) -> Self {
        let dropped = crate::hop::listed(headers);
        let lengths = dropped.iter().fold(0, |m, n| m | length_bit(n));
        Self {
            client: Fields::default(),
            dropped,
            added: Vec::with_capacity(4),
            lengths,
        }
    }

    /// The client's fields.
    pub(crate) fn client(&self) -> &Fields {
        &self.client
    }

    /// Send `name` with `value` only (a field set earlier under the same name included).
    pub(crate) fn set(&mut self, name: HeaderName, value: HeaderValue) {
        self.added.retain(|(n, _)| *n != name);
        self.lengths |= length_bit(&name);
        self.added.push((name, value));
    }

    /// Send no `name` field.
    pub(crate) fn remove(&mut self, name: HeaderName) {
        self.added.retain(|(n, _)| *n != name);
        self.lengths |= length_bit(&name);
        self.dropped.push(name);
    }

    /// Whether the client's field `name` is forwarded.
    fn forwards(&self, name: &HeaderName) -> bool {
        if crate::hop::index_lower(name.as_str()).is_some() || *name == header::EXPECT {
            return false;
        }
        self.lengths & length_bit(name) == 0
            || (!self.added.iter().any(|(n, _)| n == name) && !self.dropped.contains(name))
    }

    /// [`Self::forwards`] for a name as sent (any case).
    fn forwards_raw(&self, name: &[u8]) -> bool {
        if crate::hop::index(name).is_some() || name.eq_ignore_ascii_case(b"expect") {
            return false;
        }
        self.lengths & (1 << (name.len() % 64)) == 0
            || (!self
                .added
                .iter()
                .any(|(n, _)| n.as_str().as_bytes().eq_ignore_ascii_case(name))
                && !self
                    .dropped
                    .iter()
                    .any(|n| n.as_str().as_bytes().eq_ignore_ascii_case(name)))
    }

    /// Whether a `name` field (lower case) goes upstream, from the client or added.
    pub(crate) fn sends(&self, name: &HeaderName) -> bool {
        self.added.iter().any(|(n, _)| n == name)
            || (self.client.contains(name.as_str()) && self.forwards_raw(name.as_str().as_bytes()))
    }

    /// The fields the proxy adds.
    fn added(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.added.iter().map(|(n, v)| (n, v))
    }
}

/// The bit of `name`'s length in [`Rewrite::lengths`].
fn length_bit(name: &HeaderName) -> u64 {
    1 << (name.as_str().len() % 64)
}

/// The request as it goes on the wire: its head (with the body when that is small and buffered) and how the body
/// follows.
struct Outgoing {
    head: Vec<u8>,
    /// The body is in `head` already.
    inline: bool,
    /// The body goes chunked (it streams and the client gave no length, or it has trailers).
    chunked: bool,
}

impl Outgoing {
    fn new(parts: &http::request::Parts, body: &ForwardBody, rewrite: &Rewrite) -> Self {
        let buffered = body.buffered();
        let has_length = parts.headers.contains_key(header::CONTENT_LENGTH)
            || rewrite.client.contains("content-length");
        let chunked = !has_length && buffered.is_none();
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let mut head = Vec::with_capacity(256 + (parts.headers.len() + rewrite.client.len()) * 48);
        head.extend_from_slice(parts.method.as_str().as_bytes());
        head.push(b' ');
        head.extend_from_slice(target.as_bytes());
        head.extend_from_slice(b" HTTP/1.1\r\n");
        rewrite
            .client
            .write_kept(&mut head, |name| rewrite.forwards_raw(name));
        let kept = parts.headers.iter().filter(|(n, _)| rewrite.forwards(n));
        crate::head::write_map(&mut head, kept.chain(rewrite.added()));
        let total: u64 = buffered.map_or(0, |chunks| chunks.iter().map(|c| c.len() as u64).sum());
        if chunked {
            head.extend_from_slice(b"transfer-encoding: chunked\r\n");
        } else if !has_length && (total > 0 || !bodiless_method(&parts.method)) {
            head.extend_from_slice(format!("content-length: {total}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let inline = match buffered {
            Some(chunks) if total <= INLINE_BODY as u64 => {
                for chunk in chunks {
                    head.extend_from_slice(chunk);
                }
                true
            }
            _ => false,
        };
        Self {
            head,
            inline,
            chunked,
        }
    }
}

/// Methods that carry no body in practice: an empty one needs no `Content-Length: 0`.
fn bodiless_method(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// A response head read from an upstream, with its connection.
struct Exchanged {
    conn: Conn,
    head: Response<()>,
    framing: Framing,
    /// The connection may carry another request once the body is read.
    keep_alive: bool,
}

impl Exchanged {
    fn into_response(self, home: Home) -> Response<ResponseBody> {
        let Self {
            conn,
            head,
            framing,
            keep_alive,
        } = self;
        head.map(|()| ResponseBody {
            conn: Some(conn),
            framing,
            keep_alive,
            home,
        })
    }
}

/// Why a request body could not be written.
enum WriteFail {
    /// The client's body failed.
    Body(BoxError),
    /// The connection failed.
    Io(std::io::Error),
}

/// Write the request and read the response head on `conn`, within `read_timeout` of the first wait. `reused`: the
/// connection carried a request before (nothing coming back then means the upstream had closed it).
async fn exchange(
    mut conn: Conn,
    out: &Outgoing,
    body: &mut ForwardBody,
    head_request: bool,
    reused: bool,
    read_timeout: Duration,
) -> Result<Exchanged, Attempt> {
    let Conn { io, buf, timer } = &mut conn;
    let (mut rd, mut wr) = io.split();
    let mut complete_write = true;
    let mut write_error = None;
    let work = async {
        if out.inline {
            if let Err(e) = wr.write_all(&out.head).await {
                write_error = Some(e);
            }
            return Ok(read_head(&mut rd, buf, head_request).await);
        }
        let write = write_request(&mut wr, out, body);
        let read = read_head(&mut rd, buf, head_request);
        tokio::pin!(write, read);
        let mut writing = true;
        loop {
            tokio::select! {
                biased;
                written = &mut write, if writing => {
                    writing = false;
                    match written {
                        Ok(()) => {}
                        Err(WriteFail::Body(e)) => return Err(Attempt::Failed(UpstreamError::Body(e))),
                        Err(WriteFail::Io(e)) => write_error = Some(e),
                    }
                }
                head = &mut read => {
                    // An answer before the whole request went out: the rest of the upload is abandoned, and the
                    // connection with it.
                    complete_write = !writing;
                    break Ok(head);
                }
            }
        }
    };
    let read = match within(timer, read_timeout, work).await {
        Some(Ok(read)) => read,
        Some(Err(attempt)) => return Err(attempt),
        None => return Err(Attempt::TimedOut),
    };
    match read {
        Ok((head, framing, keep_alive)) => Ok(Exchanged {
            head,
            framing,
            keep_alive: keep_alive && complete_write && write_error.is_none(),
            conn,
        }),
        Err(ReadFail::Nothing(e)) => {
            let e = write_error.map_or(e, UpstreamError::Io);
            Err(if reused {
                Attempt::Stale(e)
            } else {
                Attempt::Failed(e)
            })
        }
        Err(ReadFail::Broken(e)) => Err(Attempt::Failed(e)),
    }
}

/// `work`'s output, or `None` when it has not finished `timeout` after it first had to wait. `timer` (the
/// connection's) is moved to the deadline, or made when the connection has none yet. A timeout too large for the
/// clock never passes.
async fn within<F: Future>(
    timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
    work: F,
) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let mut armed = false;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if !armed {
            armed = true;
            let Some(deadline) = tokio::time::Instant::now().checked_add(timeout) else {
                *timer = None;
                return Poll::Pending;
            };
            match timer {
                Some(t) => t.as_mut().reset(deadline),
                None => *timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        match timer.as_mut().map(|t| t.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// Write the request head and its body (the buffered chunks, or the client's frames as they come).
async fn write_request<W: AsyncWrite + Unpin>(
    wr: &mut W,
    out: &Outgoing,
    body: &mut ForwardBody,
) -> Result<(), WriteFail> {
    wr.write_all(&out.head).await.map_err(WriteFail::Io)?;
    if let Some(chunks) = body.buffered() {
        // Length-framed (the client's `Content-Length`, or the one the head was given).
        for chunk in chunks {
            wr.write_all(chunk).await.map_err(WriteFail::Io)?;
        }
        return Ok(());
    }
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(WriteFail::Body)?;
        match frame.into_data() {
            Ok(data) if data.is_empty() => {}
            Ok(data) if out.chunked => {
                let size = format!("{:x}\r\n", data.len());
                wr.write_all(size.as_bytes()).await.map_err(WriteFail::Io)?;
                wr.write_all(&data).await.map_err(WriteFail::Io)?;
                wr.write_all(b"\r\n").await.map_err(WriteFail::Io)?;
            }
            Ok(data) => wr.write_all(&data).await.map_err(WriteFail::Io)?,
            Err(frame) => {
                if let (Ok(trailers), true) = (frame.into_trailers(), out.chunked) {
                    let mut end = b"0\r\n".to_vec();
                    crate::head::write_map(&mut end, &trailers);
                    end.extend_from_slice(b"\r\n");
                    wr.write_all(&end).await.map_err(WriteFail::Io)?;
                    return wr.flush().await.map_err(WriteFail::Io);
                }
            }
        }
    }
    if out.chunked {
        wr.write_all(b"0\r\n\r\n").await.map_err(WriteFail::Io)?;
    }
    wr.flush().await.map_err(WriteFail::Io)
}

/// Why no response head was read.
enum ReadFail {
    /// Not one byte came back.
    Nothing(UpstreamError),
    /// Something came back, but not a response head.
    Broken(UpstreamError),
}

/// Read the final response head (interim 1xx responses other than 101 skipped) into a response with no body, its
/// body's framing, and whether the connection may be kept.
async fn read_head<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    head_request: bool,
) -> Result<(Response<()>, Framing, bool), ReadFail> {
    let mut received = false;
    loop {
        if !buf.is_empty() {
            received = true;
            match parse_head(buf, head_request) {
                Ok(Some(Parsed::Final(head, framing, keep))) => return Ok((head, framing, keep)),
                Ok(Some(Parsed::Interim)) => continue,
                Ok(None) if buf.len() >= MAX_HEAD => {
                    return Err(ReadFail::Broken(UpstreamError::Malformed(
                        "response head too large",
                    )));
                }
                Ok(None) => {}
                Err(e) => return Err(ReadFail::Broken(e)),
            }
        }
        buf.reserve(READ_CHUNK);
        match rd.read_buf(buf).await {
            Ok(0) if received => {
                return Err(ReadFail::Broken(UpstreamError::Malformed(
                    "connection closed inside the response head",
                )));
            }
            Ok(0) => return Err(ReadFail::Nothing(UpstreamError::Closed)),
            Ok(_) => {}
            Err(e) if received => return Err(ReadFail::Broken(e.into())),
            Err(e) => return Err(ReadFail::Nothing(e.into())),
        }
    }
}

/// A complete head at the start of a buffer.
enum Parsed {
    /// The final response head, its body's framing and whether the connection may be kept.
    Final(Response<()>, Framing, bool),
    /// An interim (1xx) response, consumed.
    Interim,
}

/// Parse the response head at the start of `buf`, taking it out of `buf` when complete (`None`: incomplete).
fn parse_head(buf: &mut BytesMut, head_request: bool) -> Result<Option<Parsed>, UpstreamError> {
    let mut slots: [MaybeUninit<httparse::Header<'_>>; MAX_FIELDS] =
        [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(UpstreamError::Malformed("too many header fields"));
        }
        Err(_) => return Err(UpstreamError::Malformed("invalid response head")),
    };
    let code = resp.code.unwrap_or(0);
    let version = if resp.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    if (100..200).contains(&code) && code != 101 {
        buf.advance(len);
        return Ok(Some(Parsed::Interim));
    }
    let status =
        StatusCode::from_u16(code).map_err(|_| UpstreamError::Malformed("invalid status code"))?;
    // The names now, the values as slices of the head once it is taken out of the buffer. Hop-by-hop fields
    // describe this connection only: read here, never passed on (a 101 keeps them for the tunnel's answer).
    let base = buf.as_ptr().addr();
    let mut hop = HopFields::default();
    if code != 101 {
        // The fields stay as the bytes they came in (no header map): the listener writes them on as they are.
        let mut spans = Vec::with_capacity(resp.headers.len());
        let mut lengths: Vec<&[u8]> = Vec::new();
        for field in resp.headers.iter() {
            let name = field.name.as_bytes();
            if hop.take(name, field.value) {
                continue;
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                lengths.push(field.value);
            }
            let n0 = name.as_ptr().addr() - base;
            let v0 = field.value.as_ptr().addr() - base;
            spans.push(((n0, n0 + name.len()), (v0, v0 + field.value.len())));
        }
        let (framing, framing_keeps, mut drop_length) =
            framing_of(status, head_request, hop.chunked, &lengths)?;
        // Repeated or listed lengths (all equal, or the head was refused): the listener writes the one length.
        drop_length |= !head_request
            && matches!(framing, Framing::Length(_))
            && (lengths.len() > 1 || lengths.iter().any(|v| v.contains(&b',')));
        let keep = framing_keeps && hop.keeps_alive(version);
        let bytes = buf.split_to(len).freeze();
        let mut fields = Fields::with_capacity(bytes, spans.len());
        for (name, value) in spans {
            let name_bytes = fields.raw(name.0, name.1);
            let listed = hop
                .listed
                .iter()
                .any(|l| l.as_str().as_bytes().eq_ignore_ascii_case(name_bytes));
            if listed || (drop_length && name_bytes.eq_ignore_ascii_case(b"content-length")) {
                continue;
            }
            fields.push(name, value);
        }
        let mut head = Response::new(());
        *head.status_mut() = status;
        *head.version_mut() = version;
        head.extensions_mut().insert(UpstreamFields(fields));
        return Ok(Some(Parsed::Final(head, framing, keep)));
    }
    let mut fields = Vec::with_capacity(resp.headers.len());
    for field in resp.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| UpstreamError::Malformed("invalid header name"))?;
        let start = field.value.as_ptr().addr() - base;
        fields.push((name, start, start + field.value.len()));
    }
    let bytes = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, start, end) in fields {
        let value = HeaderValue::from_maybe_shared(bytes.slice(start..end))
            .map_err(|_| UpstreamError::Malformed("invalid header value"))?;
        headers.append(name, value);
    }
    for name in &hop.listed {
        headers.remove(name);
    }
    let (framing, framing_keeps) = framing(status, head_request, hop.chunked, &mut headers)?;
    let keep = framing_keeps && hop.keeps_alive(version);
    let mut head = Response::new(());
    *head.status_mut() = status;
    *head.version_mut() = version;
    *head.headers_mut() = headers;
    Ok(Some(Parsed::Final(head, framing, keep)))
}

/// The end-to-end fields of an upstream's answer as the bytes they came in (a response extension; the answer's
/// own header map holds only what the proxy adds). The listener writes them first.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamFields(pub Fields);

/// What the hop-by-hop fields of a response head say.
#[derive(Default)]
struct HopFields {
    /// `Some(whether chunked is the last transfer coding)` when the head has `Transfer-Encoding`.
    chunked: Option<bool>,
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive`.
    keep_alive: bool,
    /// Fields `Connection` names.
    listed: Vec<HeaderName>,
}

impl HopFields {
    /// Takes in the field `name: value` if it is hop-by-hop (true), else leaves it (false).
    fn take(&mut self, name: &[u8], value: &[u8]) -> bool {
        let Some(index) = crate::hop::index(name) else {
            return false;
        };
        match index {
            crate::hop::CONNECTION => {
                let options = crate::hop::listed_in(value, &mut self.listed);
                self.close |= options.close;
                self.keep_alive |= options.keep_alive;
            }
            crate::hop::TRANSFER_ENCODING => {
                // The last coding of all the fields counts; a field with none leaves the last one as it was.
                let last = crate::hop::tokens(value).last();
                let before = self.chunked.unwrap_or(false);
                self.chunked = Some(last.map_or(before, |t| t.eq_ignore_ascii_case(b"chunked")));
            }
            _ => {}
        }
        true
    }

    /// Whether the upstream lets the connection be kept after this response (HTTP/1.1 unless `Connection:
    /// close`; HTTP/1.0 only with `Connection: keep-alive`).
    fn keeps_alive(&self, version: Version) -> bool {
        if version == Version::HTTP_10 {
            self.keep_alive && !self.close
        } else {
            !self.close
        }
    }
}

/// The response body's framing, and whether it lets the connection be kept (RFC 9112 §6.3). `chunked`: what
/// `Transfer-Encoding` says ([`HopFields::chunked`]). Removes a `Content-Length` that a transfer coding overrides.
fn framing(
    status: StatusCode,
    head_request: bool,
    chunked: Option<bool>,
    headers: &mut HeaderMap,
) -> Result<(Framing, bool), UpstreamError> {
    let lengths: Vec<&[u8]> = headers
        .get_all(header::CONTENT_LENGTH)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let (framing, keep, drop_length) = framing_of(status, head_request, chunked, &lengths)?;
    if drop_length {
        headers.remove(header::CONTENT_LENGTH);
    }
    Ok((framing, keep))
}

/// [`framing`] from the `Content-Length` values; also whether the `Content-Length` fields must go (a transfer
/// coding overrides them).
fn framing_of(
    status: StatusCode,
    head_request: bool,
    chunked: Option<bool>,
    lengths: &[&[u8]],
) -> Result<(Framing, bool, bool), UpstreamError> {
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Ok((Framing::Upgrade, false, false));
    }
    if head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok((Framing::Length(0), true, false));
    }
    if let Some(chunked) = chunked {
        // Both framings in one response: the length is wrong by definition, and the connection is not kept.
        let both = !lengths.is_empty();
        return Ok(if chunked {
            (Framing::Chunked(Chunk::Size), !both, both)
        } else {
            (Framing::Close, false, both)
        });
    }
    let mut length = None;
    for value in lengths {
        for item in value.split(|&b| b == b',') {
            let n = crate::h1::parse_length(item)
                .ok_or(UpstreamError::Malformed("invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(UpstreamError::Malformed(
                    "conflicting Content-Length values",
                ));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => (Framing::Length(n), true, false),
        None => (Framing::Close, false, false),
    })
}

/// How a response body is delimited, and how far it has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunk),
    /// Everything until the upstream closes.
    Close,
    /// The connection was switched to another protocol (101): no body.
    Upgrade,
    /// The body was read to the end.
    Done,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// At a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// At the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: the trailer section.
    Trailers,
}

/// A response body read from its upstream connection as the listener polls it. Read to the end, it gives the
/// connection back for reuse (when its response lets it); dropped earlier, it closes it.
pub(crate) struct ResponseBody {
    /// `None` once the connection was given back or failed.
    conn: Option<Conn>,
    framing: Framing,
    keep_alive: bool,
    home: Home,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("framing", &self.framing)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

/// A connection switched to another protocol: the socket and the bytes the upstream sent after its 101 head.
pub(crate) struct Upgraded {
    pub io: TcpStream,
    pub read_ahead: Bytes,
}

impl ResponseBody {
    /// The connection of a 101 response, for a tunnel; `None` for any other response.
    pub(crate) fn into_upgraded(mut self) -> Option<Upgraded> {
        if self.framing != Framing::Upgrade {
            return None;
        }
        self.conn.take().map(|conn| Upgraded {
            io: conn.io,
            read_ahead: conn.buf.freeze(),
        })
    }

    /// The body was read to the end: give the connection back if its response and the bytes after it allow.
    fn release(&mut self) {
        self.framing = Framing::Done;
        if let Some(conn) = self.conn.take()
            && self.keep_alive
            && self.home.max_idle > 0
            && conn.buf.is_empty()
        {
            check_in(self.home, conn);
        }
    }

    /// The body failed: its connection is closed.
    fn fail(&mut self, e: UpstreamError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.conn = None;
        self.framing = Framing::Done;
        Poll::Ready(Some(Err(Box::new(e))))
    }
}

/// The next frame of a body framed by `framing` from the bytes in `buf`, advancing both: `Ok(None)` when more must
/// be read first, or when the body ended (`framing` is then `Done`, or `Length(0)`).
fn decode(
    framing: &mut Framing,
    buf: &mut BytesMut,
) -> Result<Option<Frame<Bytes>>, UpstreamError> {
    loop {
        match *framing {
            Framing::Done | Framing::Upgrade | Framing::Length(0) => return Ok(None),
            Framing::Length(left) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                *framing = Framing::Length(left - take as u64);
                return Ok(Some(Frame::data(buf.split_to(take).freeze())));
            }
            Framing::Close => {
                if buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Frame::data(buf.split().freeze())));
            }
            Framing::Chunked(Chunk::Size) => {
                let Some(line_end) = memchr::memchr(b'\n', buf) else {
                    if buf.len() > MAX_CHUNK_LINE {
                        return Err(UpstreamError::Malformed("chunk size line too long"));
                    }
                    return Ok(None);
                };
                let size = buf
                    .get(..line_end)
                    .filter(|line| line.len() <= MAX_CHUNK_LINE)
                    .and_then(chunk_size)
                    .ok_or(UpstreamError::Malformed("invalid chunk size"))?;
                buf.advance(line_end + 1);
                *framing = Framing::Chunked(if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                });
            }
            Framing::Chunked(Chunk::Data(left)) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                let left = left - take as u64;
                *framing = Framing::Chunked(if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                });
                return Ok(Some(Frame::data(buf.split_to(take).freeze())));
            }
            Framing::Chunked(Chunk::DataEnd) => {
                let end = match buf.first() {
                    None => return Ok(None),
                    Some(b'\n') => 1,
                    Some(b'\r') => match buf.get(1) {
                        None => return Ok(None),
                        Some(b'\n') => 2,
                        Some(_) => return Err(UpstreamError::Malformed("chunk data too long")),
                    },
                    Some(_) => return Err(UpstreamError::Malformed("chunk data too long")),
                };
                buf.advance(end);
                *framing = Framing::Chunked(Chunk::Size);
            }
            Framing::Chunked(Chunk::Trailers) => {
                let mut slots = [httparse::EMPTY_HEADER; 32];
                let (len, fields) = match httparse::parse_headers(buf, &mut slots) {
                    Ok(httparse::Status::Complete(done)) => done,
                    Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Ok(None),
                    Ok(httparse::Status::Partial) | Err(_) => {
                        return Err(UpstreamError::Malformed("invalid trailer section"));
                    }
                };
                let mut trailers = HeaderMap::new();
                for field in fields {
                    if let (Ok(name), Ok(value)) = (
                        HeaderName::from_bytes(field.name.as_bytes()),
                        HeaderValue::from_bytes(field.value),
                    ) {
                        trailers.append(name, value);
                    }
                }
                buf.advance(len);
                *framing = Framing::Done;
                return Ok((!trailers.is_empty()).then(|| Frame::trailers(trailers)));
            }
        }
    }
}

/// The size of a chunk-size line (CRLF, or LF alone, without the LF).
fn chunk_size(line: &[u8]) -> Option<u64> {
    crate::sniff::parse_chunk_size(line.strip_suffix(b"\r").unwrap_or(line))
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let frame = match decode(&mut this.framing, &mut conn.buf) {
                Ok(frame) => frame,
                Err(e) => return this.fail(e),
            };
            // The end (or the last bytes of a length-framed body): the connection goes back now, before the client
            // hears of the end (its next request may come at once).
            if matches!(this.framing, Framing::Length(0) | Framing::Done) {
                this.release();
            }
            match frame {
                Some(frame) => return Poll::Ready(Some(Ok(frame))),
                None if matches!(this.framing, Framing::Done | Framing::Upgrade) => {
                    return Poll::Ready(None);
                }
                None => {}
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            conn.buf.reserve(READ_CHUNK);
            match tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) if this.framing == Framing::Close => {
                    // The close ends this body, and the connection with it.
                    this.keep_alive = false;
                    this.release();
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => {
                    return this.fail(UpstreamError::Malformed(
                        "connection closed inside the response body",
                    ));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return this.fail(UpstreamError::Io(e)),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(
            self.framing,
            Framing::Done | Framing::Upgrade | Framing::Length(0)
        )
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(n) => SizeHint::with_exact(n),
            Framing::Done | Framing::Upgrade => SizeHint::with_exact(0),
            Framing::Chunked(_) | Framing::Close => SizeHint::default(),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // A body that was complete from the start (204, HEAD, `Content-Length: 0`) is never polled.
        if self.framing == Framing::Length(0) {
            self.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use crate::body::Prefix;

    /// An upstream answering `ok` on keep-alive connections, counting the connections it accepted.
    async fn upstream(keep_alive: bool) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        (addr, accepted)
    }

    /// One scripted answer: the bytes written after a request head, and whether the connection closes after them.
    type Answer = (&'static [u8], bool);

    /// An upstream that reads request heads (no bodies) and writes the next scripted answer to each, recording the
    /// heads and counting connections.
    async fn scripted(
        answers: &[Answer],
    ) -> (SocketAddr, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(answers.iter().copied().collect::<VecDeque<_>>()));
        let (count, seen) = (Arc::clone(&accepted), Arc::clone(&heads));
        tokio::spawn(async move {
            loop {
                let (mut tcp, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                let (queue, seen) = (Arc::clone(&queue), Arc::clone(&seen));
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            let mut chunk = [0u8; 1024];
                            match tcp.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                        let head: Vec<u8> = buf.drain(..end).collect();
                        seen.lock().unwrap().push(String::from_utf8(head).unwrap());
                        let Some((bytes, close)) = queue.lock().unwrap().pop_front() else {
                            return;
                        };
                        if tcp.write_all(bytes).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        (addr, accepted, heads)
    }

    /// The read timeout of the tests' requests (none of them waits that long unless it is meant to time out).
    const READ: Duration = Duration::from_secs(10);

    fn request(method: Method) -> Request<ForwardBody> {
        let prefix = Prefix {
            chunks: Default::default(),
            len: 0,
            trailers: None,
            rest: None,
        };
        let mut req = Request::new(ForwardBody::new(prefix, 1024).0);
        *req.method_mut() = method;
        req.headers_mut()
            .insert(header::HOST, "up".parse().unwrap());
        req
    }

    /// Send one request; the response head, its body and trailers (or the body's error).
    async fn fetch(
        conns: &Conns,
        addr: SocketAddr,
        method: Method,
    ) -> (
        http::response::Parts,
        Result<(Bytes, Option<HeaderMap>), BoxError>,
    ) {
        let resp = match conns
            .send(0, addr, request(method), &Rewrite::default(), READ)
            .await
        {
            Ok(r) => r,
            Err(SendError::Failed(e)) => panic!("request failed: {e}"),
            Err(SendError::Connect(_, e)) => panic!("connect failed: {e}"),
            Err(SendError::TimedOut) => panic!("timed out"),
        };
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map(|c| {
            let trailers = c.trailers().cloned();
            (c.to_bytes(), trailers)
        });
        // Let the upstream see a close, if any.
        tokio::task::yield_now().await;
        (parts, body)
    }

    async fn round_trip(conns: &Conns, addr: SocketAddr) {
        let (_, body) = fetch(conns, addr, Method::GET).await;
        assert_eq!(body.unwrap().0, "ok");
    }

    /// How many connections `n` requests in a row take from an upstream that keeps them alive, or closes them.
    async fn connections_for(keep_alive: bool, n: usize) -> usize {
        let (addr, accepted) = upstream(keep_alive).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        for _ in 0..n {
            round_trip(&conns, addr).await;
        }
        accepted.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn finished_responses_give_their_connection_back_unless_it_closes() {
        assert_eq!(connections_for(true, 5).await, 1);
        assert_eq!(connections_for(false, 3).await, 3);
    }

    #[tokio::test]
    async fn abandoned_or_unpooled_connections_are_not_reused() {
        let (addr, accepted) = upstream(true).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        // A body dropped before its end closes its connection.
        let resp = conns
            .send(0, addr, request(Method::GET), &Rewrite::default(), READ)
            .await
            .ok()
            .unwrap();
        drop(resp);
        round_trip(&conns, addr).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // No idle connections at all.
        let none = Conns::new(0, Duration::from_secs(1));
        round_trip(&none, addr).await;
        round_trip(&none, addr).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn idle_connections_the_upstream_closed_are_not_used() {
        // Keep-alive answers, but the upstream closes each connection right after it (as an idle timeout would).
        let ok: Answer = (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", true);
        let (addr, accepted, _) = scripted(&[ok; 3]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        for method in [Method::GET, Method::POST, Method::GET] {
            let (parts, body) = fetch(&conns, addr, method).await;
            assert_eq!(parts.status, StatusCode::OK);
            assert_eq!(body.unwrap().0, "ok");
            // The close reaches this side before the next request.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn every_request_on_a_connection_gets_its_own_read_timeout() {
        let ok: Answer = (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false);
        let silent: Answer = (b"", false);
        // A deadline earlier than the one the connection's timer holds from the request before.
        let (addr, accepted, _) = scripted(&[ok, silent]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        round_trip(&conns, addr).await;
        let started = Instant::now();
        let short = Duration::from_millis(200);
        let outcome = conns
            .send(0, addr, request(Method::GET), &Rewrite::default(), short)
            .await;
        assert!(
            matches!(outcome, Err(SendError::TimedOut)),
            "the silent upstream must time out"
        );
        let waited = started.elapsed();
        assert!(
            waited >= short && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        // A timer that fired while its connection was idle does not cut the next request short.
        let (addr, accepted, _) = scripted(&[ok, ok]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        let quick = Duration::from_millis(100);
        for pause in [Duration::from_millis(300), Duration::ZERO] {
            let resp = conns
                .send(0, addr, request(Method::GET), &Rewrite::default(), quick)
                .await;
            let Ok(resp) = resp else {
                panic!("an upstream answering at once must not time out");
            };
            assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "ok");
            tokio::time::sleep(pause).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_replayable_request_on_a_connection_closed_under_it_is_sent_again() {
        let ok: Answer = (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false);
        let (addr, accepted, heads) = scripted(&[ok, (b"", true), ok]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        round_trip(&conns, addr).await;
        // The second request finds the connection idle and open; the upstream closes it without an answer.
        round_trip(&conns, addr).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        assert_eq!(heads.lock().unwrap().len(), 3);

        // Not a replayable one: the failure is reported.
        let (addr, _, heads) = scripted(&[ok, (b"", true), ok]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        round_trip(&conns, addr).await;
        match conns
            .send(0, addr, request(Method::POST), &Rewrite::default(), READ)
            .await
        {
            Err(SendError::Failed(UpstreamError::Closed)) => {}
            Err(SendError::Failed(e)) => panic!("unexpected error {e}"),
            _ => panic!("a POST must not be sent twice"),
        }
        assert_eq!(heads.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn response_framings() {
        struct Case {
            name: &'static str,
            method: Method,
            answer: Answer,
            body: &'static str,
            reused: bool,
        }
        let cases = [
            Case {
                name: "chunked with extensions and trailers",
                method: Method::GET,
                answer: (
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-check: 7\r\n\r\n",
                    false,
                ),
                body: "hello world",
                reused: true,
            },
            Case {
                name: "chunked, bare LF line ends, upper-case hex",
                method: Method::GET,
                answer: (
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\nA\n0123456789\n0\n\n",
                    false,
                ),
                body: "0123456789",
                reused: true,
            },
            Case {
                name: "delimited by the close",
                method: Method::GET,
                answer: (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", true),
                body: "until the end",
                reused: false,
            },
            Case {
                name: "HEAD with a length and no body",
                method: Method::HEAD,
                answer: (b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", false),
                body: "",
                reused: true,
            },
            Case {
                name: "204",
                method: Method::GET,
                answer: (b"HTTP/1.1 204 No Content\r\n\r\n", false),
                body: "",
                reused: true,
            },
            Case {
                name: "304 with a length",
                method: Method::GET,
                answer: (b"HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n", false),
                body: "",
                reused: true,
            },
            Case {
                name: "interim responses first",
                method: Method::GET,
                answer: (
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nlate",
                    false,
                ),
                body: "late",
                reused: true,
            },
            Case {
                name: "equal repeated lengths",
                method: Method::GET,
                answer: (b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\nok", false),
                body: "ok",
                reused: true,
            },
            Case {
                name: "a transfer coding and a length: the length goes, the connection too",
                method: Method::GET,
                answer: (
                    b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                    false,
                ),
                body: "ok",
                reused: false,
            },
            Case {
                name: "a transfer coding other than chunked last: read to the close",
                method: Method::GET,
                answer: (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\nraw", true),
                body: "raw",
                reused: false,
            },
            Case {
                name: "HTTP/1.0 without keep-alive",
                method: Method::GET,
                answer: (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", false),
                body: "ok",
                reused: false,
            },
            Case {
                name: "Connection: close",
                method: Method::GET,
                answer: (b"HTTP/1.1 200 OK\r\nconnection: Keep-Alive, Close\r\ncontent-length: 2\r\n\r\nok", false),
                body: "ok",
                reused: false,
            },
            Case {
                name: "bytes after the response",
                method: Method::GET,
                answer: (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", false),
                body: "ok",
                reused: false,
            },
        ];
        let follow: Answer = (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false);
        for case in cases {
            let (addr, accepted, _) = scripted(&[case.answer, follow]).await;
            let conns = Conns::new(4, Duration::from_secs(1));
            let (parts, body) = fetch(&conns, addr, case.method).await;
            let (bytes, trailers) = body.unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(bytes, case.body, "{}", case.name);
            if case.name.starts_with("chunked with") {
                assert_eq!(trailers.unwrap()["x-check"], "7");
            }
            if case.name.starts_with("a transfer coding and") {
                assert!(!parts.headers.contains_key(header::CONTENT_LENGTH));
            }
            round_trip(&conns, addr).await;
            let expected = if case.reused { 1 } else { 2 };
            assert_eq!(accepted.load(Ordering::SeqCst), expected, "{}", case.name);
        }
    }

    #[tokio::test]
    async fn broken_responses_fail_and_close() {
        let heads: [(&str, &[u8]); 5] = [
            (
                "conflicting lengths",
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
            ),
            (
                "a length that is no number",
                b"HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\nok",
            ),
            ("not HTTP", b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
            ("a status that is no number", b"HTTP/1.1 2x0 OK\r\n\r\n"),
            ("closed inside the head", b"HTTP/1.1 200 OK\r\ncontent-le"),
        ];
        for (name, answer) in heads {
            let (addr, _, _) = scripted(&[(answer, true)]).await;
            let conns = Conns::new(4, Duration::from_secs(1));
            match conns
                .send(0, addr, request(Method::GET), &Rewrite::default(), READ)
                .await
            {
                Err(SendError::Failed(UpstreamError::Malformed(_))) => {}
                Err(SendError::Failed(e)) => panic!("{name}: unexpected error {e}"),
                Err(SendError::Connect(..)) => panic!("{name}: connect failed"),
                Err(SendError::TimedOut) => panic!("{name}: timed out"),
                Ok(_) => panic!("{name}: accepted"),
            }
        }
        let bodies: [(&str, &[u8]); 4] = [
            (
                "short body",
                b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort",
            ),
            (
                "bad chunk size",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
            ),
            (
                "chunk longer than its size",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nok\r\n0\r\n\r\n",
            ),
            (
                "no last chunk",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n",
            ),
        ];
        for (name, answer) in bodies {
            let (addr, accepted, _) = scripted(&[
                (answer, true),
                (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false),
            ])
            .await;
            let conns = Conns::new(4, Duration::from_secs(1));
            let (_, body) = fetch(&conns, addr, Method::GET).await;
            assert!(body.is_err(), "{name}");
            round_trip(&conns, addr).await;
            assert_eq!(accepted.load(Ordering::SeqCst), 2, "{name}");
        }
    }

    /// The upstream's fields of an answer, as a header map.
    fn upstream_fields(ext: &http::Extensions) -> HeaderMap {
        ext.get::<UpstreamFields>()
            .map(|f| f.0.to_map())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_head_arriving_in_pieces_is_assembled() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 256];
            let _ = tcp.read(&mut head).await;
            for b in b"HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" {
                tcp.write_all(&[*b]).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let conns = Conns::new(4, Duration::from_secs(1));
        let (parts, body) = fetch(&conns, addr, Method::GET).await;
        assert_eq!(upstream_fields(&parts.extensions)["x-a"], "1");
        assert_eq!(body.unwrap().0, "abc");
    }

    #[tokio::test]
    async fn request_heads_carry_the_length_of_a_buffered_body() {
        let ok: Answer = (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false);
        let (addr, _, heads) = scripted(&[ok, ok, ok]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        round_trip(&conns, addr).await;
        let (_, body) = fetch(&conns, addr, Method::POST).await;
        body.unwrap();
        let mut req = request(Method::PUT);
        *req.uri_mut() = "/a/b?c=d".parse().unwrap();
        conns
            .send(0, addr, req, &Rewrite::default(), READ)
            .await
            .ok()
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap();
        let heads = heads.lock().unwrap();
        assert_eq!(heads[0], "GET / HTTP/1.1\r\nhost: up\r\n\r\n");
        assert_eq!(
            heads[1],
            "POST / HTTP/1.1\r\nhost: up\r\ncontent-length: 0\r\n\r\n"
        );
        assert_eq!(
            heads[2],
            "PUT /a/b?c=d HTTP/1.1\r\nhost: up\r\ncontent-length: 0\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn hop_by_hop_fields_stay_on_their_hop() {
        let answer: Answer = (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nx-end: 2\r\ncontent-length: 2\r\n\r\nok",
            false,
        );
        let (addr, _, heads) = scripted(&[answer]).await;
        let conns = Conns::new(4, Duration::from_secs(1));
        let mut req = request(Method::GET);
        for (name, value) in [
            ("connection", "keep-alive, x-private"),
            ("x-private", "secret"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("expect", "100-continue"),
            ("x-forwarded-for", "forged"),
            ("x-gone", "1"),
            ("x-stays", "1"),
        ] {
            req.headers_mut().append(name, value.parse().unwrap());
        }
        let mut rewrite = Rewrite::of_map(req.headers());
        rewrite.set(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("forged"),
        );
        rewrite.set(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("192.0.2.1"),
        );
        rewrite.remove(HeaderName::from_static("x-gone"));
        let resp = match conns.send(0, addr, req, &rewrite, READ).await {
            Ok(resp) => resp,
            Err(_) => panic!("request failed"),
        };
        assert!(
            resp.headers().is_empty(),
            "the answer's own map is the proxy's"
        );
        let fields = upstream_fields(resp.extensions());
        let mut names: Vec<&str> = fields.keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-length", "x-end"]);
        assert_eq!(
            heads.lock().unwrap()[0],
            "GET / HTTP/1.1\r\nhost: up\r\nx-stays: 1\r\nx-forwarded-for: 192.0.2.1\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn refused_connections_hand_the_request_back() {
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let conns = Conns::new(4, Duration::from_secs(1));
        match conns
            .send(0, dead, request(Method::GET), &Rewrite::default(), READ)
            .await
        {
            Err(SendError::Connect(req, _)) => {
                assert_eq!(req.headers()[header::HOST], "up")
            }
            _ => panic!("expected a connect error"),
        }
    }

    #[test]
    fn chunk_size_lines() {
        assert_eq!(chunk_size(b"0\r"), Some(0));
        assert_eq!(chunk_size(b"1f"), Some(31));
        assert_eq!(chunk_size(b"FF ; name=value\r"), Some(255));
        for bad in [
            &b""[..],
            b"\r",
            b"g",
            b"-1",
            b"1 2",
            b"1x",
            b"1234567890abcdef0",
        ] {
            assert_eq!(chunk_size(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn stale_idle_entries_are_counted_from_the_front() {
        let now = Instant::now() + IDLE_TIMEOUT * 3;
        let since = |age: Duration| now - age;
        let list = [
            IDLE_TIMEOUT * 2,
            IDLE_TIMEOUT,
            Duration::from_secs(1),
            IDLE_TIMEOUT * 2,
        ];
        assert_eq!(stale_prefix(list.into_iter().map(since), now), 2);
        assert_eq!(stale_prefix(std::iter::empty(), now), 0);
    }
}
