//! Engine tests: one or more per statement type and per evaluation rule, each with a case that must not match.

#[path = "../../tests/support/corpus.rs"]
mod corpus;
mod gates;
mod groups;
mod joined;
mod needs;
mod precheck;
mod props;
mod semantics;
mod statements;

use std::net::SocketAddr;

use portcullis_waf_model::WebAcl;
use portcullis_waf_request::{Request, RequestBuilder};
use serde_json::{Value, json};

use crate::rate::InMemoryRateCounter;
use crate::{CompiledAcl, EvalEnv, Resources, Verdict};

pub(crate) const ACL_ARN: &str =
    "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
pub(crate) const NS: &str = "awswaf:111122223333:webacl:t:";

pub(crate) fn vis(name: &str) -> Value {
    json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name})
}

/// A rule with a plain action (`"Block"`, `"Count"`, …).
pub(crate) fn rule(name: &str, priority: i64, statement: Value, action: &str) -> Value {
    json!({"Name": name, "Priority": priority, "Statement": statement, "Action": {action: {}},
           "VisibilityConfig": vis(name)})
}

/// A web ACL document with the given rules and default action.
pub(crate) fn acl_doc(rules: Value, default: &str) -> Value {
    json!({"Name": "t", "Id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "ARN": ACL_ARN,
           "DefaultAction": {default: {}}, "VisibilityConfig": vis("t"), "Rules": rules})
}

pub(crate) fn parse_acl(doc: Value) -> WebAcl {
    WebAcl::from_value(doc).unwrap()
}

pub(crate) fn compile(doc: Value) -> CompiledAcl {
    compile_with(doc, &Resources::default())
}

pub(crate) fn compile_with(doc: Value, res: &Resources) -> CompiledAcl {
    CompiledAcl::compile(&parse_acl(doc), res).unwrap()
}

pub(crate) fn eval(acl: &CompiledAcl, req: &Request) -> Verdict {
    let rate = InMemoryRateCounter::new();
    acl.evaluate(req, &EvalEnv::new(1_000_000, &rate))
}

/// One rule `r` with `statement` and action Block, default Allow: is the request blocked?
pub(crate) fn blocks(statement: Value, req: &Request) -> bool {
    let acl = compile(acl_doc(json!([rule("r", 0, statement, "Block")]), "Allow"));
    !eval(&acl, req).is_allowed()
}

pub(crate) fn get(uri: &str) -> RequestBuilder {
    Request::builder().uri(uri)
}

pub(crate) fn from(ip: &str) -> RequestBuilder {
    Request::builder().client_addr(SocketAddr::new(ip.parse().unwrap(), 40000))
}

pub(crate) fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub(crate) fn tt(types: &[&str]) -> Value {
    Value::Array(
        types
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"Priority": i, "Type": t}))
            .collect(),
    )
}

pub(crate) fn byte_match(search: &str, field: Value, pos: &str, t: &[&str]) -> Value {
    json!({"ByteMatchStatement": {"SearchString": b64(search), "FieldToMatch": field,
        "PositionalConstraint": pos, "TextTransformations": tt(t)}})
}
