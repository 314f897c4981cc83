//! Request counting for `RateBasedStatement`: how many requests an aggregation instance made in the trailing
//! evaluation window.
//!
//! AWS counts over the trailing `EvaluationWindowSec` (60, 120, 300 or 600 s) and re-checks every 10–30 s, so its
//! decisions lag. Portcullis counts on every request: [`RateCounter::add`] records the request and returns the
//! count at once, so the rule acts on the very request that crosses the limit.
//!
//! # Sliding window and its error bound
//!
//! Each key keeps [`BUCKETS`] (60) sub-buckets of `window_ms / 60` milliseconds each (1 s for a 60 s window, 10 s
//! for 600 s). The count is the sum of the buckets whose index is within the last 60, the current one included.
//! A request therefore stays counted for at least `window − window/60` and at most `window` after it arrived: the
//! counter never counts a request older than the window, and it may drop requests that are between
//! `window − window/60` and `window` old, i.e. it undercounts by at most the requests of one sub-bucket (1/60 of
//! the window, 1.7 %). Clocks that step backwards are treated as "now = the latest time seen" for that key.
//!
//! Keys are opaque bytes built by the evaluator (aggregation key values plus the rule's identity). A key is
//! expected to be used with one window; a call with a different window restarts that key's count.
//!
//! # Memory bound of [`InMemoryRateCounter`]
//!
//! Keys live in [`SHARDS`] shards, each a `Mutex` over a map plus a dense slot vector. Every key costs about
//! 350 bytes plus twice its length (≈ 40 MB at the default cap of 100,000 keys, `max_keys`). When a shard is
//! full and a new key arrives:
//!
//! 1. keys idle for longer than their window (their count is zero) are swept out, at most once per second per
//!    shard (and also whenever [`InMemoryRateCounter::purge_idle`] is called);
//! 2. if the shard is still full, the key with the smallest current count among 8 randomly sampled keys (all
//!    keys when the shard holds at most 8) is evicted (an approximate least-frequently-used policy, as Redis does): heavy hitters, the keys a rate rule
//!    exists to catch, survive a flood of one-off keys.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Number of sub-buckets per window.
pub const BUCKETS: usize = 60;

/// Number of independently locked shards in [`InMemoryRateCounter`].
pub const SHARDS: usize = 32;

/// Default cap on keys tracked by [`InMemoryRateCounter::new`].
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// How many keys are sampled when a full shard must evict one.
const EVICTION_SAMPLE: usize = 8;

/// Minimum time between two idle sweeps of one shard, in milliseconds.
const SWEEP_INTERVAL_MS: u64 = 1_000;

/// Counts requests per key over a trailing window. Implementations are shared between request tasks.
pub trait RateCounter: Send + Sync {
    /// Records one request for `key` at `now_ms` (milliseconds since any fixed epoch) and returns how many
    /// requests for `key` fall in the trailing `window_secs` window, this one included (so at least 1).
    fn add(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64;

    /// Like [`RateCounter::add`] without recording a request: the number of requests for `key` in the trailing
    /// `window_secs` window at `now_ms` (0 for an unknown key).
    fn count(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64;
}

/// The sliding window of one key.
#[derive(Debug, Clone)]
struct Window {
    /// Width of one bucket in milliseconds (≥ 1).
    bucket_ms: u64,
    /// Absolute index (`time / bucket_ms`) of the newest bucket.
    head: u64,
    /// Ring of counts; the bucket with absolute index `i` lives at `i % BUCKETS`.
    buckets: [u32; BUCKETS],
    /// Sum of `buckets`.
    total: u64,
}

impl Window {
    fn new(bucket_ms: u64, now_ms: u64) -> Window {
        Window {
            bucket_ms,
            head: now_ms / bucket_ms,
            buckets: [0; BUCKETS],
            total: 0,
        }
    }

    /// Moves the head to `now_ms`, zeroing buckets that fell out of the window.
    fn advance(&mut self, now_ms: u64) {
        let idx = now_ms / self.bucket_ms;
        if idx <= self.head {
            return; // same bucket, or the clock stepped back: keep counting in the newest bucket
        }
        let steps = idx - self.head;
        if steps >= BUCKETS as u64 {
            self.buckets = [0; BUCKETS];
            self.total = 0;
        } else {
            for i in 1..=steps {
                let slot = slot(self.head + i);
                if let Some(b) = self.buckets.get_mut(slot) {
                    self.total -= u64::from(*b);
                    *b = 0;
                }
            }
        }
        self.head = idx;
    }

    fn record(&mut self) {
        if let Some(b) = self.buckets.get_mut(slot(self.head))
            && *b < u32::MAX
        {
            *b += 1;
            self.total += 1;
        }
    }

    /// The count at `now_ms` without modifying the window.
    fn count_at(&self, now_ms: u64) -> u64 {
        let idx = now_ms / self.bucket_ms;
        if idx <= self.head {
            return self.total;
        }
        let steps = idx - self.head;
        if steps >= BUCKETS as u64 {
            return 0;
        }
        // Buckets head-(BUCKETS-1-steps) ..= head are still inside the window.
        let keep = BUCKETS as u64 - steps;
        (0..keep)
            .filter_map(|back| self.head.checked_sub(back))
            .filter_map(|abs| self.buckets.get(slot(abs)))
            .map(|&b| u64::from(b))
            .sum()
    }
}

fn slot(abs: u64) -> usize {
    (abs % BUCKETS as u64) as usize
}

fn bucket_ms(window_secs: u32) -> u64 {
    (u64::from(window_secs.max(1)) * 1000 / BUCKETS as u64).max(1)
}

#[derive(Debug)]
struct Slot {
    key: Box<[u8]>,
    window: Window,
}

#[derive(Debug)]
struct Shard {
    index: HashMap<Box<[u8]>, usize>,
    slots: Vec<Slot>,
    cap: usize,
    rng: u64,
    last_sweep_ms: Option<u64>,
}

impl Shard {
    fn new(cap: usize, seed: u64) -> Shard {
        Shard {
            index: HashMap::new(),
            slots: Vec::new(),
            cap,
            rng: seed | 1,
            last_sweep_ms: None,
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: cheap, and only used to pick eviction samples.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn remove_at(&mut self, i: usize) {
        if i >= self.slots.len() {
            return;
        }
        let removed = self.slots.swap_remove(i);
        self.index.remove(&removed.key);
        if let Some(moved) = self.slots.get(i)
            && let Some(pos) = self.index.get_mut(&moved.key)
        {
            *pos = i;
        }
    }

    /// Drops every key whose window holds no request at `now_ms`.
    fn sweep(&mut self, now_ms: u64) {
        let mut i = 0;
        while i < self.slots.len() {
            let idle = self
                .slots
                .get(i)
                .is_some_and(|s| s.window.count_at(now_ms) == 0);
            if idle {
                self.remove_at(i);
            } else {
                i += 1;
            }
        }
        self.last_sweep_ms = Some(now_ms);
    }

    /// Makes room for one more key.
    fn make_room(&mut self, now_ms: u64) {
        if self.slots.len() < self.cap {
            return;
        }
        let due = self
            .last_sweep_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= SWEEP_INTERVAL_MS || now_ms < t);
        if due {
            self.sweep(now_ms);
        }
        while self.slots.len() >= self.cap && !self.slots.is_empty() {
            let len = self.slots.len();
            let mut victim: Option<(usize, u64)> = None;
            for n in 0..EVICTION_SAMPLE.min(len) {
                // Small shards are scanned whole; larger ones sampled (with replacement).
                let i = if len <= EVICTION_SAMPLE {
                    n
                } else {
                    (self.next_random() % len as u64) as usize
                };
                let c = self.slots.get(i).map_or(0, |s| s.window.count_at(now_ms));
                if victim.is_none_or(|(_, best)| c < best) {
                    victim = Some((i, c));
                }
            }
            match victim {
                Some((i, _)) => self.remove_at(i),
                None => break,
            }
        }
    }

    fn add(&mut self, key: &[u8], bucket_ms: u64, now_ms: u64) -> u64 {
        if let Some(&i) = self.index.get(key)
            && let Some(slot) = self.slots.get_mut(i)
        {
            if slot.window.bucket_ms != bucket_ms {
                slot.window = Window::new(bucket_ms, now_ms);
            }
            slot.window.advance(now_ms);
            slot.window.record();
            return slot.window.total;
        }
        if self.cap == 0 {
            return 1;
        }
        self.make_room(now_ms);
        let mut window = Window::new(bucket_ms, now_ms);
        window.record();
        let total = window.total;
        let key: Box<[u8]> = key.into();
        self.index.insert(key.clone(), self.slots.len());
        self.slots.push(Slot { key, window });
        total
    }

    fn count(&self, key: &[u8], bucket_ms: u64, now_ms: u64) -> u64 {
        self.index
            .get(key)
            .and_then(|&i| self.slots.get(i))
            .filter(|s| s.window.bucket_ms == bucket_ms)
            .map_or(0, |s| s.window.count_at(now_ms))
    }
}

/// A [`RateCounter`] for one node: sharded, bounded memory (see the module docs for the policy).
#[derive(Debug)]
pub struct InMemoryRateCounter {
    shards: Vec<Mutex<Shard>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for InMemoryRateCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryRateCounter {
    /// A counter that tracks at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new() -> InMemoryRateCounter {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }

    /// A counter that tracks at most `max_keys` keys (rounded up to a multiple of [`SHARDS`]; `0` tracks nothing
    /// and every `add` returns 1).
    pub fn with_max_keys(max_keys: usize) -> InMemoryRateCounter {
        let per_shard = max_keys.div_ceil(SHARDS);
        let hasher = std::collections::hash_map::RandomState::new();
        let shards = (0..SHARDS)
            .map(|i| {
                let seed = std::hash::BuildHasher::hash_one(&hasher, i);
                Mutex::new(Shard::new(per_shard, seed))
            })
            .collect();
        InMemoryRateCounter { shards, hasher }
    }

    fn shard(&self, key: &[u8]) -> Option<MutexGuard<'_, Shard>> {
        let h = std::hash::BuildHasher::hash_one(&self.hasher, key);
        let shard = self.shards.get((h % SHARDS as u64) as usize)?;
        // A panic while holding the lock cannot leave a shard inconsistent in a way that matters for counting.
        Some(
            shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Drops every key with no request in its window at `now_ms`; call it from a timer to return memory early.
    pub fn purge_idle(&self, now_ms: u64) {
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .sweep(now_ms);
        }
    }

    /// The number of keys currently tracked.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .slots
                    .len()
            })
            .sum()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RateCounter for InMemoryRateCounter {
    fn add(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64 {
        match self.shard(key) {
            Some(mut shard) => shard.add(key, bucket_ms(window_secs), now_ms),
            None => 1,
        }
    }

    fn count(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64 {
        self.shard(key)
            .map_or(0, |shard| shard.count(key, bucket_ms(window_secs), now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const MIN: u32 = 60;

    #[test]
    fn counts_within_the_window_and_forgets_after_it() {
        let c = InMemoryRateCounter::new();
        for i in 0..10u64 {
            assert_eq!(c.add(b"ip:1", MIN, 1_000 + i * 1_000), i + 1);
        }
        assert_eq!(c.count(b"ip:1", MIN, 10_500), 10);
        assert_eq!(c.count(b"ip:2", MIN, 10_500), 0);
        // 60 s after the first request (bucket of t=1s has left the window), one request has expired.
        assert_eq!(c.count(b"ip:1", MIN, 61_000), 9);
        assert_eq!(c.count(b"ip:1", MIN, 69_999), 1);
        assert_eq!(c.count(b"ip:1", MIN, 70_000), 0);
        // count() did not modify anything.
        assert_eq!(c.count(b"ip:1", MIN, 10_500), 10);
        assert_eq!(c.add(b"ip:1", MIN, 200_000), 1);
    }

    #[test]
    fn error_bound_is_one_bucket() {
        // A request is counted for at least window - bucket and at most window.
        let c = InMemoryRateCounter::new();
        c.add(b"k", 600, 5_000); // bucket width 10 s: bucket [0, 10 s)
        assert_eq!(c.count(b"k", 600, 5_000 + 590_000 - 1), 1);
        assert_eq!(c.count(b"k", 600, 600_000 - 1), 1);
        assert_eq!(c.count(b"k", 600, 600_000), 0);
        assert_eq!(c.count(b"k", 600, 5_000 + 600_000), 0);
    }

    #[test]
    fn early_clock_values_do_not_alias() {
        let c = InMemoryRateCounter::new();
        assert_eq!(c.add(b"k", MIN, 0), 1);
        assert_eq!(c.add(b"k", MIN, 30_000), 2);
        assert_eq!(c.count(b"k", MIN, 59_999), 2);
        assert_eq!(c.count(b"k", MIN, 60_000), 1);
    }

    #[test]
    fn clock_stepping_back_counts_in_the_newest_bucket() {
        let c = InMemoryRateCounter::new();
        c.add(b"k", MIN, 50_000);
        assert_eq!(c.add(b"k", MIN, 10_000), 2);
        assert_eq!(c.count(b"k", MIN, 109_999), 2);
        assert_eq!(c.count(b"k", MIN, 110_000), 0);
    }

    #[test]
    fn windows_and_keys_are_independent() {
        let c = InMemoryRateCounter::new();
        c.add(b"a", MIN, 0);
        c.add(b"a", MIN, 0);
        c.add(b"b", 300, 0);
        assert_eq!(c.count(b"a", MIN, 1), 2);
        assert_eq!(c.count(b"b", 300, 1), 1);
        // A different window for the same key restarts it.
        assert_eq!(c.count(b"a", 120, 1), 0);
        assert_eq!(c.add(b"a", 120, 1), 1);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn long_gaps_reset_and_large_windows_work() {
        let c = InMemoryRateCounter::new();
        for t in [0u64, 1, 2] {
            c.add(b"k", 600, t);
        }
        assert_eq!(c.add(b"k", 600, u64::MAX / 2), 1);
        assert_eq!(
            c.add(b"z", 0, 5),
            1,
            "a zero window is treated as one second"
        );
        assert_eq!(c.add(b"z", 0, 900), 2);
        assert_eq!(c.count(b"z", 0, 1_005), 1);
    }

    #[test]
    fn memory_is_bounded_and_heavy_hitters_survive() {
        let c = InMemoryRateCounter::with_max_keys(SHARDS * 4);
        // One heavy hitter...
        for i in 0..500u64 {
            c.add(b"heavy", MIN, i);
        }
        // ...then a flood of one-off keys within the same second (no key is idle yet).
        for i in 0..10_000u32 {
            c.add(&i.to_be_bytes(), MIN, 600);
            assert!(c.len() <= SHARDS * 4);
        }
        assert_eq!(c.count(b"heavy", MIN, 700), 500);
        assert_eq!(c.add(b"heavy", MIN, 700), 501);
    }

    #[test]
    fn idle_keys_are_swept() {
        let c = InMemoryRateCounter::with_max_keys(SHARDS * 2);
        for i in 0..(SHARDS as u32 * 2) {
            c.add(&i.to_be_bytes(), MIN, 0);
        }
        c.purge_idle(30_000);
        assert!(c.len() > SHARDS, "nothing is idle yet");
        c.purge_idle(61_000);
        assert!(c.is_empty());
        let zero = InMemoryRateCounter::with_max_keys(0);
        assert_eq!(zero.add(b"k", MIN, 0), 1);
        assert_eq!(zero.add(b"k", MIN, 0), 1);
        assert!(zero.is_empty());
    }

    #[test]
    fn shared_between_threads() {
        let c: Arc<dyn RateCounter> = Arc::new(InMemoryRateCounter::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    for i in 0..1_000u64 {
                        c.add(b"shared", MIN, i);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.count(b"shared", MIN, 1_000), 4_000);
    }

    /// The bucketed window agrees with an exact model of the documented semantics.
    #[test]
    fn agrees_with_exact_model() {
        use proptest::prelude::*;
        proptest!(|(gaps in proptest::collection::vec(0u64..5_000, 1..300), window in prop_oneof![Just(60u32), Just(120), Just(300)])| {
            let c = InMemoryRateCounter::new();
            let b = bucket_ms(window);
            let mut times = Vec::new();
            let mut now = 0u64;
            for g in gaps {
                now += g;
                times.push(now);
                let got = c.add(b"k", window, now);
                // Exact: requests whose bucket index is among the last BUCKETS buckets.
                let cur = now / b;
                let expect = times.iter().filter(|&&t| t / b + BUCKETS as u64 > cur).count() as u64;
                prop_assert_eq!(got, expect);
            }
        });
    }
}
