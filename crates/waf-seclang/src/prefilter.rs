//! The `@rx` / `@pm` prefilter: per transformation chain, one Aho-Corasick automaton over the necessary literals of
//! every static `@rx` link and the phrases of every `@pm` link that use that chain (for `@pm` the filter is exact:
//! its bit is set exactly when the operator matches, which then runs only to capture).
//!
//! A transaction scans each (request value, chain) pair once, the first time a prefiltered link inspects it, and
//! keeps the result as a bit set of the chain's links whose literals occur in the transformed value (see
//! `State::transform_cache`). A link whose bit is clear cannot match that value, so its regex is not run. Links
//! without a literal set (see [`crate::operator::Operator::required_literals`]), negated or `multiMatch` links,
//! and values that are not request data (built per evaluation, e.g. `TX`, `REQUEST_LINE`) always run their
//! operator, so results are exactly those of running every regex.

use std::collections::HashMap;

use crate::literal_dfa::LiteralDfa;
use crate::rule::Rule;

/// The prefilters of a rule set, indexed by transformation chain id.
#[derive(Debug, Default)]
pub(crate) struct Prefilters {
    chains: Vec<Option<ChainFilter>>,
}

/// The automaton of one chain.
#[derive(Debug)]
pub(crate) struct ChainFilter {
    dfa: LiteralDfa,
    /// Per automaton pattern: the link slots it stands for.
    slots_of: Vec<Hits>,
}

/// Most prefiltered links per chain (the size of [`Hits`]); links beyond it always run.
const MAX_SLOTS: u32 = 256;
/// Fewest prefiltered links a chain needs for its automaton to pay: one scan costs about as much as a regex.
const MIN_LINKS: usize = 2;

/// A bit set of link slots.
pub(crate) type Hits = [u64; 4];

impl Prefilters {
    /// Assigns every eligible link a slot in its chain (`Link::prefilter_slot`) and builds the automata.
    pub(crate) fn build(rules: &mut [Rule]) -> Prefilters {
        // Per chain id: literal → pattern index, pattern → slots, slot count.
        type Acc = (HashMap<Vec<u8>, usize>, Vec<Vec<u32>>, u32);
        let mut acc: HashMap<u32, Acc> = HashMap::new();
        for link in rules.iter_mut().flat_map(|r| r.links.iter_mut()) {
            link.prefilter_slot = None;
            let Some(op) = &link.operator else { continue };
            if op.negated || link.multi_match {
                continue;
            }
            let Some(lits) = op.operator.required_literals() else {
                continue;
            };
            let (index, slots_of, n) = acc.entry(link.chain_id).or_default();
            if *n >= MAX_SLOTS {
                continue;
            }
            let slot = *n;
            *n += 1;
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
        }
        let mut chains: Vec<Option<ChainFilter>> = Vec::new();
        for (chain, (index, slots_of, n)) in acc {
            if usize::try_from(n).unwrap_or(0) < MIN_LINKS {
                drop_slots(rules, chain);
                continue;
            }
            let mut pats: Vec<(usize, Vec<u8>)> = index.into_iter().map(|(l, p)| (p, l)).collect();
            pats.sort();
            let Some(dfa) = LiteralDfa::new(pats.iter().map(|(_, l)| l)) else {
                // Without an automaton every link of the chain must run.
                drop_slots(rules, chain);
                continue;
            };
            let i = usize::try_from(chain).unwrap_or(usize::MAX);
            if chains.len() <= i {
                chains.resize_with(i + 1, || None);
            }
            if let Some(c) = chains.get_mut(i) {
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
                *c = Some(ChainFilter { dfa, slots_of });
            }
        }
        Prefilters { chains }
    }

    /// The automaton of chain `chain_id`, if it has one.
    pub(crate) fn chain(&self, chain_id: u32) -> Option<&ChainFilter> {
        self.chains
            .get(usize::try_from(chain_id).ok()?)
            .and_then(Option::as_ref)
    }
}

/// Takes the prefilter slots of `chain`'s links away: they always run.
fn drop_slots(rules: &mut [Rule], chain: u32) {
    for link in rules.iter_mut().flat_map(|r| r.links.iter_mut()) {
        if link.chain_id == chain {
            link.prefilter_slot = None;
        }
    }
}

impl ChainFilter {
    /// The slots whose literals occur in `input`.
    pub(crate) fn scan(&self, input: &[u8]) -> Hits {
        let mut bits = Hits::default();
        self.dfa.for_each_match(input, |p| {
            if let Some(m) = self.slots_of.get(p) {
                for (b, m) in bits.iter_mut().zip(m) {
                    *b |= m;
                }
            }
        });
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
