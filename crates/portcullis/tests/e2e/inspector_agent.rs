//! `portcullis agent --once` against a running server: the agent collects a fake Debian host
//! (`--root`), authenticates with a certificate from `portcullis ca issue-client`, sends a
//! full report and then only the changes; the server turns the inventory into check findings
//! and, once an advisory index is imported, into a package finding matched under the
//! Debian source package name.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::client::{Client, Resp, sign_at};
use crate::harness::{Server, run, scratch, text};

/// A Debian advisory keyed by the source package `openssl`, fixed after the installed version.
const DSA: &str = r#"{"id":"DSA-9999-1","modified":"2024-01-01T00:00:00Z","summary":"openssl: test flaw",
  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}"#;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn fake_host(root: &Path) {
    write(
        root,
        "etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    );
    write(root, "etc/machine-id", "0f0e0d0c0b0a09080706050403020100\n");
    write(root, "etc/hostname", "agent-e2e\n");
    write(root, "proc/sys/kernel/randomize_va_space", "2\n");
    write(
        root,
        "var/lib/dpkg/status",
        "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n\
         Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\n",
    );
    write(
        root,
        "etc/ssh/sshd_config",
        "PermitRootLogin yes\nPasswordAuthentication no\n",
    );
}

fn ok(args: &[&str]) -> String {
    let out = run(args, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?} failed: {stdout}{stderr}");
    stdout
}

async fn signed(client: &Client, server: &Server, path: &str, body: Value) -> Resp {
    let req = client
        .request(Method::POST, path)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    client
        .must_send(sign_at(req, &server.admin, "inspector2", SystemTime::now()))
        .await
}

#[tokio::test]
async fn agent_once_reports_full_then_changes_and_findings_follow() {
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let plain = Client::new(server.addr, &server.ca_pem);
    let r = plain
        .query("iam", &server.admin, "CreateUser", &[("UserName", "agent")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "inspector2:PutInventory", "Resource": "arn:aws:inspector2:*:*:agent/*"}]});
    let r = plain
        .query(
            "iam",
            &server.admin,
            "PutUserPolicy",
            &[
                ("UserName", "agent"),
                ("PolicyName", "report"),
                ("PolicyDocument", &policy.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let certs = tmp.path().join("certs");
    ok(&[
        "ca",
        "--data-dir",
        data.to_str().unwrap(),
        "issue-client",
        "--name",
        "agent-e2e",
        "--principal",
        "arn:aws:iam::000000000000:user/agent",
        "--out",
        certs.to_str().unwrap(),
    ]);
    std::fs::write(certs.join("ca.pem"), &server.ca_pem).unwrap();
    let root = tmp.path().join("host");
    fake_host(&root);
    let state = tmp.path().join("state");
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let agent_args = [
        "agent".to_owned(),
        "--server".to_owned(),
        url,
        "--ca".to_owned(),
        s(&certs.join("ca.pem")),
        "--cert".to_owned(),
        s(&certs.join("agent-e2e.pem")),
        "--key".to_owned(),
        s(&certs.join("agent-e2e.key")),
        "--root".to_owned(),
        s(&root),
        "--state-dir".to_owned(),
        s(&state),
        "--once".to_owned(),
    ];
    let args: Vec<&str> = agent_args.iter().map(String::as_str).collect();

    let first = ok(&args);
    assert!(first.contains("report 1 acknowledged (full)"), "{first}");
    write(&root, "proc/sys/kernel/randomize_va_space", "0\n");
    let second = ok(&args);
    assert!(
        second.contains("report 2 acknowledged (changes only)"),
        "{second}"
    );

    // The checks ran on the server over the reported inventory.
    let r = signed(&plain, &server, "/findings/list", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let findings = r.json()["findings"].as_array().cloned().unwrap_or_default();
    let detectors: Vec<String> = findings
        .iter()
        .filter_map(|f| {
            f["codeVulnerabilityDetails"]["detectorId"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        detectors.contains(&"PCS-SSH-ROOT-LOGIN".to_owned()),
        "{detectors:?}"
    );
    assert!(
        detectors.contains(&"PCS-KERNEL-ASLR".to_owned()),
        "the delta was applied: {detectors:?}"
    );
    assert!(
        !detectors.contains(&"PCS-SSH-PASSWORD-AUTH".to_owned()),
        "{detectors:?}"
    );
    let host_id = findings[0]["resources"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(host_id.starts_with("host-"), "{host_id}");

    // An advisory for the Debian source package `openssl` matches the binary `libssl3`.
    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).unwrap();
    std::fs::write(adv.join("DSA-9999-1.json"), DSA).unwrap();
    let db = data.join("inspector").join("db");
    ok(&[
        "inspector",
        "db",
        "import",
        "--db",
        db.to_str().unwrap(),
        adv.to_str().unwrap(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let vuln = loop {
        let r = signed(
            &plain,
            &server,
            "/findings/list",
            json!({"filterCriteria": {"findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}]}}),
        )
        .await;
        if let Some(f) = r.json()["findings"].get(0).cloned() {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "no package finding: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        vuln["packageVulnerabilityDetails"]["vulnerabilityId"],
        "DSA-9999-1"
    );
    let pkgs = vuln["packageVulnerabilityDetails"]["vulnerablePackages"].to_string();
    assert!(pkgs.contains("libssl3"), "{pkgs}");
}

/// The acknowledged sequence in the agent's state file, if any.
fn acknowledged(state: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(state.join("state.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["acknowledged"]["sequence"].as_u64()
}

fn wait_for(state: &Path, seq: u64, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged(state) != Some(seq) {
        assert!(child.try_wait().unwrap().is_none(), "the agent exited");
        assert!(
            Instant::now() < deadline,
            "report {seq} was not acknowledged"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn agent_daemon_reports_at_start_on_sighup_and_stops_on_sigterm() {
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    // An administrator's certificate: allowed to report without extra policy.
    let certs = tmp.path().join("certs");
    ok(&[
        "ca",
        "--data-dir",
        data.to_str().unwrap(),
        "issue-client",
        "--name",
        "daemon",
        "--principal",
        crate::harness::ADMIN_ARN,
        "--out",
        certs.to_str().unwrap(),
    ]);
    std::fs::write(certs.join("ca.pem"), &server.ca_pem).unwrap();
    let root = tmp.path().join("host");
    fake_host(&root);
    let state = tmp.path().join("state");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let args = [
        "agent",
        "--server",
        &url,
        "--ca",
        &s(&certs.join("ca.pem")),
        "--cert",
        &s(&certs.join("daemon.pem")),
        "--key",
        &s(&certs.join("daemon.key")),
        "--root",
        &s(&root),
        "--state-dir",
        &s(&state),
    ];
    let mut child = crate::harness::command(&args, &[])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&state, 1, &mut child);
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_for(&state, 2, &mut child);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// The corpus example network with sg-web also admitting `extra` TCP ports from anywhere.
fn example_network(extra: &[u16]) -> Option<Value> {
    let root = std::env::var_os("PORTCULLIS_CORPORA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    let path = root.join("inspector/aws-network-examples/sample_vpc_snapshot.json");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!(
            "!!!!! SKIPPING: network example not found at {} (set PORTCULLIS_CORPORA) !!!!!",
            path.display()
        );
        return None;
    };
    let mut snap: Value = serde_json::from_slice(&bytes).unwrap();
    for sg in snap["DescribeSecurityGroups"]["SecurityGroups"]
        .as_array_mut()
        .unwrap()
    {
        if sg["GroupId"] == "sg-web" {
            for p in extra {
                sg["IpPermissions"].as_array_mut().unwrap().push(json!({
                    "IpProtocol": "tcp", "FromPort": p, "ToPort": p,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}));
            }
        }
    }
    Some(snap)
}

/// `(finding type, port) → status` of i-web's network findings.
async fn network_state(
    client: &Client,
    server: &Server,
) -> std::collections::BTreeMap<(String, u64), String> {
    let r = signed(
        client,
        server,
        "/findings/list",
        json!({"maxResults": 100, "filterCriteria": {
            "findingType": [{"comparison": "EQUALS", "value": "NETWORK_REACHABILITY"}],
            "resourceId": [{"comparison": "EQUALS", "value": "i-web"}]}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let kind = f["title"].as_str().unwrap().split(':').next().unwrap();
            let port = f["networkReachabilityDetails"]["openPortRange"]["begin"]
                .as_u64()
                .unwrap();
            (
                (kind.to_owned(), port),
                f["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The agent (`--instance-id i-web`) sees the sockets this test opens (its `/proc/net` is the
/// real one); with the example network imported, the server turns them into
/// `NETWORK_REACHABILITY` findings, which close when the listener goes or the security group
/// stops admitting the port.
#[tokio::test]
async fn network_reachability_from_an_agent_and_an_imported_network() {
    // A listener outside traffic could reach (bound to the wildcard) and one on loopback only.
    let open = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let local = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (p_open, p_local) = (
        open.local_addr().unwrap().port(),
        local.local_addr().unwrap().port(),
    );
    let Some(snap) = example_network(&[p_open, p_local]) else {
        return;
    };
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let plain = Client::new(server.addr, &server.ca_pem);
    let r = signed(&plain, &server, "/network/import", snap).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["instances"], 3);

    let certs = tmp.path().join("certs");
    ok(&[
        "ca",
        "--data-dir",
        data.to_str().unwrap(),
        "issue-client",
        "--name",
        "web",
        "--principal",
        "arn:aws:iam::000000000000:user/admin",
        "--out",
        certs.to_str().unwrap(),
    ]);
    std::fs::write(certs.join("ca.pem"), &server.ca_pem).unwrap();
    let root = tmp.path().join("host");
    fake_host(&root);
    std::os::unix::fs::symlink("/proc/self/net", root.join("proc/net")).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let agent_args = [
        "agent".to_owned(),
        "--server".to_owned(),
        format!("https://127.0.0.1:{}", server.addr.port()),
        "--ca".to_owned(),
        s(&certs.join("ca.pem")),
        "--cert".to_owned(),
        s(&certs.join("web.pem")),
        "--key".to_owned(),
        s(&certs.join("web.key")),
        "--root".to_owned(),
        s(&root),
        "--state-dir".to_owned(),
        s(&tmp.path().join("state")),
        "--instance-id".to_owned(),
        "i-web".to_owned(),
        "--once".to_owned(),
    ];
    let args: Vec<&str> = agent_args.iter().map(String::as_str).collect();
    ok(&args);
    let st = network_state(&plain, &server).await;
    let get = |k: &str, p: u16| st.get(&(k.to_owned(), u64::from(p))).cloned();
    assert_eq!(
        get("UnrecognizedPortWithListener", p_open).as_deref(),
        Some("ACTIVE"),
        "{st:?}"
    );
    assert_eq!(get("UnrecognizedPortWithListener", p_local), None, "{st:?}");
    assert_eq!(
        get("NetworkExposure", p_local).as_deref(),
        Some("ACTIVE"),
        "{st:?}"
    );
    assert_eq!(
        get("RecognizedPortNoListener", 443).as_deref(),
        Some("ACTIVE"),
        "{st:?}"
    );
    assert_eq!(
        get("RecognizedPortNoAgent", 22).as_deref(),
        Some("CLOSED"),
        "the agent arrived: {st:?}"
    );

    // The listener goes: the agent's next report closes its finding.
    drop(open);
    ok(&args);
    let st = network_state(&plain, &server).await;
    let get = |k: &str, p: u16| st.get(&(k.to_owned(), u64::from(p))).cloned();
    assert_eq!(
        get("UnrecognizedPortWithListener", p_open).as_deref(),
        Some("CLOSED"),
        "{st:?}"
    );

    // The security group stops admitting the ports: re-import closes the exposure.
    let snap = example_network(&[]).unwrap();
    let r = signed(&plain, &server, "/network/import", snap).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let st = network_state(&plain, &server).await;
    let get = |k: &str, p: u16| st.get(&(k.to_owned(), u64::from(p))).cloned();
    assert_eq!(
        get("NetworkExposure", p_local).as_deref(),
        Some("CLOSED"),
        "{st:?}"
    );
    assert_eq!(
        get("NetworkExposure", 443).as_deref(),
        Some("ACTIVE"),
        "{st:?}"
    );
    drop(local);
}
