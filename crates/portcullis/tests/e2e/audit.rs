//! Graceful shutdown and the CloudTrail log files it leaves behind.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::client::{Client, Creds};
use crate::harness::{ADMIN_ARN, Server, scratch};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every CloudTrail log file under the data directory, decompressed.
fn trail_files(data: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    files_under(&data.join("audit"), &mut files);
    files
        .into_iter()
        .map(|p| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{} is not gzip: {e}", p.display()));
            (p, text)
        })
        .collect()
}

#[tokio::test]
async fn sigterm_flushes_a_cloudtrail_file_without_secrets() {
    let (_tmp, data) = scratch();
    let mut server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let admin = server.admin.clone();

    let r = client.query("sts", &admin, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bad = Creds {
        secret: "definitely-not-the-secret".into(),
        ..admin.clone()
    };
    let r = client.query("sts", &bad, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = client
        .query("iam", &admin, "CreateUser", &[("UserName", "dave")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = client
        .query("iam", &admin, "CreateAccessKey", &[("UserName", "dave")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dave_secret = r.xml("SecretAccessKey").expect("a new secret");
    let dave_id = r.xml("AccessKeyId").expect("a new key id");

    let (status, took) = server.terminate(Duration::from_secs(8)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");

    let files = trail_files(&data);
    assert!(
        !files.is_empty(),
        "no CloudTrail file under {}",
        data.display()
    );
    let mut records = Vec::new();
    for (path, text) in &files {
        let rel = path
            .strip_prefix(&data)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            rel.starts_with("audit/AWSLogs/000000000000/CloudTrail/us-east-1/"),
            "{rel}"
        );
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(parts.len(), 9, "YYYY/MM/DD/<file> layout: {rel}");
        assert!(
            parts[5].len() == 4 && parts[6].len() == 2 && parts[7].len() == 2,
            "{rel}"
        );
        assert!(rel.ends_with(".json.gz"), "{rel}");
        assert!(
            !text.contains(&dave_secret),
            "dave's secret leaked into {rel}"
        );
        assert!(
            !text.contains(&admin.secret),
            "the admin secret leaked into {rel}"
        );
        let v: Value = serde_json::from_str(text).unwrap();
        records.extend(v["Records"].as_array().expect("Records").iter().cloned());
    }
    let find = |name: &str, failed: bool| {
        records.iter().find(|r| {
            r["eventName"] == name && r.get("errorCode").is_some_and(|c| !c.is_null()) == failed
        })
    };
    let ok = find("GetCallerIdentity", false).expect("a GetCallerIdentity record");
    assert_eq!(ok["eventSource"], "sts.amazonaws.com");
    assert_eq!(ok["userIdentity"]["arn"], ADMIN_ARN);
    assert_eq!(ok["userIdentity"]["accessKeyId"], admin.id.as_str());
    assert_eq!(ok["sourceIPAddress"], "127.0.0.1");
    let failed = find("GetCallerIdentity", true).expect("a record of the refused call");
    assert_eq!(failed["eventSource"], "sts.amazonaws.com");
    assert_eq!(failed["errorCode"], "SignatureDoesNotMatch");
    let created = find("CreateAccessKey", false).expect("a CreateAccessKey record");
    assert_eq!(created["eventSource"], "iam.amazonaws.com");
    assert!(
        created.to_string().contains(&dave_id),
        "the key id is recorded: {created}"
    );
    assert!(find("CreateUser", false).is_some());

    let log = server.log();
    assert!(
        !log.contains(&dave_secret),
        "a secret reached the server log"
    );
    assert!(
        !log.contains(&admin.secret),
        "the admin secret reached the log"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_do_not_delay_shutdown() {
    let (_tmp, data) = scratch();
    let mut server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    // One idle HTTP/1.1 and one idle HTTP/2 connection, each after a completed request,
    // kept open and served by this runtime as a pooling SDK would.
    let mut idle = Vec::new();
    for c in [client.clone().http1(), client.clone()] {
        let io = hyper_util::rt::TokioIo::new(c.connect().await.unwrap());
        let req = c.query_request("GetCallerIdentity", &[]);
        let req = crate::client::sign_at(req, &server.admin, "sts", std::time::SystemTime::now());
        let mut parts = req.into_parts();
        if c.version == http::Version::HTTP_11 {
            parts.0.uri = "/".parse().unwrap();
        }
        let req = http::Request::from_parts(parts.0, http_body_util::Full::new(parts.1));
        let status = if c.version == http::Version::HTTP_11 {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            let status = sender.send_request(req).await.unwrap().status();
            idle.push(Box::new(sender) as Box<dyn Send>);
            status
        } else {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let status = sender.send_request(req).await.unwrap().status();
            idle.push(Box::new(sender) as Box<dyn Send>);
            status
        };
        assert_eq!(status, 200);
    }
    let (status, took) = server.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(3),
        "idle connections held shutdown for {took:?}"
    );
    drop(idle);
}
