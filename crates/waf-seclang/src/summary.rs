//! Byte summaries of values, so transformation chains skip the steps that cannot change a value.
//!
//! Every transformation of `portcullis_waf_request::transform` first scans its input for something to change
//! (`urlDecodeUni` for `%` or `+`, `htmlEntityDecode` for `&`, …) and returns it borrowed when there is nothing.
//! CRS runs about 16 distinct chains over each request value, so a clean value is scanned once per step of every
//! chain. A [`summarize`] pass records, in one bit mask, which kinds of bytes (and a few byte pairs) the value
//! holds; [`is_noop`] then decides from the mask alone, for the common transformations, that a step leaves the value
//! unchanged. It only ever answers "unchanged" when the transformation's own check would: anything it cannot decide
//! goes through [`apply`], so [`apply_chain`] gives exactly `portcullis_waf_request::transform::apply_chain`'s
//! result.

use std::borrow::Cow;

use portcullis_waf_request::transform::{Transform, apply};

/// `A`–`Z`.
const UPPER: u32 = 1;
/// `%`.
const PCT: u32 = 1 << 1;
/// `+`.
const PLUS: u32 = 1 << 2;
/// `&`.
const AMP: u32 = 1 << 3;
/// A byte ≥ 0x80.
const HIGH: u32 = 1 << 4;
/// NUL.
const NUL: u32 = 1 << 5;
/// `\`.
const BSLASH: u32 = 1 << 6;
/// `"`, `'`, `^` (deleted by `cmdLine`).
const CMD_DEL: u32 = 1 << 7;
/// `,`, `;` (separators of `cmdLine`).
const CMD_SEP: u32 = 1 << 8;
/// Tab, LF, VT, FF, CR.
const CTRL_WS: u32 = 1 << 9;
/// `/`.
const SLASH: u32 = 1 << 10;
/// Space.
const SPACE: u32 = 1 << 11;
/// 0xA0 (Latin-1 non-breaking space, whitespace for `compressWhitespace`).
const NBSP: u32 = 1 << 12;
/// Pair: two whitespace bytes in a row.
const WS_WS: u32 = 1 << 13;
/// Pair: a space followed by a space, `/` or `(` (rewritten by `cmdLine`).
const SP_X: u32 = 1 << 14;
/// Pair: `/*`.
const SLASH_STAR: u32 = 1 << 15;

/// Per byte: its class bits, the pair bits it completes after a byte that opened them, the pair bits it opens.
#[derive(Clone, Copy)]
struct Entry {
    class: u32,
    pair: u32,
    next: u32,
}

const fn entry(b: u8) -> Entry {
    let ws = matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0);
    let class = match b {
        b'A'..=b'Z' => UPPER,
        b'%' => PCT,
        b'+' => PLUS,
        b'&' => AMP,
        0 => NUL,
        b'\\' => BSLASH,
        b'"' | b'\'' | b'^' => CMD_DEL,
        b',' | b';' => CMD_SEP,
        b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => CTRL_WS,
        b'/' => SLASH,
        b' ' => SPACE,
        0xa0 => NBSP | HIGH,
        0x80..=0xff => HIGH,
        _ => 0,
    };
    let mut pair = 0;
    if ws {
        pair |= WS_WS;
    }
    if matches!(b, b' ' | b'/' | b'(') {
        pair |= SP_X;
    }
    if b == b'*' {
        pair |= SLASH_STAR;
    }
    let mut next = 0;
    if ws {
        next |= WS_WS;
    }
    if b == b' ' {
        next |= SP_X;
    }
    if b == b'/' {
        next |= SLASH_STAR;
    }
    Entry { class, pair, next }
}

// Evaluated at compile time: an out-of-range index would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const TABLE: [Entry; 256] = {
    let mut t = [Entry {
        class: 0,
        pair: 0,
        next: 0,
    }; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = entry(i as u8);
        i += 1;
    }
    t
};

/// The byte summary of `input`.
pub(crate) fn summarize(input: &[u8]) -> u32 {
    let mut mask = 0;
    let mut prev = 0;
    for &b in input {
        if let Some(e) = TABLE.get(usize::from(b)) {
            mask |= e.class | (prev & e.pair);
            prev = e.next;
        }
    }
    mask
}

/// True when `t` certainly leaves `input` (whose summary is `mask`) unchanged; false when it may change it.
pub(crate) fn is_noop(t: Transform, mask: u32, input: &[u8]) -> bool {
    let dots = || input == b"." || input == b"..";
    match t {
        Transform::None => true,
        Transform::Lowercase => mask & UPPER == 0,
        Transform::UrlDecode | Transform::UrlDecodeUni => mask & (PCT | PLUS) == 0,
        Transform::HtmlEntityDecode => mask & AMP == 0,
        Transform::Utf8ToUnicode => mask & HIGH == 0,
        Transform::RemoveNulls | Transform::ReplaceNulls => mask & NUL == 0,
        Transform::JsDecode
        | Transform::JsDecodeExt
        | Transform::CssDecode
        | Transform::EscapeSeqDecode => mask & BSLASH == 0,
        Transform::CmdLine => mask & (UPPER | CMD_DEL | CMD_SEP | CTRL_WS | BSLASH | SP_X) == 0,
        Transform::CompressWhitespace => mask & (WS_WS | CTRL_WS | NBSP) == 0,
        Transform::RemoveWhitespace => mask & (SPACE | CTRL_WS | NBSP) == 0,
        Transform::NormalizePath => mask & SLASH == 0 && !dots(),
        Transform::NormalizePathWin => mask & (SLASH | BSLASH) == 0 && !dots(),
        Transform::ReplaceComments => mask & SLASH_STAR == 0,
        _ => false,
    }
}

/// The bits besides `UPPER` that `cmdLine` acts on: without them it only lowercases.
const CMD_LINE_NOT_CASE: u32 = CMD_DEL | CMD_SEP | CTRL_WS | BSLASH | SP_X;

/// What `t` amounts to on `input` (summary `mask`): `None` when it certainly leaves the value unchanged;
/// `Some(Transform::Lowercase)` for a `cmdLine` that can only lowercase (no byte to delete, no separator but single
/// spaces not followed by `/` or `(`); otherwise `Some(t)`.
pub(crate) fn effective(t: Transform, mask: u32, input: &[u8]) -> Option<Transform> {
    if is_noop(t, mask, input) {
        return None;
    }
    if t == Transform::CmdLine && mask & CMD_LINE_NOT_CASE == 0 {
        return Some(Transform::Lowercase);
    }
    Some(t)
}

/// The summary of `t`'s output `out`, given the summary `mask` of its input.
pub(crate) fn after(t: Transform, mask: u32, out: &[u8]) -> u32 {
    match t {
        // Only letters change, and no pair involves a letter.
        Transform::Lowercase => mask & !UPPER,
        _ => summarize(out),
    }
}

/// A transformation chain's result on one value.
#[derive(Debug)]
pub(crate) struct Applied<'a> {
    /// The result (borrowed when no step changed anything).
    pub value: Cow<'a, [u8]>,
    /// Its byte summary.
    pub mask: u32,
    /// True when the result equals the input up to ASCII case (every step that changed it only lowercased).
    pub folded: bool,
}

/// `chain` applied to `input`, whose summary is `mask`. The value equals
/// `portcullis_waf_request::transform::apply_chain(chain, input)`.
pub(crate) fn apply_chain<'a>(chain: &[Transform], input: &'a [u8], mut mask: u32) -> Applied<'a> {
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
    let mut folded = true;
    for &t in chain {
        let Some(t) = effective(t, mask, &cur) else {
            continue;
        };
        let next = match apply(t, &cur) {
            Cow::Borrowed(_) => None,
            Cow::Owned(o) => Some(o),
        };
        if let Some(o) = next {
            mask = after(t, mask, &o);
            folded &= t == Transform::Lowercase;
            cur = Cow::Owned(o);
        }
    }
    Applied {
        value: cur,
        mask,
        folded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn summary_bits() {
        assert_eq!(summarize(b"abc"), 0);
        assert_eq!(summarize(b"aBc"), UPPER);
        assert_eq!(summarize(b"a%2b+"), PCT | PLUS);
        assert_eq!(summarize(b"a b"), SPACE);
        assert_eq!(summarize(b"a  b"), SPACE | WS_WS | SP_X);
        assert_eq!(summarize(b"a /b"), SPACE | SLASH | SP_X);
        assert_eq!(summarize(b"a (b"), SPACE | SP_X);
        assert_eq!(summarize(b"/*"), SLASH | SLASH_STAR);
        assert_eq!(summarize(b"*/"), SLASH);
        assert_eq!(summarize(b"\t\xa0"), CTRL_WS | NBSP | HIGH | WS_WS);
    }

    #[test]
    fn decisions_on_clean_text() {
        let text = b"kettles clouds a sing winter, libraries.";
        let m = summarize(text);
        assert!(is_noop(Transform::UrlDecodeUni, m, text));
        assert!(is_noop(Transform::HtmlEntityDecode, m, text));
        assert!(is_noop(Transform::CompressWhitespace, m, text));
        assert!(is_noop(Transform::NormalizePath, m, text));
        assert!(!is_noop(Transform::CmdLine, m, text)); // the comma
        assert!(!is_noop(Transform::RemoveWhitespace, m, text));
        assert!(!is_noop(Transform::NormalizePath, 0, b".."));
        assert!(!is_noop(Transform::Trim, 0, b"x"));
        // cmdLine with nothing to delete or separate only lowercases; with the comma it does more.
        let text = b"Kettles clouds a sing winter libraries.";
        let m = summarize(text);
        assert_eq!(
            effective(Transform::CmdLine, m, text),
            Some(Transform::Lowercase)
        );
        assert_eq!(effective(Transform::UrlDecodeUni, m, text), None);
        let text = b"Kettles, clouds";
        let m = summarize(text);
        assert_eq!(
            effective(Transform::CmdLine, m, text),
            Some(Transform::CmdLine)
        );
        let a = apply_chain(
            &[Transform::UrlDecodeUni, Transform::CmdLine],
            b"Ab c",
            summarize(b"Ab c"),
        );
        assert_eq!((&*a.value, a.folded), (&b"ab c"[..], true));
        let a = apply_chain(&[Transform::RemoveWhitespace], b"ab c", summarize(b"ab c"));
        assert_eq!((&*a.value, a.folded), (&b"abc"[..], false));
    }

    proptest! {
        /// Whenever `is_noop` says "unchanged", the transformation agrees.
        #[test]
        fn noop_is_never_wrong(input in proptest::collection::vec(
            prop::sample::select(b"aZ0 %+&\\\"'^,;\t\n\r\x0b\x0c/.*()<>-#=u\x00\xa0\xc3\xa9".to_vec()), 0..12)) {
            let m = summarize(&input);
            for t in Transform::all() {
                if is_noop(t, m, &input) {
                    prop_assert!(matches!(apply(t, &input), Cow::Borrowed(_)), "{t:?} on {input:?}");
                }
                // A step `effective` replaces gives the replacement's result.
                if let Some(e) = effective(t, m, &input) && e != t {
                    prop_assert_eq!(&*apply(t, &input), &*apply(e, &input), "{:?} on {:?}", t, input);
                }
            }
        }

        /// The skipping chain gives the library chain's result, and the right summary.
        #[test]
        fn chain_agrees(
            input in proptest::collection::vec(
                prop::sample::select(b"aZ0 %+&\\\"'^,;\t/.*(u\x00\xa0\xc3".to_vec()), 0..16),
            chain in proptest::collection::vec(prop::sample::select(vec![
                Transform::Lowercase, Transform::UrlDecodeUni, Transform::HtmlEntityDecode,
                Transform::CmdLine, Transform::CompressWhitespace, Transform::NormalizePath,
                Transform::NormalizePathWin, Transform::Utf8ToUnicode, Transform::RemoveNulls,
                Transform::JsDecode, Transform::CssDecode, Transform::ReplaceComments, Transform::Trim,
            ]), 0..5),
        ) {
            let want = portcullis_waf_request::transform::apply_chain(&chain, &input);
            let got = apply_chain(&chain, &input, summarize(&input));
            prop_assert_eq!(&*got.value, &*want);
            prop_assert_eq!(matches!(got.value, Cow::Borrowed(_)), matches!(want, Cow::Borrowed(_)));
            prop_assert_eq!(got.mask, summarize(&got.value));
            if got.folded {
                prop_assert!(got.value.eq_ignore_ascii_case(&input));
            }
        }
    }
}
