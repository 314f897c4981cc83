//! Request bodies: read the prefix the web ACL inspects, then forward that prefix followed by the rest of the
//! client's body as it arrives, never buffering more than the prefix.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, SizeHint};

pub use crate::h1::ClientBody;

/// The error type of bodies the proxy sends.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every request and response the proxy produces.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// A body with fixed content.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Why reading the client's body failed.
#[derive(Debug)]
pub enum BodyReadError {
    /// The body is larger than the configured maximum.
    TooLarge,
    /// The client's framing was broken (bad chunk, early close, h2 reset).
    Client(BoxError),
}

/// The start of a client's body, read for inspection.
#[derive(Debug)]
pub struct Prefix {
    /// Data frames read so far (at least the inspection limit unless the body ended first).
    pub chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    pub len: u64,
    /// Trailers, when the body ended with them.
    pub trailers: Option<HeaderMap>,
    /// The rest of the body, `None` when the body has ended.
    pub rest: Option<ClientBody>,
}

impl Prefix {
    /// The first `limit` bytes, for inspection (copied once).
    pub fn inspected(&self, limit: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(limit.min(usize::try_from(self.len).unwrap_or(limit)));
        for chunk in &self.chunks {
            let room = limit.saturating_sub(out.len());
            if room == 0 {
                break;
            }
            out.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        }
        out
    }

    /// True when the whole body is in `chunks`.
    pub fn complete(&self) -> bool {
        self.rest.is_none()
    }
}

/// Read frames until at least `want` bytes arrived or the body ended. Fails with [`BodyReadError::TooLarge`] when
/// more than `max` bytes arrive.
pub async fn read_prefix(
    mut body: ClientBody,
    want: usize,
    max: u64,
) -> Result<Prefix, BodyReadError> {
    let mut prefix = Prefix {
        chunks: VecDeque::new(),
        len: 0,
        trailers: None,
        rest: None,
    };
    if body.is_end_stream() {
        return Ok(prefix);
    }
    while prefix.len < want as u64 {
        match body.frame().await {
            None => return Ok(prefix),
            Some(Err(e)) => return Err(BodyReadError::Client(e)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    prefix.len += data.len() as u64;
                    if prefix.len > max {
                        return Err(BodyReadError::TooLarge);
                    }
                    if !data.is_empty() {
                        prefix.chunks.push_back(data);
                    }
                }
                Err(frame) => {
                    prefix.trailers = frame.into_trailers().ok();
                    return Ok(prefix);
                }
            },
        }
    }
    if !body.is_end_stream() {
        prefix.rest = Some(body);
    }
    Ok(prefix)
}

/// What went wrong while streaming the rest of the client's body, so the handler can blame the client (413/400)
/// rather than the upstream (502).
#[derive(Debug, Clone, Default)]
pub struct LimitFlag {
    too_large: Arc<AtomicBool>,
    client_error: Arc<AtomicBool>,
}

impl LimitFlag {
    /// Whether the size limit was hit.
    pub fn hit(&self) -> bool {
        self.too_large.load(Ordering::Relaxed)
    }

    /// Whether the client's body broke (bad chunking, early close, reset).
    pub fn client_error(&self) -> bool {
        self.client_error.load(Ordering::Relaxed)
    }
}

/// The body is larger than the configured maximum.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeds the configured maximum")]
pub struct BodyTooLarge;

/// The forwarded request body: the buffered prefix, then the client's remaining frames as they arrive.
pub struct ForwardBody {
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    rest: Option<ClientBody>,
    seen: u64,
    max: u64,
    flag: LimitFlag,
}

impl ForwardBody {
    /// Forward `prefix` and then the rest, failing once more than `max` bytes have passed.
    pub fn new(prefix: Prefix, max: u64) -> (Self, LimitFlag) {
        let flag = LimitFlag::default();
        let body = Self {
            seen: prefix.len,
            chunks: prefix.chunks,
            trailers: prefix.trailers,
            rest: prefix.rest,
            max,
            flag: flag.clone(),
        };
        (body, flag)
    }
}

impl ForwardBody {
    /// The whole body, when it is all buffered (no rest to stream, no trailers): the chunks not yet sent.
    pub fn buffered(&self) -> Option<&VecDeque<Bytes>> {
        (self.rest.is_none() && self.trailers.is_none()).then_some(&self.chunks)
    }
}

impl Body for ForwardBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(chunk) = this.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if let Some(rest) = this.rest.as_mut() {
            match Pin::new(rest).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.seen += data.len() as u64;
                        if this.seen > this.max {
                            this.flag.too_large.store(true, Ordering::Relaxed);
                            this.rest = None;
                            return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
                        }
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.flag.client_error.store(true, Ordering::Relaxed);
                    this.rest = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => this.rest = None,
            }
        }
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.trailers.is_none() && self.rest.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let buffered: u64 = self.chunks.iter().map(|c| c.len() as u64).sum();
        match &self.rest {
            None => SizeHint::with_exact(buffered),
            Some(rest) => {
                let inner = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(buffered.saturating_add(inner.lower()));
                if let Some(upper) = inner.upper() {
                    hint.set_upper(buffered.saturating_add(upper));
                }
                hint
            }
        }
    }
}

/// A body that keeps some values alive (in-flight counters) until it is dropped.
pub struct Guarded<G, B = ProxyBody> {
    inner: B,
    _guard: G,
}

impl<G: Send + Sync + Unpin + 'static> Guarded<G> {
    /// Wrap `inner`, dropping `guard` with it.
    pub fn wrap(inner: ProxyBody, guard: G) -> ProxyBody {
        Self {
            inner,
            _guard: guard,
        }
        .boxed()
    }
}

impl<G: Unpin, B: Body<Data = Bytes, Error = BoxError> + Unpin> Body for Guarded<G, B> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The upstream sent nothing for longer than the pool's read timeout while streaming a response body.
#[derive(Debug, thiserror::Error)]
#[error("upstream response body idle for too long")]
pub struct UpstreamIdle;

/// A response body that fails when no frame arrives within `idle` (the pool's read timeout), so a stalled upstream
/// cannot pin a client connection forever. The timer is armed only when the upstream makes the body wait: a body
/// that is already buffered (most small responses) costs no timer.
pub struct IdleTimeout<B = ProxyBody> {
    inner: B,
    timer: IdleTimer,
}

impl IdleTimeout {
    /// Wrap `inner`.
    pub fn wrap(inner: ProxyBody, idle: std::time::Duration) -> ProxyBody {
        Self {
            inner,
            timer: IdleTimer::new(idle),
        }
        .boxed()
    }
}

/// Times how long a body has been waiting for its next frame.
struct IdleTimer {
    idle: std::time::Duration,
    /// The timer, created at the first wait and reset at each later one.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether `sleep` times the current wait (false once a frame arrived).
    armed: bool,
}

impl IdleTimer {
    fn new(idle: std::time::Duration) -> Self {
        Self {
            idle,
            sleep: None,
            armed: false,
        }
    }

    /// A frame (or the end) arrived: the next wait is timed from its own start.
    fn frame_arrived(&mut self) {
        self.armed = false;
    }

    /// The body is waiting: true once it has waited longer than `idle` for this frame.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let idle = self.idle;
        let armed = std::mem::replace(&mut self.armed, true);
        let fresh = self.sleep.is_none();
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        if !armed && !fresh {
            sleep.as_mut().reset(tokio::time::Instant::now() + idle);
        }
        sleep.as_mut().poll(cx).is_ready()
    }
}

impl<B: Body<Data = Bytes, Error = BoxError> + Unpin> Body for IdleTimeout<B> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer.frame_arrived();
                Poll::Ready(frame)
            }
            Poll::Pending if this.timer.expired(cx) => {
                Poll::Ready(Some(Err(Box::new(UpstreamIdle))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The response body of an upstream, as the proxy forwards it: fails after `idle` without a frame
/// ([`IdleTimeout`]: the timer armed only when the body waits) and keeps `guard` (request slot, in-flight count)
/// until dropped. The inner body gives its connection back for reuse once read to the end (dropped earlier, or
/// timed out, it closes it). One box per response instead of one per layer.
pub(crate) fn upstream_body<G: Send + Sync + Unpin + 'static>(
    inner: crate::connpool::ResponseBody,
    idle: std::time::Duration,
    guard: G,
) -> ProxyBody {
    Guarded {
        inner: IdleTimeout {
            inner,
            timer: IdleTimer::new(idle),
        },
        _guard: guard,
    }
    .boxed()
}
