//! What a store opened on a database an older release left at schema 2 must answer, for both
//! back-ends' upgrade tests: each test writes the same rows in its own SQL, opens the store
//! (which runs the later migrations) and hands it here.
//!
//! The rows: `audit` events `e1` (seq 1, 1 s, `{"n":1}`, EventName Encrypt) and `e2` (seq 2,
//! 2 s, `[2]`, EventName Decrypt and Encrypt), and `other` event `o3` (seq 3, EventName
//! Encrypt), one attribute row per event and attribute.

use crate::{EventQuery, NewEventJson, Store, StoredEvent};

fn ids(events: Vec<StoredEvent>) -> Vec<String> {
    events.into_iter().map(|e| e.id).collect()
}

fn by(value: &str) -> EventQuery {
    EventQuery {
        attr: Some(("EventName".into(), value.into())),
        ..EventQuery::latest(10)
    }
}

fn event(id: &str, name: &str) -> NewEventJson {
    NewEventJson {
        id: id.into(),
        time: time::OffsetDateTime::now_utc(),
        attrs: vec![
            ("EventName".into(), name.into()),
            ("Username".into(), "alice".into()),
        ],
        body: format!("{{\"id\":\"{id}\"}}").into(),
    }
}

/// The old rows read back (bodies, times, numbers, attribute look-ups); then four new events
/// (`n1`, `n2` Encrypt, `n3` Decrypt, `n4` Encrypt, all by `alice`) must be numbered from
/// `first_new` on and found, and paged, together with the old rows.
pub(crate) async fn old_rows_then_new_runs(store: &dyn Store, first_new: u64) {
    let all = store
        .query_events("audit", &EventQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|e| (e.seq, e.id.as_str(), e.body.clone()))
            .collect::<Vec<_>>(),
        [
            (2, "e2", serde_json::json!([2])),
            (1, "e1", serde_json::json!({"n": 1}))
        ]
    );
    assert_eq!(
        all.first().map(|e| e.time.unix_timestamp()),
        Some(2),
        "times kept"
    );
    assert_eq!(
        ids(store.query_events("audit", &by("Encrypt")).await.unwrap()),
        ["e2", "e1"]
    );
    assert!(store.get_event("other", "o3").await.unwrap().is_some());

    let seqs = store
        .append_events_json(
            "audit",
            &[
                event("n1", "Encrypt"),
                event("n2", "Encrypt"),
                event("n3", "Decrypt"),
                event("n4", "Encrypt"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        seqs,
        (first_new..first_new + 4).collect::<Vec<_>>(),
        "numbers continue after the old rows"
    );
    assert_eq!(
        ids(store.query_events("audit", &by("Encrypt")).await.unwrap()),
        ["n4", "n2", "n1", "e2", "e1"]
    );
    let paged = EventQuery {
        before_seq: Some(first_new + 1),
        ..by("Encrypt")
    };
    assert_eq!(
        ids(store.query_events("audit", &paged).await.unwrap()),
        ["n1", "e2", "e1"]
    );
    assert_eq!(
        ids(store.query_events("audit", &by("Decrypt")).await.unwrap()),
        ["n3", "e2"]
    );
}

/// A body that is not JSON is refused after the upgrade too, and nothing of it is stored.
pub(crate) async fn invalid_json_is_refused(store: &dyn Store) {
    let not_json = NewEventJson {
        body: "{\"a\":".into(),
        ..event("bad", "Encrypt")
    };
    let err = store
        .append_events_json("audit", &[not_json])
        .await
        .unwrap_err();
    assert!(
        matches!(err, crate::StoreError::InvalidInput { .. }),
        "{err:?}"
    );
    assert!(store.get_event("audit", "bad").await.unwrap().is_none());
}
