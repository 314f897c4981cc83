//! WAFv2 evaluator: a fixed web ACL using every statement family that needs no external
//! resource, evaluated over arbitrary requests, never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::FuzzRequest;
use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_core::{CompiledAcl, EvalEnv, Resources};
use portcullis_waf_model::WebAcl;
use serde_json::{Value, json};

fn vis(name: &str) -> Value {
    json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name})
}

fn tt(types: &[&str]) -> Value {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"Priority": i, "Type": t}))
        .collect()
}

fn b64(s: &str) -> String {
    // Tiny standard-alphabet encoder; enough for the fixed search strings below.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn rule(name: &str, priority: usize, statement: Value, action: &str, labels: &[&str]) -> Value {
    let labels: Vec<Value> = labels.iter().map(|l| json!({"Name": l})).collect();
    json!({"Name": name, "Priority": priority, "Statement": statement, "Action": {action: {}},
           "RuleLabels": labels, "VisibilityConfig": vis(name)})
}

/// The fields every matching statement is tried on.
fn fields() -> Vec<Value> {
    vec![
        json!({"UriPath": {}}),
        json!({"QueryString": {}}),
        json!({"AllQueryArguments": {}}),
        json!({"SingleQueryArgument": {"Name": "q"}}),
        json!({"SingleHeader": {"Name": "user-agent"}}),
        json!({"Method": {}}),
        json!({"Body": {"OversizeHandling": "CONTINUE"}}),
        json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "ALL",
            "InvalidFallbackBehavior": "EVALUATE_AS_STRING", "OversizeHandling": "CONTINUE"}}),
        json!({"JsonBody": {"MatchPattern": {"IncludedPaths": ["/a", "/b/0"]}, "MatchScope": "VALUE"}}),
        json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "ALL", "OversizeHandling": "CONTINUE"}}),
        json!({"Headers": {"MatchPattern": {"ExcludedHeaders": ["host"]}, "MatchScope": "KEY",
            "OversizeHandling": "MATCH"}}),
        json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "ALL", "OversizeHandling": "CONTINUE"}}),
        json!({"Cookies": {"MatchPattern": {"IncludedCookies": ["s", "id"]}, "MatchScope": "VALUE",
            "OversizeHandling": "NO_MATCH"}}),
        json!({"HeaderOrder": {"OversizeHandling": "CONTINUE"}}),
        json!({"UriFragment": {"FallbackBehavior": "NO_MATCH"}}),
    ]
}

fn acl() -> &'static CompiledAcl {
    static ACL: OnceLock<CompiledAcl> = OnceLock::new();
    ACL.get_or_init(|| {
        let chains: [&[&str]; 3] = [
            &["NONE"],
            &["URL_DECODE_UNI", "HTML_ENTITY_DECODE", "LOWERCASE"],
            &["BASE64_DECODE_EXT", "CMD_LINE", "COMPRESS_WHITE_SPACE", "JS_DECODE", "CSS_DECODE"],
        ];
        let levels = ["HIGH", "LOW"];
        let ops = ["GT", "LE", "EQ", "NE", "LT", "GE"];
        let positions = ["EXACTLY", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "CONTAINS_WORD"];
        let mut rules = Vec::new();
        let mut p = 0;
        let mut next = || {
            p += 1;
            p
        };
        for (i, f) in fields().into_iter().enumerate() {
            let t = tt(chains[i % chains.len()]);
            let pos = positions[i % positions.len()];
            rules.push(rule(&format!("byte{i}"), next(), json!({"ByteMatchStatement": {
                "SearchString": b64("admin"), "FieldToMatch": f, "PositionalConstraint": pos,
                "TextTransformations": t}}), "Count", &["seen:byte"]));
            rules.push(rule(&format!("regex{i}"), next(), json!({"RegexMatchStatement": {
                "RegexString": "(?i)(union|select).{0,20}from|^/a[0-9]+/", "FieldToMatch": f,
                "TextTransformations": t}}), "Count", &["seen:regex"]));
            rules.push(rule(&format!("size{i}"), next(), json!({"SizeConstraintStatement": {
                "FieldToMatch": f, "ComparisonOperator": ops[i % ops.len()],
                "Size": 8, "TextTransformations": t}}), "Count", &[]));
            rules.push(rule(&format!("sqli{i}"), next(), json!({"SqliMatchStatement": {
                "FieldToMatch": f, "TextTransformations": t,
                "SensitivityLevel": levels[i % 2]}}), "Count", &["seen:sqli"]));
            rules.push(rule(&format!("xss{i}"), next(), json!({"XssMatchStatement": {
                "FieldToMatch": f, "TextTransformations": t}}), "Count", &["seen:xss"]));
        }
        let byte = |s: &str, f: Value| json!({"ByteMatchStatement": {"SearchString": b64(s),
            "FieldToMatch": f, "PositionalConstraint": "CONTAINS", "TextTransformations": tt(&["LOWERCASE"])}});
        rules.push(rule("combo", next(), json!({"AndStatement": {"Statements": [
            {"LabelMatchStatement": {"Scope": "LABEL", "Key": "seen:sqli"}},
            {"OrStatement": {"Statements": [
                byte("evil", json!({"UriPath": {}})),
                {"NotStatement": {"Statement": byte("friend", json!({"SingleHeader": {"Name": "x-who"}}))}},
            ]}},
        ]}}), "Count", &["combo:hit"]));
        rules.push(rule("ns", next(), json!({"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "seen:"}}),
            "Count", &[]));
        rules.push(rule("rate", next(), json!({"RateBasedStatement": {"Limit": 10,
            "AggregateKeyType": "CUSTOM_KEYS", "EvaluationWindowSec": 60, "CustomKeys": [
                {"Cookie": {"Name": "s", "TextTransformations": tt(&["NONE"])}},
                {"Header": {"Name": "x-who", "TextTransformations": tt(&["LOWERCASE"])}},
                {"IP": {}}]}}), "Block", &[]));
        rules.push(rule("block", next(), json!({"LabelMatchStatement": {"Scope": "LABEL",
            "Key": "combo:hit"}}), "Block", &[]));
        let doc = json!({"Name": "fuzz", "Id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/fuzz/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("fuzz"), "Rules": rules});
        let acl = WebAcl::from_value(doc).expect("fuzz ACL parses");
        CompiledAcl::compile(&acl, &Resources::default()).expect("fuzz ACL compiles")
    })
}

fn rate() -> &'static InMemoryRateCounter {
    static RATE: OnceLock<InMemoryRateCounter> = OnceLock::new();
    RATE.get_or_init(|| InMemoryRateCounter::with_max_keys(10_000))
}

fuzz_target!(|input: FuzzRequest| {
    let req = input.build();
    let _ = acl().evaluate(&req, &EvalEnv::new(1_000_000, rate()));
});
