//! Building the request bytes of a test stage exactly as ftw 1.3 sends them.
//!
//! ftw's "magic" (unless `stop_magic: true`), applied when the stage has `data`:
//! - a missing `Content-Type` header becomes `application/x-www-form-urlencoded`;
//! - when `Content-Type` is exactly that and the data holds no `%XX` escape, the data is parsed as a query
//!   string (pairs without `=` or with an empty value are dropped, `+` means space) and re-encoded with
//!   `quote_plus` — unless parsing yields no pair, in which case the data is sent as written;
//! - a missing `Content-Length` becomes the length of the data *in characters* (Python's `len(str)`), so a
//!   non-ASCII body is announced shorter than it is, as with ftw.
//!
//! `data` given as a list is joined with CRLF. `raw_request` has Python `unicode_escape` sequences interpreted
//! (after UTF-8 encoding, as ftw does); `encoded_request` is base64 of the exact bytes. The request line is
//! `METHOD URI VERSION` with single spaces, exactly as written (an empty version leaves `GET / `).

use base64::Engine as _;
use serde_yaml::Value;

use super::yaml::{Input, scalar};

/// Builds the bytes ftw would send for `input`.
pub fn build(input: &Input) -> Result<Vec<u8>, String> {
    if let Some(enc) = &input.encoded_request {
        let compact: String = enc.chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("encoded_request is not base64: {e}"));
    }
    if let Some(raw) = &input.raw_request {
        return Ok(unicode_escape(raw.as_bytes()).into_bytes());
    }
    let text = |v: &Option<Value>, default: &str| {
        v.as_ref()
            .and_then(scalar)
            .unwrap_or_else(|| default.to_owned())
    };
    let method = text(&input.method, "GET");
    let uri = text(&input.uri, "/");
    let version = text(&input.version, "HTTP/1.1");
    let stop_magic = input.stop_magic.unwrap_or(false);

    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(map) = &input.headers {
        for (k, v) in map {
            let (Some(k), Some(v)) = (scalar(k), scalar(v)) else {
                return Err("a header name or value is not a scalar".into());
            };
            headers.push((k, v));
        }
    }
    let mut data = match &input.data {
        None | Some(Value::Null) => String::new(),
        Some(Value::Sequence(lines)) => {
            let lines: Option<Vec<String>> = lines.iter().map(scalar).collect();
            lines.ok_or("a data line is not a scalar")?.join("\r\n")
        }
        Some(v) => scalar(v).ok_or("data is not a string or a list")?,
    };
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k == name);
    if !data.is_empty() && !stop_magic {
        if !has(&headers, "Content-Type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let urlencoded = headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v == "application/x-www-form-urlencoded");
        if urlencoded && !has_percent_escape(&data) {
            let pairs = parse_qsl(&data);
            if !pairs.is_empty() {
                data = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                    .collect::<Vec<_>>()
                    .join("&");
            }
        }
        if !has(&headers, "Content-Length") {
            headers.push(("Content-Length".into(), data.chars().count().to_string()));
        }
    }
    let mut out = format!("{method} {uri} {version}\r\n");
    for (k, v) in &headers {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&data);
    Ok(out.into_bytes())
}

/// True when `s` contains a `%` followed by two hex digits (Python's `unquote(s) != s`).
fn has_percent_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| matches!(w, [b'%', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit()))
}

/// Python's `urllib.parse.parse_qsl(s)` with default arguments (separator `&`, blank values dropped) on a string
/// without `%XX` escapes: only `+` needs decoding.
fn parse_qsl(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.replace('+', " "), v.replace('+', " ")))
        .collect()
}

/// Python's `quote_plus`: unreserved bytes kept, space as `+`, everything else `%XX` of its UTF-8 bytes.
fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Python's `bytes.decode('unicode_escape')`: backslash escapes interpreted, other bytes read as Latin-1.
fn unicode_escape(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let hex = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .and_then(|t| u32::from_str_radix(t, 16).ok())
            .and_then(char::from_u32)
    };
    while let Some(&c) = b.get(i) {
        if c != b'\\' {
            out.push(char::from(c));
            i += 1;
            continue;
        }
        let Some(&e) = b.get(i + 1) else {
            out.push('\\');
            break;
        };
        i += 2;
        match e {
            b'\n' => {}
            b'\\' => out.push('\\'),
            b'\'' => out.push('\''),
            b'"' => out.push('"'),
            b'a' => out.push('\x07'),
            b'b' => out.push('\x08'),
            b'f' => out.push('\x0c'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'v' => out.push('\x0b'),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            b'x' | b'u' | b'U' => {
                let n = match e {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                match b.get(i..i + n).and_then(hex) {
                    Some(ch) => {
                        out.push(ch);
                        i += n;
                    }
                    None => {
                        out.push('\\');
                        out.push(char::from(e));
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(char::from(other));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs_test::yaml;

    fn input(y: &str) -> Input {
        serde_yaml::from_str(y).unwrap_or_else(|e| panic!("{e}"))
    }

    fn built(y: &str) -> String {
        String::from_utf8(build(&input(y)).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults() {
        assert_eq!(
            built("headers: {Host: localhost}"),
            "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        );
        assert_eq!(built("{version: '', headers: {}}"), "GET / \r\n\r\n");
    }

    #[test]
    fn magic_encodes_form_data_and_adds_headers() {
        let r = built("{method: POST, headers: {Host: h}, data: \"var=1234 OR 1=1\"}");
        assert_eq!(
            r,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 17\r\n\r\nvar=1234+OR+1%3D1"
        );
        // already encoded: left alone
        let r = built("{method: POST, data: \"a=%27b\"}");
        assert!(r.ends_with("\r\n\r\na=%27b"), "{r}");
        // no pair: left alone; blank values dropped
        assert!(built("{method: POST, data: \"just text\"}").ends_with("\r\n\r\njust text"));
        assert!(built("{method: POST, data: \"a=&b=c d\"}").ends_with("\r\n\r\nb=c+d"));
        // other content types: no re-encoding
        let r = built("{method: POST, headers: {Content-Type: text/plain}, data: \"a=1 2\"}");
        assert!(r.ends_with("Content-Length: 5\r\n\r\na=1 2"), "{r}");
    }

    #[test]
    fn stop_magic_and_lists() {
        let r = built("{method: POST, stop_magic: true, data: [\"a\", \"b\"]}");
        assert_eq!(r, "POST / HTTP/1.1\r\n\r\na\r\nb");
    }

    #[test]
    fn content_length_counts_characters() {
        let r = built("{method: POST, headers: {Content-Type: text/plain}, data: \"é\"}");
        assert!(r.contains("Content-Length: 1\r\n"), "{r}");
    }

    #[test]
    fn raw_and_encoded() {
        let i = input("raw_request: \"GET / HTTP/1.0\\r\\n\\r\\nx\\\\x41\"");
        assert_eq!(build(&i).unwrap_or_default(), b"GET / HTTP/1.0\r\n\r\nxA");
        let i = input("encoded_request: \"R0VUIC8=\"");
        assert_eq!(build(&i).unwrap_or_default(), b"GET /");
        let _ = yaml::scalar(&Value::Null);
    }
}
