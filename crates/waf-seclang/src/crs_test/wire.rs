//! The sans-I/O half of running the regression suite over the wire against a Portcullis WAF listener whose web
//! ACL runs the OWASP CRS managed group: marking each request so that its WAF log record can be found, reading
//! the HTTP response head, reading the matched CRS rule ids out of an AWS WAF log record, and deciding which
//! expectations cannot be judged over the wire.
//!
//! The socket and the log file are the caller's (`portcullis waf crs-test --target`); everything here works on
//! bytes and text.

use regex::Regex;

use super::judge::Observed;
use super::yaml::{Output, scalar};
use crate::RuleSet;

/// The header that carries each request's marker; the WAF log record lists it in `httpRequest.headers`.
pub const MARKER_HEADER: &str = "x-crs-test-id";

/// The label prefix of the CRS managed group's matches (`awswaf:managed:owasp:core-rule-set:<rule id>`).
pub const CRS_LABEL_PREFIX: &str = "awswaf:managed:owasp:core-rule-set:";

/// `bytes` with a `x-crs-test-id: <marker>` header line right after the request line, ended like the request
/// line (`\r\n` or `\n`). Empty lines before the request line are kept in front. Bytes without a complete
/// request line are returned unchanged (the server never sees a header section, so nothing is logged).
pub fn insert_marker(bytes: &[u8], marker: &str) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let Some(nl) = bytes
        .get(start..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map(|i| start + i)
    else {
        return bytes.to_vec();
    };
    let crlf = nl > start && bytes.get(nl - 1) == Some(&b'\r');
    let (head, tail) = bytes.split_at(nl + 1);
    let mut out = Vec::with_capacity(bytes.len() + marker.len() + 24);
    out.extend_from_slice(head);
    out.extend_from_slice(MARKER_HEADER.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(marker.as_bytes());
    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    out.extend_from_slice(tail);
    out
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// Bytes up to and including the empty line.
    pub head_len: usize,
    /// `Content-Length`, when present and valid.
    pub content_length: Option<usize>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

/// Why the bytes received are not (yet) a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// More bytes are needed.
    Incomplete,
    /// Not an HTTP/1 status line.
    Invalid(String),
}

/// Parses the response head at the start of `buf`.
pub fn parse_response_head(buf: &[u8]) -> Result<ResponseHead, HeadError> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
    let first_line_end = buf.iter().position(|&b| b == b'\n');
    if let Some(l) = first_line_end.and_then(|i| buf.get(..i)) {
        status_of(l)?;
    } else if buf.len() >= 12 && !buf.starts_with(b"HTTP/") {
        return Err(HeadError::Invalid("the answer has no status line".into()));
    }
    let Some(end) = end else {
        return Err(HeadError::Incomplete);
    };
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default());
    let mut lines = head.lines();
    let status = status_of(lines.next().unwrap_or_default().as_bytes())?;
    let mut content_length = None;
    let mut chunked = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("content-length") {
            content_length = v.parse().ok();
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().ends_with("chunked");
        }
    }
    Ok(ResponseHead {
        status,
        head_len: end,
        content_length,
        chunked,
    })
}

fn status_of(line: &[u8]) -> Result<u16, HeadError> {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(HeadError::Invalid(format!(
            "the answer has no status line: {:?}",
            text.chars().take(60).collect::<String>()
        )));
    }
    code.parse()
        .ok()
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| HeadError::Invalid(format!("bad status line {text:?}")))
}

/// True when `buf` (head included) holds the whole response; `head_only` for answers to `HEAD`.
pub fn response_complete(head: &ResponseHead, buf: &[u8], head_only: bool) -> bool {
    let body = buf.get(head.head_len..).unwrap_or_default();
    if head_only || head.status == 204 || head.status == 304 || head.status < 200 {
        return true;
    }
    if head.chunked {
        return body.ends_with(b"0\r\n\r\n");
    }
    head.content_length.is_some_and(|n| body.len() >= n)
}

/// One WAF log record: the request's marker (when it carries one) and the CRS rule ids it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The value of the marker header.
    pub marker: Option<String>,
    /// The matched CRS rule ids, in label order.
    pub rule_ids: Vec<u64>,
}

/// Reads one JSON line of the AWS WAF log; `None` when it is not a log record.
pub fn parse_record(line: &str) -> Option<Record> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let marker = v
        .pointer("/httpRequest/headers")?
        .as_array()?
        .iter()
        .find(|h| {
            h.get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.eq_ignore_ascii_case(MARKER_HEADER))
        })
        .and_then(|h| h.get("value")?.as_str())
        .map(str::to_owned);
    let mut rule_ids = Vec::new();
    for l in v
        .get("labels")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
    {
        let id = l
            .get("name")
            .and_then(|n| n.as_str())
            .and_then(|n| n.strip_prefix(CRS_LABEL_PREFIX))
            .and_then(|i| i.parse::<u64>().ok());
        if let Some(id) = id
            && !rule_ids.contains(&id)
        {
            rule_ids.push(id);
        }
    }
    Some(Record { marker, rule_ids })
}

/// ModSecurity-style log lines (`[id "942100"]`) for matched rule ids, so that the suite's `log_contains`
/// regexes apply unchanged.
pub fn log_lines(ids: &[u64]) -> Vec<String> {
    ids.iter()
        .map(|id| format!("ModSecurity: Warning. [id \"{id}\"] (from the WAF log)"))
        .collect()
}

/// What one exchange over the wire produced, before the WAF log is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchanged {
    /// A response with this status and the first line of its body.
    Response {
        /// The status.
        status: u16,
        /// The first line of the body (the front end's reason, when it answered by itself).
        body_line: String,
    },
    /// No response.
    Error(String),
}

/// Combines the exchange and the record found for it (`None`: no record, so the web ACL never ran).
pub fn observed(ex: Exchanged, ids: Option<&[u64]>) -> Observed {
    let logs = ids.map(log_lines).unwrap_or_default();
    match ex {
        Exchanged::Error(reason) => Observed::Error { reason, logs },
        Exchanged::Response { status, body_line } => Observed::Response {
            status,
            logs,
            front_end: ids.is_none().then(|| {
                let body: String = body_line.chars().take(120).collect();
                format!("no WAF log record: answered before the web ACL ran ({body})")
            }),
        },
    }
}

/// Why a stage cannot be judged over the wire: `log_contains` names a rule that runs only in a response phase
/// (3–5), which the proxy's request-phase CRS group never evaluates.
pub fn response_phase_skip(rules: &RuleSet, out: &Output) -> Option<String> {
    let text = out.log_contains.as_ref().and_then(scalar)?;
    let ids = Regex::new(r"\d{6}").ok()?;
    ids.find_iter(&text)
        .filter_map(|m| m.as_str().parse::<u64>().ok())
        .find_map(|id| {
            let phase = rules.rule(id)?.phase;
            (phase >= 3).then(|| {
                format!(
                    "rule {id} runs in phase {phase} (response): not visible over the wire, where the CRS group \
                     inspects requests only"
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_goes_after_the_request_line() {
        let m = insert_marker(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "t-1");
        assert_eq!(
            m,
            b"GET / HTTP/1.1\r\nx-crs-test-id: t-1\r\nHost: a\r\n\r\n"
        );
        let m = insert_marker(b"\r\nGET / HTTP/1.0\n\n", "t");
        assert_eq!(m, b"\r\nGET / HTTP/1.0\nx-crs-test-id: t\n\n");
        assert_eq!(insert_marker(b"GET /", "t"), b"GET /");
    }

    #[test]
    fn response_heads() {
        let r = b"HTTP/1.1 403 Forbidden\r\ncontent-length: 3\r\n\r\nab";
        let h = parse_response_head(r).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (h.status, h.content_length, h.chunked),
            (403, Some(3), false)
        );
        assert!(!response_complete(&h, r, false));
        assert!(response_complete(&h, r, true));
        assert!(response_complete(
            &h,
            b"HTTP/1.1 403 Forbidden\r\ncontent-length: 3\r\n\r\nabc",
            false
        ));
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200"),
            Err(HeadError::Incomplete)
        );
        assert!(matches!(
            parse_response_head(b"<html>hello</html>\n"),
            Err(HeadError::Invalid(_))
        ));
        let c = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n";
        let h = parse_response_head(c).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(h.chunked && response_complete(&h, c, false));
    }

    #[test]
    fn records_give_marker_and_crs_ids() {
        let line = r#"{"httpRequest": {"headers": [{"name": "Host", "value": "h"},
            {"name": "X-CRS-Test-Id", "value": "7-942100-1"}]},
            "labels": [{"name": "awswaf:managed:owasp:core-rule-set:942100"},
                       {"name": "awswaf:managed:portcullis:x:1"},
                       {"name": "awswaf:managed:owasp:core-rule-set:949110"},
                       {"name": "awswaf:managed:owasp:core-rule-set:942100"}]}"#;
        let r = parse_record(line).unwrap_or_else(|| panic!("no record"));
        assert_eq!(r.marker.as_deref(), Some("7-942100-1"));
        assert_eq!(r.rule_ids, vec![942100, 949110]);
        let r =
            parse_record(r#"{"httpRequest": {"headers": []}}"#).unwrap_or_else(|| panic!("none"));
        assert_eq!((r.marker, r.rule_ids.len()), (None, 0));
        assert!(parse_record("not json").is_none());
    }

    #[test]
    fn observations_feed_the_judge() {
        use crate::crs_test::judge::{Verdict, judge};
        let out: Output =
            serde_yaml::from_str("{log_contains: id \"942100\", status: 403}").unwrap_or_default();
        let ex = Exchanged::Response {
            status: 403,
            body_line: String::new(),
        };
        assert_eq!(
            judge(&out, &observed(ex.clone(), Some(&[942100]))),
            Verdict::Pass
        );
        match observed(ex, None) {
            Observed::Response { front_end, .. } => assert!(front_end.is_some()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_rules_are_skipped() {
        let conf = "SecRule ARGS \"@rx a\" \"id:950100,phase:4,pass,log\"\n\
                    SecRule ARGS \"@rx a\" \"id:942100,phase:2,pass,log\"\n";
        let (rules, _) = RuleSet::from_sources(&[("t.conf".into(), conf.into())], None)
            .unwrap_or_else(|e| panic!("{e}"));
        let out = |y: &str| -> Output { serde_yaml::from_str(y).unwrap_or_default() };
        assert!(response_phase_skip(&rules, &out("log_contains: id \"950100\"")).is_some());
        assert!(response_phase_skip(&rules, &out("log_contains: id \"942100\"")).is_none());
        assert!(response_phase_skip(&rules, &out("status: 200")).is_none());
    }
}
