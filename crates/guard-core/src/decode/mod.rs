//! Format detection and decoding of one input (a file's content or a chunk of lines).
//!
//! [`prepare`] gunzips when the bytes carry the gzip magic (bounded), [`detect`] names the
//! format, and [`decode_each`] / [`decode`] turn the text into [`Record`]s. Every malformed
//! record becomes a [`RecordError`] with its [`Location`] and decoding goes on.

mod json;

use std::borrow::Cow;
use std::io::Read;

use crate::error::GuardError;
use crate::record::{FlowFormat, FlowRecord, Record};

/// What an input was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Nothing but whitespace or comments.
    Empty,
    /// A CloudTrail log file `{"Records":[...]}` (one or several, one per line).
    CloudTrailFile,
    /// A bare JSON array of CloudTrail records (as the Stratus Red Team logs are).
    CloudTrailArray,
    /// One CloudTrail record per line.
    CloudTrailLines,
    /// A single CloudTrail record as one (possibly pretty-printed) JSON document.
    CloudTrailSingle,
    /// EventBridge events wrapping a CloudTrail record in `detail` (one document or JSON lines).
    EventBridge,
    /// VPC Flow Logs lines, with or without a header line.
    FlowLog,
    /// Route 53 Resolver query-log JSON lines.
    ResolverLines,
}

/// Where a record sits in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based line number (line formats).
    Line(usize),
    /// 0-based index in a JSON array (`Records` or a bare array), with the 1-based line of
    /// the document for JSON-lines files of several documents.
    Record {
        /// The line of the containing document (1 for a single document).
        line: usize,
        /// The record's index in the array.
        index: usize,
    },
}

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where it is.
    pub location: Location,
    /// What is wrong with it.
    pub error: GuardError,
}

/// Bounds and defaults for decoding.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Maximum size of decompressed input, in bytes.
    pub max_decompressed: usize,
    /// The flow-log format used until a header line names another (default: version 2).
    pub flow_format: FlowFormat,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_decompressed: 1 << 30,
            flow_format: FlowFormat::default(),
        }
    }
}

/// Decompresses gzip input (all members), bounded by `limit` bytes; other input is borrowed.
pub fn prepare(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, GuardError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(bytes)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| GuardError::Gzip {
            message: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(GuardError::TooLarge { limit });
    }
    Ok(Cow::Owned(out))
}

/// Lines of `text` with their 1-based numbers, without line terminators.
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    // `text.split(|b| *b == b'\n')`, with memchr finding the ends (records are long).
    let mut rest = Some(text);
    let split = std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    });
    split.enumerate().map(|(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (i + 1, l)
    })
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn strip_bom(text: &[u8]) -> &[u8] {
    text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text)
}

/// Recognises the format of (already decompressed) `text`.
pub fn detect(text: &[u8]) -> Result<InputFormat, GuardError> {
    let text = strip_bom(text);
    let Some((_, first)) = lines(text).find(|(_, l)| !is_blank(l) && !l.starts_with(b"#")) else {
        return Ok(InputFormat::Empty);
    };
    let trimmed = first.trim_ascii_start();
    match trimmed.first() {
        Some(b'[') => Ok(InputFormat::CloudTrailArray),
        Some(b'{') => Ok(json::detect_json(text)),
        Some(_) => {
            let line = std::str::from_utf8(first).map_err(|_| GuardError::Utf8)?;
            let starts_numeric = line
                .split_ascii_whitespace()
                .next()
                .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
            if starts_numeric || FlowFormat::parse_header(line).is_some() {
                Ok(InputFormat::FlowLog)
            } else {
                Err(GuardError::UnknownFormat)
            }
        }
        None => Ok(InputFormat::Empty),
    }
}

/// Decodes `text` (already decompressed: see [`prepare`]), handing every record or
/// per-record error to `sink` in input order. Returns the detected format; fails only
/// when the input as a whole is unrecognisable.
pub fn decode_each<'a, F>(
    text: &'a [u8],
    opts: &DecodeOptions,
    mut sink: F,
) -> Result<InputFormat, GuardError>
where
    F: FnMut(Result<Record<'a>, RecordError>),
{
    let text = strip_bom(text);
    let format = detect(text)?;
    match format {
        InputFormat::Empty => {}
        InputFormat::FlowLog => decode_flow(text, opts, &mut |r| sink(r.cloned())),
        _ => json::decode_json(text, format, &mut sink),
    }
    Ok(format)
}

/// [`decode_each`] handing every record to `sink` by reference. Flow lines are parsed into
/// one record reused from line to line instead of a new one moved out per line: this is
/// the hot path of a detector that only reads each record.
pub fn decode_each_ref<'a, F>(
    text: &'a [u8],
    opts: &DecodeOptions,
    mut sink: F,
) -> Result<InputFormat, GuardError>
where
    F: FnMut(Result<&Record<'a>, RecordError>),
{
    let text = strip_bom(text);
    let format = detect(text)?;
    match format {
        InputFormat::Empty => {}
        InputFormat::FlowLog => decode_flow(text, opts, &mut sink),
        _ => json::decode_json(text, format, &mut |r| match r {
            Ok(rec) => sink(Ok(&rec)),
            Err(e) => sink(Err(e)),
        }),
    }
    Ok(format)
}

/// The records and errors of one input.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    /// The detected format.
    pub format: InputFormat,
    /// The records, in input order.
    pub records: Vec<Record<'a>>,
    /// The records that could not be decoded.
    pub errors: Vec<RecordError>,
}

/// Decodes `text` into vectors of records and errors; see [`decode_each`].
pub fn decode<'a>(text: &'a [u8], opts: &DecodeOptions) -> Result<Decoded<'a>, GuardError> {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let format = decode_each(text, opts, |r| match r {
        Ok(rec) => records.push(rec),
        Err(e) => errors.push(e),
    })?;
    Ok(Decoded {
        format,
        records,
        errors,
    })
}

/// Decodes VPC flow lines; a header line (all tokens field names) switches the format
/// for the lines after it; `#` lines are comments. Every line is parsed into one reused
/// record, handed to `sink` by reference.
fn decode_flow<'a, F>(text: &'a [u8], opts: &DecodeOptions, sink: &mut F)
where
    F: FnMut(Result<&Record<'a>, RecordError>),
{
    let mut format = Cow::Borrowed(&opts.flow_format);
    let mut slot = Record::Flow(FlowRecord::default());
    if let Ok(whole) = std::str::from_utf8(text) {
        // Valid UTF-8 throughout (the common case): line ends found with a vectorised search.
        let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
        let mut start = 0usize;
        for (i, end) in ends.enumerate() {
            let line = whole.get(start..end).unwrap_or_default();
            start = end + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            flow_line(i + 1, Ok(line), &mut format, &mut slot, sink);
        }
    } else {
        for (n, raw) in lines(text) {
            flow_line(
                n,
                std::str::from_utf8(raw).map_err(|_| raw),
                &mut format,
                &mut slot,
                sink,
            );
        }
    }
}

/// One flow line: blank/comment (skipped), header (switches `format`) or data (parsed into
/// `slot`, a flow record).
fn flow_line<'a, F>(
    n: usize,
    line: Result<&'a str, &'a [u8]>,
    format: &mut Cow<'_, FlowFormat>,
    slot: &mut Record<'a>,
    sink: &mut F,
) where
    F: FnMut(Result<&Record<'a>, RecordError>),
{
    let raw = match line {
        Ok(l) => l.as_bytes(),
        Err(l) => l,
    };
    if raw.first().is_none_or(|b| *b == b'#') || is_blank(raw) {
        return;
    }
    let Record::Flow(rec) = slot else {
        return;
    };
    let res = line.map_err(|_| GuardError::Utf8).and_then(|line| {
        if line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$')
            && let Some(h) = FlowFormat::parse_header(line)
        {
            *format = Cow::Owned(h);
            return Ok(false);
        }
        format.parse_into(line, rec).map(|()| true)
    });
    match res {
        Ok(true) => sink(Ok(slot)),
        Ok(false) => {}
        Err(error) => sink(Err(RecordError {
            location: Location::Line(n),
            error,
        })),
    }
}

#[cfg(test)]
mod tests;
