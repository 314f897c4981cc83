//! The `@rx` / `@pm` prefilter: one Aho-Corasick automaton over the necessary literals of every static `@rx` link
//! and the phrases of every `@pm` link (for `@pm` the filter is exact: its bit is set exactly when the operator
//! matches, which then runs only to capture). Each such link gets a slot, a bit in a [`Hits`] set.
//!
//! A transaction scans each distinct text once, the first time a prefiltered link inspects it, and keeps the slots
//! whose literals occur in it (see `State::text_hits`). Literals are matched ASCII case-insensitively, so a
//! transformed value that equals its raw value up to case (clean values, `t:lowercase`) reuses the raw value's
//! scan, and every chain that yields the same text shares one. A link whose bit is clear cannot match that value,
//! so its operator is not run (a `multiMatch` link skips the raw value and the steps' results that equal it up to
//! case). Links without a literal set (see [`crate::operator::Operator::required_literals`]), negated links, and
//! values that are not request data (built per evaluation, e.g. `TX`, `REQUEST_LINE`) always run their operator,
//! so results are exactly those of running every operator.

use std::collections::HashMap;

use crate::literal_dfa::LiteralDfa;
use crate::rule::Rule;

/// The prefilter of a rule set: one automaton over the literals of every prefiltered link.
#[derive(Debug, Default)]
pub(crate) struct Prefilters {
    /// `None` when no link is prefiltered (or the automaton could not be built).
    dfa: Option<LiteralDfa>,
    /// Per automaton pattern: the link slots it stands for.
    slots_of: Vec<Hits>,
    /// Per transformation chain id: how many prefiltered links use it.
    chain_links: Vec<u32>,
}

/// Most prefiltered links (the size of [`Hits`]); links beyond it always run.
const MAX_SLOTS: u32 = 256;

/// A bit set of link slots.
pub(crate) type Hits = [u64; 4];

impl Prefilters {
    /// Assigns every eligible link a slot (`Link::prefilter_slot`) and builds the automaton.
    pub(crate) fn build(rules: &mut [Rule]) -> Prefilters {
        // Literal → pattern index; pattern → slots.
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut slots_of: Vec<Vec<u32>> = Vec::new();
        let mut chain_links: Vec<u32> = Vec::new();
        let mut n: u32 = 0;
        for link in rules.iter_mut().flat_map(|r| r.links.iter_mut()) {
            link.prefilter_slot = None;
            let Some(op) = &link.operator else { continue };
            if op.negated || n >= MAX_SLOTS {
                continue;
            }
            let Some(lits) = op.operator.required_literals() else {
                continue;
            };
            let slot = n;
            n += 1;
            for l in lits {
                let next = slots_of.len();
                let p = *index.entry(l.to_ascii_lowercase()).or_insert(next);
                if p == next {
                    slots_of.push(Vec::new());
                }
                if let Some(s) = slots_of.get_mut(p) {
                    s.push(slot);
                }
            }
            link.prefilter_slot = Some(slot);
            let c = usize::try_from(link.chain_id).unwrap_or(usize::MAX);
            if c < (1 << 16) {
                if chain_links.len() <= c {
                    chain_links.resize(c + 1, 0);
                }
                if let Some(k) = chain_links.get_mut(c) {
                    *k += 1;
                }
            }
        }
        let mut pats: Vec<(usize, Vec<u8>)> = index.into_iter().map(|(l, p)| (p, l)).collect();
        pats.sort();
        let dfa = if pats.is_empty() {
            None
        } else {
            LiteralDfa::new(pats.iter().map(|(_, l)| l))
        };
        if dfa.is_none() {
            // Without an automaton every link must run.
            for link in rules.iter_mut().flat_map(|r| r.links.iter_mut()) {
                link.prefilter_slot = None;
            }
            return Prefilters::default();
        }
        let slots_of = slots_of
            .iter()
            .map(|slots| {
                let mut bits = Hits::default();
                for &s in slots {
                    set(&mut bits, s);
                }
                bits
            })
            .collect();
        Prefilters {
            dfa,
            slots_of,
            chain_links,
        }
    }

    /// How many prefiltered links use transformation chain `chain_id`.
    pub(crate) fn chain_links(&self, chain_id: u32) -> u32 {
        usize::try_from(chain_id)
            .ok()
            .and_then(|c| self.chain_links.get(c))
            .copied()
            .unwrap_or(0)
    }

    /// The slots whose literals occur in `input` (ASCII case-insensitively, so the result is the same for any
    /// text equal to `input` up to case).
    pub(crate) fn scan(&self, input: &[u8]) -> Hits {
        let mut bits = Hits::default();
        if let Some(dfa) = &self.dfa {
            dfa.for_each_match(input, |p| {
                if let Some(m) = self.slots_of.get(p) {
                    for (b, m) in bits.iter_mut().zip(m) {
                        *b |= m;
                    }
                }
            });
        }
        bits
    }
}

fn set(bits: &mut [u64], slot: u32) {
    let s = usize::try_from(slot).unwrap_or(usize::MAX);
    if let Some(w) = bits.get_mut(s / 64) {
        *w |= 1 << (s % 64);
    }
}

/// True when `slot` is in `bits`.
pub(crate) fn has(bits: &[u64], slot: u32) -> bool {
    let s = usize::try_from(slot).unwrap_or(usize::MAX);
    bits.get(s / 64).is_some_and(|w| w & (1 << (s % 64)) != 0)
}
