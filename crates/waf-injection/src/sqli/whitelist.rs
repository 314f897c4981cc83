//! C libinjection's `libinjection_sqli_not_whitelist`: heuristics that clear some blacklisted
//! fingerprints of two or three tokens, re-implemented to fix two divergences in libinjectionrs 0.1.1:
//!
//! * the 3-token "keyword in the middle is safe unless it is `INTO OUTFILE`/`INTO DUMPFILE`" rule compares
//!   `INTO` case-insensitively, as C does (libinjectionrs compares case-sensitively, so lower-case
//!   `1 into outfile 'x'` was cleared);
//! * the `sp_password` rule searches the raw input bytes case-sensitively, as C's `memmem` does
//!   (libinjectionrs lower-cases the input and skips non-UTF-8 input).

use libinjectionrs::sqli::TokenType;

use super::fold::{Folded, value};

/// `true` when the blacklisted fingerprint `fp` of `folded` (from `input`) should be reported as SQLi.
pub(crate) fn not_whitelisted(input: &[u8], fp: &[u8], folded: &Folded) -> bool {
    let tlen = fp.len();
    let tok = |i: usize| folded.tokens.get(i);
    let kind = |i: usize| tok(i).map_or(TokenType::None, |t| t.token_type);
    let first_byte = |i: usize| tok(i).and_then(|t| t.val.first().copied()).unwrap_or(0);

    // A trailing comment mentioning sp_password hides the query from SQL Server's audit log.
    if tlen > 1 && fp.last() == Some(&b'c') && contains(input, b"sp_password") {
        return true;
    }

    match tlen {
        2 => {
            if fp.get(1) == Some(&b'U') {
                // `1 union` alone is common text; only folding or more tokens make it SQLi.
                return folded.stats_tokens != 2;
            }
            if first_byte(1) == b'#' {
                return false;
            }
            if kind(0) == TokenType::Bareword
                && kind(1) == TokenType::Comment
                && first_byte(1) != b'/'
            {
                return false;
            }
            if kind(0) == TokenType::Number && kind(1) == TokenType::Comment {
                if first_byte(1) == b'/' || folded.stats_tokens > 2 {
                    return true;
                }
                // C indexes the input at the number's *length*, not its end offset; kept for parity.
                // Past the end C reads the string's terminating NUL, which counts as whitespace.
                let at = tok(0).map_or(0, |t| t.len);
                let ch = input.get(at).copied().unwrap_or(0);
                let next = input.get(at + 1).copied().unwrap_or(0);
                // C compares a signed char: bytes >= 0x80 are negative, hence "whitespace".
                return ch <= 32
                    || ch >= 0x80
                    || (ch == b'/' && next == b'*')
                    || (ch == b'-' && next == b'-');
            }
            if tok(1).is_some_and(|t| t.len > 2) && first_byte(1) == b'-' {
                // `1-- foo` is prose; only a bare trailing `--` counts.
                return false;
            }
            true
        }
        3 => {
            if fp == b"sos" || fp == b"s&s" {
                // `...foo' + 'bar...` is SQLi only as a break-out of one string into another.
                let (Some(t0), Some(t2)) = (tok(0), tok(2)) else {
                    return false;
                };
                return t0.str_open == 0 && t2.str_close == 0 && t0.str_close == t2.str_open;
            }
            if matches!(fp, b"s&n" | b"n&1" | b"1&1" | b"1&v" | b"1&s") {
                // `sexy and 17` is prose; `sexy and 17<18` folds more tokens.
                return folded.stats_tokens != 3;
            }
            if kind(1) == TokenType::Keyword {
                let into = tok(1).is_some_and(|t| {
                    t.len >= 5
                        && value(t)
                            .get(..4)
                            .is_some_and(|v| v.eq_ignore_ascii_case(b"INTO"))
                });
                return into;
            }
            true
        }
        _ => true,
    }
}

/// Byte-substring search (C `memmem`).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqli::fold::eq_upper;

    #[test]
    fn contains_is_case_sensitive() {
        assert!(contains(b"x -- sp_password", b"sp_password"));
        assert!(!contains(b"x -- SP_PASSWORD", b"sp_password"));
    }

    #[test]
    fn eq_upper_ignores_case() {
        let mut t = libinjectionrs::sqli::Token::new();
        t.val[..2].copy_from_slice(b"iF");
        t.len = 2;
        assert!(eq_upper(&t, b"IF"));
    }
}
