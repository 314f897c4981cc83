//! Network descriptions and `NETWORK_REACHABILITY` findings (the corpus example network),
//! gzip-encoded bodies (a 5 MiB inventory, a 1 GiB bomb) and findings reports.

use std::io::Write as _;

use portcullis_inspector_core::inventory::{
    CloudIdentity, InventoryDelta, Listener, SocketProtocol,
};

use super::*;

fn snapshot() -> Option<Value> {
    let dir = corpora()?.join("inspector/aws-network-examples");
    let bytes = std::fs::read(dir.join("sample_vpc_snapshot.json")).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

/// The snapshot with sg-web's inbound rule for `port` removed.
fn without_rule(snap: &Value, port: u64) -> Value {
    let mut s = snap.clone();
    for sg in s["DescribeSecurityGroups"]["SecurityGroups"]
        .as_array_mut()
        .unwrap()
    {
        if sg["GroupId"] == "sg-web" {
            sg["IpPermissions"]
                .as_array_mut()
                .unwrap()
                .retain(|p| p["FromPort"].as_u64() != Some(port));
        }
    }
    s
}

fn listener(addr: &str, port: u16) -> Listener {
    Listener {
        protocol: SocketProtocol::Tcp,
        address: addr.parse().unwrap(),
        port,
        process: Some("srv".into()),
        pid: Some(42),
    }
}

fn with_cloud(mut report: Value, instance: &str) -> Value {
    report["cloud"] = serde_json::to_value(CloudIdentity::new(instance).unwrap()).unwrap();
    report
}

/// `(type prefix of the title, port begin) → status` of i-web's network findings.
async fn network_state(env: &Env) -> BTreeMap<(String, u64), String> {
    let found = env
        .findings(json!({"findingType": eq("NETWORK_REACHABILITY")}))
        .await;
    let mut out = BTreeMap::new();
    for f in found {
        assert_eq!(f["resources"][0]["id"], "i-web", "{f}");
        assert_eq!(f["resources"][0]["type"], "AWS_EC2_INSTANCE");
        let steps = f["networkReachabilityDetails"]["networkPath"]["steps"]
            .as_array()
            .unwrap();
        assert_eq!(steps[0]["componentId"], "igw-1");
        let kind = f["title"].as_str().unwrap().split(':').next().unwrap();
        let begin = f["networkReachabilityDetails"]["openPortRange"]["begin"]
            .as_u64()
            .unwrap();
        let prev = out.insert(
            (kind.to_owned(), begin),
            f["status"].as_str().unwrap().to_owned(),
        );
        assert!(prev.is_none(), "duplicate {kind} {begin}");
    }
    out
}

fn state(entries: &[(&str, u64, &str)]) -> BTreeMap<(String, u64), String> {
    entries
        .iter()
        .map(|(k, p, s)| (((*k).to_owned(), *p), (*s).to_owned()))
        .collect()
}

#[tokio::test]
async fn network_findings_follow_imports_and_agents() {
    let Some(snap) = snapshot() else { return };
    let env = Env::new(index()).await;
    let r = env.ok("/network/import", snap.clone()).await;
    assert_eq!(r["instances"], 3, "{r}");
    // No agent yet: recognized ports are NoAgent, every range is exposure.
    let expo = "NetworkExposure";
    assert_eq!(
        network_state(&env).await,
        state(&[
            ("RecognizedPortNoAgent", 22, "ACTIVE"),
            ("RecognizedPortNoAgent", 443, "ACTIVE"),
            (expo, 22, "ACTIVE"),
            (expo, 443, "ACTIVE"),
            (expo, 8080, "ACTIVE"),
        ])
    );
    let ssh = env
        .findings(json!({"findingType": eq("NETWORK_REACHABILITY"),
                         "portRange": [{"beginInclusive": 22, "endInclusive": 22}],
                         "title": [{"comparison": "PREFIX", "value": "RecognizedPort"}]}))
        .await;
    assert_eq!(ssh.len(), 1);
    assert_eq!(ssh[0]["severity"], "MEDIUM");
    assert_eq!(ssh[0]["networkReachabilityDetails"]["protocol"], "TCP");
    assert_eq!(
        ssh[0]["resources"][0]["details"]["awsEc2Instance"]["vpcId"],
        "vpc-1"
    );
    let g = env.ok("/network/get", json!({})).await;
    assert_eq!(g["instances"], json!(["i-db", "i-nopub", "i-web"]));

    // The agent of i-web: 443 on the wildcard, 8080 on IPv6, 22 on loopback only.
    let mut inv = host_state("1.3.0", false, false);
    inv.listeners = vec![
        listener("0.0.0.0", 443),
        listener("::", 8080),
        listener("127.0.0.1", 22),
    ];
    env.ok(
        "/agent/report",
        with_cloud(full("web-agent", 1, inv.clone()), "i-web"),
    )
    .await;
    let with_agent = [
        ("RecognizedPortNoAgent", 22, "CLOSED"),
        ("RecognizedPortNoAgent", 443, "CLOSED"),
        ("RecognizedPortNoListener", 22, "ACTIVE"),
        ("RecognizedPortWithListener", 443, "ACTIVE"),
        ("UnrecognizedPortWithListener", 8080, "ACTIVE"),
        (expo, 22, "ACTIVE"),
        (expo, 443, "ACTIVE"),
        (expo, 8080, "ACTIVE"),
    ];
    assert_eq!(network_state(&env).await, state(&with_agent));

    // The listener on 443 goes away (a delta of the listeners).
    let mut later = inv.clone();
    later.listeners.retain(|l| l.port != 443);
    let d = InventoryDelta {
        listeners: Some(later.listeners.clone()),
        ..InventoryDelta::default()
    };
    env.ok(
        "/agent/report",
        with_cloud(delta("web-agent", 2, 1, d), "i-web"),
    )
    .await;
    let mut expect = state(&with_agent);
    expect.insert(("RecognizedPortWithListener".into(), 443), "CLOSED".into());
    expect.insert(("RecognizedPortNoListener".into(), 443), "ACTIVE".into());
    assert_eq!(network_state(&env).await, expect);

    // The security group stops admitting 8080: re-import closes its findings.
    env.ok("/network/import", without_rule(&snap, 8080)).await;
    expect.insert(
        ("UnrecognizedPortWithListener".into(), 8080),
        "CLOSED".into(),
    );
    expect.insert((expo.into(), 8080), "CLOSED".into());
    assert_eq!(network_state(&env).await, expect);

    // Aggregations see the type like any other.
    let agg = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "FINDING_TYPE", "aggregationRequest":
                   {"findingTypeAggregation": {"findingType": "NETWORK_REACHABILITY"}}}),
        )
        .await;
    let active = expect.values().filter(|s| *s == "ACTIVE").count();
    assert_eq!(
        agg["responses"][0]["findingTypeAggregation"]["severityCounts"]["all"],
        json!(active),
        "{agg}"
    );

    // The agent stops naming the instance: its findings fall back to NoAgent.
    env.ok("/agent/report", full("web-agent", 3, later)).await;
    let now = network_state(&env).await;
    assert_eq!(now[&("RecognizedPortNoAgent".to_owned(), 22)], "ACTIVE");
    assert_eq!(now[&("RecognizedPortNoListener".to_owned(), 22)], "CLOSED");
}

#[tokio::test]
async fn imports_are_authorized_and_validated() {
    let Some(snap) = snapshot() else { return };
    let env = Env::new(index()).await;
    let reader = put_user_policy(
        &env,
        "reader",
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "inspector2:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "inspector2:PutNetworkConfiguration", "Resource": "*"}]}),
    )
    .await;
    let e = env
        .raw(
            reader.clone(),
            "POST",
            "/network/import",
            snap.to_string().into_bytes(),
        )
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "AccessDeniedException"));
    let e = env
        .raw(reader, "POST", "/network/get", b"{}".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFoundException");
    let e = env.err("/network/import", json!({"DescribeVpcs": 7})).await;
    assert_eq!(e.code, "ValidationException");
    // A report naming an impossible instance id is refused.
    let bad = with_cloud(full("a1", 1, host_state("1.3.0", false, false)), "i-1");
    let mut bad = bad;
    bad["cloud"]["instanceId"] = json!("i/../x");
    assert_eq!(
        env.err("/agent/report", bad).await.code,
        "ValidationException"
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gzip_headers() -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
    h
}

#[tokio::test]
async fn gzip_reports_large_and_bombs() {
    let env = Env::new(index()).await;
    // A 5 MiB inventory: far above the listener's 1 MiB limit uncompressed.
    let mut inv = host_state("1.3.0", false, false);
    let lock = inv.lockfiles.first_mut().unwrap();
    // Each entry is about 90 bytes of JSON.
    for i in 0..60_000 {
        lock.packages
            .push(pkg(&format!("synthetic-package-{i:06}"), "1.0.0"));
    }
    let body = serde_json::to_vec(&full("big", 1, inv)).unwrap();
    assert!(body.len() > 5 << 20);
    let z = gzip(&body);
    assert!(z.len() < 1 << 20, "{} bytes compressed", z.len());
    let r = env
        .raw_with(
            Principal::root(ACCOUNT),
            "POST",
            "/agent/report",
            gzip_headers(),
            z,
        )
        .await
        .unwrap();
    assert_eq!(r["acknowledged"], 1);
    let cov = env.ok("/coverage/list", json!({})).await;
    assert!(cov.to_string().contains("\"big\""), "{cov}");

    // A bomb: 1,024 gzip members of 1 MiB of zeros each (1 GiB decoded, ~1 MB sent).
    let member = gzip(&vec![0u8; 1 << 20]);
    let bomb: Vec<u8> = member
        .iter()
        .copied()
        .cycle()
        .take(member.len() * 1024)
        .collect();
    assert!(bomb.len() < 2 << 20);
    let started = std::time::Instant::now();
    let e = env
        .raw_with(
            Principal::root(ACCOUNT),
            "POST",
            "/agent/report",
            gzip_headers(),
            bomb,
        )
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (413, "RequestEntityTooLarge"));
    // Decoding stopped at the 32 MiB cap instead of inflating the whole gigabyte.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let e = env
        .raw_with(
            Principal::root(ACCOUNT),
            "POST",
            "/agent/report",
            gzip_headers(),
            b"not gzip".to_vec(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, "ValidationException");
}

#[tokio::test]
async fn findings_reports_csv_and_json() {
    let env = Env::new(index()).await;
    env.ok("/agent/report", full("h1", 1, inventory("1.0.0")))
        .await;
    let dest = json!({"bucketName": "reports", "keyPrefix": "team/a",
                      "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/x"});
    let mut paths = Vec::new();
    for fmt in ["CSV", "JSON"] {
        let r = env
            .ok(
                "/reporting/create",
                json!({"reportFormat": fmt, "s3Destination": dest,
                       "filterCriteria": {"findingType": eq("PACKAGE_VULNERABILITY")}}),
            )
            .await;
        let id = r["reportId"].as_str().unwrap().to_owned();
        let st = env
            .ok("/reporting/status/get", json!({"reportId": id}))
            .await;
        assert_eq!(st["status"], "SUCCEEDED", "{st}");
        assert_eq!(st["destination"]["bucketName"], "reports");
        let ext = fmt.to_ascii_lowercase();
        let path = env
            .dir
            .path()
            .join(format!("inspector/reports/reports/team/a/{id}.{ext}"));
        paths.push(path);
        let c = env.ok("/reporting/cancel", json!({"reportId": id})).await;
        assert_eq!(c["reportId"], json!(id));
    }
    let csv = std::fs::read_to_string(&paths[0]).unwrap();
    let json_doc: Value = serde_json::from_slice(&std::fs::read(&paths[1]).unwrap()).unwrap();
    let n = json_doc["findings"].as_array().unwrap().len();
    assert!(n >= 2, "{json_doc}");
    assert!(
        json_doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["type"] == "PACKAGE_VULNERABILITY" && f.get("_portcullis").is_none())
    );
    assert_eq!(csv.lines().count(), n + 1);
    assert!(csv.starts_with("AWS Account Id,Severity,"));
    assert!(csv.contains("RUSTSEC-2099-0001"));
    // Nothing matches: FAILED with NO_FINDINGS_FOUND.
    let r = env
        .ok(
            "/reporting/create",
            json!({"reportFormat": "JSON", "s3Destination": dest,
                   "filterCriteria": {"vulnerabilityId": eq("CVE-0000-0000")}}),
        )
        .await;
    let st = env
        .ok("/reporting/status/get", json!({"reportId": r["reportId"]}))
        .await;
    assert_eq!(
        (st["status"].as_str(), st["errorCode"].as_str()),
        (Some("FAILED"), Some("NO_FINDINGS_FOUND"))
    );
    assert_eq!(
        env.err("/reporting/cancel", json!({"reportId": "nope"}))
            .await
            .code,
        "ResourceNotFoundException"
    );
    assert_eq!(
        env.err(
            "/reporting/create",
            json!({"reportFormat": "XML", "s3Destination": dest})
        )
        .await
        .code,
        "ValidationException"
    );
}

/// `[inspector] network_files` and `inspector network import`'s file: imported at start,
/// again when a file changes (polled), never when unchanged; a bad edit keeps the last one.
#[tokio::test]
async fn network_files_are_imported_at_start_and_when_they_change() {
    use portcullis_inspector_api::network_files::{NetworkSources, imported_path};
    let Some(snap) = snapshot() else { return };
    let env = Env::new(index()).await;
    let file = env.dir.path().join("net.json");
    std::fs::write(&file, serde_json::to_vec(&snap).unwrap()).unwrap();
    let sources = NetworkSources::new(vec![file.clone()], env.dir.path());
    let s = env
        .api
        .sync_network(&sources, ACCOUNT, REGION)
        .await
        .unwrap()
        .expect("imported at start");
    assert_eq!(s.instances, 3);
    let first = env.api.network_of(ACCOUNT).await.unwrap().unwrap();
    assert!(
        env.api
            .sync_network(&sources, ACCOUNT, REGION)
            .await
            .unwrap()
            .is_none(),
        "an unchanged file is not imported again"
    );
    assert_eq!(
        network_state(&env)
            .await
            .get(&("RecognizedPortNoAgent".into(), 22)),
        Some(&"ACTIVE".to_owned())
    );

    let watcher = env.api.spawn_network_watcher(
        sources.clone(),
        ACCOUNT.into(),
        REGION.into(),
        std::time::Duration::from_millis(50),
    );
    std::fs::write(&file, serde_json::to_vec(&without_rule(&snap, 22)).unwrap()).unwrap();
    let mut closed = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if network_state(&env)
            .await
            .get(&("RecognizedPortNoAgent".into(), 22))
            .map(String::as_str)
            == Some("CLOSED")
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "the edited file was imported by the watcher");
    let second = env.api.network_of(ACCOUNT).await.unwrap().unwrap();
    assert_ne!(first.sha256, second.sha256);

    // A bad edit is not imported; the last good description stays.
    std::fs::write(&file, b"{\"DescribeVpcs\": 7").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let kept = env.api.network_of(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(kept.sha256, second.sha256);

    // Fixed again, plus a description written by `inspector network import`: merged.
    std::fs::write(&file, serde_json::to_vec(&snap).unwrap()).unwrap();
    let extra = json!({"DescribeInstances": {"Reservations": [{"Instances": [
        {"InstanceId": "i-0123456789abcdef0", "VpcId": "vpc-9"}]}]}});
    let imported = imported_path(env.dir.path());
    std::fs::create_dir_all(imported.parent().unwrap()).unwrap();
    std::fs::write(&imported, serde_json::to_vec(&extra).unwrap()).unwrap();
    let mut merged = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let rec = env.api.network_of(ACCOUNT).await.unwrap().unwrap();
        if rec.instances.len() == 4 {
            merged = true;
            break;
        }
    }
    watcher.abort();
    assert!(merged, "configured and imported descriptions are merged");
}
