//! Data-driven behaviour tests: every `tests/cases/*.json` file describes a web ACL, the resources it references
//! and a list of requests with the verdict each must get. Adding a case needs no Rust; the file format is
//! documented in `tests/cases/README.md`.
//!
//! All files are run; every mismatch is collected and reported together with a summary line
//! (`behaviour: N files, P cases passed, F failed`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use portcullis_waf_core::geo::GeoDb;
use portcullis_waf_core::geo::testdb::{Value as DbValue, Writer};
use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_core::{
    CompiledAcl, EvalEnv, FinalAction, MatchedRule, Resources, RuleGroupManaged, RuleType,
    TokenRejection, TokenState, Verdict,
};
use portcullis_waf_model as m;
use portcullis_waf_request::Request;
use serde::Deserialize;
use serde_json::{Value, json};

/// Account used for default ARNs and label namespaces.
const ACCOUNT: &str = "111122223333";
/// The clock at the first case of a file.
const START_MS: u64 = 1_700_000_000_000;
/// Client address when a case names none.
const DEFAULT_CLIENT: &str = "10.9.9.9";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    description: String,
    web_acl: Value,
    #[serde(default)]
    ip_sets: BTreeMap<String, Value>,
    #[serde(default)]
    regex_pattern_sets: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    rule_groups: BTreeMap<String, Value>,
    #[serde(default)]
    managed_rule_groups: Vec<ManagedEntry>,
    #[serde(default)]
    geo: Vec<GeoEntry>,
    #[serde(default)]
    body_inspection_limit: Option<usize>,
    #[serde(default)]
    compile_error: Option<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagedEntry {
    vendor: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    rule_group: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeoEntry {
    network: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    asn: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    request: Req,
    #[serde(default)]
    token: Option<Token>,
    #[serde(default)]
    repeat: Option<u32>,
    #[serde(default)]
    step_ms: Option<u64>,
    #[serde(default)]
    advance_ms: Option<u64>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Req {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    body_total_len: Option<u64>,
    #[serde(default)]
    client_ip: Option<String>,
    #[serde(default)]
    ja3: Option<String>,
    #[serde(default)]
    ja4: Option<String>,
    #[serde(default)]
    fill_headers: Option<usize>,
    #[serde(default)]
    fill_cookies: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Token {
    #[serde(default)]
    captcha_age_ms: Option<u64>,
    #[serde(default)]
    challenge_age_ms: Option<u64>,
    #[serde(default)]
    rejection: Option<String>,
}

/// Deserialises a present member (even `null`) as `Some`, so that "absent" and "null" differ.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    action: String,
    #[serde(default, deserialize_with = "present")]
    terminating_rule: Option<Option<String>>,
    #[serde(default)]
    terminating_rule_group: Option<String>,
    #[serde(default)]
    terminating_rule_type: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    labels_include: Vec<String>,
    #[serde(default)]
    labels_exclude: Vec<String>,
    #[serde(default)]
    non_terminating: Option<Vec<NtItem>>,
    #[serde(default)]
    non_terminating_include: Vec<NtItem>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default, deserialize_with = "present")]
    body: Option<Option<String>>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    response_headers: Option<Vec<(String, String)>>,
    #[serde(default)]
    insert_headers: Option<Vec<(String, String)>>,
}

/// A non-terminating match: `"name"`, `"group-rule/name"` or an object naming the fields to check.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum NtItem {
    Name(String),
    Detail(NtDetail),
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NtDetail {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    rule_group: Option<Option<String>>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    overridden_action: Option<String>,
    #[serde(default)]
    excluded: Option<bool>,
}

impl NtItem {
    fn matches(&self, m: &MatchedRule) -> bool {
        match self {
            NtItem::Name(s) => match s.split_once('/') {
                Some((group, name)) => m.rule_group.as_deref() == Some(group) && m.name == name,
                None => m.rule_group.is_none() && m.name == *s,
            },
            NtItem::Detail(d) => {
                d.name.as_ref().is_none_or(|n| *n == m.name)
                    && d.rule_group.as_ref().is_none_or(|g| m.rule_group == *g)
                    && d.action.as_ref().is_none_or(|a| a == m.action.log_name())
                    && d.overridden_action.as_ref().is_none_or(|a| {
                        m.overridden_action.map(|k| k.log_name()) == Some(a.as_str())
                    })
                    && d.excluded.is_none_or(|e| e == m.excluded)
            }
        }
    }
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("cases")
}

#[test]
fn behaviour_cases() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no case files in {}",
        cases_dir().display()
    );
    let mut passed = 0usize;
    let mut failures: Vec<String> = Vec::new();
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, f) = run_file(file, &stem);
        assert!(p + f.len() > 0, "{stem}: the file exercises nothing");
        eprintln!("  {stem}: {p} passed, {} failed", f.len());
        passed += p;
        failures.extend(f);
    }
    eprintln!(
        "behaviour: {} files, {passed} cases passed, {} failed",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// Runs one file; returns the number of passed checks and the failure messages.
fn run_file(path: &Path, stem: &str) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let file: CaseFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
    assert!(!file.description.is_empty(), "{stem}: empty description");
    let res = resources(&file, stem);
    let acl = normalise_acl(file.web_acl.clone(), stem);
    let acl = m::WebAcl::from_value(acl)
        .unwrap_or_else(|e| panic!("{stem}: web_acl does not parse: {e}"));
    let compiled = CompiledAcl::compile(&acl, &res);
    if let Some(want) = &file.compile_error {
        return match compiled {
            Err(e) if e.to_string().contains(want.as_str()) => (1, Vec::new()),
            Err(e) => (
                0,
                vec![format!(
                    "{stem}: compile error {e:?} does not mention {want:?}"
                )],
            ),
            Ok(_) => (
                0,
                vec![format!(
                    "{stem}: compiled, expected an error mentioning {want:?}"
                )],
            ),
        };
    }
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => return (0, vec![format!("{stem}: does not compile: {e}")]),
    };
    let geo = geo_db(&file.geo);
    let counter = InMemoryRateCounter::new();
    let mut now = START_MS;
    let mut passed = 0;
    let mut failures = Vec::new();
    for case in &file.cases {
        now += case.advance_ms.unwrap_or(0);
        let repeat = case.repeat.unwrap_or(1).max(1);
        for i in 0..repeat {
            if i > 0 {
                now += case.step_ms.unwrap_or(0);
            }
            let req = build_request(&case.request);
            let mut env = EvalEnv::new(now, &counter);
            if let Some(db) = &geo {
                env = env.with_geo(db);
            }
            if let Some(t) = &case.token {
                env = env.with_token(token(t, now));
            }
            let verdict = compiled.evaluate(&req, &env);
            let problems = check(&case.expect, &verdict);
            if problems.is_empty() {
                passed += 1;
            } else {
                let rep = if repeat > 1 {
                    format!(" [request {} of {repeat}]", i + 1)
                } else {
                    String::new()
                };
                failures.push(format!(
                    "{stem} :: {}{rep}\n    {}\n    got: {}",
                    case.name,
                    problems.join("\n    "),
                    summary(&verdict)
                ));
            }
        }
    }
    (passed, failures)
}

fn token(t: &Token, now: u64) -> TokenState {
    TokenState {
        captcha_solved_ms: t.captcha_age_ms.map(|a| now - a),
        challenge_solved_ms: t.challenge_age_ms.map(|a| now - a),
        rejection: t.rejection.as_deref().map(|r| match r {
            "INVALID" => TokenRejection::Invalid,
            "DOMAIN_MISMATCH" => TokenRejection::DomainMismatch,
            other => panic!("unknown token rejection {other:?}"),
        }),
    }
}

fn build_request(r: &Req) -> Request {
    let ip: IpAddr = r
        .client_ip
        .as_deref()
        .unwrap_or(DEFAULT_CLIENT)
        .parse()
        .unwrap();
    let mut b = Request::builder()
        .client_addr(SocketAddr::new(ip, 50000))
        .method(r.method.as_deref().unwrap_or("GET"))
        .uri(r.uri.as_deref().unwrap_or("/"));
    for (k, v) in &r.headers {
        b = b.header(k, v);
    }
    for i in 0..r.fill_headers.unwrap_or(0) {
        b = b.header(&format!("x-fill-{i}"), "v");
    }
    if let Some(n) = r.fill_cookies {
        let cookies: Vec<String> = (0..n).map(|i| format!("f{i}=v")).collect();
        b = b.header("Cookie", cookies.join("; "));
    }
    if let Some(body) = &r.body {
        b = b.body(body.as_bytes());
    }
    if let Some(body) = &r.body_base64 {
        b = b.body(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        );
    }
    if let Some(len) = r.body_total_len {
        b = b.body_total_len(len);
    }
    if let Some(ja3) = &r.ja3 {
        b = b.ja3(ja3);
    }
    if let Some(ja4) = &r.ja4 {
        b = b.ja4(ja4);
    }
    b.build()
}

fn status_of(v: &Verdict) -> u16 {
    match &v.action {
        FinalAction::Allow => 200,
        FinalAction::Block(resp) => resp.status,
        FinalAction::Captcha => 405,
        FinalAction::Challenge => 202,
    }
}

fn rule_type_name(t: RuleType) -> &'static str {
    match t {
        RuleType::Regular => "REGULAR",
        RuleType::RateBased => "RATE_BASED",
        RuleType::Group => "GROUP",
        RuleType::ManagedRuleGroup => "MANAGED_RULE_GROUP",
    }
}

/// Compares a verdict with the expectation; returns one message per difference.
fn check(e: &Expect, v: &Verdict) -> Vec<String> {
    let mut p = Vec::new();
    let action = v.action.kind().log_name();
    if action != e.action {
        p.push(format!("action: expected {}, got {action}", e.action));
    }
    let term = v.terminating_rule.as_ref();
    if let Some(want) = &e.terminating_rule {
        let got = term.map(|t| t.name.as_str());
        if got != want.as_deref() {
            p.push(format!("terminating_rule: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.terminating_rule_group {
        let got = term.and_then(|t| t.rule_group.as_deref());
        if got != Some(want.as_str()) {
            p.push(format!(
                "terminating_rule_group: expected {want:?}, got {got:?}"
            ));
        }
    }
    if let Some(want) = &e.terminating_rule_type {
        let got = term.map(|t| rule_type_name(t.rule_type));
        if got != Some(want.as_str()) {
            p.push(format!(
                "terminating_rule_type: expected {want:?}, got {got:?}"
            ));
        }
    }
    if let Some(want) = &e.labels {
        let mut want = want.clone();
        let mut got = v.labels.clone();
        want.sort();
        got.sort();
        if want != got {
            p.push(format!("labels: expected {want:?}"));
        }
    }
    for l in &e.labels_include {
        if !v.has_label(l) {
            p.push(format!("labels: missing {l:?}"));
        }
    }
    for l in &e.labels_exclude {
        if v.has_label(l) {
            p.push(format!("labels: unexpected {l:?}"));
        }
    }
    if let Some(want) = &e.non_terminating {
        let ok = want.len() == v.non_terminating.len()
            && want
                .iter()
                .zip(&v.non_terminating)
                .all(|(w, g)| w.matches(g));
        if !ok {
            p.push(format!("non_terminating: expected {want:?}"));
        }
    }
    for w in &e.non_terminating_include {
        if !v.non_terminating.iter().any(|g| w.matches(g)) {
            p.push(format!("non_terminating: nothing matches {w:?}"));
        }
    }
    if let Some(want) = e.status
        && status_of(v) != want
    {
        p.push(format!("status: expected {want}, got {}", status_of(v)));
    }
    let block = match &v.action {
        FinalAction::Block(r) => Some(r),
        _ => None,
    };
    if let Some(want) = &e.body {
        let got = block
            .and_then(|r| r.body.as_ref())
            .map(|b| b.content.as_str());
        if got != want.as_deref() {
            p.push(format!("body: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.content_type {
        let got = block
            .and_then(|r| r.body.as_ref())
            .map(|b| b.content_type.as_str());
        if got != Some(want.as_str()) {
            p.push(format!("content_type: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.response_headers {
        let got = block.map(|r| r.headers.clone()).unwrap_or_default();
        if &got != want {
            p.push(format!("response_headers: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.insert_headers
        && &v.insert_headers != want
    {
        p.push(format!(
            "insert_headers: expected {want:?}, got {:?}",
            v.insert_headers
        ));
    }
    p
}

fn summary(v: &Verdict) -> String {
    let term = v.terminating_rule.as_ref().map(|t| {
        format!(
            "{}{} ({})",
            t.rule_group
                .as_ref()
                .map(|g| format!("{g}/"))
                .unwrap_or_default(),
            t.name,
            rule_type_name(t.rule_type)
        )
    });
    let nt: Vec<String> = v
        .non_terminating
        .iter()
        .map(|m| {
            format!(
                "{}{}:{}{}{}",
                m.rule_group
                    .as_ref()
                    .map(|g| format!("{g}/"))
                    .unwrap_or_default(),
                m.name,
                m.action.log_name(),
                m.overridden_action
                    .map(|k| format!(" (was {})", k.log_name()))
                    .unwrap_or_default(),
                if m.excluded { " excluded" } else { "" }
            )
        })
        .collect();
    format!(
        "{} status {} terminating {:?} labels {:?} non_terminating {:?} insert_headers {:?}",
        v.action.kind().log_name(),
        status_of(v),
        term,
        v.labels,
        nt,
        v.insert_headers
    )
}

// ----- turning the compact case files into complete AWS documents -----

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn visibility(name: &str) -> Value {
    json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name})
}

/// Fills members AWS requires but that do not change behaviour, and expands `SearchStringText`.
fn fill(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key("Priority")
                && o.contains_key("Statement")
                && !o.contains_key("VisibilityConfig")
                && let Some(Value::String(name)) = o.get("Name")
            {
                let vis = visibility(name);
                o.insert("VisibilityConfig".into(), vis);
            }
            if let Some(Value::String(text)) = o.remove("SearchStringText") {
                let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                o.insert("SearchString".into(), Value::String(b64));
            }
            if o.contains_key("FieldToMatch") && !o.contains_key("TextTransformations") {
                o.insert(
                    "TextTransformations".into(),
                    json!([{"Priority": 0, "Type": "NONE"}]),
                );
            }
            for child in o.values_mut() {
                fill(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(fill),
        _ => {}
    }
}

fn set_default(o: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    o.entry(key.to_owned()).or_insert(value);
}

fn normalise_acl(mut acl: Value, stem: &str) -> Value {
    fill(&mut acl);
    let o = acl.as_object_mut().unwrap();
    set_default(o, "Name", Value::String(stem.to_owned()));
    let name = o["Name"].as_str().unwrap().to_owned();
    set_default(o, "Id", Value::String(uuid(1)));
    let id = o["Id"].as_str().unwrap().to_owned();
    set_default(
        o,
        "ARN",
        Value::String(format!(
            "arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/{name}/{id}"
        )),
    );
    set_default(o, "DefaultAction", json!({"Allow": {}}));
    set_default(o, "VisibilityConfig", visibility(&name));
    set_default(
        o,
        "LabelNamespace",
        Value::String(format!("awswaf:{ACCOUNT}:webacl:{name}:")),
    );
    acl
}

fn normalise_group(mut g: Value, arn: &str, fallback_name: &str, n: u32) -> m::RuleGroup {
    fill(&mut g);
    let o = g.as_object_mut().unwrap();
    set_default(o, "Name", Value::String(fallback_name.to_owned()));
    let name = o["Name"].as_str().unwrap().to_owned();
    set_default(o, "Id", Value::String(uuid(n)));
    set_default(o, "ARN", Value::String(arn.to_owned()));
    set_default(o, "Capacity", json!(100));
    set_default(o, "VisibilityConfig", visibility(&name));
    m::RuleGroup::from_value(g).unwrap_or_else(|e| panic!("rule group {arn}: {e}"))
}

fn resources(file: &CaseFile, stem: &str) -> Resources {
    let mut res = Resources::new();
    res.body_inspection_limit = file.body_inspection_limit;
    for (i, (arn, set)) in (100..).zip(&file.ip_sets) {
        let mut set = set.clone();
        let o = set.as_object_mut().unwrap();
        let name = arn.rsplit('/').nth(1).unwrap_or("set").to_owned();
        set_default(o, "Name", Value::String(name));
        set_default(o, "Id", Value::String(uuid(i)));
        set_default(o, "ARN", Value::String(arn.clone()));
        let set = m::IpSet::from_value(set).unwrap_or_else(|e| panic!("{stem}: IP set {arn}: {e}"));
        res.add_ip_set(set);
    }
    for (arn, patterns) in &file.regex_pattern_sets {
        let set = m::RegexPatternSet::from_value(json!({
            "Name": arn.rsplit('/').nth(1).unwrap_or("set"),
            "ARN": arn,
            "RegularExpressionList": patterns.iter().map(|p| json!({"RegexString": p})).collect::<Vec<_>>(),
        }))
        .unwrap();
        res.add_regex_pattern_set(arn, set);
    }
    for (i, (arn, g)) in (200..).zip(&file.rule_groups) {
        let name = arn.rsplit('/').nth(1).unwrap_or("group");
        let group = normalise_group(g.clone(), arn, name, i);
        res.add_rule_group(group);
    }
    for (i, entry) in (300..).zip(&file.managed_rule_groups) {
        let arn = format!(
            "arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/managedruleset/{}/{}",
            entry.name,
            uuid(i)
        );
        let group = normalise_group(entry.rule_group.clone(), &arn, &entry.name, i);
        let ns = entry
            .namespace
            .clone()
            .unwrap_or_else(|| entry.name.clone());
        let managed = RuleGroupManaged::new(&entry.vendor, &ns, group, &res)
            .unwrap_or_else(|e| panic!("{stem}: managed group {}: {e}", entry.name));
        res.add_managed_group(&entry.vendor, &entry.name, Arc::new(managed));
    }
    res
}

/// Builds one City+ASN-shaped database holding every entry.
fn geo_db(entries: &[GeoEntry]) -> Option<GeoDb> {
    if entries.is_empty() {
        return None;
    }
    let mut w = Writer::new("Portcullis-Test-City-ASN", 6).unwrap();
    for e in entries {
        let mut rec = Vec::new();
        if let Some(cc) = &e.country {
            rec.push((
                "country".to_owned(),
                DbValue::map([("iso_code", DbValue::str(cc))]),
            ));
        }
        if let Some(region) = &e.region {
            rec.push((
                "subdivisions".to_owned(),
                DbValue::Array(vec![DbValue::map([("iso_code", DbValue::str(region))])]),
            ));
        }
        if let Some(asn) = e.asn {
            rec.push(("autonomous_system_number".to_owned(), DbValue::U32(asn)));
        }
        w.insert(e.network.parse().unwrap(), DbValue::Map(rec))
            .unwrap();
    }
    Some(GeoDb::from_bytes(w.build().unwrap()).unwrap())
}
