//! The per-node table: every key this node has seen, its own requests in a sliding window of
//! [`BUCKETS`] sub-buckets (the same semantics as `InMemoryRateCounter`), which of those buckets
//! changed since the last successful sync, and the last-known count of the *other* nodes.
//!
//! This module does no I/O. [`Table::add`] and [`Table::count`] take one short shard lock;
//! [`Table::collect`] and [`Table::apply`] are called by the sync task between network round trips,
//! never while one is in flight, so a slow or paused Redis can never delay a request.
//!
//! # Memory bound
//!
//! Each entry costs about 400 bytes (a 60-slot ring of own counts, the hashed key, the remote
//! figures and the map's overhead), so the default cap of 100,000 keys is about 40 MB. The table holds at most `max_keys` entries (rounded up to a multiple of [`SHARDS`]). When a shard
//! is full, idle keys (no own request left in their window and no fresh count from the others)
//! are swept (at most once per second per shard), then the key with the smallest estimate among [`EVICTION_SAMPLE`] candidates is evicted.
//! [`Table::collect`] also drops idle keys on every sync.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use portcullis_waf_core::rate::BUCKETS;
use sha2::{Digest, Sha256};

/// Number of independently locked shards.
pub const SHARDS: usize = 32;

/// How many keys are compared when a full shard must evict one.
const EVICTION_SAMPLE: usize = 8;

/// Minimum time between two idle sweeps of one shard on the insert path, in milliseconds.
const SWEEP_INTERVAL_MS: u64 = 1_000;

/// First 16 bytes of SHA-256 of a rate key: what is stored locally and sent to Redis instead of
/// client data (IP addresses, header values).
pub type KeyHash = [u8; 16];

/// Hashes a rate key.
pub fn hash_key(key: &[u8]) -> KeyHash {
    let digest = Sha256::digest(key);
    let mut out = [0u8; 16];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// Width of one bucket for a window, as in `portcullis_waf_core::rate`.
pub fn bucket_ms(window_secs: u32) -> u64 {
    (u64::from(window_secs.max(1)) * 1000 / BUCKETS as u64).max(1)
}

/// A tracked key: the hashed rate key and its window (one key with two windows is two entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalKey {
    /// The evaluation window in seconds.
    pub window_secs: u32,
    /// [`hash_key`] of the rate key.
    pub hash: KeyHash,
}

/// What the other nodes had in this key's window at the last successful sync.
#[derive(Debug, Clone, Copy)]
struct Remote {
    /// Their requests in the window ending at bucket `at_bucket`.
    total: u64,
    /// Their requests in the oldest bucket of that window (it leaves the window next).
    oldest: u64,
    /// Bucket index of the sync.
    at_bucket: u64,
    /// Caller clock at the sync, to age the figure out during an outage.
    synced_ms: u64,
}

#[derive(Debug)]
struct Entry {
    bucket_ms: u64,
    head: u64,
    own: [u32; BUCKETS],
    own_total: u64,
    /// Lowest bucket index changed since the last collect (None: nothing to push).
    dirty_from: Option<u64>,
    remote: Option<Remote>,
}

fn slot(abs: u64) -> usize {
    (abs % BUCKETS as u64) as usize
}

impl Entry {
    fn new(bucket_ms: u64, now_ms: u64) -> Entry {
        Entry {
            bucket_ms,
            head: now_ms / bucket_ms,
            own: [0; BUCKETS],
            own_total: 0,
            dirty_from: None,
            remote: None,
        }
    }

    fn advance(&mut self, now_ms: u64) {
        let idx = now_ms / self.bucket_ms;
        if idx <= self.head {
            return; // same bucket, or the clock stepped back: keep counting in the newest bucket
        }
        let steps = idx - self.head;
        if steps >= BUCKETS as u64 {
            self.own = [0; BUCKETS];
            self.own_total = 0;
        } else {
            for i in 1..=steps {
                if let Some(b) = self.own.get_mut(slot(self.head + i)) {
                    self.own_total -= u64::from(*b);
                    *b = 0;
                }
            }
        }
        self.head = idx;
    }

    fn record(&mut self, now_ms: u64) {
        self.advance(now_ms);
        if let Some(b) = self.own.get_mut(slot(self.head))
            && *b < u32::MAX
        {
            *b += 1;
            self.own_total += 1;
            self.dirty_from = Some(self.dirty_from.map_or(self.head, |d| d.min(self.head)));
        }
    }

    fn own_at(&self, now_ms: u64) -> u64 {
        let idx = now_ms / self.bucket_ms;
        if idx <= self.head {
            return self.own_total;
        }
        let steps = idx - self.head;
        if steps >= BUCKETS as u64 {
            return 0;
        }
        (0..BUCKETS as u64 - steps)
            .filter_map(|back| self.head.checked_sub(back))
            .filter_map(|abs| self.own.get(slot(abs)))
            .map(|&b| u64::from(b))
            .sum()
    }

    fn others_at(&self, now_ms: u64, stale_ms: u64) -> u64 {
        let Some(r) = self.remote else { return 0 };
        if now_ms.saturating_sub(r.synced_ms) > stale_ms {
            return 0; // no news for too long: per-node limits until Redis answers again
        }
        let idx = now_ms / self.bucket_ms;
        if idx <= r.at_bucket {
            r.total
        } else if idx - r.at_bucket < BUCKETS as u64 {
            r.total.saturating_sub(r.oldest)
        } else {
            0
        }
    }

    /// Worth following: own requests in the window, or the others' are still fresh and non-zero.
    fn is_active(&self, now_ms: u64, stale_ms: u64) -> bool {
        self.own_at(now_ms) > 0 || self.others_at(now_ms, stale_ms) > 0
    }

    fn estimate(&self, now_ms: u64, stale_ms: u64) -> u64 {
        self.own_at(now_ms) + self.others_at(now_ms, stale_ms)
    }
}

/// One key's share of a sync: the own bucket counts to write (absolute values, so a retry is
/// harmless) and the bucket index the window ends at.
#[derive(Debug, Clone)]
pub struct SyncItem {
    /// The key.
    pub key: LocalKey,
    /// Bucket index of "now" for this key's bucket width.
    pub now_bucket: u64,
    /// Width of one bucket in milliseconds.
    pub bucket_ms: u64,
    /// `(bucket index, own count)` pairs to write.
    pub fields: Vec<(u64, u32)>,
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<LocalKey, Entry>,
    last_sweep_ms: Option<u64>,
}

/// The sharded table of one node.
#[derive(Debug)]
pub struct Table {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    stale_ms: u64,
    hasher: std::collections::hash_map::RandomState,
}

/// What [`Table::collect`] did besides building the items.
#[derive(Debug, Default, Clone, Copy)]
pub struct CollectStats {
    /// Idle keys dropped.
    pub dropped: usize,
    /// Keys still tracked.
    pub tracked: usize,
}

impl Table {
    /// A table of at most `max_keys` keys (rounded up to a multiple of [`SHARDS`]) whose remote
    /// figures are ignored once older than `stale_ms`.
    pub fn new(max_keys: usize, stale_ms: u64) -> Table {
        Table {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: max_keys.div_ceil(SHARDS),
            stale_ms,
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn shard(&self, key: &LocalKey) -> Option<MutexGuard<'_, Shard>> {
        let h = self.hasher.hash_one(key);
        self.shards
            .get((h % SHARDS as u64) as usize)
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records one request and returns own + others in the window (at least 1). Returns the
    /// number of keys evicted to make room as the second value.
    pub fn add(&self, key: LocalKey, now_ms: u64) -> (u64, usize) {
        if self.per_shard == 0 {
            return (1, 0);
        }
        let Some(mut shard) = self.shard(&key) else {
            return (1, 0);
        };
        let mut evicted = 0;
        if !shard.map.contains_key(&key) {
            evicted = self.make_room(&mut shard, now_ms);
        }
        let entry = shard
            .map
            .entry(key)
            .or_insert_with(|| Entry::new(bucket_ms(key.window_secs), now_ms));
        entry.record(now_ms);
        (
            entry.own_total + entry.others_at(now_ms, self.stale_ms),
            evicted,
        )
    }

    /// Own + others in the window at `now_ms`, 0 for a key this node never saw.
    pub fn count(&self, key: LocalKey, now_ms: u64) -> u64 {
        self.shard(&key)
            .and_then(|s| s.map.get(&key).map(|e| e.estimate(now_ms, self.stale_ms)))
            .unwrap_or(0)
    }

    fn make_room(&self, shard: &mut Shard, now_ms: u64) -> usize {
        if shard.map.len() < self.per_shard {
            return 0;
        }
        let mut evicted = 0;
        let due = shard
            .last_sweep_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= SWEEP_INTERVAL_MS || now_ms < t);
        if due {
            let before = shard.map.len();
            shard.map.retain(|_, e| e.is_active(now_ms, self.stale_ms));
            shard.last_sweep_ms = Some(now_ms);
            evicted += before - shard.map.len();
        }
        while shard.map.len() >= self.per_shard {
            let victim = shard
                .map
                .iter()
                .take(EVICTION_SAMPLE)
                .min_by_key(|(_, e)| e.estimate(now_ms, self.stale_ms))
                .map(|(k, _)| *k);
            match victim {
                Some(k) => {
                    shard.map.remove(&k);
                    evicted += 1;
                }
                None => break,
            }
        }
        evicted
    }

    /// Takes what each active key must push, dropping keys with neither an own request left in
    /// their window nor a fresh non-zero count from the others. With `full`, every own bucket in the window is pushed again (after an outage, in
    /// case Redis lost its data); otherwise only buckets changed since the last collect.
    pub fn collect(&self, now_ms: u64, full: bool) -> (Vec<SyncItem>, CollectStats) {
        let mut items = Vec::new();
        let mut stats = CollectStats::default();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let before = shard.map.len();
            shard.map.retain(|_, e| e.is_active(now_ms, self.stale_ms));
            stats.dropped += before - shard.map.len();
            stats.tracked += shard.map.len();
            for (key, e) in shard.map.iter_mut() {
                e.advance(now_ms);
                let low = e.head.saturating_sub(BUCKETS as u64 - 1);
                let from = if full {
                    Some(low)
                } else {
                    e.dirty_from.map(|d| d.max(low))
                };
                e.dirty_from = None;
                let fields = from.map_or_else(Vec::new, |from| {
                    (from..=e.head)
                        .filter_map(|abs| {
                            e.own.get(slot(abs)).filter(|&&c| c > 0).map(|&c| (abs, c))
                        })
                        .collect()
                });
                items.push(SyncItem {
                    key: *key,
                    now_bucket: now_ms / e.bucket_ms,
                    bucket_ms: e.bucket_ms,
                    fields,
                });
            }
        }
        (items, stats)
    }

    /// Stores the others' figures returned for `items` (`(total, oldest)` per item, same order).
    pub fn apply(&self, items: &[SyncItem], results: &[(u64, u64)], now_ms: u64) {
        for (item, &(total, oldest)) in items.iter().zip(results) {
            if let Some(mut shard) = self.shard(&item.key)
                && let Some(e) = shard.map.get_mut(&item.key)
            {
                e.remote = Some(Remote {
                    total,
                    oldest,
                    at_bucket: item.now_bucket,
                    synced_ms: now_ms,
                });
            }
        }
    }

    /// Number of tracked keys.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str, window_secs: u32) -> LocalKey {
        LocalKey {
            window_secs,
            hash: hash_key(name.as_bytes()),
        }
    }

    #[test]
    fn own_counts_follow_the_in_memory_semantics() {
        use portcullis_waf_core::rate::{InMemoryRateCounter, RateCounter};
        let t = Table::new(1000, 10_000);
        let reference = InMemoryRateCounter::new();
        let mut now = 5_000u64;
        for step in 0..400u64 {
            now += (step * 7_919) % 1_700;
            let (got, _) = t.add(k("ip", 60), now);
            assert_eq!(got, reference.add(b"ip", 60, now), "step {step} at {now}");
            assert_eq!(
                t.count(k("ip", 60), now + 3_000),
                reference.count(b"ip", 60, now + 3_000)
            );
        }
        assert_eq!(t.count(k("other", 60), now), 0);
    }

    #[test]
    fn collect_pushes_changed_buckets_once_and_everything_when_full() {
        let t = Table::new(1000, 10_000);
        for ms in [0u64, 10, 1_500, 2_100, 2_200] {
            t.add(k("a", 60), 100_000 + ms);
        }
        let (items, _) = t.collect(102_300, false);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].fields, vec![(100, 2), (101, 1), (102, 2)]);
        assert_eq!(items[0].now_bucket, 102);
        let (items, _) = t.collect(102_400, false);
        assert!(items[0].fields.is_empty(), "nothing changed");
        t.add(k("a", 60), 102_500);
        let (items, _) = t.collect(102_600, false);
        assert_eq!(
            items[0].fields,
            vec![(102, 3)],
            "absolute value of the bucket"
        );
        let (items, _) = t.collect(102_700, true);
        assert_eq!(items[0].fields.len(), 3);
    }

    #[test]
    fn others_are_added_slide_and_go_stale() {
        let t = Table::new(1000, 5_000);
        let key = k("a", 60);
        t.add(key, 100_000);
        let (items, _) = t.collect(100_100, false);
        t.apply(&items, &[(20, 4)], 100_100);
        assert_eq!(t.count(key, 100_500), 21);
        assert_eq!(t.add(key, 100_600).0, 22);
        // The next bucket drops the oldest bucket of the others.
        assert_eq!(t.count(key, 101_000), 18);
        // After 5 s without a sync the remote figure is ignored.
        assert_eq!(t.count(key, 105_101), 2);
    }

    #[test]
    fn windows_are_independent_and_idle_keys_are_dropped() {
        let t = Table::new(1000, 5_000);
        t.add(k("a", 60), 0);
        t.add(k("a", 60), 1);
        t.add(k("a", 120), 2);
        assert_eq!(t.count(k("a", 60), 3), 2);
        assert_eq!(t.count(k("a", 120), 3), 1);
        let (_, stats) = t.collect(61_000, false);
        assert_eq!((stats.dropped, stats.tracked), (1, 1));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn memory_is_bounded_and_heavy_hitters_survive() {
        let t = Table::new(SHARDS * 4, 5_000);
        for i in 0..300u64 {
            t.add(k("heavy", 60), i);
        }
        let mut evicted = 0;
        for i in 0..5_000u32 {
            evicted += t.add(k(&i.to_string(), 60), 400).1;
            assert!(t.len() <= SHARDS * 4);
        }
        assert!(evicted > 4_000);
        assert_eq!(t.count(k("heavy", 60), 500), 300);
        let zero = Table::new(0, 5_000);
        assert_eq!(zero.add(k("x", 60), 0).0, 1);
        assert_eq!(zero.len(), 0);
    }

    #[test]
    fn hashes_hide_the_key() {
        let h = hash_key(b"192.0.2.1");
        assert_ne!(&h[..9], b"192.0.2.1");
        assert_eq!(h, hash_key(b"192.0.2.1"));
        assert_ne!(h, hash_key(b"192.0.2.2"));
    }
}
