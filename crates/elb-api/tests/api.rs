//! The ELBv2 service end to end through [`ElbService::call`] against a real SQLite store: the lifecycle of load
//! balancers, target groups, listeners and rules, the documented errors, cascades, the revision the proxy nodes
//! poll, the health a node reports, and authorization.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_elb_api::{ElbApi, ElbService, HealthSource};
use portcullis_http::auth::{Caller, CredentialSource};
use portcullis_http::{ApiRequest, AwsService};
use portcullis_iam::policy::Principal;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

struct Env {
    api: ElbApi,
    svc: ElbService,
    _dir: tempfile::TempDir,
}

/// The text of the first `<tag>` element.
fn get<'a>(xml: &'a str, tag: &str) -> &'a str {
    all(xml, tag)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
}

/// The texts of every `<tag>` element.
fn all<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &xml[i + open.len()..];
            rest.find(&close).map(|j| &rest[..j])
        })
        .collect()
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let mut api = ElbApi::new(store.clone(), Authorizer::new(Repo::new(store)));
        api.probe_ports = false;
        Env {
            svc: ElbService(api.clone()),
            api,
            _dir: dir,
        }
    }

    async fn call_as(
        &self,
        principal: Principal,
        params: &[(&str, &str)],
    ) -> Result<String, (String, String)> {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let body: String = params
            .iter()
            .chain(std::iter::once(&("Version", "2015-12-01")))
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        let req = ApiRequest {
            request_id: "req-1".into(),
            method: http::Method::POST,
            uri: http::Uri::from_static("/"),
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
            Ok(r) => {
                assert_eq!(out.operation, params[0].1);
                let text = String::from_utf8(r.body.to_vec()).unwrap();
                assert!(text.contains(
                    "xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\""
                ));
                Ok(text)
            }
            Err(e) => Err((e.code, e.message)),
        }
    }

    async fn ok(&self, params: &[(&str, &str)]) -> String {
        self.call_as(Principal::root(ACCOUNT), params)
            .await
            .unwrap_or_else(|e| panic!("{params:?}: {e:?}"))
    }

    async fn err(&self, params: &[(&str, &str)]) -> String {
        match self.call_as(Principal::root(ACCOUNT), params).await {
            Ok(body) => panic!("{params:?} succeeded: {body}"),
            Err((code, _)) => code,
        }
    }

    async fn lb(&self, name: &str) -> String {
        let r = self
            .ok(&[
                ("Action", "CreateLoadBalancer"),
                ("Name", name),
                ("Scheme", "internal"),
            ])
            .await;
        get(&r, "LoadBalancerArn").to_owned()
    }

    async fn tg(&self, name: &str) -> String {
        let r = self
            .ok(&[
                ("Action", "CreateTargetGroup"),
                ("Name", name),
                ("Protocol", "HTTP"),
                ("Port", "8080"),
            ])
            .await;
        get(&r, "TargetGroupArn").to_owned()
    }

    async fn listener(&self, lb: &str, port: &str, tg: &str) -> Result<String, String> {
        self.call_as(
            Principal::root(ACCOUNT),
            &[
                ("Action", "CreateListener"),
                ("LoadBalancerArn", lb),
                ("Protocol", "HTTP"),
                ("Port", port),
                ("DefaultActions.member.1.Type", "forward"),
                ("DefaultActions.member.1.TargetGroupArn", tg),
            ],
        )
        .await
        .map(|r| get(&r, "ListenerArn").to_owned())
        .map_err(|(code, _)| code)
    }
}

#[tokio::test]
async fn lifecycle_cascades_and_revisions() {
    let env = Env::new().await;
    let rev0 = env.api.revision().await.unwrap();
    let lb = env.lb("web").await;
    assert!(
        lb.starts_with("arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/")
    );
    let tg = env.tg("app").await;
    env.ok(&[
        ("Action", "RegisterTargets"),
        ("TargetGroupArn", &tg),
        ("Targets.member.1.Id", "10.0.0.1"),
    ])
    .await;
    let l = env.listener(&lb, "8081", &tg).await.unwrap();
    let rule = env
        .ok(&[
            ("Action", "CreateRule"),
            ("ListenerArn", &l),
            ("Priority", "5"),
            ("Conditions.member.1.Field", "path-pattern"),
            ("Conditions.member.1.Values.member.1", "/api/*"),
            ("Actions.member.1.Type", "forward"),
            ("Actions.member.1.TargetGroupArn", &tg),
        ])
        .await;
    assert_eq!(get(&rule, "Priority"), "5");
    let rev1 = env.api.revision().await.unwrap();
    assert_eq!(rev1, rev0 + 5, "every write bumps the revision once");
    let rules = env
        .ok(&[("Action", "DescribeRules"), ("ListenerArn", &l)])
        .await;
    assert_eq!(all(&rules, "Priority"), ["5", "default"]);
    assert_eq!(all(&rules, "IsDefault"), ["false", "true"]);
    let tgs = env
        .ok(&[("Action", "DescribeTargetGroups"), ("LoadBalancerArn", &lb)])
        .await;
    assert_eq!(get(&tgs, "TargetGroupArn"), tg);
    assert_eq!(
        env.api.revision().await.unwrap(),
        rev1,
        "reads do not bump it"
    );
    assert_eq!(
        env.err(&[("Action", "DeleteTargetGroup"), ("TargetGroupArn", &tg)])
            .await,
        "ResourceInUse"
    );
    env.ok(&[("Action", "DeleteLoadBalancer"), ("LoadBalancerArn", &lb)])
        .await;
    let world = &env.api.worlds().await.unwrap()[0];
    assert!(
        world.listeners.is_empty() && world.rules.is_empty() && world.load_balancers.is_empty()
    );
    assert_eq!(
        env.err(&[
            ("Action", "DescribeListeners"),
            ("ListenerArns.member.1", &l)
        ])
        .await,
        "ListenerNotFound"
    );
    env.ok(&[("Action", "DeleteTargetGroup"), ("TargetGroupArn", &tg)])
        .await;
    // Deleting a target group that is gone succeeds, as at AWS.
    env.ok(&[("Action", "DeleteTargetGroup"), ("TargetGroupArn", &tg)])
        .await;
}

#[tokio::test]
async fn documented_errors() {
    let env = Env::new().await;
    let a = env.lb("a").await;
    let b = env.lb("b").await;
    let tg = env.tg("t").await;
    assert_eq!(
        env.err(&[("Action", "CreateLoadBalancer"), ("Name", "a")])
            .await,
        "DuplicateLoadBalancerName"
    );
    assert_eq!(
        env.err(&[("Action", "CreateLoadBalancer")]).await,
        "ValidationError"
    );
    assert_eq!(
        env.err(&[
            ("Action", "CreateLoadBalancer"),
            ("Name", "c"),
            ("Scheme", "x")
        ])
        .await,
        "InvalidScheme"
    );
    assert_eq!(
        env.err(&[
            ("Action", "CreateTargetGroup"),
            ("Name", "t"),
            ("Protocol", "HTTP"),
            ("Port", "80")
        ])
        .await,
        "DuplicateTargetGroupName"
    );
    let l = env.listener(&a, "9000", &tg).await.unwrap();
    assert_eq!(
        env.listener(&a, "9000", &tg).await.unwrap_err(),
        "DuplicateListener"
    );
    assert_eq!(
        env.listener(&b, "9000", &tg).await.unwrap_err(),
        "DuplicateListener",
        "one port across load balancers"
    );
    assert_eq!(
        env.listener(&b, "9001", &format!("{tg}x"))
            .await
            .unwrap_err(),
        "TargetGroupNotFound"
    );
    let missing_lb = format!("{}ffffffffffffffff", &a[..a.len() - 16]);
    assert_eq!(
        env.listener(&missing_lb, "9002", &tg).await.unwrap_err(),
        "LoadBalancerNotFound"
    );
    let create_rule = |priority: &'static str| {
        vec![
            ("Action", "CreateRule"),
            ("ListenerArn", l.as_str()),
            ("Priority", priority),
            ("Conditions.member.1.Field", "host-header"),
            (
                "Conditions.member.1.HostHeaderConfig.Values.member.1",
                "shop.example",
            ),
            ("Actions.member.1.Type", "fixed-response"),
            ("Actions.member.1.FixedResponseConfig.StatusCode", "404"),
        ]
    };
    env.ok(&create_rule("1")).await;
    assert_eq!(env.err(&create_rule("1")).await, "PriorityInUse");
    let rules = env
        .ok(&[("Action", "DescribeRules"), ("ListenerArn", &l)])
        .await;
    let default_rule = all(&rules, "RuleArn")[1].to_owned();
    assert_eq!(
        env.err(&[("Action", "DeleteRule"), ("RuleArn", &default_rule)])
            .await,
        "OperationNotPermitted"
    );
    let described = env
        .ok(&[
            ("Action", "DescribeRules"),
            ("RuleArns.member.1", &default_rule),
        ])
        .await;
    assert_eq!(get(&described, "IsDefault"), "true");
    assert_eq!(
        env.err(&[
            ("Action", "DeleteRule"),
            (
                "RuleArn",
                &format!("{l}/0000000000000000").replace(":listener/", ":listener-rule/")
            )
        ])
        .await,
        "RuleNotFound"
    );
    assert_eq!(
        env.err(&[
            ("Action", "ModifyListener"),
            ("ListenerArn", &l),
            ("Protocol", "TCP"),
        ])
        .await,
        "UnsupportedProtocol"
    );
    assert_eq!(
        env.err(&[
            ("Action", "RegisterTargets"),
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "i-1")
        ])
        .await,
        "InvalidTarget"
    );
    assert_eq!(
        env.err(&[
            ("Action", "AddTags"),
            ("ResourceArns.member.1", &tg),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.2.Key", "k")
        ])
        .await,
        "DuplicateTagKeys"
    );
    assert_eq!(
        env.err(&[
            ("Action", "DescribeTags"),
            ("ResourceArns.member.1", &missing_lb)
        ])
        .await,
        "LoadBalancerNotFound"
    );
    assert_eq!(env.err(&[("Action", "Frobnicate")]).await, "InvalidAction");
}

#[tokio::test]
async fn paging_walks_every_load_balancer_once() {
    let env = Env::new().await;
    for i in 0..5 {
        env.lb(&format!("lb{i}")).await;
    }
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut p = vec![("Action", "DescribeLoadBalancers"), ("PageSize", "2")];
        if let Some(m) = &marker {
            p.push(("Marker", m.as_str()));
        }
        let r = env.ok(&p).await;
        names.extend(all(&r, "LoadBalancerName").into_iter().map(str::to_owned));
        marker = all(&r, "NextMarker").first().map(|s| s.to_string());
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(names, ["lb0", "lb1", "lb2", "lb3", "lb4"]);
}

struct Fake;

#[async_trait::async_trait]
impl HealthSource for Fake {
    async fn pool_health(&self, _tg: &str) -> Option<Vec<(SocketAddr, bool)>> {
        Some(vec![
            ("10.0.0.1:8080".parse().unwrap(), true),
            ("10.0.0.2:8080".parse().unwrap(), false),
        ])
    }
}

#[tokio::test]
async fn target_health_comes_from_the_node() {
    let env = Env::new().await;
    let tg = env.tg("t").await;
    env.ok(&[
        ("Action", "RegisterTargets"),
        ("TargetGroupArn", &tg),
        ("Targets.member.1.Id", "10.0.0.1"),
        ("Targets.member.2.Id", "10.0.0.2"),
        ("Targets.member.3.Id", "10.0.0.3"),
    ])
    .await;
    let health = env
        .ok(&[("Action", "DescribeTargetHealth"), ("TargetGroupArn", &tg)])
        .await;
    assert_eq!(all(&health, "State"), ["unused", "unused", "unused"]);
    let lb = env.lb("l").await;
    env.listener(&lb, "8000", &tg).await.unwrap();
    let health = env
        .ok(&[("Action", "DescribeTargetHealth"), ("TargetGroupArn", &tg)])
        .await;
    assert_eq!(
        all(&health, "State"),
        ["initial", "initial", "initial"],
        "no node reports yet"
    );
    env.api.set_health_source(Arc::new(Fake));
    let health = env
        .ok(&[("Action", "DescribeTargetHealth"), ("TargetGroupArn", &tg)])
        .await;
    assert_eq!(all(&health, "State"), ["healthy", "unhealthy", "initial"]);
    env.ok(&[
        ("Action", "ModifyTargetGroup"),
        ("TargetGroupArn", &tg),
        ("HealthCheckEnabled", "false"),
    ])
    .await;
    let health = env
        .ok(&[("Action", "DescribeTargetHealth"), ("TargetGroupArn", &tg)])
        .await;
    assert_eq!(
        all(&health, "State"),
        ["unavailable", "unavailable", "unavailable"]
    );
}

#[tokio::test]
async fn callers_need_elasticloadbalancing_permissions() {
    let env = Env::new().await;
    let nobody = Principal::user(ACCOUNT, "nobody", "AIDANOBODY");
    for params in [
        vec![("Action", "CreateLoadBalancer"), ("Name", "x")],
        vec![("Action", "DescribeLoadBalancers")],
        vec![
            ("Action", "CreateTargetGroup"),
            ("Name", "t"),
            ("Protocol", "HTTP"),
            ("Port", "80"),
        ],
    ] {
        let (code, message) = env.call_as(nobody.clone(), &params).await.unwrap_err();
        assert_eq!(code, "AccessDenied");
        assert!(message.contains("elasticloadbalancing:"), "{message}");
    }
    assert!(
        env.api.worlds().await.unwrap().is_empty(),
        "nothing was written"
    );
}

#[tokio::test]
async fn rules_are_modified_and_reprioritised() {
    let env = Env::new().await;
    let lb = env.lb("r").await;
    let tg = env.tg("t").await;
    let l = env.listener(&lb, "7000", &tg).await.unwrap();
    let mut arns = Vec::new();
    for (priority, path) in [("1", "/a"), ("2", "/b")] {
        let r = env
            .ok(&[
                ("Action", "CreateRule"),
                ("ListenerArn", &l),
                ("Priority", priority),
                ("Conditions.member.1.Field", "path-pattern"),
                ("Conditions.member.1.Values.member.1", path),
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", &tg),
            ])
            .await;
        arns.push(get(&r, "RuleArn").to_owned());
    }
    let m = env
        .ok(&[
            ("Action", "ModifyRule"),
            ("RuleArn", &arns[0]),
            ("Conditions.member.1.Field", "path-pattern"),
            ("Conditions.member.1.Values.member.1", "/c/*"),
        ])
        .await;
    assert_eq!(get(&m, "Values"), "<member>/c/*</member>");
    let swapped = env
        .ok(&[
            ("Action", "SetRulePriorities"),
            ("RulePriorities.member.1.RuleArn", &arns[0]),
            ("RulePriorities.member.1.Priority", "2"),
            ("RulePriorities.member.2.RuleArn", &arns[1]),
            ("RulePriorities.member.2.Priority", "1"),
        ])
        .await;
    assert_eq!(all(&swapped, "RuleArn").len(), 2);
    let rules = env
        .ok(&[("Action", "DescribeRules"), ("ListenerArn", &l)])
        .await;
    assert_eq!(
        all(&rules, "RuleArn")[..2],
        [arns[1].as_str(), arns[0].as_str()]
    );
    assert_eq!(
        env.err(&[
            ("Action", "SetRulePriorities"),
            ("RulePriorities.member.1.RuleArn", &arns[0]),
            ("RulePriorities.member.1.Priority", "1"),
        ])
        .await,
        "PriorityInUse"
    );
    let default_rule = all(&rules, "RuleArn")[2].to_owned();
    assert_eq!(
        env.err(&[
            ("Action", "ModifyRule"),
            ("RuleArn", &default_rule),
            ("Actions.member.1.Type", "fixed-response"),
            ("Actions.member.1.FixedResponseConfig.StatusCode", "200")
        ])
        .await,
        "OperationNotPermitted"
    );
    env.ok(&[("Action", "DeleteLoadBalancer"), ("LoadBalancerArn", &lb)])
        .await;
    // Deleting it again succeeds, as AWS documents.
    env.ok(&[("Action", "DeleteLoadBalancer"), ("LoadBalancerArn", &lb)])
        .await;
}
