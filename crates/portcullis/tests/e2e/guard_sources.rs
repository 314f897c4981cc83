//! Guard's continuous sources through the real binary: a `[guard]` configuration follows a log
//! directory, findings appear through the GuardDuty API and in a file export, the server is
//! killed (SIGKILL) with records read but not yet committed, more lines arrive while it is down,
//! and after a restart every record is counted exactly once. `PutEvents` is checked over HTTPS
//! for an allowed and a refused IAM user.

use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::client::{Client, Creds, Resp, sign_at};
use crate::harness::{Server, scratch};

const ROOT_TYPE: &str = "Policy:IAMUser/RootCredentialUsage";

/// One CloudTrail record made with the account's root credentials (one occurrence of
/// `Policy:IAMUser/RootCredentialUsage`, all for the same access key).
fn root_call(i: usize) -> String {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "Root", "principalId": "000000000000",
            "arn": "arn:aws:iam::000000000000:root", "accountId": "000000000000",
            "accessKeyId": "AKIAE2EROOTEXAMPLE01"},
        "eventTime": format!("2024-06-01T08:{:02}:{:02}Z", (i / 60) % 60, i % 60),
        "eventSource": "iam.amazonaws.com", "eventName": "ListRoles", "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.15",
        "requestParameters": null, "responseElements": null,
        "requestID": format!("req-{i}"), "eventID": format!("ev-{i}"),
        "eventType": "AwsApiCall", "recipientAccountId": "000000000000"
    })
    .to_string()
}

fn lines(from: usize, to: usize) -> String {
    (from..to).map(|i| root_call(i) + "\n").collect()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

async fn guardduty(
    client: &Client,
    creds: &Creds,
    method: Method,
    path: &str,
    body: Value,
) -> Resp {
    let req = client
        .request(method, path)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    client
        .must_send(sign_at(req, creds, "guardduty", SystemTime::now()))
        .await
}

async fn detector(client: &Client, admin: &Creds) -> Option<String> {
    let r = guardduty(client, admin, Method::GET, "/detector", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["detectorIds"][0].as_str().map(str::to_owned)
}

/// The count of the root-usage finding through ListFindings + GetFindings (0 if none).
async fn root_count(client: &Client, admin: &Creds, det: &str) -> u64 {
    let r = guardduty(
        client,
        admin,
        Method::POST,
        &format!("/detector/{det}/findings"),
        json!({"findingCriteria": {"criterion": {"type": {"eq": [ROOT_TYPE]}}}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = r.json()["findingIds"].clone();
    if ids.as_array().is_none_or(Vec::is_empty) {
        return 0;
    }
    let r = guardduty(
        client,
        admin,
        Method::POST,
        &format!("/detector/{det}/findings/get"),
        json!({"findingIds": ids}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let findings = r.json()["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        findings.len(),
        1,
        "repeated activity is one finding: {}",
        r.body
    );
    findings[0]["service"]["count"].as_u64().unwrap()
}

async fn wait_count(client: &Client, admin: &Creds, server: &Server, want: u64) -> String {
    let mut last = 0;
    for _ in 0..300 {
        if let Some(det) = detector(client, admin).await {
            last = root_count(client, admin, &det).await;
            if last == want {
                return det;
            }
            assert!(
                last < want,
                "counted {last}, more than the {want} records written"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "count stayed at {last}, wanted {want}; log:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn followed_logs_survive_a_kill_without_loss_or_double_counting() {
    let (tmp, data) = scratch();
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let export = tmp.path().join("findings.jsonl");
    let config = tmp.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[guard]
flush_interval = "1s"
[[guard.sources]]
name = "trail"
kind = "files"
paths = ["{}"]
poll_interval = "50ms"
[[guard.exports]]
kind = "file"
path = "{}"
"#,
            logs.join("*.jsonl").display(),
            export.display()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let trail = logs.join("trail.jsonl");
    append(&trail, &lines(0, 10));

    let server = Server::start(&data, &["--config", cfg], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let admin = server.admin.clone();
    let det = wait_count(&client, &admin, &server, 10).await;

    // Read within the flush interval, then killed before the commit.
    append(&trail, &lines(10, 15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server); // SIGKILL
    append(&trail, &lines(15, 20));
    // A new file while it was down, and a partial line that is finished later.
    let second = logs.join("second.jsonl");
    let partial = root_call(21);
    let (head, tail) = partial.split_at(30);
    append(&second, &(lines(20, 21) + head));

    let server = Server::start(&data, &["--config", cfg], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    assert_eq!(wait_count(&client, &admin, &server, 21).await, det);
    append(&second, &format!("{tail}\n"));
    wait_count(&client, &admin, &server, 22).await;
    // Settled: nothing is counted twice later either.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(root_count(&client, &admin, &det).await, 22);

    // The export holds GuardDuty finding JSON, the latest with the current count.
    let text = std::fs::read_to_string(&export).unwrap_or_default();
    let last: Value =
        serde_json::from_str(text.lines().last().expect("exported findings")).unwrap();
    assert_eq!(last["type"], ROOT_TYPE);
    assert_eq!(last["service"]["count"], 22, "{text}");
    assert_eq!(last["service"]["detectorId"], det.as_str());
}

#[tokio::test]
async fn put_events_is_authorised_by_iam_and_answers_after_processing() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let admin = server.admin.clone();
    let r = guardduty(
        &client,
        &admin,
        Method::POST,
        "/detector",
        json!({"enable": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let det = r.json()["detectorId"].as_str().unwrap().to_owned();

    let user = |name: &'static str| {
        let client = &client;
        let admin = &admin;
        async move {
            let r = client
                .query("iam", admin, "CreateUser", &[("UserName", name)])
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let r = client
                .query("iam", admin, "CreateAccessKey", &[("UserName", name)])
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            Creds {
                id: r.xml("AccessKeyId").unwrap(),
                secret: r.xml("SecretAccessKey").unwrap(),
                token: None,
            }
        }
    };
    let shipper = user("shipper").await;
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "guardduty:PutEvents", "Resource": "*"}]})
    .to_string();
    let r = client
        .query(
            "iam",
            &admin,
            "PutUserPolicy",
            &[
                ("UserName", "shipper"),
                ("PolicyName", "ship"),
                ("PolicyDocument", &policy),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stranger = user("stranger").await;

    let push = |creds: Creds, body: String| {
        let client = &client;
        let det = det.clone();
        async move {
            let req = client
                .request(Method::POST, &format!("/detector/{det}/events?source=e2e"))
                .header("content-type", "application/x-ndjson")
                .body(Bytes::from(body))
                .unwrap();
            client
                .must_send(sign_at(req, &creds, "guardduty", SystemTime::now()))
                .await
        }
    };
    let r = push(stranger, lines(0, 3)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("guardduty:PutEvents"), "{}", r.body);
    assert_eq!(root_count(&client, &admin, &det).await, 0);

    let r = push(shipper.clone(), lines(0, 3) + "{\"eventVersion\": broken\n").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reply = r.json();
    assert_eq!(reply["records"], 3, "{reply}");
    assert_eq!(reply["malformed"], 1, "{reply}");
    assert!(
        reply["errors"][0].as_str().unwrap().contains(":4"),
        "{reply}"
    );
    // The 200 came after the findings were stored.
    assert_eq!(root_count(&client, &admin, &det).await, 3);
    let r = push(shipper, lines(3, 5)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["findingsUpdated"], 1, "{}", r.body);
    assert_eq!(root_count(&client, &admin, &det).await, 5);
}
