//! SQL injection detection: libinjectionrs's keyword table, with our own tokenizer (emitting libinjectionrs's
//! token stream), fold, whitelist and context loop matching C libinjection 3.9.2 (see the crate docs for why
//! and what differs).

mod fold;
mod inert;
mod keywords;
mod tokenize;
mod whitelist;

use libinjectionrs::sqli::SqliFlags;

use crate::Fingerprint;

/// Most folded tokens a fingerprint describes (`LIBINJECTION_SQLI_MAX_TOKENS`).
pub const MAX_FINGERPRINT_TOKENS: usize = fold::MAX_TOKENS;

/// How strict [`crate::detect_sqli_with`] is, mirroring AWS WAF's `SqliMatchStatement`
/// `SensitivityLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Sensitivity {
    /// Fewer false positives: the full verdict, minus matches whose fingerprint is one of the short shapes
    /// behind libinjection's own false positives: fewer than three folded tokens (`1c`, `nc`, `1U`, ...;
    /// the evil-parse fingerprint `X` is kept), or exactly the three-token shapes [`LOW_EXCLUDED`]
    /// (`sos`, `s&s`, `1&1`: quoted words joined by an operator or `and`/`or`, common in prose).
    /// On `false_positives.txt` this keeps 1 of High's 21 false positives while still flagging 98.4 % of
    /// the `sqli-*.txt` lines (High: 99.9 %); see the crate docs for all figures.
    Low,
    /// The full libinjection verdict (what CRS 942100 uses).
    #[default]
    High,
}

/// The SQL dialect and quote context of one parse, as in C's `FLAG_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Input as-is, ANSI comments.
    AsIsAnsi,
    /// Input as-is, MySQL comments (`--` needs a following space, `#` is a comment).
    AsIsMysql,
    /// As if preceded by `'`, ANSI.
    SingleQuoteAnsi,
    /// As if preceded by `'`, MySQL.
    SingleQuoteMysql,
    /// As if preceded by `"`, MySQL.
    DoubleQuoteMysql,
}

impl Context {
    fn flags(self) -> SqliFlags {
        match self {
            Self::AsIsAnsi => SqliFlags::FLAG_QUOTE_NONE | SqliFlags::FLAG_SQL_ANSI,
            Self::AsIsMysql => SqliFlags::FLAG_QUOTE_NONE | SqliFlags::FLAG_SQL_MYSQL,
            Self::SingleQuoteAnsi => SqliFlags::FLAG_QUOTE_SINGLE | SqliFlags::FLAG_SQL_ANSI,
            Self::SingleQuoteMysql => SqliFlags::FLAG_QUOTE_SINGLE | SqliFlags::FLAG_SQL_MYSQL,
            Self::DoubleQuoteMysql => SqliFlags::FLAG_QUOTE_DOUBLE | SqliFlags::FLAG_SQL_MYSQL,
        }
    }
}

/// One folded token, for inspection and for the golden-file tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedToken {
    /// libinjection's one-character type (`k`, `U`, `s`, `1`, ...).
    pub kind: char,
    /// The token's value (at most 31 bytes; strings without their quotes).
    pub value: Vec<u8>,
    /// Opening quote of a string or quoted identifier, if any.
    pub str_open: Option<u8>,
    /// Closing quote, if the string was closed.
    pub str_close: Option<u8>,
    /// For variables: the number of leading `@` (1 or 2).
    pub count: i32,
}

/// Fingerprint and folded tokens of one input parsed in one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The fingerprint (`X` when the parse hit an "evil" construct); `None` when nothing was left after
    /// folding (empty input, only comments).
    pub fingerprint: Option<Fingerprint>,
    /// The folded tokens. When one of them is evil (`X`) the fingerprint collapses to `X` while this
    /// list keeps what folding produced, as C's `libinjection_sqli_fold` output does.
    pub tokens: Vec<FoldedToken>,
    /// Whether the fingerprint is blacklisted and survives the whitelist heuristics.
    pub is_sqli: bool,
    /// Whether C would re-parse this input in the MySQL dialect (it saw `--x` or `#` comments).
    pub reparse_as_mysql: bool,
}

/// What one parse decided, without the folded tokens' values (the detection path needs no allocation).
struct Check {
    fingerprint: Option<Fingerprint>,
    is_sqli: bool,
    reparse_as_mysql: bool,
}

/// Folds and fingerprints `input` in one `context`; returns the decision and the folded tokens.
fn check(input: &[u8], context: Context) -> (Check, fold::Folded, usize) {
    let folded = fold::fold(input, context.flags());
    let (c, fp_len) = check_folded(input, &folded);
    (c, folded, fp_len)
}

/// The decision for `input` once folded (by our tokenizer, or in tests by libinjectionrs's).
/// Returns it with the fingerprint's length in folded tokens.
fn check_folded(input: &[u8], folded: &fold::Folded) -> (Check, usize) {
    let mut fp = [0u8; 8];
    let mut fp_len = 0;
    for (slot, t) in fp.iter_mut().zip(folded.tokens.iter().take(folded.len)) {
        let ch = t.token_type.to_char();
        if ch == '\0' {
            break; // C builds a C string: a typeless token ends it.
        }
        *slot = u8::try_from(ch).unwrap_or(b'?');
        fp_len += 1;
    }
    let fp_bytes = fp.get(..fp_len).unwrap_or_default();
    let evil = fp_bytes.contains(&b'X');
    let fp_bytes: &[u8] = if evil { b"X" } else { fp_bytes };
    let is_sqli = keywords::is_blacklisted(fp_bytes)
        && if evil {
            // After the `X` rule C's token vector holds one evil token; the whitelist has nothing to clear.
            true
        } else {
            whitelist::not_whitelisted(input, fp_bytes, folded)
        };
    let c = Check {
        fingerprint: Fingerprint::from_type_chars(fp_bytes),
        is_sqli,
        reparse_as_mysql: folded.reparse_as_mysql,
    };
    (c, fp_len)
}

/// Folds and fingerprints `input` in one `context` (C `libinjection_sqli_fingerprint` followed by
/// `libinjection_sqli_check_fingerprint`).
#[must_use]
pub fn analyze(input: &[u8], context: Context) -> Analysis {
    let (c, folded, fp_len) = check(input, context);
    let tokens = folded
        .tokens
        .iter()
        .take(fp_len)
        .map(|t| FoldedToken {
            kind: t.token_type.to_char(),
            value: fold::value(t).to_vec(),
            str_open: (t.str_open != 0).then_some(t.str_open),
            str_close: (t.str_close != 0).then_some(t.str_close),
            count: t.count,
        })
        .collect();
    Analysis {
        fingerprint: c.fingerprint,
        tokens,
        is_sqli: c.is_sqli,
        reparse_as_mysql: c.reparse_as_mysql,
    }
}

/// C `libinjection_is_sqli`: try the input as-is, then as if it followed `'`, then `"`; first hit wins.
///
/// Ordinary values whose tokens can never make a blacklisted fingerprint skip the fold ([`inert`]).
pub(crate) fn detect(input: &[u8]) -> Option<Fingerprint> {
    if inert::is_inert(input) {
        return None;
    }
    detect_folding(input, fold::fold_in)
}

/// [`detect`] without the [`inert`] shortcut: what the shortcut is tested against.
#[cfg(test)]
pub(crate) fn detect_full(input: &[u8]) -> Option<Fingerprint> {
    detect_folding(input, fold::fold_in)
}

/// [`detect`] with libinjectionrs's tokenizer instead of ours: the oracle of the differential tests.
#[cfg(test)]
pub(crate) fn detect_reference(input: &[u8]) -> Option<Fingerprint> {
    detect_folding(input, fold::fold_reference)
}

/// [`detect`] with the tokens of each context folded by `fold_with`.
fn detect_folding(
    input: &[u8],
    fold_with: fn(&[u8], SqliFlags, &mut fold::Folded),
) -> Option<Fingerprint> {
    // One token vector for every context, filled in place.
    let mut folded = fold::Folded::new();
    first_hit(input, |ctx| {
        fold_with(input, ctx.flags(), &mut folded);
        let (c, _) = check_folded(input, &folded);
        let fp = c.fingerprint.filter(|_| c.is_sqli);
        (fp, c.reparse_as_mysql)
    })
}

/// The analysis that made `input` SQL injection, trying the contexts in libinjection's order (as-is, then
/// inside single quotes, then double quotes; each re-parsed in the MySQL dialect when C would).
pub(crate) fn detect_analysis(input: &[u8]) -> Option<Analysis> {
    first_hit(input, |ctx| {
        let a = analyze(input, ctx);
        let reparse = a.reparse_as_mysql;
        ((a.is_sqli && a.fingerprint.is_some()).then_some(a), reparse)
    })
}

/// libinjection's context loop: `run` parses `input` in one context and returns its hit (if any) and whether C
/// would re-parse in the MySQL dialect; the first hit wins.
fn first_hit<R>(input: &[u8], mut run: impl FnMut(Context) -> (Option<R>, bool)) -> Option<R> {
    if input.is_empty() {
        return None;
    }
    let (hit, reparse) = run(Context::AsIsAnsi);
    if hit.is_some() {
        return hit;
    }
    if reparse && let (Some(r), _) = run(Context::AsIsMysql) {
        return Some(r);
    }
    if memchr::memchr(b'\'', input).is_some() {
        let (hit, reparse) = run(Context::SingleQuoteAnsi);
        if hit.is_some() {
            return hit;
        }
        if reparse && let (Some(r), _) = run(Context::SingleQuoteMysql) {
            return Some(r);
        }
    }
    if memchr::memchr(b'"', input).is_some() {
        return run(Context::DoubleQuoteMysql).0;
    }
    None
}

/// `true` when `input` is a plain word: only ASCII letters, digits and `_`, and not starting with `0b`/`0B`.
///
/// Such input can never be SQL injection at [`Sensitivity::Low`], so the detector is skipped. Why this is exact,
/// from the tokenizer (`tokenize`, libinjectionrs's token stream; what a word does not contain: delimiters, quotes, `.`, `` ` ``, `+`, `-`,
/// `&`, white space, comments):
/// * A first letter or `_` dispatches to the word parser (the `b`/`e`/`n`/`q`/`u`/`x` string prefixes fall back
///   to it unless a quote or `&` follows), which consumes everything up to a delimiter, `.` or `` ` ``: the
///   whole input, one token.
/// * A first digit dispatches to the number parser. `0x` ends after its hex digits, at a non-hex byte; otherwise
///   it reads digits, an optional `e`/`E` exponent with its digits, and a `d`/`f` suffix only before `u`/`U`
///   (the other cases need white space, `;` or the end). Either way it stops at a letter or `_` (or the end),
///   and the rest is one word as above: at most two tokens. (`0b` is excluded: it stops at any digit but 0/1.)
/// * Folding never adds tokens (no comment here to append), so the fingerprint has at most two characters, and
///   none is the evil `X` (only the `{` fold rule makes it; the keyword table has no `X` type). `Low` reports only
///   `X` or fingerprints of three or more.
/// * The other contexts are never tried: no quote, and no comment to ask for a MySQL re-parse.
///
/// `plain_word_shortcut_is_exact` checks this against the full detector.
pub(crate) fn is_plain_word(input: &[u8]) -> bool {
    !input.is_empty()
        && !matches!(input, [b'0', b'b' | b'B', ..])
        && input
            .iter()
            .all(|&b| PLAIN.get(usize::from(b)).copied().unwrap_or(false))
}

/// ASCII letters, digits and `_`: the bytes of a plain word.
// Evaluated at compile time only: an out-of-range index would fail the build.
#[allow(clippy::indexing_slicing)]
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        // `b < 256`, so the cast is lossless.
        #[allow(clippy::cast_possible_truncation)]
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// Three-token fingerprints that [`Sensitivity::Low`] does not report: together they cause 16 of the 21
/// false positives libinjection has on its own `false_positives.txt`.
pub const LOW_EXCLUDED: [&str; 3] = ["sos", "s&s", "1&1"];

/// The sensitivity filter applied on top of [`detect`].
pub(crate) fn passes(fp: &Fingerprint, sensitivity: Sensitivity) -> bool {
    match sensitivity {
        Sensitivity::High => true,
        Sensitivity::Low => *fp == "X" || (fp.len() >= 3 && !LOW_EXCLUDED.contains(&fp.as_str())),
    }
}
