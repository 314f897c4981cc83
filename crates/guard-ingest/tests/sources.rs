//! Guard's sources end to end against a real SQLite store: records pushed through the GuardDuty
//! service (`PutEvents`, authorised and refused), a configured files source with a file export
//! started by `start`, and NATS JetStream workers sharing a durable consumer (with Debian's
//! `nats-server`; skipped loudly when it is missing, failed when `CI` is set).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use portcullis_config::{GuardConfig, GuardExport, GuardExportTarget, GuardInput, GuardSource};
use portcullis_guard_api::{GuardApi, GuardService};
use portcullis_guard_ingest::export::Exports;
use portcullis_guard_ingest::nats::NatsConfig;
use portcullis_guard_ingest::{Feed, Feeds, PushSink, start};
use portcullis_http::auth::{Caller, CredentialSource};
use portcullis_http::{ApiRequest, AwsService};
use portcullis_iam::policy::Principal;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use serde_json::Value;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const ROOT_TYPE: &str = "Policy:IAMUser/RootCredentialUsage";

struct Env {
    api: GuardApi,
    detector: String,
    dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = portcullis_store::open(&url).await.unwrap();
    let api = GuardApi::new(store.clone(), Authorizer::new(Repo::new(store)));
    let detector = api.ensure_detector(ACCOUNT, REGION).await.unwrap().id;
    Env { api, detector, dir }
}

fn root_call(i: usize) -> String {
    format!(
        concat!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"Root","principalId":"111122223333","#,
            r#""arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAROOTEXAMPLE00001"}},"#,
            r#""eventTime":"2024-05-01T11:{:02}:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","#,
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

fn lines(from: usize, to: usize) -> String {
    (from..to).map(|i| root_call(i) + "\n").collect()
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

async fn put_events(
    svc: &GuardService,
    principal: Principal,
    detector: &str,
    body: String,
) -> Result<Value, (u16, String, String)> {
    put_events_with(svc, principal, detector, body, http::HeaderMap::new()).await
}

async fn put_events_with(
    svc: &GuardService,
    principal: Principal,
    detector: &str,
    body: String,
    headers: http::HeaderMap,
) -> Result<Value, (u16, String, String)> {
    let req = ApiRequest {
        request_id: "req-1".into(),
        method: http::Method::POST,
        uri: format!("/detector/{detector}/events?source=shipper-1")
            .parse()
            .unwrap(),
        headers,
        body: body.into(),
        caller: Caller {
            principal,
            access_key_id: None,
            source: CredentialSource::AccessKey,
            session_context: None,
        },
        region: REGION.into(),
        source_ip: "127.0.0.1".parse().unwrap(),
        user_agent: "test".into(),
        received_at: time::OffsetDateTime::now_utc(),
    };
    let out = svc.call(req).await;
    assert_eq!(out.operation, "PutEvents");
    match out.result {
        Ok(r) => Ok(serde_json::from_slice(&r.body).unwrap()),
        Err(e) => Err((e.status.as_u16(), e.code, e.message)),
    }
}

#[tokio::test]
async fn a_batch_id_header_makes_a_retried_push_count_once() {
    let e = env().await;
    let svc = GuardService(e.api.clone());
    let feeds = Feeds::new(e.api.clone(), Exports::none());
    assert!(
        e.api
            .set_event_sink(std::sync::Arc::new(PushSink::new(feeds)))
    );
    let mut h = http::HeaderMap::new();
    h.insert(
        portcullis_guard_api::BATCH_ID_HEADER,
        "shipper-1:000042".parse().unwrap(),
    );
    let root = || Principal::root(ACCOUNT);
    let first = put_events_with(&svc, root(), &e.detector, lines(0, 4), h.clone())
        .await
        .unwrap();
    assert_eq!(first["batchId"], "shipper-1:000042", "{first}");
    assert!(first.get("replayed").is_none(), "{first}");
    let again = put_events_with(&svc, root(), &e.detector, lines(0, 4), h.clone())
        .await
        .unwrap();
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(again["records"], 4, "{again}");
    assert_eq!(again["findingsCreated"], 1, "{again}");
    assert_eq!(root_count(&e.api, &e.detector).await, 4);
    let (status, code, _) = put_events_with(&svc, root(), &e.detector, lines(4, 6), h.clone())
        .await
        .unwrap_err();
    assert_eq!((status, code.as_str()), (409, "ConflictException"));
    assert_eq!(root_count(&e.api, &e.detector).await, 4);
    // A malformed ID is refused before anything is read.
    let mut bad = http::HeaderMap::new();
    bad.insert(
        portcullis_guard_api::BATCH_ID_HEADER,
        "a/b".parse().unwrap(),
    );
    let (status, _, _) = put_events_with(&svc, root(), &e.detector, lines(6, 7), bad)
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    assert_eq!(root_count(&e.api, &e.detector).await, 4);
}

#[tokio::test]
async fn pushed_records_are_authorised_processed_and_reported() {
    let e = env().await;
    let svc = GuardService(e.api.clone());
    // No receiver installed yet: refused, nothing stored.
    let (status, code, _) = put_events(&svc, Principal::root(ACCOUNT), &e.detector, lines(0, 1))
        .await
        .unwrap_err();
    assert_eq!((status, code.as_str()), (400, "BadRequestException"));
    let feeds = Feeds::new(e.api.clone(), Exports::none());
    assert!(
        e.api
            .set_event_sink(std::sync::Arc::new(PushSink::new(feeds)))
    );
    let body = format!("{}{{\"broken\": \n{}", lines(0, 2), lines(2, 3));
    let reply = put_events(&svc, Principal::root(ACCOUNT), &e.detector, body)
        .await
        .unwrap();
    assert_eq!(reply["records"], 3, "{reply}");
    assert_eq!(reply["malformed"], 1, "{reply}");
    assert!(
        reply["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("push:shipper-1:3"),
        "{reply}"
    );
    assert_eq!(reply["findingsCreated"], 1, "{reply}");
    // The 200 came after the findings were stored.
    assert_eq!(root_count(&e.api, &e.detector).await, 3);
    let reply = put_events(&svc, Principal::root(ACCOUNT), &e.detector, lines(3, 5))
        .await
        .unwrap();
    assert_eq!(reply["findingsUpdated"], 1, "{reply}");
    assert_eq!(root_count(&e.api, &e.detector).await, 5);
    // A caller without guardduty:PutEvents is refused and nothing is processed.
    let nobody = Principal::user(ACCOUNT, "nobody", "AIDANOBODY");
    let (status, code, message) = put_events(&svc, nobody, &e.detector, lines(5, 9))
        .await
        .unwrap_err();
    assert_eq!((status, code.as_str()), (403, "AccessDeniedException"));
    assert!(message.contains("guardduty:PutEvents"), "{message}");
    assert_eq!(root_count(&e.api, &e.detector).await, 5);
    // Another account's detector is not the caller's.
    let (status, _, _) = put_events(
        &svc,
        Principal::root("444455556666"),
        &e.detector,
        lines(9, 10),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 400);
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn start_follows_files_and_exports_new_and_updated_findings() {
    let e = env().await;
    let logs = e.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let export = e.dir.path().join("findings.jsonl");
    let cfg = GuardConfig {
        flush_interval: Duration::from_millis(100),
        sources: vec![GuardSource {
            name: "trail".into(),
            detector: None,
            format: None,
            flow_format: None,
            input: GuardInput::Files {
                paths: vec![logs.join("*.jsonl").display().to_string()],
                follow: true,
                poll_interval: Duration::from_millis(20),
            },
        }],
        exports: vec![GuardExport {
            target: GuardExportTarget::File(export.clone()),
            queue: 100,
            include_archived: false,
        }],
        ..GuardConfig::default()
    };
    let running = start(&cfg, e.api.clone(), ACCOUNT, REGION).await.unwrap();
    std::fs::write(logs.join("a.jsonl"), lines(0, 4)).unwrap();
    let (api, det) = (e.api.clone(), e.detector.clone());
    wait_for("4 occurrences", || {
        root_count_reached(api.clone(), det.clone(), 4)
    })
    .await;
    std::fs::write(logs.join("b.jsonl"), lines(4, 6)).unwrap();
    wait_for("6 occurrences", || {
        root_count_reached(api.clone(), det.clone(), 6)
    })
    .await;
    running.shutdown().await;
    let text = std::fs::read_to_string(&export).unwrap();
    let exported: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(exported.len() >= 2, "{text}");
    let last = exported.last().unwrap();
    assert_eq!(last["type"], ROOT_TYPE);
    assert_eq!(last["service"]["count"], 6);
    assert_eq!(last["schemaVersion"], "2.0");
    assert_eq!(last["service"]["additionalInfo"]["type"], "default");
    assert!(last.get("_portcullis").is_none());
}

// wait_for takes closures; a helper makes the simple "count reached" case short.
async fn root_count_reached(api: GuardApi, det: String, n: u64) -> bool {
    root_count(&api, &det).await >= n
}

/// A `nats-server -js` on a free port, killed on drop.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server() -> Option<Nats> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nats-server").is_file()))
        || Path::new("/usr/sbin/nats-server").is_file();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "nats-server is not installed and CI is set"
        );
        eprintln!(
            "\n!!!!! SKIPPED: nats-server is not on PATH; install Debian's nats-server to run the NATS tests !!!!!\n"
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let bin = if Path::new("/usr/sbin/nats-server").is_file() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    };
    let child = Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(Nats {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _dir: dir,
    })
}

async fn connect(url: &str) -> async_nats::Client {
    for _ in 0..100 {
        if let Ok(c) = async_nats::connect(url).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nats-server did not start at {url}");
}

#[tokio::test]
async fn nats_workers_share_a_durable_consumer_and_skip_processed_messages() {
    let Some(server) = nats_server() else {
        return;
    };
    let e = env().await;
    let client = connect(&server.url).await;
    let js = async_nats::jetstream::new(client.clone());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "LOGS".into(),
        subjects: vec!["logs.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    // 20 messages of 3 records each; message 1 is marked as processed already (as if a worker
    // had committed it and died before its acknowledgement was confirmed).
    for m in 0..20 {
        js.publish("logs.cloudtrail", lines(m * 3, m * 3 + 3).into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    e.api
        .store
        .put(
            portcullis_guard_ingest::checkpoint::COLLECTION,
            "nats/LOGS/guard/1",
            &serde_json::json!({"seq": 1}),
            portcullis_store::Precondition::None,
        )
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    let mut feeds = Vec::new();
    for w in 0..2 {
        // Two workers (two engines, as two processes would have) on one store.
        let feed = Feed::open(e.api.clone(), &e.detector, Exports::none())
            .await
            .unwrap();
        let cfg = NatsConfig {
            name: format!("worker-{w}"),
            url: server.url.clone(),
            stream: "LOGS".into(),
            consumer: "guard".into(),
            subject: Some("logs.>".into()),
            ack_wait: Duration::from_secs(30),
        };
        feeds.push(feed.clone());
        workers.push(tokio::spawn(portcullis_guard_ingest::nats::run(
            cfg,
            feed,
            e.api.store.clone(),
            rx.clone(),
        )));
    }
    let (api, det) = (e.api.clone(), e.detector.clone());
    wait_for("57 occurrences", || {
        root_count_reached(api.clone(), det.clone(), 57)
    })
    .await;
    // Everything is acknowledged: the consumer has nothing pending.
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
        .get_stream("LOGS")
        .await
        .unwrap()
        .get_consumer("guard")
        .await
        .unwrap();
    let mut acked = false;
    for _ in 0..100 {
        let info = consumer.info().await.unwrap();
        if info.num_ack_pending == 0 && info.num_pending == 0 {
            acked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(acked, "messages left unacknowledged");
    let _ = stop.send(true);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(root_count(&e.api, &e.detector).await, 57);
    // The markers of acknowledged messages go with the next commit.
    for f in &feeds {
        f.commit().await.unwrap();
    }
    let keys = portcullis_guard_ingest::checkpoint::keys(&*e.api.store, "nats/LOGS/guard/")
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    assert_eq!(root_count(&e.api, &e.detector).await, 57);
}

#[tokio::test]
async fn the_nats_export_publishes_one_message_per_finding() {
    let Some(server) = nats_server() else {
        return;
    };
    let client = connect(&server.url).await;
    let mut sub = client.subscribe("guard.findings").await.unwrap();
    client.flush().await.unwrap();
    let sink = portcullis_guard_ingest::nats::NatsSink::new(&server.url, "guard.findings");
    let ex = Exports::start(vec![(
        Box::new(sink) as Box<dyn portcullis_guard_ingest::export::Sink>,
        10,
        false,
    )]);
    ex.publish(&[
        portcullis_guard_api::Stored {
            doc: serde_json::json!({"id": "a", "type": ROOT_TYPE}),
            created: true,
            archived: false,
        },
        portcullis_guard_api::Stored {
            doc: serde_json::json!({"id": "b", "type": ROOT_TYPE}),
            created: false,
            archived: false,
        },
    ]);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids, ["a", "b"]);
    ex.shutdown(Duration::from_secs(2)).await;
}

fn corpora() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPORA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    if dir.join("guard").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "\n!!!!! SKIPPED: the corpus is not at {} (set PORTCULLIS_CORPORA) !!!!!\n",
            dir.display()
        );
        None
    }
}

/// The files source over the Stratus Red Team detonation logs (pretty-printed JSON arrays) finds
/// exactly what the offline analysis (`GuardApi::analyze_files`) finds in them.
#[tokio::test]
async fn followed_corpus_files_give_the_same_findings_as_the_offline_analysis() {
    let Some(corpora) = corpora() else {
        return;
    };
    let stratus = corpora.join("guard/cloudtrail/stratus-red-team");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&stratus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 16);

    let online = env().await;
    let logs = online.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for f in &files {
        std::fs::copy(f, logs.join(f.file_name().unwrap())).unwrap();
    }
    // The offline analysis has no learning period (the logs are all the history there is);
    // the service's default of 7 days would keep the AnomalousBehavior types silent.
    let settings = portcullis_guard_ingest::FeedSettings {
        baseline_days: 0,
        ..Default::default()
    };
    let feed = Feed::open_with(
        online.api.clone(),
        &online.detector,
        Exports::none(),
        &settings,
    )
    .await
    .unwrap();
    let src = portcullis_guard_ingest::files::FileSource::new(
        portcullis_guard_ingest::files::FilesConfig {
            name: "stratus".into(),
            paths: vec![logs.display().to_string()],
            follow: false,
            poll_interval: Duration::from_millis(10),
            family: Some(portcullis_guard_ingest::files::Family::CloudTrail),
            flow_format: None,
        },
        feed.clone(),
        online.api.store.clone(),
    );
    let (_tx, rx) = tokio::sync::watch::channel(false);
    src.run(rx).await;
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(feed.stats.records.load(Relaxed), 123);
    assert_eq!(feed.stats.malformed.load(Relaxed), 0);

    let offline = env().await;
    let report = offline
        .api
        .analyze_files(&offline.detector, files.clone())
        .await
        .unwrap();
    assert_eq!(report.records, 123);
    let summary = |v: Vec<(Value, u64)>| {
        let mut s: Vec<(String, u64)> = v
            .into_iter()
            .map(|(f, _)| {
                (
                    f["type"].as_str().unwrap().to_owned(),
                    f["service"]["count"].as_u64().unwrap(),
                )
            })
            .collect();
        s.sort();
        s
    };
    let a = summary(online.api.findings_of(&online.detector).await.unwrap());
    let b = summary(offline.api.findings_of(&offline.detector).await.unwrap());
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

async fn call(
    svc: &GuardService,
    method: http::Method,
    uri: &str,
    body: Value,
) -> Result<Value, (u16, String, String)> {
    let req = ApiRequest {
        request_id: "req-2".into(),
        method,
        uri: uri.parse().unwrap(),
        headers: http::HeaderMap::new(),
        body: serde_json::to_vec(&body).unwrap().into(),
        caller: Caller {
            principal: Principal::root(ACCOUNT),
            access_key_id: None,
            source: CredentialSource::AccessKey,
            session_context: None,
        },
        region: REGION.into(),
        source_ip: "127.0.0.1".parse().unwrap(),
        user_agent: "test".into(),
        received_at: time::OffsetDateTime::now_utc(),
    };
    let out = svc.call(req).await;
    match out.result {
        Ok(r) => Ok(if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&r.body).unwrap()
        }),
        Err(e) => Err((e.status.as_u16(), e.code, e.message)),
    }
}

/// A CloudTrail event by IAM user `user` at `t` (Unix seconds) from `ip`.
fn user_call(user: &str, name: &str, source: &str, ip: &str, t: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(t).unwrap();
    let when = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    serde_json::json!({"eventVersion": "1.08", "eventTime": when, "eventSource": source,
        "eventName": name, "awsRegion": REGION, "sourceIPAddress": ip, "userAgent": "aws-cli/2.15",
        "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{user}"),
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"), "accountId": ACCOUNT,
            "accessKeyId": format!("AKIA{user}"), "userName": user}})
    .to_string()
        + "\n"
}

async fn types_stored(api: &GuardApi, detector: &str) -> Vec<String> {
    api.findings_of(detector)
        .await
        .unwrap()
        .iter()
        .filter_map(|(f, _)| f["type"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn threat_lists_added_or_edited_while_running_are_used_without_a_restart() {
    let e = env().await;
    let cfg = GuardConfig {
        list_reload_interval: Duration::from_millis(50),
        ..GuardConfig::default()
    };
    let running = start(&cfg, e.api.clone(), ACCOUNT, REGION).await.unwrap();
    let svc = GuardService(e.api.clone());
    let t = 1_714_561_200; // 2024-05-01T11:00:00Z
    let custom = "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom";
    put_events(
        &svc,
        Principal::root(ACCOUNT),
        &e.detector,
        user_call("erin", "PutObject", "s3.amazonaws.com", "45.33.32.156", t),
    )
    .await
    .unwrap();
    assert!(
        !types_stored(&e.api, &e.detector)
            .await
            .iter()
            .any(|t| t == custom)
    );
    // A threat list holding that address, created through the API.
    let list = e.dir.path().join("threats.txt");
    std::fs::write(&list, "45.33.32.156\n").unwrap();
    let created = call(
        &svc,
        http::Method::POST,
        &format!("/detector/{}/threatintelset", e.detector),
        serde_json::json!({"name": "mine", "format": "TXT",
            "location": format!("file://{}", list.display()), "activate": true}),
    )
    .await
    .unwrap();
    let feed = running.feeds().get(&e.detector).await.unwrap();
    let reloads = |n: u64| {
        let feed = feed.clone();
        async move {
            feed.stats
                .list_reloads
                .load(std::sync::atomic::Ordering::Relaxed)
                >= n
        }
    };
    wait_for("the list reload after CreateThreatIntelSet", || reloads(1)).await;
    put_events(
        &svc,
        Principal::root(ACCOUNT),
        &e.detector,
        user_call(
            "erin",
            "PutObject",
            "s3.amazonaws.com",
            "45.33.32.156",
            t + 60,
        ),
    )
    .await
    .unwrap();
    assert!(
        types_stored(&e.api, &e.detector)
            .await
            .iter()
            .any(|t| t == custom),
        "{:?}",
        types_stored(&e.api, &e.detector).await
    );
    // The list's file edited in place: picked up by the periodic check.
    std::fs::write(&list, "45.33.32.156\n192.0.2.200\n93.184.216.34\n").unwrap();
    wait_for("the list reload after the file changed", || reloads(2)).await;
    put_events(
        &svc,
        Principal::root(ACCOUNT),
        &e.detector,
        user_call(
            "frank",
            "PutObject",
            "s3.amazonaws.com",
            "93.184.216.34",
            t + 120,
        ),
    )
    .await
    .unwrap();
    let hits = e
        .api
        .findings_of(&e.detector)
        .await
        .unwrap()
        .into_iter()
        .filter(|(f, _)| f["type"] == custom)
        .count();
    assert_eq!(hits, 2, "one finding per caller address");
    // Deleted through the API: the list is gone from the running engine too.
    let id = created["threatIntelSetId"].as_str().unwrap();
    call(
        &svc,
        http::Method::DELETE,
        &format!("/detector/{}/threatintelset/{id}", e.detector),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    wait_for("the list reload after DeleteThreatIntelSet", || reloads(3)).await;
    let counts = |api: GuardApi, det: String| async move {
        api.findings_of(&det)
            .await
            .unwrap()
            .into_iter()
            .filter(|(f, _)| f["type"] == custom)
            .map(|(f, _)| f["service"]["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    let before = counts(e.api.clone(), e.detector.clone()).await;
    put_events(
        &svc,
        Principal::root(ACCOUNT),
        &e.detector,
        user_call(
            "frank",
            "PutObject",
            "s3.amazonaws.com",
            "93.184.216.34",
            t + 180,
        ),
    )
    .await
    .unwrap();
    assert_eq!(counts(e.api.clone(), e.detector.clone()).await, before);
    running.shutdown().await;
}

#[tokio::test]
async fn learned_baselines_are_stored_with_the_commit_and_survive_a_restart() {
    use portcullis_guard_ingest::FeedSettings;
    let e = env().await;
    let settings = FeedSettings {
        baseline_days: 1,
        ..FeedSettings::default()
    };
    let day = 86_400;
    let t0 = 1_714_521_600; // 2024-05-01T00:00:00Z
    let routine: String = (0..3)
        .flat_map(|d| {
            [
                user_call(
                    "gina",
                    "ListUsers",
                    "iam.amazonaws.com",
                    "198.51.100.7",
                    t0 + d * day,
                ),
                user_call(
                    "gina",
                    "GetSecretValue",
                    "secretsmanager.amazonaws.com",
                    "198.51.100.7",
                    t0 + d * day + 1,
                ),
            ]
        })
        .collect();
    let sink = |feeds: Feeds| std::sync::Arc::new(PushSink::new(feeds));
    {
        let feeds = Feeds::with_settings(e.api.clone(), Exports::none(), settings.clone());
        let sink = sink(feeds);
        portcullis_guard_api::EventSink::put_events(
            &*sink,
            &e.detector,
            "s",
            None,
            routine.as_bytes(),
        )
        .await
        .unwrap();
    }
    let stored = portcullis_store::list_all(
        &*e.api.store,
        portcullis_guard_ingest::feed::BASELINES,
        &format!("{}/", e.detector),
    )
    .await
    .unwrap();
    assert!(
        stored.iter().any(|i| i.key.ends_with("/meta")),
        "{stored:?}"
    );
    assert!(stored.iter().any(|i| i.key.contains("/id/")), "{stored:?}");
    assert!(
        stored.iter().any(|i| i.key.contains("/acct/")),
        "{stored:?}"
    );
    // A new process: the profiles and the learning period's start come back from the store.
    let feeds = Feeds::with_settings(e.api.clone(), Exports::none(), settings.clone());
    let feed = feeds.get(&e.detector).await.unwrap();
    let started = feed.inspect(|en| en.baselines().started()).await;
    assert_eq!(started, Some(t0));
    let sink = sink(feeds);
    let late = user_call(
        "gina",
        "GetSecretValue",
        "secretsmanager.amazonaws.com",
        "198.51.100.7",
        t0 + 3 * day,
    ) + &user_call(
        "gina",
        "CreateAccessKey",
        "iam.amazonaws.com",
        "198.51.100.7",
        t0 + 3 * day + 5,
    );
    portcullis_guard_api::EventSink::put_events(&*sink, &e.detector, "s", None, late.as_bytes())
        .await
        .unwrap();
    let types = types_stored(&e.api, &e.detector).await;
    assert!(
        types
            .iter()
            .any(|t| t == "Persistence:IAMUser/AnomalousBehavior"),
        "{types:?}"
    );
    assert!(
        !types
            .iter()
            .any(|t| t == "CredentialAccess:IAMUser/AnomalousBehavior"),
        "GetSecretValue is usual for gina: {types:?}"
    );
}
