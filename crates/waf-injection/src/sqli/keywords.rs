//! Keyword look-ups against libinjectionrs's keyword table, through its public `SQL_KEYWORDS` slice.
//!
//! libinjectionrs's own `lookup_word` answers `Bareword` both for "not in the table" and for entries whose
//! type *is* bareword (`n`), such as `LOCK IN`, `LOCK IN SHARE`, `IN BOOLEAN`, `AT TIME`, `CREATE OR`,
//! `NEXT VALUE`. C libinjection's word merging needs that distinction: it merges two words whenever the
//! pair is in the table at all, which is how three-word keywords (`LOCK IN SHARE MODE`) are built one word
//! at a time. This module therefore returns the raw type character, or `None` when absent. The table data
//! stays in libinjectionrs; nothing is copied here.

use std::sync::OnceLock;

use libinjectionrs::sqli::TokenType;
use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;

/// Longest byte string the merge step may look up (C's 32-byte token buffer minus its terminator).
const MAX_WORD: usize = 31;

/// Slots of the open-addressing index (a power of two, more than three times the table's ~9,400 entries, so
/// probe sequences stay short).
const SLOTS: usize = 1 << 15;

/// Hash index over [`SQL_KEYWORDS`], built on first use: slot → table index + 1 (0: empty), linear probing.
///
/// Replaces a binary search (about 13 `memcmp` probes per look-up) by one hash and usually one comparison.
struct Index {
    slots: Box<[u16]>,
}

/// FNV-1a over the upper-cased bytes (ASCII), so a word hashes like its table (upper-case) form.
fn hash(word: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for &b in word {
        h = (h ^ u32::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0193);
    }
    // Fold the high bits in: the low bits of FNV alone cluster on short keys.
    (h ^ (h >> 15)) as usize
}

impl Index {
    fn build() -> Index {
        let mut slots = vec![0u16; SLOTS].into_boxed_slice();
        for (i, k) in SQL_KEYWORDS.iter().enumerate() {
            let Ok(tag) = u16::try_from(i + 1) else {
                // A table this large would not fit the index; such entries are simply not found.
                continue;
            };
            let mut at = hash(k.word.as_bytes());
            for _ in 0..SLOTS {
                at &= SLOTS - 1;
                match slots.get_mut(at) {
                    Some(slot) if *slot == 0 => {
                        *slot = tag;
                        break;
                    }
                    _ => at += 1,
                }
            }
        }
        Index { slots }
    }

    /// The type character of `word` (compared case-insensitively with the upper-case table words), or
    /// `None`. Upper-casing happens inside the hash and the comparison: no copy of the word.
    fn get(&self, word: &[u8]) -> Option<u8> {
        let mut at = hash(word);
        for _ in 0..SLOTS {
            at &= SLOTS - 1;
            let tag = usize::from(*self.slots.get(at)?);
            let k = SQL_KEYWORDS.get(tag.checked_sub(1)?)?;
            if k.word.len() == word.len() && k.word.as_bytes().eq_ignore_ascii_case(word) {
                return Some(k.token_type);
            }
            at += 1;
        }
        None
    }
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(Index::build)
}

/// The type character stored for `word` (compared case-insensitively, ASCII), or `None` if absent.
pub(crate) fn lookup(word: &[u8]) -> Option<u8> {
    if word.len() > MAX_WORD {
        return None;
    }
    index().get(word)
}

/// libinjectionrs's `lookup_word` contract for its tokenizer hook ([`libinjectionrs::sqli::SqliTokenizer::
/// with_lookup_fn`]): the table type of `word`, `Bareword` when absent. Same answers as its own binary search
/// (no table word is longer than [`MAX_WORD`]), without its per-call `String` allocation. Only the tests use it now.
#[cfg(test)]
pub(crate) fn tokenizer_lookup(word: &str) -> TokenType {
    lookup(word.as_bytes()).map_or(TokenType::Bareword, token_type)
}

/// The binary search this module used before the hash index (kept to check the index against).
#[cfg(test)]
pub(crate) fn lookup_by_binary_search(word: &[u8]) -> Option<u8> {
    if word.len() > MAX_WORD {
        return None;
    }
    let upper = word.to_ascii_uppercase();
    SQL_KEYWORDS
        .binary_search_by(|k| k.word.as_bytes().cmp(upper.as_slice()))
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
    fn index_finds_every_table_word_in_any_case() {
        assert!(SQL_KEYWORDS.iter().all(|k| k.word.len() <= MAX_WORD));
        // `get` compares case-insensitively against the stored words: they must all be upper case.
        assert!(
            SQL_KEYWORDS
                .iter()
                .all(|k| k.word == k.word.to_ascii_uppercase())
        );
        for k in SQL_KEYWORDS {
            let w = k.word.as_bytes();
            assert_eq!(lookup(w), Some(k.token_type), "{}", k.word);
            assert_eq!(lookup(&w.to_ascii_lowercase()), Some(k.token_type));
            assert_eq!(lookup_by_binary_search(w), Some(k.token_type));
            assert_eq!(
                tokenizer_lookup(&k.word.to_ascii_lowercase()),
                libinjectionrs::sqli::sqli_data::lookup_word(k.word)
            );
            // One byte more or less is (almost always) absent; both searches must agree either way.
            let mut longer = w.to_vec();
            longer.push(b'X');
            assert_eq!(lookup(&longer), lookup_by_binary_search(&longer));
            let shorter = w.get(..w.len() - 1).unwrap_or_default();
            assert_eq!(lookup(shorter), lookup_by_binary_search(shorter));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The hash index answers exactly as the binary search and libinjectionrs's own `lookup_word`.
        #[test]
        fn index_equals_binary_search(word in "[A-Za-z0-9_ .&|!=<>@#$%-]{0,34}") {
            proptest::prop_assert_eq!(lookup(word.as_bytes()), lookup_by_binary_search(word.as_bytes()));
            proptest::prop_assert_eq!(
                tokenizer_lookup(&word),
                libinjectionrs::sqli::sqli_data::lookup_word(&word)
            );
        }

        /// Same over words built from table entries (the interesting region: prefixes, merges, near misses).
        #[test]
        fn index_equals_binary_search_near_table_words(
            a in 0..SQL_KEYWORDS.len(),
            b in 0..SQL_KEYWORDS.len(),
            join in proptest::sample::select(vec!["", " ", "_", "X", "  "]),
            cut in 0usize..4,
        ) {
            let mut w = format!("{}{}{}", SQL_KEYWORDS[a].word, join, SQL_KEYWORDS[b].word).into_bytes();
            w.truncate(w.len().saturating_sub(cut));
            proptest::prop_assert_eq!(lookup(&w), lookup_by_binary_search(&w));
            let first = SQL_KEYWORDS[a].word.as_bytes().to_ascii_lowercase();
            proptest::prop_assert_eq!(lookup(&first), lookup_by_binary_search(&first));
        }
    }

    #[test]
    fn blacklist_is_case_insensitive_on_types() {
        assert!(is_blacklisted(b"s&1c"));
        assert!(is_blacklisted(b"1UEnk"));
        assert!(!is_blacklisted(b"nnnnn"));
        assert!(!is_blacklisted(b""));
    }
}
