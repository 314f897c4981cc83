//! Checks of single-item reads and writes, preconditions and listing.

use serde_json::json;

use super::{Ctx, assert_condition_failed, list_keys, must, seed};
use crate::{Precondition, StoreError};

/// Reading a key that was never written is `None`, in a known and an unknown collection.
pub(crate) async fn get_missing(ctx: &Ctx) {
    let coll = ctx.name("missing");
    seed(ctx, &coll, &["present"]).await;
    assert_eq!(must(ctx.store.get(&coll, "absent").await, "get"), None);
    assert_eq!(
        must(
            ctx.store.get(&ctx.name("never-used"), "present").await,
            "get"
        ),
        None
    );
}

/// A value comes back exactly as written, with version 1, whatever its shape.
pub(crate) async fn put_get_round_trip(ctx: &Ctx) {
    let coll = ctx.name("round-trip");
    let value = json!({
        "name": "Zoë 🦀 用户", "nested": {"list": [1, -2, 3.5, true, null, "x"], "empty": {}},
        "min": i64::MIN, "max": u64::MAX, "float": 0.1, "quote": "\"'\\%_",
    });
    let key = "path/with spaces/ünïcødé 🦀";
    assert_eq!(
        must(
            ctx.store.put(&coll, key, &value, Precondition::None).await,
            "put"
        ),
        1
    );
    let item = must(ctx.store.get(&coll, key).await, "get");
    assert_eq!(
        item.map(|i| (i.key, i.value, i.version)),
        Some((key.to_owned(), value, 1))
    );
}

/// Every write adds one to the version; a re-created item starts again at 1.
pub(crate) async fn versions_increment(ctx: &Ctx) {
    let coll = ctx.name("versions");
    for expected in 1..=3 {
        let v = must(
            ctx.store
                .put(&coll, "k", &json!({ "n": expected }), Precondition::None)
                .await,
            "put",
        );
        assert_eq!(v, expected, "version after write {expected}");
    }
    let item = must(ctx.store.get(&coll, "k").await, "get");
    assert_eq!(
        item.map(|i| (i.version, i.value)),
        Some((3, json!({"n": 3})))
    );
    assert!(must(
        ctx.store.delete(&coll, "k", Precondition::None).await,
        "delete"
    ));
    assert_eq!(
        must(
            ctx.store
                .put(&coll, "k", &json!(0), Precondition::None)
                .await,
            "re-create"
        ),
        1
    );
}

/// `Absent` creates a missing item and refuses to overwrite an existing one.
pub(crate) async fn absent_allows_create_denies_overwrite(ctx: &Ctx) {
    let coll = ctx.name("absent");
    assert_eq!(
        must(
            ctx.store
                .put(&coll, "k", &json!("first"), Precondition::Absent)
                .await,
            "create"
        ),
        1
    );
    let denied = ctx
        .store
        .put(&coll, "k", &json!("second"), Precondition::Absent)
        .await;
    assert_condition_failed(denied, &coll, "k", "Absent on an existing item");
    let item = must(ctx.store.get(&coll, "k").await, "get");
    assert_eq!(
        item.map(|i| (i.value, i.version)),
        Some((json!("first"), 1)),
        "a denied write changed the item"
    );
}

/// `Exists` updates an existing item and refuses to create a missing one.
pub(crate) async fn exists_allows_update_denies_create(ctx: &Ctx) {
    let coll = ctx.name("exists");
    let denied = ctx
        .store
        .put(&coll, "k", &json!(1), Precondition::Exists)
        .await;
    assert_condition_failed(denied, &coll, "k", "Exists on a missing item");
    assert_eq!(
        must(ctx.store.get(&coll, "k").await, "get"),
        None,
        "a denied write created the item"
    );
    seed(ctx, &coll, &["k"]).await;
    assert_eq!(
        must(
            ctx.store
                .put(&coll, "k", &json!(2), Precondition::Exists)
                .await,
            "update"
        ),
        2
    );
}

/// `Version(n)` writes only over version n: stale, future, zero and huge versions fail.
pub(crate) async fn version_allows_match_denies_mismatch(ctx: &Ctx) {
    let coll = ctx.name("version");
    assert_condition_failed(
        ctx.store
            .put(&coll, "k", &json!(0), Precondition::Version(0))
            .await,
        &coll,
        "k",
        "Version(0) on missing",
    );
    assert_condition_failed(
        ctx.store
            .put(&coll, "k", &json!(0), Precondition::Version(1))
            .await,
        &coll,
        "k",
        "Version(1) on missing",
    );
    seed(ctx, &coll, &["k"]).await;
    assert_eq!(
        must(
            ctx.store
                .put(&coll, "k", &json!("v2"), Precondition::Version(1))
                .await,
            "CAS 1->2"
        ),
        2
    );
    for stale in [1, 3, 0, u64::MAX] {
        let denied = ctx
            .store
            .put(&coll, "k", &json!("lost"), Precondition::Version(stale))
            .await;
        assert_condition_failed(denied, &coll, "k", &format!("Version({stale}) when at 2"));
    }
    let item = must(ctx.store.get(&coll, "k").await, "get");
    assert_eq!(item.map(|i| (i.value, i.version)), Some((json!("v2"), 2)));
}

/// Delete under each precondition: what it returns, and what it leaves behind.
pub(crate) async fn delete_semantics(ctx: &Ctx) {
    let coll = ctx.name("delete");
    let store = &ctx.store;
    assert!(!must(
        store.delete(&coll, "k", Precondition::None).await,
        "delete missing"
    ));
    assert!(!must(
        store.delete(&coll, "k", Precondition::Absent).await,
        "Absent delete of missing"
    ));
    assert_condition_failed(
        store.delete(&coll, "k", Precondition::Exists).await,
        &coll,
        "k",
        "Exists delete of missing",
    );
    assert_condition_failed(
        store.delete(&coll, "k", Precondition::Version(1)).await,
        &coll,
        "k",
        "Version delete of missing",
    );

    seed(ctx, &coll, &["k"]).await;
    seed(ctx, &coll, &["k"]).await;
    assert_condition_failed(
        store.delete(&coll, "k", Precondition::Absent).await,
        &coll,
        "k",
        "Absent delete of existing",
    );
    assert_condition_failed(
        store.delete(&coll, "k", Precondition::Version(1)).await,
        &coll,
        "k",
        "stale Version delete",
    );
    assert!(
        must(store.get(&coll, "k").await, "get").is_some(),
        "a denied delete removed the item"
    );
    assert!(must(
        store.delete(&coll, "k", Precondition::Version(2)).await,
        "Version delete"
    ));
    assert_eq!(must(store.get(&coll, "k").await, "get"), None);

    seed(ctx, &coll, &["k"]).await;
    assert!(must(
        store.delete(&coll, "k", Precondition::Exists).await,
        "Exists delete"
    ));
    seed(ctx, &coll, &["k"]).await;
    assert!(must(
        store.delete(&coll, "k", Precondition::None).await,
        "delete existing"
    ));
    assert!(
        !must(
            store.delete(&coll, "k", Precondition::None).await,
            "second delete"
        ),
        "deleted twice"
    );
}

/// NUL, which PostgreSQL cannot store, is refused the same way on every backend.
pub(crate) async fn nul_rejected_everywhere(ctx: &Ctx) {
    let coll = ctx.name("nul");
    let bad = [
        ctx.store
            .put(&coll, "a\0b", &json!(1), Precondition::None)
            .await,
        ctx.store
            .put(&coll, "k", &json!({"s": "x\u{0}y"}), Precondition::None)
            .await,
        ctx.store
            .put(&format!("{coll}\0"), "k", &json!(1), Precondition::None)
            .await,
    ];
    for result in bad {
        assert!(
            matches!(result, Err(StoreError::InvalidInput { .. })),
            "expected InvalidInput, got {result:?}"
        );
    }
    assert!(
        list_keys(ctx, &coll, "", None, 10).await.is_empty(),
        "a rejected write stored something"
    );
}

/// A 1 MiB document round-trips intact.
pub(crate) async fn large_value_round_trip(ctx: &Ctx) {
    let coll = ctx.name("large");
    let big = json!({ "blob": "ab€🦀".repeat(1 << 17), "n": 1 });
    must(
        ctx.store.put(&coll, "big", &big, Precondition::None).await,
        "put 1 MiB",
    );
    let item = must(ctx.store.get(&coll, "big").await, "get 1 MiB");
    assert!(
        item.is_some_and(|i| i.value == big),
        "1 MiB value changed on the way through"
    );
}
