//! The tokenizer's byte tables, built at compile time: the class of a token's first byte (C's
//! `char_parse_map`) and per-byte flags for the scanning loops (C's delimiter strings and `strchr` sets).

/// What the first byte of a token decides (C's `char_parse_map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Skipped: controls, space, DEL, NBSP.
    White,
    /// `!`: a two-character operator or `!`.
    Bang,
    /// `'` or `"`: a string.
    Quote,
    /// `#`: a comment (MySQL) or an operator.
    Hash,
    /// `$`: money, `$$` / `$tag$` strings, or a bareword.
    Money,
    /// A one-character operator (`%`, `+`, `^`, `~`).
    Op1,
    /// A possibly two-character operator (`&`, `*`, `:`, `<`, `=`, `>`, `|`).
    Op2,
    /// A one-character token whose type is the character (`(`, `)`, `,`, `;`, `{`, `}`).
    Char,
    /// `-`: a comment or an operator.
    Dash,
    /// A digit or `.`.
    Number,
    /// `/`: a comment or an operator.
    Slash,
    /// `@`: a variable.
    Variable,
    /// A word (letters, `_`, high bytes).
    Word,
    /// `b`/`B`: `B'0101'` or a word.
    BString,
    /// `e`/`E`: `E'..'` or a word.
    EString,
    /// `n`/`N`: `N'..'`, `NQ'..'` or a word.
    NqString,
    /// `q`/`Q`: Oracle `Q'[..]'` or a word.
    QString,
    /// `u`/`U`: `U&'..'` or a word.
    UString,
    /// `x`/`X`: `X'ff'` or a word.
    XString,
    /// `[`: an SQL Server bracketed word.
    BracketWord,
    /// `\`: `\N` or a backslash token.
    Backslash,
    /// `` ` ``: a MySQL quoted identifier.
    Tick,
    /// `?`, `]`: unknown.
    Other,
}

/// The dispatch table, built at compile time.
pub(super) const CLASSES: [Class; 256] = build_classes();

// Evaluated at compile time only: an out-of-range index would fail the build, not a request.
#[allow(clippy::indexing_slicing)]
const fn build_classes() -> [Class; 256] {
    let mut t = [Class::Word; 256];
    let mut b = 0;
    while b < 256 {
        // `b < 256`, so the cast is lossless.
        #[allow(clippy::cast_possible_truncation)]
        let ch = b as u8;
        t[b] = match ch {
            0..=32 | 127 | 0xA0 => Class::White,
            b'!' => Class::Bang,
            b'"' | b'\'' => Class::Quote,
            b'#' => Class::Hash,
            b'$' => Class::Money,
            b'%' | b'+' | b'^' | b'~' => Class::Op1,
            b'&' | b'*' | b':' | b'<' | b'=' | b'>' | b'|' => Class::Op2,
            b'(' | b')' | b',' | b';' | b'{' | b'}' => Class::Char,
            b'-' => Class::Dash,
            b'.' | b'0'..=b'9' => Class::Number,
            b'/' => Class::Slash,
            b'@' => Class::Variable,
            b'B' | b'b' => Class::BString,
            b'E' | b'e' => Class::EString,
            b'N' | b'n' => Class::NqString,
            b'Q' | b'q' => Class::QString,
            b'U' | b'u' => Class::UString,
            b'X' | b'x' => Class::XString,
            b'[' => Class::BracketWord,
            b'\\' => Class::Backslash,
            b'`' => Class::Tick,
            b'?' | b']' => Class::Other,
            _ => Class::Word,
        };
        b += 1;
    }
    t
}

// C libinjection scans runs with `strchr(set, byte)`, which also finds a set's terminating NUL. So NUL is in every
// set below that C scans that way: it ends a word or a variable name (`strlencspn`), and it continues a run of hex,
// binary or money digits or of `$tag$` letters (`strlenspn`). libinjectionrs, and so this tokenizer before, left NUL
// out of them; the differential test against C (`tests/c_libinjection.rs`) holds this.

/// Ends a word (C `parse_word`'s delimiter set).
pub(super) const WORD_END: u8 = 1;
/// Ends a variable name (C `parse_var`'s delimiter set, and NUL).
pub(super) const VAR_END: u8 = 1 << 1;
/// C `char_is_white`: space, `\t\n\v\f\r`, NBSP and NUL.
pub(super) const WHITE: u8 = 1 << 2;
/// `.` or `` ` ``: where a word may split after a keyword.
pub(super) const DOT_TICK: u8 = 1 << 3;
/// An ASCII hex digit, or NUL.
pub(super) const HEX: u8 = 1 << 4;
/// A digit, `.` or `,` (the body of `$1,000.00`), or NUL.
pub(super) const MONEY: u8 = 1 << 5;
/// An ASCII letter (a `$tag$` name), or NUL.
pub(super) const ALPHA: u8 = 1 << 6;
/// An ASCII digit.
pub(super) const DIGIT: u8 = 1 << 7;

/// Scanning flags per byte, built at compile time.
const FLAGS: [u8; 256] = build_flags();

// Evaluated at compile time only (see `build_classes`); a `u8` index is always below 256.
#[allow(clippy::indexing_slicing)]
const fn mark(t: &mut [u8; 256], set: &[u8], flag: u8) {
    let mut i = 0;
    while i < set.len() {
        t[set[i] as usize] |= flag;
        i += 1;
    }
}

const fn build_flags() -> [u8; 256] {
    let mut t = [0u8; 256];
    mark(
        &mut t,
        b" []{}<>:\\?=@!#~+-*/&|^%(),';\t\n\x0B\x0C\r\"\xA0\x00",
        WORD_END,
    );
    mark(
        &mut t,
        b" <>:\\?=@!#~+-*/&|^%(),;'\t\n\x0B\x0C\r`\"\x00",
        VAR_END,
    );
    mark(&mut t, b" \t\n\x0B\x0C\r\xA0\x00", WHITE);
    mark(&mut t, b".`", DOT_TICK);
    mark(&mut t, b"0123456789abcdefABCDEF\x00", HEX);
    mark(&mut t, b"0123456789.,\x00", MONEY);
    mark(
        &mut t,
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\x00",
        ALPHA,
    );
    mark(&mut t, b"0123456789", DIGIT);
    t
}

pub(super) fn class(b: u8) -> Class {
    CLASSES.get(usize::from(b)).copied().unwrap_or(Class::Other)
}

pub(super) fn has(b: u8, flag: u8) -> bool {
    FLAGS.get(usize::from(b)).is_some_and(|f| f & flag != 0)
}
