//! The conformance suite: what every [`Store`] backend must do, written once.
//!
//! [`run_all`] runs every named check against a live store and panics, naming the check and
//! the backend, at the first failure. Each run works in its own freshly named collections and
//! streams, so it can run again on the same database. [`check_reopen`] additionally opens a
//! URL twice to prove that data outlives the store value (a restart).
//!
//! Other crates may run it against their own wiring:
//!
//! ```no_run
//! # async fn demo() {
//! let store = portcullis_store::open("sqlite:///tmp/x.db").await.unwrap();
//! portcullis_store::conformance::run_all(store).await;
//! # }
//! ```
#![allow(
    clippy::panic,
    reason = "a failed conformance check is reported by panicking, like an assertion"
)]

mod batch;
mod events;
mod items;
mod list;

use std::fmt::Debug;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::FutureExt;

use crate::{EventQuery, NewEvent, Precondition, Store, StoreError};
use serde_json::json;

/// Runs every check against `store`; panics with a clear message on the first failure.
pub async fn run_all(store: Arc<dyn Store>) {
    let ctx = Ctx::new(store);
    let backend = ctx.store.backend();
    let started = Instant::now();
    let mut passed = 0_usize;
    macro_rules! checks {
        ($($check:path),* $(,)?) => {$(
            ctx.run(stringify!($check), $check(&ctx)).await;
            passed += 1;
        )*};
    }
    checks!(
        backend_is_named,
        items::get_missing,
        items::put_get_round_trip,
        items::versions_increment,
        items::absent_allows_create_denies_overwrite,
        items::exists_allows_update_denies_create,
        items::version_allows_match_denies_mismatch,
        items::delete_semantics,
        list::list_ascending_with_limit,
        list::list_prefix_isolation,
        list::list_prefix_is_literal,
        list::list_pagination,
        list::collections_isolated,
        items::nul_rejected_everywhere,
        items::large_value_round_trip,
        batch::batch_applies_every_op,
        batch::batch_is_atomic,
        batch::batch_names_first_failure,
        batch::batch_applies_in_order,
        batch::concurrent_cas_increments,
        batch::concurrent_create_has_one_winner,
        batch::concurrent_transfers_conserve_total,
        events::seq_increases_across_streams,
        events::newest_first_round_trip,
        events::time_range_inclusive,
        events::attr_filter,
        events::filters_are_anded,
        events::before_seq_pagination,
        events::streams_isolated,
        events::batch_append_is_atomic,
        events::duplicate_id_rejected,
        events::unicode_and_large_bodies,
        events::time_precision_and_offsets,
        events::json_text_append,
        events::get_event_by_id,
    );
    eprintln!(
        "conformance[{backend}]: all {passed} checks passed in {:.2?}",
        started.elapsed()
    );
}

/// Proves that data survives closing and reopening the store at `url` (for SQLite: the same
/// file; for PostgreSQL: a new connection pool), and that versions and sequence numbers carry
/// on from where they were.
pub async fn check_reopen(url: &str) {
    let first = must(crate::open(url).await, "first open");
    let ctx = Ctx::new(first);
    let (coll, stream) = (ctx.name("reopen"), ctx.name("reopen-stream"));
    let value = serde_json::json!({"kept": true, "name": "ünïcødé"});
    must(
        ctx.store
            .put(&coll, "k", &value, Precondition::Absent)
            .await,
        "put before close",
    );
    let seq = must(
        ctx.store
            .append_event(&stream, &event("e1", 0, &[("A", "1")]))
            .await,
        "append before close",
    );
    ctx.store.close().await;
    drop(ctx);

    let second = must(
        crate::open(url).await,
        "second open (migrations must be idempotent)",
    );
    let item = must(second.get(&coll, "k").await, "get after reopen");
    assert_eq!(
        item.map(|i| (i.value, i.version)),
        Some((value.clone(), 1)),
        "item lost across reopen"
    );
    assert_eq!(
        must(
            second
                .put(&coll, "k", &value, Precondition::Version(1))
                .await,
            "put after reopen"
        ),
        2
    );
    let events = must(
        second.query_events(&stream, &EventQuery::latest(10)).await,
        "query after reopen",
    );
    assert_eq!(
        events
            .iter()
            .map(|e| (e.seq, e.id.as_str()))
            .collect::<Vec<_>>(),
        vec![(seq, "e1")]
    );
    let next = must(
        second.append_event(&stream, &event("e2", 1, &[])).await,
        "append after reopen",
    );
    assert!(
        next > seq,
        "sequence went backwards across reopen: {next} after {seq}"
    );
    second.close().await;
    eprintln!(
        "conformance: reopen keeps data ({url_kind})",
        url_kind = url.split(':').next().unwrap_or("?")
    );
}

/// What every check gets: the store and a namespace unique to this run.
pub(crate) struct Ctx {
    pub(crate) store: Arc<dyn Store>,
    run: String,
}

impl Ctx {
    fn new(store: Arc<dyn Store>) -> Self {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let run = format!(
            "conformance-{nanos}-{}",
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        Self { store, run }
    }

    /// A collection or stream name unique to this run.
    pub(crate) fn name(&self, base: &str) -> String {
        format!("{}/{base}", self.run)
    }

    /// Runs one check, turning a panic into one that names the check and the backend.
    async fn run(&self, name: &str, check: impl Future<Output = ()>) {
        let backend = self.store.backend();
        let started = Instant::now();
        if let Err(panic) = AssertUnwindSafe(check).catch_unwind().await {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            panic!("conformance check `{name}` failed on {backend}: {message}");
        }
        eprintln!(
            "conformance[{backend}]: {name} ... ok ({:.1?})",
            started.elapsed()
        );
    }
}

/// The value of `result`, or a panic naming `what` and the error.
#[track_caller]
pub(crate) fn must<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{what}: unexpected error: {err}"),
    }
}

/// Asserts that `result` is `ConditionFailed` naming (`collection`, `key`).
#[track_caller]
pub(crate) fn assert_condition_failed<T: Debug>(
    result: Result<T, StoreError>,
    collection: &str,
    key: &str,
    what: &str,
) {
    match result {
        Err(StoreError::ConditionFailed {
            collection: c,
            key: k,
        }) => {
            assert_eq!(
                (c.as_str(), k.as_str()),
                (collection, key),
                "{what}: ConditionFailed names the wrong item"
            );
        }
        other => panic!("{what}: expected ConditionFailed for {collection}/{key}, got {other:?}"),
    }
}

/// An event with id `id`, at `second` seconds into 2024, with `attrs` and a small body.
pub(crate) fn event(id: &str, second: i64, attrs: &[(&str, &str)]) -> NewEvent {
    NewEvent {
        id: id.to_owned(),
        time: base_time() + time::Duration::seconds(second),
        attrs: attrs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: serde_json::json!({"eventID": id, "n": second}),
    }
}

/// 2024-01-01T00:00:00Z, the origin of [`event`] times.
pub(crate) fn base_time() -> time::OffsetDateTime {
    time::macros::datetime!(2024-01-01 0:00 UTC)
}

/// Writes `keys` (value = `{"k": key}`) unconditionally into `coll`.
pub(crate) async fn seed(ctx: &Ctx, coll: &str, keys: &[&str]) {
    for key in keys {
        must(
            ctx.store
                .put(coll, key, &json!({ "k": key }), Precondition::None)
                .await,
            "seed put",
        );
    }
}

/// The keys `list` returns.
pub(crate) async fn list_keys(
    ctx: &Ctx,
    coll: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Vec<String> {
    let items = must(ctx.store.list(coll, prefix, after, limit).await, "list");
    items.into_iter().map(|i| i.key).collect()
}

/// The backend names itself with one of the documented names.
async fn backend_is_named(ctx: &Ctx) {
    let name = ctx.store.backend();
    assert!(
        ["sqlite", "postgres"].contains(&name),
        "backend() = {name:?}, expected \"sqlite\" or \"postgres\""
    );
}
