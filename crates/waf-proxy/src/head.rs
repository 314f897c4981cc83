//! A client's request head as the bytes it came in: the request line's parts and a list of field offsets, with
//! no `HeaderMap`.
//!
//! Building a `HeaderMap` for every request (a name look-up or copy, a hash, a value check per field) was about
//! 8k of the 42k instructions of a forwarded request without a web ACL; the head is read a few times (`Host`,
//! `Connection`, `Content-Length`, the forwarding fields) and then written upstream, and a linear search of a
//! dozen fields does that for less. Names keep their case as sent; every look-up ignores ASCII case.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri, Version};

/// The request line and fields of a client's request.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub fields: Fields,
}

/// Where one field sits in [`Fields::bytes`]: `name_end` past the name, the value from `value` to `value_end`.
#[derive(Debug, Clone, Copy)]
struct Span {
    name: u32,
    name_end: u32,
    value: u32,
    value_end: u32,
    /// The line is exactly `name: value\r\n`: runs of such lines are copied upstream in one piece.
    plain: bool,
}

/// A head's fields, in the order received.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    bytes: Bytes,
    spans: Vec<Span>,
}

impl Fields {
    /// Fields over `bytes`: each `(name, value)` is a pair of ranges in it.
    pub(crate) fn with_capacity(bytes: Bytes, n: usize) -> Self {
        Self {
            bytes,
            spans: Vec::with_capacity(n),
        }
    }

    /// Add the field at `name` and `value` (ranges of the bytes given to [`Self::with_capacity`]).
    pub(crate) fn push(&mut self, name: (usize, usize), value: (usize, usize)) {
        let (Ok(n0), Ok(n1), Ok(v0), Ok(v1)) = (
            u32::try_from(name.0),
            u32::try_from(name.1),
            u32::try_from(value.0),
            u32::try_from(value.1),
        ) else {
            return;
        };
        let plain = v0 == n1 + 2
            && self.bytes.get(name.1..value.0) == Some(b": ".as_slice())
            && self.bytes.get(value.1..value.1 + 2) == Some(b"\r\n".as_slice());
        self.spans.push(Span {
            name: n0,
            name_end: n1,
            value: v0,
            value_end: v1,
            plain,
        });
    }

    /// The fields of a `HeaderMap` (an HTTP/2 request), written out as an HTTP/1 head's field lines.
    pub(crate) fn from_map(map: &HeaderMap) -> Self {
        let mut text = Vec::with_capacity(map.len() * 48);
        let mut ranges = Vec::with_capacity(map.len());
        for (name, value) in map {
            let n0 = text.len();
            text.extend_from_slice(name.as_str().as_bytes());
            let n1 = text.len();
            text.extend_from_slice(b": ");
            let v0 = text.len();
            text.extend_from_slice(value.as_bytes());
            ranges.push(((n0, n1), (v0, text.len())));
            text.extend_from_slice(b"\r\n");
        }
        let mut fields = Self::with_capacity(Bytes::from(text), ranges.len());
        for (name, value) in ranges {
            fields.push(name, value);
        }
        fields
    }

    /// A `HeaderMap` of the fields (for the callers that need one; names in lower case). Fields that are not
    /// valid as such are left out.
    pub(crate) fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.spans.len());
        for span in &self.spans {
            let (Ok(name), Some(value)) = (
                HeaderName::from_bytes(self.name(span)),
                self.shared_value(span),
            ) else {
                continue;
            };
            map.append(name, value);
        }
        map
    }

    /// The bytes from `start` to `end` of the head these fields are in.
    pub(crate) fn raw(&self, start: usize, end: usize) -> &[u8] {
        self.bytes.get(start..end).unwrap_or_default()
    }

    fn name(&self, span: &Span) -> &[u8] {
        self.raw(span.name as usize, span.name_end as usize)
    }

    fn value(&self, span: &Span) -> &[u8] {
        self.raw(span.value as usize, span.value_end as usize)
    }

    /// `span`'s value as a field value sharing these bytes (no copy).
    fn shared_value(&self, span: &Span) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(
            self.bytes
                .slice(span.value as usize..span.value_end as usize),
        )
        .ok()
    }

    /// The number of fields.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Every `(name, value)`, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.spans.iter().map(|s| (self.name(s), self.value(s)))
    }

    /// The values of the fields named `name` (lower case), in order.
    pub(crate) fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.spans
            .iter()
            .filter(move |s| self.is(s, name))
            .map(|s| self.value(s))
    }

    /// Whether `span` is a field named `name`.
    fn is(&self, span: &Span, name: &str) -> bool {
        (span.name_end - span.name) as usize == name.len()
            && self.name(span).eq_ignore_ascii_case(name.as_bytes())
    }

    /// The first value of the field `name` (lower case).
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        let span = self.spans.iter().find(|s| self.is(s, name))?;
        Some(self.value(span))
    }

    /// Whether a field `name` (lower case) is there.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The first value of `name` as a field value sharing these bytes (no copy).
    pub(crate) fn value_of(&self, name: &str) -> Option<HeaderValue> {
        let span = self.spans.iter().find(|s| self.is(s, name))?;
        self.shared_value(span)
    }

    /// Append the fields `keep` lets through as `name: value` lines; runs of kept lines that were already
    /// written so go in one copy.
    pub(crate) fn write_kept(&self, out: &mut Vec<u8>, mut keep: impl FnMut(&[u8]) -> bool) {
        // A run of adjacent plain kept lines not yet copied: its start and end.
        let mut run: Option<(usize, usize)> = None;
        for span in &self.spans {
            if !keep(self.name(span)) {
                continue;
            }
            let (start, line_end) = (span.name as usize, span.value_end as usize + 2);
            if span.plain {
                run = match run {
                    Some((a, b)) if b == start => Some((a, line_end)),
                    other => {
                        if let Some((a, b)) = other {
                            out.extend_from_slice(self.bytes.get(a..b).unwrap_or_default());
                        }
                        Some((start, line_end))
                    }
                };
                continue;
            }
            if let Some((a, b)) = run.take() {
                out.extend_from_slice(self.bytes.get(a..b).unwrap_or_default());
            }
            out.extend_from_slice(self.name(span));
            out.extend_from_slice(b": ");
            out.extend_from_slice(self.value(span));
            out.extend_from_slice(b"\r\n");
        }
        if let Some((a, b)) = run {
            out.extend_from_slice(self.bytes.get(a..b).unwrap_or_default());
        }
    }
}

/// Append `fields` as `name: value` lines (a trailer section, or fields the proxy adds).
pub(crate) fn write_map<'a>(
    out: &mut Vec<u8>,
    fields: impl IntoIterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields of the field lines in `text` (`name: value` split at the first colon, value trimmed).
    fn parse(text: &str) -> Fields {
        let bytes = Bytes::copy_from_slice(text.as_bytes());
        let mut fields = Fields::with_capacity(bytes.clone(), 8);
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\r', '\n']);
            let colon = body.find(':').unwrap();
            let lead = body[colon + 1..].len() - body[colon + 1..].trim_start().len();
            let value = body[colon + 1..].trim();
            let v0 = at + colon + 1 + lead;
            fields.push((at, at + colon), (v0, v0 + value.len()));
            at += line.len();
        }
        fields
    }

    fn written(fields: &Fields, drop: &[&str]) -> String {
        let mut out = Vec::new();
        fields.write_kept(&mut out, |n| {
            !drop.iter().any(|d| n.eq_ignore_ascii_case(d.as_bytes()))
        });
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn look_ups_ignore_case() {
        let f = parse("Host: a\r\nX-A: 1\r\nx-a: 2\r\nCookie: c=1\r\n");
        assert_eq!(f.get("host"), Some(&b"a"[..]));
        assert_eq!(f.get_all("x-a").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
        assert!(f.contains("cookie") && !f.contains("cookies"));
        assert_eq!(f.value_of("x-a").unwrap(), "1");
        assert_eq!(f.len(), 4);
        let map = f.to_map();
        assert_eq!(map.get_all("x-a").iter().count(), 2);
        assert_eq!(map["host"], "a");
    }

    #[test]
    fn kept_lines_are_written_as_sent_or_normalised() {
        let text =
            "Host: a\r\nConnection: close\r\nX-A: 1\r\nX-B:2\r\nX-C:  3 \r\nX-D: 4\nX-E: 5\r\n";
        let f = parse(text);
        assert_eq!(
            written(&f, &[]),
            "Host: a\r\nConnection: close\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\n"
        );
        assert_eq!(
            written(&f, &["connection"]),
            "Host: a\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\n"
        );
        assert_eq!(
            written(&f, &["host", "x-e"]),
            "Connection: close\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n"
        );
        assert_eq!(
            written(
                &f,
                &["host", "connection", "x-a", "x-b", "x-c", "x-d", "x-e"]
            ),
            ""
        );
        let round = Fields::from_map(&f.to_map());
        assert_eq!(
            written(&round, &["connection"]),
            "host: a\r\nx-a: 1\r\nx-b: 2\r\nx-c: 3\r\nx-d: 4\r\nx-e: 5\r\n"
        );
    }
}
