//! A read-side tap on HTTP/1 client connections that checks each raw request head for request-smuggling shapes.
//!
//! The HTTP/1 server side (`crate::h1`, hyper before it) parses heads itself and already rejects many bad shapes
//! (invalid or conflicting `Content-Length`, obsolete line folding, a non-`chunked` final `Transfer-Encoding`,
//! `Transfer-Encoding` in HTTP/1.0, bad chunk sizes), but it *accepts* some that a proxy in front of another server
//! must refuse: it ignores `Content-Length` when `Transfer-Encoding` is present and takes identical duplicate
//! `Content-Length` fields as one, as RFC 9112 lets a server do. The tap scans the same bytes before the parser does (lines split as httparse
//! splits them, only the framing fields read), follows message framing (fixed length or chunked) to find the next
//! head, and queues one verdict per head ([`HeadChecks`]); the request handler takes them in order (HTTP/1 requests
//! on one connection reach the handler in order).
//!
//! Measured with raw TCP requests against hyper (`tests/proxy.rs`, tap disabled), and kept by the server side that
//! replaced it (its unit tests): the parser alone answers 400 to differing duplicate
//! `Content-Length`, `Content-Length` lists, non-numeric/negative lengths, obsolete line folding, `Transfer-Encoding`
//! other than a final `chunked`, `Transfer-Encoding` in HTTP/1.0, bad or overflowing chunk sizes, a space before
//! the colon and bare CR in a value (the last bad-chunk cases surface as body errors, which the handler turns into
//! 400). The parser alone **forwards** `Content-Length` + `Transfer-Encoding` (either order), identical duplicate
//! `Content-Length`, duplicate `Transfer-Encoding`, duplicate `Host` and HTTP/1.1 without `Host`: those are this
//! tap's job.
//!
//! When the tap loses track (a head it cannot parse, a malformed chunk), it stops and marks the connection
//! desynchronised: the parser rejects such input itself, and any further request on that connection is refused.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A request-head shape refused because front and back ends may disagree on where the message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smuggling {
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1: ought to be handled as an error).
    ContentLengthWithTransferEncoding,
    /// More than one `Content-Length` field, or a list value.
    DuplicateContentLength,
    /// A `Content-Length` that is not a plain decimal number.
    InvalidContentLength,
    /// More than one `Transfer-Encoding` field.
    DuplicateTransferEncoding,
    /// A `Transfer-Encoding` other than exactly `chunked`.
    UnsupportedTransferEncoding,
    /// More than one `Host` field (RFC 9112 §3.2).
    DuplicateHost,
    /// An HTTP/1.1 request without `Host` (RFC 9112 §3.2).
    MissingHost,
    /// An earlier message on this connection could not be framed; nothing after it can be trusted.
    Desynchronised,
}

impl Smuggling {
    /// A short reason for the 400 body and the log.
    pub fn reason(self) -> &'static str {
        match self {
            Smuggling::ContentLengthWithTransferEncoding => {
                "Content-Length and Transfer-Encoding together"
            }
            Smuggling::DuplicateContentLength => "duplicate Content-Length",
            Smuggling::InvalidContentLength => "invalid Content-Length",
            Smuggling::DuplicateTransferEncoding => "duplicate Transfer-Encoding",
            Smuggling::UnsupportedTransferEncoding => "unsupported Transfer-Encoding",
            Smuggling::DuplicateHost => "duplicate Host",
            Smuggling::MissingHost => "missing Host",
            Smuggling::Desynchronised => {
                "connection desynchronised by an earlier malformed message"
            }
        }
    }
}

/// The verdicts shared between the tap and the request handler of one connection.
#[derive(Debug, Default)]
struct Shared {
    checks: VecDeque<Option<Smuggling>>,
    desynchronised: bool,
    disabled: bool,
}

/// Where the connection stands between request heads, for the head watchdog: written by the tap (heads) and the
/// handler (answers), read by the watchdog once per timeout. Times are nanoseconds after `epoch`.
#[derive(Debug)]
struct HeadClock {
    epoch: Instant,
    /// A request head has started arriving but is not complete.
    pending: AtomicBool,
    /// When the bytes of the pending head started arriving (set only when a read leaves a head incomplete).
    head_since: AtomicU64,
    /// When the connection last started waiting for a head: accepted, or a response ended.
    idle_since: AtomicU64,
    /// Complete heads the tap has seen.
    heads: AtomicU64,
    /// Requests the handler has answered (response ended or abandoned).
    answered: AtomicU64,
}

impl Default for HeadClock {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            pending: AtomicBool::new(false),
            head_since: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            heads: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        }
    }
}

impl HeadClock {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The handler's end: one verdict per request head, in order.
#[derive(Debug, Clone, Default)]
pub struct HeadChecks {
    shared: Arc<Mutex<Shared>>,
    clock: Arc<HeadClock>,
}

impl HeadChecks {
    /// True when part of a request head has arrived and the rest has not (a timeout now is a slow head, not an
    /// idle keep-alive connection). Always false when the tap is disabled.
    pub fn head_pending(&self) -> bool {
        self.clock.pending.load(Ordering::Relaxed)
    }

    /// True while a request whose head has arrived is not answered yet.
    pub fn serving(&self) -> bool {
        let clock = &*self.clock;
        clock.answered.load(Ordering::Relaxed) < clock.heads.load(Ordering::Relaxed)
    }

    /// A request on this connection has been answered (its response ended, or was abandoned): the connection
    /// waits for its next head from now on, unless another complete head is already queued.
    pub fn answered(&self) {
        let clock = &*self.clock;
        clock.idle_since.store(clock.now(), Ordering::Relaxed);
        clock.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// When the connection must be closed unless a request head completes first: `timeout` after it started
    /// waiting for a head (accepted, or the last response ended) or, later, after the first bytes of a head
    /// arrived. `None` while a request is being served (its body and response are not timed here) and when the
    /// tap does not follow the connection (HTTP/2, or stopped after a malformed message).
    pub fn head_deadline(&self, timeout: Duration) -> Option<Instant> {
        let clock = &*self.clock;
        // Heads first: a head completed after this load leaves the answer count at most equal, never ahead.
        let heads = clock.heads.load(Ordering::Relaxed);
        if clock.answered.load(Ordering::Relaxed) < heads {
            return None;
        }
        if self.shared.lock().map_or(true, |s| s.disabled) {
            return None;
        }
        let mut since = clock.idle_since.load(Ordering::Relaxed);
        if clock.pending.load(Ordering::Relaxed) {
            since = since.max(clock.head_since.load(Ordering::Relaxed));
        }
        clock
            .epoch
            .checked_add(Duration::from_nanos(since))?
            .checked_add(timeout)
    }

    /// The verdict for the next request on this connection: `Some(problem)` to refuse it.
    pub fn next(&self) -> Option<Smuggling> {
        let Ok(mut shared) = self.shared.lock() else {
            return Some(Smuggling::Desynchronised);
        };
        match shared.checks.pop_front() {
            Some(check) => check,
            None if shared.desynchronised => Some(Smuggling::Desynchronised),
            // HTTP/2 or a connection the tap does not follow: the parser's own checks apply.
            None => None,
        }
    }

    fn push(&self, check: Option<Smuggling>) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.checks.push_back(check);
        }
    }

    fn stop(&self, desynchronised: bool) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.disabled = true;
            shared.desynchronised |= desynchronised;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    Off,
}

/// Longest chunk-size or trailer line followed.
const MAX_LINE: usize = 8 * 1024;
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// The framing follower. Feed it every byte read from the client, in order.
#[derive(Debug)]
pub struct Tap {
    phase: Phase,
    buf: Vec<u8>,
    first_head: bool,
    max_head_bytes: usize,
    max_headers: usize,
    checks: HeadChecks,
    /// The last value stored in `checks.clock.pending`.
    pending: bool,
    /// Complete heads seen (the last value stored in `checks.clock.heads`).
    heads: u64,
}

impl Tap {
    /// A tap for a new connection, and the handler's end of it.
    pub fn new(max_head_bytes: usize, max_headers: usize) -> (Self, HeadChecks) {
        let checks = HeadChecks::default();
        let tap = Self {
            phase: Phase::Head,
            buf: Vec::new(),
            first_head: true,
            max_head_bytes,
            max_headers,
            checks: checks.clone(),
            pending: false,
            heads: 0,
        };
        (tap, checks)
    }

    /// A tap that follows nothing (HTTP/2 negotiated by ALPN).
    pub fn disabled() -> (Self, HeadChecks) {
        let (mut tap, checks) = Self::new(0, 0);
        tap.off(false);
        (tap, checks)
    }

    fn off(&mut self, desynchronised: bool) {
        self.phase = Phase::Off;
        self.buf = Vec::new();
        self.checks.stop(desynchronised);
    }

    /// Follow `data`, the next bytes read from the client.
    pub fn feed(&mut self, data: &[u8]) {
        self.follow(data);
        let pending = matches!(self.phase, Phase::Head) && !self.buf.is_empty();
        if pending != self.pending {
            self.pending = pending;
            let clock = &*self.checks.clock;
            if pending {
                // Only a read that leaves a head incomplete reads the clock.
                clock.head_since.store(clock.now(), Ordering::Relaxed);
            }
            clock.pending.store(pending, Ordering::Relaxed);
        }
    }

    fn follow(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.phase {
                Phase::Off => return,
                Phase::Head => data = self.feed_head(data),
                Phase::Fixed(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    data = data.get(take..).unwrap_or_default();
                    let left = left - take as u64;
                    self.phase = if left == 0 {
                        Phase::Head
                    } else {
                        Phase::Fixed(left)
                    };
                }
                Phase::ChunkData(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    data = data.get(take..).unwrap_or_default();
                    let left = left - take as u64;
                    self.phase = if left == 0 {
                        Phase::ChunkDataEnd
                    } else {
                        Phase::ChunkData(left)
                    };
                }
                Phase::ChunkSize | Phase::ChunkDataEnd | Phase::Trailers => {
                    let Some((&byte, rest)) = data.split_first() else {
                        return;
                    };
                    data = rest;
                    self.line_byte(byte);
                }
            }
        }
    }

    fn line_byte(&mut self, byte: u8) {
        if byte != b'\n' {
            if self.buf.len() >= MAX_LINE {
                return self.off(true);
            }
            self.buf.push(byte);
            return;
        }
        let mut line = std::mem::take(&mut self.buf);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        match self.phase {
            Phase::ChunkDataEnd if line.is_empty() => self.phase = Phase::ChunkSize,
            Phase::ChunkSize => match parse_chunk_size(&line) {
                Some(0) => self.phase = Phase::Trailers,
                Some(n) => self.phase = Phase::ChunkData(n),
                None => self.off(true),
            },
            Phase::Trailers if line.is_empty() => self.phase = Phase::Head,
            Phase::Trailers => {}
            _ => self.off(true),
        }
    }

    /// Accumulate head bytes; returns the bytes after the head once it is complete, or nothing. A head that
    /// arrives whole in one read (the usual case) is parsed where it is, without a copy.
    fn feed_head<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let direct = self.buf.is_empty();
        if !direct {
            self.buf.extend_from_slice(data);
        }
        let bytes: &[u8] = if direct { data } else { &self.buf };
        if self.first_head && bytes.starts_with(H2_PREFACE) {
            self.off(false);
            return &[];
        }
        let total = bytes.len();
        match scan_head(bytes, self.max_headers) {
            Ok(None) => {
                if direct {
                    self.buf.extend_from_slice(data);
                }
                if self.buf.len() > self.max_head_bytes {
                    self.off(true);
                }
                &[]
            }
            Ok(Some((len, check, framing))) => {
                let leftover = total.saturating_sub(len);
                self.buf.clear();
                self.first_head = false;
                self.heads += 1;
                self.checks.clock.heads.store(self.heads, Ordering::Relaxed);
                self.checks.push(check);
                if check.is_some() {
                    self.off(false);
                    return &[];
                }
                self.phase = framing;
                data.get(data.len().saturating_sub(leftover)..)
                    .unwrap_or_default()
            }
            Err(_) => {
                self.off(true);
                &[]
            }
        }
    }
}

/// A complete head's length, verdict and body framing; `None` while it is incomplete.
type ParsedHead = Option<(usize, Option<Smuggling>, Phase)>;

/// Why the scanner stopped following a head. The server side refuses every such head itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Malformed {
    /// The request line does not end in ` HTTP/1.0` or ` HTTP/1.1`.
    RequestLine,
    /// A field line starting with whitespace (obsolete line folding).
    Folding,
    /// More fields than the listener allows.
    TooManyHeaders,
}

/// Scan a head with at most `max_headers` fields: where it ends, and the fields that decide its verdict and
/// framing (`Content-Length`, `Transfer-Encoding`, `Host`).
///
/// This is not a parser. It splits lines as httparse does (`\n`, optionally after `\r`; empty lines before the
/// request line skipped), so on every head httparse, and so the server side, accepts it finds the same end and the
/// same fields (a property test compares the two); heads the server side refuses may pass here, and its 400 closes
/// their connection. A full parse cost ≈ 3.8k instructions per browser-like head on top of the server's own; this costs a
/// line search per field.
fn scan_head(bytes: &[u8], max_headers: usize) -> Result<ParsedHead, Malformed> {
    let mut pos = 0;
    loop {
        match bytes.get(pos..).unwrap_or_default() {
            [b'\r', b'\n', ..] => pos += 2,
            [b'\n', ..] => pos += 1,
            [] | [b'\r'] => return Ok(None),
            _ => break,
        }
    }
    let Some((request_line, next)) = next_line(bytes, pos) else {
        return Ok(None);
    };
    let http11 = if request_line.ends_with(b" HTTP/1.1") {
        true
    } else if request_line.ends_with(b" HTTP/1.0") {
        false
    } else {
        return Err(Malformed::RequestLine);
    };
    pos = next;
    let mut fields = FramingFields::default();
    let mut count = 0usize;
    loop {
        let Some((line, next)) = next_line(bytes, pos) else {
            return Ok(None);
        };
        pos = next;
        let Some(&first) = line.first() else {
            break;
        };
        count += 1;
        if count > max_headers {
            return Err(Malformed::TooManyHeaders);
        }
        if first == b' ' || first == b'\t' {
            return Err(Malformed::Folding);
        }
        fields.note(first, line);
    }
    let (check, framing) = fields.verdict(http11);
    Ok(Some((pos, check, framing)))
}

/// The line starting at `pos` without its `\n` or `\r\n`, and where the next one starts; `None` when no `\n`
/// has arrived yet.
fn next_line(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(pos..)?;
    let end = memchr::memchr(b'\n', rest)?;
    let line = rest.get(..end)?;
    Some((line.strip_suffix(b"\r").unwrap_or(line), pos + end + 1))
}

/// The value of a field line if its name is `name` (ASCII case ignored), without surrounding spaces and tabs.
fn field_value<'b>(line: &'b [u8], name: &[u8]) -> Option<&'b [u8]> {
    let (head, rest) = line.split_at_checked(name.len())?;
    let value = rest.strip_prefix(b":")?;
    head.eq_ignore_ascii_case(name).then(|| value.trim_ascii())
}

/// The fields of one head that decide its verdict and framing.
#[derive(Debug, Default)]
struct FramingFields<'b> {
    content_lengths: usize,
    content_length: &'b [u8],
    transfer_encodings: usize,
    transfer_encoding: &'b [u8],
    hosts: usize,
}

impl<'b> FramingFields<'b> {
    /// Note one field line; `first` is its first byte (a name's first letter picks the one comparison made).
    fn note(&mut self, first: u8, line: &'b [u8]) {
        match first.to_ascii_lowercase() {
            b'c' => {
                if let Some(v) = field_value(line, b"content-length") {
                    if self.content_lengths == 0 {
                        self.content_length = v;
                    }
                    self.content_lengths += 1;
                }
            }
            b't' => {
                if let Some(v) = field_value(line, b"transfer-encoding") {
                    if self.transfer_encodings == 0 {
                        self.transfer_encoding = v;
                    }
                    self.transfer_encodings += 1;
                }
            }
            b'h' if field_value(line, b"host").is_some() => self.hosts += 1,
            _ => {}
        }
    }

    /// The verdict, and how the body that follows is framed.
    fn verdict(&self, http11: bool) -> (Option<Smuggling>, Phase) {
        let problem = if self.content_lengths > 0 && self.transfer_encodings > 0 {
            Some(Smuggling::ContentLengthWithTransferEncoding)
        } else if self.content_lengths > 1 {
            Some(Smuggling::DuplicateContentLength)
        } else if self.transfer_encodings > 1 {
            Some(Smuggling::DuplicateTransferEncoding)
        } else if self.hosts > 1 {
            Some(Smuggling::DuplicateHost)
        } else if self.hosts == 0 && http11 {
            Some(Smuggling::MissingHost)
        } else {
            None
        };
        if problem.is_some() {
            return (problem, Phase::Off);
        }
        if self.transfer_encodings > 0 {
            return if self.transfer_encoding.eq_ignore_ascii_case(b"chunked") {
                (None, Phase::ChunkSize)
            } else {
                (Some(Smuggling::UnsupportedTransferEncoding), Phase::Off)
            };
        }
        if self.content_lengths > 0 {
            let text = self.content_length;
            if text.contains(&b',') {
                return (Some(Smuggling::DuplicateContentLength), Phase::Off);
            }
            return match parse_decimal(text) {
                Some(0) => (None, Phase::Head),
                Some(n) => (None, Phase::Fixed(n)),
                None => (Some(Smuggling::InvalidContentLength), Phase::Off),
            };
        }
        (None, Phase::Head)
    }
}

/// A non-empty run of ASCII digits as a `u64`; `None` for anything else or an overflow.
pub(crate) fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// The size of a chunk-size line without its line end: up to 16 hex digits, then optionally blanks and
/// extensions after `;`. Shared with the upstream client, which reads chunked response bodies.
pub(crate) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(end);
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let blanks = rest
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(rest.len());
    if rest.get(blanks).is_some_and(|b| *b != b';') {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        Some((n << 4) | u64::from(v))
    })
}

/// A client connection with a [`Tap`] on its read side.
#[derive(Debug)]
pub struct TappedIo<T> {
    inner: T,
    tap: Tap,
}

impl<T> TappedIo<T> {
    /// Wrap `inner`.
    pub fn new(inner: T, tap: Tap) -> Self {
        Self { inner, tap }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TappedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            this.tap
                .feed(buf.filled().get(before..).unwrap_or_default());
        }
        res
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TappedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<Option<Smuggling>> {
        let (mut tap, checks) = Tap::new(64 * 1024, 100);
        for c in chunks {
            tap.feed(c);
        }
        let mut out = Vec::new();
        while let Ok(mut s) = checks.shared.lock() {
            match s.checks.pop_front() {
                Some(c) => out.push(c),
                None => break,
            }
        }
        out
    }

    #[test]
    fn follows_pipelined_fixed_and_chunked_bodies() {
        let stream = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n";
        assert_eq!(
            run(&[stream]),
            vec![None, None, Some(Smuggling::DuplicateContentLength)]
        );
        // The same bytes one at a time.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(
            run(&bytes),
            vec![None, None, Some(Smuggling::DuplicateContentLength)]
        );
    }

    #[test]
    fn smuggled_body_head_is_seen() {
        // A body that looks like a request is body, not a head.
        let body = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut stream = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        stream.extend_from_slice(body);
        let stream = stream.as_slice();
        assert_eq!(run(&[stream]), vec![None]);
    }

    #[test]
    fn shapes() {
        let cases: &[(&[u8], Smuggling)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
                Smuggling::ContentLengthWithTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
                Smuggling::ContentLengthWithTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\n",
                Smuggling::DuplicateContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\n",
                Smuggling::InvalidContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                Smuggling::DuplicateTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Smuggling::UnsupportedTransferEncoding,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
                Smuggling::DuplicateHost,
            ),
            (b"GET / HTTP/1.1\r\n\r\n", Smuggling::MissingHost),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                run(&[bytes]),
                vec![Some(*want)],
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"0 ;x"), Some(0));
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b"-1"), None);
        assert_eq!(parse_chunk_size(b"1 x"), None);
        assert_eq!(parse_chunk_size(b"11111111111111111"), None);
    }

    #[test]
    fn header_count_limit_beyond_the_stack_array() {
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..40 {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 1\r\nContent-Length: 1\r\n\r\n");
        // 43 fields: followed under a limit of 100 (whole or byte by byte), refused under 42.
        for max in [100, 43] {
            let (mut tap, checks) = Tap::new(64 * 1024, max);
            tap.feed(&head);
            assert_eq!(
                checks.next(),
                Some(Smuggling::DuplicateContentLength),
                "{max}"
            );
            let (mut tap, checks) = Tap::new(64 * 1024, max);
            for b in head.chunks(1) {
                tap.feed(b);
            }
            assert_eq!(
                checks.next(),
                Some(Smuggling::DuplicateContentLength),
                "{max}"
            );
        }
        let (mut tap, checks) = Tap::new(64 * 1024, 42);
        tap.feed(&head);
        assert_eq!(checks.next(), Some(Smuggling::Desynchronised));
        let (mut tap, checks) = Tap::new(64 * 1024, 10);
        tap.feed(&head);
        assert_eq!(checks.next(), Some(Smuggling::Desynchronised));
    }

    #[test]
    fn head_deadline_follows_heads_and_answers() {
        let t = Duration::from_secs(1);
        let (mut tap, checks) = Tap::new(1024, 10);
        // Idle from the start.
        let idle = checks.head_deadline(t).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        // Part of a head: the deadline moves to its first bytes.
        tap.feed(b"GET / HTTP/1.1\r\n");
        assert!(checks.head_pending());
        let head = checks.head_deadline(t).unwrap();
        assert!(head > idle);
        // Complete: serving, no deadline until answered.
        tap.feed(b"Host: x\r\n\r\n");
        assert!(!checks.head_pending());
        assert_eq!(checks.head_deadline(t), None);
        std::thread::sleep(Duration::from_millis(5));
        checks.answered();
        assert!(checks.head_deadline(t).unwrap() > head);
        // Two pipelined heads, one answer: still serving.
        tap.feed(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        checks.answered();
        assert_eq!(checks.head_deadline(t), None);
        checks.answered();
        assert!(checks.head_deadline(t).is_some());
        // A tap that stopped following the connection never times it.
        let (_, off) = Tap::disabled();
        assert_eq!(off.head_deadline(t), None);
    }

    #[test]
    fn h2_preface_disables() {
        let (mut tap, checks) = Tap::new(1024, 10);
        tap.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(checks.next(), None);
        assert!(!checks.shared.lock().unwrap().desynchronised);
    }

    /// The head as httparse parses it, with the framing fields read from its parsed headers: the reference the
    /// scanner must agree with wherever httparse completes a head.
    fn parsed_head(bytes: &[u8], max_headers: usize) -> Result<ParsedHead, httparse::Error> {
        let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
        let mut req = httparse::Request::new(&mut headers);
        let len = match req.parse(bytes)? {
            httparse::Status::Partial => return Ok(None),
            httparse::Status::Complete(len) => len,
        };
        let mut fields = FramingFields::default();
        for h in req.headers.iter() {
            let value = h.value.trim_ascii();
            if h.name.eq_ignore_ascii_case("content-length") {
                if fields.content_lengths == 0 {
                    fields.content_length = value;
                }
                fields.content_lengths += 1;
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                if fields.transfer_encodings == 0 {
                    fields.transfer_encoding = value;
                }
                fields.transfer_encodings += 1;
            } else if h.name.eq_ignore_ascii_case("host") {
                fields.hosts += 1;
            }
        }
        let (check, framing) = fields.verdict(req.version == Some(1));
        Ok(Some((len, check, framing)))
    }

    #[test]
    fn scanner_edges() {
        // Complete heads are the whole input.
        type Scanned = Result<Option<(Option<Smuggling>, Phase)>, Malformed>;
        let cases: &[(&[u8], Scanned)] = &[
            (b"\r\n\nGET / HTTP/1.1\nhost:x\n\n", Ok(Some((None, Phase::Head)))),
            (b"GET / HTTP/1.0\r\n\r\n", Ok(Some((None, Phase::Head)))),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r", Ok(None)),
            (b"\r", Ok(None)),
            (b"GET / HTTP/2.0\r\n", Err(Malformed::RequestLine)),
            (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", Err(Malformed::Folding)),
            (
                b"POST / HTTP/1.1\r\nHOST: x\r\ncontent-LENGTH:\t 12 \t\r\n\r\n",
                Ok(Some((None, Phase::Fixed(12)))),
            ),
            // Names that only start like the framing fields are other fields.
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Lengths: 1\r\nHosts: y\r\nTE: chunked\r\n\r\n",
                Ok(Some((None, Phase::Head))),
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n",
                Ok(Some((Some(Smuggling::InvalidContentLength), Phase::Off))),
            ),
        ];
        for (bytes, want) in cases {
            let got = scan_head(bytes, 100).map(|head| {
                head.map(|(len, check, phase)| {
                    assert_eq!(len, bytes.len());
                    (check, phase)
                })
            });
            assert_eq!(&got, want, "{}", String::from_utf8_lossy(bytes));
        }
        assert_eq!(
            scan_head(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n", 1),
            Err(Malformed::TooManyHeaders)
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Head lines built to find where the scanner and httparse could part: names in any case and near
        /// misses, values with spaces, tabs and commas, both line endings, folding, stray CR and control bytes.
        fn head() -> impl Strategy<Value = Vec<u8>> {
            let name = prop::sample::select(vec![
                "Host",
                "host",
                "HOST",
                "Hosts",
                "Content-Length",
                "content-length",
                "CONTENT-LENGTH",
                "Content-Lengthx",
                "Content-Length ",
                "Transfer-Encoding",
                "transfer-ENCODING",
                "Transfer-Encodin",
                "TE",
                "X-A",
                "Cookie",
                "c",
                "t",
                "h",
                "",
            ]);
            let value = prop::sample::select(vec![
                "",
                " 5",
                "5 ",
                "\t7\t",
                "0",
                "00",
                "12345678901234567890123",
                "+4",
                "-1",
                "4, 4",
                "1,1",
                "chunked",
                " Chunked ",
                "chunked, gzip",
                "gzip, chunked",
                "x",
                "a\rb",
                "a\x00b",
                "\u{e9}",
            ]);
            let eol = prop::sample::select(vec!["\r\n", "\n", "\r\n", "\r"]);
            let line =
                (name, any::<bool>(), value, eol, 0u8..12).prop_map(|(n, space, v, e, fold)| {
                    let lead = if fold == 0 { " " } else { "" };
                    format!("{lead}{n}:{}{v}{e}", if space { " " } else { "" })
                });
            let request_line = prop::sample::select(vec![
                "GET / HTTP/1.1",
                "POST /p?q=1 HTTP/1.1",
                "GET / HTTP/1.0",
                "GET / HTTP/2.0",
                "GET /",
                "GET / HTTP/1.1 ",
            ]);
            (
                prop::sample::select(vec!["", "\r\n", "\n", "\r\n\r\n"]),
                request_line,
                prop::sample::select(vec!["\r\n", "\n"]),
                proptest::collection::vec(line, 0..8),
                prop::sample::select(vec!["\r\n", "\n", ""]),
            )
                .prop_map(|(lead, rl, eol, lines, end)| {
                    format!("{lead}{rl}{eol}{}{end}", lines.concat()).into_bytes()
                })
        }

        /// One well-formed request: (chunked?, body, chunk size).
        fn request() -> impl Strategy<Value = (bool, Vec<u8>, usize)> {
            (
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..300),
                1usize..64,
            )
        }

        fn encode(chunked: bool, body: &[u8], chunk: usize) -> Vec<u8> {
            let mut out = b"POST /p HTTP/1.1\r\nHost: h\r\n".to_vec();
            if chunked {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for c in body.chunks(chunk) {
                    out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                    out.extend_from_slice(c);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            } else {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            out
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048), split in 1usize..64) {
                let (mut tap, checks) = Tap::new(1024, 16);
                for c in data.chunks(split) {
                    tap.feed(c);
                }
                let _ = checks.next();
            }

            #[test]
            fn scanner_agrees_with_httparse(head in head(), max in 1usize..10) {
                // Every prefix too: a head httparse finds incomplete is not complete for the scanner either.
                for end in 0..=head.len() {
                    let bytes = head.get(..end).unwrap_or_default();
                    match parsed_head(bytes, max) {
                        Ok(Some(parsed)) => prop_assert_eq!(scan_head(bytes, max), Ok(Some(parsed))),
                        Ok(None) => prop_assert!(!matches!(scan_head(bytes, max), Ok(Some(_)))),
                        Err(_) => {}
                    }
                }
            }

            #[test]
            fn pipelined_valid_requests_are_all_clean(
                reqs in proptest::collection::vec(request(), 1..8),
                split in 1usize..97,
            ) {
                let stream: Vec<u8> = reqs.iter().flat_map(|(c, b, n)| encode(*c, b, *n)).collect();
                let got = run(&stream.chunks(split).collect::<Vec<_>>());
                prop_assert_eq!(got, vec![None; reqs.len()]);
            }
        }
    }
}
