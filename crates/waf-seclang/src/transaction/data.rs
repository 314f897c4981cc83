//! The request (and response) as SecLang variables see it, derived once per transaction: decoded path, arguments,
//! cookies, and the results of the request body processors.

use portcullis_waf_request::body::{json, multipart, xml};
use portcullis_waf_request::query::{self, Param};
use portcullis_waf_request::{Request, cookies};

use crate::config::{EngineConfig, LimitAction};
use crate::rule::BodyProcessor;

/// One uploaded file of a multipart body.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileInfo {
    /// The form field name (`FILES_NAMES`).
    pub field: Vec<u8>,
    /// The client's file name (`FILES`).
    pub filename: Vec<u8>,
    /// The content length (`FILES_SIZES`).
    pub size: usize,
}

/// The response, once [`crate::Transaction::process_response`] was called.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseData {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Request-derived values.
#[derive(Debug, Default)]
pub(crate) struct RequestData {
    /// `REQUEST_URI` (percent-decoded, path and query).
    pub uri_decoded: Vec<u8>,
    /// `REQUEST_FILENAME` (percent-decoded path).
    pub filename: Vec<u8>,
    /// `REQUEST_BASENAME`.
    pub basename: Vec<u8>,
    /// `ARGS_GET`.
    pub args_get: Vec<Param>,
    /// `ARGS_POST`.
    pub args_post: Vec<Param>,
    /// `REQUEST_COOKIES`.
    pub cookies: Vec<Param>,
    /// `FILES*`.
    pub files: Vec<FileInfo>,
    /// `MULTIPART_PART_HEADERS`: (part name, `Header: value` line).
    pub part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Multipart flags, when the multipart processor ran.
    pub multipart: Option<multipart::MultipartFlags>,
    /// The parsed XML body.
    pub xml: Option<xml::XmlDoc>,
    /// Bytes of the body that were inspected (`REQUEST_BODY_LENGTH`).
    pub body_len: usize,
    /// Whether `REQUEST_BODY` is populated: as the ModSecurity v2 reference manual specifies, only when the
    /// URLENCODED processor ran, or when no processor was selected and `ctl:forceRequestBodyVariable=On` was set.
    pub body_var: bool,
    /// `REQBODY_ERROR_MSG` when a processor failed.
    pub reqbody_error: Option<String>,
    /// Set once the body processors ran.
    pub body_processed: bool,
    /// The response.
    pub response: Option<ResponseData>,
    /// `UNIQUE_ID`.
    pub unique_id: String,
    /// `INBOUND_DATA_ERROR`: the body exceeded the limit and was inspected partially.
    pub inbound_data_error: bool,
    /// `OUTBOUND_DATA_ERROR`.
    pub outbound_data_error: bool,
}

/// Percent-decodes `%XX` (invalid escapes kept; `+` kept).
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl RequestData {
    /// Derives the header-time variables.
    pub(crate) fn new(req: &Request, cfg: &EngineConfig, unique_id: String) -> Self {
        // As libmodsecurity 3: the whole target is percent-decoded first and split at the first `?` of the decoded
        // text; REQUEST_FILENAME keeps an absolute-form target whole, REQUEST_URI reduces it to its path.
        let decoded = percent_decode(req.uri.as_bytes());
        let q = decoded
            .iter()
            .position(|&c| c == b'?')
            .unwrap_or(decoded.len());
        let filename = decoded.get(..q).unwrap_or(&decoded).to_vec();
        let basename = match filename.iter().rposition(|&c| c == b'/' || c == b'\\') {
            Some(i) => filename.get(i + 1..).unwrap_or(&[]).to_vec(),
            None => Vec::new(),
        };
        let mut uri_decoded = decoded.clone();
        if decoded.first().is_some_and(|&c| c != b'/')
            && let Some(colon) = decoded.iter().position(|&c| c == b':')
            && decoded.get(colon + 1..colon + 3) == Some(b"//")
            && let Some(slash) = decoded.iter().skip(colon + 3).position(|&c| c == b'/')
        {
            uri_decoded = decoded
                .get(colon + 3 + slash..)
                .unwrap_or(&decoded)
                .to_vec();
        }
        let mut args_get =
            query::parse_with_separator(req.query().as_bytes(), cfg.argument_separator);
        args_get.truncate(cfg.arguments_limit);
        Self {
            uri_decoded,
            filename,
            basename,
            args_get,
            cookies: cookies::parse(req),
            unique_id,
            ..Self::default()
        }
    }

    /// Runs the request body processor. Returns `true` when the body exceeds a limit with action `Reject`.
    pub(crate) fn process_body(
        &mut self,
        req: &Request,
        cfg: &EngineConfig,
        processor: Option<BodyProcessor>,
        force_body_var: bool,
    ) -> bool {
        self.body_processed = true;
        let total = req.body_total_len.max(req.body.len() as u64);
        let limit = if processor == Some(BodyProcessor::Multipart) {
            cfg.request_body_limit
        } else {
            cfg.request_body_limit.min(cfg.request_body_no_files_limit)
        };
        let mut inspect = req.body.as_slice();
        if total > limit {
            if cfg.request_body_limit_action == LimitAction::Reject {
                return true;
            }
            self.inbound_data_error = true;
            let keep = usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .min(inspect.len());
            inspect = inspect.get(..keep).unwrap_or(inspect);
        }
        self.body_len = inspect.len();
        self.body_var = match processor {
            Some(BodyProcessor::UrlEncoded) => true,
            None => force_body_var,
            Some(_) => false,
        };
        let max_args = cfg.arguments_limit.saturating_sub(self.args_get.len());
        match processor {
            Some(BodyProcessor::UrlEncoded) => {
                let mut args = query::parse_with_separator(inspect, cfg.argument_separator);
                args.truncate(max_args);
                self.args_post = args;
            }
            Some(BodyProcessor::Multipart) => {
                let ct = req.content_type().unwrap_or(&[]);
                let m = multipart::parse(ct, inspect, multipart::Limits::default());
                for p in &m.parts {
                    for (n, v) in &p.headers {
                        let mut line = n.clone();
                        line.extend_from_slice(b": ");
                        line.extend_from_slice(v);
                        self.part_headers.push((p.name.clone(), line));
                    }
                }
                for p in m.fields().take(max_args) {
                    self.args_post
                        .push(Param::plain(p.name.clone(), p.value.clone()));
                }
                for p in m.files() {
                    self.files.push(FileInfo {
                        field: p.name.clone(),
                        filename: p.filename.clone().unwrap_or_default(),
                        size: p.value.len(),
                    });
                }
                self.multipart = Some(m.flags);
                self.reqbody_error = m.error;
            }
            Some(BodyProcessor::Json) => {
                // Like libmodsecurity's streaming parser, arguments seen before an error are kept.
                let (mut args, err) = json::flatten_partial(inspect, cfg.json_depth_limit);
                args.truncate(max_args);
                self.args_post = args;
                self.reqbody_error = err.map(|e| e.to_string());
            }
            Some(BodyProcessor::Xml) => match xml::parse(inspect) {
                Ok(doc) => self.xml = Some(doc),
                Err(e) => self.reqbody_error = Some(e.to_string()),
            },
            None => {}
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_variables() {
        let req = Request::builder().uri("/a%20b/c%2Ephp?x=%27&y").build();
        let d = RequestData::new(&req, &EngineConfig::default(), "u".into());
        assert_eq!(d.filename, b"/a b/c.php");
        assert_eq!(d.basename, b"c.php");
        assert_eq!(d.uri_decoded, b"/a b/c.php?x='&y");
        assert_eq!(d.args_get.len(), 2);
        let abs = Request::builder().uri("http://example.com/x/y?q=1").build();
        let d = RequestData::new(&abs, &EngineConfig::default(), "u".into());
        assert_eq!(d.uri_decoded, b"/x/y?q=1");
        assert_eq!(d.filename, b"http://example.com/x/y");
        let q = Request::builder().uri("/a%3Fb/c\\d?x").build();
        let d = RequestData::new(&q, &EngineConfig::default(), "u".into());
        assert_eq!(d.filename, b"/a");
        assert_eq!(d.basename, b"a");
    }

    #[test]
    fn body_limits() {
        let req = Request::builder()
            .method("POST")
            .body(vec![b'a'; 100])
            .build();
        let mut cfg = EngineConfig {
            request_body_no_files_limit: 10,
            ..EngineConfig::default()
        };
        let mut d = RequestData::new(&req, &cfg, "u".into());
        assert!(d.process_body(&req, &cfg, Some(BodyProcessor::UrlEncoded), false));
        cfg.request_body_limit_action = LimitAction::ProcessPartial;
        let mut d2 = RequestData::new(&req, &cfg, "u".into());
        assert!(!d2.process_body(&req, &cfg, Some(BodyProcessor::UrlEncoded), false));
        assert_eq!(d2.body_len, 10);
        assert!(d2.inbound_data_error);
        let _ = &mut d;
    }
}
