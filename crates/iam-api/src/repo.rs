//! Typed access to IAM entities in the store, and the short-lived caches of what the
//! request path reads from it.
//!
//! Authenticating and authorizing a request reads the access key, the user (or role) and
//! its policies. [`ReadCache`] keeps those reads for at most [`CACHE_TTL`], and only while
//! [`Repo::generation`] is unchanged: every write through [`Repo`] bumps it, so a change
//! made on this node (a deactivated key, a new policy) applies to the very next request,
//! while a change made by another node sharing the store applies within [`CACHE_TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_store::{Precondition, Store, WriteOp};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{IamError, Result};
use crate::model::{AccessKey, ManagedPolicy, Role, Session, User, collections as c, entity_key};

/// A value read from the store with the version to write back against.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its store version.
    pub version: u64,
}

/// How long a cached IAM read may be reused: the bound on how late a change made by
/// another node sharing the store (PostgreSQL) is seen here. Changes made through this
/// node's [`Repo`] invalidate the caches at once instead.
pub const CACHE_TTL: Duration = Duration::from_secs(1);

/// Reads and writes IAM entities.
#[derive(Clone)]
pub struct Repo {
    store: Arc<dyn Store>,
    /// Bumped after every write through this `Repo` (and its clones).
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("backend", &self.store.backend())
            .finish()
    }
}

impl Repo {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            generation: Arc::default(),
        }
    }

    /// The write generation: read it *before* reading the store, and cache what was read
    /// under it; an entry is valid only while the generation is unchanged.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn get<T: DeserializeOwned>(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Versioned<T>>> {
        let Some(item) = self.store.get(collection, key).await? else {
            return Ok(None);
        };
        let value = serde_json::from_value(item.value)
            .map_err(|e| IamError::Internal(format!("{collection}/{key} does not decode: {e}")))?;
        Ok(Some(Versioned {
            value,
            version: item.version,
        }))
    }

    async fn list<T: DeserializeOwned>(&self, collection: &str, prefix: &str) -> Result<Vec<T>> {
        portcullis_store::list_all(self.store.as_ref(), collection, prefix)
            .await?
            .into_iter()
            .map(|item| {
                serde_json::from_value(item.value).map_err(|e| {
                    IamError::Internal(format!("{collection}/{} does not decode: {e}", item.key))
                })
            })
            .collect()
    }

    /// A put operation for a batch.
    pub fn put_op<T: Serialize>(
        collection: &str,
        key: String,
        value: &T,
        cond: Precondition,
    ) -> Result<WriteOp> {
        let value = serde_json::to_value(value).map_err(|e| IamError::Internal(e.to_string()))?;
        Ok(WriteOp::Put {
            collection: collection.to_owned(),
            key,
            value,
            cond,
        })
    }

    /// Applies writes atomically.
    pub async fn commit(&self, ops: &[WriteOp]) -> Result<()> {
        let written = self.store.write_batch(ops).await;
        // After the write, and whatever its outcome (a failed write may still have landed):
        // a read that began before it carries an older generation and is never reused.
        self.generation.fetch_add(1, Ordering::AcqRel);
        written.map_err(|e| match e {
            portcullis_store::StoreError::ConditionFailed { .. } => {
                IamError::ConcurrentModification(
                    "The entity was changed by another request; retry.".into(),
                )
            }
            other => IamError::Store(other),
        })
    }

    /// A user by name.
    pub async fn user(&self, account: &str, name: &str) -> Result<Option<Versioned<User>>> {
        self.get(c::USERS, &entity_key(account, name)).await
    }

    /// A user by name, or `NoSuchEntity`.
    pub async fn user_required(&self, account: &str, name: &str) -> Result<Versioned<User>> {
        self.user(account, name).await?.ok_or_else(|| {
            IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
        })
    }

    /// Every user of an account, by name.
    pub async fn users(&self, account: &str) -> Result<Vec<User>> {
        self.list(c::USERS, &format!("{account}/")).await
    }

    /// A role by name.
    pub async fn role(&self, account: &str, name: &str) -> Result<Option<Versioned<Role>>> {
        self.get(c::ROLES, &entity_key(account, name)).await
    }

    /// A role by name, or `NoSuchEntity`.
    pub async fn role_required(&self, account: &str, name: &str) -> Result<Versioned<Role>> {
        self.role(account, name).await?.ok_or_else(|| {
            IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
        })
    }

    /// Every role of an account.
    pub async fn roles(&self, account: &str) -> Result<Vec<Role>> {
        self.list(c::ROLES, &format!("{account}/")).await
    }

    /// A customer managed policy by name.
    pub async fn policy(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<Versioned<ManagedPolicy>>> {
        self.get(c::POLICIES, &entity_key(account, name)).await
    }

    /// Every customer managed policy of an account.
    pub async fn policies(&self, account: &str) -> Result<Vec<ManagedPolicy>> {
        self.list(c::POLICIES, &format!("{account}/")).await
    }

    /// An access key by id.
    pub async fn access_key(&self, id: &str) -> Result<Option<Versioned<AccessKey>>> {
        self.get(c::ACCESS_KEYS, id).await
    }

    /// The access keys of a user.
    pub async fn access_keys_of(&self, user: &User) -> Result<Vec<AccessKey>> {
        let mut out = Vec::with_capacity(user.access_keys.len());
        for id in &user.access_keys {
            if let Some(k) = self.access_key(id).await? {
                out.push(k.value);
            }
        }
        Ok(out)
    }

    /// An STS session by its temporary access key id.
    pub async fn session(&self, id: &str) -> Result<Option<Session>> {
        Ok(self.get(c::SESSIONS, id).await?.map(|v| v.value))
    }

    /// Stores a new STS session.
    pub async fn put_session(&self, s: &Session) -> Result<()> {
        let op = Self::put_op(
            c::SESSIONS,
            s.access_key_id.clone(),
            s,
            Precondition::Absent,
        )?;
        self.commit(&[op]).await
    }

    /// Puts one document unconditionally on version.
    pub async fn put<T: Serialize>(
        &self,
        collection: &str,
        key: String,
        value: &T,
        cond: Precondition,
    ) -> Result<()> {
        self.commit(&[Self::put_op(collection, key, value, cond)?])
            .await
    }
}

/// A bounded map of values read from the store, each valid for [`CACHE_TTL`] and only
/// within the [`Repo::generation`] it was read under. Values holding secrets keep them in
/// their `Secret` types; `Debug` prints only the size.
pub struct ReadCache<V> {
    entries: Mutex<HashMap<String, Cached<V>>>,
    max: usize,
}

struct Cached<V> {
    generation: u64,
    stored: Instant,
    value: V,
}

impl<V> std::fmt::Debug for ReadCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.lock().map_or(0, |m| m.len());
        f.debug_struct("ReadCache").field("entries", &len).finish()
    }
}

impl<V: Clone> ReadCache<V> {
    /// A cache of at most `max` entries.
    pub fn new(max: usize) -> Self {
        Self {
            entries: Mutex::default(),
            max,
        }
    }

    /// The value cached for `key`, if it was read under `generation` less than
    /// [`CACHE_TTL`] ago.
    pub fn get(&self, key: &str, generation: u64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let c = entries.get(key)?;
        (c.generation == generation && c.stored.elapsed() < CACHE_TTL).then(|| c.value.clone())
    }

    /// Caches `value`, read from the store under `generation`.
    pub fn insert(&self, key: String, generation: u64, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max {
            entries.retain(|_, c| c.generation == generation && c.stored.elapsed() < CACHE_TTL);
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Cached {
                generation,
                stored: Instant::now(),
                value,
            },
        );
    }
}
