//! Sans-I/O: libinjection-class SQL injection and cross-site scripting detection, checked against
//! libinjection's own test files.
//!
//! The target is **C libinjection 3.9.2**, the copy inside ModSecurity 3.0.9 with which the CRS regression
//! expectations were made (CRS 942100 / 941100 `@detectSQLi` / `@detectXSS`). The work is done by the
//! published crate [`libinjectionrs`] 0.1.1 (a Rust port of current upstream libinjection) used as a
//! dependency: its keyword/fingerprint table for SQLi, its HTML5 tokenizer and XSS detector for XSS. The SQL
//! tokenizer is our own (`sqli::tokenize`), written for speed and tested to emit exactly libinjectionrs's
//! token stream, except around NUL bytes, where it follows C. Where libinjectionrs diverges from 3.9.2, this crate corrects it in its own code; no
//! source or table of libinjection or libinjectionrs is copied.
//!
//! # API
//! * [`detect_sqli`] → `Option<`[`Fingerprint`]`>` (the fingerprint CRS puts in `TX.0`);
//! * [`detect_sqli_with`] and [`Sensitivity`] for AWS `SqliMatchStatement.SensitivityLevel`;
//! * [`detect_xss`] → `bool`;
//! * [`sqli::analyze`] for one parse context's fingerprint and folded tokens (diagnostics, golden tests).
//!
//! # Corrections to libinjectionrs 0.1.1
//! SQLi ([`sqli`]): our tokenizer reproduces libinjectionrs's public `SqliTokenizer` token for token on input
//! without NUL bytes (differential tests in `sqli::tokenize`: 31,310 corpus inputs and random inputs in all five
//! contexts), and follows C where NUL is involved (below);
//! folding, the whitelist and the context loop are re-implemented because its fold is not reachable from
//! outside:
//! 1. **Multi-word keywords.** libinjectionrs merges two words only when the pair is a keyword of a
//!    non-bareword type; C merges whenever the pair is in the table at all, which is how
//!    `LOCK IN SHARE MODE`, `IN BOOLEAN MODE`, `AT TIME ZONE`, `CREATE OR REPLACE`, `NEXT VALUE FOR`,
//!    `IS [NOT] DISTINCT FROM` are built word by word (`1nnnn` → `1kUEn`, `snn)o` → `sk)o(`). The table is
//!    read through libinjectionrs's public `SQL_KEYWORDS`.
//! 2. **`INTO OUTFILE` whitelist rule** compares `INTO` case-insensitively, as C does (`1 into outfile 'x'`
//!    → `1ks` is SQLi).
//! 3. **`sp_password` rule** searches the raw bytes case-sensitively like C's `memmem` (libinjectionrs
//!    lower-cases, so `SP_PASSWORD` triggered, and skipped non-UTF-8 input).
//!
//! XSS ([`detect_xss`]): 3.9.2 treats any attribute name of ≥ 5 bytes starting with `on` as an event
//! handler; libinjectionrs checks a fixed event-name list (missing `onauxclick`, `onhelp`, `onbounce`, ...).
//! The verdict here is libinjectionrs's verdict OR a second pass over its public `Html5State` tokenizer
//! that applies the 3.9.2 rule — exactly 3.9.2's decision, since the two differ only in that step.
//!
//! # Parity with C 3.9.2 (measured)
//! Checked differentially against the `libinjection_sqli` / `libinjection_xss` symbols exported by Debian's
//! `libmodsecurity.so.3` (3.0.9): identical SQLi verdict **and fingerprint** and identical XSS verdict on all 480
//! golden inputs, all 19,216 data-file lines, all payloadbox lines, 300,000 random SQL-word sequences and 500,000
//! random NUL-free byte strings (≤ 60 bytes), checked outside the repository. libinjectionrs alone differs from C
//! on 529 of the SQL-word sequences and 18 data lines. The integration test `tests/c_libinjection.rs` now runs
//! such a comparison on every test run (C called through Python's `ctypes`, since the workspace forbids
//! `unsafe`): 200,000 generated SQL-fragment inputs and 200,000 HTML-fragment inputs, about an eighth of them with
//! NUL bytes.
//!
//! **NUL bytes.** C libinjection scans byte runs with `strchr(set, byte)`, which also finds the set's terminating
//! NUL: NUL ends words and variable names and continues hex, binary and money digits. libinjectionrs left NUL out
//! of those sets, and so did our tokenizer until 2026-12-02: 44 of the 200,000 SQL inputs got another verdict or
//! fingerprint than C's, some of them attacks C reports and we did not (`0x\0--` is `1c` in C). The tokenizer now
//! follows C, and SQLi agrees on every generated input, NULs included (also 2,000,000 longer ones, checked once).
//! XSS still differs on inputs with NUL: 35 of the 24,639 such HTML inputs (963 of 292,806 in a longer run), in
//! both directions, because libinjectionrs's HTML5 tokenizer does not treat NUL as C's does (white space in some
//! states, skipped in some names) and has no hook for it; on inputs without NUL it agrees. CRS applies
//! `t:removeNulls` before `@detectXSS`; other callers that may pass NUL bytes should strip them first.
//!
//! # Figures (integration test `tests/libinjection.rs`)
//! * Golden files: tokens 249/249, folding 118/118, sqli 50/50, html5 63/63 (480/480).
//! * `data/sqli-*.txt`, 17,149 lines (URL-decoded like libinjection's reader): SQLi High **17,131**
//!   (99.9 %, = C 3.9.2), Low 16,862 (98.3 %); libinjectionrs alone 17,113.
//! * `data/xss-*.txt`, 1,645 lines: XSS **1,640** (99.7 %, = C).
//! * `data/false_positives.txt`, 421 lines: SQLi High **21** (5.0 %, = C; fingerprints `sos` ×12, `1c` ×3,
//!   `s&s` ×2, `1&1` ×2, `nc`, `Enknk`), Low **1** (0.2 %); XSS 0.
//! * payloadbox SQLi (`Intruder/**`): 1,619 distinct lines → 812 (50.2 %, = C), Low 784; 1,819 raw lines →
//!   904 (49.7 %), Low 871.
//! * payloadbox XSS: 6,590 distinct lines → **6,458** (98.0 %, = C; libinjectionrs alone 6,186); 6,613 raw
//!   lines → 6,468.
//!
//! # Cost (`benches/detect.rs`, 100 corpus lines of 79 bytes mean, shared 2-core machine, noisy)
//! `detect_sqli` ≈ 6–12 µs per call, about 2.2× faster than libinjectionrs's own `detect_sqli` in the same
//! run (which allocates while merging words); `detect_xss` ≈ 1–4 µs, about 1.4× libinjectionrs's
//! (the event-handler pass runs only when libinjectionrs found nothing and the input contains `on`).
//!
//! Keyword look-ups (our tokenizer and our word merging) use a hash index over libinjectionrs's table instead of
//! its allocating binary search; the tokenizer dispatches on a byte-class table, scans with flag tables and
//! writes tokens in place; the detection path builds no token values; at `Low` sensitivity a plain word
//! (letters, digits, `_`) skips the parse, which provably cannot report it. Instructions per `detect_sqli_with(..,
//! Low)` call on the proxy benchmark's values: 6,047 → 2,265 (browser-like GET arguments and cookies), 13,539 →
//! 7,950 (1 KB JSON body) with the hash index; then, per request of the managed web ACL (`waf-core` example
//! `managed_cost`, callgrind), SQLi detection with libinjectionrs's tokenizer → ours: 28,617 → 14,334
//! (`browser-get`), 15,902 → 9,249 (`json-post-1k`), 5,258 → 2,824 (`simple-get`).
//!
//! Exact shortcuts for ordinary values, each proved in its module and differentially tested (random inputs
//! biased to the alphabet in question, and all 31,535 distinct corpus inputs) against the detector without it:
//! * SQLi ([`sqli`]'s `inert` module): a value without quotes whose as-is tokens are all barewords, numbers,
//!   operators, commas, dots or colons, none able to start a multi-word keyword, can make no blacklisted
//!   fingerprint (the table holds none of those type letters only) and is not folded at all;
//! * XSS: a start context is parsed only when the input holds what can lead it to a flagged token (`<` for the
//!   data state, the quote of a quoted-value state), so a value with `=` but no `<` or quotes costs one pass;
//! * keyword look-ups hash eight bytes at a time with a 16-bit tag per slot (no table access on a miss).
//!
//! Per request of the managed ACL (`managed_cost`, callgrind): `detect_sqli_with` 16,722 → 8,208
//! (`browser-get`), 11,112 → 8,707 (`json-post-1k`); per browser GET, summed over its 13 values
//! (`examples/value_cost.rs`, harness included): SQLi 14.6k → 7.2k, XSS 3.6k → 2.8k.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod bytes;
#[cfg(test)]
mod corpus;
mod error;
mod fingerprint;
pub mod sqli;
mod xss;

pub use error::Error;
pub use fingerprint::Fingerprint;
pub use sqli::Sensitivity;

/// Detects SQL injection in `input` (already decoded: CRS applies `t:urlDecodeUni` and friends first).
///
/// Returns the fingerprint of the first context that matched, like C `libinjection_sqli` — the value
/// CRS 942100 captures in `TX.0` — or `None` for benign input. Equivalent to
/// [`detect_sqli_with`]`(input, Sensitivity::High)`.
#[must_use]
pub fn detect_sqli(input: &[u8]) -> Option<Fingerprint> {
    sqli::detect(input)
}

/// Detects SQL injection with an AWS WAF `SensitivityLevel`; see [`Sensitivity`] for what `Low` drops.
#[must_use]
pub fn detect_sqli_with(input: &[u8], sensitivity: Sensitivity) -> Option<Fingerprint> {
    if sensitivity == Sensitivity::Low && sqli::is_plain_word(input) {
        // At most two folded tokens, which `Low` never reports (see `is_plain_word`).
        return None;
    }
    sqli::detect(input).filter(|fp| sqli::passes(fp, sensitivity))
}

/// Like [`detect_sqli_with`], also returning the folded tokens that made the fingerprint (their values, at
/// most 31 bytes each, strings without their quotes): what a WAF log shows as the matched data.
#[must_use]
pub fn detect_sqli_tokens(
    input: &[u8],
    sensitivity: Sensitivity,
) -> Option<(Fingerprint, Vec<Vec<u8>>)> {
    let a = sqli::detect_analysis(input)?;
    let fp = a.fingerprint?;
    if !sqli::passes(&fp, sensitivity) {
        return None;
    }
    Some((fp, a.tokens.into_iter().map(|t| t.value).collect()))
}

/// Detects cross-site scripting in `input` with C libinjection 3.9.2's rules (see the crate docs).
#[must_use]
pub fn detect_xss(input: &[u8]) -> bool {
    xss::detect(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqli_tokens_are_the_fingerprint_tokens() {
        let (fp, tokens) = detect_sqli_tokens(b"10 AND 1=1", Sensitivity::High).unwrap();
        assert_eq!(fp.len(), tokens.len());
        assert_eq!(tokens.first().map(Vec::as_slice), Some(&b"10"[..]));
        assert!(tokens.iter().any(|t| t.eq_ignore_ascii_case(b"AND")));
        assert!(detect_sqli_tokens(b"hello world", Sensitivity::High).is_none());
        for input in [
            &b"1' OR '1'='1"[..],
            b"admin'--",
            b"1 UNION SELECT password FROM users",
        ] {
            assert_eq!(
                detect_sqli_tokens(input, Sensitivity::High).map(|(fp, _)| fp),
                detect_sqli_with(input, Sensitivity::High)
            );
        }
    }

    #[test]
    fn reference_examples_from_the_design_notes() {
        let cases: &[(&[u8], &str)] = &[
            (b"1' OR '1'='1", "s&sos"),
            (b"1' OR 1=1--", "s&1c"),
            (
                b"-1' and 1=1 union/* foo */select load_file('/etc/passwd')--",
                "s&1UE",
            ),
            (b"1 UNION SELECT password FROM users", "1UEnk"),
        ];
        for (input, fp) in cases {
            assert_eq!(
                detect_sqli(input).map(|f| f.to_string()).as_deref(),
                Some(*fp)
            );
        }
    }

    #[test]
    fn benign_inputs_pass() {
        for input in [
            &b""[..],
            b"hello world",
            b"O'Reilly",
            b"2024-01-01",
            b"sexy and 17",
        ] {
            assert_eq!(
                detect_sqli(input),
                None,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn fixes_lower_case_into_outfile() {
        assert_eq!(
            detect_sqli(b"1 into outfile 'asd'")
                .map(|f| f.to_string())
                .as_deref(),
            Some("1ks")
        );
        assert!(detect_sqli(b"1 INTO OUTFILE 'asd'").is_some());
    }

    #[test]
    fn merges_three_word_keywords() {
        let a = sqli::analyze(b"1 LOCK IN SHARE MODE", sqli::Context::AsIsAnsi);
        assert_eq!(a.fingerprint.map(|f| f.to_string()).as_deref(), Some("1k"));
        let a = sqli::analyze(b"'a' in boolean mode", sqli::Context::AsIsAnsi);
        assert_eq!(a.fingerprint.map(|f| f.to_string()).as_deref(), Some("sk"));
    }

    /// Verdicts and fingerprints taken from C libinjection 3.9.2 (libmodsecurity 3.0.9).
    #[test]
    fn matches_c_3_9_2_where_libinjectionrs_differs() {
        let cases: &[(&[u8], Option<&str>)] = &[
            // sp_password is matched case-sensitively on raw bytes.
            (b"foo -- sp_password", Some("nc")),
            (b"foo -- SP_PASSWORD", None),
            // T-SQL words merge (`BEGIN DECLARE`), `; IF...` becomes T-SQL.
            (b"'; begin declare @x varchar(10)", Some("s;Tv(")),
            (b"1; ifnull(1,2)", Some("1;T(1")),
            (b"1 into outfile 'asd'", Some("1ks")),
        ];
        for (input, want) in cases {
            let got = detect_sqli(input).map(|f| f.to_string());
            assert_eq!(got.as_deref(), *want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn evil_parse_collapses_to_x_but_keeps_folded_tokens() {
        let a = sqli::analyze(b"select { `` . `` . id }", sqli::Context::AsIsAnsi);
        assert_eq!(a.fingerprint.map(|f| f.to_string()).as_deref(), Some("X"));
        assert!(a.tokens.len() >= 2);
        assert!(a.tokens.iter().any(|t| t.kind == 'X'));
    }

    #[test]
    fn low_keeps_evil_and_drops_excluded_shapes() {
        let x = Fingerprint::new("X").unwrap();
        assert!(sqli::passes(&x, Sensitivity::Low));
        for fp in sqli::LOW_EXCLUDED {
            assert!(!sqli::passes(
                &Fingerprint::new(fp).unwrap(),
                Sensitivity::Low
            ));
            assert!(sqli::passes(
                &Fingerprint::new(fp).unwrap(),
                Sensitivity::High
            ));
        }
        assert!(!sqli::passes(
            &Fingerprint::new("1c").unwrap(),
            Sensitivity::Low
        ));
        assert!(sqli::passes(
            &Fingerprint::new("s&1c").unwrap(),
            Sensitivity::Low
        ));
    }

    #[test]
    fn low_sensitivity_drops_short_and_prose_like_fingerprints_only() {
        let high_and_low = |input: &[u8]| {
            (
                detect_sqli(input).map(|f| f.to_string()),
                detect_sqli_with(input, Sensitivity::Low).map(|f| f.to_string()),
            )
        };
        assert_eq!(high_and_low(b"1 --"), (Some("1c".into()), None));
        assert_eq!(high_and_low(b"' or 'a"), (Some("s&s".into()), None));
        assert_eq!(
            high_and_low(b"1' OR 1=1--"),
            (Some("s&1c".into()), Some("s&1c".into()))
        );
        assert_eq!(
            detect_sqli_with(b"1' OR 1=1--", Sensitivity::High),
            detect_sqli(b"1' OR 1=1--")
        );
    }

    /// [`detect_sqli_with`] without the single-word shortcut.
    fn low_unfiltered(input: &[u8]) -> Option<Fingerprint> {
        sqli::detect(input).filter(|fp| sqli::passes(fp, Sensitivity::Low))
    }

    #[test]
    fn plain_words_are_never_low_sqli() {
        for k in libinjectionrs::sqli::sqli_data::SQL_KEYWORDS {
            for w in [
                k.word.as_bytes().to_vec(),
                format!("1{}", k.word).into_bytes(),
                format!("0x1f{}", k.word).into_bytes(),
            ] {
                if sqli::is_plain_word(&w) {
                    assert_eq!(low_unfiltered(&w), None, "{}", String::from_utf8_lossy(&w));
                    assert_eq!(low_unfiltered(&w.to_ascii_lowercase()), None);
                }
            }
        }
        for w in [
            &b"union"[..],
            b"SELECT",
            b"sleep",
            b"xp_cmdshell",
            b"Qm9vbGVhbkxvZ2ljMjAyNg",
            b"_",
            b"42",
            b"7f3a9c2e4b1d8f6a0c5e9b2d4f7a1c3e",
            b"1fUNION",
            b"1e5union",
            b"0xfgunion",
            b"0x",
            b"1eunion",
        ] {
            assert!(sqli::is_plain_word(w));
            assert_eq!(low_unfiltered(w), None, "{}", String::from_utf8_lossy(w));
        }
        for w in [
            &b""[..],
            b"0b12",
            b"0B1",
            b"a b",
            b"a.b",
            b"a`",
            b"a'",
            b"x'41'",
            b"a-b",
            b"1+1",
            b"\xe9t\xe9",
        ] {
            assert!(!sqli::is_plain_word(w), "{w:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]

        /// The plain-word shortcut gives exactly the full detector's `Low` verdict.
        #[test]
        fn plain_word_shortcut_is_exact(
            w in "[A-Za-z0-9_]{1,40}",
            n in "(0[xX][0-9a-fA-F]{0,4}|[0-9]{1,4}([eE][0-9]{0,2})?[dDfF]?)[uU]?[A-Za-z0-9_]{0,12}",
            any in "[ -~]{0,12}",
        ) {
            for input in [w.as_bytes(), n.as_bytes(), any.as_bytes()] {
                proptest::prop_assert_eq!(detect_sqli_with(input, Sensitivity::Low), low_unfiltered(input));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_fingerprints_are_short(input in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Some(fp) = detect_sqli(&input) {
                proptest::prop_assert!(fp.len() <= Fingerprint::MAX_LEN);
            }
            let _ = detect_xss(&input);
        }

        #[test]
        fn low_is_a_subset_of_high(input in "[ -~]{0,80}") {
            if detect_sqli_with(input.as_bytes(), Sensitivity::Low).is_some() {
                proptest::prop_assert!(detect_sqli(input.as_bytes()).is_some());
            }
        }
    }
}
