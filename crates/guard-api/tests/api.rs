//! The GuardDuty service end to end through [`GuardService::call`] against a real SQLite store:
//! detectors, criteria matching, sorting and pagination, statistics, archive filters applied on
//! creation and on ingest, aggregation of repeated findings, lists, tags and authorization.

use portcullis_guard_api::{GuardApi, GuardService};
use portcullis_http::auth::{Caller, CredentialSource};
use portcullis_http::{ApiRequest, AwsService};
use portcullis_iam::policy::Principal;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

struct Env {
    api: GuardApi,
    svc: GuardService,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Failure {
    status: u16,
    code: String,
    message: String,
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let api = GuardApi::new(store.clone(), Authorizer::new(Repo::new(store)));
        Env {
            svc: GuardService(api.clone()),
            api,
            _dir: dir,
        }
    }

    async fn call_as(
        &self,
        principal: Principal,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), Failure> {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        let req = ApiRequest {
            request_id: "req-1".into(),
            method: method.parse().unwrap(),
            uri: uri.parse().unwrap(),
            headers,
            body: body.map(|b| b.to_string()).unwrap_or_default().into(),
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
        let out = self.svc.call(req).await;
        match out.result {
            Ok(r) => {
                let v = if r.body.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&r.body).unwrap()
                };
                Ok((r.status.as_u16(), v))
            }
            Err(e) => Err(Failure {
                status: e.status.as_u16(),
                code: e.code,
                message: e.message,
            }),
        }
    }

    async fn ok(&self, method: &str, uri: &str, body: Option<Value>) -> Value {
        match self
            .call_as(Principal::root(ACCOUNT), method, uri, body)
            .await
        {
            Ok((_, v)) => v,
            Err(e) => panic!("{method} {uri} failed: {e:?}"),
        }
    }

    async fn err(&self, method: &str, uri: &str, body: Option<Value>) -> Failure {
        match self
            .call_as(Principal::root(ACCOUNT), method, uri, body)
            .await
        {
            Ok((_, v)) => panic!("{method} {uri} succeeded: {v}"),
            Err(e) => e,
        }
    }

    async fn detector(&self) -> String {
        let r = self
            .ok("POST", "/detector", Some(json!({"enable": true})))
            .await;
        r["detectorId"].as_str().unwrap().to_owned()
    }

    async fn list(&self, det: &str, body: Value) -> Vec<String> {
        let r = self
            .ok("POST", &format!("/detector/{det}/findings"), Some(body))
            .await;
        r["findingIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }
}

fn finding(id: &str, ty: &str, severity: f64, instance: &str, updated: &str) -> Value {
    json!({"id": id, "type": ty, "severity": severity, "accountId": ACCOUNT, "region": REGION,
           "createdAt": updated, "updatedAt": updated, "title": "t", "description": "d",
           "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": instance,
               "networkInterfaces": [{"privateIpAddress": "10.0.0.5"}]}},
           "service": {"action": {"actionType": "NETWORK_CONNECTION"}, "resourceRole": "TARGET", "count": 1,
               "eventFirstSeen": updated, "eventLastSeen": updated, "additionalInfo": {"sourceLocations": ["f:1"]}}})
}

async fn seeded() -> (Env, String) {
    let env = Env::new().await;
    let det = env.detector().await;
    let docs = vec![
        finding(
            "a1",
            "Recon:EC2/Portscan",
            2.0,
            "i-1",
            "2024-01-01T00:00:00.000Z",
        ),
        finding(
            "a2",
            "UnauthorizedAccess:EC2/SSHBruteForce",
            2.0,
            "i-2",
            "2024-01-02T00:00:00.000Z",
        ),
        finding(
            "a3",
            "Backdoor:EC2/C&CActivity.B!DNS",
            8.0,
            "i-1",
            "2024-01-03T00:00:00.000Z",
        ),
        finding(
            "a4",
            "Recon:EC2/PortProbeUnprotectedPort",
            5.0,
            "i-3",
            "2024-01-04T00:00:00.000Z",
        ),
        finding(
            "a5",
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            8.0,
            "i-2",
            "2024-01-05T00:00:00.000Z",
        ),
    ];
    let r = env.api.ingest_findings(&det, docs).await.unwrap();
    assert_eq!(r.created, 5);
    (env, det)
}

#[tokio::test]
async fn detector_lifecycle() {
    let env = Env::new().await;
    let det = env.detector().await;
    assert_eq!(det.len(), 32);
    let e = env
        .err("POST", "/detector", Some(json!({"enable": true})))
        .await;
    assert_eq!((e.status, e.code.as_str()), (400, "BadRequestException"));
    assert!(e.message.contains("already exists"), "{}", e.message);
    let got = env.ok("GET", &format!("/detector/{det}"), None).await;
    assert_eq!(got["status"], "ENABLED");
    assert_eq!(got["findingPublishingFrequency"], "SIX_HOURS");
    assert_eq!(got["dataSources"]["flowLogs"]["status"], "ENABLED");
    env.ok(
        "POST",
        &format!("/detector/{det}"),
        Some(
            json!({"enable": false, "findingPublishingFrequency": "FIFTEEN_MINUTES",
        "features": [{"name": "EKS_AUDIT_LOGS", "status": "ENABLED"}]}),
        ),
    )
    .await;
    let got = env.ok("GET", &format!("/detector/{det}"), None).await;
    assert_eq!(got["status"], "DISABLED");
    assert_eq!(got["findingPublishingFrequency"], "FIFTEEN_MINUTES");
    let eks = got["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "EKS_AUDIT_LOGS")
        .unwrap()
        .clone();
    assert_eq!(eks["status"], "ENABLED");
    let e = env
        .err(
            "POST",
            &format!("/detector/{det}"),
            Some(json!({"findingPublishingFrequency": "WEEKLY"})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env.err("POST", &format!("/detector/{det}"), Some(json!({"features": [
        {"name": "EKS_RUNTIME_MONITORING", "status": "ENABLED"}, {"name": "RUNTIME_MONITORING", "status": "ENABLED"}]}))).await;
    assert_eq!(e.code, "BadRequestException");
    let list = env.ok("GET", "/detector", None).await;
    assert_eq!(list["detectorIds"], json!([det]));
    env.ok("DELETE", &format!("/detector/{det}"), None).await;
    let e = env.err("GET", &format!("/detector/{det}"), None).await;
    assert!(e.message.contains("not owned"), "{}", e.message);
    assert_eq!(
        env.ok("GET", "/detector", None).await["detectorIds"],
        json!([])
    );
    // A new one can be made after the delete.
    let again = env.detector().await;
    assert_ne!(again, det);
}

#[tokio::test]
async fn criteria_sorting_and_pagination() {
    let (env, det) = seeded().await;
    let all = env.list(&det, json!({})).await;
    assert_eq!(all, vec!["a1", "a2", "a3", "a4", "a5"]);
    let high = env
        .list(
            &det,
            json!({"findingCriteria": {"criterion": {"severity": {"gte": 7}}}}),
        )
        .await;
    assert_eq!(high, vec!["a3", "a5"]);
    let eq = env.list(&det, json!({"findingCriteria": {"criterion": {"type": {"equals": ["Recon:EC2/Portscan", "Recon:EC2/PortProbeUnprotectedPort"]}}}})).await;
    assert_eq!(eq, vec!["a1", "a4"]);
    let inst = env
        .list(
            &det,
            json!({"findingCriteria": {"criterion": {
        "resource.instanceDetails.instanceId": {"equals": ["i-1"]}, "severity": {"lessThan": 5}}}}),
        )
        .await;
    assert_eq!(inst, vec!["a1"]);
    let ms = 1_704_153_600_000i64; // 2024-01-02T00:00:00Z
    let after = env
        .list(
            &det,
            json!({"findingCriteria": {"criterion": {"updatedAt": {"greaterThan": ms}}}}),
        )
        .await;
    assert_eq!(after, vec!["a3", "a4", "a5"]);
    let not = env.list(&det, json!({"findingCriteria": {"criterion": {"resource.resourceType": {"notEquals": ["Instance"]}}}})).await;
    assert!(not.is_empty());
    let sorted = env
        .list(
            &det,
            json!({"sortCriteria": {"attributeName": "updatedAt", "orderBy": "DESC"}}),
        )
        .await;
    assert_eq!(sorted, vec!["a5", "a4", "a3", "a2", "a1"]);
    let by_sev = env
        .list(
            &det,
            json!({"sortCriteria": {"attributeName": "severity", "orderBy": "DESC"}}),
        )
        .await;
    assert_eq!(by_sev, vec!["a3", "a5", "a4", "a1", "a2"]);
    // Pagination walks everything exactly once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"maxResults": 2, "sortCriteria": {"attributeName": "updatedAt", "orderBy": "ASC"}});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let r = env
            .ok("POST", &format!("/detector/{det}/findings"), Some(body))
            .await;
        let page = r["findingIds"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|v| v.as_str().unwrap().to_owned()));
        match r.get("nextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["a1", "a2", "a3", "a4", "a5"]);
    let e = env
        .err(
            "POST",
            &format!("/detector/{det}/findings"),
            Some(json!({"maxResults": 51})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &format!("/detector/{det}/findings"),
            Some(json!({"nextToken": "garbage"})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &format!("/detector/{det}/findings"),
            Some(json!({"findingCriteria": {"criterion": {"type": {"like": ["x"]}}}})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    // GetFindings renders additionalInfo as the model's {value, type}.
    let got = env
        .ok(
            "POST",
            &format!("/detector/{det}/findings/get"),
            Some(json!({"findingIds": ["a5", "zz", "a1"],
        "sortCriteria": {"attributeName": "severity", "orderBy": "ASC"}})),
        )
        .await;
    let fs = got["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 2);
    assert_eq!(fs[0]["id"], "a1");
    assert_eq!(
        fs[1]["arn"],
        format!("arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{det}/finding/a5")
    );
    assert_eq!(fs[0]["service"]["additionalInfo"]["type"], "default");
    assert_eq!(fs[0]["service"]["detectorId"], det.as_str());
    assert!(fs[0].get("_portcullis").is_none());
}

#[tokio::test]
async fn statistics_count_and_group() {
    let (env, det) = seeded().await;
    let uri = format!("/detector/{det}/findings/statistics");
    let s = env
        .ok(
            "POST",
            &uri,
            Some(json!({"findingStatisticTypes": ["COUNT_BY_SEVERITY"]})),
        )
        .await;
    assert_eq!(
        s["findingStatistics"]["countBySeverity"],
        json!({"2.0": 2, "5.0": 1, "8.0": 2})
    );
    let s = env
        .ok(
            "POST",
            &uri,
            Some(json!({"findingStatisticTypes": ["COUNT_BY_SEVERITY"],
        "findingCriteria": {"criterion": {"severity": {"gte": 5}}}})),
        )
        .await;
    assert_eq!(
        s["findingStatistics"]["countBySeverity"],
        json!({"5.0": 1, "8.0": 2})
    );
    let s = env
        .ok(
            "POST",
            &uri,
            Some(json!({"groupBy": "RESOURCE", "orderBy": "DESC"})),
        )
        .await;
    let rows = s["findingStatistics"]["groupedByResource"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["totalFindings"], 2);
    assert_eq!(rows[2]["resourceId"], "i-3");
    assert_eq!(rows[2]["resourceType"], "Instance");
    let s = env
        .ok(
            "POST",
            &uri,
            Some(json!({"groupBy": "FINDING_TYPE", "maxResults": 2})),
        )
        .await;
    assert_eq!(
        s["findingStatistics"]["groupedByFindingType"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(s["nextToken"].is_string());
    let s = env
        .ok(
            "POST",
            &uri,
            Some(json!({"groupBy": "SEVERITY", "orderBy": "ASC"})),
        )
        .await;
    let rows = s["findingStatistics"]["groupedBySeverity"]
        .as_array()
        .unwrap();
    assert_eq!(rows[0]["severity"], 5.0);
    assert_eq!(rows[0]["totalFindings"], 1);
    let s = env.ok("POST", &uri, Some(json!({"groupBy": "DATE"}))).await;
    assert_eq!(
        s["findingStatistics"]["groupedByDate"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let e = env.err("POST", &uri, Some(json!({}))).await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &uri,
            Some(json!({"groupBy": "SEVERITY", "findingStatisticTypes": ["COUNT_BY_SEVERITY"]})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
}

#[tokio::test]
async fn archive_unarchive_and_aggregation() {
    let (env, det) = seeded().await;
    let active =
        json!({"findingCriteria": {"criterion": {"service.archived": {"equals": ["false"]}}}});
    let archived =
        json!({"findingCriteria": {"criterion": {"service.archived": {"equals": ["true"]}}}});
    env.ok(
        "POST",
        &format!("/detector/{det}/findings/archive"),
        Some(json!({"findingIds": ["a1", "a2"]})),
    )
    .await;
    assert_eq!(env.list(&det, archived.clone()).await, vec!["a1", "a2"]);
    assert_eq!(env.list(&det, active.clone()).await, vec!["a3", "a4", "a5"]);
    env.ok(
        "POST",
        &format!("/detector/{det}/findings/unarchive"),
        Some(json!({"findingIds": ["a2"]})),
    )
    .await;
    assert_eq!(env.list(&det, archived.clone()).await, vec!["a1"]);
    // A new occurrence of a manually archived finding brings it back, with the count added.
    let r = env
        .api
        .ingest_findings(
            &det,
            vec![finding(
                "a1",
                "Recon:EC2/Portscan",
                2.0,
                "i-1",
                "2024-02-01T00:00:00.000Z",
            )],
        )
        .await
        .unwrap();
    assert_eq!((r.created, r.updated), (0, 1));
    assert!(env.list(&det, archived).await.is_empty());
    let got = env
        .ok(
            "POST",
            &format!("/detector/{det}/findings/get"),
            Some(json!({"findingIds": ["a1"]})),
        )
        .await;
    let f = &got["findings"][0];
    assert_eq!(f["service"]["count"], 2);
    assert_eq!(f["updatedAt"], "2024-02-01T00:00:00.000Z");
    assert_eq!(f["createdAt"], "2024-01-01T00:00:00.000Z");
    assert_eq!(f["service"]["eventLastSeen"], "2024-02-01T00:00:00.000Z");
    // Feedback is stored.
    env.ok(
        "POST",
        &format!("/detector/{det}/findings/feedback"),
        Some(json!({"findingIds": ["a1"], "feedback": "NOT_USEFUL", "comments": "scanner"})),
    )
    .await;
    let got = env
        .ok(
            "POST",
            &format!("/detector/{det}/findings/get"),
            Some(json!({"findingIds": ["a1"]})),
        )
        .await;
    assert_eq!(got["findings"][0]["service"]["userFeedback"], "NOT_USEFUL");
    let e = env
        .err(
            "POST",
            &format!("/detector/{det}/findings/feedback"),
            Some(json!({"findingIds": ["a1"], "feedback": "MEH"})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &format!("/detector/{det}/findings/archive"),
            Some(json!({"findingIds": []})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
}

#[tokio::test]
async fn archive_filters_suppress_existing_and_new_findings() {
    let (env, det) = seeded().await;
    let fu = format!("/detector/{det}/filter");
    env.ok("POST", &fu, Some(json!({"name": "scanner-noise", "action": "ARCHIVE", "rank": 1, "description": "known scanner",
        "findingCriteria": {"criterion": {"type": {"eq": ["Recon:EC2/Portscan"]}}}}))).await;
    env.ok(
        "POST",
        &fu,
        Some(json!({"name": "watch", "findingCriteria": {"criterion": {"severity": {"gte": 8}}}})),
    )
    .await;
    let archived =
        json!({"findingCriteria": {"criterion": {"service.archived": {"equals": ["true"]}}}});
    // Saved: existing matches archived; the NOOP filter changes nothing.
    assert_eq!(env.list(&det, archived.clone()).await, vec!["a1"]);
    // On ingest: a new matching finding arrives archived.
    let r = env
        .api
        .ingest_findings(
            &det,
            vec![finding(
                "b1",
                "Recon:EC2/Portscan",
                2.0,
                "i-9",
                "2024-03-01T00:00:00.000Z",
            )],
        )
        .await
        .unwrap();
    assert_eq!((r.created, r.suppressed), (1, 1));
    assert_eq!(env.list(&det, archived.clone()).await, vec!["a1", "b1"]);
    // A later occurrence of a suppressed finding stays archived.
    env.api
        .ingest_findings(
            &det,
            vec![finding(
                "b1",
                "Recon:EC2/Portscan",
                2.0,
                "i-9",
                "2024-03-02T00:00:00.000Z",
            )],
        )
        .await
        .unwrap();
    assert_eq!(env.list(&det, archived.clone()).await, vec!["a1", "b1"]);
    // Get / list / update / delete.
    let f = env.ok("GET", &format!("{fu}/scanner-noise"), None).await;
    assert_eq!(f["action"], "ARCHIVE");
    assert_eq!(f["rank"], 1);
    assert_eq!(f["description"], "known scanner");
    assert_eq!(
        f["findingCriteria"]["criterion"]["type"]["eq"],
        json!(["Recon:EC2/Portscan"])
    );
    let w = env.ok("GET", &format!("{fu}/watch"), None).await;
    assert_eq!(
        (w["action"].as_str(), w["rank"].as_i64()),
        (Some("NOOP"), Some(2))
    );
    assert_eq!(
        env.ok("GET", &fu, None).await["filterNames"],
        json!(["scanner-noise", "watch"])
    );
    let e = env.err("POST", &fu, Some(json!({"name": "watch", "findingCriteria": {"criterion": {"severity": {"gte": 1}}}}))).await;
    assert!(e.message.contains("same name"), "{}", e.message);
    let e = env
        .err(
            "POST",
            &fu,
            Some(json!({"name": "x", "findingCriteria": {"criterion": {"severity": {"gte": 1}}}})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &fu,
            Some(json!({"name": "nocrit", "findingCriteria": {"criterion": {}}})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    // Turning "watch" into a suppression rule archives its matches.
    env.ok(
        "POST",
        &format!("{fu}/watch"),
        Some(json!({"action": "ARCHIVE"})),
    )
    .await;
    assert_eq!(env.list(&det, archived).await, vec!["a1", "a3", "a5", "b1"]);
    assert_eq!(
        env.ok("GET", &format!("{fu}/watch"), None).await["version"],
        2
    );
    env.ok("DELETE", &format!("{fu}/watch"), None).await;
    let e = env.err("GET", &format!("{fu}/watch"), None).await;
    assert_eq!(e.code, "BadRequestException");
    let page = env.ok("GET", &format!("{fu}?maxResults=1"), None).await;
    assert_eq!(page["filterNames"], json!(["scanner-noise"]));
}

#[tokio::test]
async fn sample_findings() {
    let env = Env::new().await;
    let det = env.detector().await;
    let u = format!("/detector/{det}/findings/create");
    env.ok(
        "POST",
        &u,
        Some(json!({"findingTypes": ["Recon:EC2/Portscan", "Policy:IAMUser/RootCredentialUsage"]})),
    )
    .await;
    let ids = env.list(&det, json!({})).await;
    assert_eq!(ids.len(), 2);
    // Repeating aggregates into the same samples.
    env.ok(
        "POST",
        &u,
        Some(json!({"findingTypes": ["Recon:EC2/Portscan"]})),
    )
    .await;
    let ids2 = env
        .list(
            &det,
            json!({"findingCriteria": {"criterion": {"type": {"equals": ["Recon:EC2/Portscan"]}}}}),
        )
        .await;
    assert_eq!(ids2.len(), 1);
    let got = env
        .ok(
            "POST",
            &format!("/detector/{det}/findings/get"),
            Some(json!({"findingIds": ids2})),
        )
        .await;
    let f = &got["findings"][0];
    assert_eq!(f["service"]["count"], 2);
    assert_eq!(f["resource"]["resourceType"], "Instance");
    let info: Value =
        serde_json::from_str(f["service"]["additionalInfo"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(info["sample"], true);
    env.ok("POST", &u, Some(json!({}))).await;
    assert_eq!(
        env.list(&det, json!({})).await.len(),
        portcullis_guard_api::samples::DEFAULT_TYPES.len()
    );
    let e = env
        .err("POST", &u, Some(json!({"findingTypes": ["not a type"]})))
        .await;
    assert_eq!(e.code, "BadRequestException");
}

#[tokio::test]
async fn threat_lists_and_ip_sets() {
    let env = Env::new().await;
    let det = env.detector().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("bad-ips.txt");
    std::fs::write(&good, "# list\n198.51.100.7\n203.0.113.0/24\n").unwrap();
    let tu = format!("/detector/{det}/threatintelset");
    let r = env.ok("POST", &tu, Some(json!({"name": "bad", "format": "TXT", "location": format!("file://{}", good.display()), "activate": true,
        "tags": {"team": "sec"}}))).await;
    let tid = r["threatIntelSetId"].as_str().unwrap().to_owned();
    let g = env.ok("GET", &format!("{tu}/{tid}"), None).await;
    assert_eq!(
        (
            g["status"].as_str(),
            g["format"].as_str(),
            g["name"].as_str()
        ),
        (Some("ACTIVE"), Some("TXT"), Some("bad"))
    );
    assert_eq!(g["tags"], json!({"team": "sec"}));
    let r = env.ok("POST", &tu, Some(json!({"name": "missing", "format": "TXT", "location": "/nonexistent/list.txt", "activate": true}))).await;
    let missing = r["threatIntelSetId"].as_str().unwrap().to_owned();
    assert_eq!(
        env.ok("GET", &format!("{tu}/{missing}"), None).await["status"],
        "ERROR"
    );
    let r = env.ok("POST", &tu, Some(json!({"name": "s3", "format": "STIX", "location": "s3://bucket/list.json", "activate": false}))).await;
    let s3 = r["threatIntelSetId"].as_str().unwrap().to_owned();
    assert_eq!(
        env.ok("GET", &format!("{tu}/{s3}"), None).await["status"],
        "INACTIVE"
    );
    env.ok(
        "POST",
        &format!("{tu}/{missing}"),
        Some(json!({"location": format!("file://{}", good.display())})),
    )
    .await;
    assert_eq!(
        env.ok("GET", &format!("{tu}/{missing}"), None).await["status"],
        "ACTIVE"
    );
    env.ok(
        "POST",
        &format!("{tu}/{tid}"),
        Some(json!({"activate": false, "name": "renamed"})),
    )
    .await;
    let g = env.ok("GET", &format!("{tu}/{tid}"), None).await;
    assert_eq!(
        (g["status"].as_str(), g["name"].as_str()),
        (Some("INACTIVE"), Some("renamed"))
    );
    let mut listed: Vec<String> = env.ok("GET", &tu, None).await["threatIntelSetIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut want = vec![tid.clone(), missing.clone(), s3.clone()];
    want.sort();
    assert_eq!(listed, want);
    let e = env
        .err(
            "POST",
            &tu,
            Some(json!({"name": "x", "format": "CSV", "location": "s3://b/k", "activate": true})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &tu,
            Some(json!({"name": "x", "format": "TXT", "location": "ftp://b/k", "activate": true})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    env.ok("DELETE", &format!("{tu}/{s3}"), None).await;
    assert_eq!(
        env.err("GET", &format!("{tu}/{s3}"), None).await.code,
        "BadRequestException"
    );
    // IP sets: one per detector.
    let iu = format!("/detector/{det}/ipset");
    let r = env.ok("POST", &iu, Some(json!({"name": "trusted", "format": "TXT", "location": good.display().to_string(), "activate": true}))).await;
    let iid = r["ipSetId"].as_str().unwrap().to_owned();
    assert_eq!(
        env.ok("GET", &format!("{iu}/{iid}"), None).await["status"],
        "ACTIVE"
    );
    let e = env.err("POST", &iu, Some(json!({"name": "second", "format": "TXT", "location": "s3://b/k", "activate": true}))).await;
    assert!(e.message.contains("more than 1"), "{}", e.message);
    assert_eq!(env.ok("GET", &iu, None).await["ipSetIds"], json!([iid]));
    env.ok("DELETE", &format!("{iu}/{iid}"), None).await;
    assert_eq!(env.ok("GET", &iu, None).await["ipSetIds"], json!([]));
}

#[tokio::test]
async fn tags_on_detectors_filters_and_sets() {
    let env = Env::new().await;
    let det = env.detector().await;
    let arn = format!("arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{det}");
    let enc = |a: &str| a.replace(':', "%3A").replace('/', "%2F");
    let (status, _) = env
        .call_as(
            Principal::root(ACCOUNT),
            "POST",
            &format!("/tags/{}", enc(&arn)),
            Some(json!({"tags": {"env": "prod", "team": "sec"}})),
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert_eq!(
        env.ok("GET", &format!("/tags/{}", enc(&arn)), None).await["tags"],
        json!({"env": "prod", "team": "sec"})
    );
    let (status, _) = env
        .call_as(
            Principal::root(ACCOUNT),
            "DELETE",
            &format!("/tags/{}?tagKeys=env", enc(&arn)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert_eq!(
        env.ok("GET", &format!("/tags/{}", enc(&arn)), None).await["tags"],
        json!({"team": "sec"})
    );
    assert_eq!(
        env.ok("GET", &format!("/detector/{det}"), None).await["tags"],
        json!({"team": "sec"})
    );
    env.ok(
        "POST",
        &format!("/detector/{det}/filter"),
        Some(json!({"name": "f-1", "findingCriteria": {"criterion": {"severity": {"gte": 1}}}})),
    )
    .await;
    let farn = format!("{arn}/filter/f-1");
    env.ok(
        "POST",
        &format!("/tags/{}", enc(&farn)),
        Some(json!({"tags": {"k": "v"}})),
    )
    .await;
    assert_eq!(
        env.ok("GET", &format!("/detector/{det}/filter/f-1"), None)
            .await["tags"],
        json!({"k": "v"})
    );
    let e = env
        .err(
            "GET",
            &format!("/tags/{}", enc(&format!("{arn}/filter/nope"))),
            None,
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
    let e = env.err("GET", "/tags/not-an-arn", None).await;
    assert_eq!(e.code, "BadRequestException");
    let e = env
        .err(
            "POST",
            &format!("/tags/{}", enc(&arn)),
            Some(json!({"tags": {"aws:x": "v"}})),
        )
        .await;
    assert_eq!(e.code, "BadRequestException");
}

#[tokio::test]
async fn callers_without_permission_are_denied() {
    let (env, det) = seeded().await;
    let nobody = Principal::user(ACCOUNT, "nobody", "AIDANOBODY");
    let e = env
        .call_as(nobody.clone(), "GET", "/detector", None)
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "AccessDeniedException"));
    assert!(
        e.message.contains("guardduty:ListDetectors"),
        "{}",
        e.message
    );
    let e = env
        .call_as(
            nobody.clone(),
            "POST",
            &format!("/detector/{det}/findings"),
            Some(json!({})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert!(
        e.message.contains(&format!(
            "arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{det}"
        )),
        "{}",
        e.message
    );
    let e = env
        .call_as(
            nobody,
            "POST",
            &format!("/detector/{det}/filter"),
            Some(
                json!({"name": "abc", "findingCriteria": {"criterion": {"severity": {"gte": 1}}}}),
            ),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("/filter/abc"), "{}", e.message);
    // Unknown detectors in the caller's own account are "not owned".
    let e = env
        .err("GET", "/detector/0123456789abcdef0123456789abcdef", None)
        .await;
    assert!(e.message.contains("not owned"));
    let e = env.err("GET", "/nothing/here", None).await;
    assert_eq!(e.code, "BadRequestException");
}

#[tokio::test]
async fn ingest_guard_detect_findings() {
    let env = Env::new().await;
    let det = env.detector().await;
    // A finding produced by guard-detect's store, through the typed entry point.
    let mut store = portcullis_guard_detect::FindingStore::new("engine", ACCOUNT, REGION, 10);
    let mut d = portcullis_guard_detect::store::Detection::new(
        "Recon:EC2/Portscan",
        2.0,
        Default::default(),
        1_700_000_000,
    );
    d.resource_key = "10.0.0.5".into();
    store.upsert(d.clone());
    store.upsert(d);
    let found = store.findings();
    let r = env.api.ingest_detected(&det, &found).await.unwrap();
    assert_eq!(r.created, 1);
    let ids = env.list(&det, json!({})).await;
    let got = env
        .ok(
            "POST",
            &format!("/detector/{det}/findings/get"),
            Some(json!({"findingIds": ids})),
        )
        .await;
    let f = &got["findings"][0];
    assert_eq!(f["service"]["count"], 2);
    assert_eq!(f["service"]["detectorId"], det.as_str());
    assert!(
        f["arn"]
            .as_str()
            .unwrap()
            .contains(&format!("detector/{det}/finding/"))
    );
    // Re-ingesting the same finding aggregates.
    let r = env.api.ingest_detected(&det, &found).await.unwrap();
    assert_eq!((r.created, r.updated), (0, 1));
    let got = env
        .ok(
            "POST",
            &format!("/detector/{det}/findings/get"),
            Some(json!({"findingIds": env.list(&det, json!({})).await})),
        )
        .await;
    assert_eq!(got["findings"][0]["service"]["count"], 4);
    // Junk is refused, an unknown detector is an error.
    let r = env
        .api
        .ingest_findings(&det, vec![json!({"no": "id"}), json!(3)])
        .await
        .unwrap();
    assert_eq!(r.rejected, 2);
    assert!(env.api.ingest_findings("nope", vec![]).await.is_err());
}

#[tokio::test]
async fn analyze_simulated_logs_into_the_detector() {
    let env = Env::new().await;
    let det = env.detector().await;
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for f in portcullis_guard_detect::simulate::simulate("ssh-bruteforce", 9).unwrap() {
        let p = dir.path().join(&f.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &f.bytes).unwrap();
        paths.push(p);
    }
    paths.push(dir.path().join("missing.log"));
    let r = env.api.analyze_files(&det, paths.clone()).await.unwrap();
    assert!(r.records > 0, "{r:?}");
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert!(r.ingest.created > 0, "{r:?}");
    let brute = env
        .list(&det, json!({"findingCriteria": {"criterion": {"type": {"equals": ["UnauthorizedAccess:EC2/SSHBruteForce"]}}}}))
        .await;
    assert!(!brute.is_empty());
    // Analysing the same logs again aggregates into the same findings.
    let again = env.api.analyze_files(&det, paths).await.unwrap();
    assert_eq!(again.ingest.created, 0, "{again:?}");
    assert_eq!(again.ingest.updated, r.ingest.created);
}
