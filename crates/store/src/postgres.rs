//! The shared backend: one PostgreSQL database that several Portcullis nodes use at once.
//!
//! Compare-and-swap is race-free without table locks or SERIALIZABLE: each conditional write
//! is one statement whose predicate is the precondition (`UPDATE .. WHERE version = $v`,
//! `INSERT .. ON CONFLICT DO NOTHING`), and the returned row says whether it applied. Under
//! READ COMMITTED a concurrent writer of the same row makes the statement wait for it and then
//! re-check the predicate against the row it committed, so two writers holding the same
//! version cannot both succeed, and two creators of the same key cannot both insert. A batch
//! runs the same statements in one transaction, with row locks held to commit.
//!
//! Two batches writing the same items in opposite orders would deadlock, and PostgreSQL only
//! notices after `deadlock_timeout` (1 s). So a batch touching several items first takes a
//! transaction-scoped advisory lock per item, in ascending lock-id order: every batch locks
//! in the same global order, which cannot form a cycle. A deadlock that still happens
//! (PostgreSQL aborts one side) is retried from the start.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};

use crate::codec::{
    check_event, check_json, check_name, check_ops, check_query, from_micros, now_micros,
    to_micros, unsigned, version_param,
};
use crate::sql::{self, Param, Plan};
use crate::url::redact;
use crate::{EventQuery, Item, NewEvent, Precondition, Store, StoreError, StoredEvent, WriteOp};

/// Connections per node; PostgreSQL's default `max_connections` (100) fits several nodes.
const MAX_CONNECTIONS: u32 = 16;

/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a batch is retried after PostgreSQL aborted it to break a deadlock.
const BATCH_ATTEMPTS: u32 = 5;

/// The PostgreSQL implementation of [`Store`].
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://` or `postgresql://`) and applies the
    /// migrations (under sqlx's advisory lock, so nodes starting together do not race).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                target: redact(url),
                source,
            })?;
        crate::migrations::migrator(crate::migrations::POSTGRES)
            .await?
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }

    /// One attempt at a batch, in its own transaction.
    async fn try_batch(&self, ops: &[WriteOp]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let locks = lock_ids(ops);
        if locks.len() > 1 {
            for id in locks {
                sqlx::query(sql::PG_ITEM_LOCK)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for op in ops {
            // An early return drops `tx`, which rolls the whole batch back.
            match op {
                WriteOp::Put {
                    collection,
                    key,
                    value,
                    cond,
                } => {
                    put_on(&mut tx, collection, key, value, *cond).await?;
                }
                WriteOp::Delete {
                    collection,
                    key,
                    cond,
                } => {
                    delete_on(&mut tx, collection, key, *cond).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Writes one item on `conn` under `cond`; returns the new version.
async fn put_on(
    conn: &mut PgConnection,
    collection: &str,
    key: &str,
    value: &serde_json::Value,
    cond: Precondition,
) -> Result<u64, StoreError> {
    let mut query = sqlx::query_scalar::<_, i64>(sql::put_item(cond))
        .bind(collection)
        .bind(key)
        .bind(Json(value))
        .bind(now_micros());
    if let Precondition::Version(expected) = cond {
        query = query.bind(version_param(expected));
    }
    match query.fetch_optional(&mut *conn).await? {
        Some(version) => unsigned("items", || format!("{collection}/{key}"), version),
        None => Err(StoreError::condition(collection, key)),
    }
}

/// Deletes one item on `conn` under `cond`; true if a row was removed.
async fn delete_on(
    conn: &mut PgConnection,
    collection: &str,
    key: &str,
    cond: Precondition,
) -> Result<bool, StoreError> {
    let Some(statement) = sql::delete_item(cond) else {
        let exists = sqlx::query_scalar::<_, i64>(sql::ITEM_EXISTS)
            .bind(collection)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        return if exists.is_some() {
            Err(StoreError::condition(collection, key))
        } else {
            Ok(false)
        };
    };
    let mut query = sqlx::query_scalar::<_, i64>(statement)
        .bind(collection)
        .bind(key);
    if let Precondition::Version(expected) = cond {
        query = query.bind(version_param(expected));
    }
    let deleted = query.fetch_optional(&mut *conn).await?.is_some();
    match (deleted, cond) {
        (true, _) => Ok(true),
        (false, Precondition::None) => Ok(false),
        (false, _) => Err(StoreError::condition(collection, key)),
    }
}

/// The advisory-lock ids of the distinct items `ops` write, ascending.
fn lock_ids(ops: &[WriteOp]) -> Vec<i64> {
    let mut ids: Vec<i64> = ops
        .iter()
        .map(|op| item_lock_id(op.collection(), op.key()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A stable 64-bit id for an item (FNV-1a over collection, an 0xFF separator that UTF-8 never
/// contains, and key). Two items sharing an id only serialise more than needed.
fn item_lock_id(collection: &str, key: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let bytes = collection
        .bytes()
        .chain(std::iter::once(0xFF))
        .chain(key.bytes());
    let hash = bytes.fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// True when PostgreSQL aborted the transaction to resolve a deadlock or a serialization
/// conflict: running it again is safe and expected to succeed.
fn is_retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Backend(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

/// Runs a [`Plan`], binding its parameters in order.
async fn fetch_plan(pool: &PgPool, plan: &Plan<'_>) -> Result<Vec<PgRow>, StoreError> {
    let mut query = sqlx::query(&plan.sql);
    for param in &plan.params {
        query = match param {
            Param::Text(text) => query.bind(*text),
            Param::Owned(text) => query.bind(text.as_str()),
            Param::Int(n) => query.bind(*n),
        };
    }
    Ok(query.fetch_all(pool).await?)
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Item>, StoreError> {
        check_name("collection", collection)?;
        check_name("key", key)?;
        let row: Option<(Json<serde_json::Value>, i64)> = sqlx::query_as(sql::GET_ITEM)
            .bind(collection)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let Some((Json(value), version)) = row else {
            return Ok(None);
        };
        let version = unsigned("items", || format!("{collection}/{key}"), version)?;
        Ok(Some(Item {
            key: key.to_owned(),
            value,
            version,
        }))
    }

    async fn put(
        &self,
        collection: &str,
        key: &str,
        value: &serde_json::Value,
        cond: Precondition,
    ) -> Result<u64, StoreError> {
        check_name("collection", collection)?;
        check_name("key", key)?;
        check_json("value", value)?;
        let mut conn = self.pool.acquire().await?;
        put_on(&mut conn, collection, key, value, cond).await
    }

    async fn delete(
        &self,
        collection: &str,
        key: &str,
        cond: Precondition,
    ) -> Result<bool, StoreError> {
        check_name("collection", collection)?;
        check_name("key", key)?;
        let mut conn = self.pool.acquire().await?;
        delete_on(&mut conn, collection, key, cond).await
    }

    async fn list(
        &self,
        collection: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        check_name("collection", collection)?;
        check_name("prefix", prefix)?;
        check_name("start_after", start_after.unwrap_or_default())?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = fetch_plan(
            &self.pool,
            &sql::list_items(collection, prefix, start_after, limit),
        )
        .await?;
        rows.into_iter()
            .map(|row| {
                let key: String = row.try_get(0)?;
                let Json(value) = row.try_get::<Json<serde_json::Value>, _>(1)?;
                let version = unsigned("items", || format!("{collection}/{key}"), row.try_get(2)?)?;
                Ok(Item {
                    key,
                    value,
                    version,
                })
            })
            .collect()
    }

    async fn write_batch(&self, ops: &[WriteOp]) -> Result<(), StoreError> {
        check_ops(ops)?;
        if ops.is_empty() {
            return Ok(());
        }
        let mut attempt = 1;
        loop {
            match self.try_batch(ops).await {
                Err(err) if attempt < BATCH_ATTEMPTS && is_retryable(&err) => {
                    tracing::debug!(attempt, error = %err, "store batch aborted by PostgreSQL; retrying");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn append_events(
        &self,
        stream: &str,
        events: &[NewEvent],
    ) -> Result<Vec<u64>, StoreError> {
        for event in events {
            check_event(stream, event)?;
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut seqs = Vec::with_capacity(events.len());
        let mut numbered: Vec<(i64, &[(String, String)])> = Vec::with_capacity(events.len());
        // Multi-row statements: a batch costs a few round trips to the database, not several
        // per event, so the audit trail keeps pace with the API.
        for chunk in events.chunks(sql::EVENTS_PER_STATEMENT) {
            let statement = sql::insert_events(chunk.len(), sql::Placeholders::Numbered);
            let mut q = sqlx::query(&statement);
            for e in chunk {
                q = q
                    .bind(stream)
                    .bind(&e.id)
                    .bind(to_micros(e.time))
                    .bind(Json(&e.body));
            }
            let rows = match q.fetch_all(&mut *tx).await {
                Ok(rows) => rows,
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(StoreError::DuplicateEvent {
                        stream: stream.to_owned(),
                        id: chunk
                            .iter()
                            .map(|e| e.id.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    });
                }
                Err(other) => return Err(other.into()),
            };
            let mut by_id = std::collections::HashMap::with_capacity(rows.len());
            for row in &rows {
                let seq: i64 = row.try_get(0)?;
                let id: String = row.try_get(1)?;
                by_id.insert(id, seq);
            }
            for e in chunk {
                let seq = *by_id.get(&e.id).ok_or_else(|| StoreError::Corrupt {
                    table: "events",
                    row: e.id.clone(),
                    detail: "an inserted event was not returned".into(),
                })?;
                numbered.push((seq, e.attrs.as_slice()));
                seqs.push(unsigned("events", || seq.to_string(), seq)?);
            }
        }
        // One attribute row per run of consecutive sequence numbers sharing it (another
        // node's events may take numbers between ours: they start a new run).
        let runs = crate::attr_runs::attr_runs(numbered);
        for part in runs.chunks(sql::ATTRS_PER_STATEMENT) {
            let statement = sql::insert_event_attrs(part.len(), sql::Placeholders::Numbered);
            let mut q = sqlx::query(&statement);
            for run in part {
                q = q
                    .bind(run.first)
                    .bind(run.last)
                    .bind(stream)
                    .bind(run.name)
                    .bind(run.value);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(seqs)
    }

    async fn get_event(&self, stream: &str, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        check_name("stream", stream)?;
        check_name("event id", id)?;
        let row: Option<(i64, i64, Json<serde_json::Value>)> = sqlx::query_as(sql::GET_EVENT)
            .bind(stream)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some((seq, time_us, Json(body))) = row else {
            return Ok(None);
        };
        let name = || seq.to_string();
        Ok(Some(StoredEvent {
            seq: unsigned("events", name, seq)?,
            id: id.to_owned(),
            time: from_micros(time_us).map_err(|e| StoreError::corrupt("events", name(), e))?,
            body,
        }))
    }

    async fn query_events(
        &self,
        stream: &str,
        query: &EventQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        check_query(stream, query)?;
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let rows = fetch_plan(&self.pool, &sql::query_events(stream, query)).await?;
        rows.into_iter()
            .map(|row| {
                let seq: i64 = row.try_get(0)?;
                let name = || seq.to_string();
                let Json(body) = row.try_get::<Json<serde_json::Value>, _>(3)?;
                Ok(StoredEvent {
                    seq: unsigned("events", name, seq)?,
                    id: row.try_get(1)?,
                    time: from_micros(row.try_get(2)?)
                        .map_err(|e| StoreError::corrupt("events", name(), e))?,
                    body,
                })
            })
            .collect()
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lock_ids_are_sorted_distinct_and_order_independent() {
        let ab = [
            WriteOp::put("c", "a", json!(1), Precondition::None),
            WriteOp::delete("c", "b", Precondition::Exists),
        ];
        let ba = [
            WriteOp::delete("c", "b", Precondition::None),
            WriteOp::put("c", "a", json!(2), Precondition::Absent),
        ];
        assert_eq!(lock_ids(&ab), lock_ids(&ba));
        assert!(lock_ids(&ab).windows(2).all(|w| w.first() < w.get(1)));
        let twice = [
            WriteOp::put("c", "a", json!(1), Precondition::None),
            WriteOp::delete("c", "a", Precondition::None),
        ];
        assert_eq!(lock_ids(&twice).len(), 1);
    }

    #[test]
    fn lock_ids_separate_collection_from_key() {
        assert_ne!(item_lock_id("ab", "c"), item_lock_id("a", "bc"));
    }

    /// The server named by `PORTCULLIS_TEST_POSTGRES_URL` (as the conformance suite uses it),
    /// or `None` after saying loudly that the test is skipped; under `CI=true` a missing URL
    /// fails instead.
    fn postgres_url() -> Option<String> {
        match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("PORTCULLIS_TEST_POSTGRES_URL is not set but CI=true")
            }
            _ => {
                use std::io::Write as _;
                let _ = std::io::stderr().write_all(
                    b"\n*** SKIPPED: PORTCULLIS_TEST_POSTGRES_URL not set \
                      (run under scripts/with-postgres.sh) ***\n",
                );
                None
            }
        }
    }

    /// A database left at schema 2 by an older release (one attribute row per event, no
    /// `last_seq`) keeps its events, numbers and attribute look-ups through migration 3, and
    /// new events are then stored as attribute runs beside the old rows.
    #[tokio::test]
    async fn upgrade_from_the_second_schema_keeps_events_and_numbers() {
        use sqlx::{ConnectOptions as _, Connection as _};
        let Some(admin_url) = postgres_url() else {
            return;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let db = format!("portcullis_upgrade_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{db}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut options = PgConnectOptions::from_str(&admin_url).unwrap();
        options = options.database(&db);
        {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .unwrap();
            let two = crate::migrations::POSTGRES.get(..2).unwrap();
            crate::migrations::migrator(two)
                .await
                .unwrap()
                .run(&pool)
                .await
                .unwrap();
            for (stream, id, time_us, body) in [
                ("audit", "e1", 1_000_000_i64, json!({"n": 1})),
                ("audit", "e2", 2_000_000, json!([2])),
                ("other", "o3", 3_000_000, json!("three")),
            ] {
                sqlx::query(
                    "INSERT INTO events (stream, id, time_us, body) VALUES ($1, $2, $3, $4)",
                )
                .bind(stream)
                .bind(id)
                .bind(time_us)
                .bind(Json(body))
                .execute(&pool)
                .await
                .unwrap();
            }
            sqlx::query(
                "INSERT INTO event_attrs (stream, name, value, seq) VALUES \
                 ('audit', 'EventName', 'Encrypt', 1), ('audit', 'EventName', 'Decrypt', 2), \
                 ('audit', 'EventName', 'Encrypt', 2), ('other', 'EventName', 'Encrypt', 3)",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }

        let url = options.to_url_lossy().to_string();
        let outcome = tokio::spawn(async move {
            let store = PostgresStore::open(&url).await.unwrap();
            let has_last_seq: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
                 WHERE table_name = 'event_attrs' AND column_name = 'last_seq')",
            )
            .fetch_one(&store.pool)
            .await
            .unwrap();
            assert!(has_last_seq, "migration 3 ran");
            crate::upgrade_checks::old_rows_then_new_runs(&store, 4).await;
            let rows: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM event_attrs WHERE stream = 'audit' AND seq >= 4",
            )
            .fetch_one(&store.pool)
            .await
            .unwrap();
            assert_eq!(rows, 4, "Encrypt 4-5, Decrypt 6, Encrypt 7, alice 4-7");
            crate::upgrade_checks::invalid_json_is_refused(&store).await;
            store.pool.close().await;
        })
        .await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}
