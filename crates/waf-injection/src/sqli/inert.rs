//! An exact shortcut for ordinary values: inputs whose token stream can never make a blacklisted fingerprint.
//!
//! [`is_inert`] tokenizes the input once, as-is in the ANSI dialect (the only context libinjection parses an
//! input without quotes and without MySQL-only comments in), and accepts it when every token is one of the
//! *inert* types — bareword `n`, number `1`, operator `o`, comma `,`, dot `.`, colon `:` — and no bareword or
//! operator could start a multi-word keyword. Then [`super::detect`] returns `None` at every sensitivity.
//! Why this is exact:
//!
//! 1. **Only one context runs.** C's loop parses as-is (ANSI), re-parses as-is in MySQL only when the
//!    tokenizer counted a `--x` or `#` comment (`reparse_as_mysql`), and tries the single- and double-quote
//!    contexts only when the input holds that quote. The input has no `'` or `"`, and the whole token stream
//!    (a superset of what the fold reads) leaves both comment counters at zero.
//! 2. **Folding keeps the types inert.** The fold removes tokens, copies tokens onto others and changes a type
//!    only in these rules: word merging (`a b` found in the keyword table), `; IF` (needs `;`), function-like
//!    words before `(` (needs `(`), `IN`/`NOT IN` (needs a keyword), `LIKE (` (needs `(`), `COLLATE` (needs
//!    the collate type), a backslash, `{` and the `USER(` rule (needs a function). Only merging is reachable
//!    from inert tokens; it needs a left token of a mergeable type — of the inert ones, bareword or operator —
//!    whose value followed by a space begins a table entry, which [`super::keywords::starts_multiword`]
//!    rules out for every such token (a merged value is itself the result of an earlier merge). The trailing
//!    comment that folding may append needs a comment token; the evil `X` needs an evil token; neither is
//!    inert.
//! 3. **No inert fingerprint is blacklisted.** A fingerprint is the type characters of the folded tokens; the
//!    blacklist holds none made only of `n 1 o , . :` (`no_blacklisted_fingerprint_is_inert` checks the
//!    table). The whitelist can only clear a blacklisted fingerprint, and an empty one is never reported.
//!
//! Scanning gives up (answers "not inert", so the full detector runs) after [`MAX_TOKENS`] tokens: the fold
//! usually reads only the first handful, so a long value is cheaper to fold than to scan in full.
//! `shortcut_is_exact` (random inputs biased to the inert alphabet) and the corpus test check the detector with
//! the shortcut against the detector without it.

use libinjectionrs::sqli::{SqliFlags, Token, TokenType};

use super::fold::value;
use super::keywords;
use super::tokenize::Tokenizer;

/// Most tokens [`is_inert`] reads before giving up.
const MAX_TOKENS: usize = 24;

/// `true` when `input` provably is not SQL injection in any context (see the module docs).
pub(crate) fn is_inert(input: &[u8]) -> bool {
    if crate::bytes::contains2(input, b'\'', b'"') {
        return false;
    }
    let mut tokenizer =
        Tokenizer::new(input, SqliFlags::FLAG_QUOTE_NONE | SqliFlags::FLAG_SQL_ANSI);
    let mut token = Token::new();
    for _ in 0..MAX_TOKENS {
        if !tokenizer.next_into(&mut token) {
            // The tokens seen so far are the whole stream.
            return tokenizer.stats_comment_ddx == 0 && tokenizer.stats_comment_hash == 0;
        }
        let inert = match token.token_type {
            TokenType::Number | TokenType::Comma | TokenType::Dot | TokenType::Colon => true,
            TokenType::Bareword | TokenType::Operator => !keywords::starts_multiword(value(&token)),
            _ => false,
        };
        if !inert {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqli::{Sensitivity, detect_full, passes};
    use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;

    /// The type characters of the inert token types, as the blacklist stores them (upper case).
    const INERT: &[u8] = b"N1O,.:";

    #[test]
    fn inert_types_are_these_characters() {
        let chars: Vec<char> = [
            TokenType::Bareword,
            TokenType::Number,
            TokenType::Operator,
            TokenType::Comma,
            TokenType::Dot,
            TokenType::Colon,
        ]
        .iter()
        .map(|t| t.to_char().to_ascii_uppercase())
        .collect();
        assert_eq!(chars.iter().collect::<String>().as_bytes(), INERT);
    }

    #[test]
    fn no_blacklisted_fingerprint_is_inert() {
        let fingerprints: Vec<&str> = SQL_KEYWORDS
            .iter()
            .filter(|k| k.token_type == b'F')
            .map(|k| k.word)
            .collect();
        assert!(fingerprints.len() > 8000);
        for fp in fingerprints {
            let body = fp.as_bytes().get(1..).unwrap_or_default();
            assert!(!body.iter().all(|c| INERT.contains(c)), "{fp}");
        }
    }

    #[test]
    fn ordinary_values_are_inert() {
        for v in [
            &b""[..],
            b"red running shoes",
            b"en-GB",
            b"GA1.1.1846203751.1764410000",
            b"analytics=no,ads=no",
            b"/shop/search",
            b"/api/v1/orders",
            b"2024-01-01T10:00:00",
            b"price_asc",
            b"a.b.c",
        ] {
            assert!(is_inert(v), "{}", String::from_utf8_lossy(v));
            assert_eq!(detect_full(v), None);
        }
    }

    #[test]
    fn suspicious_values_are_not_inert() {
        for v in [
            &b"1 union select 1"[..],
            b"a or b",
            b"x -- y",
            b"x --y",
            b"x # y",
            b"a;b",
            b"f(1)",
            b"O'Reilly",
            b"say \"hi\"",
            b"lock in share mode",
            b"at time zone",
            b"next value for",
            b"1 is not 2",
            b"1 sounds like 2",
            b"@x",
            b"a /* b */",
            b"{x}",
            // More tokens than the scan reads.
            b"a b c d e f g h i j k l m n o p q r s t u v w x y z",
        ] {
            assert!(!is_inert(v), "{}", String::from_utf8_lossy(v));
        }
    }

    #[test]
    fn multiword_first_words_are_found() {
        for k in SQL_KEYWORDS {
            if let Some((first, _)) = k.word.split_once(' ') {
                assert!(keywords::starts_multiword(first.as_bytes()), "{first}");
                assert!(keywords::starts_multiword(
                    first.to_ascii_lowercase().as_bytes()
                ));
            }
        }
        for w in [&b"red"[..], b"orders", b"locks", b"", b"-", b"at_"] {
            assert!(!keywords::starts_multiword(w), "{w:?}");
        }
    }

    fn check(input: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        if is_inert(input) {
            let full = detect_full(input);
            proptest::prop_assert_eq!(full, None, "{:?}", String::from_utf8_lossy(input));
        }
        proptest::prop_assert_eq!(crate::sqli::detect(input), detect_full(input));
        let low = detect_full(input).filter(|fp| passes(fp, Sensitivity::Low));
        proptest::prop_assert_eq!(
            crate::detect_sqli_with(input, Sensitivity::Low),
            low,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        Ok(())
    }

    /// Words of the table (the ones that matter) and short fillers, joined by the inert alphabet's separators.
    fn table_words() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let word = prop_oneof![
            (0..SQL_KEYWORDS.len()).prop_map(|i| SQL_KEYWORDS[i].word.to_ascii_lowercase()),
            (0..SQL_KEYWORDS.len()).prop_map(|i| SQL_KEYWORDS[i].word.to_owned()),
            "[A-Za-z_][A-Za-z0-9_]{0,8}",
            "[0-9]{1,4}(\\.[0-9]{0,3})?([eE][0-9]{0,2})?[dDfFuU]?",
            "0[xXbB][0-9a-fA-F]{0,4}",
        ];
        let sep = proptest::sample::select(vec![
            " ", " ", "-", ".", ",", "/", ":", "=", ":=", "::", "-=", "/=", "--", "  ", "_", "",
        ]);
        proptest::collection::vec((word, sep), 0..8).prop_map(|parts| {
            parts
                .into_iter()
                .flat_map(|(w, s)| [w, s.to_owned()])
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100_000))]

        /// Random strings over the inert alphabet: the shortcut never changes a verdict.
        #[test]
        fn shortcut_is_exact_on_the_inert_alphabet(input in "[a-zA-Z0-9_ .,/:=-]{0,40}") {
            check(input.as_bytes())?;
        }

        /// Keyword-rich strings joined by inert separators (merges, dotted keywords, numbers before words).
        #[test]
        fn shortcut_is_exact_on_table_words(input in table_words()) {
            check(input.as_bytes())?;
        }
    }

    /// Every corpus input: the detector with the shortcut gives the full detector's verdict and fingerprint,
    /// at both sensitivities.
    #[test]
    fn corpus_verdicts_are_unchanged() {
        let Some((inputs, _)) = crate::corpus::inputs() else {
            return;
        };
        let mut inert = 0;
        for input in &inputs {
            check(input).unwrap();
            inert += usize::from(is_inert(input));
        }
        eprintln!(
            "corpus: {} distinct inputs, {inert} inert, verdicts identical",
            inputs.len()
        );
        assert!(inputs.len() > 20_000);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(50_000))]

        /// Printable ASCII with a few bytes outside the inert alphabet.
        #[test]
        fn shortcut_is_exact_on_printable_ascii(input in "[ -~]{0,32}") {
            check(input.as_bytes())?;
        }

        /// Arbitrary bytes.
        #[test]
        fn shortcut_is_exact_on_bytes(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            check(&input)?;
        }
    }
}
