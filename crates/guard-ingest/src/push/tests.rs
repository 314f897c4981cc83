//! Idempotent pushes against a real SQLite store.

use std::sync::Arc;

use portcullis_guard_api::{EventSink, GuardApi, GuardApiError};
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use serde_json::json;

use super::*;
use crate::export::Exports;

const ROOT_TYPE: &str = "Policy:IAMUser/RootCredentialUsage";

struct Env {
    api: GuardApi,
    detector: String,
    sink: Arc<PushSink>,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = portcullis_store::open(&url).await.unwrap();
    let api = GuardApi::new(store.clone(), Authorizer::new(Repo::new(store)));
    let detector = api
        .ensure_detector("111122223333", "us-east-1")
        .await
        .unwrap()
        .id;
    let sink = Arc::new(PushSink::new(Feeds::new(api.clone(), Exports::none())));
    Env {
        api,
        detector,
        sink,
        _dir: dir,
    }
}

/// `n` root calls (one Policy:IAMUser/RootCredentialUsage finding counting them), from `from`.
fn body(from: usize, n: usize) -> Vec<u8> {
    (from..from + n)
        .map(|i| {
            json!({"eventVersion": "1.08", "eventTime": format!("2024-05-01T11:00:{:02}Z", i % 60),
                "eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15", "eventID": format!("ev-{i}"),
                "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
                "userIdentity": {"type": "Root", "principalId": "111122223333",
                    "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}})
            .to_string()
                + "\n"
        })
        .collect::<String>()
        .into_bytes()
}

async fn root_count(api: &GuardApi, detector: &str) -> u64 {
    api.findings_of(detector)
        .await
        .unwrap()
        .iter()
        .filter(|(f, _)| f["type"] == ROOT_TYPE)
        .map(|(f, _)| f["service"]["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn a_repeated_batch_id_is_answered_from_the_store_and_not_counted_again() {
    let e = env().await;
    let first = e
        .sink
        .put_events(&e.detector, "s", Some("b-1"), &body(0, 3))
        .await
        .unwrap();
    assert_eq!((first.records, first.findings_created), (3, 1));
    assert_eq!(first.batch_id.as_deref(), Some("b-1"));
    assert!(!first.replayed);
    assert_eq!(root_count(&e.api, &e.detector).await, 3);
    let again = e
        .sink
        .put_events(&e.detector, "s", Some("b-1"), &body(0, 3))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(
        PushReport {
            replayed: false,
            ..again
        },
        first
    );
    assert_eq!(root_count(&e.api, &e.detector).await, 3);
    // The same ID with another body is a conflict, and nothing is analysed.
    let err = e
        .sink
        .put_events(&e.detector, "s", Some("b-1"), &body(3, 2))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardApiError::Conflict(_)), "{err}");
    assert_eq!(root_count(&e.api, &e.detector).await, 3);
    // A new ID is new records; without an ID every push counts.
    e.sink
        .put_events(&e.detector, "s", Some("b-2"), &body(3, 2))
        .await
        .unwrap();
    assert_eq!(root_count(&e.api, &e.detector).await, 5);
    for _ in 0..2 {
        e.sink
            .put_events(&e.detector, "s", None, &body(5, 1))
            .await
            .unwrap();
    }
    assert_eq!(root_count(&e.api, &e.detector).await, 7);
}

#[tokio::test]
async fn concurrent_pushes_with_one_batch_id_are_analysed_once() {
    let e = env().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let sink = e.sink.clone();
            let d = e.detector.clone();
            tokio::spawn(async move { sink.put_events(&d, "s", Some("same"), &body(0, 4)).await })
        })
        .collect();
    let mut replayed = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.records, 4);
        replayed += usize::from(r.replayed);
    }
    assert_eq!(replayed, 7);
    assert_eq!(root_count(&e.api, &e.detector).await, 4);
}

#[tokio::test]
async fn a_batch_whose_commit_failed_is_committed_not_analysed_again_on_retry() {
    let e = env().await;
    let feed = e.sink.feeds.get(&e.detector).await.unwrap();
    let key = format!("{}/retry-1", e.detector);
    let b = body(0, 3);
    // What the first attempt left behind when its commit failed: records analysed, reply pending.
    {
        let mut st = feed.lock().await;
        let input = st.input("push:s");
        let r = st.ingest(input, 1, &b, &DecodeOptions::default());
        assert_eq!(r.records, 3);
        st.add_batch(
            key.clone(),
            PendingBatch {
                stored: StoredBatch {
                    digest: digest(&b),
                    at: now_secs(),
                    reply: PushReport {
                        records: 3,
                        batch_id: Some("retry-1".into()),
                        ..PushReport::default()
                    },
                },
            },
        );
    }
    assert_eq!(root_count(&e.api, &e.detector).await, 0);
    // A different body under that ID conflicts even before the commit.
    let err = e
        .sink
        .put_events(&e.detector, "s", Some("retry-1"), &body(9, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardApiError::Conflict(_)), "{err}");
    let r = e
        .sink
        .put_events(&e.detector, "s", Some("retry-1"), &b)
        .await
        .unwrap();
    assert!(r.replayed);
    assert_eq!((r.records, r.findings_created), (3, 1));
    assert_eq!(root_count(&e.api, &e.detector).await, 3);
    // The reply is stored with the findings.
    let stored = e.api.store.get(PUSH_BATCHES, &key).await.unwrap().unwrap();
    assert_eq!(stored.value["reply"]["findingsCreated"], 1);
}

#[tokio::test]
async fn old_and_surplus_batch_replies_are_pruned() {
    let e = env().await;
    let store = e.api.store.clone();
    let now = 10_000_000;
    for (id, at) in [("old", now - BATCH_RETENTION_SECS - 1), ("fresh", now - 60)] {
        let b = StoredBatch {
            digest: "00".into(),
            at,
            reply: PushReport::default(),
        };
        store
            .put(
                PUSH_BATCHES,
                &format!("{}/{id}", e.detector),
                &serde_json::to_value(&b).unwrap(),
                Precondition::None,
            )
            .await
            .unwrap();
    }
    assert_eq!(prune(&*store, &e.detector, now).await.unwrap(), 1);
    let left = portcullis_store::list_all(&*store, PUSH_BATCHES, "")
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].key.ends_with("/fresh"));
}
