//! Per-listener web ACLs, WAF logs (AWS format, redaction, filters), sampled requests and metrics, end to end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use portcullis_waf_proxy::{
    AclInspector, InspectorCell, ListenerConfig, LogSink, LoggingConfig, MemorySink, RouteConfig,
};
use serde_json::{Value, json};

use super::*;

const ACCOUNT_ARN: &str = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl";

fn arn(name: &str) -> String {
    format!("{ACCOUNT_ARN}/{name}/id-{name}")
}

/// A web ACL named `name`: `/admin` blocked (labelled), `/tea` blocked with 418, header `x-count: yes` counted
/// (labelled), `/quiet` blocked by a rule without metrics or samples; default Allow inserting `x-amzn-waf-seen`.
fn acl(name: &str) -> (portcullis_waf_model::WebAcl, AclInspector) {
    let vis = |m: String, on: bool| json!({"SampledRequestsEnabled": on, "CloudWatchMetricsEnabled": on, "MetricName": m});
    let uri = |b64: &str| {
        json!({"ByteMatchStatement": {"SearchString": b64, "FieldToMatch": {"UriPath": {}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}})
    };
    let doc = json!({
        "Name": name, "Id": format!("id-{name}"), "ARN": arn(name),
        "DefaultAction": {"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "seen", "Value": "1"}]}}},
        "VisibilityConfig": vis(format!("{name}-acl"), true),
        "Rules": [
            {"Name": "admin", "Priority": 0, "VisibilityConfig": vis(format!("{name}-admin"), true),
             "Statement": uri("L2FkbWlu"), "Action": {"Block": {}}, "RuleLabels": [{"Name": "admin:hit"}]},
            {"Name": "teapot", "Priority": 1, "VisibilityConfig": vis(format!("{name}-teapot"), true),
             "Statement": uri("L3RlYQ=="), "Action": {"Block": {"CustomResponse": {"ResponseCode": 418}}}},
            {"Name": "counter", "Priority": 2, "VisibilityConfig": vis(format!("{name}-counter"), true),
             "Statement": {"ByteMatchStatement": {"SearchString": "eWVz",
                "FieldToMatch": {"SingleHeader": {"Name": "x-count"}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}},
             "Action": {"Count": {}}, "RuleLabels": [{"Name": "counted"}]},
            {"Name": "quiet", "Priority": 3, "VisibilityConfig": vis(format!("{name}-quiet"), false),
             "Statement": uri("L3F1aWV0"), "Action": {"Block": {}}}
        ]
    });
    let model = portcullis_waf_model::WebAcl::from_value(doc).unwrap();
    let compiled = portcullis_waf_core::CompiledAcl::compile(
        &model,
        &portcullis_waf_core::Resources::default(),
    )
    .unwrap();
    let inspector = AclInspector::local(compiled).with_web_acl(&model);
    (model, inspector)
}

fn listener(name: &str, pool: &str, inspector: Option<InspectorCell>) -> ListenerConfig {
    let mut l = ListenerConfig::new(name, "127.0.0.1:0".parse().unwrap());
    l.routes = vec![RouteConfig {
        host: None,
        path_prefix: "/".into(),
        pool: pool.into(),
    }];
    l.inspector = inspector;
    l
}

/// A proxy whose one listener runs the web ACL `name`, logging to a memory sink with `logging` (JSON).
async fn logged_proxy(
    name: &str,
    logging: Option<Value>,
) -> (ProxyHandle, Arc<MemorySink>, Arc<Upstream>) {
    let up = upstream("a").await;
    let (_, inspector) = acl(name);
    let proxy = start(config(vec![up.addr]), inspector).await;
    let sink = Arc::new(MemorySink::default());
    let cfg = logging
        .unwrap_or_else(|| json!({"ResourceArn": arn(name), "LogDestinationConfigs": ["x"]}));
    proxy.logging().put_json(&cfg, sink.clone()).unwrap();
    (proxy, sink, up)
}

fn header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["httpRequest"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .and_then(|h| h["value"].as_str())
}

#[tokio::test]
async fn each_listener_runs_its_own_web_acl() {
    let up = upstream("a").await;
    let (_, strict) = acl("strict");
    let own = InspectorCell::new(Arc::new(strict));
    let mut cfg = config(vec![up.addr]);
    cfg.listeners = vec![
        listener("open", "app", None),
        listener("guarded", "app", Some(own.clone())),
    ];
    let proxy = start(cfg, allow_all()).await;
    let c = client();
    let open = proxy.local_addr("open").unwrap();
    let guarded = proxy.local_addr("guarded").unwrap();
    assert_eq!(get(&c, open, "/admin", &[]).await.0, 200);
    assert_eq!(get(&c, guarded, "/admin", &[]).await.0, 403);
    assert!(proxy.inspector_for("nope").is_none());

    // Swapping one listener's cell leaves the other alone; the default cell serves the listener without one.
    proxy
        .inspector_for("guarded")
        .unwrap()
        .swap(Arc::new(allow_all()));
    assert_eq!(get(&c, guarded, "/admin", &[]).await.0, 200);
    proxy
        .inspector()
        .swap(Arc::new(|_: &WafRequest| Ok(Decision::block())));
    assert_eq!(get(&c, open, "/x", &[]).await.0, 403);
    assert_eq!(get(&c, guarded, "/x", &[]).await.0, 200);
    // The kept cell is the listener's cell.
    own.swap(Arc::new(|_: &WafRequest| Ok(Decision::block())));
    assert_eq!(get(&c, guarded, "/x", &[]).await.0, 403);
    proxy.shutdown().await;
}

#[tokio::test]
async fn log_records_follow_the_aws_format() {
    let (proxy, sink, _up) = logged_proxy("fmt", None).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    assert_eq!(
        get(&c, addr, "/admin/x?a=1&b=2", &[("user-agent", "t/1")])
            .await
            .0,
        403
    );
    assert_eq!(get(&c, addr, "/ok?q=v", &[("x-count", "yes")]).await.0, 200);
    assert_eq!(get(&c, addr, "/tea", &[]).await.0, 418);
    let logs = sink.json();
    assert_eq!(logs.len(), 3, "{logs:#?}");

    let block = &logs[0];
    assert!(block["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(block["formatVersion"], 1);
    assert_eq!(block["webaclId"], arn("fmt"));
    assert_eq!(block["terminatingRuleId"], "admin");
    assert_eq!(block["terminatingRuleType"], "REGULAR");
    assert_eq!(block["action"], "BLOCK");
    assert_eq!(block["terminatingRuleMatchDetails"], json!([]));
    assert_eq!(block["httpSourceName"], "ALB");
    assert_eq!(block["httpSourceId"], "web");
    assert_eq!(block["ruleGroupList"], json!([]));
    assert_eq!(block["rateBasedRuleList"], json!([]));
    assert_eq!(block["nonTerminatingMatchingRules"], json!([]));
    assert_eq!(block["requestHeadersInserted"], Value::Null);
    assert_eq!(block["responseCodeSent"], Value::Null);
    let http = &block["httpRequest"];
    assert_eq!(http["clientIp"], "127.0.0.1");
    assert_eq!(http["country"], "-");
    assert_eq!(http["uri"], "/admin/x");
    assert_eq!(http["args"], "a=1&b=2");
    assert_eq!(http["httpVersion"], "HTTP/1.1");
    assert_eq!(http["httpMethod"], "GET");
    assert!(!http["requestId"].as_str().unwrap().is_empty());
    assert_eq!(header(block, "user-agent"), Some("t/1"));
    assert_eq!(
        block["labels"],
        json!([{"name": "awswaf:111122223333:webacl:fmt:admin:hit"}])
    );
    assert!(block.get("captchaResponse").is_none());

    let allow = &logs[1];
    assert_eq!(allow["action"], "ALLOW");
    assert_eq!(allow["terminatingRuleId"], "Default_Action");
    assert_eq!(allow["terminatingRuleType"], "REGULAR");
    assert_eq!(
        allow["nonTerminatingMatchingRules"],
        json!([{"ruleId": "counter", "action": "COUNT", "ruleMatchDetails": []}])
    );
    assert_eq!(
        allow["requestHeadersInserted"],
        json!([{"name": "x-amzn-waf-seen", "value": "1"}])
    );
    assert_eq!(
        allow["labels"],
        json!([{"name": "awswaf:111122223333:webacl:fmt:counted"}])
    );
    assert_eq!(allow["httpRequest"]["args"], "q=v");
    assert_ne!(
        allow["httpRequest"]["requestId"],
        block["httpRequest"]["requestId"]
    );

    assert_eq!(logs[2]["terminatingRuleId"], "teapot");
    assert_eq!(logs[2]["responseCodeSent"], 418);
    proxy.shutdown().await;
}

#[tokio::test]
async fn file_sink_appends_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("waf.log");
    std::fs::write(&path, "earlier line\n").unwrap();
    let up = upstream("a").await;
    let (_, inspector) = acl("file");
    let proxy = start(config(vec![up.addr]), inspector).await;
    let sink = Arc::new(portcullis_waf_proxy::FileSink::open(&path).unwrap());
    proxy
        .logging()
        .put(LoggingConfig::keep_all(&arn("file")), sink.clone());
    let addr = proxy.local_addrs()[0];
    let c = client();
    for p in ["/admin", "/a", "/b"] {
        get(&c, addr, p, &[]).await;
    }
    sink.flush();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "earlier line");
    let first: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(first["action"], "BLOCK");
    let last: Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(last["httpRequest"]["uri"], "/b");
    assert_eq!(sink.dropped(), 0);
    // Deleting the configuration stops logging at once.
    assert!(proxy.logging().delete(&arn("file")));
    get(&c, addr, "/c", &[]).await;
    sink.flush();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    proxy.shutdown().await;
}

#[tokio::test]
async fn redacted_fields_are_replaced() {
    let cfg = json!({"LoggingConfiguration": {
        "ResourceArn": arn("red"), "LogDestinationConfigs": ["arn:aws:logs:x"],
        "RedactedFields": [{"SingleHeader": {"Name": "Authorization"}}, {"UriPath": {}},
            {"QueryString": {}}, {"Method": {}}]}});
    let (proxy, sink, _up) = logged_proxy("red", Some(cfg)).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    get(
        &c,
        addr,
        "/secret/path?token=abc",
        &[("authorization", "Bearer s3cr3t"), ("x-other", "visible")],
    )
    .await;
    let logs = sink.json();
    assert_eq!(logs.len(), 1);
    let r = &logs[0];
    assert_eq!(header(r, "authorization"), Some("REDACTED"));
    assert_eq!(header(r, "x-other"), Some("visible"), "other headers stay");
    assert_eq!(r["httpRequest"]["uri"], "REDACTED");
    assert_eq!(r["httpRequest"]["args"], "REDACTED");
    assert_eq!(r["httpRequest"]["httpMethod"], "REDACTED");
    let line = sink.records()[0].to_line();
    assert!(!line.contains("s3cr3t") && !line.contains("token=abc") && !line.contains("/secret"));

    // Not redacted without the configuration.
    proxy.logging().put(
        LoggingConfig::keep_all(&arn("red")),
        sink.clone() as Arc<dyn LogSink>,
    );
    get(
        &c,
        addr,
        "/secret/path?token=abc",
        &[("authorization", "Bearer s3cr3t")],
    )
    .await;
    let r = &sink.json()[1];
    assert_eq!(header(r, "authorization"), Some("Bearer s3cr3t"));
    assert_eq!(r["httpRequest"]["uri"], "/secret/path");
    proxy.shutdown().await;
}

#[tokio::test]
async fn logging_filters_keep_and_drop() {
    // Keep only blocked requests.
    let keep_blocks = json!({"ResourceArn": arn("flt"), "LogDestinationConfigs": ["x"],
        "LoggingFilter": {"DefaultBehavior": "DROP", "Filters": [{"Behavior": "KEEP", "Requirement": "MEETS_ANY",
            "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}]}});
    let (proxy, sink, _up) = logged_proxy("flt", Some(keep_blocks)).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    get(&c, addr, "/a", &[]).await;
    get(&c, addr, "/admin", &[]).await;
    get(&c, addr, "/b", &[("x-count", "yes")]).await;
    let logs = sink.json();
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert_eq!(logs[0]["action"], "BLOCK");

    // Keep everything except requests counted *and* labelled `counted` (MEETS_ALL), switched at run time.
    let drop_counted = json!({"ResourceArn": arn("flt"), "LogDestinationConfigs": ["x"],
        "LoggingFilter": {"DefaultBehavior": "KEEP", "Filters": [{"Behavior": "DROP", "Requirement": "MEETS_ALL",
            "Conditions": [{"ActionCondition": {"Action": "COUNT"}},
                {"LabelNameCondition": {"LabelName": "awswaf:111122223333:webacl:flt:counted"}}]}]}});
    let sink2 = Arc::new(MemorySink::default());
    proxy.logging().put(
        LoggingConfig::from_json(&drop_counted).unwrap(),
        sink2.clone(),
    );
    get(&c, addr, "/c", &[("x-count", "yes")]).await; // dropped
    get(&c, addr, "/d", &[]).await; // kept: default
    get(&c, addr, "/admin", &[]).await; // kept: not counted
    let logs = sink2.json();
    let uris: Vec<&str> = logs
        .iter()
        .map(|r| r["httpRequest"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["/d", "/admin"]);
    assert_eq!(sink.json().len(), 1, "the old sink gets nothing more");
    proxy.shutdown().await;
}

#[tokio::test]
async fn sampled_requests_and_population() {
    let up = upstream("a").await;
    let (_, inspector) = acl("smp");
    let proxy = start(config(vec![up.addr]), inspector).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    let t0 = SystemTime::now() - Duration::from_secs(1);
    for i in 0..30 {
        get(&c, addr, &format!("/admin/{i}"), &[("x-n", &i.to_string())]).await;
    }
    for i in 0..12 {
        get(&c, addr, &format!("/ok/{i}"), &[("x-count", "yes")]).await;
    }
    for _ in 0..5 {
        get(&c, addr, "/quiet", &[]).await;
    }
    let t1 = SystemTime::now() + Duration::from_secs(1);
    let s = proxy.samples();
    let arn = arn("smp");

    let (items, population) = s.query(&arn, "smp-admin", t0, t1, 10);
    assert_eq!(population, 30);
    assert_eq!(items.len(), 10);
    let first = &items[0];
    assert_eq!(first["Action"], "BLOCK");
    assert_eq!(first["Weight"], 1);
    assert_eq!(first["Request"]["ClientIP"], "127.0.0.1");
    assert_eq!(first["Request"]["Method"], "GET");
    assert_eq!(first["Request"]["HTTPVersion"], "HTTP/1.1");
    assert!(
        first["Request"]["URI"]
            .as_str()
            .unwrap()
            .starts_with("/admin/")
    );
    assert!(
        first["Request"]["Headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["Name"] == "x-n")
    );
    assert_eq!(
        first["Labels"],
        json!([{"Name": "awswaf:111122223333:webacl:smp:admin:hit"}])
    );
    assert!(first["Timestamp"].as_f64().unwrap() > 1.6e9);
    let times: Vec<f64> = items
        .iter()
        .map(|i| i["Timestamp"].as_f64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time order");

    // Default action (the web ACL's metric name) and the counting rule.
    let (items, population) = s.query(&arn, "smp-acl", t0, t1, 500);
    assert_eq!((items.len(), population), (12, 12));
    assert_eq!(items[0]["Action"], "ALLOW");
    assert_eq!(
        items[0]["RequestHeadersInserted"],
        json!([{"Name": "x-amzn-waf-seen", "Value": "1"}])
    );
    let (items, population) = s.query(&arn, "smp-counter", t0, t1, 500);
    assert_eq!((items.len(), population), (12, 12));
    assert_eq!(items[0]["Action"], "COUNT");

    // A rule with SampledRequestsEnabled=false keeps nothing; a window in the past is empty.
    assert_eq!(s.query(&arn, "smp-quiet", t0, t1, 500), (Vec::new(), 0));
    let long_ago = t0 - Duration::from_secs(600);
    assert_eq!(
        s.query(
            &arn,
            "smp-admin",
            long_ago,
            long_ago + Duration::from_secs(1),
            500
        )
        .1,
        0
    );
    proxy.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics: a process-wide test recorder (the test binary's tests run in parallel, so each test uses its own
// web ACL, pool and listener names).

#[derive(Default)]
struct TestRecorder {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<String, Arc<HistCount>>>,
}

#[derive(Default)]
struct HistCount(AtomicU64);

impl metrics::HistogramFn for HistCount {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn key_text(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let c = self
            .counters
            .lock()
            .unwrap()
            .entry(key_text(key))
            .or_default()
            .clone();
        Counter::from_arc(c)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let h = self
            .histograms
            .lock()
            .unwrap()
            .entry(key_text(key))
            .or_default()
            .clone();
        Histogram::from_arc(h)
    }
}

fn recorder() -> &'static TestRecorder {
    static REC: OnceLock<&'static TestRecorder> = OnceLock::new();
    REC.get_or_init(|| {
        let rec: &'static TestRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(rec).expect("no other recorder in this test binary");
        rec
    })
}

pub(super) fn counter(text: &str) -> u64 {
    recorder()
        .counters
        .lock()
        .unwrap()
        .get(text)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

fn waf(acl: &str, rule: &str, action: &str) -> u64 {
    counter(&format!(
        "portcullis_waf_requests_total{{action={action},rule={rule},web_acl={acl}}}"
    ))
}

#[tokio::test]
async fn metrics_counters_move() {
    let rec = recorder();
    let up = upstream("a").await;
    let dead = dead_addr().await;
    let (_, inspector) = acl("met");
    let mut cfg = config(vec![up.addr]);
    let mut down = PoolConfig::new("met-down", vec![dead]);
    down.retries = 0;
    cfg.pools = vec![PoolConfig::new("met-pool", vec![up.addr]), down];
    let mut l = listener("met-l", "met-pool", None);
    l.routes.insert(
        0,
        RouteConfig {
            host: None,
            path_prefix: "/down".into(),
            pool: "met-down".into(),
        },
    );
    cfg.listeners = vec![l];
    cfg.limits.header_read_timeout = Duration::from_millis(500);
    let proxy = start(cfg, inspector).await;
    let addr = proxy.local_addrs()[0];
    let c = client();
    for _ in 0..3 {
        get(&c, addr, "/admin", &[]).await;
    }
    for _ in 0..2 {
        get(&c, addr, "/x", &[("x-count", "yes")]).await;
    }
    get(&c, addr, "/quiet", &[]).await;
    assert_eq!(get(&c, addr, "/down", &[]).await.0, 502);

    assert_eq!(waf("met-acl", "ALL", "blocked"), 4);
    assert_eq!(waf("met-acl", "ALL", "allowed"), 3);
    assert_eq!(waf("met-acl", "met-admin", "blocked"), 3);
    assert_eq!(waf("met-acl", "met-counter", "counted"), 2);
    assert_eq!(waf("met-acl", "met-acl", "allowed"), 3, "default action");
    assert_eq!(
        waf("met-acl", "met-quiet", "blocked"),
        0,
        "CloudWatchMetricsEnabled=false"
    );
    assert_eq!(
        counter("portcullis_waf_upstream_errors_total{kind=connect,pool=met-down}"),
        1
    );
    let latency = rec
        .histograms
        .lock()
        .unwrap()
        .get("portcullis_waf_upstream_duration_seconds{pool=met-pool}")
        .map_or(0, |h| h.0.load(Ordering::Relaxed));
    assert_eq!(latency, 2, "two requests reached the upstream");

    // Hygiene rejections.
    let resp = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert_eq!(
        counter("portcullis_waf_rejected_requests_total{listener=met-l,reason=smuggling}"),
        1
    );
    // A head too large for hyper, and a head that never ends.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let resp = raw(addr, big.as_bytes()).await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");
    let resp = raw(addr, b"GET / HTTP/1.1\r\nHost: a\r\n").await;
    assert_eq!(resp, "", "closed without an answer");
    wait_for(|| {
        counter("portcullis_waf_rejected_requests_total{listener=met-l,reason=header_timeout}") == 1
    })
    .await;
    assert_eq!(
        counter("portcullis_waf_rejected_requests_total{listener=met-l,reason=head_too_large}"),
        1
    );
    proxy.shutdown().await;
}
