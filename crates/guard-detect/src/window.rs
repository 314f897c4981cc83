//! [`BoundedMap`]: per-key detector state with a hard cap on keys. When full, entries idle
//! for longer than their window go first, then the least recently seen half, so memory is
//! bounded whatever the number of distinct sources (a million scanners cost the cap, not
//! a million entries). Evictions are counted.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// The hasher of the per-key tables: foldhash, seeded per process (keys come from untrusted logs).
pub(crate) type FastState = foldhash::fast::RandomState;

/// A map of per-key state with a capacity and time-based eviction.
#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, (V, i64), FastState>,
    capacity: usize,
    idle_secs: i64,
    evicted: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// A map holding at most `capacity` keys; keys idle for `idle_secs` are evicted first.
    pub fn new(capacity: usize, idle_secs: i64) -> Self {
        Self {
            map: HashMap::with_hasher(FastState::default()),
            capacity: capacity.max(2),
            idle_secs,
            evicted: 0,
        }
    }

    /// The state for `key` at time `now`, created with `init` when absent (evicting when full).
    pub fn entry(&mut self, key: K, now: i64, init: impl FnOnce() -> V) -> &mut V {
        if !self.map.contains_key(&key) && self.map.len() >= self.capacity {
            self.evict(now);
        }
        let slot = self.map.entry(key).or_insert_with(|| (init(), now));
        if now > slot.1 {
            slot.1 = now;
        }
        &mut slot.0
    }

    /// [`BoundedMap::entry`] by reference: the key is only copied when it is new. `None` only
    /// if the map could not keep the key (never in practice: eviction leaves room).
    pub fn entry_ref<Q>(&mut self, key: &Q, now: i64, init: impl FnOnce() -> V) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if !self.map.contains_key(key) {
            if self.map.len() >= self.capacity {
                self.evict(now);
            }
            self.map.insert(key.to_owned(), (init(), now));
        }
        let slot = self.map.get_mut(key)?;
        if now > slot.1 {
            slot.1 = now;
        }
        Some(&mut slot.0)
    }

    /// The state for `key`, if tracked.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key).map(|(v, _)| v)
    }

    /// The state for `key` to change, if tracked (its last-seen time stays).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key).map(|(v, _)| v)
    }

    /// Every key with its state and last-seen time (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V, i64)> {
        self.map.iter().map(|(k, (v, t))| (k, v, *t))
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key).map(|(v, _)| v)
    }

    fn evict(&mut self, now: i64) {
        let before = self.map.len();
        let idle = self.idle_secs;
        self.map
            .retain(|_, (_, seen)| now.saturating_sub(*seen) <= idle);
        if self.map.len() * 4 > self.capacity * 3 {
            // Still mostly full: keep the most recently seen half.
            let mut seen: Vec<i64> = self.map.values().map(|(_, s)| *s).collect();
            let mid = seen.len() / 2;
            let (_, median, _) = seen.select_nth_unstable(mid);
            let median = *median;
            let mut keep_equal = self.capacity / 2;
            self.map.retain(|_, (_, s)| {
                if *s > median {
                    true
                } else if *s == median && keep_equal > 0 {
                    keep_equal -= 1;
                    true
                } else {
                    false
                }
            });
            if self.map.len() >= self.capacity {
                // Pathological: everything seen at the same instant.
                let drop: Vec<K> = self
                    .map
                    .keys()
                    .take(self.map.len() - self.capacity / 2)
                    .cloned()
                    .collect();
                for k in drop {
                    self.map.remove(&k);
                }
            }
        }
        self.evicted += (before - self.map.len()) as u64;
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keys evicted so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_keeps_recent() {
        let mut m = BoundedMap::new(1000, 60);
        for i in 0..100_000i64 {
            *m.entry(i, i / 10, || 0u32) += 1;
            assert!(m.len() <= 1000);
        }
        assert!(m.evicted() >= 99_000);
        // The most recent key survives.
        assert_eq!(m.get(&99_999), Some(&1));
    }

    #[test]
    fn same_instant_still_bounded() {
        let mut m = BoundedMap::new(10, 60);
        for i in 0..1000u32 {
            m.entry(i, 5, || ());
            assert!(m.len() <= 10);
        }
    }
}
