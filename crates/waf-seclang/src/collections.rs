//! Variable stores written by `setvar`: the per-transaction `TX` collection and the persistent `IP` / `GLOBAL` /
//! `SESSION` / `USER` / `RESOURCE` collections opened by `initcol`.
//!
//! Keys are case-insensitive (stored lowercased). Persistent collections live in memory inside the
//! [`crate::RuleSet`] (shared by all its transactions, guarded by a mutex); a transaction takes a copy when it opens
//! one and writes it back when it finishes. A trait for a shared external store (Redis, SQL) can replace
//! [`PersistentStore`] later without changing the engine.

use std::collections::HashMap;

use crate::fasthash::FastMap;
use std::sync::Mutex;

use crate::variables::Var;

/// One stored value with its optional expiry (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredValue {
    /// The value.
    pub value: Vec<u8>,
    /// When the value expires (`expirevar`), in Unix seconds.
    pub expires: Option<u64>,
}

/// A collection of key → value, keys lowercased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    values: FastMap<String, StoredValue>,
}

impl Collection {
    /// The value of `key` (lowercase) unless it has expired at `now`.
    pub fn get(&self, key: &str, now: u64) -> Option<&[u8]> {
        self.values
            .get(key)
            .filter(|v| v.expires.is_none_or(|e| e > now))
            .map(|v| v.value.as_slice())
    }

    /// Sets `key` (lowercase), keeping an existing expiry.
    pub fn set(&mut self, key: &str, value: Vec<u8>) {
        match self.values.get_mut(key) {
            Some(v) => v.value = value,
            None => {
                self.values.insert(
                    key.to_owned(),
                    StoredValue {
                        value,
                        expires: None,
                    },
                );
            }
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.values.remove(key);
    }

    /// Sets the expiry of `key`.
    pub fn expire(&mut self, key: &str, at: u64) {
        if let Some(v) = self.values.get_mut(key) {
            v.expires = Some(at);
        }
    }

    /// Live members at `now`, in no particular order.
    pub fn iter(&self, now: u64) -> impl Iterator<Item = (&str, &[u8])> {
        self.values
            .iter()
            .filter(move |(_, v)| v.expires.is_none_or(|e| e > now))
            .map(|(k, v)| (k.as_str(), v.value.as_slice()))
    }

    /// Drops expired members.
    pub fn purge(&mut self, now: u64) {
        self.values.retain(|_, v| v.expires.is_none_or(|e| e > now));
    }

    /// Number of members (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Bound on the number of persistent collections kept in memory (oldest are evicted first).
const MAX_COLLECTIONS: usize = 100_000;

/// The in-memory persistent collections of one rule set.
#[derive(Debug, Default)]
pub struct PersistentStore {
    inner: Mutex<HashMap<(Var, String), (Collection, u64)>>,
}

impl PersistentStore {
    /// A copy of collection `var`/`key` (empty if unknown or idle longer than `timeout` seconds).
    pub fn load(&self, var: Var, key: &str, now: u64, timeout: u64) -> Collection {
        let Ok(map) = self.inner.lock() else {
            return Collection::default();
        };
        match map.get(&(var, key.to_owned())) {
            Some((c, touched)) if now.saturating_sub(*touched) <= timeout => {
                let mut c = c.clone();
                c.purge(now);
                c
            }
            _ => Collection::default(),
        }
    }

    /// Stores collection `var`/`key`.
    pub fn save(&self, var: Var, key: &str, collection: Collection, now: u64) {
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        if map.len() >= MAX_COLLECTIONS
            && !map.contains_key(&(var, key.to_owned()))
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert((var, key.to_owned()), (collection, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_persistence() {
        let mut c = Collection::default();
        c.set("a", b"1".to_vec());
        c.set("b", b"2".to_vec());
        c.expire("b", 100);
        assert_eq!(c.get("b", 99), Some(&b"2"[..]));
        assert_eq!(c.get("b", 100), None);
        assert_eq!(c.iter(150).count(), 1);
        let store = PersistentStore::default();
        store.save(Var::Ip, "1.2.3.4", c, 50);
        let back = store.load(Var::Ip, "1.2.3.4", 60, 600);
        assert_eq!(back.get("a", 60), Some(&b"1"[..]));
        assert!(store.load(Var::Ip, "1.2.3.4", 1000, 600).is_empty());
        assert!(store.load(Var::Global, "1.2.3.4", 60, 600).is_empty());
    }
}
