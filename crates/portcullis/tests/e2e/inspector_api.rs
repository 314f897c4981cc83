//! Inspector2 over the wire: an agent posts inventory reports to `POST /agent/report` with a
//! client certificate from `portcullis ca issue-client`, IAM allows or denies it, and a
//! SigV4 caller reads coverage and findings, which follow the advisory index once
//! `portcullis inspector db import` writes it into the running server's data directory.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Value, json};

use crate::client::{Client, Resp, sign_at};
use crate::harness::{ADMIN_ARN, Server, run, scratch, text};

const ADVISORY: &str = r#"{"id":"RUSTSEC-2099-0001","modified":"2024-01-01T00:00:00Z",
  "summary":"foo overflows","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.2.0"}]}]}]}"#;

fn cli(args: &[&str]) -> String {
    let out = run(args, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?} failed: {stdout}{stderr}");
    stdout
}

/// Issues a client certificate for `principal`; returns (cert PEM, key PEM).
fn issue(data: &Path, out: &Path, name: &str, principal: &str) -> (String, String) {
    cli(&[
        "ca",
        "--data-dir",
        data.to_str().unwrap(),
        "issue-client",
        "--name",
        name,
        "--principal",
        principal,
        "--out",
        out.to_str().unwrap(),
    ]);
    (
        std::fs::read_to_string(out.join(format!("{name}.pem"))).unwrap(),
        std::fs::read_to_string(out.join(format!("{name}.key"))).unwrap(),
    )
}

fn report(seq: u64, body: Value) -> Value {
    json!({"agentId": "host-e2e", "hostname": "web-1", "agentVersion": "0.1.0",
           "collectedAt": 1_700_000_000u64, "sequence": seq, "body": body})
}

fn full_inventory(foo_version: &str) -> Value {
    json!({"kind": "full", "inventory": {
        "os": {"id": "debian", "version_id": "12", "codename": "bookworm",
               "pretty_name": "Debian GNU/Linux 12 (bookworm)", "kernel_release": "6.1.0", "arch": "x86_64"},
        "packages": [],
        "lockfiles": [{"path": "/srv/app/Cargo.lock", "kind": "CargoLock", "packages": [
            {"ecosystem": "crates.io", "name": "foo", "version": foo_version, "source": null}]}],
        "listeners": [],
        "sshd": {"permitrootlogin": "yes"},
        "login_defs": {}, "pwquality": {}, "sysctls": {}, "cpu_flags": [], "paths": [], "features": {}
    }})
}

fn agent_post(client: &Client, body: &Value) -> Request<Bytes> {
    client
        .request(Method::POST, "/agent/report")
        .header("x-portcullis-service", "inspector2")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
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
async fn agent_reports_over_mtls_become_coverage_and_findings() {
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let certs = tmp.path().join("certs");
    let plain = Client::new(server.addr, &server.ca_pem);

    // A user without permissions: its certificate authenticates, IAM refuses the report.
    let r = plain
        .query("iam", &server.admin, "CreateUser", &[("UserName", "agent")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (cert, key) = issue(
        &data,
        &certs,
        "agent",
        "arn:aws:iam::000000000000:user/agent",
    );
    let agent = Client::with_cert(server.addr, &server.ca_pem, &cert, &key);
    let first = report(1, full_inventory("1.1.0"));
    let r = agent.must_send(agent_post(&agent, &first)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("AccessDeniedException"), "{}", r.body);
    assert!(r.body.contains("inspector2:PutInventory"), "{}", r.body);

    // Allowed to report for its own agent id.
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "inspector2:PutInventory", "Resource": "arn:aws:inspector2:*:*:agent/host-e2e"}]});
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
    let r = agent.must_send(agent_post(&agent, &first)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"acknowledged": 1}));

    // A delta on a stale base is a 409 the agent answers with a full report.
    let stale = report(
        3,
        json!({"kind": "delta", "base": 7, "delta": {"sysctls": {"kernel.randomize_va_space": "2"}}}),
    );
    let r = agent.must_send(agent_post(&agent, &stale)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("ConflictException"), "{}", r.body);
    let beat = report(2, json!({"kind": "delta", "base": 1, "delta": {}}));
    let r = agent.must_send(agent_post(&agent, &beat)).await;
    assert_eq!(
        (r.status.as_u16(), r.json()),
        (200, json!({"acknowledged": 2}))
    );
    // Not JSON: 400, and the stored sequence is unchanged.
    let r = agent
        .must_send(
            agent
                .request(Method::POST, "/agent/report")
                .header("x-portcullis-service", "inspector2")
                .body(Bytes::from_static(b"{oops"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("ValidationException"), "{}", r.body);

    // The admin (SigV4) sees the host, without package data yet: no index.
    let r = signed(&plain, &server, "/coverage/list", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cov = r.json();
    assert_eq!(cov["coveredResources"][0]["resourceId"], "host-e2e");
    assert_eq!(
        cov["coveredResources"][0]["scanStatus"]["reason"],
        "PENDING_INITIAL_SCAN"
    );
    let r = signed(&plain, &server, "/findings/list", json!({})).await;
    let findings = r.json()["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings
            .iter()
            .all(|f| f["type"] != "PACKAGE_VULNERABILITY"),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["codeVulnerabilityDetails"]["detectorId"] == "PCS-SSH-ROOT-LOGIN"),
        "{findings:?}"
    );

    // `inspector db import` into the running server's data directory: the server reloads
    // the index and re-evaluates the host without another report.
    let adv = tmp.path().join("adv");
    std::fs::create_dir_all(&adv).unwrap();
    std::fs::write(adv.join("RUSTSEC-2099-0001.json"), ADVISORY).unwrap();
    let db = data.join("inspector").join("db");
    cli(&[
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
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(f) = r.json()["findings"].get(0).cloned() {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "no package finding after the import: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        vuln["packageVulnerabilityDetails"]["vulnerabilityId"],
        "RUSTSEC-2099-0001"
    );
    assert_eq!(vuln["severity"], "CRITICAL");
    assert_eq!(vuln["resources"][0]["id"], "host-e2e");
    let r = signed(&plain, &server, "/coverage/list", json!({})).await;
    assert_eq!(
        r.json()["coveredResources"][0]["scanStatus"]["reason"],
        "SUCCESSFUL"
    );

    // The admin's own certificate works too; an upgrade closes the finding.
    let (acert, akey) = issue(&data, &certs, "admin-agent", ADMIN_ARN);
    let admin_agent = Client::with_cert(server.addr, &server.ca_pem, &acert, &akey);
    let r = admin_agent
        .must_send(agent_post(
            &admin_agent,
            &report(3, full_inventory("1.2.0")),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = signed(
        &plain,
        &server,
        "/findings/list",
        json!({"filterCriteria": {"findingArn": [{"comparison": "EQUALS", "value": vuln["findingArn"]}]}}),
    )
    .await;
    assert_eq!(r.json()["findings"][0]["status"], "CLOSED", "{}", r.body);
}

/// The corpus example network (`None`, loudly, without the corpus).
fn sample_network() -> Option<Vec<u8>> {
    let root = std::env::var_os("PORTCULLIS_CORPORA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    let path = root.join("inspector/aws-network-examples/sample_vpc_snapshot.json");
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!(
                "!!!!! SKIPPING: network example not found at {} (set PORTCULLIS_CORPORA) !!!!!",
                path.display()
            );
            None
        }
    }
}

/// Waits (up to 10 s) until `/network/get` lists `want` instances.
async fn wait_for_instances(client: &Client, server: &Server, want: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = signed(client, server, "/network/get", json!({})).await;
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        if &body["instances"] == want || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `inspector network import|show`, `[inspector] network_files` at start and on change, and
/// a bad network file failing the start and `config check`.
#[tokio::test]
async fn network_descriptions_from_the_cli_and_the_configuration() {
    let Some(sample) = sample_network() else {
        return;
    };
    let (tmp, data) = scratch();
    let d = data.to_str().unwrap();
    let net = tmp.path().join("net.json");
    std::fs::write(&net, &sample).unwrap();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, br#"{"Vpcs": []}"#).unwrap();
    let (n, b) = (net.to_str().unwrap(), bad.to_str().unwrap());

    // One bad file: non-zero exit, the file and the problem named, nothing written.
    let out = run(
        &["inspector", "network", "import", "--data-dir", d, n, b],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("bad.json") && stderr.contains("Describe"),
        "{stderr}"
    );
    assert!(!data.join("inspector/network/network.json").exists());

    let out = cli(&["inspector", "network", "import", "--data-dir", d, n]);
    assert!(out.contains("3 instances"), "{out}");
    let shown = cli(&["inspector", "network", "show", "--data-dir", d]);
    assert!(
        shown.contains("i-web") && shown.contains("imported at"),
        "{shown}"
    );
    assert!(
        shown.contains("net.json"),
        "the source file is named: {shown}"
    );

    // The configuration adds one more description.
    let extra = tmp.path().join("extra.json");
    std::fs::write(
        &extra,
        json!({"DescribeInstances": {"Reservations": [{"Instances": [
            {"InstanceId": "i-0123456789abcdef0", "VpcId": "vpc-9"}]}]}})
        .to_string(),
    )
    .unwrap();
    let config = tmp.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "[inspector]\nnetwork_files = [{:?}]\n",
            extra.to_str().unwrap()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let checked = cli(&["config", "check", "--config", c, "--data-dir", d]);
    assert!(checked.contains("extra.json"), "{checked}");

    let server = Server::start(&data, &["--config", c], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let four = json!(["i-0123456789abcdef0", "i-db", "i-nopub", "i-web"]);
    let got = wait_for_instances(&client, &server, &four).await;
    assert_eq!(got["instances"], four, "imported at start: {got}");

    // A new import through the CLI reaches the running server.
    let only_web: Value = {
        let mut v: Value = serde_json::from_slice(&sample).unwrap();
        for r in v["DescribeInstances"]["Reservations"]
            .as_array_mut()
            .unwrap()
        {
            r["Instances"]
                .as_array_mut()
                .unwrap()
                .retain(|i| i["InstanceId"] == "i-web");
        }
        v
    };
    std::fs::write(&net, only_web.to_string()).unwrap();
    cli(&["inspector", "network", "import", "--data-dir", d, n]);
    let two = json!(["i-0123456789abcdef0", "i-web"]);
    let got = wait_for_instances(&client, &server, &two).await;
    assert_eq!(got["instances"], two, "re-imported while running: {got}");
    drop(server);

    // A bad configured file: `config check` and the start fail, naming it.
    std::fs::write(&extra, b"{\"DescribeVpcs\": 3").unwrap();
    let out = run(&["config", "check", "--config", c, "--data-dir", d], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("extra.json"), "{stderr}");
    let Err(failed) = Server::try_start(&data, &["--config", c], &[]) else {
        panic!("the server started with a bad network file");
    };
    assert!(
        failed.stderr.contains("extra.json"),
        "{}\n{}",
        failed.stdout,
        failed.stderr
    );
}
