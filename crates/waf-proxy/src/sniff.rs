//! A read-side tap on HTTP/1 client connections that checks each raw request head for request-smuggling shapes.
//!
//! hyper parses heads itself and already rejects many bad shapes (invalid or conflicting `Content-Length`,
//! obsolete line folding, a non-`chunked` final `Transfer-Encoding`, `Transfer-Encoding` in HTTP/1.0, bad chunk
//! sizes), but it *accepts* some that a proxy in front of another server must refuse: it silently drops
//! `Content-Length` when `Transfer-Encoding` is present and merges identical duplicate `Content-Length` headers, so
//! the request handler cannot see them. The tap parses the same bytes with `httparse` before hyper does, follows
//! message framing (fixed length or chunked) to find the next head, and queues one [`HeadCheck`] per head; the
//! request handler takes them in order (HTTP/1 requests on one connection reach the handler in order).
//!
//! Measured with raw TCP requests (`tests/proxy.rs`, tap disabled): hyper alone answers 400 to differing duplicate
//! `Content-Length`, `Content-Length` lists, non-numeric/negative lengths, obsolete line folding, `Transfer-Encoding`
//! other than a final `chunked`, `Transfer-Encoding` in HTTP/1.0, bad or overflowing chunk sizes, a space before
//! the colon and bare CR in a value (the last bad-chunk cases surface as body errors, which the handler turns into
//! 400). hyper alone **forwards** `Content-Length` + `Transfer-Encoding` (either order), identical duplicate
//! `Content-Length`, duplicate `Transfer-Encoding`, duplicate `Host` and HTTP/1.1 without `Host`: those are this
//! tap's job.
//!
//! When the tap loses track (a head it cannot parse, a malformed chunk), it stops and marks the connection
//! desynchronised: hyper rejects such input itself, and any further request on that connection is refused.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

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

/// The handler's end: one verdict per request head, in order.
#[derive(Debug, Clone, Default)]
pub struct HeadChecks {
    shared: Arc<Mutex<Shared>>,
    /// A request head has started arriving but is not complete.
    pending: Arc<AtomicBool>,
}

impl HeadChecks {
    /// True when part of a request head has arrived and the rest has not (a timeout now is a slow head, not an
    /// idle keep-alive connection). Always false when the tap is disabled.
    pub fn head_pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// The verdict for the next request on this connection: `Some(problem)` to refuse it.
    pub fn next(&self) -> Option<Smuggling> {
        let Ok(mut shared) = self.shared.lock() else {
            return Some(Smuggling::Desynchronised);
        };
        match shared.checks.pop_front() {
            Some(check) => check,
            None if shared.desynchronised => Some(Smuggling::Desynchronised),
            // HTTP/2 or a connection the tap does not follow: hyper's own checks apply.
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

#[derive(Debug)]
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
    /// The last value stored in `checks.pending`.
    pending: bool,
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
            self.checks.pending.store(pending, Ordering::Relaxed);
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

    /// Accumulate head bytes; returns the bytes after the head once it is complete, or nothing.
    fn feed_head<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        self.buf.extend_from_slice(data);
        if self.first_head && self.buf.starts_with(H2_PREFACE) {
            self.off(false);
            return &[];
        }
        let mut headers = vec![httparse::EMPTY_HEADER; self.max_headers.max(1)];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&self.buf) {
            Ok(httparse::Status::Partial) => {
                if self.buf.len() > self.max_head_bytes {
                    self.off(true);
                }
                &[]
            }
            Ok(httparse::Status::Complete(len)) => {
                let (check, framing) = classify(&req);
                let leftover = self.buf.len().saturating_sub(len);
                self.buf.clear();
                self.first_head = false;
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

fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(end);
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let rest: Vec<u8> = rest
        .iter()
        .copied()
        .skip_while(|b| *b == b' ' || *b == b'\t')
        .collect();
    if !(rest.is_empty() || rest.first() == Some(&b';')) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// The verdict for a parsed head and how its body is framed.
fn classify(req: &httparse::Request<'_, '_>) -> (Option<Smuggling>, Phase) {
    let mut content_lengths = Vec::new();
    let mut transfer_encodings = Vec::new();
    let mut hosts = 0usize;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            content_lengths.push(h.value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encodings.push(h.value);
        } else if h.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        }
    }
    let problem = if !content_lengths.is_empty() && !transfer_encodings.is_empty() {
        Some(Smuggling::ContentLengthWithTransferEncoding)
    } else if content_lengths.len() > 1 {
        Some(Smuggling::DuplicateContentLength)
    } else if transfer_encodings.len() > 1 {
        Some(Smuggling::DuplicateTransferEncoding)
    } else if hosts > 1 {
        Some(Smuggling::DuplicateHost)
    } else if hosts == 0 && req.version == Some(1) {
        Some(Smuggling::MissingHost)
    } else {
        None
    };
    if problem.is_some() {
        return (problem, Phase::Off);
    }
    if let Some(te) = transfer_encodings.first() {
        let chunked = std::str::from_utf8(te)
            .map(|v| v.trim().eq_ignore_ascii_case("chunked"))
            .unwrap_or(false);
        return if chunked {
            (None, Phase::ChunkSize)
        } else {
            (Some(Smuggling::UnsupportedTransferEncoding), Phase::Off)
        };
    }
    if let Some(cl) = content_lengths.first() {
        let text = std::str::from_utf8(cl)
            .unwrap_or("")
            .trim_matches([' ', '\t']);
        if text.contains(',') {
            return (Some(Smuggling::DuplicateContentLength), Phase::Off);
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return (Some(Smuggling::InvalidContentLength), Phase::Off);
        }
        return match text.parse::<u64>() {
            Ok(0) => (None, Phase::Head),
            Ok(n) => (None, Phase::Fixed(n)),
            Err(_) => (Some(Smuggling::InvalidContentLength), Phase::Off),
        };
    }
    (None, Phase::Head)
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
    fn h2_preface_disables() {
        let (mut tap, checks) = Tap::new(1024, 10);
        tap.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(checks.next(), None);
        assert!(!checks.shared.lock().unwrap().desynchronised);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

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
