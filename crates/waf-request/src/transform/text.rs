//! Case, whitespace, NUL, comment, command-line, path, trim and parity transformations.
//!
//! Each function returns `Cow::Borrowed` when it finds nothing to change (checked up front), so clean input costs
//! one scan and no allocation.

use std::borrow::Cow;

/// Which command-line normalisation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmdLineMode {
    /// ModSecurity `cmdLine` / AWS `CMD_LINE`.
    ModSecurity,
    /// AWS `CMD_LINE_WIN`.
    Windows,
    /// AWS `CMD_LINE_UNIX`.
    Unix,
}

/// Which 7-bit parity to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parity {
    /// Even parity in bit 8.
    Even,
    /// Odd parity in bit 8.
    Odd,
    /// Bit 8 cleared.
    Zero,
}

/// C `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Non-breaking space in Latin-1, treated as whitespace by ModSecurity and AWS.
const NBSP: u8 = 0xa0;

/// Maps every byte through `f` if any byte changes.
fn map_bytes(input: &[u8], f: impl Fn(u8) -> u8) -> Cow<'_, [u8]> {
    if input.iter().all(|&b| f(b) == b) {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(input.iter().map(|&b| f(b)).collect())
    }
}

/// Removes every byte for which `drop` is true.
fn filter_bytes(input: &[u8], drop: impl Fn(u8) -> bool) -> Cow<'_, [u8]> {
    if input.iter().any(|&b| drop(b)) {
        Cow::Owned(input.iter().copied().filter(|&b| !drop(b)).collect())
    } else {
        Cow::Borrowed(input)
    }
}

pub(crate) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if !has_ascii_upper(input) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.to_ascii_lowercase())
}

/// Whether `input` holds an ASCII upper-case letter, eight bytes at a time (`LOWERCASE` runs on most values a
/// rule group inspects, and most of them are lower case already).
pub(crate) fn has_ascii_upper(input: &[u8]) -> bool {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = input.chunks_exact(8);
    for c in &mut chunks {
        if let Ok(a) = <[u8; 8]>::try_from(c) {
            let w = u64::from_le_bytes(a);
            // Per byte (high bit cleared first, so no carry crosses bytes): the high bit of `w7 + (0x80 - 'A')`
            // is set iff the byte is >= 'A', that of `w7 + (0x80 - 'Z' - 1)` iff it is > 'Z'; bytes >= 0x80
            // (high bit set in `w`) are not letters.
            let w7 = w & LO7;
            let ge_a = w7 + 0x3f3f_3f3f_3f3f_3f3f;
            let gt_z = w7 + 0x2525_2525_2525_2525;
            if ge_a & !gt_z & !w & HI != 0 {
                return true;
            }
        }
    }
    chunks.remainder().iter().any(u8::is_ascii_uppercase)
}

/// Inputs at least this long are searched for a byte or two with `memchr` or `memchr2` (32 bytes a step where the
/// CPU has AVX2); shorter ones eight bytes at a time, which costs less to start. Shared by the decodings' scans.
pub(crate) const SIMD_SCAN: usize = 32;

/// Whether `input` contains `byte`, looking at eight bytes at a time, or with `memchr` from 32 bytes on.
/// Most values transformations skip are short (header names and values, cookies), where the standard `contains`
/// goes byte by byte.
pub fn has_byte(input: &[u8], byte: u8) -> bool {
    if input.len() >= SIMD_SCAN {
        return memchr::memchr(byte, input).is_some();
    }
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    // Some byte of `w` equals `byte` iff some byte of `w ^ pattern` is zero (the classic zero-byte test, exact as
    // a yes/no answer).
    let hit = |c: &[u8]| {
        <[u8; 8]>::try_from(c).is_ok_and(|a| {
            let x = u64::from_le_bytes(a) ^ pattern;
            x.wrapping_sub(LO) & !x & HI != 0
        })
    };
    if input.len() < 8 {
        return input.contains(&byte);
    }
    let mut chunks = input.chunks_exact(8);
    if chunks.any(hit) {
        return true;
    }
    // The last eight bytes, overlapping the chunks already seen.
    !chunks.remainder().is_empty() && hit(input.get(input.len() - 8..).unwrap_or_default())
}

pub(crate) fn uppercase(input: &[u8]) -> Cow<'_, [u8]> {
    map_bytes(input, |b| b.to_ascii_uppercase())
}

pub(crate) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    filter_bytes(input, |b| b == 0)
}

pub(crate) fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    map_bytes(input, |b| if b == 0 { b' ' } else { b })
}

pub(crate) fn remove_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    filter_bytes(input, |b| is_c_space(b) || b == NBSP)
}

/// Every run of whitespace (C `isspace` or NBSP) becomes one space.
pub(crate) fn compress_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    let is_ws = |b: u8| is_c_space(b) || b == NBSP;
    let needs = input
        .windows(2)
        .any(|w| matches!(w, [a, b] if is_ws(*a) && is_ws(*b)))
        || input.iter().any(|&b| is_ws(b) && b != b' ');
    if !needs {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_ws = false;
    for &b in input {
        if is_ws(b) {
            if !in_ws {
                out.push(b' ');
            }
            in_ws = true;
        } else {
            out.push(b);
            in_ws = false;
        }
    }
    Cow::Owned(out)
}

/// Command-line normalisation.
///
/// `cmdLine` (ModSecurity 3, AWS `CMD_LINE`): delete `\ " ' ^`; a run of space, `,`, `;`, tab, CR, LF becomes one
/// space; a space directly before `/` or `(` is deleted; everything else is ASCII-lowercased.
///
/// `CMD_LINE_WIN` (AWS only, semantics inferred): as above, but `\` is kept (it is the Windows path separator) and
/// `=` also counts as a separator (cmd.exe treats `, ; =` as argument delimiters).
///
/// `CMD_LINE_UNIX` (AWS only, semantics inferred): delete `\ " '` (shell quoting and escaping), keep `^`, `,` and
/// `;`; whitespace runs become one space; spaces before `/` and `(` are deleted; lowercase.
pub(crate) fn cmd_line(input: &[u8], mode: CmdLineMode) -> Cow<'_, [u8]> {
    if cmd_line_is_noop(input, mode) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(cmd_line_owned(input, mode))
}

/// True when [`cmd_line`] cannot change `input`: no byte to delete, lowercase or turn into a space, no run of two
/// separators, and no space before `/` or `(`.
fn cmd_line_is_noop(input: &[u8], mode: CmdLineMode) -> bool {
    input.iter().all(|&b| {
        !b.is_ascii_uppercase()
            && !matches!(b, b'"' | b'\'' | b'\t' | b'\r' | b'\n')
            && match mode {
                CmdLineMode::ModSecurity => !matches!(b, b'\\' | b'^' | b',' | b';'),
                CmdLineMode::Windows => !matches!(b, b'^' | b',' | b';' | b'='),
                CmdLineMode::Unix => b != b'\\',
            }
    }) && !input
        .windows(2)
        .any(|w| matches!(w, [b' ', b' ' | b'/' | b'(']))
}

fn cmd_line_owned(input: &[u8], mode: CmdLineMode) -> Vec<u8> {
    let deleted = |b: u8| match mode {
        CmdLineMode::ModSecurity => matches!(b, b'"' | b'\'' | b'\\' | b'^'),
        CmdLineMode::Windows => matches!(b, b'"' | b'\'' | b'^'),
        CmdLineMode::Unix => matches!(b, b'"' | b'\'' | b'\\'),
    };
    let separator = |b: u8| match mode {
        CmdLineMode::ModSecurity => matches!(b, b' ' | b',' | b';' | b'\t' | b'\r' | b'\n'),
        CmdLineMode::Windows => matches!(b, b' ' | b',' | b';' | b'=' | b'\t' | b'\r' | b'\n'),
        CmdLineMode::Unix => matches!(b, b' ' | b'\t' | b'\r' | b'\n'),
    };
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    for &b in input {
        if deleted(b) {
            continue;
        }
        if separator(b) {
            if !space {
                out.push(b' ');
                space = true;
            }
            continue;
        }
        if matches!(b, b'/' | b'(') && space {
            out.pop();
        }
        space = false;
        out.push(b.to_ascii_lowercase());
    }
    out
}

/// Path normalisation: collapses `//`, removes `.` segments and resolves `..` against the previous segment.
///
/// An absolute path never goes above its root (`/../a` → `/a`); a relative path keeps the `..` segments it
/// cannot resolve (`../../a` stays). A trailing slash is kept only if the input had one. With `win`, every `\` is
/// first turned into `/`.
pub(crate) fn normalize_path(input: &[u8], win: bool) -> Cow<'_, [u8]> {
    if path_is_normal(input, win) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(normalize_path_owned(input, win))
}

fn normalize_path_owned(input: &[u8], win: bool) -> Vec<u8> {
    let converted: Cow<'_, [u8]> = if win && input.contains(&b'\\') {
        Cow::Owned(
            input
                .iter()
                .map(|&b| if b == b'\\' { b'/' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(input)
    };
    let path: &[u8] = &converted;
    let absolute = path.first() == Some(&b'/');
    let trailing = path.last() == Some(&b'/');
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in path.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => match segs.last() {
                Some(&last) if last != b".." => {
                    segs.pop();
                }
                _ if absolute => {}
                _ => segs.push(seg),
            },
            _ => segs.push(seg),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if absolute {
        out.push(b'/');
    }
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    out
}

/// True when [`normalize_path`] cannot change `input`: no `\\` (in Windows mode), no `.` or `..` segment, and no
/// empty segment except for the leading root and after a trailing slash.
fn path_is_normal(input: &[u8], win: bool) -> bool {
    if input.is_empty() {
        return true;
    }
    if win && input.contains(&b'\\') {
        return false;
    }
    let last = input.split(|&b| b == b'/').count().saturating_sub(1);
    input
        .split(|&b| b == b'/')
        .enumerate()
        .all(|(i, seg)| match seg {
            b"." | b".." => false,
            b"" => i == 0 || i == last,
            _ => true,
        })
}

/// Each C comment `/* ... */` becomes one space; an unterminated comment is replaced by one space too; a lone
/// `*/` is left alone.
pub(crate) fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.windows(2).any(|w| w == b"/*") {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut in_comment = false;
    while i < input.len() {
        let rest = input.get(i..).unwrap_or(&[]);
        if !in_comment && rest.starts_with(b"/*") {
            in_comment = true;
            i += 2;
        } else if in_comment && rest.starts_with(b"*/") {
            in_comment = false;
            out.push(b' ');
            i += 2;
        } else {
            if !in_comment && let Some(&b) = rest.first() {
                out.push(b);
            }
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    Cow::Owned(out)
}

/// ModSecurity `removeComments`: removes `/* ... */` and `<!-- ... -->` (an unterminated one becomes one space),
/// and cuts the input at the first `--` or `#` outside such a comment.
pub(crate) fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    if !has_comment_marker(input) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut in_comment = false;
    while let Some(rest) = input.get(i..).filter(|r| !r.is_empty()) {
        if !in_comment {
            if rest.starts_with(b"/*") {
                in_comment = true;
                i += 2;
            } else if rest.starts_with(b"<!--") {
                in_comment = true;
                i += 4;
            } else if rest.starts_with(b"--") || rest.starts_with(b"#") {
                break;
            } else {
                out.extend_from_slice(rest.get(..1).unwrap_or(&[]));
                i += 1;
            }
        } else if rest.starts_with(b"*/") {
            in_comment = false;
            i += 2;
        } else if rest.starts_with(b"-->") {
            in_comment = false;
            i += 3;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    Cow::Owned(out)
}

/// Removes the comment markers `/*`, `*/`, `<!--`, `-->`, `--` and `#` (the text between them stays).
pub(crate) fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    if !has_comment_marker(input) {
        return Cow::Borrowed(input);
    }
    const MARKERS: [&[u8]; 6] = [b"/*", b"*/", b"<!--", b"-->", b"--", b"#"];
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(rest) = input.get(i..).filter(|r| !r.is_empty()) {
        if let Some(m) = MARKERS.iter().find(|m| rest.starts_with(m)) {
            i += m.len();
        } else {
            out.extend_from_slice(rest.get(..1).unwrap_or(&[]));
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// True when `input` contains `/*`, `*/`, `--` or `#` (every comment marker contains one of these).
fn has_comment_marker(input: &[u8]) -> bool {
    input.contains(&b'#') || input.windows(2).any(|w| matches!(w, b"/*" | b"*/" | b"--"))
}

/// Trims C-`isspace` whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`) from the chosen ends.
pub(crate) fn trim(input: &[u8], left: bool, right: bool) -> Cow<'_, [u8]> {
    let ws = |b: &u8| is_c_space(*b);
    let mut s = input;
    if left {
        let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
        s = s.get(start..).unwrap_or(&[]);
    }
    if right {
        let end = s.iter().rposition(|b| !ws(b)).map_or(0, |p| p + 1);
        s = s.get(..end).unwrap_or(&[]);
    }
    Cow::Borrowed(s)
}

/// Sets or clears the 8th bit of every byte according to the parity of its low 7 bits.
pub(crate) fn parity(input: &[u8], p: Parity) -> Cow<'_, [u8]> {
    map_bytes(input, |b| {
        let low = b & 0x7f;
        let odd_ones = low.count_ones() % 2 == 1;
        match p {
            Parity::Zero => low,
            Parity::Even => {
                if odd_ones {
                    low | 0x80
                } else {
                    low
                }
            }
            Parity::Odd => {
                if odd_ones {
                    low
                } else {
                    low | 0x80
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn path_fast_path_cases() {
        for p in [
            &b"/"[..],
            b"/a",
            b"/a/b/",
            b"a",
            b"a/b",
            b"a/",
            b"/a.b/c..d/.e",
        ] {
            assert!(path_is_normal(p, false), "{:?}", String::from_utf8_lossy(p));
            assert_eq!(
                normalize_path_owned(p, false),
                p,
                "{:?}",
                String::from_utf8_lossy(p)
            );
        }
        for p in [
            &b"//"[..],
            b"/a//b",
            b".",
            b"..",
            b"./a",
            b"a/.",
            b"/../a",
            b"a/..",
            b"//a",
            b"a//",
        ] {
            assert!(
                !path_is_normal(p, false),
                "{:?}",
                String::from_utf8_lossy(p)
            );
        }
        assert!(!path_is_normal(br"a\b", true));
        assert!(path_is_normal(br"a\b", false));
    }

    proptest! {
        #[test]
        fn cmd_line_fast_path_agrees(input in "[a-zA-Z /(,;\\\\^'\"=\t]{0,16}") {
            for mode in [CmdLineMode::ModSecurity, CmdLineMode::Windows, CmdLineMode::Unix] {
                if cmd_line_is_noop(input.as_bytes(), mode) {
                    prop_assert_eq!(cmd_line_owned(input.as_bytes(), mode), input.as_bytes());
                }
            }
        }

        #[test]
        fn path_fast_path_agrees(input in "[a./\\\\]{0,12}") {
            for win in [false, true] {
                if path_is_normal(input.as_bytes(), win) {
                    prop_assert_eq!(normalize_path_owned(input.as_bytes(), win), input.as_bytes(), "{}", input);
                }
            }
        }

        #[test]
        fn byte_scan_agrees(input in proptest::collection::vec(any::<u8>(), 0..40), k in 0usize..40, b in any::<u8>()) {
            prop_assert_eq!(has_byte(&input, b), input.contains(&b));
            // And with the byte (or a neighbour) placed anywhere, the tail included.
            let mut v = input.clone();
            for c in [b.wrapping_add(1), b.wrapping_sub(1), b] {
                v.insert(k.min(v.len()), c);
                prop_assert_eq!(has_byte(&v, b), v.contains(&b));
            }
        }

        #[test]
        fn upper_case_scan_agrees(input in proptest::collection::vec(any::<u8>(), 0..40), k in 0usize..40) {
            prop_assert_eq!(has_ascii_upper(&input), input.iter().any(u8::is_ascii_uppercase));
            // And with an upper-case letter (or its neighbours '@' and '[') placed anywhere.
            let mut v = input.clone();
            for c in [b'@', b'A', b'Z', b'[', 0xc1, 0xda] {
                v.insert(k.min(v.len()), c);
                prop_assert_eq!(has_ascii_upper(&v), v.iter().any(u8::is_ascii_uppercase));
            }
            let lower = lowercase(&input);
            prop_assert_eq!(&*lower, &input.to_ascii_lowercase()[..]);
            prop_assert_eq!(matches!(lower, Cow::Borrowed(_)), input == input.to_ascii_lowercase());
        }

        #[test]
        fn comment_fast_path_agrees(input in "[a/*#<!>-]{0,12}") {
            if !has_comment_marker(input.as_bytes()) {
                prop_assert!(input.find("<!--").is_none() && input.find("-->").is_none());
            }
        }
    }
}
