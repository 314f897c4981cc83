//! JSON bodies: a strict, streaming, non-recursive parser and two consumers of its events.
//!
//! - [`flatten`] names arguments the way libmodsecurity 3 does (checked against its regression test
//!   `issue-1576.json`): the top-level container is called `json`; an object member adds `.` + key; an array
//!   element adds `.array_<index>`; an object or array that is itself an array element has an empty name, so
//!   `{"ops":[["a"],{"eins":["zwei"]}]}` gives `json.ops.array_0.array_0 = a` and
//!   `json.ops.array_1.eins.array_0 = zwei`; a top-level scalar is `json`; an empty key is `empty-key`. Values
//!   are the decoded string, the number exactly as written, `true`/`false`, or the empty string for `null`. Only
//!   scalars become arguments (no argument for the containers themselves). More than `depth_limit` nested
//!   containers is an error (`SecRequestBodyJsonDepthLimit`).
//! - [`walk`] visits every key and scalar with its JSON Pointer (RFC 6901), for AWS `JsonBody` matching.
//!
//! The grammar is RFC 8259 with yajl's defaults: no comments, one value per body, strings must be valid UTF-8
//! without raw control characters, a lone surrogate escape decodes to `?`. Both consumers also report the items
//! seen before the first error (AWS inspects "up to the first parse error"; ModSecurity keeps the arguments its
//! streaming parser already added).

use std::borrow::Cow;

use crate::error::Error;
use crate::query::{Param, hex_val};

/// The kind of a JSON scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// A string (the text is decoded).
    String,
    /// A number (the text is as written).
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// One parser event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `{`
    StartObject,
    /// `}`
    EndObject,
    /// `[`
    StartArray,
    /// `]`
    EndArray,
    /// An object member name (decoded).
    Key(Cow<'a, [u8]>),
    /// A scalar value: its text and kind.
    Scalar(Cow<'a, [u8]>, ScalarKind),
}

/// What the parser expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any value.
    Value,
    /// A value or `]` (just after `[`).
    ValueOrEnd,
    /// A key or `}` (just after `{`).
    KeyOrEnd,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the closing bracket after a value.
    CommaOrEnd,
    /// Only whitespace until the end of input.
    Done,
}

/// Parses `body`, calling `sink` for every event. Stops at the first error.
pub fn parse<'a>(
    body: &'a [u8],
    depth_limit: usize,
    mut sink: impl FnMut(Event<'a>),
) -> Result<(), Error> {
    let err = |offset: usize, message: &str| Error::Json {
        offset,
        message: message.to_owned(),
    };
    let mut stack: Vec<bool> = Vec::new(); // true = object
    let mut expect = Expect::Value;
    let mut i = 0;
    loop {
        while body
            .get(i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            i += 1;
        }
        let Some(&c) = body.get(i) else {
            return if expect == Expect::Done {
                Ok(())
            } else {
                Err(err(i, "premature EOF"))
            };
        };
        match expect {
            Expect::Done => return Err(err(i, "trailing garbage")),
            Expect::Colon => {
                if c != b':' {
                    return Err(err(
                        i,
                        "object key and value must be separated by a colon (':')",
                    ));
                }
                i += 1;
                expect = Expect::Value;
            }
            Expect::CommaOrEnd => {
                let in_object = stack.last().copied().unwrap_or(false);
                match c {
                    b',' => {
                        i += 1;
                        expect = if in_object {
                            Expect::Key
                        } else {
                            Expect::Value
                        };
                    }
                    b'}' if in_object => {
                        i += 1;
                        stack.pop();
                        sink(Event::EndObject);
                        expect = after_value(&stack);
                    }
                    b']' if !in_object => {
                        i += 1;
                        stack.pop();
                        sink(Event::EndArray);
                        expect = after_value(&stack);
                    }
                    _ => return Err(err(i, "after value, expected ',' or a closing bracket")),
                }
            }
            Expect::KeyOrEnd | Expect::Key => {
                if c == b'}' && expect == Expect::KeyOrEnd {
                    i += 1;
                    stack.pop();
                    sink(Event::EndObject);
                    expect = after_value(&stack);
                } else if c == b'"' {
                    let (key, next) = parse_string(body, i)?;
                    sink(Event::Key(key));
                    i = next;
                    expect = Expect::Colon;
                } else {
                    return Err(err(i, "invalid object key (must be a string)"));
                }
            }
            Expect::Value | Expect::ValueOrEnd => {
                match c {
                    b']' if expect == Expect::ValueOrEnd => {
                        i += 1;
                        stack.pop();
                        sink(Event::EndArray);
                        expect = after_value(&stack);
                        continue;
                    }
                    b'{' | b'[' => {
                        if stack.len() >= depth_limit {
                            return Err(Error::JsonDepth { limit: depth_limit });
                        }
                        i += 1;
                        let object = c == b'{';
                        stack.push(object);
                        if object {
                            sink(Event::StartObject);
                            expect = Expect::KeyOrEnd;
                        } else {
                            sink(Event::StartArray);
                            expect = Expect::ValueOrEnd;
                        }
                        continue;
                    }
                    b'"' => {
                        let (s, next) = parse_string(body, i)?;
                        sink(Event::Scalar(s, ScalarKind::String));
                        i = next;
                    }
                    b'-' | b'0'..=b'9' => {
                        let next = scan_number(body, i).ok_or_else(|| err(i, "invalid number"))?;
                        sink(Event::Scalar(
                            Cow::Borrowed(body.get(i..next).unwrap_or(&[])),
                            ScalarKind::Number,
                        ));
                        i = next;
                    }
                    _ => {
                        let rest = body.get(i..).unwrap_or(&[]);
                        let (word, kind): (&'static [u8], ScalarKind) = if rest.starts_with(b"true")
                        {
                            (b"true", ScalarKind::Bool)
                        } else if rest.starts_with(b"false") {
                            (b"false", ScalarKind::Bool)
                        } else if rest.starts_with(b"null") {
                            (b"null", ScalarKind::Null)
                        } else {
                            return Err(err(i, "invalid value"));
                        };
                        if body
                            .get(i + word.len())
                            .is_some_and(|b| b.is_ascii_alphanumeric())
                        {
                            return Err(err(i, "invalid literal"));
                        }
                        sink(Event::Scalar(Cow::Borrowed(word), kind));
                        i += word.len();
                    }
                }
                expect = after_value(&stack);
            }
        }
    }
}

fn after_value(stack: &[bool]) -> Expect {
    if stack.is_empty() {
        Expect::Done
    } else {
        Expect::CommaOrEnd
    }
}

/// Scans a number starting at `i`; returns the index after it.
fn scan_number(body: &[u8], mut i: usize) -> Option<usize> {
    let digits = |body: &[u8], i: usize| {
        body.get(i..)
            .map_or(0, |s| s.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    if body.get(i) == Some(&b'-') {
        i += 1;
    }
    match body.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(body, i),
        _ => return None,
    }
    if body.get(i) == Some(&b'.') {
        let n = digits(body, i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(body.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(body, i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

/// Parses the string whose opening quote is at `start`; returns the decoded bytes and the index after the
/// closing quote.
fn parse_string(body: &[u8], start: usize) -> Result<(Cow<'_, [u8]>, usize), Error> {
    let err = |offset: usize, message: &str| Error::Json {
        offset,
        message: message.to_owned(),
    };
    let content_start = start + 1;
    let mut i = content_start;
    // Fast path: no escapes.
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => {
                let s = body.get(content_start..i).unwrap_or(&[]);
                if std::str::from_utf8(s).is_err() {
                    return Err(err(content_start, "invalid bytes in UTF8 string"));
                }
                return Ok((Cow::Borrowed(s), i + 1));
            }
            b'\\' => break,
            0..=0x1f => return Err(err(i, "invalid character inside string")),
            _ => i += 1,
        }
    }
    let mut out: Vec<u8> = body.get(content_start..i).unwrap_or(&[]).to_vec();
    loop {
        let Some(&b) = body.get(i) else {
            return Err(err(i, "premature EOF in string"));
        };
        match b {
            b'"' => {
                if std::str::from_utf8(&out).is_err() {
                    return Err(err(content_start, "invalid bytes in UTF8 string"));
                }
                return Ok((Cow::Owned(out), i + 1));
            }
            b'\\' => {
                let Some(&e) = body.get(i + 1) else {
                    return Err(err(i, "premature EOF in string"));
                };
                i += 2;
                let simple = match e {
                    b'"' => Some(b'"'),
                    b'\\' => Some(b'\\'),
                    b'/' => Some(b'/'),
                    b'b' => Some(0x08),
                    b'f' => Some(0x0c),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'u' => None,
                    _ => {
                        return Err(err(
                            i - 1,
                            "inside a JSON string, an invalid escape was found",
                        ));
                    }
                };
                if let Some(v) = simple {
                    out.push(v);
                    continue;
                }
                let cp = hex4(body, i).ok_or_else(|| err(i, "invalid \\u escape"))?;
                i += 4;
                let ch = if (0xd800..0xdc00).contains(&cp) {
                    match (body.get(i..i + 2), hex4(body, i + 2)) {
                        (Some(b"\\u"), Some(lo)) if (0xdc00..0xe000).contains(&lo) => {
                            i += 6;
                            char::from_u32(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00))
                        }
                        _ => None,
                    }
                } else {
                    char::from_u32(cp)
                };
                match ch {
                    Some(ch) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    None => out.push(b'?'),
                }
            }
            0..=0x1f => return Err(err(i, "invalid character inside string")),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

fn hex4(body: &[u8], i: usize) -> Option<u32> {
    (0..4).try_fold(0u32, |acc, k| {
        Some(acc << 4 | u32::from(hex_val(*body.get(i + k)?)?))
    })
}

/// [`flatten`] stops collecting once names and values exceed this many times the body size (or 1 MiB).
const NAME_BUDGET_FACTOR: usize = 16;

/// Number of decimal digits of `n`.
fn decimal_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// A container on the ModSecurity naming stack.
struct Container {
    name: Vec<u8>,
    /// `Some(next element index)` for arrays.
    array_index: Option<usize>,
}

/// How many arguments [`flatten`] keeps at most; later scalars are still parsed (the body is still validated) but
/// dropped, like libmodsecurity does beyond `SecArgumentsLimit`. Together with a byte budget (16 times the body
/// size) this bounds memory, since an argument name repeats all its ancestors' keys.
pub const DEFAULT_MAX_ARGS: usize = 10_000;

/// Flattens a JSON body into ModSecurity-named arguments (see the module docs), keeping at most
/// [`DEFAULT_MAX_ARGS`]. On error, the arguments seen before it are dropped; use [`flatten_partial`] to keep them.
pub fn flatten(body: &[u8], depth_limit: usize) -> Result<Vec<Param>, Error> {
    match flatten_limited(body, depth_limit, DEFAULT_MAX_ARGS) {
        (params, None) => Ok(params),
        (_, Some(e)) => Err(e),
    }
}

/// Like [`flatten`], but returns the arguments produced before the first error along with the error.
pub fn flatten_partial(body: &[u8], depth_limit: usize) -> (Vec<Param>, Option<Error>) {
    flatten_limited(body, depth_limit, DEFAULT_MAX_ARGS)
}

/// Like [`flatten_partial`], with an explicit argument cap (e.g. `SecArgumentsLimit`).
///
/// A zero-length body gives no arguments and no error (libmodsecurity only reports a JSON error for a non-empty
/// body).
pub fn flatten_limited(
    body: &[u8],
    depth_limit: usize,
    max_args: usize,
) -> (Vec<Param>, Option<Error>) {
    if body.is_empty() {
        return (Vec::new(), None);
    }
    // Names repeat their ancestors' keys, so their total size is bounded separately from the argument count.
    let budget = body.len().saturating_mul(NAME_BUDGET_FACTOR).max(1 << 20);
    let mut used = 0usize;
    let mut params = Vec::new();
    let mut stack: Vec<Container> = Vec::new();
    let mut current_key: Option<Vec<u8>> = None;
    // libmodsecurity's getCurrentKey(): "json" at top level, else the pending key (consumed), else "" inside an
    // array or "empty-key" inside an object.
    let take_key = |stack: &[Container], current_key: &mut Option<Vec<u8>>| -> Vec<u8> {
        if stack.is_empty() {
            return b"json".to_vec();
        }
        match current_key.take() {
            Some(k) if !k.is_empty() => k,
            _ if stack.last().is_some_and(|c| c.array_index.is_some()) => Vec::new(),
            _ => b"empty-key".to_vec(),
        }
    };
    let result = parse(body, depth_limit, |ev| match ev {
        Event::Key(k) => current_key = Some(k.into_owned()),
        Event::StartObject | Event::StartArray => {
            let name = take_key(&stack, &mut current_key);
            let array_index = matches!(ev, Event::StartArray).then_some(0);
            stack.push(Container { name, array_index });
        }
        Event::EndObject | Event::EndArray => {
            stack.pop();
            if let Some(idx) = stack.last_mut().and_then(|c| c.array_index.as_mut()) {
                *idx += 1;
            }
        }
        Event::Scalar(v, kind) => {
            let name_len: usize = stack
                .iter()
                .map(|c| c.name.len() + c.array_index.map_or(1, |i| 7 + decimal_len(i)))
                .sum::<usize>()
                + current_key.as_ref().map_or(9, Vec::len);
            if params.len() >= max_args || used.saturating_add(name_len + v.len()) > budget {
                // Keep the naming state consistent, but build nothing.
                match stack.last_mut().and_then(|c| c.array_index.as_mut()) {
                    Some(idx) => *idx += 1,
                    None => {
                        current_key = None;
                    }
                }
                return;
            }
            let mut name = Vec::new();
            for c in &stack {
                name.extend_from_slice(&c.name);
                match c.array_index {
                    Some(idx) => {
                        name.extend_from_slice(b".array_");
                        name.extend_from_slice(idx.to_string().as_bytes());
                    }
                    None => name.push(b'.'),
                }
            }
            match stack.last_mut().and_then(|c| c.array_index.as_mut()) {
                Some(idx) => *idx += 1,
                None => name.extend_from_slice(&take_key(&stack, &mut current_key)),
            }
            let value = if kind == ScalarKind::Null {
                Vec::new()
            } else {
                v.into_owned()
            };
            used += name.len() + value.len();
            params.push(Param::plain(name, value));
        }
    });
    (params, result.err())
}

/// A key or scalar found by [`walk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonItem<'a> {
    /// The JSON Pointer (RFC 6901) of the value — for a key, of the member it names — e.g. `/a/0/b`; `""` for the
    /// root.
    pub pointer: &'a str,
    /// True for an object member name, false for a scalar value.
    pub is_key: bool,
    /// The key (decoded) or the scalar text (strings decoded, numbers as written, `true`, `false`, `null`).
    pub text: &'a [u8],
    /// The scalar kind (`String` for keys).
    pub kind: ScalarKind,
}

/// Calls `visit` for every key and scalar of a JSON body, in document order, with its JSON Pointer; stops at the
/// first error and returns it (the items before it have been visited, as AWS WAF inspects "up to the first parse
/// error"). Unlike [`flatten`], an empty body is an error. Memory stays proportional to the nesting depth: the
/// pointer is one reused buffer.
pub fn walk(
    body: &[u8],
    depth_limit: usize,
    mut visit: impl FnMut(&JsonItem<'_>),
) -> Result<(), Error> {
    /// `Some(next index)` for arrays; the pointer length of the container itself.
    struct Frame {
        array_index: Option<usize>,
        base: usize,
    }
    fn push_segment(pointer: &mut String, frame: &Frame, key: Option<&[u8]>) {
        pointer.truncate(frame.base);
        pointer.push('/');
        match (key, frame.array_index) {
            (Some(k), _) => {
                for ch in String::from_utf8_lossy(k).chars() {
                    match ch {
                        '~' => pointer.push_str("~0"),
                        '/' => pointer.push_str("~1"),
                        c => pointer.push(c),
                    }
                }
            }
            (None, Some(i)) => pointer.push_str(&i.to_string()),
            (None, None) => {}
        }
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut pointer = String::new();
    parse(body, depth_limit, |ev| match ev {
        Event::StartObject | Event::StartArray => {
            if let Some(parent) = stack.last()
                && parent.array_index.is_some()
            {
                push_segment(&mut pointer, parent, None);
            }
            stack.push(Frame {
                array_index: matches!(ev, Event::StartArray).then_some(0),
                base: pointer.len(),
            });
        }
        Event::EndObject | Event::EndArray => {
            if let Some(done) = stack.pop() {
                pointer.truncate(done.base);
            }
            if let Some(parent) = stack.last_mut() {
                pointer.truncate(parent.base);
                if let Some(i) = parent.array_index.as_mut() {
                    *i += 1;
                }
            }
        }
        Event::Key(k) => {
            if let Some(frame) = stack.last() {
                push_segment(&mut pointer, frame, Some(&k));
            }
            visit(&JsonItem {
                pointer: &pointer,
                is_key: true,
                text: &k,
                kind: ScalarKind::String,
            });
        }
        Event::Scalar(v, kind) => {
            if let Some(frame) = stack.last()
                && frame.array_index.is_some()
            {
                push_segment(&mut pointer, frame, None);
            }
            visit(&JsonItem {
                pointer: &pointer,
                is_key: false,
                text: &v,
                kind,
            });
            if let Some(frame) = stack.last_mut()
                && let Some(i) = frame.array_index.as_mut()
            {
                *i += 1;
            }
        }
    })
}

#[cfg(test)]
mod tests;
