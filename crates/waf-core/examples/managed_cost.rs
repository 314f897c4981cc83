//! Cost per request of the web ACL `scripts/waf-proxy-bench.sh` attaches to its "managed" listener (the
//! Portcullis CommonRuleSet, SQLiRuleSet and KnownBadInputsRuleSet groups) on the bench's request shapes.
//!
//! ```text
//! cargo run --release -p portcullis-waf-core --example managed_cost -- [REQUEST] [ITERATIONS]
//! valgrind --tool=callgrind target/release/examples/managed_cost browser-get 1000
//! ```
//! `REQUEST` is a file stem of `bench/waf/requests/*.http` (`simple-get`, `browser-get`, `json-post-1k`) or `all`
//! (default); every verdict is printed once so changes that alter a verdict show up.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_core::{CompiledAcl, EvalEnv, Resources, RuleGroupManaged};
use portcullis_waf_model as m;
use portcullis_waf_request::Request;
use serde_json::json;

const GROUPS: [(&str, &str, &str); 3] = [
    ("portcullis-core.json", "CommonRuleSet", "core-rule-set"),
    (
        "portcullis-sql-database.json",
        "SQLiRuleSet",
        "sql-database",
    ),
    (
        "portcullis-known-bad-inputs.json",
        "KnownBadInputsRuleSet",
        "known-bad-inputs",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn acl() -> CompiledAcl {
    let mut res = Resources::new();
    for (file, name, ns) in GROUPS {
        let json = std::fs::read(root().join("crates/waf-core/rulegroups").join(file)).unwrap();
        let group = m::RuleGroup::from_json(&json).unwrap();
        let managed = RuleGroupManaged::new("Portcullis", ns, group, &res).unwrap();
        res.add_managed_group("Portcullis", name, Arc::new(managed));
    }
    let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
    let rule = |prio: i64, name: &str, extra: Option<serde_json::Value>| {
        let mut st = json!({"VendorName": "Portcullis", "Name": name});
        if let Some(x) = extra {
            st["RuleActionOverrides"] = x;
        }
        json!({"Name": format!("Portcullis-{name}"), "Priority": prio, "OverrideAction": {"None": {}},
            "VisibilityConfig": vis(name), "Statement": {"ManagedRuleGroupStatement": st}})
    };
    let doc = json!({"Name": "bench-managed", "Id": "0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8",
    "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/bench-managed/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8",
    "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("bench-managed"),
    "Rules": [
        rule(0, "CommonRuleSet", Some(json!([{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]))),
        rule(1, "SQLiRuleSet", None),
        rule(2, "KnownBadInputsRuleSet", None),
    ]});
    CompiledAcl::compile(&m::WebAcl::from_value(doc).unwrap(), &res).unwrap()
}

/// Parses a `bench/waf/requests/*.http` file (request line, headers, blank line, body).
fn http_file(path: &Path) -> Request {
    let text = std::fs::read_to_string(path).unwrap().replace("\r\n", "\n");
    let (head, body) = text
        .split_once("\n\n")
        .unwrap_or((text.trim_end_matches('\n'), ""));
    let body = body.strip_suffix('\n').unwrap_or(body);
    let mut lines = head.lines();
    let mut parts = lines.next().unwrap().split(' ');
    let mut b = Request::builder()
        .method(parts.next().unwrap())
        .uri(parts.next().unwrap());
    for line in lines.filter(|l| !l.is_empty()) {
        let (n, v) = line.split_once(':').unwrap();
        b = b.header(n.trim(), v.trim());
    }
    if !body.is_empty() {
        b = b
            .header("Content-Length", body.len().to_string())
            .body(body);
    }
    b.build()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "all".to_owned());
    let iterations: u64 = args.next().map_or(1000, |s| s.parse().unwrap());
    let names: Vec<&str> = match which.as_str() {
        "all" => vec!["simple-get", "browser-get", "json-post-1k"],
        one => vec![one],
    };
    let acl = acl();
    let rate = InMemoryRateCounter::new();
    let env = EvalEnv::new(1_764_000_000_000, &rate);
    for name in names {
        let req = http_file(&root().join(format!("bench/waf/requests/{name}.http")));
        let v = acl.evaluate(&req, &env);
        println!(
            "{name}: {:?} terminating={:?} labels={:?} non_terminating={}",
            v.action.kind(),
            v.terminating_rule.as_ref().map(|t| &t.name),
            v.labels,
            v.non_terminating.len()
        );
        for _ in 0..iterations {
            black_box(acl.evaluate(black_box(&req), &env));
        }
    }
}
