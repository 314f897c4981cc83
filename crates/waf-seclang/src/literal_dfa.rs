//! A literal-set scanner: an Aho-Corasick DFA (from the `aho-corasick` crate) driven by a byte loop of our own.
//! The engine asks two questions of a literal set, and neither needs match positions: "does any literal occur?"
//! (`@pm` on a value that will not match, the common case) and "which literals occur?" (the `@rx` prefilter). The
//! crate's search iterators answer them through leftmost or overlapping searches that track positions and
//! per-match state; walking the DFA's transition table directly costs a table lookup and one comparison per byte.
//! The DFA uses standard (non-leftmost) semantics, so it enters a match state exactly at the end of every
//! occurrence of every literal: stopping at the first match state answers the first question, and visiting every
//! match state (each lists all literals ending there, suffixes included) answers the second.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

/// A set of literals, matched ASCII case-insensitively.
#[derive(Debug, Clone)]
pub(crate) struct LiteralDfa {
    dfa: DFA,
    start: StateID,
}

impl LiteralDfa {
    /// The DFA of `patterns` (empty patterns are the caller's business: they match everywhere). `None` when it
    /// cannot be built (too many states for the crate's state identifiers). Building takes time in proportion to
    /// the total length of the patterns (tens of milliseconds for 30 KB).
    pub(crate) fn new<I, P>(patterns: I) -> Option<LiteralDfa>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let dfa = aho_corasick::dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .prefilter(false)
            .start_kind(StartKind::Unanchored)
            .byte_classes(true)
            .build(patterns)
            .ok()?;
        let start = dfa.start_state(Anchored::No).ok()?;
        Some(LiteralDfa { dfa, start })
    }

    /// True when some literal occurs in `input`.
    #[inline]
    pub(crate) fn is_match(&self, input: &[u8]) -> bool {
        first_match(&self.dfa, self.start, input)
    }

    /// Calls `f` with the index of every literal that occurs in `input` (once per occurrence, in no useful order).
    #[inline]
    pub(crate) fn for_each_match(&self, input: &[u8], f: impl FnMut(usize)) {
        every_match(&self.dfa, self.start, input, f);
    }

    /// Heap bytes held by the automaton.
    #[cfg(test)]
    pub(crate) fn memory_usage(&self) -> usize {
        self.dfa.memory_usage()
    }
}

#[inline]
fn first_match<A: Automaton>(a: &A, start: StateID, input: &[u8]) -> bool {
    let mut sid = start;
    for &b in input {
        sid = a.next_state(Anchored::No, sid, b);
        if a.is_special(sid) {
            if a.is_match(sid) {
                return true;
            }
            if a.is_dead(sid) {
                return false;
            }
        }
    }
    false
}

#[inline]
fn every_match<A: Automaton>(a: &A, start: StateID, input: &[u8], mut f: impl FnMut(usize)) {
    let mut sid = start;
    for &b in input {
        sid = a.next_state(Anchored::No, sid, b);
        if a.is_special(sid) {
            if a.is_match(sid) {
                for i in 0..a.match_len(sid) {
                    f(a.match_pattern(sid, i).as_usize());
                }
            } else if a.is_dead(sid) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(pats: &[&str], input: &[u8]) -> Vec<usize> {
        let lower = input.to_ascii_lowercase();
        let mut v: Vec<usize> = pats
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                let p = p.to_ascii_lowercase();
                lower.windows(p.len()).any(|w| w == p.as_bytes())
            })
            .map(|(i, _)| i)
            .collect();
        v.sort_unstable();
        v
    }

    fn found(d: &LiteralDfa, input: &[u8]) -> Vec<usize> {
        let mut v = Vec::new();
        d.for_each_match(input, |p| v.push(p));
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn overlapping_and_suffix_literals_are_all_reported() {
        let pats = ["she", "he", "hers", "Select", "ele"];
        let d = LiteralDfa::new(pats).unwrap();
        assert_eq!(found(&d, b"uSHErs"), vec![0, 1, 2]);
        assert_eq!(found(&d, b"xSELECTx"), vec![3, 4]);
        assert!(d.is_match(b"..hE.."));
        assert!(!d.is_match(b"sh e"));
        assert!(!d.is_match(b""));
        assert!(d.memory_usage() > 0);
    }

    proptest! {
        #[test]
        fn agrees_with_naive_search(input in "[a-eA-E ]{0,40}") {
            let pats = ["ab", "b", "cde", "ABCDE", "ea", "dd", "e e"];
            let d = LiteralDfa::new(pats).unwrap();
            let want = naive(&pats, input.as_bytes());
            prop_assert_eq!(found(&d, input.as_bytes()), want.clone());
            prop_assert_eq!(d.is_match(input.as_bytes()), !want.is_empty());
        }
    }
}
