//! Cross-site scripting detection: libinjectionrs's detector plus the 3.9.2 event-handler rule.
//!
//! C libinjection 3.9.2 (inside ModSecurity 3.0.9, which CRS regression expectations were made with)
//! treats **any** attribute name of at least five bytes starting with `on` (either case) as an event
//! handler. libinjectionrs follows newer upstream sources and compares the name after `on` against a
//! fixed list of event names, so e.g. `onauxclick`, `onbeforedeactivate`, `ondeactivate`, `onhelp` or
//! `onbounce` are not flagged.
//!
//! The two decisions differ only in that one attribute-classification step; the HTML5 tokenizer and every
//! other rule are shared. Since both detectors stop at their first hit, 3.9.2's verdict is exactly the union
//! of libinjectionrs's verdict and a second pass, implemented here on libinjectionrs's public
//! [`Html5State`] tokenizer, that flags in any of the five start contexts:
//!
//! * an attribute name `on…` (≥ 5 bytes) immediately followed by an attribute value, and
//! * an `ATTRIBUTENAME` attribute whose value is such a name (the indirect form).

use libinjectionrs::xss::{Html5Flags, Html5State, TokenType, XssDetector};

use crate::bytes::{contains, contains2};

/// The five tokenizer start states libinjection tries.
const CONTEXTS: [Html5Flags; 5] = [
    Html5Flags::DataState,
    Html5Flags::ValueNoQuote,
    Html5Flags::ValueSingleQuote,
    Html5Flags::ValueDoubleQuote,
    Html5Flags::ValueBackQuote,
];

/// Full XSS verdict, 3.9.2 semantics: libinjectionrs's verdict or the event-handler pass, in each start
/// context that [`can_flag`] allows.
pub(crate) fn detect(input: &[u8]) -> bool {
    if !may_be_xss(input) {
        return false;
    }
    let mut has_on = None;
    CONTEXTS.iter().any(|&ctx| {
        can_flag(input, ctx)
            && (XssDetector::is_xss(input, ctx)
                || (*has_on.get_or_insert_with(|| has_on_pair(input))
                    && handler_in_context(input, ctx)))
    })
}

/// The verdict without the prefilters (libinjectionrs's `detect_xss` over all five contexts, plus the
/// event-handler pass): the oracle of the differential tests.
#[cfg(test)]
pub(crate) fn detect_unfiltered(input: &[u8]) -> bool {
    libinjectionrs::detect_xss(input).is_injection() || has_any_event_handler(input)
}

/// Whether parsing `input` from start context `ctx` can flag anything at all; `false` skips the context.
///
/// Exact, from libinjectionrs's `Html5State`: the data state leaves its text only at a `<` (without one the
/// input is one data-text token); a quoted-value start state ends its value only at its quote (without one the
/// input is one attribute value, with no attribute name before it). Neither token is flagged by either detector
/// (see [`may_be_xss`]). The unquoted-value context starts before an attribute name and is always parsed.
fn can_flag(input: &[u8], ctx: Html5Flags) -> bool {
    match ctx {
        Html5Flags::DataState => contains(input, b'<'),
        Html5Flags::ValueNoQuote => true,
        Html5Flags::ValueSingleQuote => contains(input, b'\''),
        Html5Flags::ValueDoubleQuote => contains(input, b'"'),
        Html5Flags::ValueBackQuote => contains(input, b'`'),
    }
}

/// Prefilter: an input with neither `<` nor `=` can never be flagged, so the five tokenizer passes are skipped.
///
/// Why this is exact, from how libinjectionrs's HTML5 tokenizer (`Html5State`) and both detectors work:
/// * Every verdict comes from one of four token kinds: `Doctype`, `TagNameOpen` or `TagComment` (flagged on
///   their own), or an `AttrValue` whose *immediately preceding* token was an `AttrName` (libinjectionrs resets
///   its attribute type, and [`handler_in_context`] its `pending` state, on every token that is not a value;
///   both start with nothing pending).
/// * `Doctype`, `TagNameOpen` and `TagComment` are only emitted by the tag states (tag open, end tag open, tag
///   name, markup declaration, doctype, comment, bogus comment, CDATA). The only way into them is the data
///   state's transition to "tag open", taken exactly when it finds a `<`; no start context begins there.
/// * `AttrValue` is emitted only by the four attribute-value states. They are entered either as the start state
///   of the quoted value contexts — then the value is the first token and nothing precedes it — or from
///   "before attribute value", whose only entries are the attribute-name and after-attribute-name states on
///   reading `=`. (The unquoted-value context starts in "before attribute name", not in a value state.)
///
/// So without `<` no tag token exists, and without `=` no value ever follows an attribute name: both detectors
/// answer "not XSS" in all five contexts. `prefilter_is_exact` checks this differentially.
pub(crate) fn may_be_xss(input: &[u8]) -> bool {
    contains2(input, b'<', b'=')
}

/// What the previous attribute name makes of the next attribute value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// Nothing special.
    None,
    /// An `on…` event handler: any value is XSS.
    Handler,
    /// `ATTRIBUTENAME`: the value names an attribute.
    Indirect,
}

/// The 3.9.2 event-handler rule alone, over the five contexts.
#[cfg(test)]
pub(crate) fn has_any_event_handler(input: &[u8]) -> bool {
    has_on_pair(input) && CONTEXTS.iter().any(|&ctx| handler_in_context(input, ctx))
}

/// Whether `input` holds `on` in any case: attribute names are slices of the input, so without it the
/// event-handler pass has nothing to find.
fn has_on_pair(input: &[u8]) -> bool {
    input
        .windows(2)
        .any(|w| matches!(w, [b'o' | b'O', b'n' | b'N']))
}

fn handler_in_context(input: &[u8], ctx: Html5Flags) -> bool {
    let mut h5 = Html5State::new(input, ctx);
    let mut pending = Pending::None;
    while h5.next() {
        let token = h5.token_start.get(..h5.token_len).unwrap_or(h5.token_start);
        match h5.token_type {
            TokenType::AttrName => {
                pending = if is_on_handler(token) {
                    Pending::Handler
                } else if eq_ignoring_nul(token, b"ATTRIBUTENAME") {
                    Pending::Indirect
                } else {
                    Pending::None
                };
            }
            TokenType::AttrValue => {
                match pending {
                    Pending::Handler => return true,
                    Pending::Indirect if is_on_handler(token) => return true,
                    Pending::Indirect | Pending::None => {}
                }
                pending = Pending::None;
            }
            _ => pending = Pending::None,
        }
    }
    false
}

/// C 3.9.2: length ≥ 5 and the first two bytes are `o`/`O`, `n`/`N`.
fn is_on_handler(name: &[u8]) -> bool {
    name.len() >= 5 && matches!(name, [b'o' | b'O', b'n' | b'N', ..])
}

/// C `cstrcasecmp_with_null`: case-insensitive equality with an upper-case pattern, NUL bytes in the input
/// skipped (browsers ignore them inside names).
fn eq_ignoring_nul(input: &[u8], upper: &[u8]) -> bool {
    input
        .iter()
        .filter(|&&b| b != 0)
        .map(u8::to_ascii_uppercase)
        .eq(upper.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_event_names_missing_from_the_fixed_list() {
        for input in [
            &b"<a onauxclick=alert(1)>"[..],
            b"<div onbeforedeactivate=alert(1)>",
            b"\" onhelp=\"alert(1)",
            b"' onbounce='x",
            b"<x ATTRIBUTENAME=onfoo>",
        ] {
            assert!(detect(input), "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn ignores_short_or_valueless_handlers_and_prose() {
        assert!(!detect(b"<a onx=1>"));
        assert!(!detect(b"<a onclickish>"));
        assert!(!detect(b"online shopping is fun"));
        assert!(!detect(b"hello world"));
    }

    #[test]
    fn still_flags_what_libinjectionrs_flags() {
        assert!(detect(b"<script>alert(1)</script>"));
        assert!(detect(b"<img src=x onerror=alert(1)>"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Inputs built from HTML-significant pieces (but never `<` or `=`): the unfiltered detector agrees
        /// with the prefilter that they are not XSS.
        #[test]
        fn prefilter_is_exact(parts in proptest::collection::vec(proptest::sample::select(vec![
            "on", "onerror", "ONLOAD", "onauxclick", " ", "\t", "\n", "/", ">", "\"", "'", "`", "!", "-", "--",
            "?", "%", "javascript:", "ATTRIBUTENAME", "style", "href", "src", "x", "alert(1)", "&#", ";", "\0",
            "[if", "xml", "import", "ENTITY", "script", "doctype", ":", "(", ")",
        ]), 0..16)) {
            let input = parts.concat();
            proptest::prop_assert!(!may_be_xss(input.as_bytes()));
            proptest::prop_assert!(!detect_unfiltered(input.as_bytes()), "{:?}", input);
        }

        /// Arbitrary bytes: prefiltered and unfiltered verdicts are identical.
        #[test]
        fn prefiltered_equals_unfiltered(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)) {
            proptest::prop_assert_eq!(detect(&input), detect_unfiltered(&input));
        }

        /// Same, over a small alphabet where tags and attributes are likely.
        #[test]
        fn prefiltered_equals_unfiltered_html(input in "[<>=/ \"'`onerrxsciptOE!-]{0,24}") {
            proptest::prop_assert_eq!(detect(input.as_bytes()), detect_unfiltered(input.as_bytes()));
        }
    }

    /// Attribute-like pieces: names the detectors care about, values, separators and each quote.
    fn attributes() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let piece = proptest::sample::select(vec![
            "on",
            "onerror",
            "ONLOAD",
            "onauxclick",
            "onx",
            "style",
            "href",
            "src",
            "xmlns",
            "xlink:href",
            "ATTRIBUTENAME",
            "formaction",
            "javascript:",
            "vbscript:",
            "data:",
            "&#106;",
            "alert(1)",
            "x",
            "no",
            "analytics",
            "=",
            "=",
            "==",
            " ",
            "\t",
            "/",
            ">",
            "<",
            "'",
            "\"",
            "`",
            ",",
            ";",
            ":",
            "\0",
            "&",
        ]);
        proptest::collection::vec(piece, 0..14).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100_000))]

        /// Value-like strings (the context filter's common case: `=` but no `<` or quotes).
        #[test]
        fn context_filter_is_exact_on_values(input in "[a-zA-Z0-9 =,;:/._&%-]{0,32}") {
            proptest::prop_assert_eq!(detect(input.as_bytes()), detect_unfiltered(input.as_bytes()));
        }

        /// Attribute-like strings with every quote kind and `<`.
        #[test]
        fn context_filter_is_exact_on_attributes(input in attributes()) {
            proptest::prop_assert_eq!(detect(input.as_bytes()), detect_unfiltered(input.as_bytes()), "{:?}", input);
        }
    }

    /// Every corpus input: identical verdicts with and without the prefilters.
    #[test]
    fn corpus_verdicts_are_unchanged() {
        let Some((inputs, _)) = crate::corpus::inputs() else {
            return;
        };
        let mut hits = 0;
        for input in &inputs {
            let got = detect(input);
            assert_eq!(
                got,
                detect_unfiltered(input),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            hits += usize::from(got);
        }
        eprintln!(
            "corpus: {} distinct inputs, {hits} XSS, verdicts identical",
            inputs.len()
        );
        assert!(inputs.len() > 20_000);
    }

    #[test]
    fn prefilter_keeps_known_attacks() {
        for input in [
            &b"<script>alert(1)</script>"[..],
            b"\" onhelp=\"alert(1)",
            b"x onerror=alert(1)",
        ] {
            assert!(may_be_xss(input) && detect(input));
        }
        assert!(!may_be_xss(b"javascript:alert(1) onerror"));
    }

    #[test]
    fn nul_bytes_are_skipped_in_attributename() {
        assert!(eq_ignoring_nul(b"attribute\0name", b"ATTRIBUTENAME"));
        assert!(!eq_ignoring_nul(b"attribute", b"ATTRIBUTENAME"));
    }
}
