//! The JSON formats: CloudTrail log files, bare arrays, JSON lines, single records,
//! EventBridge envelopes and Resolver query logs.

use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{InputFormat, Location, RecordError, is_blank, lines};
use crate::error::GuardError;
use crate::record::{CloudTrailRecord, Record, ResolverRecord};

/// The keys that tell the JSON formats apart.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "Records")]
    records: Option<IgnoredAny>,
    detail: Option<IgnoredAny>,
    query_name: Option<IgnoredAny>,
}

fn probe_format(p: &Probe, lines: bool) -> InputFormat {
    if p.records.is_some() {
        InputFormat::CloudTrailFile
    } else if p.detail.is_some() {
        InputFormat::EventBridge
    } else if p.query_name.is_some() {
        InputFormat::ResolverLines
    } else if lines {
        InputFormat::CloudTrailLines
    } else {
        InputFormat::CloudTrailSingle
    }
}

/// Detects a JSON format whose first non-blank line starts with `{`.
pub(super) fn detect_json(text: &[u8]) -> InputFormat {
    if is_json_lines(text)
        && let Some(p) = first_lines(text).find_map(|l| serde_json::from_slice::<Probe>(l).ok())
    {
        return probe_format(&p, true);
    }
    match serde_json::from_slice::<Probe>(text) {
        Ok(p) => probe_format(&p, false),
        // A broken document: guess from its text so the error lands on the right record.
        Err(_) if contains(text, b"\"Records\"") => InputFormat::CloudTrailFile,
        Err(_) => InputFormat::CloudTrailSingle,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn json_err(e: &serde_json::Error) -> GuardError {
    GuardError::Json {
        message: e.to_string(),
    }
}

/// Collects the elements of a JSON array as raw values, keeping those read before an error.
struct ArraySeed<'v, 'a>(&'v mut Vec<&'a RawValue>);

impl<'de, 'v> DeserializeSeed<'de> for ArraySeed<'v, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, 'v> Visitor<'de> for ArraySeed<'v, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of CloudTrail records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            self.0.push(raw);
        }
        Ok(())
    }
}

/// Reads `{"Records": [...], ...}` into raw records, keeping those read before an error.
struct FileSeed<'v, 'a>(&'v mut Vec<&'a RawValue>, &'v mut bool);

impl<'de, 'v> DeserializeSeed<'de> for FileSeed<'v, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'v> Visitor<'de> for FileSeed<'v, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail log file object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "Records" {
                *self.1 = true;
                map.next_value_seed(ArraySeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Emits the raw records of an array (or of a `Records` file) found in `doc`.
fn emit_array<'a, F>(doc: &'a str, line: usize, file: bool, sink: &mut F)
where
    F: FnMut(Result<Record<'a>, RecordError>),
{
    let mut raws = Vec::new();
    let mut saw_records = false;
    let mut de = serde_json::Deserializer::from_str(doc);
    let res = if file {
        FileSeed(&mut raws, &mut saw_records).deserialize(&mut de)
    } else {
        saw_records = true;
        ArraySeed(&mut raws).deserialize(&mut de)
    };
    let res = res.and_then(|()| de.end());
    let count = raws.len();
    for (index, raw) in raws.into_iter().enumerate() {
        let location = Location::Record { line, index };
        sink(
            CloudTrailRecord::from_raw(raw)
                .map(|r| Record::CloudTrail(Box::new(r)))
                .map_err(|error| RecordError { location, error }),
        );
    }
    let error = match res {
        Err(e) => Some(json_err(&e)),
        Ok(()) if !saw_records => Some(GuardError::MissingField { field: "Records" }),
        Ok(()) => None,
    };
    if let Some(error) = error {
        sink(Err(RecordError {
            location: Location::Record { line, index: count },
            error,
        }));
    }
}

/// Decodes one CloudTrail record (plain or EventBridge-wrapped) from `doc`.
fn one_record(doc: &str, eventbridge: bool) -> Result<Record<'_>, GuardError> {
    let rec = if eventbridge {
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            detail: Option<&'a RawValue>,
        }
        let env: Envelope<'_> = serde_json::from_str(doc).map_err(|e| json_err(&e))?;
        CloudTrailRecord::from_raw(
            env.detail
                .ok_or(GuardError::MissingField { field: "detail" })?,
        )?
    } else {
        // One pass: the typed decode validates the whole line as it goes.
        CloudTrailRecord::from_json(doc)?
    };
    Ok(Record::CloudTrail(Box::new(rec)))
}

/// Decodes the JSON formats of `text`.
pub(super) fn decode_json<'a, F>(text: &'a [u8], format: InputFormat, sink: &mut F)
where
    F: FnMut(Result<Record<'a>, RecordError>),
{
    let whole = matches!(
        format,
        InputFormat::CloudTrailArray | InputFormat::CloudTrailSingle
    ) || (matches!(
        format,
        InputFormat::CloudTrailFile | InputFormat::EventBridge
    ) && !is_json_lines(text));
    if whole {
        let doc = match std::str::from_utf8(text) {
            Ok(d) => d,
            Err(_) => {
                sink(Err(RecordError {
                    location: Location::Record { line: 1, index: 0 },
                    error: GuardError::Utf8,
                }));
                return;
            }
        };
        match format {
            InputFormat::CloudTrailArray => emit_array(doc, 1, false, sink),
            InputFormat::CloudTrailFile => emit_array(doc, 1, true, sink),
            _ => sink(
                one_record(doc, format == InputFormat::EventBridge).map_err(|error| RecordError {
                    location: Location::Record { line: 1, index: 0 },
                    error,
                }),
            ),
        }
        return;
    }
    for (n, raw) in lines(text) {
        if is_blank(raw) {
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            sink(Err(RecordError {
                location: Location::Line(n),
                error: GuardError::Utf8,
            }));
            continue;
        };
        let res = match format {
            InputFormat::CloudTrailFile => {
                emit_array(line, n, true, sink);
                continue;
            }
            InputFormat::ResolverLines => {
                ResolverRecord::from_json(line).map(|r| Record::Dns(Box::new(r)))
            }
            InputFormat::EventBridge => one_record(line, true),
            _ => one_record(line, false),
        };
        sink(res.map_err(|error| RecordError {
            location: Location::Line(n),
            error,
        }));
    }
}

/// How many leading lines are tried when telling JSON lines from one document, so that
/// a malformed first line does not turn a JSON-lines file into one broken document.
const PROBE_LINES: usize = 8;

fn first_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    lines(text)
        .filter(|(_, l)| !is_blank(l))
        .take(PROBE_LINES)
        .map(|(_, l)| l)
}

/// Whether `text` is JSON lines: its first line is a complete JSON object, or it is a
/// broken one-line record (not a lone `{` opening a pretty-printed document) and one of
/// the next lines is a complete object.
fn is_json_lines(text: &[u8]) -> bool {
    let mut it = first_lines(text);
    let Some(first) = it.next() else {
        return false;
    };
    let first = first.trim_ascii();
    let is_doc = |l: &[u8]| {
        l.trim_ascii_start().starts_with(b"{") && serde_json::from_slice::<IgnoredAny>(l).is_ok()
    };
    if is_doc(first) {
        return true;
    }
    first.len() > 1 && !first.ends_with(b"[") && it.any(is_doc)
}
