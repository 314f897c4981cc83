//! The Inspector2 service end to end through [`InspectorService::call`] against a real SQLite
//! store: agent reports (full, delta, conflicts, bad JSON), findings opened and closed as
//! packages change, the advisory index arriving later, filters that suppress, pagination,
//! aggregations, coverage, SBOM exports, tags and IAM decisions.
//!
//! This file holds the harness; [`reports`] covers agent reports and finding lifecycles,
//! [`operations`] the read and management operations and IAM, [`network`] network
//! descriptions, `NETWORK_REACHABILITY` findings, gzip bodies and findings reports.

mod network;
mod operations;
mod reports;

use std::collections::BTreeMap;
use std::path::PathBuf;

use portcullis_http::auth::{Caller, CredentialSource};
use portcullis_http::{ApiRequest, AwsService};
use portcullis_iam::policy::Principal;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use portcullis_inspector_api::{AdvisoryIndex, InspectorApi, InspectorService};
use portcullis_inspector_core::advisory_db::AdvisoryDb;
use portcullis_inspector_core::inventory::{
    InstalledPackage, Inventory, InventoryDelta, InventoryReport, LockfileInventory, OsInfo,
    ReportBody,
};
use portcullis_inspector_core::lockfile::{LockfileKind, Package};
use portcullis_inspector_core::version::Ecosystem;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

/// Three advisories that match the test inventory, and one for another Debian release that
/// must not.
const ADVISORIES: [&str; 4] = [
    r#"{"id":"RUSTSEC-2099-0001","modified":"2020-01-01T00:00:00Z","summary":"foo overflows",
      "aliases":["CVE-2099-1"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
      "references":[{"type":"ADVISORY","url":"https://example.invalid/foo"}],
      "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.2.0"}]}]}]}"#,
    r#"{"id":"RUSTSEC-2099-0002","modified":"2020-01-01T00:00:00Z","summary":"bar leaks",
      "affected":[{"package":{"ecosystem":"crates.io","name":"bar"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"2.0.0"}]}]}]}"#,
    r#"{"id":"DSA-9999-1","modified":"2020-01-01T00:00:00Z","summary":"openssl flaw",
      "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}"#,
    r#"{"id":"DSA-9999-2","modified":"2020-01-01T00:00:00Z","summary":"bash flaw on Debian 11",
      "affected":[{"package":{"ecosystem":"Debian:11","name":"bash"},
      "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"9.9"}]}]}]}"#,
];

fn index() -> AdvisoryIndex {
    let (db, errs) = AdvisoryDb::load(
        ADVISORIES
            .iter()
            .enumerate()
            .map(|(i, a)| (if i == 0 { "a.json" } else { "b.json" }, a.as_bytes())),
    );
    assert!(errs.is_empty(), "{errs:?}");
    AdvisoryIndex::in_memory(db, "test-1")
}

struct Env {
    api: InspectorApi,
    svc: InspectorService,
    dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Failure {
    status: u16,
    code: String,
    message: String,
    members: serde_json::Map<String, Value>,
}

fn pkg(name: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::CratesIo,
        name: name.into(),
        version: version.into(),
        source: None,
    }
}

fn inventory(foo_version: &str) -> Inventory {
    Inventory {
        os: OsInfo {
            id: "debian".into(),
            version_id: "12".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            arch: "x86_64".into(),
            ..OsInfo::default()
        },
        packages: vec![
            InstalledPackage {
                package: Package {
                    ecosystem: Ecosystem::Debian,
                    name: "libssl3".into(),
                    version: "3.0.11-1~deb12u2".into(),
                    source: None,
                },
                manager: "dpkg".into(),
                source_name: Some("openssl".into()),
            },
            InstalledPackage {
                package: Package {
                    ecosystem: Ecosystem::Debian,
                    name: "bash".into(),
                    version: "5.2.15-2+b2".into(),
                    source: None,
                },
                manager: "dpkg".into(),
                source_name: None,
            },
        ],
        lockfiles: vec![LockfileInventory {
            path: "/srv/app/Cargo.lock".into(),
            kind: LockfileKind::CargoLock,
            packages: vec![
                pkg("bar", "1.0.0"),
                pkg("foo", foo_version),
                pkg("safe", "1.0.0"),
            ],
        }],
        sshd: Some(BTreeMap::from([
            ("permitrootlogin".into(), "yes".into()),
            ("passwordauthentication".into(), "no".into()),
            ("permitemptypasswords".into(), "no".into()),
        ])),
        ..Inventory::default()
    }
}

fn full(agent: &str, seq: u64, inv: Inventory) -> Value {
    serde_json::to_value(InventoryReport {
        agent_id: agent.into(),
        hostname: format!("{agent}.example"),
        agent_version: "0.1.0".into(),
        collected_at: 1_700_000_000,
        sequence: seq,
        body: ReportBody::Full {
            inventory: Box::new(inv),
        },
        cloud: None,
    })
    .unwrap()
}

fn delta(agent: &str, seq: u64, base: u64, d: InventoryDelta) -> Value {
    serde_json::to_value(InventoryReport {
        agent_id: agent.into(),
        hostname: format!("{agent}.example"),
        agent_version: "0.1.0".into(),
        collected_at: 1_700_000_100,
        sequence: seq,
        body: ReportBody::Delta {
            base,
            delta: Box::new(d),
        },
        cloud: None,
    })
    .unwrap()
}

impl Env {
    async fn new(index: AdvisoryIndex) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let api = InspectorApi::new(store.clone(), Authorizer::new(Repo::new(store)), dir.path())
            .with_index(index);
        Env {
            svc: InspectorService(api.clone()),
            api,
            dir,
        }
    }

    async fn raw(
        &self,
        principal: Principal,
        method: &str,
        uri: &str,
        body: Vec<u8>,
    ) -> Result<Value, Failure> {
        self.raw_with(principal, method, uri, http::HeaderMap::new(), body)
            .await
    }

    async fn raw_with(
        &self,
        principal: Principal,
        method: &str,
        uri: &str,
        headers: http::HeaderMap,
        body: Vec<u8>,
    ) -> Result<Value, Failure> {
        let req = ApiRequest {
            request_id: "req-1".into(),
            method: method.parse().unwrap(),
            uri: uri.parse().unwrap(),
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
        let out = self.svc.call(req).await;
        match out.result {
            Ok(r) => Ok(serde_json::from_slice(&r.body).unwrap()),
            Err(e) => Err(Failure {
                status: e.status.as_u16(),
                code: e.code,
                message: e.message,
                members: e.members,
            }),
        }
    }

    async fn ok(&self, uri: &str, body: Value) -> Value {
        match self
            .raw(
                Principal::root(ACCOUNT),
                "POST",
                uri,
                body.to_string().into_bytes(),
            )
            .await
        {
            Ok(v) => v,
            Err(e) => panic!("{uri} failed: {e:?}"),
        }
    }

    async fn err(&self, uri: &str, body: Value) -> Failure {
        match self
            .raw(
                Principal::root(ACCOUNT),
                "POST",
                uri,
                body.to_string().into_bytes(),
            )
            .await
        {
            Ok(v) => panic!("{uri} succeeded: {v}"),
            Err(e) => e,
        }
    }

    async fn findings(&self, criteria: Value) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"filterCriteria": criteria, "maxResults": 100});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let r = self.ok("/findings/list", body).await;
            out.extend(r["findings"].as_array().unwrap().iter().cloned());
            match r["nextToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => return out,
            }
        }
    }

    async fn by_vuln(&self, id: &str) -> Value {
        let f = self
            .findings(json!({"vulnerabilityId": [{"comparison": "EQUALS", "value": id}]}))
            .await;
        assert_eq!(f.len(), 1, "{id}: {f:?}");
        f[0].clone()
    }
}

fn eq(v: &str) -> Value {
    json!([{"comparison": "EQUALS", "value": v}])
}

impl Env {
    async fn by_vuln_on(&self, id: &str, host: &str) -> Value {
        let f = self
            .findings(json!({"vulnerabilityId": eq(id), "resourceId": eq(host)}))
            .await;
        assert_eq!(f.len(), 1);
        f[0].clone()
    }
}

async fn put_user_policy(env: &Env, name: &str, policy: Value) -> Principal {
    let user = json!({"account": ACCOUNT, "user_name": name, "user_id": format!("AIDA{}", name.to_uppercase()),
        "path": "/", "create_date": "2024-01-01T00:00:00Z", "tags": [],
        "inline_policies": {"p": policy.to_string()}, "attached_policies": [], "access_keys": []});
    env.api
        .store
        .put(
            "iam.users",
            &format!("{ACCOUNT}/{name}"),
            &user,
            portcullis_store::Precondition::None,
        )
        .await
        .unwrap();
    Principal::user(ACCOUNT, name, &format!("AIDA{}", name.to_uppercase()))
}

fn corpora() -> Option<PathBuf> {
    let p = std::env::var_os("PORTCULLIS_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        });
    if p.join("inspector").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "\n*** SKIPPED: corpus not found at {} (set PORTCULLIS_CORPORA) ***\n",
            p.display()
        );
        None
    }
}

fn host_state(foo_version: &str, with_bar: bool, root_login: bool) -> Inventory {
    let mut inv = inventory(foo_version);
    inv.packages.clear();
    if let Some(l) = inv.lockfiles.first_mut() {
        l.packages.retain(|p| with_bar || p.name != "bar");
    }
    if let Some(s) = inv.sshd.as_mut() {
        s.insert(
            "permitrootlogin".into(),
            if root_login { "yes" } else { "no" }.into(),
        );
    }
    inv
}
