//! Text transformations: the union of AWS WAFv2 `TextTransformationType` and the SecLang `t:` functions.
//!
//! [`apply`] returns [`Cow::Borrowed`] whenever the transformation leaves the input unchanged, so chains over
//! clean input allocate nothing. SecLang names follow libmodsecurity 3 semantics; the AWS-only types follow the AWS
//! WAF developer guide. Where one name exists in both (e.g. `URL_DECODE_UNI` / `urlDecodeUni`) the same function
//! serves both.

mod codec;
mod decode;
mod text;

pub use text::has_byte;

use std::borrow::Cow;

/// One text transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Transform {
    /// No change (`NONE` / `none`).
    None,
    /// ASCII lowercase (`LOWERCASE` / `lowercase`).
    Lowercase,
    /// ASCII uppercase (`UPPERCASE` / `uppercase`).
    Uppercase,
    /// URL decoding, `+` as space, invalid `%` kept (`URL_DECODE` / `urlDecode`).
    UrlDecode,
    /// URL decoding plus `%uXXXX` (`URL_DECODE_UNI` / `urlDecodeUni`).
    UrlDecodeUni,
    /// URL encoding (`urlEncode`).
    UrlEncode,
    /// HTML entity decoding (`HTML_ENTITY_DECODE` / `htmlEntityDecode`).
    HtmlEntityDecode,
    /// UTF-8 sequences to `%uXXXX` (`UTF8_TO_UNICODE` / `utf8toUnicode`).
    Utf8ToUnicode,
    /// Remove NUL bytes (`REMOVE_NULLS` / `removeNulls`).
    RemoveNulls,
    /// Replace NUL bytes with spaces (`REPLACE_NULLS` / `replaceNulls`).
    ReplaceNulls,
    /// JavaScript escape decoding (`JS_DECODE` / `jsDecode`).
    JsDecode,
    /// JavaScript escape decoding extended with `\u{...}` code points (`JS_DECODE_EXT`, AWS only).
    JsDecodeExt,
    /// CSS escape decoding (`CSS_DECODE` / `cssDecode`).
    CssDecode,
    /// Command-line normalisation (`CMD_LINE` / `cmdLine`).
    CmdLine,
    /// Windows command-line normalisation (`CMD_LINE_WIN`, AWS only).
    CmdLineWin,
    /// Unix command-line normalisation (`CMD_LINE_UNIX`, AWS only).
    CmdLineUnix,
    /// Whitespace runs to one space (`COMPRESS_WHITE_SPACE` / `compressWhitespace`).
    CompressWhitespace,
    /// Remove all whitespace (`REMOVE_WHITESPACE` / `removeWhitespace`).
    RemoveWhitespace,
    /// Resolve `./`, `../` and `//` (`NORMALIZE_PATH` / `normalizePath`, alias `normalisePath`).
    NormalizePath,
    /// `\` to `/`, then [`Transform::NormalizePath`] (`NORMALIZE_PATH_WIN` / `normalizePathWin`).
    NormalizePathWin,
    /// SHA-1 digest, 20 raw bytes (`sha1`).
    Sha1,
    /// SHA-256 digest, 32 raw bytes (`SHA256`, AWS only).
    Sha256,
    /// MD5 digest, 16 raw bytes (`MD5` / `md5`).
    Md5,
    /// Lowercase hex encoding (`hexEncode`).
    HexEncode,
    /// Hex decoding (`HEX_DECODE` / `hexDecode`).
    HexDecode,
    /// `0x...` hex literals decoded (`SQL_HEX_DECODE` / `sqlHexDecode`).
    SqlHexDecode,
    /// The input length as a decimal string (`length`).
    Length,
    /// C-style comments to one space (`REPLACE_COMMENTS` / `replaceComments`).
    ReplaceComments,
    /// Remove C, SQL and shell comments (`removeComments`).
    RemoveComments,
    /// Remove comment characters `/*`, `*/`, `--`, `#` (`REMOVE_COMMENTS_CHAR` / `removeCommentsChar`).
    RemoveCommentsChar,
    /// Base64 decoding, stopping at the first invalid character (`BASE64_DECODE` / `base64Decode`).
    Base64Decode,
    /// Base64 decoding that skips invalid characters (`BASE64_DECODE_EXT` / `base64DecodeExt`).
    Base64DecodeExt,
    /// Base64 encoding (`base64Encode`).
    Base64Encode,
    /// ANSI C escape decoding (`ESCAPE_SEQ_DECODE` / `escapeSeqDecode`).
    EscapeSeqDecode,
    /// Trim whitespace both ends (`TRIM` / `trim`).
    Trim,
    /// Trim leading whitespace (`TRIM_LEFT` / `trimLeft`).
    TrimLeft,
    /// Trim trailing whitespace (`TRIM_RIGHT` / `trimRight`).
    TrimRight,
    /// Even 7-bit parity (`parityEven7bit`).
    ParityEven7bit,
    /// Odd 7-bit parity (`parityOdd7bit`).
    ParityOdd7bit,
    /// Clear the 8th bit (`parityZero7bit`).
    ParityZero7bit,
}

/// (transform, AWS name, SecLang canonical name) for every transformation.
const NAMES: &[(Transform, Option<&str>, Option<&str>)] = &[
    (Transform::None, Some("NONE"), Some("none")),
    (Transform::Lowercase, Some("LOWERCASE"), Some("lowercase")),
    (Transform::Uppercase, Some("UPPERCASE"), Some("uppercase")),
    (Transform::UrlDecode, Some("URL_DECODE"), Some("urlDecode")),
    (
        Transform::UrlDecodeUni,
        Some("URL_DECODE_UNI"),
        Some("urlDecodeUni"),
    ),
    (Transform::UrlEncode, None, Some("urlEncode")),
    (
        Transform::HtmlEntityDecode,
        Some("HTML_ENTITY_DECODE"),
        Some("htmlEntityDecode"),
    ),
    (
        Transform::Utf8ToUnicode,
        Some("UTF8_TO_UNICODE"),
        Some("utf8toUnicode"),
    ),
    (
        Transform::RemoveNulls,
        Some("REMOVE_NULLS"),
        Some("removeNulls"),
    ),
    (
        Transform::ReplaceNulls,
        Some("REPLACE_NULLS"),
        Some("replaceNulls"),
    ),
    (Transform::JsDecode, Some("JS_DECODE"), Some("jsDecode")),
    (Transform::JsDecodeExt, Some("JS_DECODE_EXT"), None),
    (Transform::CssDecode, Some("CSS_DECODE"), Some("cssDecode")),
    (Transform::CmdLine, Some("CMD_LINE"), Some("cmdLine")),
    (Transform::CmdLineWin, Some("CMD_LINE_WIN"), None),
    (Transform::CmdLineUnix, Some("CMD_LINE_UNIX"), None),
    (
        Transform::CompressWhitespace,
        Some("COMPRESS_WHITE_SPACE"),
        Some("compressWhitespace"),
    ),
    (
        Transform::RemoveWhitespace,
        Some("REMOVE_WHITESPACE"),
        Some("removeWhitespace"),
    ),
    (
        Transform::NormalizePath,
        Some("NORMALIZE_PATH"),
        Some("normalizePath"),
    ),
    (
        Transform::NormalizePathWin,
        Some("NORMALIZE_PATH_WIN"),
        Some("normalizePathWin"),
    ),
    (Transform::Sha1, None, Some("sha1")),
    (Transform::Sha256, Some("SHA256"), None),
    (Transform::Md5, Some("MD5"), Some("md5")),
    (Transform::HexEncode, None, Some("hexEncode")),
    (Transform::HexDecode, Some("HEX_DECODE"), Some("hexDecode")),
    (
        Transform::SqlHexDecode,
        Some("SQL_HEX_DECODE"),
        Some("sqlHexDecode"),
    ),
    (Transform::Length, None, Some("length")),
    (
        Transform::ReplaceComments,
        Some("REPLACE_COMMENTS"),
        Some("replaceComments"),
    ),
    (Transform::RemoveComments, None, Some("removeComments")),
    (
        Transform::RemoveCommentsChar,
        Some("REMOVE_COMMENTS_CHAR"),
        Some("removeCommentsChar"),
    ),
    (
        Transform::Base64Decode,
        Some("BASE64_DECODE"),
        Some("base64Decode"),
    ),
    (
        Transform::Base64DecodeExt,
        Some("BASE64_DECODE_EXT"),
        Some("base64DecodeExt"),
    ),
    (Transform::Base64Encode, None, Some("base64Encode")),
    (
        Transform::EscapeSeqDecode,
        Some("ESCAPE_SEQ_DECODE"),
        Some("escapeSeqDecode"),
    ),
    (Transform::Trim, Some("TRIM"), Some("trim")),
    (Transform::TrimLeft, Some("TRIM_LEFT"), Some("trimLeft")),
    (Transform::TrimRight, Some("TRIM_RIGHT"), Some("trimRight")),
    (Transform::ParityEven7bit, None, Some("parityEven7bit")),
    (Transform::ParityOdd7bit, None, Some("parityOdd7bit")),
    (Transform::ParityZero7bit, None, Some("parityZero7bit")),
];

impl Transform {
    /// Every transformation, in a fixed order.
    pub fn all() -> impl Iterator<Item = Transform> {
        NAMES.iter().map(|(t, _, _)| *t)
    }

    /// Looks up an AWS WAFv2 `TextTransformationType` name (exact, upper case, e.g. `URL_DECODE_UNI`).
    pub fn from_aws_name(name: &str) -> Option<Transform> {
        NAMES
            .iter()
            .find(|(_, aws, _)| *aws == Some(name))
            .map(|(t, _, _)| *t)
    }

    /// The AWS WAFv2 name, or `None` for SecLang-only transformations.
    pub fn aws_name(&self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(t, _, _)| t == self)
            .and_then(|(_, aws, _)| *aws)
    }

    /// Looks up a SecLang `t:` name, ASCII case-insensitively as ModSecurity does; accepts the aliases
    /// `normalisePath` and `normalisePathWin`.
    pub fn from_seclang_name(name: &str) -> Option<Transform> {
        if name.eq_ignore_ascii_case("normalisePath") {
            return Some(Transform::NormalizePath);
        }
        if name.eq_ignore_ascii_case("normalisePathWin") {
            return Some(Transform::NormalizePathWin);
        }
        NAMES
            .iter()
            .find(|(_, _, sl)| sl.is_some_and(|s| s.eq_ignore_ascii_case(name)))
            .map(|(t, _, _)| *t)
    }

    /// The canonical SecLang name, or `None` for AWS-only transformations.
    pub fn seclang_name(&self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(t, _, _)| t == self)
            .and_then(|(_, _, sl)| *sl)
    }
}

/// Applies one transformation. Returns [`Cow::Borrowed`] when the output equals the input.
#[inline]
pub fn apply(t: Transform, input: &[u8]) -> Cow<'_, [u8]> {
    if surely_unchanged(t, input) {
        return Cow::Borrowed(input);
    }
    apply_full(t, input)
}

/// A quick scan for the transformations rule groups use most: `true` when `t` cannot change `input` (e.g. no
/// `%` or `+` for the URL decodings). Spares the call to the full transformation, which most values do not need.
#[inline]
fn surely_unchanged(t: Transform, input: &[u8]) -> bool {
    match t {
        Transform::None => true,
        Transform::Lowercase => !text::has_ascii_upper(input),
        Transform::UrlDecode | Transform::UrlDecodeUni => !decode::has_plus_or_percent(input),
        Transform::HtmlEntityDecode => !text::has_byte(input, b'&'),
        Transform::JsDecode | Transform::JsDecodeExt => !text::has_byte(input, b'\\'),
        _ => false,
    }
}

/// The bytes an input needs for `t` to output a byte of `wanted` (both as 256 flags, one per byte value): an input
/// holding no byte of the result gives an output holding no byte of `wanted`. `None` when no useful set is known.
///
/// The decodings leave an input unchanged without their escape bytes (`%` and `+`, `&`, `\`), so an output byte
/// that is not in the input needs one of those in it. `LOWERCASE` outputs `c` only from `c` or, for `a`–`z`, its
/// upper-case letter. The trims and the null and whitespace removals only drop bytes. A rule group can thus rule out
/// a value before transforming it.
pub fn source_bytes(t: Transform, wanted: &[bool; 256]) -> Option<[bool; 256]> {
    let mut out = *wanted;
    let mut add = |b: u8| {
        if let Some(x) = out.get_mut(usize::from(b)) {
            *x = true;
        }
    };
    match t {
        Transform::None
        | Transform::Trim
        | Transform::TrimLeft
        | Transform::TrimRight
        | Transform::RemoveNulls
        | Transform::RemoveWhitespace => {}
        Transform::UrlDecode | Transform::UrlDecodeUni => {
            add(b'%');
            add(b'+');
        }
        Transform::HtmlEntityDecode => add(b'&'),
        Transform::JsDecode | Transform::JsDecodeExt => add(b'\\'),
        Transform::Lowercase => {
            for c in b'a'..=b'z' {
                if wanted.get(usize::from(c)).copied().unwrap_or(false) {
                    add(c.to_ascii_uppercase());
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

/// [`apply`] without the quick scan.
fn apply_full(t: Transform, input: &[u8]) -> Cow<'_, [u8]> {
    let out = match t {
        Transform::None => Cow::Borrowed(input),
        Transform::Lowercase => text::lowercase(input),
        Transform::Uppercase => text::uppercase(input),
        Transform::UrlDecode => decode::url_decode(input),
        Transform::UrlDecodeUni => decode::url_decode_uni(input),
        Transform::UrlEncode => codec::url_encode(input),
        Transform::HtmlEntityDecode => decode::html_entity_decode(input),
        Transform::Utf8ToUnicode => codec::utf8_to_unicode(input),
        Transform::RemoveNulls => text::remove_nulls(input),
        Transform::ReplaceNulls => text::replace_nulls(input),
        Transform::JsDecode => decode::js_decode(input, false),
        Transform::JsDecodeExt => decode::js_decode(input, true),
        Transform::CssDecode => decode::css_decode(input),
        Transform::CmdLine => text::cmd_line(input, text::CmdLineMode::ModSecurity),
        Transform::CmdLineWin => text::cmd_line(input, text::CmdLineMode::Windows),
        Transform::CmdLineUnix => text::cmd_line(input, text::CmdLineMode::Unix),
        Transform::CompressWhitespace => text::compress_whitespace(input),
        Transform::RemoveWhitespace => text::remove_whitespace(input),
        Transform::NormalizePath => text::normalize_path(input, false),
        Transform::NormalizePathWin => text::normalize_path(input, true),
        Transform::Sha1 => codec::sha1(input),
        Transform::Sha256 => codec::sha256(input),
        Transform::Md5 => codec::md5(input),
        Transform::HexEncode => codec::hex_encode(input),
        Transform::HexDecode => codec::hex_decode(input),
        Transform::SqlHexDecode => codec::sql_hex_decode(input),
        Transform::Length => Cow::Owned(input.len().to_string().into_bytes()),
        Transform::ReplaceComments => text::replace_comments(input),
        Transform::RemoveComments => text::remove_comments(input),
        Transform::RemoveCommentsChar => text::remove_comments_char(input),
        Transform::Base64Decode => codec::base64_decode(input, false),
        Transform::Base64DecodeExt => codec::base64_decode(input, true),
        Transform::Base64Encode => codec::base64_encode(input),
        Transform::EscapeSeqDecode => decode::escape_seq_decode(input),
        Transform::Trim => text::trim(input, true, true),
        Transform::TrimLeft => text::trim(input, true, false),
        Transform::TrimRight => text::trim(input, false, true),
        Transform::ParityEven7bit => text::parity(input, text::Parity::Even),
        Transform::ParityOdd7bit => text::parity(input, text::Parity::Odd),
        Transform::ParityZero7bit => text::parity(input, text::Parity::Zero),
    };
    borrow_if_same(input, out)
}

/// Applies `chain` in order. Returns [`Cow::Borrowed`] when no step changed the input.
pub fn apply_chain<'a>(chain: &[Transform], input: &'a [u8]) -> Cow<'a, [u8]> {
    let mut steps = chain.iter();
    // Steps that leave the input unchanged: still borrowed, nothing to move.
    let mut cur = loop {
        match steps.next() {
            None => return Cow::Borrowed(input),
            Some(&t) => {
                if let Cow::Owned(o) = apply(t, input) {
                    break o;
                }
            }
        }
    };
    for &t in steps {
        if let Cow::Owned(n) = apply(t, &cur) {
            cur = n;
        }
    }
    Cow::Owned(cur)
}

/// Normalises a result so that `Borrowed` means exactly "unchanged": an owned result equal to the input becomes a
/// borrow of the input, and a borrowed sub-slice (e.g. from trimming) becomes owned.
fn borrow_if_same<'a>(input: &'a [u8], out: Cow<'a, [u8]>) -> Cow<'a, [u8]> {
    match out {
        Cow::Owned(o) if o == input => Cow::Borrowed(input),
        Cow::Borrowed(b) if b.len() != input.len() => Cow::Owned(b.to_vec()),
        other => other,
    }
}

#[cfg(test)]
mod tests;
