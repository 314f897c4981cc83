//! Checks of listing: order, prefixes (literal, isolated), pagination, and collections.

use serde_json::json;

use super::{Ctx, list_keys, must, seed};
use crate::Precondition;

/// Listing is ascending by key (code point order) and honours `limit`.
pub(crate) async fn list_ascending_with_limit(ctx: &Ctx) {
    let coll = ctx.name("list-order");
    seed(ctx, &coll, &["m", "b", "Z", "a", "é", "aa", "a0", "z"]).await;
    let all = list_keys(ctx, &coll, "", None, 100).await;
    assert_eq!(
        all,
        ["Z", "a", "a0", "aa", "b", "m", "z", "é"],
        "keys must sort by code point, not locale"
    );
    assert_eq!(list_keys(ctx, &coll, "", None, 3).await, ["Z", "a", "a0"]);
    assert!(
        list_keys(ctx, &coll, "", None, 0).await.is_empty(),
        "limit 0 returns nothing"
    );
    let items = must(ctx.store.list(&coll, "m", None, 10).await, "list");
    assert_eq!(
        items
            .into_iter()
            .map(|i| (i.value, i.version))
            .collect::<Vec<_>>(),
        vec![(json!({"k": "m"}), 1)]
    );
}

/// A prefix returns exactly the keys that start with it.
pub(crate) async fn list_prefix_isolation(ctx: &Ctx) {
    let coll = ctx.name("list-prefix");
    seed(
        ctx,
        &coll,
        &[
            "a",
            "a/1",
            "a/2",
            "ab",
            "b",
            "b/1",
            "`",
            "a\u{10FFFF}",
            "c\u{10FFFF}z",
            "d",
        ],
    )
    .await;
    assert_eq!(
        list_keys(ctx, &coll, "a", None, 100).await,
        ["a", "a/1", "a/2", "ab", "a\u{10FFFF}"]
    );
    assert_eq!(list_keys(ctx, &coll, "a/", None, 100).await, ["a/1", "a/2"]);
    assert_eq!(list_keys(ctx, &coll, "b", None, 100).await, ["b", "b/1"]);
    assert_eq!(
        list_keys(ctx, &coll, "c\u{10FFFF}", None, 100).await,
        ["c\u{10FFFF}z"]
    );
    assert!(list_keys(ctx, &coll, "a/3", None, 100).await.is_empty());
}

/// `%` and `_` in a prefix are ordinary characters, not wildcards.
pub(crate) async fn list_prefix_is_literal(ctx: &Ctx) {
    let coll = ctx.name("list-literal");
    seed(
        ctx,
        &coll,
        &[
            "100%", "100%_x", "1000", "10_0", "10a0", "user_1", "userX1", "a\\b", "aXb",
        ],
    )
    .await;
    assert_eq!(
        list_keys(ctx, &coll, "100%", None, 100).await,
        ["100%", "100%_x"]
    );
    assert_eq!(list_keys(ctx, &coll, "10_", None, 100).await, ["10_0"]);
    assert_eq!(list_keys(ctx, &coll, "user_", None, 100).await, ["user_1"]);
    assert_eq!(list_keys(ctx, &coll, "a\\", None, 100).await, ["a\\b"]);
    assert!(
        list_keys(ctx, &coll, "%", None, 100).await.is_empty(),
        "% matched as a wildcard"
    );
}

/// Paging with `start_after` visits every key once, in order.
pub(crate) async fn list_pagination(ctx: &Ctx) {
    let coll = ctx.name("list-pages");
    let keys: Vec<String> = (0..25).map(|i| format!("user/{i:03}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    seed(ctx, &coll, &refs).await;
    seed(ctx, &coll, &["other/1", "user0"]).await;
    let (mut seen, mut pages, mut after) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = list_keys(ctx, &coll, "user/", after.as_deref(), 10).await;
        let Some(last) = page.last().cloned() else {
            break;
        };
        pages.push(page.len());
        seen.extend(page);
        after = Some(last);
    }
    assert_eq!(pages, [10, 10, 5], "page sizes");
    assert_eq!(seen, keys, "pages must cover every key once, in order");
    assert_eq!(
        list_keys(ctx, &coll, "user/", Some("user/0105"), 2).await,
        ["user/011", "user/012"]
    );
    assert_eq!(
        list_keys(ctx, &coll, "user/", Some("a"), 1).await,
        ["user/000"],
        "cursor before the prefix"
    );
}

/// The same key in two collections is two items; names that prefix each other do not mix.
pub(crate) async fn collections_isolated(ctx: &Ctx) {
    let (c1, c2) = (ctx.name("iso"), ctx.name("iso2"));
    must(
        ctx.store.put(&c1, "k", &json!(1), Precondition::None).await,
        "put c1",
    );
    must(
        ctx.store
            .put(&c2, "k", &json!(2), Precondition::Absent)
            .await,
        "put c2 Absent",
    );
    assert_eq!(
        must(ctx.store.get(&c2, "k").await, "get").map(|i| i.value),
        Some(json!(2))
    );
    assert!(must(
        ctx.store.delete(&c1, "k", Precondition::None).await,
        "delete c1"
    ));
    assert_eq!(
        must(ctx.store.get(&c2, "k").await, "get").map(|i| i.version),
        Some(1),
        "delete leaked"
    );
    assert!(
        list_keys(ctx, &c1, "", None, 10).await.is_empty(),
        "list leaked another collection"
    );
    assert_eq!(list_keys(ctx, &c2, "", None, 10).await, ["k"]);
}
