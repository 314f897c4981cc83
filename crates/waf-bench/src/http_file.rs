//! Reading `bench/waf/requests/*.http` files (format in `bench/waf/README.md`): the request line, one header per
//! line (LF or CRLF), a blank line, then the body; the file's final newline is not part of the body. Files carry
//! no `Content-Length`: it is added here, as every sender computes it.

use std::path::{Path, PathBuf};

use portcullis_waf_request::Request;

use crate::error::BenchError;

/// Largest request file accepted (the sweep bodies are generated, not read).
const MAX_FILE: usize = 1 << 20;

/// One request type: its id (the file stem) and the parsed request.
#[derive(Debug, Clone)]
pub struct RequestType {
    /// The request id, e.g. `browser-get`.
    pub id: String,
    /// The request as the engines see it.
    pub request: Request,
    /// Bytes of the request on the wire (request line, headers with `Content-Length`, body).
    pub wire_bytes: usize,
}

/// Parses the text of a `.http` file; `path` is only used in errors.
pub fn parse(path: &Path, text: &str) -> Result<(Request, usize), BenchError> {
    let bad = |reason: &str| BenchError::HttpFile {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    if text.len() > MAX_FILE {
        return Err(bad("file larger than 1 MiB"));
    }
    let text = text.replace("\r\n", "\n");
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.strip_suffix('\n').unwrap_or(b)),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let request_line = lines.next().ok_or_else(|| bad("empty file"))?;
    let mut parts = request_line.split(' ').filter(|p| !p.is_empty());
    let (Some(method), Some(uri), version) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("request line is not `METHOD TARGET [VERSION]`"));
    };
    if !uri.starts_with('/') {
        return Err(bad("request target must start with `/`"));
    }
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .version(version.unwrap_or("HTTP/1.1"));
    let mut wire = request_line.len() + 2;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("header line without `:`"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(' ') {
            return Err(bad("invalid header name"));
        }
        if name.eq_ignore_ascii_case("content-length") {
            return Err(bad("files carry no Content-Length; it is computed"));
        }
        wire += name.len() + 2 + value.trim().len() + 2;
        b = b.header(name, value.trim());
    }
    if !body.is_empty() || method.eq_ignore_ascii_case("POST") || method.eq_ignore_ascii_case("PUT")
    {
        let cl = body.len().to_string();
        wire += "Content-Length: ".len() + cl.len() + 2;
        b = b.header("Content-Length", cl).body(body);
    }
    wire += 2 + body.len();
    Ok((b.build(), wire))
}

/// Reads one `.http` file.
pub fn read(path: &Path) -> Result<RequestType, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|e| BenchError::io(path, e))?;
    let (request, wire_bytes) = parse(path, &text)?;
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| BenchError::HttpFile {
            path: path.to_path_buf(),
            reason: "no file name".to_owned(),
        })?;
    Ok(RequestType {
        id,
        request,
        wire_bytes,
    })
}

/// Reads every `*.http` file of `dir`, in the order of `order` first (ids listed there), then by name.
pub fn read_dir(dir: &Path, order: &[&str]) -> Result<Vec<RequestType>, BenchError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BenchError::io(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    files.sort();
    let mut out = files
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|r| {
        (
            order.iter().position(|o| *o == r.id).unwrap_or(order.len()),
            r.id.clone(),
        )
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(text: &str) -> Result<(Request, usize), BenchError> {
        parse(Path::new("t.http"), text)
    }

    #[test]
    fn get_without_body() {
        let (r, wire) = p("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.uri, "/a?b=1");
        assert_eq!(r.header("host"), Some(&b"x"[..]));
        assert!(r.body.is_empty());
        assert!(r.header("content-length").is_none());
        assert_eq!(
            wire,
            "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n".len()
        );
    }

    #[test]
    fn post_body_excludes_final_newline_and_gets_content_length() {
        let (r, wire) = p("POST /f HTTP/1.1\nHost: x\n\na=1&b=2\n").unwrap();
        assert_eq!(r.body, b"a=1&b=2");
        assert_eq!(r.header("content-length"), Some(&b"7"[..]));
        assert_eq!(
            wire,
            "POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\na=1&b=2".len()
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        assert!(p("").is_err());
        assert!(p("GET\n").is_err());
        assert!(p("GET relative HTTP/1.1\n").is_err());
        assert!(p("GET / HTTP/1.1\nno colon here\n").is_err());
        assert!(p("POST / HTTP/1.1\nContent-Length: 3\n\nabc").is_err());
    }

    #[test]
    fn the_bench_request_files_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/waf/requests");
        let all = read_dir(&dir, &["simple-get", "browser-get"]).unwrap();
        assert!(all.len() >= 4, "{} request files", all.len());
        assert_eq!(all[0].id, "simple-get");
        assert_eq!(all[1].id, "browser-get");
        let form = all.iter().find(|r| r.id == "form-post-8k").unwrap();
        assert_eq!(form.request.body.len(), 8000);
        assert_eq!(
            form.request.media_type().as_deref(),
            Some("application/x-www-form-urlencoded")
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = p(&s);
        }

        #[test]
        fn body_round_trips(body in "[a-z0-9=&]{0,200}") {
            let (r, _) = p(&format!("POST /x HTTP/1.1\nHost: h\n\n{body}\n")).unwrap();
            prop_assert_eq!(r.body, body.as_bytes());
        }
    }
}
