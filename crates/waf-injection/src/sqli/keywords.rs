//! Keyword look-ups against libinjectionrs's keyword table, through its public `SQL_KEYWORDS` slice.
//!
//! libinjectionrs's own `lookup_word` answers `Bareword` both for "not in the table" and for entries whose
//! type *is* bareword (`n`), such as `LOCK IN`, `LOCK IN SHARE`, `IN BOOLEAN`, `AT TIME`, `CREATE OR`,
//! `NEXT VALUE`. C libinjection's word merging needs that distinction: it merges two words whenever the
//! pair is in the table at all, which is how three-word keywords (`LOCK IN SHARE MODE`) are built one word
//! at a time. This module therefore returns the raw type character, or `None` when absent. The table data
//! stays in libinjectionrs; nothing is copied here.

use libinjectionrs::sqli::TokenType;
use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;

/// Longest byte string the merge step may look up (C's 32-byte token buffer minus its terminator).
const MAX_WORD: usize = 31;

/// The type character stored for `word` (compared case-insensitively, ASCII), or `None` if absent.
pub(crate) fn lookup(word: &[u8]) -> Option<u8> {
    if word.len() > MAX_WORD {
        return None;
    }
    let mut upper = [0u8; MAX_WORD];
    let upper = upper.get_mut(..word.len())?;
    for (dst, src) in upper.iter_mut().zip(word) {
        *dst = src.to_ascii_uppercase();
    }
    let upper: &[u8] = upper;
    SQL_KEYWORDS
        .binary_search_by(|k| k.word.as_bytes().cmp(upper))
        .ok()
        .and_then(|i| SQL_KEYWORDS.get(i))
        .map(|k| k.token_type)
}

/// Maps a table type character to libinjectionrs's token type (unknown characters become `Bareword`,
/// as libinjectionrs does).
pub(crate) fn token_type(ch: u8) -> TokenType {
    match ch {
        b'k' => TokenType::Keyword,
        b'f' => TokenType::Function,
        b'U' => TokenType::Union,
        b'E' => TokenType::Expression,
        b'T' => TokenType::Tsql,
        b't' => TokenType::SqlType,
        b'o' => TokenType::Operator,
        b'&' => TokenType::LogicOperator,
        b'v' => TokenType::Variable,
        b'1' => TokenType::Number,
        b'A' => TokenType::Collate,
        b'B' => TokenType::Group,
        b'F' => TokenType::Fingerprint,
        _ => TokenType::Bareword,
    }
}

/// Whether `fingerprint` is in the blacklist: stored in the keyword table as `0` + upper-cased pattern
/// with type `F`.
pub(crate) fn is_blacklisted(fingerprint: &[u8]) -> bool {
    if fingerprint.is_empty() || fingerprint.len() >= MAX_WORD {
        return false;
    }
    let mut key = [0u8; MAX_WORD];
    let Some(slot) = key.get_mut(1..=fingerprint.len()) else {
        return false;
    };
    slot.copy_from_slice(fingerprint);
    key[0] = b'0';
    key.get(..=fingerprint.len())
        .and_then(lookup)
        .is_some_and(|ch| ch == b'F')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bareword_prefixes_that_lookup_word_hides() {
        assert_eq!(lookup(b"lock in"), Some(b'n'));
        assert_eq!(lookup(b"LOCK IN SHARE"), Some(b'n'));
        assert_eq!(lookup(b"lock in share mode"), Some(b'k'));
        assert_eq!(lookup(b"in boolean mode"), Some(b'k'));
        assert_eq!(lookup(b"no such words"), None);
    }

    #[test]
    fn blacklist_is_case_insensitive_on_types() {
        assert!(is_blacklisted(b"s&1c"));
        assert!(is_blacklisted(b"1UEnk"));
        assert!(!is_blacklisted(b"nnnnn"));
        assert!(!is_blacklisted(b""));
    }
}
