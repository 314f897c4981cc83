//! The proxy's HTTP/1.1 server side: reads request heads and bodies off a client connection and writes the
//! answers, with no task, channel or dispatcher between the connection and the request it serves.
//!
//! hyper served these connections before. Its server side parsed each head into a request, passed it through a
//! dispatcher and encoded the answer again, and that was about 17k of the 42k instructions a forwarded request
//! cost without a web ACL (docs/benchmarks.md). This one does the same work in fewer steps:
//!
//! - **Heads** are parsed with httparse where they were read and become a [`Head`]: field offsets into those
//!   bytes, no `HeaderMap`.
//!   Leading empty lines are skipped. A head that does not parse gets 400, one over
//!   [`Limits::max_header_bytes`](crate::Limits::max_header_bytes) or with more than
//!   [`Limits::max_headers`](crate::Limits::max_headers) fields gets 431, and the connection closes after either.
//!   The request-smuggling checks stay with the read tap ([`crate::sniff`]), which sees the same bytes first.
//! - **Bodies** ([`RequestBody`]): `Content-Length`, or `chunked` as the last transfer coding (with trailers);
//!   the body reads from the connection when the handler polls it. `Expect: 100-continue` is answered when the
//!   body is first read, not before: a request refused on its head (413, 403) never gets its body sent.
//! - **Answers**: the status line, an upstream's fields as they came ([`UpstreamFields`]) and the answer's own
//!   fields are written as given; the framing is `Content-Length` when the
//!   answer has one or its body's size is known, `chunked` for an HTTP/1.1 client otherwise, or the close of the
//!   connection for HTTP/1.0. No body for `HEAD`, 1xx, 204 and 304. A `Date` field is added when missing. The head
//!   and the start of the body leave in one write when the body is ready.
//! - **Keep-alive**: HTTP/1.1 unless either side says `Connection: close`, HTTP/1.0 only with `keep-alive`; a
//!   request whose body was not read to its end closes the connection after the answer (the next head could not be
//!   found); so does a connection that is draining.
//! - **Upgrades**: a request with `Connection: upgrade` carries an [`OnUpgrade`]; when the answer is 101, the
//!   connection (with whatever the client sent after the head) is handed to it once the answer is written.
//! - **HTTP/2 with prior knowledge**: a connection that opens with the HTTP/2 preface is handed back to the caller
//!   ([`Served::H2`]) with the bytes read so far.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Version};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use crate::body::{BoxError, ProxyBody};
use crate::connpool::UpstreamFields;
use crate::head::{Fields, Head};

/// A client connection's byte stream (TCP or TLS, behind the read tap).
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A boxed client connection.
pub(crate) type BoxIo = Box<dyn Io>;

/// Room reserved in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// The longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 8 * 1024;
/// Answer bytes gathered before they are written, when the body keeps coming.
const WRITE_BATCH: usize = 64 * 1024;
/// Field slots parsed on the stack (hyper's default field limit).
const STACK_FIELDS: usize = 100;
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Why a client's body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the client closed the connection before the body ended")]
    Incomplete,
    #[error("malformed chunked body: {0}")]
    BadChunk(&'static str),
    #[error("reading the body failed: {0}")]
    Io(#[source] io::Error),
}

/// Where the current request's body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    Done,
    Broken,
}

/// The connection, shared by the server loop and the body of the request being served (never at the same time
/// within one poll; the lock is held only inside a poll).
struct Conn {
    io: Option<BoxIo>,
    buf: BytesMut,
    body: Framing,
    /// Bytes of `100 Continue` written so far, while it is owed.
    owe_continue: Option<usize>,
    trailers: Option<HeaderMap>,
    /// The number of the request being served: a body of an earlier request reads nothing more.
    seq: u64,
}

type SharedConn = Arc<Mutex<Conn>>;

fn lock(conn: &SharedConn) -> MutexGuard<'_, Conn> {
    match conn.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection handed over")
}

impl Conn {
    /// Read more bytes into `buf`: the count (0 at the end of the stream).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if let Some(mut done) = self.owe_continue {
            let written = self.poll_write_all(cx, CONTINUE, &mut done);
            self.owe_continue = Some(done);
            ready!(written)?;
            self.owe_continue = None;
        }
        let io = self.io.as_mut().ok_or_else(closed)?;
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        tokio_util::io::poll_read_buf(Pin::new(io), cx, &mut self.buf)
    }

    /// The next line of `buf` without its line end, once a whole one is there.
    fn take_line(&mut self) -> Result<Option<Bytes>, BodyError> {
        match memchr::memchr(b'\n', &self.buf) {
            Some(end) => {
                let mut line = self.buf.split_to(end + 1);
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                Ok(Some(line.freeze()))
            }
            None if self.buf.len() > MAX_LINE => Err(BodyError::BadChunk("line too long")),
            None => Ok(None),
        }
    }

    /// The next frame of the request body.
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        loop {
            let step = match self.body {
                Framing::Done => return Poll::Ready(None),
                Framing::Broken => return Poll::Ready(Some(Err(BodyError::Incomplete))),
                Framing::Length(0) => {
                    self.body = Framing::Done;
                    return Poll::Ready(None);
                }
                Framing::Length(left) | Framing::ChunkData(left) if !self.buf.is_empty() => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    let data = self.buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.body = match (self.body, left) {
                        (Framing::Length(_), 0) => Framing::Done,
                        (Framing::Length(_), _) => Framing::Length(left),
                        (_, 0) => Framing::ChunkDataEnd,
                        _ => Framing::ChunkData(left),
                    };
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::Length(_) | Framing::ChunkData(_) => Ok(None),
                Framing::ChunkSize | Framing::ChunkDataEnd | Framing::Trailers => {
                    match self.take_line() {
                        Ok(Some(line)) => self.chunk_line(&line).map(Some),
                        Ok(None) => Ok(None),
                        Err(e) => Err(e),
                    }
                }
            };
            match step {
                // A line taken: a frame (trailers), or on to the next step.
                Ok(Some(Some(frame))) => return Poll::Ready(Some(Ok(frame))),
                Ok(Some(None)) => continue,
                Err(e) => {
                    self.body = Framing::Broken;
                    return Poll::Ready(Some(Err(e)));
                }
                // More bytes needed.
                Ok(None) => {}
            }
            match ready!(self.poll_fill(cx)) {
                Ok(0) => {
                    self.body = Framing::Broken;
                    return Poll::Ready(Some(Err(BodyError::Incomplete)));
                }
                Ok(_) => {}
                Err(e) => {
                    self.body = Framing::Broken;
                    return Poll::Ready(Some(Err(BodyError::Io(e))));
                }
            }
        }
    }

    /// Take in one line of chunked framing: `Some(frame)` when it ends the body with trailers.
    fn chunk_line(&mut self, line: &[u8]) -> Result<Option<Frame<Bytes>>, BodyError> {
        match self.body {
            Framing::ChunkSize => {
                self.body = match crate::sniff::parse_chunk_size(line) {
                    Some(0) => Framing::Trailers,
                    Some(n) => Framing::ChunkData(n),
                    None => return Err(BodyError::BadChunk("invalid chunk size")),
                };
                Ok(None)
            }
            Framing::ChunkDataEnd if line.is_empty() => {
                self.body = Framing::ChunkSize;
                Ok(None)
            }
            Framing::ChunkDataEnd => Err(BodyError::BadChunk("chunk data longer than its size")),
            Framing::Trailers if line.is_empty() => {
                self.body = Framing::Done;
                Ok(self.trailers.take().map(Frame::trailers))
            }
            Framing::Trailers => {
                let (name, value) =
                    split_field(line).ok_or(BodyError::BadChunk("invalid trailer field"))?;
                let trailers = self.trailers.get_or_insert_with(HeaderMap::new);
                if trailers.len() >= STACK_FIELDS {
                    return Err(BodyError::BadChunk("too many trailer fields"));
                }
                trailers.append(name, value);
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Write all of `bytes`.
    fn poll_write_all(
        &mut self,
        cx: &mut Context<'_>,
        bytes: &[u8],
        done: &mut usize,
    ) -> Poll<io::Result<()>> {
        let io = self.io.as_mut().ok_or_else(closed)?;
        while let Some(rest) = bytes.get(*done..).filter(|r| !r.is_empty()) {
            match ready!(Pin::new(&mut *io).poll_write(cx, rest)) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => *done += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Pin::new(&mut *io).poll_flush(cx)
    }
}

/// `name: value` of a trailer line.
fn split_field(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = memchr::memchr(b':', line)?;
    let name = HeaderName::from_bytes(line.get(..colon)?).ok()?;
    let value = HeaderValue::from_bytes(line.get(colon + 1..)?.trim_ascii()).ok()?;
    Some((name, value))
}

/// The body of a request read by this server: read from the connection as it is polled.
pub(crate) struct RequestBody {
    conn: SharedConn,
    /// The connection after a 101 answer, for a request with `Connection: upgrade`.
    upgrade: Option<oneshot::Receiver<Upgraded>>,
    /// Known at the head: no body at all.
    empty: bool,
    /// The request's number on its connection ([`Conn::seq`]).
    seq: u64,
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.empty {
            return Poll::Ready(None);
        }
        let mut conn = lock(&self.conn);
        if conn.seq != self.seq {
            return Poll::Ready(Some(Err(BodyError::Incomplete.into())));
        }
        conn.poll_body(cx)
            .map(|f| f.map(|r| r.map_err(BoxError::from)))
    }

    fn is_end_stream(&self) -> bool {
        if self.empty {
            return true;
        }
        let conn = lock(&self.conn);
        conn.seq != self.seq || matches!(conn.body, Framing::Done | Framing::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        if self.empty {
            return SizeHint::with_exact(0);
        }
        let conn = lock(&self.conn);
        if conn.seq != self.seq {
            return SizeHint::with_exact(0);
        }
        match conn.body {
            Framing::Length(n) => SizeHint::with_exact(n),
            Framing::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// A client request's body: read by this server (HTTP/1) or by hyper (HTTP/2).
pub struct ClientBody(Inner);

impl std::fmt::Debug for ClientBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Inner::H1(_) => "ClientBody(HTTP/1)",
            Inner::H2(_) => "ClientBody(HTTP/2)",
        })
    }
}

enum Inner {
    H1(RequestBody),
    H2(Incoming),
}

impl ClientBody {
    /// The body of an HTTP/2 request.
    pub(crate) fn h2(body: Incoming) -> Self {
        Self(Inner::H2(body))
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Inner::H1(b) => Pin::new(b).poll_frame(cx),
            Inner::H2(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(BoxError::from))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::H1(b) => b.is_end_stream(),
            Inner::H2(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::H1(b) => b.size_hint(),
            Inner::H2(b) => b.size_hint(),
        }
    }
}

/// A client connection after a 101 answer: the bytes the client sent after its head, then the connection.
pub(crate) struct Upgraded {
    read_ahead: Bytes,
    io: BoxIo,
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.read_ahead.is_empty() {
            let n = self.read_ahead.len().min(buf.remaining());
            buf.put_slice(self.read_ahead.get(..n).unwrap_or_default());
            self.read_ahead.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }
}

/// The client connection of a request that asked to switch protocols, once it is answered with 101.
pub(crate) struct OnUpgrade(oneshot::Receiver<Upgraded>);

impl OnUpgrade {
    /// Takes the request's upgrade handle: HTTP/1.1 requests with `Connection: upgrade` and `Upgrade` have one.
    pub(crate) fn take(body: &mut ClientBody) -> Option<Self> {
        match &mut body.0 {
            Inner::H1(body) => body.upgrade.take().map(OnUpgrade),
            Inner::H2(_) => None,
        }
    }
}

impl Future for OnUpgrade {
    type Output = Result<Upgraded, oneshot::error::RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// A connection handed back: HTTP/2 with prior knowledge, the bytes read so far first.
pub(crate) type Rewound = Upgraded;

/// How a connection ended.
pub(crate) enum Served {
    /// Closed (by either side, after an answer, or on an error already answered and logged).
    Closed,
    /// Closed after a head this server refused: the `reason` of `portcullis_waf_rejected_requests_total`.
    Refused(&'static str),
    /// The client opened with the HTTP/2 preface.
    H2(Rewound),
}

/// What the server loop keeps of a request head to answer it.
struct Asked {
    version: Version,
    head: bool,
    keep_alive: bool,
    upgrade: Option<oneshot::Sender<Upgraded>>,
}

enum HeadError {
    Malformed,
    TooLarge,
}

/// Serve HTTP/1 requests on `io` with `service` until the connection closes; `draining` set: close after the
/// request in progress. `max_head`: bytes of one head; `max_fields`: fields of one head.
pub(crate) async fn serve<S, F>(
    io: BoxIo,
    max_head: usize,
    max_fields: usize,
    draining: &AtomicBool,
    mut service: S,
) -> Served
where
    S: FnMut(Head, ClientBody) -> F,
    F: Future<Output = Response<ProxyBody>>,
{
    let conn: SharedConn = Arc::new(Mutex::new(Conn {
        io: Some(io),
        buf: BytesMut::with_capacity(READ_CHUNK),
        body: Framing::Done,
        owe_continue: None,
        trailers: None,
        seq: 0,
    }));
    let mut out = Vec::with_capacity(4096);
    let mut first = true;
    loop {
        let next =
            std::future::poll_fn(|cx| poll_head(&conn, cx, first, max_head, max_fields)).await;
        let (head, body, mut asked) = match next {
            Ok(Next::Request(head, body, asked)) => (head, body, asked),
            Ok(Next::Closed) => return Served::Closed,
            Ok(Next::Preface) => {
                let mut c = lock(&conn);
                let read_ahead = c.buf.split().freeze();
                return match c.io.take() {
                    Some(io) => Served::H2(Upgraded { read_ahead, io }),
                    None => Served::Closed,
                };
            }
            Err(e) => {
                let (status, reason) = match e {
                    HeadError::Malformed => (StatusCode::BAD_REQUEST, "malformed_head"),
                    HeadError::TooLarge => (
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "head_too_large",
                    ),
                };
                out.clear();
                out.extend_from_slice(b"HTTP/1.1 ");
                out.extend_from_slice(status.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(status.canonical_reason().unwrap_or_default().as_bytes());
                out.extend_from_slice(b"\r\ncontent-length: 0\r\nconnection: close\r\n");
                date_field(&mut out);
                out.extend_from_slice(b"\r\n");
                let _ = write_out(&conn, &out).await;
                shutdown(&conn).await;
                return Served::Refused(reason);
            }
        };
        first = false;
        let resp = service(head, body).await;
        let upgrade = asked.upgrade.take();
        let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
        let keep = write_response(&conn, &mut out, resp, &asked, draining).await;
        if switching && let (Ok(_), Some(tx)) = (&keep, upgrade) {
            let mut c = lock(&conn);
            let read_ahead = c.buf.split().freeze();
            if let Some(io) = c.io.take() {
                let _ = tx.send(Upgraded { read_ahead, io });
            }
            return Served::Closed;
        }
        // A `100 Continue` still owed is not owed any more: the body was there, or the answer came first. (An
        // answer to a request whose body was not read to its end said `close` already: `keep` is false.)
        lock(&conn).owe_continue = None;
        if !matches!(keep, Ok(true)) || draining.load(Ordering::Relaxed) {
            shutdown(&conn).await;
            return Served::Closed;
        }
    }
}

/// What [`poll_head`] found.
// Returned once per request and taken apart at once: boxing the request would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Next {
    Request(Head, ClientBody, Asked),
    Closed,
    Preface,
}

fn poll_head(
    conn: &SharedConn,
    cx: &mut Context<'_>,
    first: bool,
    max_head: usize,
    max_fields: usize,
) -> Poll<Result<Next, HeadError>> {
    let mut guard = lock(conn);
    let c = &mut *guard;
    loop {
        // Empty lines before a request line are skipped (RFC 9112 §2.2).
        while matches!(c.buf.first(), Some(b'\r' | b'\n')) {
            c.buf.advance(1);
        }
        if !c.buf.is_empty() {
            if first
                && H2_PREFACE.starts_with(
                    c.buf
                        .get(..H2_PREFACE.len().min(c.buf.len()))
                        .unwrap_or_default(),
                )
            {
                if c.buf.len() >= H2_PREFACE.len() {
                    return Poll::Ready(Ok(Next::Preface));
                }
            } else if let Some(parsed) = parse_request(&mut c.buf, max_head, max_fields)? {
                let (head, asked, framing, expect, upgrade) = parsed;
                c.body = framing;
                c.trailers = None;
                c.seq += 1;
                c.owe_continue = expect.then_some(0);
                let empty = framing == Framing::Done;
                let body = ClientBody(Inner::H1(RequestBody {
                    conn: Arc::clone(conn),
                    empty,
                    seq: c.seq,
                    upgrade,
                }));
                return Poll::Ready(Ok(Next::Request(head, body, asked)));
            }
            if c.buf.len() > max_head {
                return Poll::Ready(Err(HeadError::TooLarge));
            }
        }
        match ready!(c.poll_fill(cx)) {
            Ok(0) | Err(_) => return Poll::Ready(Ok(Next::Closed)),
            Ok(_) => {}
        }
    }
}

type ParsedRequest = (
    Head,
    Asked,
    Framing,
    bool,
    Option<oneshot::Receiver<Upgraded>>,
);

/// Parse the request head at the start of `buf`, taking it out when complete (`None`: incomplete).
fn parse_request(
    buf: &mut BytesMut,
    max_head: usize,
    max_fields: usize,
) -> Result<Option<ParsedRequest>, HeadError> {
    let mut stack: [std::mem::MaybeUninit<httparse::Header<'_>>; STACK_FIELDS] =
        [const { std::mem::MaybeUninit::uninit() }; STACK_FIELDS];
    let mut heap = Vec::new();
    let slots = if max_fields <= STACK_FIELDS {
        stack.get_mut(..max_fields).unwrap_or_default()
    } else {
        heap.resize_with(max_fields, std::mem::MaybeUninit::uninit);
        heap.as_mut_slice()
    };
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, slots)
    {
        Ok(httparse::Status::Complete(len)) if len <= max_head => len,
        Ok(httparse::Status::Complete(_)) => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    let method = Method::from_bytes(req.method.unwrap_or_default().as_bytes())
        .map_err(|_| HeadError::Malformed)?;
    let version = if req.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let base = buf.as_ptr().addr();
    let path = req.path.unwrap_or_default();
    let target = (path.as_ptr().addr() - base, path.len());
    let mut spans = Vec::with_capacity(req.headers.len());
    let mut length: Option<u64> = None;
    let mut chunked: Option<bool> = None;
    let (mut close, mut keep_alive, mut upgrade, mut expect, mut has_upgrade) =
        (false, false, false, false, false);
    for field in req.headers.iter() {
        let (name, value) = (field.name.as_bytes(), field.value);
        // Only the fields that frame the message or steer the connection are read here; a length dispatch
        // first, as most fields are none of them.
        match name.len() {
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let n = parse_length(value).ok_or(HeadError::Malformed)?;
                if length.is_some_and(|m| m != n) {
                    return Err(HeadError::Malformed);
                }
                length = Some(n);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                if version == Version::HTTP_10 {
                    return Err(HeadError::Malformed);
                }
                let before = chunked.unwrap_or(false);
                chunked = Some(
                    crate::hop::tokens(value)
                        .last()
                        .map_or(before, |t| t.eq_ignore_ascii_case(b"chunked")),
                );
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in crate::hop::tokens(value) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                    upgrade |= token.eq_ignore_ascii_case(b"upgrade");
                }
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect |= value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => has_upgrade = true,
            _ => {}
        }
        let n0 = name.as_ptr().addr() - base;
        let v0 = value.as_ptr().addr() - base;
        spans.push(((n0, n0 + name.len()), (v0, v0 + value.len())));
    }
    let framing = match (chunked, length) {
        (Some(true), _) => Framing::ChunkSize,
        (Some(false), _) => return Err(HeadError::Malformed),
        (None, Some(n)) if n > 0 => Framing::Length(n),
        (None, _) => Framing::Done,
    };
    let bytes = buf.split_to(len).freeze();
    let uri = http::Uri::from_maybe_shared(bytes.slice(target.0..target.0 + target.1))
        .map_err(|_| HeadError::Malformed)?;
    let mut fields = Fields::with_capacity(bytes, spans.len());
    for (name, value) in spans {
        fields.push(name, value);
    }
    let head = Head {
        method,
        uri,
        version,
        fields,
    };
    let h11 = version == Version::HTTP_11;
    let (upgrade, on_upgrade) = if upgrade && h11 && has_upgrade {
        let (tx, rx) = oneshot::channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let asked = Asked {
        version,
        head: head.method == Method::HEAD,
        keep_alive: if h11 { !close } else { keep_alive && !close },
        upgrade,
    };
    let expect = expect && h11 && framing != Framing::Done;
    Ok(Some((head, asked, framing, expect, on_upgrade)))
}

/// A `Content-Length` value: decimal digits only.
pub(crate) fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.len() > 19 {
        return None;
    }
    crate::sniff::parse_decimal(digits)
}

/// How an answer's body is delimited on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Out {
    None,
    Length(u64),
    Chunked,
    Close,
}

/// Write `resp`; `Ok(true)` when the connection may carry another request.
async fn write_response(
    conn: &SharedConn,
    out: &mut Vec<u8>,
    resp: Response<ProxyBody>,
    asked: &Asked,
    draining: &AtomicBool,
) -> io::Result<bool> {
    let (parts, mut body) = resp.into_parts();
    let status = parts.status;
    out.clear();
    out.extend_from_slice(if asked.version == Version::HTTP_10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or_default().as_bytes());
    out.extend_from_slice(b"\r\n");
    let (mut length, mut has_date, mut close) = (None, false, false);
    // An upstream's fields first, as they came (the hop-by-hop ones are gone already).
    if let Some(UpstreamFields(fields)) = parts.extensions.get::<UpstreamFields>() {
        for (name, value) in fields.iter() {
            match name.len() {
                14 if name.eq_ignore_ascii_case(b"content-length") => length = parse_length(value),
                4 if name.eq_ignore_ascii_case(b"date") => has_date = true,
                _ => {}
            }
        }
        fields.write_kept(out, |_| true);
    }
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH {
            length = parse_length(value.as_bytes());
        } else if name == header::TRANSFER_ENCODING {
            // The framing is this connection's: decided below.
            continue;
        } else if name == header::DATE {
            has_date = true;
        } else if name == header::CONNECTION {
            close |= crate::hop::tokens(value.as_bytes()).any(|t| t.eq_ignore_ascii_case(b"close"));
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let bodiless = asked.head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = if bodiless {
        Out::None
    } else if let Some(n) = length {
        Out::Length(n)
    } else if let Some(n) = body.size_hint().exact() {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        out.extend_from_slice(b"\r\n");
        Out::Length(n)
    } else if asked.version == Version::HTTP_11 {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        Out::Chunked
    } else {
        Out::Close
    };
    // A request body not read to its end leaves the next head nowhere to be found: the connection closes.
    let keep = asked.keep_alive
        && !close
        && framing != Out::Close
        && lock(conn).body == Framing::Done
        && !draining.load(Ordering::Relaxed);
    if !close
        && !keep
        && asked.version == Version::HTTP_11
        && status != StatusCode::SWITCHING_PROTOCOLS
    {
        out.extend_from_slice(b"connection: close\r\n");
    } else if keep && asked.version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    if !has_date {
        date_field(out);
    }
    out.extend_from_slice(b"\r\n");
    if framing == Out::None {
        drop(body);
        write_out(conn, out).await?;
        return Ok(keep);
    }
    let mut left = match framing {
        Out::Length(n) => n,
        _ => u64::MAX,
    };
    loop {
        // Take what the body has ready; write what is gathered before waiting for more.
        let frame = match std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx)))
            .await
        {
            Poll::Ready(f) => f,
            Poll::Pending => {
                write_out(conn, out).await?;
                out.clear();
                std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
            }
        };
        match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if data.is_empty() {
                        continue;
                    }
                    if framing == Out::Chunked {
                        chunk_size(out, data.len());
                        out.extend_from_slice(&data);
                        out.extend_from_slice(b"\r\n");
                    } else {
                        let n = data.len() as u64;
                        if n > left {
                            return Err(io::Error::other(
                                "the answer's body is longer than its Content-Length",
                            ));
                        }
                        left -= n;
                        out.extend_from_slice(&data);
                    }
                    if out.len() >= WRITE_BATCH {
                        write_out(conn, out).await?;
                        out.clear();
                    }
                }
                Err(frame) => {
                    if framing == Out::Chunked {
                        out.extend_from_slice(b"0\r\n");
                        if let Ok(trailers) = frame.into_trailers() {
                            crate::head::write_map(out, &trailers);
                        }
                        out.extend_from_slice(b"\r\n");
                    }
                    break;
                }
            },
            Some(Err(e)) => {
                // What was gathered still goes: the client sees the answer end early, not vanish.
                let _ = write_out(conn, out).await;
                return Err(io::Error::other(e));
            }
            None => {
                if framing == Out::Chunked {
                    out.extend_from_slice(b"0\r\n\r\n");
                }
                break;
            }
        }
    }
    drop(body);
    write_out(conn, out).await?;
    if matches!(framing, Out::Length(_)) && left != 0 {
        return Err(io::Error::other(
            "the answer's body is shorter than its Content-Length",
        ));
    }
    Ok(keep)
}

async fn write_out(conn: &SharedConn, bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut done = 0;
    std::future::poll_fn(|cx| lock(conn).poll_write_all(cx, bytes, &mut done)).await
}

async fn shutdown(conn: &SharedConn) {
    let _ = std::future::poll_fn(|cx| {
        let mut c = lock(conn);
        match c.io.as_mut() {
            Some(io) => Pin::new(&mut **io).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    })
    .await;
}

thread_local! {
    /// The `Date` value of the current second (seconds since the epoch, the formatted value).
    static DATE: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((0, String::new())) };
}

/// Append `date: <now>\r\n`.
fn date_field(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(at, text)| {
        if *at != secs || text.is_empty() {
            *at = secs;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}

/// Append `size` in hex and a line end (a chunk-size line).
fn chunk_size(out: &mut Vec<u8>, size: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = HEX.get(n & 15).copied().unwrap_or(b'0');
        }
        n >>= 4;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;
    use std::collections::VecDeque;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

    /// What the test service does with a request.
    #[derive(Clone, Copy)]
    enum Act {
        /// Read the body and answer with `method target body[ trailer <x-t>]`, its length known.
        Echo,
        /// The same, as a body of two frames whose length is not known.
        Stream,
        /// Answer 413 without reading the body.
        Refuse,
        /// Answer 101 and pass the connection on.
        Switch,
    }

    /// A body of frames with no size hint.
    struct Frames(VecDeque<Bytes>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    async fn answer(
        head: Head,
        mut body: ClientBody,
        act: Act,
        switched: oneshot::Sender<Upgraded>,
    ) -> Response<ProxyBody> {
        match act {
            Act::Refuse => {
                let mut resp = Response::new(crate::body::full("no"));
                *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                return resp;
            }
            Act::Switch => {
                let on = OnUpgrade::take(&mut body).expect("an upgrade handle");
                tokio::spawn(async move {
                    if let Ok(io) = on.await {
                        let _ = switched.send(io);
                    }
                });
                let mut resp = Response::new(crate::body::full(""));
                *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                resp.headers_mut()
                    .insert(header::UPGRADE, HeaderValue::from_static("echo"));
                return resp;
            }
            Act::Echo | Act::Stream => {}
        }
        let parts = head;
        let collected = match body.collect().await {
            Ok(c) => c,
            Err(e) => {
                let mut resp = Response::new(crate::body::full(e.to_string()));
                *resp.status_mut() = StatusCode::BAD_REQUEST;
                return resp;
            }
        };
        let trailer = collected
            .trailers()
            .and_then(|t| t.get("x-t"))
            .map(|v| format!(" trailer {}", v.to_str().unwrap_or_default()))
            .unwrap_or_default();
        let data = collected.to_bytes();
        let text = format!(
            "{} {} {}{}",
            parts.method,
            parts.uri,
            String::from_utf8_lossy(&data),
            trailer
        );
        match act {
            Act::Stream => {
                let mut bytes = Bytes::from(text);
                let tail = bytes.split_off(bytes.len() / 2);
                Frames(VecDeque::from([bytes, tail])).boxed()
            }
            _ => crate::body::full(text),
        }
        .pipe(Response::new)
    }

    trait Pipe: Sized {
        fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
            f(self)
        }
    }
    impl<T> Pipe for T {}

    /// A server on one end of a pipe; the client end, the server's outcome, and the connection of a 101.
    fn start(
        acts: Vec<Act>,
        draining: bool,
    ) -> (
        DuplexStream,
        tokio::task::JoinHandle<&'static str>,
        oneshot::Receiver<Upgraded>,
    ) {
        let (client, server) = tokio::io::duplex(256 * 1024);
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let flag = AtomicBool::new(draining);
            let mut acts = acts.into_iter();
            let mut tx = Some(tx);
            let served = serve(Box::new(server), 8 * 1024, 20, &flag, |head, body| {
                let act = acts.next().unwrap_or(Act::Echo);
                let (spare, _) = oneshot::channel();
                answer(head, body, act, tx.take().unwrap_or(spare))
            })
            .await;
            match served {
                Served::Closed => "closed",
                Served::Refused(reason) => reason,
                Served::H2(_) => "h2",
            }
        });
        (client, task, rx)
    }

    /// Send `bytes`, then read until the server closes.
    async fn exchange(acts: Vec<Act>, bytes: &[u8]) -> (String, &'static str) {
        let (mut client, task, _) = start(acts, false);
        client.write_all(bytes).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        (
            String::from_utf8_lossy(&out).into_owned(),
            task.await.unwrap(),
        )
    }

    /// The responses in `text`, without their `date` fields.
    fn undated(text: &str) -> String {
        text.split("\r\n")
            .filter(|l| !l.starts_with("date: "))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    #[tokio::test]
    async fn keep_alive_pipelined_requests_with_both_framings() {
        let (out, outcome) = exchange(
            vec![Act::Echo, Act::Echo, Act::Echo],
            b"\r\nGET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n\
              POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
              POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
              3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: tv\r\n\r\n",
        )
        .await;
        assert_eq!(
            undated(&out),
            "HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nGET /a?x=1 \
             HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nPOST /b hello\
             HTTP/1.1 200 OK\r\ncontent-length: 24\r\nconnection: close\r\n\r\nPOST /c abcde trailer tv"
        );
        assert_eq!(outcome, "closed");
        assert!(out.contains("\r\ndate: "), "{out}");
    }

    #[tokio::test]
    async fn unknown_lengths_are_chunked_for_http11_and_close_delimited_for_http10() {
        let (out, _) = exchange(
            vec![Act::Stream, Act::Stream],
            b"GET /s HTTP/1.1\r\nHost: h\r\n\r\nGET /t HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(
            undated(&out),
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nGET\r\n4\r\n /s \r\n0\r\n\r\n\
             HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nGET\r\n4\r\n /t \r\n0\r\n\r\n"
        );
        let (out, _) = exchange(
            vec![Act::Stream],
            b"GET /u HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /never HTTP/1.0\r\n\r\n",
        )
        .await;
        assert_eq!(undated(&out), "HTTP/1.0 200 OK\r\n\r\nGET /u ");
        // HTTP/1.0 with keep-alive and a known length stays open; without, it closes.
        let (out, _) = exchange(
            vec![Act::Echo, Act::Echo],
            b"GET /v HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /w HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n",
        )
        .await;
        assert_eq!(
            undated(&out),
            "HTTP/1.0 200 OK\r\ncontent-length: 7\r\nconnection: keep-alive\r\n\r\nGET /v \
             HTTP/1.0 200 OK\r\ncontent-length: 7\r\n\r\nGET /w "
        );
    }

    #[tokio::test]
    async fn head_answers_have_no_body() {
        let (out, _) = exchange(
            vec![Act::Echo, Act::Echo],
            b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(
            undated(&out),
            "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nGET /g "
        );
    }

    #[tokio::test]
    async fn bad_heads_are_refused_and_closed() {
        let cases: [(&[u8], &str, &str); 11] = [
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\na", "400", "malformed_head"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", "400", "malformed_head"),
            (b"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400", "malformed_head"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello", "400", "malformed_head"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", "400", "malformed_head"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", "400", "malformed_head"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", "400", "malformed_head"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400", "malformed_head"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", "400", "malformed_head"),
            (b"GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", "400", "malformed_head"),
            (b"GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: 1\r\nJ: 1\r\nK: 1\r\nL: 1\r\nM: 1\r\nN: 1\r\nO: 1\r\nP: 1\r\nQ: 1\r\nR: 1\r\nS: 1\r\nT: 1\r\nU: 1\r\n\r\n", "431", "head_too_large"),
        ];
        for (bytes, status, reason) in cases {
            let (out, outcome) = exchange(vec![], bytes).await;
            assert!(out.starts_with(&format!("HTTP/1.1 {status} ")), "{out}");
            assert!(out.contains("connection: close\r\n"), "{out}");
            assert_eq!(outcome, reason, "{}", String::from_utf8_lossy(bytes));
        }
        // A head over the byte limit, whole or still arriving.
        let big = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(9000)
        );
        let (out, outcome) = exchange(vec![], big.as_bytes()).await;
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert_eq!(outcome, "head_too_large");
        let (out, outcome) = exchange(vec![], &big.as_bytes()[..8500]).await;
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert_eq!(outcome, "head_too_large");
        // A close in the middle of a head, or before any: no answer.
        let (out, outcome) = exchange(vec![], b"GET / HTTP/1.1\r\nHo").await;
        assert_eq!((out.as_str(), outcome), ("", "closed"));
    }

    #[tokio::test]
    async fn broken_bodies_fail_the_read() {
        for bytes in [
            &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nshort",
        ] {
            let (mut client, task, _) = start(vec![Act::Echo], false);
            client.write_all(bytes).await.unwrap();
            client.shutdown().await.unwrap();
            let mut out = Vec::new();
            client.read_to_end(&mut out).await.unwrap();
            let out = String::from_utf8_lossy(&out);
            assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
            // The body was not read to its end: the connection closes.
            assert!(out.contains("connection: close"), "{out}");
            assert_eq!(task.await.unwrap(), "closed");
        }
    }

    #[tokio::test]
    async fn continue_is_sent_when_the_body_is_read_and_not_before() {
        let (mut client, task, _) = start(vec![Act::Echo], false);
        client
            .write_all(b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0u8; CONTINUE.len()];
        client.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, CONTINUE);
        client.write_all(b"abc").await.unwrap();
        let mut out = vec![0u8; 512];
        let n = client.read(&mut out).await.unwrap();
        let out = String::from_utf8_lossy(&out[..n]);
        assert!(
            out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("POST /up abc"),
            "{out}"
        );
        drop(client);
        assert_eq!(task.await.unwrap(), "closed");

        // Refused on its head: no 100, and the connection closes after the answer.
        let (out, _) = exchange(
            vec![Act::Refuse],
            b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
        )
        .await;
        assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
        assert!(out.contains("connection: close"), "{out}");
    }

    #[tokio::test]
    async fn a_draining_connection_closes_after_its_answer() {
        let (mut client, task, _) = start(vec![Act::Echo], true);
        client
            .write_all(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        let out = String::from_utf8_lossy(&out);
        assert_eq!(out.matches("HTTP/1.1 200").count(), 1, "{out}");
        assert!(out.contains("connection: close"), "{out}");
        assert_eq!(task.await.unwrap(), "closed");
    }

    #[tokio::test]
    async fn the_http2_preface_hands_the_connection_back() {
        let (mut client, task, _) = start(vec![], false);
        client
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nrest")
            .await
            .unwrap();
        assert_eq!(task.await.unwrap(), "h2");
        // A request line that only starts like the preface is a request.
        let (out, _) = exchange(
            vec![Act::Echo],
            b"PRIX / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(
            out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("PRIX / "),
            "{out}"
        );
    }

    #[tokio::test]
    async fn switching_protocols_hands_over_the_connection_with_what_followed_the_head() {
        let (mut client, task, switched) = start(vec![Act::Switch], false);
        client
            .write_all(
                b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly",
            )
            .await
            .unwrap();
        let mut io = switched.await.unwrap();
        assert_eq!(task.await.unwrap(), "closed");
        let mut head = vec![0u8; 256];
        let n = client.read(&mut head).await.unwrap();
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        assert!(
            head.contains("upgrade: echo\r\n") && !head.contains("content-length"),
            "{head}"
        );
        let mut early = [0u8; 5];
        io.read_exact(&mut early).await.unwrap();
        assert_eq!(&early, b"early");
        io.write_all(b"both ways").await.unwrap();
        let mut back = [0u8; 9];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"both ways");
    }

    #[test]
    fn chunk_sizes_are_hex() {
        for (n, text) in [
            (0, "0\r\n"),
            (10, "a\r\n"),
            (0x1234, "1234\r\n"),
            (usize::MAX, "ffffffffffffffff\r\n"),
        ] {
            let mut out = Vec::new();
            chunk_size(&mut out, n);
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn content_lengths_are_plain_decimals() {
        assert_eq!(parse_length(b" 42 "), Some(42));
        assert_eq!(parse_length(b"18446744073709551615"), None);
        for bad in [&b""[..], b"+1", b"-1", b"0x10", b"1 1", b"1,1"] {
            assert_eq!(parse_length(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
