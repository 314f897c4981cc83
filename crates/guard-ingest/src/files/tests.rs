//! Tests of the files source against a real SQLite store: appended lines, partial lines,
//! restarts with and without a commit, rotation, truncation, gzip and whole documents,
//! malformed records, flow-log headers and format restrictions.

use std::io::Write;
use std::path::Path;

use portcullis_guard_api::GuardApi;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use serde_json::Value;

use super::*;
use crate::export::Exports;

pub(crate) const ACCOUNT: &str = "111122223333";
pub(crate) const REGION: &str = "us-east-1";
pub(crate) const ROOT_TYPE: &str = "Policy:IAMUser/RootCredentialUsage";

pub(crate) struct Env {
    pub api: GuardApi,
    pub detector: String,
    pub dir: tempfile::TempDir,
}

pub(crate) async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = portcullis_store::open(&url).await.unwrap();
    let api = GuardApi::new(store.clone(), Authorizer::new(Repo::new(store)));
    let detector = api.ensure_detector(ACCOUNT, REGION).await.unwrap().id;
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    Env { api, detector, dir }
}

/// One CloudTrail record (as a JSON line) made with root credentials: each is one occurrence
/// of `Policy:IAMUser/RootCredentialUsage` for the same access key.
pub(crate) fn root_call(i: usize) -> String {
    format!(
        concat!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"Root","principalId":"111122223333","#,
            r#""arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAROOTEXAMPLE00001"}},"#,
            r#""eventTime":"2024-05-01T10:{:02}:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","#,
            r#""awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15","#,
            r#""requestParameters":null,"responseElements":null,"requestID":"req-{}","eventID":"ev-{}","#,
            r#""eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
        ),
        (i / 60) % 60,
        i % 60,
        i,
        i
    )
}

pub(crate) fn lines(from: usize, to: usize) -> String {
    (from..to).map(|i| root_call(i) + "\n").collect()
}

pub(crate) fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The stored count of the root-usage finding (0 when there is none) and the number of findings.
pub(crate) async fn root_count(api: &GuardApi, detector: &str) -> (u64, usize) {
    let all = api.findings_of(detector).await.unwrap();
    let n = all
        .iter()
        .filter(|(f, _)| f["type"] == ROOT_TYPE)
        .map(|(f, _)| f["service"]["count"].as_u64().unwrap())
        .sum();
    (n, all.len())
}

async fn source(e: &Env, paths: &[&str], follow: bool) -> (FileSource, Arc<Feed>) {
    let feed = Feed::open(e.api.clone(), &e.detector, Exports::none())
        .await
        .unwrap();
    let cfg = FilesConfig {
        name: "test".into(),
        paths: paths
            .iter()
            .map(|p| e.dir.path().join(p).display().to_string())
            .collect(),
        follow,
        poll_interval: Duration::from_millis(10),
        family: None,
        flow_format: None,
    };
    (
        FileSource::new(cfg, feed.clone(), e.api.store.clone()),
        feed,
    )
}

async fn look(src: &mut FileSource, feed: &Arc<Feed>) {
    while src.poll_once(false).await.unwrap() {}
    feed.commit().await.unwrap();
}

#[tokio::test]
async fn appended_whole_lines_are_read_and_a_partial_line_waits() {
    let e = env().await;
    let log = e.dir.path().join("logs/trail.jsonl");
    let partial = root_call(3);
    let (head, tail) = partial.split_at(40);
    append(&log, &(lines(0, 3) + head));
    let (mut src, feed) = source(&e, &["logs/*.jsonl"], true).await;
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (3, 1));
    append(&log, &format!("{tail}\n"));
    append(&log, &lines(4, 6));
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (6, 1));
    // Nothing new: nothing changes.
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (6, 1));
    assert_eq!(feed.stats.records.load(Ordering::Relaxed), 6);
    assert_eq!(feed.stats.malformed.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_restart_neither_loses_nor_repeats_records() {
    let e = env().await;
    let log = e.dir.path().join("logs/trail.jsonl");
    append(&log, &lines(0, 5));
    {
        let (mut src, feed) = source(&e, &["logs"], true).await;
        look(&mut src, &feed).await;
        // Read but never committed: as if the process were killed before its next flush.
        append(&log, &lines(5, 8));
        while src.poll_once(false).await.unwrap() {}
        assert_eq!(feed.stats.records.load(Ordering::Relaxed), 8);
    }
    assert_eq!(root_count(&e.api, &e.detector).await, (5, 1));
    append(&log, &lines(8, 10));
    let (mut src, feed) = source(&e, &["logs"], true).await;
    look(&mut src, &feed).await;
    assert_eq!(
        feed.stats.records.load(Ordering::Relaxed),
        5,
        "resumed at the checkpoint"
    );
    assert_eq!(root_count(&e.api, &e.detector).await, (10, 1));
    // A clean restart after a commit reads nothing again.
    let (mut src, feed) = source(&e, &["logs"], true).await;
    look(&mut src, &feed).await;
    assert_eq!(feed.stats.records.load(Ordering::Relaxed), 0);
    assert_eq!(root_count(&e.api, &e.detector).await, (10, 1));
}

#[tokio::test]
async fn rotation_reads_the_old_file_to_its_end_then_the_new_one() {
    let e = env().await;
    let log = e.dir.path().join("logs/app.log");
    append(&log, &lines(0, 3));
    let (mut src, feed) = source(&e, &["logs/app.log"], true).await;
    look(&mut src, &feed).await;
    let rotated = e.dir.path().join("logs/app.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    append(&rotated, &lines(3, 5)); // written by the old writer after the rename
    append(&log, &lines(5, 6));
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (6, 1));
    assert_eq!(src.stats.rotations.load(Ordering::Relaxed), 1);
    // The vanished file's checkpoint went with it.
    let keys = checkpoint::keys(&*e.api.store, "test/file/").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

#[tokio::test]
async fn a_truncated_file_is_read_again_from_its_start() {
    let e = env().await;
    let log = e.dir.path().join("logs/app.log");
    append(&log, &lines(0, 4));
    let (mut src, feed) = source(&e, &["logs/app.log"], true).await;
    look(&mut src, &feed).await;
    std::fs::write(&log, lines(10, 12)).unwrap();
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (6, 1));
}

#[tokio::test]
async fn gzip_files_are_read_once_when_complete() {
    let e = env().await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("{{\"Records\":[{},{}]}}", root_call(0), root_call(1)).as_bytes())
        .unwrap();
    let bytes = gz.finish().unwrap();
    let path = e
        .dir
        .path()
        .join("logs/111122223333_CloudTrail_us-east-1_x.json.gz");
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    std::fs::write(&path, first).unwrap();
    let (mut src, feed) = source(&e, &["logs"], true).await;
    look(&mut src, &feed).await;
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (0, 0), "incomplete");
    append(&path, "");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(rest)
        .unwrap();
    look(&mut src, &feed).await; // size changed: wait one look
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (2, 1));
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (2, 1), "read once");
    // And not again after a restart.
    let (mut src, feed) = source(&e, &["logs"], true).await;
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (2, 1));
}

#[tokio::test]
async fn pretty_printed_documents_are_read_whole() {
    let e = env().await;
    let doc: Value = serde_json::from_str(&format!(
        "{{\"Records\":[{},{},{}]}}",
        root_call(0),
        root_call(1),
        root_call(2)
    ))
    .unwrap();
    let path = e.dir.path().join("logs/trail.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let (mut src, feed) = source(&e, &["logs/*.json"], true).await;
    look(&mut src, &feed).await;
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (3, 1));
    assert_eq!(feed.stats.malformed.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn malformed_records_are_counted_and_skipped() {
    let e = env().await;
    let log = e.dir.path().join("logs/trail.jsonl");
    append(
        &log,
        &format!(
            "{}{{\"eventVersion\": oops\n{}not json at all\n",
            lines(0, 2),
            lines(2, 3)
        ),
    );
    let (mut src, feed) = source(&e, &["logs"], true).await;
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (3, 1));
    assert_eq!(feed.stats.malformed.load(Ordering::Relaxed), 2);
    // The finding says where its records are: file and line.
    let all = e.api.findings_of(&e.detector).await.unwrap();
    let locs = all[0].0["service"]["additionalInfo"]["sourceLocations"].to_string();
    assert!(locs.contains("trail.jsonl:1"), "{locs}");
}

#[tokio::test]
async fn a_flow_log_header_formats_the_lines_appended_after_it() {
    let e = env().await;
    let log = e.dir.path().join("logs/flow.log");
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id instance-id\n";
    let line = |p: u16| {
        format!(
            "3 111122223333 eni-1 10.0.0.5 198.51.100.9 44{p:03} 443 6 10 840 1700000000 1700000060 ACCEPT OK vpc-1 i-0abc\n"
        )
    };
    append(&log, &(header.to_owned() + &line(1)));
    let (mut src, feed) = source(&e, &["logs/flow.log"], true).await;
    look(&mut src, &feed).await;
    append(&log, &(line(2) + &line(3)));
    look(&mut src, &feed).await;
    assert_eq!(feed.stats.records.load(Ordering::Relaxed), 3);
    assert_eq!(feed.stats.malformed.load(Ordering::Relaxed), 0);
    // After a restart the header still applies (it is in the checkpoint).
    append(&log, &line(4));
    let (mut src, feed) = source(&e, &["logs/flow.log"], true).await;
    look(&mut src, &feed).await;
    assert_eq!(feed.stats.records.load(Ordering::Relaxed), 1);
    assert_eq!(feed.stats.malformed.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_format_restriction_refuses_other_formats() {
    let e = env().await;
    append(&e.dir.path().join("logs/trail.jsonl"), &lines(0, 2));
    let (mut src, feed) = source(&e, &["logs"], true).await;
    src.cfg.family = Some(Family::VpcFlow);
    look(&mut src, &feed).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (0, 0));
    assert_eq!(src.stats.refused.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn one_shot_reads_everything_including_an_unterminated_last_line_and_commits() {
    let e = env().await;
    append(
        &e.dir.path().join("logs/trail.jsonl"),
        &(lines(0, 2) + &root_call(2)),
    );
    let (src, _feed) = source(&e, &["logs"], false).await;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    src.run(rx).await;
    assert_eq!(root_count(&e.api, &e.detector).await, (3, 1));
}

#[test]
fn documents_are_told_from_lines() {
    assert_eq!(looks_like_document(b"{\"Records\": [\n"), Some(true));
    assert_eq!(looks_like_document(b"[\n"), Some(true));
    assert_eq!(looks_like_document(b"\n{\"a\":1}\n{"), Some(false));
    assert_eq!(looks_like_document(b"2 123 eni-1\n"), Some(false));
    assert_eq!(looks_like_document(b"{\"a\":"), None);
    assert_eq!(looks_like_document(&[0x1f, 0x8b, 0]), Some(true));
}

mod props {
    use super::super::{last_flow_header, looks_like_document};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sniffing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = looks_like_document(&bytes);
            let _ = last_flow_header(&bytes);
        }

        #[test]
        fn a_header_line_is_found_wherever_it_is(pre in "[0-9 ]{0,40}\n", post in "([0-9 ]{0,40}\n){0,3}") {
            let text = format!("{pre}version srcaddr dstaddr action\n{post}");
            let found = last_flow_header(text.as_bytes());
            prop_assert_eq!(found.as_deref(), Some("version srcaddr dstaddr action"));
        }
    }
}
