//! The audit trail end to end on SQLite: every record queued before shutdown is stored
//! (with its look-up attributes) and written to exactly one log file.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_audit::{AUDIT_STREAM, AuditTrail, TrailConfig};
use portcullis_common::audit::{AuditSink, CloudTrailRecord, UserIdentity};
use portcullis_common::{Clock, SystemClock};
use portcullis_store::{EventQuery, Store};

fn record(i: usize) -> CloudTrailRecord {
    CloudTrailRecord {
        event_version: "1.08".into(),
        user_identity: UserIdentity {
            identity_type: "IAMUser".into(),
            arn: Some("arn:aws:iam::111122223333:user/alice".into()),
            access_key_id: Some(format!("AKIA{:016}", i % 2)),
            user_name: Some("alice".into()),
            ..Default::default()
        },
        event_time: "2026-11-30T03:04:05Z".into(),
        event_source: "kms.amazonaws.com".into(),
        event_name: if i.is_multiple_of(3) {
            "Encrypt"
        } else {
            "Decrypt"
        }
        .into(),
        aws_region: "us-east-1".into(),
        source_ip_address: "127.0.0.1".into(),
        user_agent: "test".into(),
        error_code: None,
        error_message: None,
        request_parameters: serde_json::json!({"keyId": format!("key-{}", i % 5), "n": i}),
        response_elements: serde_json::Value::Null,
        request_id: format!("req-{i}"),
        event_id: format!("evt-{i:06}"),
        read_only: i.is_multiple_of(2),
        event_type: "AwsApiCall".into(),
        management_event: true,
        recipient_account_id: "111122223333".into(),
        event_category: "Management".into(),
        tls_details: None,
    }
}

fn gz_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            gz_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

async fn count(store: &dyn Store, attr: Option<(&str, &str)>) -> usize {
    let mut q = EventQuery {
        attr: attr.map(|(n, v)| (n.to_owned(), v.to_owned())),
        ..EventQuery::latest(1000)
    };
    let mut total = 0;
    loop {
        let page = store.query_events(AUDIT_STREAM, &q).await.unwrap();
        total += page.len();
        match page.last() {
            Some(e) if page.len() == 1000 => q.before_seq = Some(e.seq),
            _ => return total,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_is_stored_and_filed_once_by_shutdown() {
    const N: usize = 7000;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = portcullis_store::open(&url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let trail = AuditTrail::start(
        store.clone(),
        clock,
        TrailConfig {
            files_dir: Some(dir.path().join("audit")),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            // Longer than the test: files are written because they fill up, and at shutdown.
            file_interval: Duration::from_secs(3600),
        },
    );
    for i in 0..N {
        trail.record(record(i));
    }
    trail.shutdown().await;
    assert_eq!(trail.backlog(), 0);

    assert_eq!(count(&*store, None).await, N);
    assert_eq!(
        count(&*store, Some(("EventName", "Encrypt"))).await,
        N.div_ceil(3)
    );
    assert_eq!(count(&*store, Some(("Username", "alice"))).await, N);
    assert_eq!(
        count(&*store, Some(("AccessKeyId", "AKIA0000000000000001"))).await,
        N / 2
    );
    assert_eq!(count(&*store, Some(("ResourceName", "key-3"))).await, N / 5);
    assert_eq!(
        count(&*store, Some(("ResourceType", "AWS::KMS::Key"))).await,
        N
    );
    // Event ids and ReadOnly are answered without attribute rows.
    assert_eq!(count(&*store, Some(("EventId", "evt-000042"))).await, 0);
    let e = store
        .get_event(AUDIT_STREAM, "evt-000042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.body["requestID"], "req-42");
    assert_eq!(e.body["readOnly"], true);

    let mut files = Vec::new();
    gz_files(&dir.path().join("audit"), &mut files);
    // How many files depends on how the writer's batches fall (several when a file fills up, one when the
    // whole run arrives as one batch); what matters is that every record is in exactly one of them.
    assert!(!files.is_empty(), "no log file was written");
    let mut seen = HashSet::new();
    for f in &files {
        assert!(f.to_string_lossy().ends_with(".json.gz"), "{f:?}");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        for r in doc["Records"].as_array().unwrap() {
            let back: CloudTrailRecord = serde_json::from_value(r.clone()).unwrap();
            assert!(seen.insert(back.event_id), "a record is in two files");
        }
    }
    assert_eq!(seen.len(), N);
    store.close().await;
}
