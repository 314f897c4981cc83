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

use libinjectionrs::xss::{Html5Flags, Html5State, TokenType};

/// The five tokenizer start states libinjection tries.
const CONTEXTS: [Html5Flags; 5] = [
    Html5Flags::DataState,
    Html5Flags::ValueNoQuote,
    Html5Flags::ValueSingleQuote,
    Html5Flags::ValueDoubleQuote,
    Html5Flags::ValueBackQuote,
];

/// Full XSS verdict, 3.9.2 semantics.
pub(crate) fn detect(input: &[u8]) -> bool {
    libinjectionrs::detect_xss(input).is_injection() || has_any_event_handler(input)
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
pub(crate) fn has_any_event_handler(input: &[u8]) -> bool {
    // Attribute names and values are slices of the input, so no `on` pair means nothing to find.
    let has_on = input
        .windows(2)
        .any(|w| matches!(w, [b'o' | b'O', b'n' | b'N']));
    has_on && CONTEXTS.iter().any(|&ctx| handler_in_context(input, ctx))
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

    #[test]
    fn nul_bytes_are_skipped_in_attributename() {
        assert!(eq_ignoring_nul(b"attribute\0name", b"ATTRIBUTENAME"));
        assert!(!eq_ignoring_nul(b"attribute", b"ATTRIBUTENAME"));
    }
}
