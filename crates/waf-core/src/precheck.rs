//! Pre-checks of regex sets: a cheap search for something every match of a set contains, run before the set's
//! own search, which is skipped when it finds nothing. `compile::literal` finds the requirements; this module
//! searches for them.

use aho_corasick::{AhoCorasick, MatchKind, packed};

use crate::compile::literal::{MAX_MIXED_LITERAL_LEN, Mixed};

/// Shortest value a mixed pre-check looks at. Shorter values are left to the set's search: they are cheap to
/// search, and most are already ruled out by byte requirements (`crate::needs`) and gates (`crate::gate`); a check
/// that passes is pure cost. Measured with callgrind on the managed groups of `examples/managed_cost.rs`: on a
/// JSON body without SQL the SQLi check saves 0.6k instructions at 64 bytes, 1.4k at 128, 2.1k at 256, 7.2k at
/// 1 KB; checking every value costs the simple GET 0.9k and the browser GET 2.3k, while 64, 128 and 256 cost them
/// nothing (their checked values are shorter or ruled out before).
pub(crate) const LONG: usize = 128;

/// How many bytes of a value are lower-cased at a time for the literal search (on the stack; a piece overlaps
/// the previous one by the longest literal's length less one, so no occurrence is missed).
const PIECE: usize = 2048;

/// A necessary condition for a regex set to match a value.
#[derive(Debug)]
pub(crate) enum Precheck {
    /// One of these literals occurs (ASCII case-insensitively); checked on every value.
    Literals(AhoCorasick),
    /// One of some rare bytes or one of some literals occurs; checked on values of at least [`LONG`] bytes.
    Mixed(MixedCheck),
}

impl Precheck {
    /// Whether `value` meets the condition (so the set must be searched).
    #[inline]
    pub(crate) fn admits(&self, value: &[u8]) -> bool {
        match self {
            Precheck::Literals(ac) => ac.is_match(value),
            Precheck::Mixed(m) => value.len() < LONG || m.holds(value),
        }
    }
}

/// The search for a [`Mixed`] requirement.
#[derive(Debug)]
pub(crate) struct MixedCheck {
    /// The rare bytes (no letters, so searched in the value as is); `None` when there are none.
    bytes: Option<Search>,
    /// The lower-case literals, searched in lower-cased pieces of the value; `None` when there are none.
    literals: Option<Search>,
    /// The longest literal's length.
    longest: usize,
}

impl MixedCheck {
    /// The check for `req`; `None` if its automaton cannot be built.
    pub(crate) fn new(req: &Mixed) -> Option<MixedCheck> {
        let singles: Vec<Vec<u8>> = req.bytes.iter().map(|b| vec![*b]).collect();
        let bytes = Search::new(&singles)?;
        let literals = Search::new(&req.literals)?;
        let longest = req.literals.iter().map(Vec::len).max().unwrap_or(0);
        // Pieces must overlap by less than their length for the search to move forward.
        (longest <= MAX_MIXED_LITERAL_LEN && MAX_MIXED_LITERAL_LEN < PIECE).then(|| MixedCheck {
            bytes,
            literals,
            longest,
        })
    }

    /// Whether `value` holds one of the bytes or one of the literals.
    fn holds(&self, value: &[u8]) -> bool {
        if self.bytes.as_ref().is_some_and(|s| s.occurs(value)) {
            return true;
        }
        let Some(ac) = &self.literals else {
            return false;
        };
        let step = PIECE - self.longest.saturating_sub(1);
        let mut lower = [0u8; PIECE];
        let mut start = 0;
        while let Some(piece) = value.get(start..value.len().min(start + PIECE)) {
            let copy = lower.get_mut(..piece.len()).unwrap_or_default();
            for (d, s) in copy.iter_mut().zip(piece) {
                *d = s.to_ascii_lowercase();
            }
            if ac.occurs(copy) {
                return true;
            }
            if start + piece.len() >= value.len() {
                break;
            }
            start += step;
        }
        false
    }
}

/// The search for a few byte strings (single bytes, or literals).
#[derive(Debug)]
enum Search {
    /// A SIMD (Teddy) search, where the CPU has one: one pass for all of them. An automaton's own prefilter
    /// picks rare bytes of the literals instead, and on text they occur so often that the search cost more than the
    /// regex it was to spare (+60k instructions on the 1 KB JSON body of the benchmark); for single bytes it is
    /// `memchr3`, a pass per three bytes (+2.9k on the 8 KB form body, whose first bytes missed).
    Packed(packed::Searcher),
    /// An Aho-Corasick automaton, elsewhere.
    Automaton(AhoCorasick),
}

impl Search {
    /// The search for `patterns`: `Ok(None)` when there are none, `None` when it cannot be built.
    fn new(patterns: &[Vec<u8>]) -> Option<Option<Search>> {
        if patterns.is_empty() {
            return Some(None);
        }
        if let Some(s) = packed::Config::new().builder().extend(patterns).build() {
            return Some(Some(Search::Packed(s)));
        }
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .ok()
            .map(|ac| Some(Search::Automaton(ac)))
    }

    /// Whether one of the patterns occurs in `hay`.
    fn occurs(&self, hay: &[u8]) -> bool {
        match self {
            Search::Packed(s) => s.find(hay).is_some(),
            Search::Automaton(ac) => ac.is_match(hay),
        }
    }
}

// Mixed pre-checks (the literal pre-checks stay on).
optimisation_switch!(mixed_enabled);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], literals: &[&str]) -> MixedCheck {
        MixedCheck::new(&Mixed {
            bytes: bytes.to_vec(),
            literals: literals.iter().map(|l| l.as_bytes().to_vec()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn finds_bytes_and_literals_anywhere_in_long_values() {
        let c = check(b"(;=<", &["union", "information_schema"]);
        let pad = "x".repeat(PIECE * 2 + 7);
        for hay in [
            format!("{pad}("),
            format!("<{pad}"),
            format!("{pad}UnIoN"),
            // Across the boundary of the first two pieces.
            format!("{}INFORMATION_schema{pad}", "y".repeat(PIECE - 9)),
        ] {
            assert!(c.holds(hay.as_bytes()), "{}", hay.len());
        }
        assert!(!c.holds(pad.as_bytes()));
        assert!(!c.holds(format!("{pad}unio n information-schema").as_bytes()));
        assert!(!check(b"", &["abc"]).holds(b""));
    }

    #[test]
    fn short_values_pass_without_a_search() {
        let p = Precheck::Mixed(check(b"(", &["union"]));
        assert!(p.admits(b"nothing here"));
        assert!(!p.admits("z".repeat(LONG).as_bytes()));
        assert!(p.admits(format!("{}(", "z".repeat(LONG)).as_bytes()));
    }
}
