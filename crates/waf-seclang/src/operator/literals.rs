//! Necessary literals of a regular expression: a small set of byte strings such that every match of the
//! expression contains at least one of them (compared ASCII case-insensitively).
//!
//! The engine uses them as a prefilter: one Aho-Corasick pass over a value tells which `@rx` rules can possibly
//! match it, and only those run their regex. The set over-approximates on purpose — literals are lowercased and
//! searched case-insensitively, and a literal may be a piece of a longer required string — so a rule is skipped
//! only when its regex certainly does not match. Patterns without a useful set (an empty match is possible, or
//! only single letters are required) get `None` and always run.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Most literals a set may hold.
const MAX_SET: usize = 64;
/// Longest literal kept; longer required strings are cut (any piece of a required string is required too).
const MAX_LEN: usize = 12;
/// Most distinct bytes (after case folding) a character class may have and still count as literal bytes.
const MAX_CLASS: usize = 6;
/// The same for a class of punctuation only (no letter, digit or space), which ordinary text rarely contains.
const MAX_PUNCT_CLASS: usize = 40;

/// The lowercase literal set of a pattern already translated to `regex` syntax and compiled with the engine's
/// flags (Unicode off, `s` and `m` on), or `None` when it has no useful one.
pub(crate) fn necessary(translated: &str) -> Option<Vec<Vec<u8>>> {
    let hir = ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .nest_limit(200)
        .build()
        .parse(translated)
        .ok()?;
    let info = analyse(&hir, 0);
    let set = best(info.inner, info.exact)?;
    useful(&set).then_some(set)
}

/// What is known about the strings a sub-expression matches.
#[derive(Debug, Default)]
struct Info {
    /// The sub-expression matches exactly one of these strings (lowercased; `""` allowed).
    exact: Option<Vec<Vec<u8>>>,
    /// Every match contains one of these (never holds `""`).
    inner: Option<Vec<Vec<u8>>>,
}

fn analyse(hir: &Hir, depth: usize) -> Info {
    if depth > 200 {
        return Info::default();
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info {
            exact: Some(vec![Vec::new()]),
            inner: None,
        },
        HirKind::Literal(lit) => {
            let mut b = lit.0.to_vec();
            b.make_ascii_lowercase();
            if b.len() > MAX_LEN {
                let cut = b.get(..MAX_LEN).map(<[u8]>::to_vec).unwrap_or_default();
                return Info {
                    exact: None,
                    inner: Some(vec![cut]),
                };
            }
            Info {
                exact: Some(vec![b]),
                inner: None,
            }
        }
        HirKind::Class(class) => Info {
            exact: class_bytes(class).map(|bs| bs.into_iter().map(|b| vec![b]).collect()),
            inner: None,
        },
        HirKind::Capture(c) => analyse(&c.sub, depth + 1),
        HirKind::Repetition(r) => {
            if r.min == 0 {
                return Info::default();
            }
            let sub = analyse(&r.sub, depth + 1);
            let exact = if r.min == 1 && r.max == Some(1) {
                sub.exact.clone()
            } else {
                None
            };
            Info {
                exact,
                inner: best(sub.inner, sub.exact),
            }
        }
        HirKind::Concat(subs) => concat(subs, depth),
        HirKind::Alternation(subs) => {
            let infos: Vec<Info> = subs.iter().map(|s| analyse(s, depth + 1)).collect();
            let mut exact: Option<Vec<Vec<u8>>> = Some(Vec::new());
            for i in &infos {
                exact = match (exact, &i.exact) {
                    (Some(mut acc), Some(e)) if acc.len() + e.len() <= MAX_SET => {
                        acc.extend(e.iter().cloned());
                        Some(acc)
                    }
                    _ => None,
                };
            }
            let mut inner: Option<Vec<Vec<u8>>> = Some(Vec::new());
            for i in infos {
                inner = match (inner, best(i.inner, i.exact)) {
                    (Some(mut acc), Some(s)) if acc.len() + s.len() <= MAX_SET * 4 => {
                        acc.extend(s);
                        Some(acc)
                    }
                    _ => None,
                };
            }
            Info {
                exact: exact.map(dedup),
                inner: inner.map(dedup),
            }
        }
    }
}

fn concat(subs: &[Hir], depth: usize) -> Info {
    // `run` is the cross product of the exact sets of the consecutive exact children seen last.
    let mut run: Vec<Vec<u8>> = vec![Vec::new()];
    let mut all_exact = true;
    let mut cand: Option<Vec<Vec<u8>>> = None;
    for s in subs {
        let info = analyse(s, depth + 1);
        match info.exact {
            Some(e) => match cross(&run, &e) {
                Some(next) => run = next,
                None => {
                    all_exact = false;
                    cand = best(cand, Some(std::mem::take(&mut run)));
                    // The run restarts with this child; its own set is necessary as well.
                    run = e;
                    if run.iter().any(|l| l.len() > MAX_LEN) {
                        cand = best(cand, Some(std::mem::take(&mut run)));
                        run = vec![Vec::new()];
                    }
                }
            },
            None => {
                all_exact = false;
                cand = best(cand, Some(std::mem::replace(&mut run, vec![Vec::new()])));
                cand = best(cand, info.inner);
            }
        }
    }
    if all_exact {
        return Info {
            inner: best(cand, Some(run.clone())),
            exact: Some(run),
        };
    }
    Info {
        exact: None,
        inner: best(cand, Some(run)),
    }
}

/// Every concatenation `a + b`, or `None` when the product is too big or a literal too long.
fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_LEN {
                return None;
            }
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(dedup(out))
}

fn dedup(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v.dedup();
    v
}

/// The distinct lowercase bytes a class matches, when there are few.
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut add = |lo: u32, hi: u32| -> bool {
        if hi.saturating_sub(lo) > 64 {
            return false;
        }
        for c in lo..=hi {
            let Ok(b) = u8::try_from(c) else {
                return false;
            };
            let b = b.to_ascii_lowercase();
            if !out.contains(&b) {
                out.push(b);
            }
            if out.len() > MAX_PUNCT_CLASS {
                return false;
            }
        }
        true
    };
    let ok = match class {
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .all(|r| add(u32::from(r.start()), u32::from(r.end()))),
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .all(|r| add(u32::from(r.start()), u32::from(r.end()))),
    };
    out.sort_unstable();
    let plain = out
        .iter()
        .any(|b| b.is_ascii_alphanumeric() || *b == b' ' || *b == b'\t');
    (ok && !out.is_empty() && (out.len() <= MAX_CLASS || !plain)).then_some(out)
}

/// The better of two necessary sets (either may be absent; a set holding `""` is no use).
fn best(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let a = a.filter(|s| !s.is_empty() && s.iter().all(|l| !l.is_empty()));
    let b = b.filter(|s| !s.is_empty() && s.iter().all(|l| !l.is_empty()));
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A useful set (see [`useful`]) first, then a longer shortest literal, then fewer literals.
fn score(s: &[Vec<u8>]) -> (bool, usize, isize) {
    let min = s.iter().map(Vec::len).min().unwrap_or(0).min(4);
    (
        useful(s),
        min,
        -isize::try_from(s.len()).unwrap_or(isize::MAX),
    )
}

/// False when a literal is so common in ordinary text (one letter, digit, space or tab) that filtering is
/// pointless.
fn useful(set: &[Vec<u8>]) -> bool {
    !set.is_empty()
        && set.iter().all(|l| match l.as_slice() {
            [] => false,
            [b] => !(b.is_ascii_alphanumeric() || *b == b' ' || *b == b'\t'),
            _ => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> Option<Vec<String>> {
        necessary(p).map(|s| {
            s.into_iter()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect()
        })
    }

    #[test]
    fn literals_of_simple_patterns() {
        assert_eq!(n("(?i)select"), Some(vec!["select".to_owned()]));
        assert_eq!(
            n("(?i)(?:union|select)\\s+from"),
            Some(vec!["from".to_owned()])
        );
        assert_eq!(
            n("(?:<script|javascript:)"),
            Some(vec!["<script".to_owned(), "javascript:".to_owned()])
        );
        assert_eq!(n("a*"), None);
        assert_eq!(n("^$"), None);
        assert_eq!(n("[a-z]+"), None);
        assert_eq!(n("(?:x|y)z?"), None);
        assert_eq!(n("'"), Some(vec!["'".to_owned()]));
        // A punctuation byte beats a letter of the same length, which would be no use.
        assert_eq!(n("u\\s*\\("), Some(vec!["(".to_owned()]));
        assert_eq!(n("(?i)s\\s*:"), Some(vec![":".to_owned()]));
        assert_eq!(
            n("(?:foo|)bar"),
            Some(vec!["bar".to_owned(), "foobar".to_owned()])
        );
    }

    proptest::proptest! {
        /// Whenever the regex matches, one of the literals occurs (case-insensitively) in the input.
        #[test]
        fn literals_are_necessary(
            pat in "(?:[a-cA-C'<]|\\(\\?i\\)|\\||\\*|\\+|\\?|\\(|\\)){1,12}",
            input in "[a-cA-C'< ]{0,16}",
        ) {
            let Ok(re) = regex::bytes::RegexBuilder::new(&pat)
                .unicode(false).dot_matches_new_line(true).multi_line(true).build() else {
                return Ok(());
            };
            if let Some(set) = necessary(&pat) && re.is_match(input.as_bytes()) {
                let hay = input.to_ascii_lowercase();
                let found = set.iter().any(|l| hay.as_bytes().windows(l.len()).any(|w| w == l.as_slice()));
                proptest::prop_assert!(found, "pattern {pat:?} input {input:?} set {set:?}");
            }
        }
    }
}
