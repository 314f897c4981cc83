//! Checks of atomic batches and of concurrent writers racing on the same items.

use std::sync::Arc;

use serde_json::json;

use super::{Ctx, assert_condition_failed, must};
use crate::{Precondition, Store, StoreError, WriteOp};

/// Concurrent writers in the CAS checks.
const TASKS: u64 = 8;
/// Increments per writer.
const INCREMENTS: u64 = 25;

/// A batch of puts and deletes lands completely.
pub(crate) async fn batch_applies_every_op(ctx: &Ctx) {
    let (users, groups) = (ctx.name("batch-users"), ctx.name("batch-groups"));
    must(
        ctx.store
            .put(&users, "old", &json!(0), Precondition::None)
            .await,
        "seed",
    );
    let ops = [
        WriteOp::put(&users, "alice", json!({"n": 1}), Precondition::Absent),
        WriteOp::put(&users, "bob", json!({"n": 2}), Precondition::None),
        WriteOp::put(&groups, "admins", json!(["alice"]), Precondition::Absent),
        WriteOp::delete(&users, "old", Precondition::Version(1)),
    ];
    must(ctx.store.write_batch(&ops).await, "write_batch");
    let alice = must(ctx.store.get(&users, "alice").await, "get").map(|i| (i.value, i.version));
    assert_eq!(alice, Some((json!({"n": 1}), 1)));
    assert!(must(ctx.store.get(&groups, "admins").await, "get").is_some());
    assert_eq!(
        must(ctx.store.get(&users, "old").await, "get"),
        None,
        "batched delete not applied"
    );
    must(ctx.store.write_batch(&[]).await, "empty batch");
}

/// One failing precondition leaves every item exactly as it was.
pub(crate) async fn batch_is_atomic(ctx: &Ctx) {
    let coll = ctx.name("batch-atomic");
    must(
        ctx.store
            .put(&coll, "x", &json!("x1"), Precondition::None)
            .await,
        "seed x",
    );
    must(
        ctx.store
            .put(&coll, "gone", &json!("g1"), Precondition::None)
            .await,
        "seed gone",
    );
    let ops = [
        WriteOp::put(&coll, "a", json!("new"), Precondition::Absent),
        WriteOp::delete(&coll, "gone", Precondition::Exists),
        WriteOp::put(&coll, "x", json!("x2"), Precondition::Version(5)),
        WriteOp::put(&coll, "b", json!("new"), Precondition::None),
    ];
    assert_condition_failed(
        ctx.store.write_batch(&ops).await,
        &coll,
        "x",
        "batch with a stale version",
    );
    assert_eq!(
        must(ctx.store.get(&coll, "a").await, "get a"),
        None,
        "op before the failure was applied"
    );
    assert_eq!(
        must(ctx.store.get(&coll, "b").await, "get b"),
        None,
        "op after the failure was applied"
    );
    let gone = must(ctx.store.get(&coll, "gone").await, "get gone").map(|i| i.value);
    assert_eq!(
        gone,
        Some(json!("g1")),
        "batched delete survived a failed batch"
    );
    let x = must(ctx.store.get(&coll, "x").await, "get x").map(|i| (i.value, i.version));
    assert_eq!(x, Some((json!("x1"), 1)));
}

/// With several failing operations, the error names the first.
pub(crate) async fn batch_names_first_failure(ctx: &Ctx) {
    let coll = ctx.name("batch-first");
    must(
        ctx.store
            .put(&coll, "exists", &json!(1), Precondition::None)
            .await,
        "seed",
    );
    let ops = [
        WriteOp::put(&coll, "fine", json!(1), Precondition::None),
        WriteOp::delete(&coll, "missing", Precondition::Exists),
        WriteOp::put(&coll, "exists", json!(2), Precondition::Absent),
    ];
    assert_condition_failed(
        ctx.store.write_batch(&ops).await,
        &coll,
        "missing",
        "two failing ops",
    );
}

/// Operations apply in order: later ones see the versions earlier ones produced.
pub(crate) async fn batch_applies_in_order(ctx: &Ctx) {
    let coll = ctx.name("batch-order");
    let ops = [
        WriteOp::put(&coll, "k", json!(1), Precondition::Absent),
        WriteOp::put(&coll, "k", json!(2), Precondition::Version(1)),
        WriteOp::put(&coll, "k", json!(3), Precondition::Version(2)),
        WriteOp::put(&coll, "gone", json!(0), Precondition::Absent),
        WriteOp::delete(&coll, "gone", Precondition::Version(1)),
    ];
    must(ctx.store.write_batch(&ops).await, "ordered batch");
    let k = must(ctx.store.get(&coll, "k").await, "get").map(|i| (i.value, i.version));
    assert_eq!(k, Some((json!(3), 3)));
    assert_eq!(must(ctx.store.get(&coll, "gone").await, "get"), None);
}

/// Reads `key`'s counter and writes counter+1 under `Version`, retrying lost races.
async fn increment(store: &dyn Store, coll: &str, key: &str) -> Result<u64, StoreError> {
    let mut lost = 0;
    loop {
        let Some(item) = store.get(coll, key).await? else {
            return Err(StoreError::condition(coll, key));
        };
        let next = item
            .value
            .get("n")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_default()
            + 1;
        match store
            .put(
                coll,
                key,
                &json!({ "n": next }),
                Precondition::Version(item.version),
            )
            .await
        {
            Ok(_) => return Ok(lost),
            Err(err) if err.is_condition_failed() => lost += 1,
            Err(err) => return Err(err),
        }
    }
}

/// Many tasks incrementing one counter by compare-and-swap lose no update.
pub(crate) async fn concurrent_cas_increments(ctx: &Ctx) {
    let coll = ctx.name("cas");
    must(
        ctx.store
            .put(&coll, "counter", &json!({"n": 0}), Precondition::Absent)
            .await,
        "seed",
    );
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (store, coll) = (Arc::clone(&ctx.store), coll.clone());
        tasks.push(tokio::spawn(async move {
            let mut lost = 0;
            for _ in 0..INCREMENTS {
                lost += must(
                    increment(store.as_ref(), &coll, "counter").await,
                    "increment",
                );
            }
            lost
        }));
    }
    let mut lost = 0;
    for task in tasks {
        lost += task
            .await
            .unwrap_or_else(|e| panic!("increment task failed: {e}"));
    }
    let item = must(ctx.store.get(&coll, "counter").await, "get").map(|i| (i.value, i.version));
    let total = TASKS * INCREMENTS;
    assert_eq!(
        item,
        Some((json!({ "n": total }), total + 1)),
        "lost updates ({lost} retries happened)"
    );
}

/// Many tasks creating the same key with `Absent`: exactly one succeeds.
pub(crate) async fn concurrent_create_has_one_winner(ctx: &Ctx) {
    let coll = ctx.name("create-race");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, coll) = (Arc::clone(&ctx.store), coll.clone());
        tasks.push(tokio::spawn(async move {
            store
                .put(&coll, "k", &json!({ "by": task }), Precondition::Absent)
                .await
        }));
    }
    let mut winners = Vec::new();
    for (task, handle) in tasks.into_iter().enumerate() {
        match handle
            .await
            .unwrap_or_else(|e| panic!("create task failed: {e}"))
        {
            Ok(version) => winners.push((task, version)),
            Err(err) if err.is_condition_failed() => {}
            Err(err) => panic!("create task {task}: unexpected error: {err}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = must(ctx.store.get(&coll, "k").await, "get")
        .and_then(|i| i.value.get("by").and_then(|b| b.as_u64()));
    assert_eq!(
        stored,
        winners.first().map(|w| w.0 as u64),
        "the stored value is not the winner's"
    );
}

/// Concurrent two-item batches (move one unit between accounts) keep the total constant.
pub(crate) async fn concurrent_transfers_conserve_total(ctx: &Ctx) {
    let coll = ctx.name("transfers");
    for account in ["a", "b"] {
        must(
            ctx.store
                .put(&coll, account, &json!({"n": 1000}), Precondition::Absent)
                .await,
            "seed",
        );
    }
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, coll) = (Arc::clone(&ctx.store), coll.clone());
        let (from, to) = if task % 2 == 0 {
            ("a", "b")
        } else {
            ("b", "a")
        };
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                loop {
                    let read = |key| {
                        let (store, coll) = (&store, &coll);
                        async move {
                            must(store.get(coll, key).await, "get")
                                .unwrap_or_else(|| panic!("{key} vanished"))
                        }
                    };
                    let (src, dst) = (read(from).await, read(to).await);
                    let n = |v: &serde_json::Value| {
                        v.get("n")
                            .and_then(serde_json::Value::as_i64)
                            .unwrap_or_default()
                    };
                    let ops = [
                        WriteOp::put(
                            &coll,
                            from,
                            json!({ "n": n(&src.value) - 1 }),
                            Precondition::Version(src.version),
                        ),
                        WriteOp::put(
                            &coll,
                            to,
                            json!({ "n": n(&dst.value) + 1 }),
                            Precondition::Version(dst.version),
                        ),
                    ];
                    match store.write_batch(&ops).await {
                        Ok(()) => break,
                        Err(err) if err.is_condition_failed() => continue,
                        Err(err) => panic!("transfer batch: unexpected error: {err}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("transfer task failed: {e}"));
    }
    let mut total = 0;
    for account in ["a", "b"] {
        let item = must(ctx.store.get(&coll, account).await, "get");
        total += item
            .and_then(|i| i.value.get("n").and_then(serde_json::Value::as_i64))
            .unwrap_or_default();
    }
    assert_eq!(total, 2000, "concurrent batches created or destroyed value");
    let versions: u64 = must(ctx.store.list(&coll, "", None, 10).await, "list")
        .iter()
        .map(|i| i.version - 1)
        .sum();
    assert_eq!(
        versions,
        2 * TASKS * 10,
        "every transfer writes both accounts exactly once"
    );
}
