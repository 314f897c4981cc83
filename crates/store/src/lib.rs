//! Storage for every Portcullis service.
//!
//! One trait, [`Store`], holds two kinds of data:
//!
//! - **items**: versioned JSON documents addressed by (collection, key) — IAM users and
//!   policies, KMS keys, WAF web ACLs. Every write can carry a [`Precondition`], which is how
//!   services do optimistic concurrency; [`Store::write_batch`] applies several writes
//!   atomically.
//! - **events**: append-only streams (the audit trail, findings) with a store-wide sequence
//!   number, indexed lookup attributes and a time index.
//!
//! Two backends implement it: embedded SQLite (the default: one file in the data directory,
//! WAL mode, `synchronous=FULL`, so a write is durable once acknowledged) and PostgreSQL, which
//! several `portcullis serve` nodes share. [`open`] picks one from a URL and applies the
//! embedded schema migrations. Both pass the same [`conformance`] suite, which other crates
//! may run against their own wiring too.
//!
//! ```no_run
//! # async fn demo() -> Result<(), portcullis_store::StoreError> {
//! use portcullis_store::{Precondition, open};
//! let store = open("sqlite:///var/lib/portcullis/store.db").await?;
//! let v1 = store.put("users", "alice", &serde_json::json!({"arn": "..."}), Precondition::Absent).await?;
//! store.put("users", "alice", &serde_json::json!({"arn": "...", "tags": {}}), Precondition::Version(v1)).await?;
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod attr_runs;
mod codec;
pub mod conformance;
mod error;
mod migrations;
mod postgres;
mod sql;
mod sqlite;
mod types;
#[cfg(test)]
mod upgrade_checks;
mod url;

use std::sync::Arc;

pub use error::StoreError;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use types::{
    EventQuery, Item, JsonText, NewEvent, NewEventJson, Precondition, StoredEvent, WriteOp,
};

/// The storage every Portcullis service codes against.
///
/// Names (collections, keys, streams, attributes) are arbitrary UTF-8 without NUL; keys order
/// by code point. Values are JSON. Implementations are cheap to share: hold an
/// `Arc<dyn Store>`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The item under `key` in `collection`, if any.
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Item>, StoreError>;

    /// Insert or replace; returns the new version (1 for a fresh item, +1 per write).
    ///
    /// Fails with [`StoreError::ConditionFailed`] when `cond` does not hold; nothing is written
    /// then.
    async fn put(
        &self,
        collection: &str,
        key: &str,
        value: &serde_json::Value,
        cond: Precondition,
    ) -> Result<u64, StoreError>;

    /// Ok(true) if it existed and was deleted.
    ///
    /// With [`Precondition::None`] a missing item is `Ok(false)`. With [`Precondition::Exists`]
    /// or [`Precondition::Version`] a missing (or other-version) item is
    /// [`StoreError::ConditionFailed`]; with [`Precondition::Absent`] an existing item is, and a
    /// missing one is `Ok(false)`.
    async fn delete(
        &self,
        collection: &str,
        key: &str,
        cond: Precondition,
    ) -> Result<bool, StoreError>;

    /// Items whose key starts with `prefix`, ascending by key, strictly after `start_after`, at most `limit`.
    ///
    /// The prefix is literal: `%` and `_` are ordinary characters. To page, pass the last key
    /// of the previous page as `start_after`.
    async fn list(
        &self,
        collection: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError>;

    /// Atomic: every precondition is checked and all writes apply, or none do (ConditionFailed names the first failing one).
    ///
    /// Operations apply in order, so a later one sees the effect of an earlier one on the
    /// same key.
    async fn write_batch(&self, ops: &[WriteOp]) -> Result<(), StoreError>;

    /// Appends to an append-only event stream (audit trail, findings feed); returns the sequence number (monotonic per store).
    ///
    /// An id already present in the stream is [`StoreError::DuplicateEvent`], so a retried
    /// append after a lost acknowledgement cannot store the event twice.
    async fn append_event(&self, stream: &str, event: &NewEvent) -> Result<u64, StoreError> {
        let seqs = self
            .append_events(stream, std::slice::from_ref(event))
            .await?;
        seqs.first()
            .copied()
            .ok_or_else(|| StoreError::InvalidInput {
                what: "event batch",
                reason: "the backend stored nothing",
            })
    }

    /// Appends several events in one transaction: all are stored, in order, or none
    /// (a duplicate id anywhere fails the whole batch). One commit for many records is
    /// what lets the audit trail keep up with the API under load.
    async fn append_events(
        &self,
        stream: &str,
        events: &[NewEvent],
    ) -> Result<Vec<u64>, StoreError>;

    /// Like [`append_events`](Store::append_events), for events whose bodies are already
    /// JSON text: the backend stores the text as it is where it can (SQLite), so a writer
    /// that serialized its records once does not pay for a `serde_json::Value` tree and a
    /// second serialization per event. Text that is not one valid JSON value, or whose
    /// strings hold a NUL character, is [`StoreError::InvalidInput`] and nothing is stored.
    ///
    /// The default parses every body and calls `append_events`.
    async fn append_events_json(
        &self,
        stream: &str,
        events: &[NewEventJson],
    ) -> Result<Vec<u64>, StoreError> {
        let parsed = events
            .iter()
            .map(|e| {
                let body = codec::parse_event_body(&e.body)?;
                Ok(NewEvent {
                    id: e.id.clone(),
                    time: e.time,
                    attrs: e.attrs.clone(),
                    body,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.append_events(stream, &parsed).await
    }

    /// The event of `stream` whose id is `id`, if any (the id is unique within a stream, and
    /// indexed: this needs no lookup attribute).
    ///
    /// The default pages through the stream; both backends answer from the index.
    async fn get_event(&self, stream: &str, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let mut query = EventQuery::latest(1000);
        loop {
            let page = self.query_events(stream, &query).await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                return Ok(None);
            };
            if let Some(found) = page.into_iter().find(|e| e.id == id) {
                return Ok(Some(found));
            }
            query.before_seq = Some(last);
        }
    }

    /// Newest first; filters are ANDed; `before_seq` is the pagination cursor.
    ///
    /// "Newest" is append order (sequence number), not the events' own `time`, so pages are
    /// stable while events keep arriving.
    async fn query_events(
        &self,
        stream: &str,
        query: &EventQuery,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Which backend, for /health and logs: "sqlite" | "postgres".
    fn backend(&self) -> &'static str;

    /// Closes the store's connections, waiting for those in use to be returned (graceful
    /// shutdown; SQLite checkpoints its WAL). Later calls fail with [`StoreError::Backend`].
    async fn close(&self) {}
}

/// Page size of [`list_all`].
const LIST_ALL_PAGE: usize = 500;

/// Every item of `collection` whose key starts with `prefix`, in key order, read page by page.
pub async fn list_all(
    store: &dyn Store,
    collection: &str,
    prefix: &str,
) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map(|i: &Item| i.key.clone());
        let page = store
            .list(collection, prefix, after.as_deref(), LIST_ALL_PAGE)
            .await?;
        let done = page.len() < LIST_ALL_PAGE;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// "sqlite:///abs/path.db" / "sqlite://relative.db" / "postgres://user:pw@host:port/db" (also postgresql://). Runs migrations before returning.
///
/// The SQLite file is created if missing (its directory must exist).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match url::parse(url)? {
        url::Target::Sqlite(path) => Arc::new(SqliteStore::open(&path).await?),
        url::Target::Postgres(pg_url) => Arc::new(PostgresStore::open(&pg_url).await?),
    };
    tracing::info!(backend = store.backend(), url = %url::redact(url), "store opened");
    Ok(store)
}
