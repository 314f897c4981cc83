//! Encoders, digests, hex and base64.

use std::borrow::Cow;

use base64::Engine as _;
use sha1::Digest as _;

use crate::query::hex_val;

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut Vec<u8>, b: u8) {
    out.push(HEX_LOWER.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
    out.push(HEX_LOWER.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
}

/// `urlEncode`: space → `+`; ASCII letters, digits and `*` kept; everything else `%xx` (lowercase hex).
pub(crate) fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b == b'*';
    if input.iter().all(|&b| keep(b)) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 3);
    for &b in input {
        if keep(b) {
            out.push(b);
        } else if b == b' ' {
            out.push(b'+');
        } else {
            out.push(b'%');
            push_hex(&mut out, b);
        }
    }
    Cow::Owned(out)
}

/// `utf8toUnicode` / `UTF8_TO_UNICODE`: every well-formed 2–4 byte UTF-8 sequence becomes `%uXXXX` (lowercase
/// hex, at least four digits). As in ModSecurity 3: an overlong form or a surrogate is still converted but its lead
/// byte is appended after it; a lead byte whose continuation bytes are missing or invalid is dropped (the
/// following bytes are then processed on their own); stray continuation bytes and `F8`–`FF` are copied; a
/// four-byte lead above `F4` is copied before the sequence is converted. ASCII is copied.
pub(crate) fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_ascii() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut i = 0;
    let cont = |k: usize| input.get(k).is_some_and(|&b| b & 0xc0 == 0x80);
    let bits = |k: usize| u32::from(input.get(k).copied().unwrap_or(0) & 0x3f);
    while let Some(&c) = input.get(i) {
        let (len, min) = if c & 0x80 == 0 {
            out.push(c);
            i += 1;
            continue;
        } else if c & 0xe0 == 0xc0 {
            (2, 0x80)
        } else if c & 0xf0 == 0xe0 {
            (3, 0x800)
        } else if c & 0xf8 == 0xf0 {
            if c >= 0xf5 {
                out.push(c);
            }
            (4, 0x1_0000)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        if !(1..len).all(|k| cont(i + k)) {
            i += 1; // invalid or truncated: the lead byte is dropped
            continue;
        }
        let lead_bits = match len {
            2 => u32::from(c & 0x1f),
            3 => u32::from(c & 0x0f),
            _ => u32::from(c & 0x07),
        };
        let d = (1..len).fold(lead_bits, |acc, k| acc << 6 | bits(i + k));
        out.extend_from_slice(b"%u");
        let digits = format!("{d:04x}");
        out.extend_from_slice(digits.as_bytes());
        if (0xd800..=0xdfff).contains(&d) {
            out.push(c);
        }
        if d < min {
            out.push(c);
        }
        i += len;
    }
    Cow::Owned(out)
}

pub(crate) fn sha1(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(sha1::Sha1::digest(input).to_vec())
}

pub(crate) fn sha256(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(sha2::Sha256::digest(input).to_vec())
}

pub(crate) fn md5(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(md5::Md5::digest(input).to_vec())
}

/// `hexEncode`: every byte as two lowercase hex digits.
pub(crate) fn hex_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        push_hex(&mut out, b);
    }
    Cow::Owned(out)
}

/// ModSecurity's `x2c` on arbitrary bytes: each character is read as a hex digit without validation
/// (`c >= 'A'` → `(c & 0xdf) - 'A' + 10`, else `c - '0'`), with byte wrap-around.
fn x2c_lenient(hi: u8, lo: u8) -> u8 {
    let nib = |c: u8| {
        if c >= b'A' {
            (c & 0xdf).wrapping_sub(b'A').wrapping_add(10)
        } else {
            c.wrapping_sub(b'0')
        }
    };
    nib(hi).wrapping_mul(16).wrapping_add(nib(lo))
}

/// `hexDecode` / `HEX_DECODE`: pairs of characters become bytes; an odd trailing character is dropped. Like
/// ModSecurity, characters are not validated (non-hex pairs decode to arbitrary bytes).
pub(crate) fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(
        input
            .chunks_exact(2)
            .map(|p| match p {
                [h, l] => match (hex_val(*h), hex_val(*l)) {
                    (Some(h), Some(l)) => h << 4 | l,
                    _ => x2c_lenient(*h, *l),
                },
                _ => 0,
            })
            .collect(),
    )
}

/// `sqlHexDecode` / `SQL_HEX_DECODE`: every `0x` (or `0X`) followed by at least two hex digits is replaced by the
/// decoded bytes of its hex pairs (an odd last digit is kept as text); other text is copied.
pub(crate) fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let starts = |i: usize| {
        input.get(i) == Some(&b'0')
            && matches!(input.get(i + 1), Some(b'x' | b'X'))
            && input.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            && input.get(i + 3).is_some_and(u8::is_ascii_hexdigit)
    };
    if !(0..input.len()).any(starts) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if starts(i) {
            i += 2;
            while let (Some(h), Some(l)) = (
                input.get(i).copied().and_then(hex_val),
                input.get(i + 1).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 2;
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn b64_value(b: u8, url_safe: bool) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        b'-' if url_safe => Some(62),
        b'_' if url_safe => Some(63),
        _ => None,
    }
}

/// Packs 6-bit values into bytes, dropping the incomplete bits at the end.
fn pack_sextets(values: impl Iterator<Item = u8>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut nbits = 0u32;
    for v in values {
        acc = (acc << 6 | u32::from(v)) & 0xff_ffff;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push(((acc >> nbits) & 0xff) as u8);
        }
    }
    out
}

/// `base64Decode` / `BASE64_DECODE` (`ext = false`), strict like libmodsecurity 3 (which uses mbed TLS): line
/// breaks (LF, CRLF) are skipped and spaces may only precede a line break or the end; at most two `=` may end the
/// data; only complete groups of four characters are decoded (a trailing partial group is dropped). Any other
/// character outside the standard alphabet, a space inside a line, or data after `=` makes the result empty.
///
/// `base64DecodeExt` / `BASE64_DECODE_EXT` (`ext = true`), forgiving: characters outside the alphabet are
/// skipped (`-` and `_` count as `+` and `/`), `=` is skipped except that a lone `=` right after a single dangling
/// character of a group makes the result empty (as ModSecurity's forgiving decoder does); complete bytes are kept.
pub(crate) fn base64_decode(input: &[u8], ext: bool) -> Cow<'_, [u8]> {
    if ext {
        let mut values = Vec::with_capacity(input.len());
        for (i, &b) in input.iter().enumerate() {
            if b == b'=' {
                if input.get(i + 1) != Some(&b'=') && values.len() % 4 == 1 {
                    return Cow::Owned(Vec::new());
                }
                continue;
            }
            if let Some(v) = b64_value(b, true) {
                values.push(v);
            }
        }
        return Cow::Owned(pack_sextets(values.into_iter(), input.len()));
    }
    Cow::Owned(base64_strict(input).unwrap_or_default())
}

/// The strict decoder behind `base64Decode`; `None` for invalid input.
fn base64_strict(input: &[u8]) -> Option<Vec<u8>> {
    let mut values = Vec::with_capacity(input.len());
    let mut pads = 0usize;
    let mut i = 0;
    while i < input.len() {
        let spaces = input
            .get(i..)
            .map_or(0, |r| r.iter().take_while(|&&c| c == b' ').count());
        i += spaces;
        let Some(&c) = input.get(i) else { break };
        if c == b'\n' {
            i += 1;
            continue;
        }
        if c == b'\r' && input.get(i + 1) == Some(&b'\n') {
            i += 2;
            continue;
        }
        if spaces > 0 {
            return None;
        }
        if c == b'=' {
            pads += 1;
            if pads > 2 {
                return None;
            }
        } else {
            let v = b64_value(c, false)?;
            if pads > 0 {
                return None;
            }
            values.push(v);
        }
        i += 1;
    }
    let quads = (values.len() + pads) / 4;
    let mut out = Vec::with_capacity(quads * 3);
    for q in 0..quads {
        let mut x: u32 = 0;
        let mut real = 0;
        for k in 0..4 {
            let v = values.get(q * 4 + k).copied();
            real += usize::from(v.is_some());
            x = x << 6 | u32::from(v.unwrap_or(0));
        }
        let bytes = [(x >> 16) as u8, (x >> 8) as u8, x as u8];
        // A quad with padding yields one byte less per `=` (two `=` → one byte).
        let keep = match real {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(..keep).unwrap_or(&[]));
    }
    Some(out)
}

/// `base64Encode`: standard alphabet with padding.
pub(crate) fn base64_encode(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(
        base64::engine::general_purpose::STANDARD
            .encode(input)
            .into_bytes(),
    )
}
