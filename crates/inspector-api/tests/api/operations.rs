//! Operations: filters and suppression, pagination and sorting, details, aggregations, SBOM
//! exports, tags and IAM decisions.

use super::*;

#[tokio::test]
async fn suppress_filters_suppress_and_none_filters_do_not() {
    let env = Env::new(index()).await;
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    let crit = json!({"vulnerabilityId": eq("RUSTSEC-2099-0002")});
    let saved = env
        .ok(
            "/filters/create",
            json!({"name": "saved", "action": "NONE", "filterCriteria": crit}),
        )
        .await;
    assert_eq!(env.by_vuln("RUSTSEC-2099-0002").await["status"], "ACTIVE");
    let sup = env
        .ok(
            "/filters/create",
            json!({"name": "quiet-bar", "action": "SUPPRESS", "filterCriteria": crit,
            "reason": "accepted risk", "tags": {"team": "a"}}),
        )
        .await;
    let arn = sup["arn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with(&format!(
        "arn:aws:inspector2:{REGION}:{ACCOUNT}:owner/{ACCOUNT}/filter/"
    )));
    assert_eq!(
        env.by_vuln("RUSTSEC-2099-0002").await["status"],
        "SUPPRESSED"
    );
    assert_eq!(env.by_vuln("RUSTSEC-2099-0001").await["status"], "ACTIVE");
    // Later reports keep it suppressed.
    env.ok("/agent/report", full("host-1", 2, inventory("1.1.1")))
        .await;
    assert_eq!(
        env.by_vuln("RUSTSEC-2099-0002").await["status"],
        "SUPPRESSED"
    );
    let e = env
        .err(
            "/filters/create",
            json!({"name": "quiet-bar", "action": "SUPPRESS", "filterCriteria": crit}),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "/filters/create",
            json!({"name": "x", "action": "DROP", "filterCriteria": crit}),
        )
        .await;
    assert_eq!(e.code, "ValidationException");
    assert_eq!(e.members["fields"][0]["name"], "action");
    // ListFilters, by action.
    let l = env.ok("/filters/list", json!({"action": "SUPPRESS"})).await;
    assert_eq!(l["filters"].as_array().unwrap().len(), 1);
    assert_eq!(l["filters"][0]["reason"], "accepted risk");
    assert_eq!(l["filters"][0]["ownerId"], ACCOUNT);
    assert_eq!(
        env.ok("/filters/list", json!({})).await["filters"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Turning it into NONE un-suppresses; back to SUPPRESS suppresses.
    env.ok(
        "/filters/update",
        json!({"filterArn": arn, "action": "NONE"}),
    )
    .await;
    assert_eq!(env.by_vuln("RUSTSEC-2099-0002").await["status"], "ACTIVE");
    env.ok(
        "/filters/update",
        json!({"filterArn": arn, "action": "SUPPRESS"}),
    )
    .await;
    assert_eq!(
        env.by_vuln("RUSTSEC-2099-0002").await["status"],
        "SUPPRESSED"
    );
    // Tags on the filter.
    let tags_uri = format!("/tags/{}", arn.replace(':', "%3A").replace('/', "%2F"));
    env.ok(&tags_uri, json!({"tags": {"owner": "sec"}})).await;
    let t = env
        .raw(Principal::root(ACCOUNT), "GET", &tags_uri, Vec::new())
        .await
        .unwrap();
    assert_eq!(t["tags"], json!({"owner": "sec", "team": "a"}));
    env.raw(
        Principal::root(ACCOUNT),
        "DELETE",
        &format!("{tags_uri}?tagKeys=team"),
        Vec::new(),
    )
    .await
    .unwrap();
    let t = env
        .raw(Principal::root(ACCOUNT), "GET", &tags_uri, Vec::new())
        .await
        .unwrap();
    assert_eq!(t["tags"], json!({"owner": "sec"}));
    // Deleting it makes the finding ACTIVE again; a second delete is ResourceNotFound.
    env.ok("/filters/delete", json!({"arn": arn})).await;
    assert_eq!(env.by_vuln("RUSTSEC-2099-0002").await["status"], "ACTIVE");
    let e = env.err("/filters/delete", json!({"arn": arn})).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "ResourceNotFoundException")
    );
    let e = env
        .raw(Principal::root(ACCOUNT), "GET", &tags_uri, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFoundException");
    env.ok("/filters/delete", json!({"arn": saved["arn"]}))
        .await;
}

#[tokio::test]
async fn pagination_sorting_and_details() {
    let env = Env::new(index()).await;
    for i in 0..4 {
        env.ok(
            "/agent/report",
            full(&format!("host-{i}"), 1, inventory("1.1.0")),
        )
        .await;
    }
    let all = env
        .findings(json!({"findingType": eq("PACKAGE_VULNERABILITY")}))
        .await;
    assert_eq!(all.len(), 12);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"maxResults": 5, "filterCriteria": {"findingType": eq("PACKAGE_VULNERABILITY")},
            "sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"}});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let r = env.ok("/findings/list", body).await;
        pages += 1;
        for f in r["findings"].as_array().unwrap() {
            seen.push((
                f["severity"].as_str().unwrap().to_owned(),
                f["findingArn"].as_str().unwrap().to_owned(),
            ));
        }
        match r["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 12);
    assert_eq!(seen[0].0, "CRITICAL");
    assert_eq!(seen[11].0, "UNTRIAGED");
    let mut arns: Vec<&String> = seen.iter().map(|s| &s.1).collect();
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 12, "pages do not overlap");
    let e = env.err("/findings/list", json!({"maxResults": 0})).await;
    assert_eq!(e.code, "ValidationException");
    let e = env
        .err("/findings/list", json!({"nextToken": "bogus"}))
        .await;
    assert_eq!(e.code, "ValidationException");
    // BatchGetFindingDetails: found, unknown, malformed.
    let foo_finding = env.by_vuln_on("RUSTSEC-2099-0001", "host-0").await;
    let unknown = format!(
        "arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{}",
        "0".repeat(32)
    );
    let d = env
        .ok(
            "/findings/details/batch/get",
            json!({"findingArns": [foo_finding["findingArn"], unknown, "nope"]}),
        )
        .await;
    assert_eq!(
        d["findingDetails"][0]["findingArn"],
        foo_finding["findingArn"]
    );
    assert_eq!(
        d["findingDetails"][0]["referenceUrls"],
        json!(["https://example.invalid/foo"])
    );
    assert_eq!(d["errors"][0]["errorCode"], "FINDING_DETAILS_NOT_FOUND");
    assert_eq!(d["errors"][1]["errorCode"], "INVALID_INPUT");
    let e = env
        .err("/findings/details/batch/get", json!({"findingArns": []}))
        .await;
    assert_eq!(e.code, "ValidationException");
}

#[tokio::test]
async fn aggregations_count_active_findings() {
    let env = Env::new(index()).await;
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    env.ok("/agent/report", full("host-2", 1, inventory("1.2.0")))
        .await;
    let pkg_total = |r: &Value, name: &str| -> u64 {
        r["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["packageAggregation"]["packageName"] == name)
            .map(|x| {
                x["packageAggregation"]["severityCounts"]["all"]
                    .as_u64()
                    .unwrap()
            })
            .unwrap_or(0)
    };
    let r = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "PACKAGE"}),
        )
        .await;
    assert_eq!(r["aggregationType"], "PACKAGE");
    assert_eq!(pkg_total(&r, "foo"), 1);
    assert_eq!(pkg_total(&r, "bar"), 2);
    assert_eq!(pkg_total(&r, "libssl3"), 2);
    let r = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "PACKAGE",
            "aggregationRequest": {"packageAggregation": {"packageNames": eq("foo")}}}),
        )
        .await;
    assert_eq!(r["responses"].as_array().unwrap().len(), 1);
    let r = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "ACCOUNT"}),
        )
        .await;
    let a = &r["responses"][0]["accountAggregation"];
    assert_eq!(a["accountId"], ACCOUNT);
    let checks = env
        .findings(json!({"findingType": eq("CODE_VULNERABILITY"), "findingStatus": eq("ACTIVE")}))
        .await;
    assert_eq!(
        a["severityCounts"]["all"].as_u64().unwrap(),
        5 + checks.len() as u64
    );
    assert_eq!(a["severityCounts"]["critical"], 1);
    let r = env
        .ok("/findings/aggregation/list", json!({"aggregationType": "FINDING_TYPE",
            "aggregationRequest": {"findingTypeAggregation": {"findingType": "PACKAGE_VULNERABILITY"}}}))
        .await;
    assert_eq!(
        r["responses"][0]["findingTypeAggregation"]["severityCounts"]["all"],
        5
    );
    let r = env
        .ok("/findings/aggregation/list", json!({"aggregationType": "AWS_EC2_INSTANCE",
            "aggregationRequest": {"ec2InstanceAggregation": {"sortBy": "CRITICAL", "sortOrder": "DESC"}}}))
        .await;
    let first = &r["responses"][0]["ec2InstanceAggregation"];
    assert_eq!(first["instanceId"], "host-1");
    assert_eq!(first["operatingSystem"], "DEBIAN_12");
    assert_eq!(r["responses"].as_array().unwrap().len(), 2);
    let r = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "TITLE",
            "aggregationRequest": {"titleAggregation": {"vulnerabilityIds": eq("DSA-9999-1")}}}),
        )
        .await;
    let t = &r["responses"][0]["titleAggregation"];
    assert_eq!(t["title"], "DSA-9999-1 - libssl3");
    assert_eq!(t["severityCounts"]["all"], 2);
    let r = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "AWS_LAMBDA_FUNCTION"}),
        )
        .await;
    assert_eq!(r["responses"], json!([]));
    let e = env
        .err(
            "/findings/aggregation/list",
            json!({"aggregationType": "NOPE"}),
        )
        .await;
    assert_eq!(e.code, "ValidationException");
    let r = env
        .ok(
            "/findings/aggregation/list",
            json!({"aggregationType": "PACKAGE", "maxResults": 1}),
        )
        .await;
    assert_eq!(r["responses"].as_array().unwrap().len(), 1);
    assert!(r["nextToken"].is_string());
}

#[tokio::test]
async fn sbom_exports_write_cyclonedx_and_spdx_under_the_data_dir() {
    let env = Env::new(index()).await;
    env.ok("/agent/report", full("host-1", 1, inventory("1.1.0")))
        .await;
    env.ok("/agent/report", full("host-2", 1, inventory("1.2.0")))
        .await;
    let dest = json!({"bucketName": "sboms", "keyPrefix": "fleet/daily", "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/x"});
    let r = env
        .ok("/sbomexport/create", json!({"reportFormat": "CYCLONEDX_1_4", "s3Destination": dest,
            "resourceFilterCriteria": {"resourceId": [{"comparison": "EQUALS", "value": "host-1"}]}}))
        .await;
    let id = r["reportId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    let g = env.ok("/sbomexport/get", json!({"reportId": id})).await;
    assert_eq!(g["status"], "SUCCEEDED");
    assert_eq!(g["format"], "CYCLONEDX_1_4");
    let dir: PathBuf = env
        .dir
        .path()
        .join("inspector/exports/sboms/fleet/daily")
        .join(&id);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 1, "only host-1 matched: {files:?}");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("host-1.cyclonedx.json")).unwrap()).unwrap();
    assert_eq!(
        (doc["bomFormat"].as_str(), doc["specVersion"].as_str()),
        (Some("CycloneDX"), Some("1.4"))
    );
    let names: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["libssl3", "bash", "foo", "bar", "safe"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let v = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(v.len(), 3);
    let foo_finding = v.iter().find(|x| x["id"] == "RUSTSEC-2099-0001").unwrap();
    assert_eq!(
        foo_finding["affects"][0]["ref"],
        "pkg:cargo/foo@1.1.0#/srv/app/Cargo.lock"
    );
    assert_eq!(foo_finding["ratings"][0]["severity"], "critical");

    let r = env
        .ok(
            "/sbomexport/create",
            json!({"reportFormat": "SPDX_2_3", "s3Destination": dest}),
        )
        .await;
    let id = r["reportId"].as_str().unwrap().to_owned();
    let dir = env
        .dir
        .path()
        .join("inspector/exports/sboms/fleet/daily")
        .join(&id);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("host-2.spdx.json")).unwrap()).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        6,
        "the host plus 5 packages"
    );
    assert_eq!(doc["relationships"].as_array().unwrap().len(), 6);
    assert!(dir.join("host-1.spdx.json").exists());
    // Nothing matches: FAILED with NO_FINDINGS_FOUND.
    let r = env
        .ok("/sbomexport/create", json!({"reportFormat": "SPDX_2_3", "s3Destination": dest,
            "resourceFilterCriteria": {"resourceId": [{"comparison": "EQUALS", "value": "ghost"}]}}))
        .await;
    let g = env
        .ok("/sbomexport/get", json!({"reportId": r["reportId"]}))
        .await;
    assert_eq!(
        (g["status"].as_str(), g["errorCode"].as_str()),
        (Some("FAILED"), Some("NO_FINDINGS_FOUND"))
    );
    // Escaping the exports directory is refused.
    let bad = json!({"bucketName": "sboms", "keyPrefix": "../../etc", "kmsKeyArn": "k"});
    let e = env
        .err(
            "/sbomexport/create",
            json!({"reportFormat": "SPDX_2_3", "s3Destination": bad}),
        )
        .await;
    assert_eq!(e.code, "ValidationException");
    let e = env
        .err(
            "/sbomexport/get",
            json!({"reportId": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_eq!(e.code, "ResourceNotFoundException");
}

#[tokio::test]
async fn iam_allows_and_denies_agents_and_readers() {
    let env = Env::new(index()).await;
    let report = full("host-1", 1, inventory("1.1.0"))
        .to_string()
        .into_bytes();
    // No policy: denied, and nothing is stored.
    let nobody = Principal::user(ACCOUNT, "nobody", "AIDANOBODY");
    let e = env
        .raw(nobody, "POST", "/agent/report", report.clone())
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "AccessDeniedException"));
    assert!(
        e.message.contains("inspector2:PutInventory"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(&format!(
            "arn:aws:inspector2:{REGION}:{ACCOUNT}:agent/host-1"
        )),
        "{}",
        e.message
    );
    assert!(env.findings(json!({})).await.is_empty());
    // An agent allowed to report for its own id only.
    let agent = put_user_policy(
        &env,
        "agent1",
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "inspector2:PutInventory",
         "Resource": format!("arn:aws:inspector2:*:{ACCOUNT}:agent/host-1")}]}),
    )
    .await;
    let r = env
        .raw(agent.clone(), "POST", "/agent/report", report)
        .await
        .unwrap();
    assert_eq!(r["acknowledged"], 1);
    let other = full("host-2", 1, inventory("1.1.0"))
        .to_string()
        .into_bytes();
    let e = env
        .raw(agent.clone(), "POST", "/agent/report", other)
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    // The agent may not read findings.
    let e = env
        .raw(agent, "POST", "/findings/list", b"{}".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    // A reader with an explicit deny on filters.
    let reader = put_user_policy(
        &env,
        "reader",
        json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "inspector2:List*", "Resource": "*"},
        {"Effect": "Deny", "Action": "inspector2:ListFilters", "Resource": "*"}]}),
    )
    .await;
    let r = env
        .raw(reader.clone(), "POST", "/findings/list", b"{}".to_vec())
        .await
        .unwrap();
    assert!(!r["findings"].as_array().unwrap().is_empty());
    let e = env
        .raw(reader.clone(), "POST", "/filters/list", b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(e.message.contains("explicit deny"), "{}", e.message);
    let e = env
        .raw(
            reader,
            "POST",
            "/filters/create",
            json!({"name": "n", "action": "NONE",
            "filterCriteria": {"severity": eq("LOW")}})
            .to_string()
            .into_bytes(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    // Unknown operations.
    let e = env.err("/nothing", json!({})).await;
    assert_eq!(e.code, "ValidationException");
}
