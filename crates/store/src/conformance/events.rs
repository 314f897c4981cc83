//! Checks of the append-only event streams: sequence numbers, order, filters, paging.

use serde_json::json;
use time::macros::{datetime, offset};

use super::{Ctx, base_time, event, must};
use crate::{EventQuery, NewEvent, StoreError, StoredEvent};

/// Appends `events` to `stream`, returning their sequence numbers.
async fn append_all(ctx: &Ctx, stream: &str, events: &[NewEvent]) -> Vec<u64> {
    let mut seqs = Vec::new();
    for e in events {
        seqs.push(must(
            ctx.store.append_event(stream, e).await,
            "append_event",
        ));
    }
    seqs
}

/// The ids of the events `query` returns, in order.
async fn ids(ctx: &Ctx, stream: &str, query: &EventQuery) -> Vec<String> {
    let events = must(ctx.store.query_events(stream, query).await, "query_events");
    events.into_iter().map(|e| e.id).collect()
}

/// Events `e0..e{n-1}`, at seconds 0..n, without attributes.
fn numbered(n: i64) -> Vec<NewEvent> {
    (0..n).map(|i| event(&format!("e{i}"), i, &[])).collect()
}

/// Sequence numbers strictly increase with append order, across streams.
pub(crate) async fn seq_increases_across_streams(ctx: &Ctx) {
    let (s1, s2) = (ctx.name("seq-1"), ctx.name("seq-2"));
    let mut seqs = Vec::new();
    for i in 0..6 {
        let stream = if i % 2 == 0 { &s1 } else { &s2 };
        seqs.push(must(
            ctx.store
                .append_event(stream, &event(&format!("e{i}"), i, &[]))
                .await,
            "append",
        ));
    }
    assert!(
        seqs.windows(2).all(|w| w.first() < w.get(1)),
        "sequence numbers not increasing: {seqs:?}"
    );
}

/// Events come back newest first, with id, time and body intact.
pub(crate) async fn newest_first_round_trip(ctx: &Ctx) {
    let stream = ctx.name("order");
    // Event times deliberately out of order: "newest" means most recently appended.
    let events = [
        event("first", 30, &[]),
        event("second", 10, &[]),
        event("third", 20, &[]),
    ];
    let seqs = append_all(ctx, &stream, &events).await;
    let got = must(
        ctx.store
            .query_events(&stream, &EventQuery::latest(10))
            .await,
        "query",
    );
    let expected: Vec<StoredEvent> = events
        .iter()
        .zip(&seqs)
        .rev()
        .map(|(e, seq)| StoredEvent {
            seq: *seq,
            id: e.id.clone(),
            time: e.time,
            body: e.body.clone(),
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        ids(ctx, &stream, &EventQuery::latest(2)).await,
        ["third", "second"],
        "limit keeps the newest"
    );
    assert!(
        ids(ctx, &stream, &EventQuery::latest(0)).await.is_empty(),
        "limit 0 returns nothing"
    );
}

/// `start` and `end` are both inclusive, alone or together.
pub(crate) async fn time_range_inclusive(ctx: &Ctx) {
    let stream = ctx.name("time");
    append_all(ctx, &stream, &numbered(5)).await;
    let at = |s: i64| Some(base_time() + time::Duration::seconds(s));
    let range = |start, end| EventQuery {
        start,
        end,
        ..EventQuery::latest(10)
    };
    assert_eq!(
        ids(ctx, &stream, &range(at(1), at(3))).await,
        ["e3", "e2", "e1"]
    );
    assert_eq!(ids(ctx, &stream, &range(at(3), None)).await, ["e4", "e3"]);
    assert_eq!(ids(ctx, &stream, &range(None, at(1))).await, ["e1", "e0"]);
    assert!(
        ids(ctx, &stream, &range(at(3), at(2))).await.is_empty(),
        "empty range"
    );
    let sub_second = range(Some(base_time() + time::Duration::milliseconds(1500)), None);
    assert_eq!(ids(ctx, &stream, &sub_second).await, ["e4", "e3", "e2"]);
}

/// Attribute filters match name and value exactly; a name may carry several values.
pub(crate) async fn attr_filter(ctx: &Ctx) {
    let stream = ctx.name("attrs");
    let events = [
        event(
            "create-alice",
            0,
            &[("EventName", "CreateUser"), ("Username", "alice")],
        ),
        event(
            "delete-alice",
            1,
            &[("EventName", "DeleteUser"), ("Username", "alice")],
        ),
        event(
            "create-bob",
            2,
            &[("EventName", "CreateUser"), ("Username", "bob")],
        ),
        event(
            "tagged",
            3,
            &[("Resource", "r1"), ("Resource", "r2"), ("Resource", "r2")],
        ),
        event("no-attrs", 4, &[]),
    ];
    append_all(ctx, &stream, &events).await;
    let by = |name: &str, value: &str| EventQuery {
        attr: Some((name.into(), value.into())),
        ..EventQuery::latest(10)
    };
    assert_eq!(
        ids(ctx, &stream, &by("EventName", "CreateUser")).await,
        ["create-bob", "create-alice"]
    );
    assert_eq!(
        ids(ctx, &stream, &by("Username", "alice")).await,
        ["delete-alice", "create-alice"]
    );
    assert_eq!(ids(ctx, &stream, &by("Resource", "r1")).await, ["tagged"]);
    assert_eq!(
        ids(ctx, &stream, &by("Resource", "r2")).await,
        ["tagged"],
        "duplicate attribute duplicated the event"
    );
    assert!(
        ids(ctx, &stream, &by("EventName", "createuser"))
            .await
            .is_empty(),
        "values compare case-sensitively"
    );
    assert!(
        ids(ctx, &stream, &by("Username", "CreateUser"))
            .await
            .is_empty(),
        "value matched under another name"
    );
    assert!(
        ids(ctx, &stream, &by("EventName", "Create%"))
            .await
            .is_empty(),
        "attribute values are literal"
    );
}

/// Time, attribute and cursor filters combine with AND.
pub(crate) async fn filters_are_anded(ctx: &Ctx) {
    let stream = ctx.name("and");
    let events: Vec<NewEvent> = (0..6)
        .map(|i| {
            event(
                &format!("e{i}"),
                i,
                &[("Kind", if i % 2 == 0 { "even" } else { "odd" })],
            )
        })
        .collect();
    let seqs = append_all(ctx, &stream, &events).await;
    let query = EventQuery {
        start: Some(base_time() + time::Duration::seconds(1)),
        end: Some(base_time() + time::Duration::seconds(4)),
        attr: Some(("Kind".into(), "even".into())),
        before_seq: None,
        limit: 10,
    };
    assert_eq!(ids(ctx, &stream, &query).await, ["e4", "e2"]);
    let paged = EventQuery {
        before_seq: seqs.get(4).copied(),
        ..query
    };
    assert_eq!(ids(ctx, &stream, &paged).await, ["e2"]);
}

/// Paging with `before_seq` visits every event once, newest first.
pub(crate) async fn before_seq_pagination(ctx: &Ctx) {
    let stream = ctx.name("pages");
    let seqs = append_all(ctx, &stream, &numbered(25)).await;
    let (mut seen, mut pages, mut cursor) = (Vec::new(), Vec::new(), None);
    loop {
        let query = EventQuery {
            before_seq: cursor,
            ..EventQuery::latest(10)
        };
        let page = must(ctx.store.query_events(&stream, &query).await, "query page");
        let Some(last) = page.last() else { break };
        cursor = Some(last.seq);
        pages.push(page.len());
        seen.extend(page.into_iter().map(|e| e.seq));
    }
    assert_eq!(pages, [10, 10, 5], "page sizes");
    assert_eq!(
        seen,
        seqs.iter().rev().copied().collect::<Vec<_>>(),
        "pages must cover every event once"
    );
    let first = seqs.first().copied().unwrap_or_default();
    let none_older = EventQuery {
        before_seq: Some(first),
        ..EventQuery::latest(10)
    };
    assert!(ids(ctx, &stream, &none_older).await.is_empty());
}

/// Streams never see each other's events, whether filtered or not.
pub(crate) async fn streams_isolated(ctx: &Ctx) {
    let (audit, findings) = (ctx.name("audit"), ctx.name("audit-findings"));
    append_all(ctx, &audit, &[event("a1", 0, &[("K", "v")])]).await;
    append_all(ctx, &findings, &[event("f1", 0, &[("K", "v")])]).await;
    assert_eq!(ids(ctx, &audit, &EventQuery::latest(10)).await, ["a1"]);
    let by_attr = EventQuery {
        attr: Some(("K".into(), "v".into())),
        ..EventQuery::latest(10)
    };
    assert_eq!(ids(ctx, &findings, &by_attr).await, ["f1"]);
    assert!(
        ids(ctx, &ctx.name("empty"), &EventQuery::latest(10))
            .await
            .is_empty()
    );
}

/// An id is stored once per stream; a retry is refused and the original kept.
pub(crate) async fn duplicate_id_rejected(ctx: &Ctx) {
    let (stream, other) = (ctx.name("dup"), ctx.name("dup-other"));
    let original = event("same-id", 0, &[("K", "1")]);
    let seq = must(
        ctx.store.append_event(&stream, &original).await,
        "first append",
    );
    let retry = NewEvent {
        body: json!("different"),
        ..event("same-id", 9, &[("K", "2")])
    };
    match ctx.store.append_event(&stream, &retry).await {
        Err(StoreError::DuplicateEvent { stream: s, id }) => {
            assert_eq!((s, id), (stream.clone(), "same-id".into()))
        }
        other => panic!("expected DuplicateEvent, got {other:?}"),
    }
    let got = must(
        ctx.store
            .query_events(&stream, &EventQuery::latest(10))
            .await,
        "query",
    );
    assert_eq!(
        got.iter().map(|e| (e.seq, &e.body)).collect::<Vec<_>>(),
        vec![(seq, &original.body)]
    );
    let by_new_attr = EventQuery {
        attr: Some(("K".into(), "2".into())),
        ..EventQuery::latest(10)
    };
    assert!(
        ids(ctx, &stream, &by_new_attr).await.is_empty(),
        "a refused append left attributes behind"
    );
    must(
        ctx.store.append_event(&other, &original).await,
        "same id in another stream",
    );
}

/// Unicode ids, attributes and bodies, and a 1 MiB body, come back intact.
pub(crate) async fn unicode_and_large_bodies(ctx: &Ctx) {
    let stream = ctx.name("bodies");
    let unicode = NewEvent {
        id: "ид-🦀-標識".into(),
        time: base_time(),
        attrs: vec![("Benutzer".into(), "Jürgen Øster 👩‍💻".into())],
        body: json!({"msg": "こんにちは \u{1F600} \"quoted\" \\ \n\t", "arr": ["é", "\u{10FFFF}"]}),
    };
    let large = NewEvent {
        body: json!({ "blob": "x€🦀y".repeat(1 << 17) }),
        ..event("large", 1, &[])
    };
    append_all(ctx, &stream, &[unicode.clone(), large.clone()]).await;
    let by_attr = EventQuery {
        attr: Some(("Benutzer".into(), "Jürgen Øster 👩‍💻".into())),
        ..EventQuery::latest(10)
    };
    let got = must(
        ctx.store.query_events(&stream, &by_attr).await,
        "query by unicode attr",
    );
    assert_eq!(
        got.iter()
            .map(|e| (e.id.as_str(), &e.body))
            .collect::<Vec<_>>(),
        vec![(unicode.id.as_str(), &unicode.body)]
    );
    let newest = must(
        ctx.store
            .query_events(&stream, &EventQuery::latest(1))
            .await,
        "query large",
    );
    assert!(
        newest.first().is_some_and(|e| e.body == large.body),
        "1 MiB body changed on the way through"
    );
}

/// Times keep microseconds (nanoseconds truncate), any offset, and dates before 1970.
pub(crate) async fn time_precision_and_offsets(ctx: &Ctx) {
    let stream = ctx.name("times");
    let cases = [
        (
            datetime!(2024-03-04 05:06:07.123_456_789 +02:00),
            datetime!(2024-03-04 03:06:07.123_456 UTC),
        ),
        (
            datetime!(1969-07-20 20:17:40.000_001 UTC),
            datetime!(1969-07-20 20:17:40.000_001 UTC),
        ),
        (
            datetime!(2038-01-19 03:14:08 -05:00),
            datetime!(2038-01-19 08:14:08 UTC),
        ),
    ];
    for (i, (time, _)) in cases.iter().enumerate() {
        let e = NewEvent {
            time: *time,
            ..event(&format!("t{i}"), 0, &[])
        };
        must(ctx.store.append_event(&stream, &e).await, "append");
    }
    let got = must(
        ctx.store
            .query_events(&stream, &EventQuery::latest(10))
            .await,
        "query",
    );
    let times: Vec<_> = got.iter().rev().map(|e| e.time).collect();
    let expected: Vec<_> = cases.iter().map(|c| c.1).collect();
    assert_eq!(times, expected);
    assert!(
        got.iter().all(|e| e.time.offset() == offset!(UTC)),
        "times come back in UTC"
    );
}

/// A batch append stores every event in order in one step, or none of them.
pub(crate) async fn batch_append_is_atomic(ctx: &Ctx) {
    let stream = ctx.name("batch-append");
    let seqs = must(
        ctx.store
            .append_events(
                &stream,
                &[event("b1", 0, &[("K", "x")]), event("b2", 1, &[("K", "x")])],
            )
            .await,
        "append_events",
    );
    assert_eq!(seqs.len(), 2);
    assert!(
        seqs.first() < seqs.get(1),
        "batch seqs not increasing: {seqs:?}"
    );
    assert_eq!(
        ids(ctx, &stream, &EventQuery::latest(10)).await,
        ["b2", "b1"]
    );
    // A batch holding a duplicate id stores nothing, not even the events before it.
    let err = ctx
        .store
        .append_events(&stream, &[event("b3", 2, &[]), event("b1", 3, &[])])
        .await;
    assert!(
        matches!(err, Err(StoreError::DuplicateEvent { .. })),
        "got {err:?}"
    );
    assert_eq!(
        ids(ctx, &stream, &EventQuery::latest(10)).await,
        ["b2", "b1"]
    );
    let by_attr = EventQuery {
        attr: Some(("K".into(), "x".into())),
        ..EventQuery::latest(10)
    };
    assert_eq!(ids(ctx, &stream, &by_attr).await, ["b2", "b1"]);
    assert!(must(ctx.store.append_events(&stream, &[]).await, "empty batch").is_empty());
}

/// Events appended as JSON text come back like any other: body parsed, attributes indexed,
/// in one atomic batch; bad text stores nothing.
pub(crate) async fn json_text_append(ctx: &Ctx) {
    let stream = ctx.name("json-text");
    let text = |id: &str, attr: &str, body: &str| crate::NewEventJson {
        id: id.to_owned(),
        time: base_time(),
        attrs: vec![("K".to_owned(), attr.to_owned())],
        body: body.into(),
    };
    let seqs = must(
        ctx.store
            .append_events_json(
                &stream,
                &[
                    text("a", "x", r#"{"eventID":"a","n":[1,2.5,"é"]}"#),
                    text("b", "y", r#"{"eventID":"b"}"#),
                ],
            )
            .await,
        "append_events_json",
    );
    assert_eq!(seqs.len(), 2);
    assert!(seqs.first() < seqs.get(1), "{seqs:?}");
    let by_attr = EventQuery {
        attr: Some(("K".into(), "x".into())),
        ..EventQuery::latest(10)
    };
    let got = must(ctx.store.query_events(&stream, &by_attr).await, "query");
    assert_eq!(
        got.iter().map(|e| (&e.id[..], &e.body)).collect::<Vec<_>>(),
        vec![("a", &json!({"eventID": "a", "n": [1, 2.5, "é"]}))]
    );
    for bad in ["{\"eventID\":", "", "{\"s\":\"nul \\u0000 here\"}"] {
        let r = ctx
            .store
            .append_events_json(&stream, &[text("c", "z", "{}"), text("d", "z", bad)])
            .await;
        assert!(
            matches!(r, Err(StoreError::InvalidInput { .. })),
            "{bad:?}: {r:?}"
        );
    }
    assert_eq!(ids(ctx, &stream, &EventQuery::latest(10)).await, ["b", "a"]);

    // Text serde_json wrote is stored without a second parse, and reads back the same; its
    // NUL characters are refused like any other text's.
    let serialized = |id: &str, body: &serde_json::Value| crate::NewEventJson {
        body: match crate::JsonText::serialize(body) {
            Ok(text) => text,
            Err(e) => panic!("serializing {body}: {e}"),
        },
        ..text(id, "s", "")
    };
    let body = json!({"eventID": "e", "s": "quote \" and é", "n": [1, 2.5]});
    must(
        ctx.store
            .append_events_json(&stream, &[serialized("e", &body)])
            .await,
        "append serialized",
    );
    let got = must(ctx.store.get_event(&stream, "e").await, "get serialized");
    assert_eq!(got.map(|e| e.body), Some(body));
    let nul = ctx
        .store
        .append_events_json(&stream, &[serialized("f", &json!({"s": "nul \0 here"}))])
        .await;
    assert!(
        matches!(nul, Err(StoreError::InvalidInput { .. })),
        "{nul:?}"
    );
    assert_eq!(
        ids(ctx, &stream, &EventQuery::latest(10)).await,
        ["e", "b", "a"]
    );
}

/// An event is found by its id alone, in its own stream only.
pub(crate) async fn get_event_by_id(ctx: &Ctx) {
    let (stream, other) = (ctx.name("by-id"), ctx.name("by-id-other"));
    let seqs = append_all(ctx, &stream, &numbered(3)).await;
    let got = must(ctx.store.get_event(&stream, "e1").await, "get_event");
    assert_eq!(
        got,
        Some(StoredEvent {
            seq: seqs.get(1).copied().unwrap_or_default(),
            id: "e1".into(),
            time: base_time() + time::Duration::seconds(1),
            body: json!({"eventID": "e1", "n": 1}),
        })
    );
    assert_eq!(
        must(ctx.store.get_event(&stream, "nope").await, "missing"),
        None
    );
    assert_eq!(must(ctx.store.get_event(&other, "e1").await, "other"), None);
}
