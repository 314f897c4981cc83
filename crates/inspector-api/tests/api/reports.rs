//! Agent reports: full and delta reports, conflicts, finding lifecycles, the advisory index
//! arriving later (in memory and through the watcher), a property test over report
//! sequences and the real RustSec corpus.

use super::*;

#[tokio::test]
async fn full_report_produces_package_and_check_findings() {
    let env = Env::new(index()).await;
    let r = env
        .ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    assert_eq!(r, json!({"acknowledged": 1}));
    let foo_finding = env.by_vuln("RUSTSEC-2099-0001").await;
    assert_eq!(foo_finding["type"], "PACKAGE_VULNERABILITY");
    assert_eq!(foo_finding["status"], "ACTIVE");
    assert_eq!(foo_finding["severity"], "CRITICAL");
    assert_eq!(foo_finding["inspectorScore"], 9.8);
    assert_eq!(foo_finding["awsAccountId"], ACCOUNT);
    assert_eq!(foo_finding["fixAvailable"], "YES");
    let arn = foo_finding["findingArn"].as_str().unwrap();
    assert!(
        arn.starts_with(&format!("arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/"))
            && arn.rsplit('/').next().unwrap().len() == 32,
        "{arn}"
    );
    let p = &foo_finding["packageVulnerabilityDetails"]["vulnerablePackages"][0];
    assert_eq!(
        (
            p["name"].as_str(),
            p["version"].as_str(),
            p["fixedInVersion"].as_str()
        ),
        (Some("foo"), Some("1.1.0"), Some("1.2.0"))
    );
    assert_eq!(p["packageManager"], "CARGO");
    assert_eq!(p["filePath"], "/srv/app/Cargo.lock");
    assert_eq!(
        foo_finding["packageVulnerabilityDetails"]["relatedVulnerabilities"],
        json!(["CVE-2099-1"])
    );
    assert_eq!(foo_finding["resources"][0]["type"], "AWS_EC2_INSTANCE");
    assert_eq!(foo_finding["resources"][0]["id"], "host-1");
    assert_eq!(
        foo_finding["resources"][0]["details"]["awsEc2Instance"]["platform"],
        "DEBIAN_12"
    );
    assert!(
        foo_finding.get("_portcullis").is_none(),
        "private members are not rendered"
    );
    // No severity in the advisory: UNTRIAGED.
    assert_eq!(
        env.by_vuln("RUSTSEC-2099-0002").await["severity"],
        "UNTRIAGED"
    );
    // The Debian advisory names the source package; the finding names the binary one.
    let ssl = env.by_vuln("DSA-9999-1").await;
    let p = &ssl["packageVulnerabilityDetails"]["vulnerablePackages"][0];
    assert_eq!(
        (p["name"].as_str(), p["packageManager"].as_str()),
        (Some("libssl3"), Some("OS"))
    );
    assert!(
        p["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:deb/debian/libssl3@")
    );
    // Exactly three package findings: `safe` is not affected, and the bash advisory is for
    // Debian 11, not this Debian 12 host.
    let pkgs = env
        .findings(json!({"findingType": eq("PACKAGE_VULNERABILITY")}))
        .await;
    assert_eq!(pkgs.len(), 3);
    // The failed SSH root-login check is a CODE_VULNERABILITY finding.
    let checks = env
        .findings(json!({"findingType": eq("CODE_VULNERABILITY")}))
        .await;
    let root = checks
        .iter()
        .find(|f| f["codeVulnerabilityDetails"]["detectorId"] == "PCS-SSH-ROOT-LOGIN")
        .unwrap_or_else(|| panic!("no root-login finding in {checks:?}"));
    assert_eq!(
        root["codeVulnerabilityDetails"]["filePath"]["filePath"],
        "/etc/ssh/sshd_config"
    );
    assert!(
        !checks
            .iter()
            .any(|f| f["codeVulnerabilityDetails"]["detectorId"] == "PCS-SSH-PASSWORD-AUTH")
    );
}

#[tokio::test]
async fn deltas_apply_on_the_acknowledged_base_else_409() {
    let env = Env::new(index()).await;
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    // A heartbeat (empty delta) on the right base.
    let r = env
        .ok(
            "/agent/report",
            delta("host-1", 2, 1, InventoryDelta::default()),
        )
        .await;
    assert_eq!(r["acknowledged"], 2);
    // A delta against an old base is refused; nothing changes.
    let new = inventory("1.2.0");
    let d = new.diff(&inventory("1.1.0"));
    let e = env
        .err("/agent/report", delta("host-1", 3, 1, d.clone()))
        .await;
    assert_eq!((e.status, e.code.as_str()), (409, "ConflictException"));
    assert_eq!(e.members["resourceId"], "host-1");
    assert!(e.message.contains("full report"), "{}", e.message);
    // A delta for an agent never seen is a conflict too.
    let e = env
        .err("/agent/report", delta("host-9", 2, 1, d.clone()))
        .await;
    assert_eq!(e.code, "ConflictException");
    assert_eq!(env.by_vuln("RUSTSEC-2099-0001").await["status"], "ACTIVE");
    // Bad JSON is a ValidationException and loses nothing.
    let e = env
        .raw(
            Principal::root(ACCOUNT),
            "POST",
            "/agent/report",
            b"{not json".to_vec(),
        )
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "ValidationException"));
    assert_eq!(e.members["reason"], "CANNOT_PARSE");
    let e = env.err("/agent/report", json!({"agentId": "x"})).await;
    assert_eq!(e.code, "ValidationException");
    let e = env
        .err("/agent/report", full("bad/agent", 1, Inventory::default()))
        .await;
    assert_eq!(e.code, "ValidationException");
    // The right base applies.
    let r = env.ok("/agent/report", delta("host-1", 3, 2, d)).await;
    assert_eq!(r["acknowledged"], 3);
    assert_eq!(env.by_vuln("RUSTSEC-2099-0001").await["status"], "CLOSED");
}

#[tokio::test]
async fn findings_close_on_upgrade_and_reopen_with_the_same_arn() {
    let env = Env::new(index()).await;
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    let before = env.by_vuln("RUSTSEC-2099-0001").await;
    // Another affected version: the same finding, updated in place.
    env.ok("/agent/report", full("host-1", 2, inventory("1.1.5")))
        .await;
    let moved = env.by_vuln("RUSTSEC-2099-0001").await;
    assert_eq!(moved["findingArn"], before["findingArn"]);
    assert_eq!(moved["status"], "ACTIVE");
    assert_eq!(moved["firstObservedAt"], before["firstObservedAt"]);
    assert_eq!(
        moved["packageVulnerabilityDetails"]["vulnerablePackages"][0]["version"],
        "1.1.5"
    );
    // Upgraded past the fix: CLOSED.
    env.ok("/agent/report", full("host-1", 3, inventory("1.2.0")))
        .await;
    let closed = env.by_vuln("RUSTSEC-2099-0001").await;
    assert_eq!(closed["findingArn"], before["findingArn"]);
    assert_eq!(closed["status"], "CLOSED");
    assert!(closed["updatedAt"].as_f64() >= moved["updatedAt"].as_f64());
    let active = env
        .findings(json!({"findingStatus": eq("ACTIVE"),
        "findingType": eq("PACKAGE_VULNERABILITY")}))
        .await;
    assert_eq!(active.len(), 2);
    // Removing the SSH server passes the SSH checks: those close too.
    let mut inv = inventory("1.2.0");
    inv.sshd = None;
    env.ok("/agent/report", full("host-1", 4, inv)).await;
    let root = env
        .findings(json!({"findingType": eq("CODE_VULNERABILITY")}))
        .await
        .into_iter()
        .find(|f| f["codeVulnerabilityDetails"]["detectorId"] == "PCS-SSH-ROOT-LOGIN")
        .unwrap();
    assert_eq!(root["status"], "CLOSED");
    // Downgrade again: reopened under the same ARN.
    env.ok("/agent/report", full("host-1", 5, inventory("1.0.0")))
        .await;
    let again = env.by_vuln("RUSTSEC-2099-0001").await;
    assert_eq!(again["findingArn"], before["findingArn"]);
    assert_eq!(again["status"], "ACTIVE");
}

#[tokio::test]
async fn without_an_index_coverage_says_so_and_findings_follow_the_index() {
    let env = Env::new(AdvisoryIndex::none()).await;
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    assert!(
        env.findings(json!({"findingType": eq("PACKAGE_VULNERABILITY")}))
            .await
            .is_empty()
    );
    let cov = env.ok("/coverage/list", json!({})).await;
    let r = &cov["coveredResources"][0];
    assert_eq!(r["resourceId"], "host-1");
    assert_eq!(r["resourceType"], "AWS_EC2_INSTANCE");
    assert_eq!(r["scanType"], "PACKAGE");
    assert_eq!(r["scanMode"], "EC2_INSPECTOR_AGENT_BASED");
    assert_eq!(
        r["scanStatus"],
        json!({"statusCode": "INACTIVE", "reason": "PENDING_INITIAL_SCAN"})
    );
    assert!(r["lastScannedAt"].as_f64().unwrap() > 1.7e9);
    // The index arrives: every host is re-evaluated.
    let loaded = env.api.clone().with_index(index());
    let svc = InspectorService(loaded.clone());
    let env = Env {
        api: loaded,
        svc,
        dir: env.dir,
    };
    env.api.reevaluate_all(2e9).await.unwrap();
    assert_eq!(
        env.findings(json!({"findingType": eq("PACKAGE_VULNERABILITY")}))
            .await
            .len(),
        3
    );
    let cov = env
        .ok(
            "/coverage/list",
            json!({"filterCriteria": {"scanStatusCode": eq("ACTIVE")}}),
        )
        .await;
    assert_eq!(
        cov["coveredResources"][0]["scanStatus"]["reason"],
        "SUCCESSFUL"
    );
    let none = env
        .ok(
            "/coverage/list",
            json!({"filterCriteria": {"scanStatusCode": eq("INACTIVE")}}),
        )
        .await;
    assert_eq!(none["coveredResources"], json!([]));
    let stats = env
        .ok(
            "/coverage/statistics/list",
            json!({"groupBy": "SCAN_STATUS_REASON"}),
        )
        .await;
    assert_eq!(stats["totalCounts"], 1);
    assert_eq!(
        stats["countsByGroup"],
        json!([{"groupKey": "SUCCESSFUL", "count": 1}])
    );
    // A heartbeat after the index changed is evaluated even though nothing changed.
    let _ = env.dir.path();
}

/// The real RustSec OSV export against a real 2020 Cargo.lock: exactly cargo-audit's two
/// vulnerabilities (RUSTSEC-2022-0006 thread_local, RUSTSEC-2022-0013 regex).
#[tokio::test]
async fn rustsec_corpus_against_ripgrep_2020() {
    let Some(root) = corpora() else { return };
    let dir = root.join("inspector/advisories/rustsec-osv/crates");
    let docs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    let (db, errs) = AdvisoryDb::load(docs.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    assert!(errs.is_empty(), "{:?}", errs.first());
    let lock = root.join("inspector/lockfiles/ripgrep-2020-11-23-a6d05475.Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    let packages =
        portcullis_inspector_core::lockfile::parse_lockfile(LockfileKind::CargoLock, &text)
            .unwrap();
    let env = Env::new(AdvisoryIndex::in_memory(db, "rustsec")).await;
    let inv = Inventory {
        lockfiles: vec![LockfileInventory {
            path: "/srv/ripgrep/Cargo.lock".into(),
            kind: LockfileKind::CargoLock,
            packages,
        }],
        ..Inventory::default()
    };
    env.ok("/agent/report", full("rg", 1, inv)).await;
    let mut got: Vec<String> = env
        .findings(json!({"findingType": eq("PACKAGE_VULNERABILITY")}))
        .await
        .iter()
        .map(|f| {
            let d = &f["packageVulnerabilityDetails"];
            format!(
                "{} {}@{}",
                d["vulnerabilityId"].as_str().unwrap(),
                d["vulnerablePackages"][0]["name"].as_str().unwrap(),
                d["vulnerablePackages"][0]["version"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "RUSTSEC-2022-0006 thread_local@1.0.1",
            "RUSTSEC-2022-0013 regex@1.4.2"
        ]
    );
    let regex = env.by_vuln("RUSTSEC-2022-0013").await;
    assert_eq!(regex["severity"], "HIGH");
    assert_eq!(regex["inspectorScore"], 7.5);
    assert_eq!(
        regex["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"],
        "1.5.5"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Any sequence of full and delta reports leaves exactly the findings the current
    /// inventory implies ACTIVE, the others CLOSED, each under one stable ARN.
    #[test]
    fn findings_follow_any_sequence_of_reports(
        steps in proptest::collection::vec(
            (0usize..4, proptest::bool::ANY, proptest::bool::ANY, proptest::bool::ANY), 1..6)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let env = Env::new(index()).await;
            let versions = ["1.0.0", "1.1.9", "1.2.0", "1.3.0"];
            let mut prev: Option<Inventory> = None;
            let mut arns: BTreeMap<String, String> = BTreeMap::new();
            for (seq, (v, with_bar, root, as_delta)) in steps.into_iter().enumerate() {
                let seq = seq as u64 + 1;
                let inv = host_state(versions[v], with_bar, root);
                let body = match (&prev, as_delta) {
                    (Some(old), true) => delta("h", seq, seq - 1, inv.diff(old)),
                    _ => full("h", seq, inv.clone()),
                };
                assert_eq!(env.ok("/agent/report", body).await["acknowledged"], seq);
                prev = Some(inv);
                let all = env.findings(json!({})).await;
                let active = |pred: &dyn Fn(&Value) -> bool| {
                    all.iter().any(|f| pred(f) && f["status"] == "ACTIVE")
                };
                let vuln = |id: &'static str| move |f: &Value| f["packageVulnerabilityDetails"]["vulnerabilityId"] == id;
                assert_eq!(active(&vuln("RUSTSEC-2099-0001")), v < 2, "foo {}", versions[v]);
                assert_eq!(active(&vuln("RUSTSEC-2099-0002")), with_bar);
                assert_eq!(
                    active(&|f: &Value| f["codeVulnerabilityDetails"]["detectorId"] == "PCS-SSH-ROOT-LOGIN"),
                    root
                );
                for f in &all {
                    let key = format!(
                        "{}{}",
                        f["packageVulnerabilityDetails"]["vulnerabilityId"],
                        f["codeVulnerabilityDetails"]["detectorId"]
                    );
                    let arn = f["findingArn"].as_str().unwrap().to_owned();
                    assert_eq!(arns.entry(key).or_insert_with(|| arn.clone()), &arn);
                    assert!(["ACTIVE", "CLOSED"].contains(&f["status"].as_str().unwrap()));
                }
            }
        });
    }
}

/// The server's own index file: written after a host reported, picked up by the watcher, and
/// the host re-evaluated without another report.
#[tokio::test]
async fn the_index_watcher_reloads_the_file_and_reevaluates_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = portcullis_store::open(&url).await.unwrap();
    let api = InspectorApi::new(store.clone(), Authorizer::new(Repo::new(store)), dir.path());
    let env = Env {
        svc: InspectorService(api.clone()),
        api,
        dir,
    };
    let watcher = env
        .api
        .spawn_index_watcher(std::time::Duration::from_millis(50));
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    let pkgs = json!({"findingType": eq("PACKAGE_VULNERABILITY")});
    assert!(env.findings(pkgs.clone()).await.is_empty());
    let (db, _) = AdvisoryDb::load(ADVISORIES.iter().map(|a| ("a.json", a.as_bytes())));
    let meta = portcullis_inspector_core::index::summarize(&db, Vec::new(), 1);
    let bytes = portcullis_inspector_core::index::encode(&db, &meta).unwrap();
    let db_dir = env.dir.path().join("inspector/db");
    std::fs::create_dir_all(&db_dir).unwrap();
    std::fs::write(db_dir.join("osv-index.bin"), bytes).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while env.findings(pkgs.clone()).await.len() != 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the index was not picked up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let cov = env.ok("/coverage/list", json!({})).await;
    assert_eq!(
        cov["coveredResources"][0]["scanStatus"]["reason"],
        "SUCCESSFUL"
    );
    watcher.abort();
}
