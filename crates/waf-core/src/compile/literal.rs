//! Required literals of a regex: byte strings at least one of which every match must contain. Evaluation looks for
//! them first (one Aho-Corasick pass, ASCII case-insensitive) and skips the regex when none occurs.
//!
//! This matters where the regex engine's own prefilter cannot help: it only uses literals a match *starts* (or
//! ends) with, so `(?:^|[/\\=&\s"':])\.\.[/\\;]` (CommonRuleSet `GenericLFI_BODY`) is run in full on every body, at
//! about 13 µs per kilobyte of JSON, although a match needs `..`.
//!
//! The analysis is conservative: a node without a usable literal makes its alternation (and a pattern without
//! one) unchecked. Letters are compared case-insensitively even where the pattern is case-sensitive, which only
//! weakens the condition (anything containing the exact bytes contains them case-insensitively).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Shortest literal worth a pre-check.
const MIN_LEN: usize = 2;
/// Most literals a pre-check may have. Larger sets (keyword lists such as the SQLi extended patterns, with `or`
/// among them) pass on most text, so the pre-check would only add a scan; a few short literals are searched fast.
const MAX_LITERALS: usize = 4;

/// Lower-case byte strings at least one of which (compared ASCII case-insensitively) every match of `pattern`
/// contains, parsed as the engine parses it (`unicode` mode or bytes); `None` when there is no useful set, or
/// when matches start with literals of their own (the engine's prefilter does the job then).
pub(crate) fn required_any(pattern: &str, unicode: bool) -> Option<Vec<Vec<u8>>> {
    let (hir, set) = required_set(pattern, unicode)?;
    // The engine already skips ahead to a literal every match starts with: a pre-check would only add a scan.
    let prefixes = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    if prefixes.is_finite() && prefixes.min_literal_len().is_some_and(|n| n >= MIN_LEN) {
        return None;
    }
    Some(set)
}

/// The parsed pattern and its required literals, when there are few enough, all long enough.
fn required_set(pattern: &str, unicode: bool) -> Option<(Hir, Vec<Vec<u8>>)> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    let set = required(&hir)?;
    if set.is_empty() || set.len() > MAX_LITERALS || set.iter().any(|l| l.len() < MIN_LEN) {
        return None;
    }
    Some((hir, set))
}

/// The byte `h` always matches, lower-cased, when it matches exactly one byte `c` or the two cases of an ASCII
/// letter.
fn one_byte(h: &Hir) -> Option<u8> {
    match h.kind() {
        HirKind::Literal(l) => match &*l.0 {
            [b] => Some(b.to_ascii_lowercase()),
            _ => None,
        },
        HirKind::Class(Class::Bytes(c)) => class_byte(
            c.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end()))),
            0x100,
        ),
        HirKind::Class(Class::Unicode(c)) => class_byte(
            c.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end()))),
            0x80,
        ),
        _ => None,
    }
}

/// `{x}` or `{lower, upper}` of one ASCII letter, with every member below `limit` (one byte in the input).
fn class_byte(ranges: impl Iterator<Item = (u32, u32)>, limit: u32) -> Option<u8> {
    let mut members: Vec<u8> = Vec::new();
    for (a, b) in ranges {
        if b >= limit || b.saturating_sub(a) > 1 {
            return None;
        }
        for x in a..=b {
            members.push(u8::try_from(x).ok()?);
        }
        if members.len() > 2 {
            return None;
        }
    }
    match members.as_slice() {
        [x] => Some(x.to_ascii_lowercase()),
        [x, y] if x != y && x.eq_ignore_ascii_case(y) => Some(x.to_ascii_lowercase()),
        _ => None,
    }
}

/// The better of two candidate sets: longer shortest literal, then fewer literals.
fn better(a: Option<Vec<Vec<u8>>>, b: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    let score = |s: &Vec<Vec<u8>>| {
        (
            s.iter().map(Vec::len).min().unwrap_or(0),
            usize::MAX - s.len(),
        )
    };
    match a {
        Some(a) if score(&a) >= score(&b) => Some(a),
        _ => Some(b),
    }
}

/// Literals at least one of which every match of `h` contains (`None`: no such set found).
fn required(h: &Hir) -> Option<Vec<Vec<u8>>> {
    match h.kind() {
        HirKind::Literal(l) => Some(vec![l.0.to_ascii_lowercase()]),
        HirKind::Class(_) => one_byte(h).map(|b| vec![vec![b]]),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Concat(parts) => {
            let mut best = None;
            let mut run: Vec<u8> = Vec::new();
            for part in parts {
                match part.kind() {
                    // Zero-width: the bytes on either side are adjacent in the input.
                    HirKind::Look(_) => continue,
                    HirKind::Literal(l) => {
                        run.extend(l.0.to_ascii_lowercase());
                        continue;
                    }
                    HirKind::Class(_) => {
                        if let Some(b) = one_byte(part) {
                            run.push(b);
                            continue;
                        }
                    }
                    _ => {}
                }
                if !run.is_empty() {
                    best = better(best, vec![std::mem::take(&mut run)]);
                }
                if let Some(s) = required(part) {
                    best = better(best, s);
                }
            }
            if !run.is_empty() {
                best = better(best, vec![run]);
            }
            best
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required(b)?);
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Empty | HirKind::Look(_) | HirKind::Repetition(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        required_any(p, false).map(|s| {
            s.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn finds_inner_and_case_insensitive_literals() {
        assert_eq!(
            lits(r#"(?:^|[/\\=&\s\"':])\.\.[/\\;]"#),
            Some(vec!["..".into()])
        );
        assert_eq!(
            lits(r"(?i)\s*union\s+select\b"),
            Some(vec!["select".into()])
        );
        assert_eq!(
            lits(r"(?i)\s*java\.lang\.x|\s*getruntime\s*\(|\bt\s*\(\s*java\."),
            Some(vec![
                "getruntime".into(),
                "java.".into(),
                "java.lang.x".into()
            ])
        );
        // Matches start with a literal: the engine's prefilter covers it.
        assert_eq!(lits(r"(?i)\bunion\s+select\b"), None);
        assert_eq!(lits(r"a|b"), None);
        assert_eq!(lits(r"ab|c"), None);
        assert_eq!(lits(r"\s*(?:abc)?def"), Some(vec!["def".into()]));
        assert_eq!(lits(r"x*"), None);
        assert_eq!(lits(r"\d{1,3}\.\d{1,3}"), None);
        assert_eq!(lits(r"\s*[ab]cd"), Some(vec!["cd".into()]));
        // Unicode case folding adds non-ASCII members (K: KELVIN SIGN): no literal there.
        assert_eq!(required_any(r"(?i)kk", true), None);
        assert_eq!(required_any(r"\s*(?i)ab", true), Some(vec![b"ab".to_vec()]));
    }

    /// Does any literal occur in `hay` (ASCII case-insensitively)?
    fn any_occurs(set: &[Vec<u8>], hay: &[u8]) -> bool {
        let hay = hay.to_ascii_lowercase();
        set.iter()
            .any(|l| hay.windows(l.len()).any(|w| w == l.as_slice()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Whenever a pattern matches, one of its required literals occurs.
        #[test]
        fn a_match_contains_a_required_literal(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "ab", "(?i)Cd", "x", "\\.\\.", "[/\\\\]", "\\s*", "\\b", "^", "(?:ef|gh)", "(?:ij)?", "k+", "\\d",
                "[Mm]", "(?i:no)", "|", "pq{2}", ".", "(?:rs|t)", "uv", "$",
            ]), 1..8),
            hay in "[a-vA-V0-9 ./\\\\]{0,40}",
        ) {
            let p = parts.concat();
            if let (Ok(re), Some((_, set))) = (regex::bytes::Regex::new(&p), required_set(&p, false))
                && re.is_match(hay.as_bytes())
            {
                proptest::prop_assert!(any_occurs(&set, hay.as_bytes()), "{} on {:?}: {:?}", p, hay, set);
            }
        }
    }
}
