//! The WAFv2 service end to end through [`WafService::call`] against a real SQLite store: lock
//! tokens, duplicate names, references, deletes, pagination, associations, capacity, managed groups,
//! logging, tags, sampled requests, authorization and the read API the proxies poll.

use std::sync::Arc;

use portcullis_http::auth::{Caller, CredentialSource};
use portcullis_http::{ApiRequest, AwsService};
use portcullis_iam::policy::Principal;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use portcullis_waf_api::{SampleSource, WafApi, WafService, listener_arn};
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

struct Env {
    api: WafApi,
    svc: WafService,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Failure {
    code: String,
    message: String,
}

fn vis(name: &str) -> Value {
    json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": false, "MetricName": name})
}

fn byte_rule(name: &str, priority: i64) -> Value {
    json!({"Name": name, "Priority": priority, "Action": {"Block": {}},
           "Statement": {"ByteMatchStatement": {"SearchString": "L2FkbWlu", "FieldToMatch": {"UriPath": {}},
             "PositionalConstraint": "STARTS_WITH", "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}},
           "VisibilityConfig": vis(name)})
}

fn ip_rule(name: &str, priority: i64, arn: &str) -> Value {
    json!({"Name": name, "Priority": priority, "Action": {"Block": {}},
           "Statement": {"IPSetReferenceStatement": {"ARN": arn}}, "VisibilityConfig": vis(name)})
}

fn managed_rule(name: &str, priority: i64, vendor: &str, group: &str) -> Value {
    json!({"Name": name, "Priority": priority, "OverrideAction": {"None": {}},
           "Statement": {"ManagedRuleGroupStatement": {"VendorName": vendor, "Name": group}},
           "VisibilityConfig": vis(name)})
}

fn acl(name: &str, rules: Vec<Value>) -> Value {
    json!({"Name": name, "Scope": "REGIONAL", "DefaultAction": {"Allow": {}},
           "VisibilityConfig": vis(name), "Rules": rules})
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let api = WafApi::new(store.clone(), Authorizer::new(Repo::new(store)));
        Env {
            svc: WafService(api.clone()),
            api,
            _dir: dir,
        }
    }

    async fn call_as(&self, principal: Principal, op: &str, body: Value) -> Result<Value, Failure> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-amz-target",
            format!("AWSWAF_20190729.{op}").parse().unwrap(),
        );
        let req = ApiRequest {
            request_id: "req-1".into(),
            method: http::Method::POST,
            uri: http::Uri::from_static("/"),
            headers,
            body: body.to_string().into(),
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
        if out.result.is_ok() {
            assert_eq!(out.operation, op);
        }
        match out.result {
            Ok(r) => Ok(serde_json::from_slice(&r.body).unwrap()),
            Err(e) => Err(Failure {
                code: e.code,
                message: e.message,
            }),
        }
    }

    async fn call(&self, op: &str, body: Value) -> Result<Value, Failure> {
        self.call_as(Principal::root(ACCOUNT), op, body).await
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        match self.call(op, body).await {
            Ok(v) => v,
            Err(e) => panic!("{op} failed: {e:?}"),
        }
    }

    async fn err(&self, op: &str, body: Value) -> Failure {
        match self.call(op, body).await {
            Ok(v) => panic!("{op} succeeded: {v}"),
            Err(e) => e,
        }
    }

    async fn ip_set(&self, name: &str, addrs: &[&str]) -> Value {
        self.ok(
            "CreateIPSet",
            json!({"Name": name, "Scope": "REGIONAL", "IPAddressVersion": "IPV4", "Addresses": addrs}),
        )
        .await["Summary"]
            .clone()
    }
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn web_acl_lifecycle_lock_tokens_and_duplicates() {
    let env = Env::new().await;
    let sum = env
        .ok("CreateWebACL", acl("shop", vec![byte_rule("admin", 0)]))
        .await["Summary"]
        .clone();
    let (id, token, arn) = (s(&sum, "Id"), s(&sum, "LockToken"), s(&sum, "ARN"));
    assert_eq!(
        arn,
        format!("arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/shop/{id}")
    );
    assert_eq!(id.len(), 36);

    let got = env
        .ok(
            "GetWebACL",
            json!({"Name": "shop", "Scope": "REGIONAL", "Id": id}),
        )
        .await;
    assert_eq!(got["LockToken"], token);
    assert_eq!(got["WebACL"]["Capacity"], 12);
    assert_eq!(
        got["WebACL"]["LabelNamespace"],
        format!("awswaf:{ACCOUNT}:webacl:shop:")
    );
    let by_arn = env.ok("GetWebACL", json!({"ARN": arn})).await;
    assert_eq!(by_arn["WebACL"], got["WebACL"]);

    let dup = env.err("CreateWebACL", acl("shop", vec![])).await;
    assert_eq!(dup.code, "WAFDuplicateItemException");
    // The same name in the other scope is another resource.
    let mut cf = acl("shop", vec![]);
    cf["Scope"] = json!("CLOUDFRONT");
    let cf = env.ok("CreateWebACL", cf).await;
    assert!(s(&cf["Summary"], "ARN").starts_with(&format!(
        "arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/shop/"
    )));

    let mut upd = acl("shop", vec![byte_rule("admin", 0), byte_rule("admin2", 1)]);
    upd["Id"] = json!(id);
    upd["LockToken"] = json!(token);
    let next = s(&env.ok("UpdateWebACL", upd.clone()).await, "NextLockToken");
    assert_ne!(next, token);
    // The old token is stale now.
    let stale = env.err("UpdateWebACL", upd.clone()).await;
    assert_eq!(stale.code, "WAFOptimisticLockException");
    let got = env
        .ok(
            "GetWebACL",
            json!({"Name": "shop", "Scope": "REGIONAL", "Id": id}),
        )
        .await;
    assert_eq!(got["LockToken"], next);
    assert_eq!(got["WebACL"]["Rules"].as_array().unwrap().len(), 2);
    assert_eq!(got["WebACL"]["Capacity"], 24);

    let del = json!({"Name": "shop", "Scope": "REGIONAL", "Id": id, "LockToken": token});
    assert_eq!(
        env.err("DeleteWebACL", del).await.code,
        "WAFOptimisticLockException"
    );
    env.ok(
        "DeleteWebACL",
        json!({"Name": "shop", "Scope": "REGIONAL", "Id": id, "LockToken": next}),
    )
    .await;
    let gone = env
        .err(
            "GetWebACL",
            json!({"Name": "shop", "Scope": "REGIONAL", "Id": id}),
        )
        .await;
    assert_eq!(gone.code, "WAFNonexistentItemException");
    // The name is free again.
    env.ok("CreateWebACL", acl("shop", vec![])).await;
}

#[tokio::test]
async fn validation_errors_name_field_and_parameter() {
    let env = Env::new().await;
    let e = env.err("CreateWebACL", acl("bad name", vec![])).await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    assert!(e.message.contains("field: WEB_ACL"), "{}", e.message);
    assert!(e.message.contains("parameter: bad name"), "{}", e.message);
    let e = env
        .err(
            "CreateWebACL",
            acl("x", vec![byte_rule("a", 0), byte_rule("a", 1)]),
        )
        .await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    let e = env
        .err("CreateIPSet", json!({"Name": "s", "Scope": "REGIONAL", "IPAddressVersion": "IPV4", "Addresses": ["10.0.0.0/33"]}))
        .await;
    assert!(e.message.contains("field: IP_ADDRESS"), "{}", e.message);
    let e = env
        .err("CreateIPSet", json!({"Name": "s", "Scope": "REGIONAL", "IPAddressVersion": "IPV4", "Addresses": ["2001:db8::/32"]}))
        .await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    let e = env.err("ListWebACLs", json!({"Scope": "GLOBAL"})).await;
    assert!(e.message.contains("field: SCOPE_VALUE"), "{}", e.message);
    let e = env
        .err("CreateRegexPatternSet", json!({"Name": "r", "Scope": "REGIONAL", "RegularExpressionList": [{"RegexString": "(?<=a)b"}]}))
        .await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    // Missing required member: the body does not decode.
    let e = env
        .err("CreateWebACL", json!({"Name": "x", "Scope": "REGIONAL"}))
        .await;
    assert_eq!(e.code, "SerializationException");
}

#[tokio::test]
async fn references_block_deletes_and_must_exist() {
    let env = Env::new().await;
    let set = env.ip_set("office", &["192.0.2.0/24"]).await;
    let set_arn = s(&set, "ARN");
    let missing = format!(
        "arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/ipset/nope/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8"
    );
    let e = env
        .err("CreateWebACL", acl("a", vec![ip_rule("ip", 0, &missing)]))
        .await;
    assert_eq!(e.code, "WAFNonexistentItemException");

    let a = env
        .ok("CreateWebACL", acl("a", vec![ip_rule("ip", 0, &set_arn)]))
        .await["Summary"]
        .clone();
    let del_set = json!({"Name": "office", "Scope": "REGIONAL", "Id": s(&set, "Id"), "LockToken": s(&set, "LockToken")});
    assert_eq!(
        env.err("DeleteIPSet", del_set.clone()).await.code,
        "WAFAssociatedItemException"
    );

    // Rule groups: referenced sets and groups, declared capacity fixed at creation.
    let rg = env
        .ok("CreateRuleGroup", json!({"Name": "g", "Scope": "REGIONAL", "Capacity": 15,
              "Rules": [ip_rule("gip", 0, &set_arn), byte_rule("gb", 1)], "VisibilityConfig": vis("g")}))
        .await["Summary"]
        .clone();
    let got = env.ok("GetRuleGroup", json!({"ARN": s(&rg, "ARN")})).await;
    assert_eq!(got["RuleGroup"]["Capacity"], 15);
    let over = json!({"Name": "g", "Scope": "REGIONAL", "Id": s(&rg, "Id"), "LockToken": s(&rg, "LockToken"),
                      "Rules": [ip_rule("gip", 0, &set_arn), byte_rule("gb", 1), byte_rule("gc", 2)],
                      "VisibilityConfig": vis("g")});
    let e = env.err("UpdateRuleGroup", over).await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    assert!(e.message.contains("capacity"), "{}", e.message);
    let e = env
        .err(
            "CreateRuleGroup",
            json!({"Name": "tiny", "Scope": "REGIONAL", "Capacity": 5,
              "Rules": [byte_rule("b", 0)], "VisibilityConfig": vis("tiny")}),
        )
        .await;
    assert_eq!(e.code, "WAFInvalidParameterException");

    let b = env
        .ok("CreateWebACL", acl("b", vec![json!({"Name": "grp", "Priority": 0, "OverrideAction": {"None": {}},
              "Statement": {"RuleGroupReferenceStatement": {"ARN": s(&rg, "ARN")}}, "VisibilityConfig": vis("grp")})]))
        .await["Summary"]
        .clone();
    let got = env.ok("GetWebACL", json!({"ARN": s(&b, "ARN")})).await;
    assert_eq!(got["WebACL"]["Capacity"], 15);
    // An override in a web ACL must name a rule of the group, now and after the group changes.
    let overriding = |rule: &str| {
        acl(
            "c",
            vec![
                json!({"Name": "grp", "Priority": 0, "OverrideAction": {"None": {}},
              "Statement": {"RuleGroupReferenceStatement": {"ARN": s(&rg, "ARN"),
                "RuleActionOverrides": [{"Name": rule, "ActionToUse": {"Count": {}}}]}},
              "VisibilityConfig": vis("grp")}),
            ],
        )
    };
    let e = env.err("CreateWebACL", overriding("nope")).await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    let c = env.ok("CreateWebACL", overriding("gb")).await["Summary"].clone();
    let drop_gb = json!({"Name": "g", "Scope": "REGIONAL", "Id": s(&rg, "Id"), "LockToken": s(&rg, "LockToken"),
                         "Rules": [ip_rule("gip", 0, &set_arn)], "VisibilityConfig": vis("g")});
    let e = env.err("UpdateRuleGroup", drop_gb.clone()).await;
    assert_eq!(e.code, "WAFInvalidParameterException");
    assert!(e.message.contains("parameter: gb"), "{}", e.message);
    env.ok("DeleteWebACL", json!({"Name": "c", "Scope": "REGIONAL", "Id": s(&c, "Id"), "LockToken": s(&c, "LockToken")})).await;
    let rg_token = s(&env.ok("UpdateRuleGroup", drop_gb).await, "NextLockToken");
    let del_rg =
        json!({"Name": "g", "Scope": "REGIONAL", "Id": s(&rg, "Id"), "LockToken": rg_token});
    assert_eq!(
        env.err("DeleteRuleGroup", del_rg.clone()).await.code,
        "WAFAssociatedItemException"
    );

    env.ok("DeleteWebACL", json!({"Name": "b", "Scope": "REGIONAL", "Id": s(&b, "Id"), "LockToken": s(&b, "LockToken")})).await;
    env.ok("DeleteRuleGroup", del_rg).await;
    assert_eq!(
        env.err("DeleteIPSet", del_set.clone()).await.code,
        "WAFAssociatedItemException"
    );
    env.ok("DeleteWebACL", json!({"Name": "a", "Scope": "REGIONAL", "Id": s(&a, "Id"), "LockToken": s(&a, "LockToken")})).await;
    env.ok("DeleteIPSet", del_set).await;
}

#[tokio::test]
async fn lists_paginate_by_name() {
    let env = Env::new().await;
    for n in ["c", "a", "e", "b", "d"] {
        env.ip_set(n, &["10.0.0.0/8"]).await;
    }
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut body = json!({"Scope": "REGIONAL", "Limit": 2});
        if let Some(m) = &marker {
            body["NextMarker"] = json!(m);
        }
        let page = env.ok("ListIPSets", body).await;
        let items = page["IPSets"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|i| s(i, "Name")));
        match page.get("NextMarker") {
            Some(m) => marker = Some(m.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    let cf = env.ok("ListIPSets", json!({"Scope": "CLOUDFRONT"})).await;
    assert_eq!(cf["IPSets"].as_array().unwrap().len(), 0);
    let e = env
        .err("ListIPSets", json!({"Scope": "REGIONAL", "Limit": 101}))
        .await;
    assert_eq!(e.code, "WAFInvalidParameterException");
}

#[tokio::test]
async fn associations_and_the_read_api() {
    let env = Env::new().await;
    let rev0 = env.api.revision().await.unwrap();
    let set = env.ip_set("office", &["192.0.2.0/24"]).await;
    assert!(env.api.revision().await.unwrap() > rev0);
    let a = env
        .ok(
            "CreateWebACL",
            acl("a", vec![ip_rule("ip", 0, &s(&set, "ARN"))]),
        )
        .await["Summary"]
        .clone();
    let b = env.ok("CreateWebACL", acl("b", vec![])).await["Summary"].clone();
    let listener = listener_arn(REGION, ACCOUNT, "edge-1");

    let bad = env
        .err("AssociateWebACL", json!({"WebACLArn": s(&a, "ARN"), "ResourceArn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/x/123"}))
        .await;
    assert_eq!(bad.code, "WAFInvalidParameterException");
    assert!(
        bad.message.contains("field: RESOURCE_ARN"),
        "{}",
        bad.message
    );
    let elsewhere = listener_arn("eu-west-1", ACCOUNT, "edge-1");
    let e = env
        .err(
            "AssociateWebACL",
            json!({"WebACLArn": s(&a, "ARN"), "ResourceArn": elsewhere}),
        )
        .await;
    assert_eq!(e.code, "WAFInvalidParameterException");

    let before = env.api.revision().await.unwrap();
    env.ok(
        "AssociateWebACL",
        json!({"WebACLArn": s(&a, "ARN"), "ResourceArn": listener}),
    )
    .await;
    assert!(env.api.revision().await.unwrap() > before);
    let got = env
        .ok("GetWebACLForResource", json!({"ResourceArn": listener}))
        .await;
    assert_eq!(got["WebACL"]["Name"], "a");
    let res = env
        .ok("ListResourcesForWebACL", json!({"WebACLArn": s(&a, "ARN")}))
        .await;
    assert_eq!(res["ResourceArns"], json!([listener]));

    let resolved = env
        .api
        .web_acl_for_resource(&listener)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resolved.web_acl.name, "a");
    assert_eq!(resolved.ip_sets.len(), 1);
    assert_eq!(resolved.ip_sets[0].addresses, ["192.0.2.0/24"]);
    let mut res = resolved.resources();
    for ((v, n), g) in &portcullis_waf_api::managed::compile_resources().managed_groups {
        res.add_managed_group(v, n, g.clone());
    }
    portcullis_waf_core::CompiledAcl::compile(&resolved.web_acl, &res).unwrap();
    assert!(
        env.api
            .web_acl_for_resource(&listener_arn(REGION, ACCOUNT, "other"))
            .await
            .unwrap()
            .is_none()
    );

    let del_a = json!({"Name": "a", "Scope": "REGIONAL", "Id": s(&a, "Id"), "LockToken": s(&a, "LockToken")});
    assert_eq!(
        env.err("DeleteWebACL", del_a.clone()).await.code,
        "WAFAssociatedItemException"
    );

    // Associating another ACL replaces the first.
    env.ok(
        "AssociateWebACL",
        json!({"WebACLArn": s(&b, "ARN"), "ResourceArn": listener}),
    )
    .await;
    let got = env
        .ok("GetWebACLForResource", json!({"ResourceArn": listener}))
        .await;
    assert_eq!(got["WebACL"]["Name"], "b");
    let res = env
        .ok("ListResourcesForWebACL", json!({"WebACLArn": s(&a, "ARN")}))
        .await;
    assert_eq!(res["ResourceArns"], json!([]));
    env.ok("DeleteWebACL", del_a).await;

    env.ok("DisassociateWebACL", json!({"ResourceArn": listener}))
        .await;
    assert_eq!(
        env.ok("GetWebACLForResource", json!({"ResourceArn": listener}))
            .await,
        json!({})
    );
    assert!(
        env.api
            .web_acl_for_resource(&listener)
            .await
            .unwrap()
            .is_none()
    );
    env.ok("DisassociateWebACL", json!({"ResourceArn": listener}))
        .await;
}

#[tokio::test]
async fn capacity_matches_the_model_and_is_limited() {
    let env = Env::new().await;
    let rules = json!([byte_rule("b", 0),
        {"Name": "sqli", "Priority": 1, "Action": {"Block": {}},
         "Statement": {"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}},
            "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}}, "VisibilityConfig": vis("sqli")},
        managed_rule("sql", 2, "Portcullis", "SQLiRuleSet"),
        managed_rule("crs", 3, "OWASP", "CoreRuleSet")]);
    let got = env
        .ok(
            "CheckCapacity",
            json!({"Scope": "REGIONAL", "Rules": rules}),
        )
        .await;
    let parsed: Vec<portcullis_waf_model::Rule> = serde_json::from_value(rules.clone()).unwrap();
    let expected = portcullis_waf_model::capacity::rules_capacity(
        &parsed,
        &portcullis_waf_api::managed::Capacities::default(),
    )
    .unwrap();
    assert_eq!(got["Capacity"], expected);
    assert_eq!(expected, 12 + 40 + 200 + 700);

    let e = env
        .err("CheckCapacity", json!({"Scope": "REGIONAL", "Rules": [managed_rule("aws", 0, "AWS", "AWSManagedRulesSQLiRuleSet")]}))
        .await;
    assert_eq!(e.code, "WAFNonexistentItemException");

    let big: Vec<Value> = (0..8)
        .map(|i| managed_rule(&format!("c{i}"), i, "Portcullis", "CommonRuleSet"))
        .collect();
    let e = env.err("CreateWebACL", acl("big", big)).await;
    assert_eq!(e.code, "WAFLimitsExceededException");
    let fits: Vec<Value> = (0..7)
        .map(|i| managed_rule(&format!("c{i}"), i, "Portcullis", "CommonRuleSet"))
        .collect();
    let ok = env.ok("CreateWebACL", acl("fits", fits)).await;
    let got = env
        .ok("GetWebACL", json!({"ARN": s(&ok["Summary"], "ARN")}))
        .await;
    assert_eq!(got["WebACL"]["Capacity"], 4900);
}

#[tokio::test]
async fn managed_groups_are_listed_and_described() {
    let env = Env::new().await;
    let list = env
        .ok(
            "ListAvailableManagedRuleGroups",
            json!({"Scope": "REGIONAL"}),
        )
        .await;
    let groups = list["ManagedRuleGroups"].as_array().unwrap();
    assert_eq!(groups.len(), 10);
    assert!(
        groups
            .iter()
            .any(|g| g["VendorName"] == "OWASP" && g["Name"] == "CoreRuleSet")
    );
    assert_eq!(
        groups
            .iter()
            .filter(|g| g["VendorName"] == "Portcullis")
            .count(),
        9
    );
    let d = env
        .ok(
            "DescribeManagedRuleGroup",
            json!({"VendorName": "Portcullis", "Name": "SQLiRuleSet", "Scope": "REGIONAL"}),
        )
        .await;
    assert_eq!(d["Capacity"], 200);
    assert_eq!(
        d["LabelNamespace"],
        "awswaf:managed:portcullis:sql-database:"
    );
    assert!(
        d["Rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Name"] == "SQLi_QUERYARGUMENTS" && r["Action"] == json!({"Block": {}}))
    );
    let e = env
        .err(
            "DescribeManagedRuleGroup",
            json!({"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet", "Scope": "REGIONAL"}),
        )
        .await;
    assert_eq!(e.code, "WAFNonexistentItemException");
    let v = env
        .ok(
            "ListAvailableManagedRuleGroupVersions",
            json!({"VendorName": "OWASP", "Name": "CoreRuleSet", "Scope": "REGIONAL"}),
        )
        .await;
    assert_eq!(v["Versions"], json!([]));
}

#[tokio::test]
async fn logging_tags_and_samples() {
    let env = Env::new().await;
    let a = env.ok("CreateWebACL", acl("a", vec![])).await["Summary"].clone();
    let arn = s(&a, "ARN");
    let cfg = json!({"ResourceArn": arn, "LogDestinationConfigs": ["arn:aws:logs:us-east-1:111122223333:log-group:aws-waf-logs-a"],
                     "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}],
                     "LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [{"Behavior": "DROP", "Requirement": "MEETS_ANY",
                        "Conditions": [{"ActionCondition": {"Action": "ALLOW"}}]}]}});
    let put = env
        .ok(
            "PutLoggingConfiguration",
            json!({"LoggingConfiguration": cfg}),
        )
        .await;
    assert_eq!(put["LoggingConfiguration"]["LogType"], "WAF_LOGS");
    let got = env
        .ok("GetLoggingConfiguration", json!({"ResourceArn": arn}))
        .await;
    assert_eq!(got["LoggingConfiguration"], put["LoggingConfiguration"]);
    assert_eq!(
        env.api.logging_configuration(&arn).await.unwrap().unwrap(),
        put["LoggingConfiguration"]
    );
    let list = env
        .ok("ListLoggingConfigurations", json!({"Scope": "REGIONAL"}))
        .await;
    assert_eq!(list["LoggingConfigurations"].as_array().unwrap().len(), 1);
    let two = json!({"LoggingConfiguration": {"ResourceArn": arn, "LogDestinationConfigs": ["arn:aws:s3:::a", "arn:aws:s3:::b"]}});
    assert_eq!(
        env.err("PutLoggingConfiguration", two).await.code,
        "WAFInvalidParameterException"
    );
    env.ok("DeleteLoggingConfiguration", json!({"ResourceArn": arn}))
        .await;
    assert_eq!(
        env.err("GetLoggingConfiguration", json!({"ResourceArn": arn}))
            .await
            .code,
        "WAFNonexistentItemException"
    );

    env.ok("TagResource", json!({"ResourceARN": arn, "Tags": [{"Key": "team", "Value": "edge"}, {"Key": "env", "Value": "prod"}]})).await;
    env.ok(
        "UntagResource",
        json!({"ResourceARN": arn, "TagKeys": ["env"]}),
    )
    .await;
    let tags = env
        .ok("ListTagsForResource", json!({"ResourceARN": arn}))
        .await;
    assert_eq!(
        tags["TagInfoForResource"]["TagList"],
        json!([{"Key": "team", "Value": "edge"}])
    );
    // Tags do not change the lock token.
    let got = env.ok("GetWebACL", json!({"ARN": arn})).await;
    assert_eq!(got["LockToken"], a["LockToken"]);

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let req = json!({"WebAclArn": arn, "RuleMetricName": "a", "Scope": "REGIONAL", "MaxItems": 10,
                     "TimeWindow": {"StartTime": now - 600, "EndTime": now}});
    let empty = env.ok("GetSampledRequests", req.clone()).await;
    assert_eq!(empty["PopulationSize"], 0);
    assert_eq!(empty["SampledRequests"], json!([]));
    assert_eq!(empty["TimeWindow"]["EndTime"], now);

    struct Fixed;
    impl SampleSource for Fixed {
        fn sampled(
            &self,
            acl: &str,
            metric: &str,
            _s: time::OffsetDateTime,
            _e: time::OffsetDateTime,
            max: u32,
        ) -> (Vec<Value>, u64) {
            assert_eq!(metric, "a");
            assert!(acl.contains("/webacl/a/"));
            (
                vec![
                    json!({"Weight": 1, "Request": {"ClientIP": "192.0.2.1"}});
                    max.min(2) as usize
                ],
                42,
            )
        }
    }
    env.api.set_sample_source(Arc::new(Fixed));
    let got = env.ok("GetSampledRequests", req).await;
    assert_eq!(got["PopulationSize"], 42);
    assert_eq!(got["SampledRequests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn callers_without_permission_are_denied() {
    let env = Env::new().await;
    let nobody = Principal::user(ACCOUNT, "nobody", "AIDANOBODY");
    let e = env
        .call_as(nobody.clone(), "ListWebACLs", json!({"Scope": "REGIONAL"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert!(e.message.contains("wafv2:ListWebACLs"), "{}", e.message);
    let e = env
        .call_as(nobody, "CreateWebACL", acl("x", vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert!(
        e.message.contains(&format!(
            "arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/x/"
        )),
        "{}",
        e.message
    );
    let list = env.ok("ListWebACLs", json!({"Scope": "REGIONAL"})).await;
    assert_eq!(list["WebACLs"], json!([]));
}

#[tokio::test]
async fn unknown_operations_are_refused() {
    let env = Env::new().await;
    let e = env.err("PutManagedRuleSetVersions", json!({})).await;
    assert_eq!(e.code, "UnknownOperationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_keep_names_unique_and_references_sound() {
    let env = Arc::new(Env::new().await);
    // Eight creates of one name: exactly one wins, the others see the duplicate.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { env.call("CreateWebACL", acl("race", vec![])).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code, "WAFDuplicateItemException", "{}", e.message),
        }
    }
    assert_eq!(ok, 1);

    // A delete of an IP set racing creates of web ACLs that reference it: either the set survives
    // and is referenced, or it is gone and no web ACL references it.
    for round in 0..4 {
        let set = env.ip_set(&format!("s{round}"), &["10.0.0.0/8"]).await;
        let arn = s(&set, "ARN");
        let del = json!({"Name": format!("s{round}"), "Scope": "REGIONAL", "Id": s(&set, "Id"),
                         "LockToken": s(&set, "LockToken")});
        let creator = {
            let env = env.clone();
            let arn = arn.clone();
            tokio::spawn(async move {
                env.call(
                    "CreateWebACL",
                    acl(&format!("r{round}"), vec![ip_rule("ip", 0, &arn)]),
                )
                .await
            })
        };
        let deleter = {
            let env = env.clone();
            tokio::spawn(async move { env.call("DeleteIPSet", del).await })
        };
        let (created, deleted) = (creator.await.unwrap(), deleter.await.unwrap());
        assert!(
            created.is_ok() != deleted.is_ok(),
            "round {round}: {created:?} / {deleted:?}"
        );
        if let Err(e) = &created {
            assert_eq!(e.code, "WAFNonexistentItemException");
        }
        if let Err(e) = &deleted {
            assert_eq!(e.code, "WAFAssociatedItemException");
        }
    }
}
