//! Decoders: URL, `%u`, HTML entities, JavaScript, CSS and ANSI C escapes (ModSecurity 3 semantics).
//!
//! All of them are lenient: a malformed escape is copied through (or loses only its backslash, as ModSecurity
//! does), never an error.

use std::borrow::Cow;

use crate::query::{form_decode, hex_val};

use super::text::{SIMD_SCAN, is_c_space};

/// Byte at `i`, or 0 past the end (ModSecurity reads its NUL terminator there).
fn at(input: &[u8], i: usize) -> u8 {
    input.get(i).copied().unwrap_or(0)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Two hex digits at `i` and `i + 1` as a byte, if both are valid.
fn hex2(input: &[u8], i: usize) -> Option<u8> {
    Some(hex_val(*input.get(i)?)? << 4 | hex_val(*input.get(i + 1)?)?)
}

/// Parses up to 6+ digits in `radix` the way C `strtol` would and keeps the low byte of the (saturated) value.
fn strtol_low_byte(digits: &[u8], radix: u32) -> u8 {
    let mut v: u64 = 0;
    for &d in digits {
        let dv = char::from(d).to_digit(radix).map_or(0, u64::from);
        v = v.saturating_mul(u64::from(radix)).saturating_add(dv);
    }
    // strtol saturates at LONG_MAX, whose low byte is 0xff.
    (v.min(i64::MAX as u64) & 0xff) as u8
}

/// `urlDecode` / `URL_DECODE`: `+` → space, `%XX` → byte, invalid `%` kept.
pub(crate) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    form_decode(input)
}

/// `urlDecodeUni` / `URL_DECODE_UNI`: [`url_decode`] plus IIS `%uXXXX`.
///
/// `%uXXXX` becomes one byte: full-width ASCII (U+FF01–U+FF5E) maps to its ASCII twin, U+0000–U+007F to itself,
/// a handful of common look-alikes (Latin-1 letters with diacritics, typographic quotes and dashes, ideographic
/// full stops) to their best-fit ASCII character, in the spirit of ModSecurity's code page 20127 map; anything else
/// to its low byte (ModSecurity's behaviour without a map entry). A `%u` without four hex digits is kept as-is.
pub(crate) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    if find_plus_or_percent(input).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'%' | b'+' => {}
            _ => {
                // Copy the run up to the next `%` or `+` in one go.
                let rest = input.get(i..).unwrap_or_default();
                let run = find_plus_or_percent(rest).unwrap_or(rest.len());
                out.extend_from_slice(rest.get(..run).unwrap_or_default());
                i += run;
                continue;
            }
        }
        match b {
            b'%' if matches!(input.get(i + 1), Some(b'u' | b'U')) => {
                let code = (2..6).try_fold(0u32, |acc, k| {
                    input
                        .get(i + k)
                        .copied()
                        .and_then(hex_val)
                        .map(|v| acc << 4 | u32::from(v))
                });
                match code {
                    Some(code) => {
                        out.push(unicode_to_byte(code));
                        i += 6;
                    }
                    None => {
                        out.extend_from_slice(input.get(i..i + 2).unwrap_or(&[]));
                        i += 2;
                    }
                }
            }
            b'%' => match hex2(input, i + 1) {
                Some(v) => {
                    out.push(v);
                    i += 3;
                }
                None => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Index of the first `%` or `+` in `input`, looking at eight bytes at a time, or with `memchr2` from
/// [`SIMD_SCAN`] bytes (most inputs have none, and this scan runs on every value a `URL_DECODE_UNI` rule inspects).
pub(crate) fn find_plus_or_percent(input: &[u8]) -> Option<usize> {
    if input.len() >= SIMD_SCAN {
        return memchr::memchr2(b'%', b'+', input);
    }
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Non-zero when some byte of `w` equals `b` (the classic "has zero byte" test on `w ^ b…b`).
    let has = |w: u64, b: u8| {
        let x = w ^ (LO * u64::from(b));
        x.wrapping_sub(LO) & !x & HI
    };
    let exact = |c: &[u8]| c.iter().position(|&b| b == b'%' || b == b'+');
    let mut chunks = input.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        if let Ok(a) = <[u8; 8]>::try_from(c) {
            let w = u64::from_le_bytes(a);
            if has(w, b'%') | has(w, b'+') != 0
                && let Some(p) = exact(c)
            {
                return Some(base + p);
            }
        }
        base += 8;
    }
    exact(chunks.remainder()).map(|p| base + p)
}

/// Whether `input` holds a `%` or `+`: [`find_plus_or_percent`] without the position, reading the last bytes of a
/// short input as one word overlapping the ones already read instead of one by one (most values are short, so the
/// tail is much of them).
pub(crate) fn has_plus_or_percent(input: &[u8]) -> bool {
    if input.len() >= SIMD_SCAN {
        return memchr::memchr2(b'%', b'+', input).is_some();
    }
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has = |w: u64, b: u8| {
        let x = w ^ (LO * u64::from(b));
        x.wrapping_sub(LO) & !x & HI
    };
    let hit = |c: &[u8]| {
        <[u8; 8]>::try_from(c).is_ok_and(|a| {
            let w = u64::from_le_bytes(a);
            has(w, b'%') | has(w, b'+') != 0
        })
    };
    if input.len() < 8 {
        return input.iter().any(|&b| b == b'%' || b == b'+');
    }
    let mut chunks = input.chunks_exact(8);
    if chunks.any(hit) {
        return true;
    }
    !chunks.remainder().is_empty() && hit(input.get(input.len() - 8..).unwrap_or_default())
}

/// One byte for a 16-bit code point (see [`url_decode_uni`]).
pub(crate) fn unicode_to_byte(code: u32) -> u8 {
    let low = (code & 0xff) as u8;
    if (0xff01..=0xff5e).contains(&code) {
        return low + 0x20;
    }
    if code < 0x80 {
        return low;
    }
    best_fit(code).unwrap_or(low)
}

/// Best-fit ASCII for common non-ASCII look-alikes: Latin-1 and Latin Extended-A letters lose their
/// diacritics, typographic punctuation becomes its ASCII counterpart; signs without an ASCII look-alike (`×`, `÷`,
/// `§`, ...) are not mapped.
fn best_fit(code: u32) -> Option<u8> {
    if let Some(c) = latin_extended_a(code) {
        return Some(c);
    }
    let c = match code {
        0x00a0 | 0x2000..=0x200a | 0x3000 => b' ',
        0x00a1 => b'!',
        0x00a9 | 0x00c7 => b'C',
        0x00a2 | 0x00e7 => b'c',
        0x00a4 => b'$',
        0x00a5 | 0x00dd => b'Y',
        0x00a6 => b'|',
        0x00aa => b'a',
        0x00ab | 0x2039 => b'<',
        0x00bb | 0x203a => b'>',
        0x00ad | 0x2010..=0x2015 | 0x2212 => b'-',
        0x00ae => b'R',
        0x00b2 => b'2',
        0x00b3 => b'3',
        0x00b9 => b'1',
        0x00b7 | 0x2024 | 0x3002 | 0xff61 => b'.',
        0x00b8 | 0x201a => b',',
        0x00ba => b'o',
        0x00c0..=0x00c6 => b'A',
        0x00c8..=0x00cb => b'E',
        0x00cc..=0x00cf => b'I',
        0x00d0 => b'D',
        0x00d1 => b'N',
        0x00d2..=0x00d6 | 0x00d8 => b'O',
        0x00d9..=0x00dc => b'U',
        0x00e0..=0x00e6 => b'a',
        0x00e8..=0x00eb => b'e',
        0x00ec..=0x00ef => b'i',
        0x00f1 => b'n',
        0x00f2..=0x00f6 | 0x00f8 => b'o',
        0x00f9..=0x00fc => b'u',
        0x00fd | 0x00ff => b'y',
        0x02c6 | 0x2038 => b'^',
        0x02dc | 0x223c => b'~',
        0x2018 | 0x2019 | 0x201b | 0x2032 => b'\'',
        0x201c | 0x201d | 0x201e | 0x2033 => b'"',
        0x2044 | 0x2215 => b'/',
        0x2216 => b'\\',
        _ => return None,
    };
    Some(c)
}

/// Latin Extended-A (U+0100–U+017F) letters without their diacritics.
fn latin_extended_a(code: u32) -> Option<u8> {
    // (first, last, base letter, whether the even code points are the upper-case ones)
    const RANGES: [(u32, u32, u8, bool); 21] = [
        (0x0100, 0x0105, b'a', true),
        (0x0106, 0x010d, b'c', true),
        (0x010e, 0x0111, b'd', true),
        (0x0112, 0x011b, b'e', true),
        (0x011c, 0x0123, b'g', true),
        (0x0124, 0x0127, b'h', true),
        (0x0128, 0x0131, b'i', true),
        (0x0134, 0x0135, b'j', true),
        (0x0136, 0x0137, b'k', true),
        (0x0139, 0x0142, b'l', false),
        (0x0143, 0x0148, b'n', false),
        (0x014a, 0x014b, b'n', true),
        (0x014c, 0x0151, b'o', true),
        (0x0152, 0x0153, b'o', true),
        (0x0154, 0x0159, b'r', true),
        (0x015a, 0x0161, b's', true),
        (0x0162, 0x0167, b't', true),
        (0x0168, 0x0173, b'u', true),
        (0x0174, 0x0175, b'w', true),
        (0x0176, 0x0177, b'y', true),
        (0x0179, 0x017e, b'z', false),
    ];
    match code {
        0x0138 => return Some(b'k'),
        0x0178 => return Some(b'Y'),
        _ => {}
    }
    RANGES
        .iter()
        .find(|(lo, hi, _, _)| (*lo..=*hi).contains(&code))
        .map(|&(_, _, base, even_upper)| {
            if code.is_multiple_of(2) == even_upper {
                base.to_ascii_uppercase()
            } else {
                base
            }
        })
}

/// `htmlEntityDecode` / `HTML_ENTITY_DECODE`: `&quot; &amp; &lt; &gt; &nbsp;` (case-insensitive), `&#DDD;` and
/// `&#xHH;`, each with the `;` optional; numeric values keep their low byte; unknown entities are kept.
pub(crate) fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'&') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'&'
            && let Some((byte, next)) = entity_at(input, i)
        {
            out.push(byte);
            i = if input.get(next) == Some(&b';') {
                next + 1
            } else {
                next
            };
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

/// Decodes the entity starting with `&` at `amp`: the byte and the index just after its last digit/letter.
fn entity_at(input: &[u8], amp: usize) -> Option<(u8, usize)> {
    let run = |from: usize, pred: fn(&u8) -> bool| -> usize {
        input
            .get(from..)
            .map_or(0, |s| s.iter().take_while(|b| pred(b)).count())
    };
    let j = amp + 1;
    if input.get(j) == Some(&b'#') {
        let (start, radix) = if matches!(input.get(j + 1), Some(b'x' | b'X')) {
            (j + 2, 16)
        } else {
            (j + 1, 10)
        };
        let n = if radix == 16 {
            run(start, u8::is_ascii_hexdigit)
        } else {
            run(start, u8::is_ascii_digit)
        };
        if n == 0 {
            return None;
        }
        let digits = input.get(start..start + n)?;
        return Some((strtol_low_byte(digits, radix), start + n));
    }
    let n = run(j, u8::is_ascii_alphanumeric);
    let name = input.get(j..j + n)?;
    let byte = if name.eq_ignore_ascii_case(b"quot") {
        b'"'
    } else if name.eq_ignore_ascii_case(b"amp") {
        b'&'
    } else if name.eq_ignore_ascii_case(b"lt") {
        b'<'
    } else if name.eq_ignore_ascii_case(b"gt") {
        b'>'
    } else if name.eq_ignore_ascii_case(b"nbsp") {
        0xa0
    } else {
        return None;
    };
    Some((byte, j + n))
}

/// `jsDecode` / `JS_DECODE` (and `JS_DECODE_EXT` with `ext`): `\uHHHH` (low byte, full-width ASCII adjusted),
/// `\xHH`, `\OOO` (at most one byte: a leading digit above 3 limits it to two digits), `\a \b \f \n \r \t \v`, and
/// `\C` → `C` for any other character. A trailing lone `\` is kept. With `ext`, ES6 `\u{H...}` (1–6 hex digits)
/// is decoded too, mapped to one byte like `\uHHHH`.
pub(crate) fn js_decode(input: &[u8], ext: bool) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let c1 = at(input, i + 1);
        if c1 == b'u' && (2..6).all(|k| is_hex(at(input, i + k))) && i + 5 < input.len() {
            let low = hex2(input, i + 4).unwrap_or(0);
            let full =
                matches!(at(input, i + 2), b'f' | b'F') && matches!(at(input, i + 3), b'f' | b'F');
            out.push(if full && low > 0 && low < 0x5f {
                low + 0x20
            } else {
                low
            });
            i += 6;
        } else if ext && c1 == b'u' && at(input, i + 2) == b'{' {
            let start = i + 3;
            let n = input.get(start..).map_or(0, |s| {
                s.iter()
                    .take(7)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count()
            });
            if (1..=6).contains(&n) && at(input, start + n) == b'}' {
                let code = input
                    .get(start..start + n)
                    .unwrap_or(&[])
                    .iter()
                    .fold(0u32, |acc, &d| {
                        acc << 4 | u32::from(hex_val(d).unwrap_or(0))
                    });
                out.push(js_code_point_byte(code));
                i = start + n + 1;
            } else {
                out.push(b'u');
                i += 2;
            }
        } else if c1 == b'x'
            && i + 3 < input.len()
            && is_hex(at(input, i + 2))
            && is_hex(at(input, i + 3))
        {
            out.push(hex2(input, i + 2).unwrap_or(0));
            i += 4;
        } else if i + 1 < input.len() && (b'0'..=b'7').contains(&c1) {
            let avail = input.get(i + 1..).unwrap_or(&[]);
            let mut n = avail
                .iter()
                .take(3)
                .take_while(|b| (b'0'..=b'7').contains(*b))
                .count();
            if n == 3 && c1 > b'3' {
                n = 2;
            }
            out.push(strtol_low_byte(avail.get(..n).unwrap_or(&[]), 8));
            i += 1 + n;
        } else if i + 1 < input.len() {
            out.push(match c1 {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// One byte for a JavaScript code point: full-width ASCII to ASCII, otherwise the low byte.
fn js_code_point_byte(code: u32) -> u8 {
    let low = (code & 0xff) as u8;
    if (0xff01..=0xff5e).contains(&code) {
        low + 0x20
    } else {
        low
    }
}

/// `cssDecode` / `CSS_DECODE` (CSS 2 escapes): `\` + 1–6 hex digits gives one byte (the last two digits; for a
/// 4-digit escape, and 5/6-digit ones padded with zeros, full-width ASCII U+FF01–U+FF5E maps to ASCII), and one
/// whitespace after a hex escape is swallowed; `\` + newline is removed; `\` + other character gives that
/// character; a trailing `\` is removed.
pub(crate) fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1; // the backslash itself is never output
        let Some(&next) = input.get(i) else { break };
        let digits = input.get(i..).unwrap_or(&[]);
        let j = digits
            .iter()
            .take(6)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if j > 0 {
            let d = digits.get(..j).unwrap_or(&[]);
            let byte = if j == 1 {
                hex_val(next).unwrap_or(0)
            } else {
                hex2(d, j - 2).unwrap_or(0)
            };
            let full_check = match j {
                4 => true,
                5 => at(d, 0) == b'0',
                6 => at(d, 0) == b'0' && at(d, 1) == b'0',
                _ => false,
            };
            let ff = j >= 4
                && matches!(at(d, j - 4), b'f' | b'F')
                && matches!(at(d, j - 3), b'f' | b'F');
            out.push(if full_check && ff && byte > 0 && byte < 0x5f {
                byte + 0x20
            } else {
                byte
            });
            let mut skip = j;
            if input.get(i + j).is_some_and(|&c| is_c_space(c)) {
                skip += 1;
            }
            i += skip;
        } else if next == b'\n' {
            i += 1;
        } else {
            out.push(next);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// `escapeSeqDecode` / `ESCAPE_SEQ_DECODE`: ANSI C escapes `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH`
/// (exactly two hex digits), `\O` … `\OOO` (octal, low byte kept). Any other `\C` (including an invalid `\x`)
/// becomes `C`; a trailing lone `\` is kept.
pub(crate) fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let Some(&c1) = input.get(i + 1).filter(|_| b == b'\\') else {
            out.push(b);
            i += 1;
            continue;
        };
        let simple = match c1 {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(c1),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            i += 2;
        } else if matches!(c1, b'x' | b'X')
            && let Some(v) = hex2(input, i + 2)
        {
            out.push(v);
            i += 4;
        } else if (b'0'..=b'7').contains(&c1) {
            let avail = input.get(i + 1..).unwrap_or(&[]);
            let n = avail
                .iter()
                .take(3)
                .take_while(|b| (b'0'..=b'7').contains(*b))
                .count();
            out.push(strtol_low_byte(avail.get(..n).unwrap_or(&[]), 8));
            i += 1 + n;
        } else {
            out.push(c1);
            i += 2;
        }
    }
    Cow::Owned(out)
}
