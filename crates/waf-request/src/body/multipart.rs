//! `multipart/form-data` bodies, parsed the way libmodsecurity 3's multipart processor does, including the
//! `MULTIPART_*` anomaly flags that CRS checks (rules 200003/200004 and 922xxx).
//!
//! How it reads a body (ModSecurity semantics, with the deviations listed at the end):
//! - The boundary comes from `Content-Type`, which must start with `multipart/form-data`; between the media type
//!   and `boundary` only whitespace and one `;` may appear (no `;` sets `missing_semicolon`); whitespace around
//!   `=` sets `boundary_whitespace`; a quoted value sets `boundary_quoted`; everything after `=` is the boundary,
//!   which must use RFC 2046 characters. Any other shape is an error.
//! - The body is read in lines (at most 4096 bytes at a time). A line `--BOUNDARY` or `--BOUNDARY--` followed
//!   only by CRLF or LF is a boundary; anything else after it is an error. A line that starts with `--` but
//!   does not match, or any line containing `--BOUNDARY`, sets `unmatched_boundary`.
//! - Part headers end at an empty line; `Content-Disposition` must be `form-data` with only `name` and
//!   `filename` parameters (quoted or token values; a single quote sets `invalid_quoting`); a part with a non-empty
//!   `filename` is a file. Folded header lines set `header_folding` (and `invalid_header_folding` unless they start
//!   with space/tab). Header and boundary lines ending in a bare LF set `lf_line` (`crlf_lf_lines` if CRLF lines
//!   were seen too).
//! - Lines before the first boundary set `data_before`; any byte after the final boundary line sets `data_after`.
//!   A missing final boundary is an error (`Final boundary missing`).
//! - `strict_error` = an error that stopped processing, or any flag except `unmatched_boundary` and
//!   `crlf_lf_lines` (ModSecurity's `MULTIPART_STRICT_ERROR`).
//!
//! Deviations from libmodsecurity 3.0.x, on purpose: line breaks inside a multi-line form field are kept
//! (libmodsecurity loses them); `unmatched_boundary` is only set for a genuinely unmatched boundary (newer
//! releases also report 2 for a normal final boundary); a part header line containing a NUL byte is an error
//! regardless of its position; an unterminated quoted `Content-Disposition` value is an error; the first error
//! message is kept rather than the last.
//!
//! The parser never panics, works on a possibly truncated body (reporting the missing final boundary), and stops
//! with an error after [`Limits::max_parts`] parts.

/// Bounds on the work done for one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Parts beyond this number stop the parser with an error.
    pub max_parts: usize,
    /// More file parts than this set [`MultipartFlags::file_limit_exceeded`] (ModSecurity `SecUploadFileLimit`,
    /// default 100); the files are still returned.
    pub max_files: usize,
    /// Headers per part beyond this number are an error.
    pub max_part_headers: usize,
    /// A part header longer than this after folding is an error (ModSecurity: 4096).
    pub max_header_len: usize,
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Part {
    /// The `name` parameter of `Content-Disposition` (empty if absent).
    pub name: Vec<u8>,
    /// The `filename` parameter of `Content-Disposition`, if present (possibly empty; an empty one does not make
    /// the part a file, as in ModSecurity).
    pub filename: Option<Vec<u8>>,
    /// The part's `Content-Type` header value, if any.
    pub content_type: Option<Vec<u8>>,
    /// The part's headers in order, names as sent (folded continuation lines joined).
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The part's content (file content for file parts).
    pub value: Vec<u8>,
    /// True when the part is a file upload (non-empty `filename` in `Content-Disposition`).
    pub is_file: bool,
}

/// The ModSecurity multipart anomaly flags, one per `MULTIPART_*` variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MultipartFlags {
    /// `MULTIPART_STRICT_ERROR`: any of the other flags except `unmatched_boundary` and `crlf_lf_lines`, or an
    /// error that stopped processing (as ModSecurity computes it).
    pub strict_error: bool,
    /// `MULTIPART_BOUNDARY_QUOTED`: the boundary parameter was quoted.
    pub boundary_quoted: bool,
    /// `MULTIPART_BOUNDARY_WHITESPACE`: whitespace around `=` or in/around the boundary.
    pub boundary_whitespace: bool,
    /// `MULTIPART_DATA_BEFORE`: data before the first boundary.
    pub data_before: bool,
    /// `MULTIPART_DATA_AFTER`: data after the final boundary.
    pub data_after: bool,
    /// `MULTIPART_HEADER_FOLDING`: a part header was folded onto a continuation line.
    pub header_folding: bool,
    /// `MULTIPART_LF_LINE`: a line ended with a bare LF.
    pub lf_line: bool,
    /// `MULTIPART_CRLF_LF_LINES`: both CRLF and bare-LF line endings were seen.
    pub crlf_lf_lines: bool,
    /// `MULTIPART_MISSING_SEMICOLON`: a `Content-Disposition` parameter lacked its `;`.
    pub missing_semicolon: bool,
    /// `MULTIPART_INVALID_QUOTING`: a `Content-Disposition` value had invalid quoting.
    pub invalid_quoting: bool,
    /// `MULTIPART_INVALID_PART`: a part had no usable `Content-Disposition` or was otherwise malformed.
    pub invalid_part: bool,
    /// `MULTIPART_INVALID_HEADER_FOLDING`: a folded header line was invalid.
    pub invalid_header_folding: bool,
    /// `MULTIPART_FILE_LIMIT_EXCEEDED`: more file parts than [`Limits::max_files`].
    pub file_limit_exceeded: bool,
    /// `MULTIPART_UNMATCHED_BOUNDARY`: a line looked like a boundary but did not match.
    pub unmatched_boundary: bool,
}

/// The result of parsing a multipart body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Multipart {
    /// The parts in order.
    pub parts: Vec<Part>,
    /// The anomaly flags.
    pub flags: MultipartFlags,
    /// `REQBODY_ERROR_MSG` when the body could not be processed (`REQBODY_ERROR` = `error.is_some()`).
    pub error: Option<String>,
    /// The boundary taken from the `Content-Type` header, if one could be extracted.
    pub boundary: Option<Vec<u8>>,
}

impl Multipart {
    /// The non-file parts (their names and values are `ARGS_POST`).
    pub fn fields(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| !p.is_file)
    }

    /// The file parts (`FILES`, `FILES_NAMES`).
    pub fn files(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| p.is_file)
    }
}

/// ModSecurity's line buffer size: lines are handled in pieces of at most this many bytes.
const BUF_SIZE: usize = 4096;

/// C `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses `body` according to the `Content-Type` header value `content_type_header`.
pub fn parse(content_type_header: &[u8], body: &[u8], limits: Limits) -> Multipart {
    let mut p = Parser {
        limits,
        ..Parser::default()
    };
    match extract_boundary(content_type_header.trim_ascii(), &mut p.flags) {
        Ok(boundary) => {
            p.boundary = boundary;
            p.process(body);
            p.complete(body);
        }
        Err(msg) => p.fail(msg),
    }
    p.finish()
}

/// Counts case-insensitive occurrences of `boundary` that have an `=` somewhere after them.
fn count_boundary_params(s: &[u8]) -> usize {
    let lower = s.to_ascii_lowercase();
    let mut count = 0;
    let mut from = 0;
    while let Some(pos) = find(lower.get(from..).unwrap_or(&[]), b"boundary") {
        from += pos + 8;
        if lower.get(from..).is_some_and(|r| r.contains(&b'=')) {
            count += 1;
        }
    }
    count
}

/// Substring search in linear time (the boundary can be 1 KB long and lines 4 KB).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// RFC 2046 boundary characters (a space is allowed, but not last).
fn boundary_chars_valid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, &c)| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'\'' | b'(' | b')' | b'+' | b'_' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
            || (c == b' ' && i + 1 < b.len())
    })
}

/// Extracts the boundary from the `Content-Type` value, setting the boundary flags.
fn extract_boundary(ct: &[u8], flags: &mut MultipartFlags) -> Result<Vec<u8>, String> {
    const MEDIA: &[u8] = b"multipart/form-data";
    if ct.is_empty() {
        return Err("Multipart: Content-Type header not available.".into());
    }
    if ct.len() > 1024 {
        return Err("Multipart: Invalid boundary in C-T (length).".into());
    }
    if !ct
        .get(..MEDIA.len())
        .is_some_and(|m| m.eq_ignore_ascii_case(MEDIA))
    {
        return Err("Multipart: Invalid MIME type.".into());
    }
    if count_boundary_params(ct) > 1 {
        return Err("Multipart: Multiple boundary parameters in C-T.".into());
    }
    let Some(bpos) = find(ct, b"boundary") else {
        return Err(if count_boundary_params(ct) > 0 {
            "Multipart: Invalid boundary in C-T (case sensitivity).".into()
        } else {
            "Multipart: Boundary not found in C-T.".into()
        });
    };
    let between = ct.get(MEDIA.len()..bpos).unwrap_or(&[]);
    let mut seen_semicolon = false;
    for &c in between {
        if is_space(c) {
            continue;
        }
        if c == b';' && !seen_semicolon {
            seen_semicolon = true;
        } else {
            return Err("Multipart: Invalid boundary in C-T (malformed).".into());
        }
    }
    if !seen_semicolon {
        flags.missing_semicolon = true;
    }
    let after_name = ct.get(bpos + 8..).unwrap_or(&[]);
    let Some(eq) = after_name.iter().position(|&c| c == b'=') else {
        return Err("Multipart: Invalid boundary in C-T (malformed).".into());
    };
    for &c in after_name.get(..eq).unwrap_or(&[]) {
        if is_space(c) {
            flags.boundary_whitespace = true;
        } else {
            return Err("Multipart: Invalid boundary in C-T (parameter name).".into());
        }
    }
    let value = after_name.get(eq + 1..).unwrap_or(&[]);
    if value.first().is_some_and(|&c| is_space(c)) {
        flags.boundary_whitespace = true;
    }
    let boundary = match value {
        [b'"', inner @ .., b'"'] => {
            flags.boundary_quoted = true;
            inner.to_vec()
        }
        [b'"', ..] | [.., b'"'] => return Err("Multipart: Invalid boundary in C-T (quote).".into()),
        _ => value.to_vec(),
    };
    if boundary.is_empty() {
        return Err("Multipart: Invalid boundary in C-T (empty).".into());
    }
    if count_boundary_params(&boundary) != 0 {
        return Err("Multipart: Invalid boundary in C-T (content).".into());
    }
    if !boundary_chars_valid(&boundary) {
        return Err("Multipart: Invalid boundary in C-T (characters).".into());
    }
    Ok(boundary)
}

/// A part being built.
#[derive(Debug, Default)]
struct Building {
    part: Part,
    /// Index in `part.headers` of the header that a folded line continues.
    last_header: Option<usize>,
    /// False while reading headers, true once the empty line was seen.
    in_data: bool,
    /// The line terminator held back from the previous data line (dropped if a boundary follows).
    reserve: Vec<u8>,
}

/// Parser state (ModSecurity's `Multipart` object).
#[derive(Debug, Default)]
struct Parser {
    limits: Limits,
    boundary: Vec<u8>,
    flags: MultipartFlags,
    /// An error stopped processing (ModSecurity `m_flag_error`).
    stopped: bool,
    /// CRLF-terminated header or boundary lines were seen.
    crlf_line: bool,
    error: Option<String>,
    parts: Vec<Part>,
    current: Option<Building>,
    boundary_count: usize,
    complete: bool,
    files: usize,
    /// The trailing bytes not terminated by LF (left in ModSecurity's buffer).
    leftover: Vec<u8>,
    /// Whether `leftover` starts a line.
    leftover_at_line_start: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_parts: 1000,
            max_files: 100,
            max_part_headers: 64,
            max_header_len: BUF_SIZE,
        }
    }
}

impl Parser {
    /// Records an error message (the first one wins) without stopping.
    fn note(&mut self, msg: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(msg.into());
        }
    }

    /// Records an error that stops processing.
    fn fail(&mut self, msg: impl Into<String>) {
        self.stopped = true;
        self.note(msg);
    }

    fn process(&mut self, body: &[u8]) {
        let mut i = 0;
        let mut at_line_start = true;
        while i < body.len() {
            let start = i;
            let mut forced = false;
            while let Some(&c) = body.get(i) {
                if c == b'\r' && i - start == BUF_SIZE - 1 {
                    forced = true; // ModSecurity never keeps a CR as the last byte of its buffer
                    break;
                }
                i += 1;
                if c == b'\n' || i - start == BUF_SIZE {
                    break;
                }
            }
            let chunk = body.get(start..i).unwrap_or(&[]);
            let ends_line = chunk.last() == Some(&b'\n');
            if !ends_line && !forced && chunk.len() < BUF_SIZE {
                self.leftover = chunk.to_vec();
                self.leftover_at_line_start = at_line_start;
                return;
            }
            self.chunk(chunk, at_line_start, !ends_line);
            if self.stopped {
                return;
            }
            at_line_start = ends_line;
            if self.complete && i < body.len() {
                self.flags.data_after = true;
                return;
            }
        }
    }

    /// Handles one buffer's worth of input: a whole line, or a piece of a long line (`partial`).
    fn chunk(&mut self, chunk: &[u8], at_line_start: bool, partial: bool) {
        let blen = self.boundary.len();
        if at_line_start && chunk.len() > 3 && chunk.starts_with(b"--") {
            let after_dashes = chunk.get(2..).unwrap_or(&[]);
            if after_dashes.starts_with(&self.boundary) {
                let mut rest = after_dashes.get(blen..).unwrap_or(&[]);
                let is_final = rest.starts_with(b"--");
                if is_final {
                    if self.complete {
                        self.fail("Multipart: Invalid boundary (final duplicate).");
                        return;
                    }
                    rest = rest.get(2..).unwrap_or(&[]);
                }
                match rest {
                    b"\n" => self.flags.lf_line = true,
                    b"\r\n" => self.crlf_line = true,
                    _ => {
                        self.fail(format!(
                            "Multipart: Invalid boundary: {}",
                            String::from_utf8_lossy(chunk)
                        ));
                        return;
                    }
                }
                self.boundary_seen(is_final);
                if is_final {
                    self.complete = true;
                }
                self.boundary_count += 1;
                return;
            }
            if self.flags.boundary_quoted
                && after_dashes.first() == Some(&b'"')
                && after_dashes
                    .get(1..)
                    .is_some_and(|r| r.starts_with(&self.boundary))
            {
                self.fail("Multipart: Invalid boundary (quotes).");
                return;
            }
            let ws = after_dashes.iter().take_while(|&&c| is_space(c)).count();
            if ws > 0
                && after_dashes
                    .get(ws..)
                    .is_some_and(|r| r.starts_with(&self.boundary))
            {
                self.fail("Multipart: Invalid boundary (whitespace).");
                return;
            }
            self.flags.unmatched_boundary = true;
        } else if at_line_start {
            let mut marker = b"--".to_vec();
            marker.extend_from_slice(&self.boundary);
            if find(chunk, &marker).is_some() {
                self.flags.unmatched_boundary = true;
            }
        }
        let Some(cur) = self.current.as_mut() else {
            self.flags.data_before = true;
            return;
        };
        if cur.in_data {
            let (data, term) = split_terminator(chunk);
            let reserve = std::mem::replace(&mut cur.reserve, term.to_vec());
            cur.part.value.extend_from_slice(&reserve);
            cur.part.value.extend_from_slice(data);
        } else if partial {
            self.fail(format!(
                "Multipart: Part header line over {BUF_SIZE} bytes long"
            ));
        } else {
            self.header_line(chunk);
        }
    }

    /// A boundary line: finishes the current part and, unless final, starts a new one.
    fn boundary_seen(&mut self, is_final: bool) {
        if let Some(done) = self.current.take() {
            if done.part.name.is_empty() {
                self.flags.invalid_part = true;
            } else if self.parts.len() >= self.limits.max_parts {
                self.fail(format!(
                    "Multipart: more than {} parts",
                    self.limits.max_parts
                ));
                return;
            } else {
                self.parts.push(done.part);
            }
        }
        if !is_final {
            self.current = Some(Building::default());
        }
    }

    /// One part header line (including its terminator).
    fn header_line(&mut self, line: &[u8]) {
        if line.contains(&0) {
            self.note("Multipart: Nul byte in part headers.");
            return;
        }
        if line.len() > 1 && line.get(line.len() - 2) == Some(&b'\r') {
            self.crlf_line = true;
        } else {
            self.flags.lf_line = true;
        }
        if line == b"\r\n" || line == b"\n" {
            self.end_of_headers();
            return;
        }
        let limits = self.limits;
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        if line.first().is_some_and(|&c| is_space(c)) {
            self.flags.header_folding = true;
            let ws = line.iter().take_while(|&&c| is_space(c)).count();
            if line
                .get(..ws)
                .is_some_and(|w| w.iter().any(|&c| c != b' ' && c != b'\t'))
            {
                self.flags.invalid_header_folding = true;
            }
            let Some(idx) = cur.last_header else {
                self.note("Multipart: Invalid part header (folding error).");
                return;
            };
            let cont = chomp(line.get(ws..).unwrap_or(&[]));
            if let Some((_, value)) = cur.part.headers.get_mut(idx) {
                value.push(b' ');
                value.extend_from_slice(cont);
                if value.len() > limits.max_header_len {
                    self.note("Multipart: Part header too long.");
                }
            }
            return;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            let shown = String::from_utf8_lossy(chomp(line)).into_owned();
            self.note(format!(
                "Multipart: Invalid part header (colon missing): {shown}"
            ));
            return;
        };
        if colon == 0 {
            self.note("Multipart: Invalid part header (header name missing).");
            return;
        }
        let name = line.get(..colon).unwrap_or(&[]);
        let raw_value = line.get(colon + 1..).unwrap_or(&[]);
        let skip = raw_value
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        let value = chomp(raw_value.get(skip..).unwrap_or(&[]));
        if value.len() > limits.max_header_len {
            self.note("Multipart: Part header too long.");
            return;
        }
        if cur
            .part
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return; // ModSecurity ignores a duplicate part header silently
        }
        if cur.part.headers.len() >= limits.max_part_headers {
            self.note(format!(
                "Multipart: more than {} part headers",
                limits.max_part_headers
            ));
            return;
        }
        cur.last_header = Some(cur.part.headers.len());
        cur.part.headers.push((name.to_vec(), value.to_vec()));
    }

    /// The empty line after the part headers: interpret `Content-Disposition` and `Content-Type`.
    fn end_of_headers(&mut self) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let header = |n: &[u8]| {
            cur.part
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let Some(cd) = header(b"content-disposition") else {
            self.note("Multipart: Part missing Content-Disposition header.");
            return;
        };
        let content_type = header(b"content-type");
        let mut name = None;
        let mut filename = None;
        if let Err(rc) = parse_content_disposition(&cd, &mut name, &mut filename, &mut self.flags) {
            let shown = String::from_utf8_lossy(&cd).into_owned();
            self.note(format!(
                "Multipart: Invalid Content-Disposition header ({rc}): {shown}"
            ));
            return;
        }
        let name = name.unwrap_or_default();
        if name.is_empty() {
            self.note("Multipart: Content-Disposition header missing name field.");
            return;
        }
        let is_file = filename.as_ref().is_some_and(|f| !f.is_empty());
        if is_file && find(&cd, b"filename=").is_none() {
            self.note("Multipart: Invalid Content-Disposition header (filename).");
            return;
        }
        cur.part.name = name;
        cur.part.filename = filename;
        cur.part.content_type = content_type;
        cur.part.is_file = is_file;
        cur.in_data = true;
        if is_file {
            self.files += 1;
            if self.files > self.limits.max_files {
                self.flags.file_limit_exceeded = true;
            }
        }
    }

    /// End of input: a final boundary without a trailing newline still counts; otherwise report what is missing.
    fn complete(&mut self, body: &[u8]) {
        if body.is_empty() || self.complete {
            return;
        }
        if self.boundary_count == 0 {
            self.note("Multipart: No boundaries found in payload.");
            return;
        }
        if !self.stopped && self.leftover_at_line_start {
            let mut fin = b"--".to_vec();
            fin.extend_from_slice(&self.boundary);
            fin.extend_from_slice(b"--");
            if self.leftover == fin {
                self.boundary_seen(true);
                self.complete = true;
                return;
            }
        }
        self.note("Multipart: Final boundary missing.");
    }

    fn finish(self) -> Multipart {
        let mut flags = self.flags;
        flags.crlf_lf_lines = self.crlf_line && flags.lf_line;
        flags.strict_error = self.stopped
            || flags.boundary_quoted
            || flags.boundary_whitespace
            || flags.data_before
            || flags.data_after
            || flags.header_folding
            || flags.lf_line
            || flags.missing_semicolon
            || flags.invalid_quoting
            || flags.invalid_part
            || flags.invalid_header_folding
            || flags.file_limit_exceeded;
        Multipart {
            parts: self.parts,
            flags,
            error: self.error,
            boundary: (!self.boundary.is_empty()).then_some(self.boundary),
        }
    }
}

/// Splits a trailing CRLF or LF off a line.
fn split_terminator(line: &[u8]) -> (&[u8], &[u8]) {
    let n = if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") {
        1
    } else {
        0
    };
    line.split_at(line.len() - n)
}

/// Removes trailing CR and LF bytes.
fn chomp(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// RFC 2616 token characters.
fn is_token_char(c: u8) -> bool {
    c > 32
        && c < 127
        && !matches!(
            c,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
        )
}

/// Parses a `Content-Disposition` value; the error is ModSecurity's negative code.
fn parse_content_disposition(
    cd: &[u8],
    name: &mut Option<Vec<u8>>,
    filename: &mut Option<Vec<u8>>,
    flags: &mut MultipartFlags,
) -> Result<(), i32> {
    let at = |i: usize| cd.get(i).copied().unwrap_or(0);
    let skip_ws = |mut i: usize| {
        while matches!(at(i), b' ' | b'\t') {
            i += 1;
        }
        i
    };
    if !cd.starts_with(b"form-data") {
        return Err(-1);
    }
    let mut p = skip_ws(9);
    if at(p) == 0 && p >= cd.len() {
        return Ok(());
    }
    if at(p) != b';' {
        return Err(-2);
    }
    p += 1;
    while p < cd.len() {
        p = skip_ws(p);
        if p >= cd.len() {
            return Err(-3);
        }
        let start = p;
        while p < cd.len() && !matches!(at(p), b'=' | b'\t' | b' ') {
            p += 1;
        }
        if p >= cd.len() {
            return Err(-4);
        }
        let pname = cd.get(start..p).unwrap_or(&[]);
        p = skip_ws(p);
        if p >= cd.len() {
            return Err(-5);
        }
        if at(p) != b'=' {
            return Err(-13);
        }
        p = skip_ws(p + 1);
        if p >= cd.len() {
            return Err(-6);
        }
        let mut value = Vec::new();
        let quote = at(p);
        if quote == b'"' || quote == b'\'' {
            if quote == b'\'' {
                flags.invalid_quoting = true;
            }
            p += 1;
            if p >= cd.len() {
                return Err(-7);
            }
            loop {
                if p >= cd.len() {
                    return Err(-16); // unterminated quoted value
                }
                let c = at(p);
                if c == b'\\' {
                    if p + 1 >= cd.len() {
                        return Err(-8);
                    }
                    let next = at(p + 1);
                    if next == quote || next == b'\\' {
                        p += 1;
                    }
                } else if c == quote {
                    break;
                }
                value.push(at(p));
                p += 1;
            }
            p += 1; // the closing quote
        } else {
            let start = p;
            while p < cd.len() && is_token_char(at(p)) {
                p += 1;
            }
            value = cd.get(start..p).unwrap_or(&[]).to_vec();
        }
        let slot = match pname {
            b"name" => &mut *name,
            b"filename" => &mut *filename,
            _ => return Err(-11),
        };
        if value.contains(&b'\'') {
            flags.invalid_quoting = true;
        }
        if slot.as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(if pname == b"name" { -14 } else { -15 });
        }
        *slot = Some(value);
        if p < cd.len() {
            p = skip_ws(p);
            if p >= cd.len() {
                return Ok(());
            }
            if at(p) != b';' {
                if p > 0 && matches!(at(p - 1), b'\'' | b'"') {
                    flags.invalid_quoting = true;
                }
                return Err(-12);
            }
            p += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
