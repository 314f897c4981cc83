//! Regex sets searched with caches each thread owns.
//!
//! `regex::bytes::RegexSet` keeps its search caches in a pool: the thread that first used the set takes a fast
//! path, every other thread locks a mutex to borrow a cache and again to return it, on every search. A proxy
//! evaluates each request on one of several worker threads, so most searches paid that. Here the sets are
//! `regex_automata::meta::Regex`es built exactly as `RegexSetBuilder` builds them (same match semantics), and
//! each thread keeps one cache per set of each plan it evaluated recently ([`Caches`]), taken out for the
//! duration of one request and put back afterwards.
//!
//! A cache must only ever be used with the regex that created it: caches are keyed by the plan's id (unique per
//! compiled plan, see [`next_plan_id`]) and the set's slot in that plan, and a plan's sets never change.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet, meta};

/// `regex::bytes::RegexSetBuilder`'s lazy DFA cache capacity (its default), kept for identical behaviour.
const HYBRID_CACHE_CAPACITY: usize = 2 * (1 << 20);

/// Plans a thread keeps caches for; the least recently used beyond this are dropped.
const PLANS_PER_THREAD: usize = 8;

/// Compiles `patterns` as one set in byte mode (`.` is any byte) or, with `unicode`, Unicode mode: the
/// configuration `regex::bytes::RegexSetBuilder::new(patterns).unicode(unicode).size_limit(size_limit)` uses.
/// The error is the build error's message.
pub(crate) fn build_set(
    patterns: &[&str],
    unicode: bool,
    size_limit: usize,
) -> Result<meta::Regex, String> {
    let (metac, syntaxc) = set_config(unicode, size_limit);
    meta::Builder::new()
        .configure(metac)
        .syntax(syntaxc)
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

/// The regex and syntax settings of [`build_set`].
pub(crate) fn set_config(unicode: bool, size_limit: usize) -> (meta::Config, syntax::Config) {
    let metac = meta::Config::new()
        .nfa_size_limit(Some(size_limit))
        .hybrid_cache_capacity(HYBRID_CACHE_CAPACITY)
        .match_kind(MatchKind::All)
        .utf8_empty(false)
        .which_captures(WhichCaptures::None);
    (metac, syntax::Config::new().unicode(unicode).utf8(false))
}

/// A fresh identity for a compiled plan (never 0, the id of a plan not built by the compiler).
pub(crate) fn next_plan_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// Per plan id, the caches of its sets (index = the set's cache slot), most recently used last.
    static THREAD_CACHES: RefCell<Vec<(u64, Vec<Option<meta::Cache>>)>> = const { RefCell::new(Vec::new()) };
}

/// The caches of one plan's regex sets for the current request, on loan from the thread.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    plan: u64,
    list: Vec<Option<meta::Cache>>,
}

impl Caches {
    /// Takes the thread's caches for `plan`, which has `sets` regex sets (none created yet if the thread has
    /// not evaluated `plan` recently).
    pub(crate) fn take(plan: u64, sets: usize) -> Caches {
        let list = THREAD_CACHES
            .try_with(|t| {
                let mut t = t.try_borrow_mut().ok()?;
                let i = t.iter().position(|(id, _)| *id == plan)?;
                Some(t.remove(i).1)
            })
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut c = Caches { plan, list };
        if c.list.len() < sets {
            c.list.resize_with(sets, || None);
        }
        c
    }

    /// Whether `re` (whose cache slot is `slot`) matches somewhere in `haystack`.
    #[inline]
    pub(crate) fn is_match(&mut self, slot: usize, re: &meta::Regex, haystack: &[u8]) -> bool {
        let input = Input::new(haystack);
        match self.cache(slot, re) {
            Some(cache) => re.is_match_with(cache, &input),
            None => re.is_match(input),
        }
    }

    /// The patterns of `re` (whose cache slot is `slot`) that match somewhere in `haystack`.
    pub(crate) fn matches(&mut self, slot: usize, re: &meta::Regex, haystack: &[u8]) -> PatternSet {
        let input = Input::new(haystack);
        let mut set = PatternSet::new(re.pattern_len());
        match self.cache(slot, re) {
            Some(cache) => re.which_overlapping_matches_with(cache, &input, &mut set),
            None => re.which_overlapping_matches(&input, &mut set),
        }
        set
    }

    #[inline]
    fn cache(&mut self, slot: usize, re: &meta::Regex) -> Option<&mut meta::Cache> {
        let entry = self.list.get_mut(slot)?;
        Some(entry.get_or_insert_with(|| re.create_cache()))
    }
}

impl Drop for Caches {
    fn drop(&mut self) {
        if self.plan == 0 || self.list.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.list);
        let plan = self.plan;
        // During thread teardown the store may be gone: the caches are then simply freed.
        let _ = THREAD_CACHES.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                if t.len() >= PLANS_PER_THREAD {
                    t.remove(0);
                }
                t.push((plan, list));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::bytes::RegexSetBuilder;

    const PATTERNS: [&str; 4] = [r"(?i)union\s+select", r"<script", r"\.\./", r"^[a-z]+=\d+$"];

    #[test]
    fn caches_return_to_the_thread_and_are_reused() {
        let re = build_set(&PATTERNS, false, 1 << 20).unwrap();
        let id = next_plan_id();
        {
            let mut c = Caches::take(id, 4);
            assert!(c.is_match(3, &re, b"a UNION  select b"));
            assert!(!c.is_match(3, &re, b"harmless"));
            assert_eq!(c.list.len(), 4);
        }
        let mut c = Caches::take(id, 4);
        assert!(c.list.get(3).is_some_and(Option::is_some));
        let got: Vec<usize> = c
            .matches(3, &re, b"x=1")
            .iter()
            .map(|p| p.as_usize())
            .collect();
        assert_eq!(got, vec![3]);
        // Another plan's caches are separate.
        assert!(
            Caches::take(next_plan_id(), 4)
                .list
                .iter()
                .all(Option::is_none)
        );
        // A slot past the planned number falls back to the set's own pool.
        assert!(!c.is_match(9, &re, b"nothing"));
    }

    proptest! {
        #[test]
        fn same_answers_as_regex_set(
            hay in proptest::collection::vec(prop_oneof![Just(b'<'), Just(b'.'), Just(b'/'), Just(b'='),
                Just(b'1'), Just(b'a'), Just(b' '), any::<u8>()], 0..40),
            unicode in any::<bool>(),
        ) {
            let ours = build_set(&PATTERNS, unicode, 1 << 20).unwrap();
            let theirs = RegexSetBuilder::new(PATTERNS).unicode(unicode).build().unwrap();
            // A cache belongs to one regex: every case builds new ones, so it takes a new plan id.
            let mut c = Caches::take(next_plan_id(), 1);
            prop_assert_eq!(c.is_match(0, &ours, &hay), theirs.is_match(&hay));
            let a: Vec<usize> = c.matches(0, &ours, &hay).iter().map(|p| p.as_usize()).collect();
            let b: Vec<usize> = theirs.matches(&hay).iter().collect();
            prop_assert_eq!(a, b);
        }
    }
}
