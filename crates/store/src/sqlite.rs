//! The embedded backend: one SQLite file in the data directory.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a commit is fsynced before the call
//! returns. Concurrency: readers use the pool freely (WAL readers never block the writer);
//! writers in this process take an async mutex first, because SQLite admits one writer at a
//! time anyway and queueing in tokio is cheaper than spinning in SQLite's busy handler.
//! `busy_timeout` still covers other processes (a `portcullis iam` CLI run) writing the same
//! file. Multi-statement writes start with `BEGIN IMMEDIATE`, which takes the write lock up
//! front instead of upgrading a read lock later (the upgrade is where SQLite deadlocks).

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};
use tokio::sync::Mutex;

use crate::codec::{
    check_event, check_event_json, check_json, check_name, check_ops, check_query, from_micros,
    now_micros, to_micros, unsigned, version_param,
};
use crate::sql::{self, Param, Plan};
use crate::{
    EventQuery, Item, NewEvent, NewEventJson, Precondition, Store, StoreError, StoredEvent, WriteOp,
};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool size: enough for concurrent readers; writes are serialised regardless.
const MAX_CONNECTIONS: u32 = 8;

/// The SQLite implementation of [`Store`].
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<()>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and applies the migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // A page cache large enough for the event indexes (random UUIDs insert all
            // over the tree); SQLite's default of 2 MiB made the audit writer disk-bound.
            .pragma("cache_size", "-32768")
            // Statement journals (multi-row inserts that may fail halfway) in memory, not in
            // temporary files written page by page.
            .pragma("temp_store", "memory")
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                target: path.display().to_string(),
                source,
            })?;
        crate::migrations::migrator(crate::migrations::SQLITE)
            .await?
            .run(&pool)
            .await?;
        Ok(Self {
            pool,
            writer: Mutex::new(()),
        })
    }
}

/// Writes one item on `conn` under `cond`; returns the new version.
async fn put_on(
    conn: &mut SqliteConnection,
    collection: &str,
    key: &str,
    value: &serde_json::Value,
    cond: Precondition,
) -> Result<u64, StoreError> {
    let text = value.to_string();
    let mut query = sqlx::query_scalar::<_, i64>(sql::put_item(cond))
        .bind(collection)
        .bind(key)
        .bind(text)
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
    conn: &mut SqliteConnection,
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

/// Runs a [`Plan`], binding its parameters in order.
async fn fetch_plan(pool: &SqlitePool, plan: &Plan<'_>) -> Result<Vec<SqliteRow>, StoreError> {
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

/// Decodes JSON text read from `table`.
fn decode_json(
    table: &'static str,
    row: impl FnOnce() -> String,
    text: &str,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(table, row(), e))
}

/// One event ready to insert: its body already JSON text.
struct EventRow<'a> {
    id: &'a str,
    time_us: i64,
    attrs: &'a [(String, String)],
    body: &'a str,
}

impl SqliteStore {
    /// Inserts events and their lookup attributes in one transaction; returns their
    /// sequence numbers in order.
    ///
    /// The writer numbers the events itself (it holds SQLite's write lock from `BEGIN
    /// IMMEDIATE` on), so nothing is read back per row, and it inserts them with statements
    /// of a few fixed sizes ([`sql::chunk_sizes`]) that stay prepared in sqlx's cache.
    /// Attributes are stored as one row per run of consecutive events sharing them
    /// ([`crate::attr_runs`]).
    async fn insert_events(
        &self,
        stream: &str,
        events: &[EventRow<'_>],
    ) -> Result<Vec<u64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let count = i64::try_from(events.len()).map_err(|_| StoreError::InvalidInput {
            what: "event batch",
            reason: "too many events",
        })?;
        let _writer = self.writer.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let first: i64 = sqlx::query_scalar(sql::SQLITE_NEXT_SEQ)
            .fetch_one(&mut *tx)
            .await?;
        if first.checked_add(count).is_none() {
            return Err(StoreError::Corrupt {
                table: "events",
                row: first.to_string(),
                detail: "the sequence numbers are exhausted".into(),
            });
        }
        let mut rest = events;
        let mut seq = first;
        for size in sql::chunk_sizes(events.len(), sql::EVENTS_PER_STATEMENT) {
            let Some((chunk, tail)) = rest.split_at_checked(size) else {
                break;
            };
            rest = tail;
            let statement = sql::insert_events_numbered(size);
            let mut q = sqlx::query(&statement);
            for e in chunk {
                q = q
                    .bind(seq)
                    .bind(stream)
                    .bind(e.id)
                    .bind(e.time_us)
                    .bind(e.body);
                seq += 1;
            }
            match q.execute(&mut *tx).await {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(StoreError::DuplicateEvent {
                        stream: stream.to_owned(),
                        id: chunk.iter().map(|e| e.id).collect::<Vec<_>>().join(","),
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
        let runs =
            crate::attr_runs::attr_runs(events.iter().zip(first..).map(|(e, s)| (s, e.attrs)));
        let mut rest = runs.as_slice();
        for size in sql::chunk_sizes(runs.len(), sql::ATTRS_PER_STATEMENT) {
            let Some((part, tail)) = rest.split_at_checked(size) else {
                break;
            };
            rest = tail;
            let statement = sql::insert_event_attrs(size, sql::Placeholders::Positional);
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
        (first..first + count)
            .map(|seq| unsigned("events", || seq.to_string(), seq))
            .collect()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Item>, StoreError> {
        check_name("collection", collection)?;
        check_name("key", key)?;
        let row: Option<(String, i64)> = sqlx::query_as(sql::GET_ITEM)
            .bind(collection)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let Some((text, version)) = row else {
            return Ok(None);
        };
        let name = || format!("{collection}/{key}");
        Ok(Some(Item {
            key: key.to_owned(),
            value: decode_json("items", name, &text)?,
            version: unsigned("items", name, version)?,
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
        let _writer = self.writer.lock().await;
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
        let _writer = self.writer.lock().await;
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
                let name = || format!("{collection}/{key}");
                let value = decode_json("items", name, row.try_get(1)?)?;
                let version = unsigned("items", name, row.try_get(2)?)?;
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
        let _writer = self.writer.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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

    async fn append_events(
        &self,
        stream: &str,
        events: &[NewEvent],
    ) -> Result<Vec<u64>, StoreError> {
        for event in events {
            check_event(stream, event)?;
        }
        let bodies: Vec<String> = events.iter().map(|e| e.body.to_string()).collect();
        let rows: Vec<EventRow<'_>> = events
            .iter()
            .zip(&bodies)
            .map(|(e, body)| EventRow {
                id: &e.id,
                time_us: to_micros(e.time),
                attrs: &e.attrs,
                body,
            })
            .collect();
        self.insert_events(stream, &rows).await
    }

    async fn append_events_json(
        &self,
        stream: &str,
        events: &[NewEventJson],
    ) -> Result<Vec<u64>, StoreError> {
        for event in events {
            check_event_json(stream, event)?;
        }
        let rows: Vec<EventRow<'_>> = events
            .iter()
            .map(|e| EventRow {
                id: &e.id,
                time_us: to_micros(e.time),
                attrs: &e.attrs,
                body: &e.body,
            })
            .collect();
        self.insert_events(stream, &rows).await
    }

    async fn get_event(&self, stream: &str, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        check_name("stream", stream)?;
        check_name("event id", id)?;
        let row: Option<(i64, i64, String)> = sqlx::query_as(sql::GET_EVENT)
            .bind(stream)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some((seq, time_us, body)) = row else {
            return Ok(None);
        };
        let name = || seq.to_string();
        Ok(Some(StoredEvent {
            seq: unsigned("events", name, seq)?,
            id: id.to_owned(),
            time: from_micros(time_us).map_err(|e| StoreError::corrupt("events", name(), e))?,
            body: decode_json("events", name, &body)?,
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
                Ok(StoredEvent {
                    seq: unsigned("events", name, seq)?,
                    id: row.try_get(1)?,
                    time: from_micros(row.try_get(2)?)
                        .map_err(|e| StoreError::corrupt("events", name(), e))?,
                    body: decode_json("events", name, row.try_get(3)?)?,
                })
            })
            .collect()
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new database at `path` migrated to schema `version` only, as an older release left it.
    async fn pool_at_schema(path: &std::path::Path, version: usize) -> sqlx::SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        let migrations = crate::migrations::SQLITE.get(..version).unwrap();
        crate::migrations::migrator(migrations)
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        pool
    }

    /// A database made by the first schema (attributes with a foreign key and a separate lookup
    /// index) keeps its events and finds them by attribute after the upgrade.
    #[tokio::test]
    async fn upgrade_from_the_first_schema_keeps_attribute_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        {
            let pool = pool_at_schema(&path, 1).await;
            sqlx::query(
                "INSERT INTO events (seq, stream, id, time_us, body) VALUES \
                 (1, 'audit', 'e1', 1, '{}'), (2, 'audit', 'e2', 2, '{}')",
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO event_attrs (seq, stream, name, value) VALUES \
                 (1, 'audit', 'EventName', 'Encrypt'), (2, 'audit', 'EventName', 'Decrypt')",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let query = EventQuery {
            attr: Some(("EventName".into(), "Decrypt".into())),
            ..EventQuery::default()
        };
        let found = store.query_events("audit", &query).await.unwrap();
        assert_eq!(
            found.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e2"]
        );
        let new = NewEvent {
            id: "e3".into(),
            time: time::OffsetDateTime::now_utc(),
            attrs: vec![("EventName".into(), "Decrypt".into())],
            body: serde_json::json!({}),
        };
        store.append_events("audit", &[new]).await.unwrap();
        let found = store.query_events("audit", &query).await.unwrap();
        assert_eq!(
            found.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e3", "e2"]
        );
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT seq FROM event_attrs \
             WHERE stream = 'audit' AND name = 'EventName' AND value = 'x'",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert!(
            plan.iter().any(|(_, _, _, d)| d.contains("PRIMARY KEY")),
            "lookups use the primary key: {plan:?}"
        );
    }

    /// A database at schema 2 (bodies checked by `json_valid`, one attribute row per event)
    /// keeps its events, sequence numbers, high-water mark and attribute lookups through
    /// migration 3, and then stores runs of events as single attribute rows.
    #[tokio::test]
    async fn upgrade_from_the_second_schema_keeps_events_and_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        {
            let pool = pool_at_schema(&path, 2).await;
            sqlx::query(
                "INSERT INTO events (seq, stream, id, time_us, body) VALUES \
                 (1, 'audit', 'e1', 1000000, '{\"n\":1}'), (2, 'audit', 'e2', 2000000, '[2]'), \
                 (3, 'other', 'o3', 3000000, '\"three\"'), (9, 'audit', 'gone', 4000000, '{}')",
            )
            .execute(&pool)
            .await
            .unwrap();
            // The high-water mark (9) stays above the newest row (3).
            sqlx::query("DELETE FROM events WHERE seq = 9")
                .execute(&pool)
                .await
                .unwrap();
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
        let store = SqliteStore::open(&path).await.unwrap();
        let schema: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'events'")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(!schema.contains("json_valid"), "{schema}");
        crate::upgrade_checks::old_rows_then_new_runs(&store, 10).await;
        let rows: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event_attrs WHERE stream = 'audit' AND seq >= 10",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(
            rows, 4,
            "Encrypt 10-11, Decrypt 12, Encrypt 13, alice 10-13"
        );
        crate::upgrade_checks::invalid_json_is_refused(&store).await;
    }

    /// An attribute query reads the attribute's runs newest first and their events by
    /// sequence number, with no sort of everything that matches before the limit applies.
    #[tokio::test]
    async fn attribute_queries_need_no_sort() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap();
        let query = EventQuery {
            attr: Some(("EventName".into(), "Encrypt".into())),
            before_seq: Some(100),
            start: Some(time::OffsetDateTime::UNIX_EPOCH),
            ..EventQuery::latest(10)
        };
        let plan = sql::query_events("audit", &query);
        let explain = format!("EXPLAIN QUERY PLAN {}", plan.sql);
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for p in &plan.params {
            q = match p {
                Param::Text(t) => q.bind(*t),
                Param::Owned(t) => q.bind(t.clone()),
                Param::Int(n) => q.bind(*n),
            };
        }
        let steps = q.fetch_all(&store.pool).await.unwrap();
        let text: Vec<&str> = steps.iter().map(|s| s.3.as_str()).collect();
        // SQLite sorts the events of one run at a time ("LAST TERM"): at most one batch's
        // worth, emitted as soon as the next run starts; never everything that matches.
        assert!(
            !text.iter().any(|s| s.contains("TEMP B-TREE FOR ORDER BY")),
            "{text:?}"
        );
        assert!(
            text.first()
                .is_some_and(|s| s.starts_with("SEARCH a USING PRIMARY KEY")),
            "attributes drive the query: {text:?}"
        );
    }
}
