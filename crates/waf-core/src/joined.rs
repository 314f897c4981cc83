//! One regex search over all the values of a field instead of one per value.
//!
//! A field like `Headers` or `AllQueryArguments` yields a few dozen short values, and starting a regex search
//! costs a few hundred instructions before the first byte is read. A set built here answers, with one search over
//! the values joined by a NUL byte (`v1 NUL v2 NUL … vn`, nothing before the first or after the last), exactly
//! which of its patterns match some value, provided no value contains a NUL byte (the caller checks, counting the
//! NUL bytes of the joined text, and searches value by value otherwise).
//!
//! Why the answer is exact: each pattern is rewritten so that
//! - no class matches NUL (it is removed from every class), and a pattern with a NUL literal is not joined: a match
//!   in the joined text then never contains a separator, so it lies inside one value;
//! - `^` and `$` (start and end of the text) become start and end of a line, with NUL as the line terminator: at a
//!   value's edges they hold exactly as the original anchors hold at that value's own edges, and inside a value
//!   (which holds no NUL) neither holds, as in the value alone. A pattern that already uses line anchors (`(?m)`)
//!   is not joined;
//! - word boundaries are kept: NUL is not a word character (ASCII or Unicode), just as the edge of a text counts
//!   as non-word, and no multi-byte UTF-8 sequence can span a NUL.
//!
//! So a match of the rewritten pattern in the joined text is a match of the original in one value, and a match of
//! the original in a value (which holds no NUL, so no removed class member is used) is one of the rewritten pattern
//! in the joined text. Each pattern of a set is treated alone, so which patterns match is exact too.

use regex_automata::meta;
use regex_automata::util::syntax;
use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind,
    Look, Repetition,
};

use crate::regexset::set_config;

/// The byte between two values in the joined text.
pub(crate) const SEPARATOR: u8 = 0;

// Joined sets.
optimisation_switch!(enabled);

/// `pattern` rewritten for the joined text (see the module docs), or `None` when it cannot be.
fn rewrite(h: &Hir) -> Option<Hir> {
    Some(match h.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => {
            if lit.0.contains(&SEPARATOR) {
                return None;
            }
            Hir::literal(lit.0.clone())
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            let sep = char::from(SEPARATOR);
            c.difference(&ClassUnicode::new([ClassUnicodeRange::new(sep, sep)]));
            Hir::class(Class::Unicode(c))
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut c = c.clone();
            c.difference(&ClassBytes::new([ClassBytesRange::new(
                SEPARATOR, SEPARATOR,
            )]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Look(look) => Hir::look(match look {
            Look::Start => Look::StartLF,
            Look::End => Look::EndLF,
            Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF => return None,
            other => *other,
        }),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(rewrite(&r.sub)?),
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(rewrite(&c.sub)?),
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(rewrite).collect::<Option<_>>()?),
        HirKind::Alternation(parts) => {
            Hir::alternation(parts.iter().map(rewrite).collect::<Option<_>>()?)
        }
    })
}

/// The set of `patterns` (compiled as [`crate::regexset::build_set`] does) for searching joined values, or `None`
/// when some pattern cannot be joined or the set does not build within `size_limit`.
pub(crate) fn build_joined(
    patterns: &[&str],
    unicode: bool,
    size_limit: usize,
) -> Option<meta::Regex> {
    let (metac, syntaxc) = set_config(unicode, size_limit);
    let hirs = patterns
        .iter()
        .map(|p| rewrite(&syntax::parse_with(p, &syntaxc).ok()?))
        .collect::<Option<Vec<Hir>>>()?;
    meta::Builder::new()
        .configure(metac.line_terminator(SEPARATOR))
        .build_many_from_hir(&hirs)
        .ok()
}

/// Appends `value` to the joined text `buf`, which holds `count` values so far. Whether some value held the
/// separator itself is asked once the text is complete ([`is_clean`]).
pub(crate) fn push(buf: &mut Vec<u8>, count: usize, value: &[u8]) {
    if count > 0 {
        buf.push(SEPARATOR);
    }
    buf.extend_from_slice(value);
}

/// Whether the joined text `buf` of `count` values tells them apart: it holds exactly the `count - 1` separators
/// put between them, so no value holds one. When it does not, the values must be searched one by one.
///
/// One count over the whole text costs far less than a scan of each short value: it runs a vector of bytes a step.
pub(crate) fn is_clean(buf: &[u8], count: usize) -> bool {
    separators(buf) == count.saturating_sub(1)
}

/// How many separators `buf` holds. A block of 255 bytes is counted in a `u8`, which it cannot overflow; the
/// compiler turns that count into vector compares.
fn separators(buf: &[u8]) -> usize {
    buf.chunks(255)
        .map(|block| {
            usize::from(
                block
                    .iter()
                    .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == SEPARATOR))),
            )
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regexset::build_set;
    use proptest::prelude::*;
    use regex_automata::{Input, PatternSet};

    /// Patterns whose meaning depends on the value edges, classes that include NUL, word boundaries and
    /// Unicode classes, plus the managed groups' header pattern that motivated joining.
    const PATTERNS: [&str; 12] = [
        r"^ab",
        r"ab$",
        r"^$",
        r"a[^b]c",
        r"a.c",
        r"(?s)a.c",
        r"\bxy\b",
        r"(?i)ab\s*c",
        r"(?:^|[^A-Za-z0-9+/])(?-i:rO0AB)[A-Za-z0-9+/]",
        r"\Bb\B",
        r"a\W*b",
        r"(?i)java\.lang\.(?:runtime|reflect)|getruntime\s*\(",
    ];

    fn which(re: &meta::Regex, hay: &[u8]) -> Vec<usize> {
        let mut set = PatternSet::new(re.pattern_len());
        re.which_overlapping_matches(&Input::new(hay), &mut set);
        set.iter().map(|p| p.as_usize()).collect()
    }

    proptest! {
        #[test]
        fn separators_tell_whether_a_value_holds_one(
            mut values in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..300), 0..6),
            poison in proptest::option::of((any::<proptest::sample::Index>(), any::<proptest::sample::Index>())),
        ) {
            // Values without a separator, and in half the cases one value given one (anywhere in it).
            if let Some((which, at)) = poison
                && !values.is_empty()
            {
                let v = which.get_mut(&mut values);
                let at = at.index(v.len() + 1);
                v.insert(at, SEPARATOR);
            }
            let mut buf = Vec::new();
            for (i, v) in values.iter().enumerate() {
                push(&mut buf, i, v);
            }
            let holds = values.iter().any(|v| v.contains(&SEPARATOR));
            prop_assert_eq!(is_clean(&buf, values.len()), !holds);
            prop_assert_eq!(separators(&buf), buf.iter().filter(|&&b| b == SEPARATOR).count());
        }
    }

    #[test]
    fn line_anchors_and_nul_literals_are_not_joined() {
        assert!(build_joined(&[r"(?m)^a"], false, 1 << 20).is_none());
        assert!(build_joined(&[r"a\x00b"], false, 1 << 20).is_none());
        assert!(build_joined(&[r"a$"], true, 1 << 20).is_some());
    }

    /// The plain and joined sets of [`PATTERNS`], in byte mode and in Unicode mode.
    static SETS: std::sync::LazyLock<[(meta::Regex, meta::Regex); 2]> =
        std::sync::LazyLock::new(|| {
            [false, true].map(|unicode| {
                (
                    build_set(&PATTERNS, unicode, 1 << 22).unwrap(),
                    build_joined(&PATTERNS, unicode, 1 << 22).unwrap(),
                )
            })
        });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn joined_search_finds_what_the_values_hold(
            values in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), Just(b'x'),
                    Just(b'y'), Just(b' '), Just(b'/'), Just(b'\n'), Just(0xc3), Just(0xa9),
                    Just(b'r'), Just(b'O'), Just(b'0'), Just(b'A'), Just(b'B'), any::<u8>()], 0..8),
                0..6),
            unicode in any::<bool>(),
        ) {
            let (plain, joined) = SETS.get(usize::from(unicode)).unwrap();
            let mut want: Vec<usize> = values.iter().flat_map(|v| which(plain, v)).collect();
            want.sort_unstable();
            want.dedup();
            let mut buf = Vec::new();
            for (i, v) in values.iter().enumerate() {
                push(&mut buf, i, v);
            }
            if is_clean(&buf, values.len()) && !values.is_empty() {
                prop_assert_eq!(which(joined, &buf), want);
            }
        }
    }
}
