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

/// Hash index over [`SQL_KEYWORDS`], built on first use, linear probing. A slot holds 0 (empty) or
/// `tag << 16 | (table index + 1)`, where `tag` is 16 further bits of the word's hash: a look-up compares
/// bytes only when the tag matches, so a miss (most words of ordinary text) usually touches one slot and
/// never the table.
///
/// Replaces a binary search (about 13 `memcmp` probes per look-up) by one hash and usually one comparison.
struct Index {
    slots: Box<[u32]>,
    /// Per word length: a bit per `first byte & 31` and one per `last byte & 31` of the first words of
    /// multi-word entries (`LOCK` of `LOCK IN SHARE MODE`): a quick "certainly not" for [`starts_multiword`].
    first_word_bits: [(u32, u32); MAX_WORD + 1],
    /// Those first words (upper case, distinct).
    first_words: Vec<&'static [u8]>,
}

/// Clears bit 5 of every byte: `a`..`z` become `A`..`Z`. Other bytes change too, but identically in a word
/// and in its upper-case table form, which is all a hash key needs.
const CASE_FOLD: u64 = 0xDFDF_DFDF_DFDF_DFDF;

/// Eight bytes of `w` from `at` (little-endian), 0 when out of range.
fn load8(w: &[u8], at: usize) -> u64 {
    w.get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Four bytes of `w` from `at` (little-endian), 0 when out of range.
fn load4(w: &[u8], at: usize) -> u64 {
    w.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
}

/// Hash of `word` ignoring ASCII case: every byte of a word of up to 32 bytes is read (in at most four
/// overlapping 8-byte loads), then mixed with one 64×64→128-bit multiply. Longer words are never looked up.
fn hash(word: &[u8]) -> u64 {
    let n = word.len();
    // Each load is case-folded before any mixing moves its bits.
    let (a, b) = if n >= 8 {
        let (mut a, mut b) = (load8(word, 0) & CASE_FOLD, load8(word, n - 8) & CASE_FOLD);
        if n > 16 {
            a ^= (load8(word, 8) & CASE_FOLD).rotate_left(29);
            b ^= (load8(word, n - 16) & CASE_FOLD).rotate_left(41);
        }
        (a, b)
    } else if n >= 4 {
        (load4(word, 0) & CASE_FOLD, load4(word, n - 4) & CASE_FOLD)
    } else {
        let byte = |i: usize| u64::from(word.get(i).copied().unwrap_or(0));
        (
            (byte(0) | byte(n / 2) << 8 | byte(n.wrapping_sub(1)) << 16) & CASE_FOLD,
            0,
        )
    };
    let m =
        u128::from(a ^ 0x243f_6a88_85a3_08d3) * u128::from(b ^ 0x1319_8a2e_0370_7344 ^ n as u64);
    // Truncations intended: the two halves of the product are folded together.
    #[allow(clippy::cast_possible_truncation)]
    let h = (m as u64) ^ ((m >> 64) as u64);
    h
}

/// The slot tag of hash `h` (bits independent of the slot position).
fn tag(h: u64) -> u32 {
    // `h >> 48` fits in 16 bits.
    #[allow(clippy::cast_possible_truncation)]
    let t = (h >> 48) as u32;
    t
}

impl Index {
    fn build() -> Index {
        let mut slots = vec![0u32; SLOTS].into_boxed_slice();
        let mut first_word_bits = [(0u32, 0u32); MAX_WORD + 1];
        let mut first_words: Vec<&'static [u8]> = Vec::new();
        for (i, k) in SQL_KEYWORDS.iter().enumerate() {
            if let Some(space) = k.word.bytes().position(|b| b == b' ')
                && let Some(first) = k.word.as_bytes().get(..space)
                && let Some(bits) = first_word_bits.get_mut(space)
            {
                bits.0 |= byte_bit(first.first());
                bits.1 |= byte_bit(first.last());
                if !first_words.contains(&first) {
                    first_words.push(first);
                }
            }
            let Ok(entry) = u16::try_from(i + 1) else {
                // A table this large would not fit the index; such entries are simply not found.
                continue;
            };
            let h = hash(k.word.as_bytes());
            let mut at = slot_of(h);
            for _ in 0..SLOTS {
                at &= SLOTS - 1;
                match slots.get_mut(at) {
                    Some(slot) if *slot == 0 => {
                        *slot = tag(h) << 16 | u32::from(entry);
                        break;
                    }
                    _ => at += 1,
                }
            }
        }
        Index {
            slots,
            first_word_bits,
            first_words,
        }
    }

    /// The type character of `word` (compared case-insensitively with the upper-case table words), or
    /// `None`. Upper-casing happens inside the hash and the comparison: no copy of the word.
    fn get(&self, word: &[u8]) -> Option<u8> {
        let h = hash(word);
        let want = tag(h);
        let mut at = slot_of(h);
        for _ in 0..SLOTS {
            at &= SLOTS - 1;
            let slot = *self.slots.get(at)?;
            if slot == 0 {
                return None;
            }
            if slot >> 16 == want {
                let k = SQL_KEYWORDS.get(usize::try_from(slot & 0xFFFF).ok()?.checked_sub(1)?)?;
                if k.word.len() == word.len() && k.word.as_bytes().eq_ignore_ascii_case(word) {
                    return Some(k.token_type);
                }
            }
            at += 1;
        }
        None
    }
}

/// The bit of [`Index::first_word_bits`] for one byte of a word (case-insensitive for letters).
fn byte_bit(b: Option<&u8>) -> u32 {
    1 << (b.copied().unwrap_or(0) & 31)
}

/// The first slot to probe for hash `h`.
fn slot_of(h: u64) -> usize {
    // Only the low bits are used (masked by the caller).
    #[allow(clippy::cast_possible_truncation)]
    let s = h as usize;
    s
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

/// Whether some multi-word table entry starts with `word` and a space (compared case-insensitively): only
/// then can C's word merging join `word` with the token after it.
pub(crate) fn starts_multiword(word: &[u8]) -> bool {
    let index = index();
    let (first, last) = index
        .first_word_bits
        .get(word.len())
        .copied()
        .unwrap_or((0, 0));
    if first & byte_bit(word.first()) == 0 || last & byte_bit(word.last()) == 0 {
        return false;
    }
    index
        .first_words
        .iter()
        .any(|w| w.len() == word.len() && w.eq_ignore_ascii_case(word))
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

        /// The hash ignores ASCII case at every length.
        #[test]
        fn hash_ignores_case(word in "[ -~]{0,32}") {
            proptest::prop_assert_eq!(hash(word.as_bytes()), hash(word.to_ascii_uppercase().as_bytes()));
            proptest::prop_assert_eq!(hash(word.as_bytes()), hash(word.to_ascii_lowercase().as_bytes()));
        }

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
