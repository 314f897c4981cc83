//! The Portcullis managed rule groups in `rulegroups/*.json` (documented in `docs/waf-rule-groups.md`).
//!
//! Every file must parse as an AWS WAFv2 `RuleGroup`, render back to the same JSON (nothing in it is silently
//! ignored as an unknown member), validate as `CreateRuleGroup` would, follow the naming and label conventions,
//! and use only regexes the linear-time `regex` crate accepts. Each group is then referenced from a web ACL with
//! `ManagedRuleGroupStatement` (vendor `Portcullis`) and must give the verdicts listed in
//! `rulegroups/cases/cases.json`; the benchmark requests of `bench/waf/requests/*.http` (a plain GET, a
//! browser-like GET, a JSON POST and a form POST) must pass every group untouched.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_core::{
    ActionKind, CompiledAcl, EvalEnv, Resources, RuleGroupManaged, RuleType, Verdict,
};
use portcullis_waf_model as m;
use portcullis_waf_request::Request;
use serde_json::{Value, json};
use support::percent_encode;

#[path = "support/corpus.rs"]
mod support;

const VENDOR: &str = "Portcullis";

/// (file, group name, label namespace component, capacity): capacities are AWS's published WCU for the
/// corresponding `AWSManagedRules*` group, so a web ACL budgets the same whichever vendor it uses.
const GROUPS: [(&str, &str, &str, i64); 9] = [
    (
        "portcullis-core.json",
        "CommonRuleSet",
        "core-rule-set",
        700,
    ),
    (
        "portcullis-known-bad-inputs.json",
        "KnownBadInputsRuleSet",
        "known-bad-inputs",
        200,
    ),
    (
        "portcullis-sql-database.json",
        "SQLiRuleSet",
        "sql-database",
        200,
    ),
    ("portcullis-linux.json", "LinuxRuleSet", "linux-os", 200),
    ("portcullis-unix.json", "UnixRuleSet", "posix-os", 100),
    (
        "portcullis-windows.json",
        "WindowsRuleSet",
        "windows-os",
        200,
    ),
    ("portcullis-php.json", "PHPRuleSet", "php-app", 100),
    (
        "portcullis-admin-protection.json",
        "AdminProtectionRuleSet",
        "admin-protection",
        100,
    ),
    (
        "portcullis-ip-reputation.json",
        "IpReputationList",
        "ip-reputation-list",
        25,
    ),
];

/// Browser-like headers every case request starts from.
const DEFAULT_HEADERS: [(&str, &str); 4] = [
    ("Host", "www.example.com"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    ("Accept-Language", "en-GB,en;q=0.5"),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn groups_dir() -> PathBuf {
    crate_dir().join("rulegroups")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn namespace(ns: &str) -> String {
    format!("awswaf:managed:portcullis:{ns}:")
}

fn load_group(file: &str) -> (Value, m::RuleGroup) {
    let bytes = read(&groups_dir().join(file));
    let value: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
    let group =
        m::RuleGroup::from_json(&bytes).unwrap_or_else(|e| panic!("{file}: not a RuleGroup: {e}"));
    (value, group)
}

#[test]
fn every_file_in_the_folder_is_a_known_group() {
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(groups_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            on_disk.insert(name);
        }
    }
    let listed: BTreeSet<String> = GROUPS.iter().map(|g| g.0.to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "rulegroups/*.json and the GROUPS table of this test differ"
    );
}

#[test]
fn groups_parse_render_back_and_validate() {
    for (file, _, _, _) in GROUPS {
        let (value, group) = load_group(file);
        assert_eq!(
            group.to_json(),
            value,
            "{file}: rendering the parsed group changes it (unknown or mis-spelled member?)"
        );
        if let Err(e) = m::validate::validate_rule_group(&group, m::Scope::Regional) {
            panic!("{file}: invalid RuleGroup: {e:?}");
        }
        if let Err(e) = m::validate::validate_rule_group(&group, m::Scope::Cloudfront) {
            panic!("{file}: invalid RuleGroup for CLOUDFRONT: {e:?}");
        }
    }
}

#[test]
fn groups_follow_the_naming_and_label_conventions() {
    for (file, name, ns, capacity) in GROUPS {
        let (_, group) = load_group(file);
        let ns = namespace(ns);
        assert_eq!(group.name, name, "{file}");
        assert_eq!(group.capacity, capacity, "{file}: capacity");
        assert_eq!(
            group.label_namespace.as_deref(),
            Some(ns.as_str()),
            "{file}: LabelNamespace"
        );
        assert_eq!(
            group.visibility_config.metric_name,
            format!("{VENDOR}-{name}"),
            "{file}"
        );
        assert!(
            group
                .arn
                .starts_with("arn:aws:wafv2::portcullis:managed/rulegroup/Portcullis/"),
            "{file}: ARN"
        );
        assert!(
            group.arn.ends_with(&format!("/{name}/{}", group.id)),
            "{file}: ARN"
        );
        assert!(!group.rules().is_empty(), "{file}: no rules");
        let mut expected_labels = Vec::new();
        for (i, rule) in group.rules().iter().enumerate() {
            assert_eq!(
                rule.priority, i as i64,
                "{file}/{}: priorities follow file order",
                rule.name
            );
            assert_eq!(
                rule.visibility_config.metric_name, rule.name,
                "{file}/{}: metric",
                rule.name
            );
            assert!(rule.action.is_some(), "{file}/{}: no Action", rule.name);
            let labels = rule.rule_labels.as_deref().unwrap_or(&[]);
            assert_eq!(
                labels.len(),
                1,
                "{file}/{}: exactly one RuleLabel",
                rule.name
            );
            let label = &labels[0].name;
            // The label is the rule name with its location suffix in AWS's mixed case
            // (`SQLi_QUERYARGUMENTS` -> `SQLi_QueryArguments`); AWS's one exception is kept.
            let stem = match rule.name.as_str() {
                "UserAgent_BadBots_HEADER" => "BadBots_HEADER",
                other => other,
            };
            assert_eq!(
                label.to_ascii_lowercase(),
                stem.to_ascii_lowercase(),
                "{file}/{}: label {label}",
                rule.name
            );
            assert!(
                !label.contains(':'),
                "{file}/{}: RuleLabels are relative to the namespace",
                rule.name
            );
            expected_labels.push(format!("{ns}{label}"));
        }
        let available: Vec<String> = group
            .available_labels
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|l| l.name.clone())
            .collect();
        assert_eq!(available, expected_labels, "{file}: AvailableLabels");
        // The rules must fit the declared capacity under the published per-statement costs, so that the
        // group could also be created as a customer rule group of that capacity.
        let used = m::capacity::check_rule_group_capacity(&group, &m::capacity::AwsManagedOnly)
            .unwrap_or_else(|e| panic!("{file}: rules exceed Capacity {capacity}: {e}"));
        eprintln!("{name}: rules use {used} of {capacity} WCU");
    }
}

fn regex_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("RegexString", Value::String(s)) => out.push(s.clone()),
                    _ => regex_strings(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| regex_strings(v, out)),
        _ => {}
    }
}

#[test]
fn regexes_compile_in_the_linear_time_engine() {
    let mut total = 0;
    for (file, _, _, _) in GROUPS {
        let (value, _) = load_group(file);
        let mut patterns = Vec::new();
        regex_strings(&value, &mut patterns);
        for p in &patterns {
            assert!(
                (1..=512).contains(&p.len()),
                "{file}: RegexString of {} chars",
                p.len()
            );
            if let Err(e) = regex::bytes::Regex::new(p) {
                panic!("{file}: {p}: {e}");
            }
        }
        total += patterns.len();
    }
    assert!(total >= 30, "only {total} regexes found");
}

/// One group referenced from a web ACL, ready to evaluate requests.
struct Harness {
    name: &'static str,
    namespace: String,
    acl: CompiledAcl,
}

fn ip_sets(cases: &Value) -> Vec<m::IpSet> {
    let sets = cases["ip_sets"].as_object().expect("ip_sets");
    sets.iter()
        .enumerate()
        .map(|(i, (arn, addrs))| {
            let version = if arn.ends_with("ipv6") {
                "IPV6"
            } else {
                "IPV4"
            };
            m::IpSet::from_value(json!({
                "Name": format!("test-set-{i}"),
                "Id": format!("00000000-0000-4000-8000-{i:012}"),
                "ARN": arn,
                "IPAddressVersion": version,
                "Addresses": addrs,
            }))
            .unwrap_or_else(|e| panic!("ip set {arn}: {e}"))
        })
        .collect()
}

fn harness(file: &str, name: &'static str, ns: &str, cases: &Value) -> Harness {
    let (_, group) = load_group(file);
    let mut res = Resources::new();
    for set in ip_sets(cases) {
        res.add_ip_set(set);
    }
    let managed = RuleGroupManaged::new(VENDOR, ns, group, &res)
        .unwrap_or_else(|e| panic!("{file}: compile: {e}"));
    res.add_managed_group(VENDOR, name, Arc::new(managed));
    let vis = |metric: &str| json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": false, "MetricName": metric});
    let acl = m::WebAcl::from_value(json!({
        "Name": format!("rulegroups-{name}"),
        "Id": "0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8",
        "ARN": format!("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/rulegroups-{name}/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8"),
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vis("rulegroups"),
        "Rules": [{
            "Name": "managed",
            "Priority": 0,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": VENDOR, "Name": name}},
            "OverrideAction": {"None": {}},
            "VisibilityConfig": vis("managed"),
        }],
    }))
    .unwrap_or_else(|e| panic!("{name}: web ACL: {e}"));
    if let Err(e) = m::validate::validate_web_acl(&acl, m::Scope::Regional) {
        panic!("{name}: web ACL referencing the group is invalid: {e:?}");
    }
    let acl =
        CompiledAcl::compile(&acl, &res).unwrap_or_else(|e| panic!("{name}: compile web ACL: {e}"));
    Harness {
        name,
        namespace: namespace(ns),
        acl,
    }
}

fn load_cases() -> Value {
    serde_json::from_slice(&read(&groups_dir().join("cases/cases.json")))
        .expect("cases.json is JSON")
}

fn evaluate(h: &Harness, req: &Request) -> Verdict {
    let counter = InMemoryRateCounter::new();
    h.acl
        .evaluate(req, &EvalEnv::new(1_764_000_000_000, &counter))
}

fn case_request(case: &Value) -> Request {
    let mut headers: Vec<(String, Option<String>)> = DEFAULT_HEADERS
        .iter()
        .map(|(n, v)| ((*n).to_owned(), Some((*v).to_owned())))
        .collect();
    for h in case["headers"].as_array().into_iter().flatten() {
        let name = h[0].as_str().expect("header name").to_owned();
        let value = h[1].as_str().map(str::to_owned);
        match headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => headers.push((name, value)),
        }
    }
    let mut b = Request::builder()
        .method(case["method"].as_str().unwrap_or("GET"))
        .uri(case["uri"].as_str().unwrap_or("/"));
    for (n, v) in headers {
        if let Some(v) = v {
            b = b.header(&n, v);
        }
    }
    if let Some(body) = case["body"].as_str() {
        b = b.body(body);
    }
    if let Some(client) = case["client"].as_str() {
        let ip: IpAddr = client.parse().expect("client address");
        b = b.client_addr(SocketAddr::new(ip, 50000));
    }
    b.build()
}

/// Parses a `bench/waf/requests/*.http` file (request line, headers, blank line, body; see bench/waf/README.md).
fn http_file(path: &Path) -> Request {
    let text = String::from_utf8(read(path))
        .expect("UTF-8")
        .replace("\r\n", "\n");
    let (head, body) = text
        .split_once("\n\n")
        .unwrap_or((text.trim_end_matches('\n'), ""));
    let body = body.strip_suffix('\n').unwrap_or(body);
    let mut lines = head.lines();
    let mut parts = lines.next().expect("request line").split(' ');
    let mut b = Request::builder()
        .method(parts.next().unwrap())
        .uri(parts.next().unwrap());
    for line in lines.filter(|l| !l.is_empty()) {
        let (n, v) = line.split_once(':').expect("header line");
        b = b.header(n.trim(), v.trim());
    }
    if !body.is_empty() {
        b = b
            .header("Content-Length", body.len().to_string())
            .body(body);
    }
    b.build()
}

fn label_of(file: &str, rule: &str) -> String {
    let (_, group) = load_group(file);
    let r = group
        .rules()
        .iter()
        .find(|r| r.name == rule)
        .unwrap_or_else(|| panic!("{file}: no rule {rule}"));
    r.rule_labels.as_deref().unwrap()[0].name.clone()
}

fn check_case(h: &Harness, file: &str, case: &Value, failures: &mut Vec<String>) {
    let req = case_request(case);
    let v = evaluate(h, &req);
    let what = format!("{} / {}", h.name, case["name"].as_str().unwrap_or("?"));
    let rule = case["rule"].as_str();
    let group_labels: Vec<&String> = v
        .labels
        .iter()
        .filter(|l| l.starts_with(&h.namespace))
        .collect();
    match case["expect"].as_str().expect("expect") {
        "BLOCK" => {
            let Some(t) = v
                .terminating_rule
                .as_ref()
                .filter(|_| v.action.kind() == ActionKind::Block)
            else {
                failures.push(format!("{what}: not blocked (labels {:?})", v.labels));
                return;
            };
            if t.rule_type != RuleType::ManagedRuleGroup {
                failures.push(format!("{what}: terminating rule type {:?}", t.rule_type));
            }
            if let Some(rule) = rule {
                if t.name != rule {
                    failures.push(format!("{what}: blocked by {} instead of {rule}", t.name));
                }
                let label = format!("{}{}", h.namespace, label_of(file, rule));
                if !v.has_label(&label) {
                    failures.push(format!("{what}: label {label} missing from {:?}", v.labels));
                }
            } else if group_labels.is_empty() {
                failures.push(format!("{what}: blocked without a group label"));
            }
        }
        "COUNT" => {
            let rule = rule.expect("COUNT cases name their rule");
            if !v.is_allowed() {
                failures.push(format!(
                    "{what}: expected allow with a count, got {:?}",
                    v.terminating_rule
                ));
            }
            if !v
                .non_terminating
                .iter()
                .any(|m| m.name == rule && m.action == ActionKind::Count)
            {
                failures.push(format!(
                    "{what}: {rule} not counted ({:?})",
                    v.non_terminating
                ));
            }
            let label = format!("{}{}", h.namespace, label_of(file, rule));
            if !v.has_label(&label) {
                failures.push(format!("{what}: label {label} missing from {:?}", v.labels));
            }
        }
        "ALLOW" => {
            if !v.is_allowed() || !group_labels.is_empty() || !v.non_terminating.is_empty() {
                failures.push(format!(
                    "{what}: expected no match, got {:?} by {:?}, labels {:?}",
                    v.action.kind(),
                    v.terminating_rule.as_ref().map(|t| &t.name),
                    v.labels
                ));
            }
        }
        other => panic!("{what}: unknown expectation {other}"),
    }
}

#[test]
fn groups_block_attacks_and_allow_benign_requests() {
    let cases = load_cases();
    let all = cases["cases"].as_array().expect("cases");
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for (file, name, ns, _) in GROUPS {
        let h = harness(file, name, ns, &cases);
        let mine: Vec<&Value> = all.iter().filter(|c| c["group"] == name).collect();
        assert!(mine.len() >= 3, "{name}: only {} cases", mine.len());
        for case in mine {
            check_case(&h, file, case, &mut failures);
            if let Some(r) = case["rule"].as_str() {
                seen.insert((name, r.to_owned()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    // Every rule of every group is exercised by at least one case that names it, except the SQLi
    // extended-pattern rules, whose cases are written to be caught by either SQLi rule of their location.
    for (file, name, _, _) in GROUPS {
        let (_, group) = load_group(file);
        for rule in group.rules() {
            if !rule.name.starts_with("SQLiExtendedPatterns_") {
                assert!(
                    seen.contains(&(name, rule.name.clone())),
                    "{name}/{}: no case names this rule",
                    rule.name
                );
            }
        }
    }
}

#[test]
fn sqli_extended_patterns_catch_what_they_are_for() {
    // With SQLi_* overridden to Count, the extended-pattern rules must still block these on their own.
    let cases = load_cases();
    let (file, name, ns, _) = GROUPS[2];
    let (_, group) = load_group(file);
    let mut res = Resources::new();
    let managed = RuleGroupManaged::new(VENDOR, ns, group, &res).unwrap();
    res.add_managed_group(VENDOR, name, Arc::new(managed));
    let vis = json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "x"});
    let overrides: Vec<Value> = [
        "SQLi_QUERYARGUMENTS",
        "SQLi_BODY",
        "SQLi_COOKIE",
        "SQLi_URIPATH",
    ]
    .iter()
    .map(|r| json!({"Name": r, "ActionToUse": {"Count": {}}}))
    .collect();
    let acl = m::WebAcl::from_value(json!({
        "Name": "sqlx", "Id": "0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f9",
        "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/sqlx/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f9",
        "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis,
        "Rules": [{"Name": "managed", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": VENDOR, "Name": name, "RuleActionOverrides": overrides}}}],
    }))
    .unwrap();
    let h = Harness {
        name,
        namespace: namespace(ns),
        acl: CompiledAcl::compile(&acl, &res).unwrap(),
    };
    let mut blocked = 0;
    for case in cases["cases"].as_array().unwrap() {
        if case["group"] != name || case["expect"] != "BLOCK" || case["rule"].is_string() {
            continue;
        }
        let v = evaluate(&h, &case_request(case));
        let by = v
            .terminating_rule
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        assert!(
            by.starts_with("SQLiExtendedPatterns_"),
            "{}: blocked by {by:?}, labels {:?}",
            case["name"],
            v.labels
        );
        blocked += 1;
    }
    assert!(blocked >= 3, "only {blocked} extended-pattern cases");
}

#[test]
fn benchmark_requests_pass_every_group() {
    let dir = crate_dir().join("../../bench/waf/requests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "benchmark requests missing in {}",
        dir.display()
    );
    let cases = load_cases();
    let mut failures = Vec::new();
    for (file, name, ns, _) in GROUPS {
        let h = harness(file, name, ns, &cases);
        for path in &files {
            let v = evaluate(&h, &http_file(path));
            if !v.is_allowed() || !v.labels.is_empty() || !v.non_terminating.is_empty() {
                failures.push(format!(
                    "{name}: {} -> {:?} by {:?}, labels {:?}",
                    path.file_name().unwrap().to_string_lossy(),
                    v.action.kind(),
                    v.terminating_rule.as_ref().map(|t| &t.name),
                    v.labels
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "benign benchmark requests flagged:\n{}",
        failures.join("\n")
    );
}

/// The shared corpora's `waf` folder, if present.
fn corpora() -> Option<PathBuf> {
    support::waf_corpus("corpus detection rates")
}

/// Distinct non-comment lines of the given files.
fn corpus_lines(files: &[PathBuf]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for f in files {
        for line in String::from_utf8_lossy(&read(f)).lines() {
            if !line.trim().is_empty() && !line.starts_with('#') {
                out.insert(line.to_owned());
            }
        }
    }
    out.into_iter().collect()
}

fn files_matching(dir: &Path, prefix: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if entry.is_dir() {
            files_matching(&entry, prefix, out);
        } else if entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            && entry.extension().is_some_and(|x| x == "txt")
        {
            out.push(entry);
        }
    }
    out.sort();
}

/// A web ACL with every group, in the order of [`GROUPS`], each rule named after its group.
fn all_groups_acl(cases: &Value) -> CompiledAcl {
    let mut res = Resources::new();
    for set in ip_sets(cases) {
        res.add_ip_set(set);
    }
    let vis = |metric: &str| json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": false, "MetricName": metric});
    let mut rules = Vec::new();
    for (i, (file, name, ns, _)) in GROUPS.iter().enumerate() {
        let (_, group) = load_group(file);
        let managed = RuleGroupManaged::new(VENDOR, ns, group, &res).unwrap();
        res.add_managed_group(VENDOR, name, Arc::new(managed));
        rules.push(json!({
            "Name": name, "Priority": i, "OverrideAction": {"None": {}}, "VisibilityConfig": vis(name),
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": VENDOR, "Name": name}},
        }));
    }
    let acl = m::WebAcl::from_value(json!({
        "Name": "all-groups", "Id": "0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7fa",
        "ARN": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/all-groups/0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7fa",
        "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("all-groups"), "Rules": rules,
    }))
    .unwrap();
    m::validate::validate_web_acl(&acl, m::Scope::Regional).unwrap();
    CompiledAcl::compile(&acl, &res).unwrap()
}

/// Sends each payload as `GET /static/ok.txt?q=<payload>` through a web ACL with all nine groups (the
/// placement the reference used for CRS, §5 of the WAF reference) and reports how many are blocked, and by
/// which group. The thresholds are floors a few points under the rates measured when the groups were
/// written, so a rule change that loses detection (or starts blocking benign text) fails here.
#[test]
fn corpus_detection_rates() {
    let Some(waf) = corpora() else { return };
    let acl = all_groups_acl(&load_cases());
    let counter = InMemoryRateCounter::new();
    let env = EvalEnv::new(1_764_000_000_000, &counter);
    let mut sqli = Vec::new();
    files_matching(&waf.join("libinjection/data"), "sqli-", &mut sqli);
    let mut xss = Vec::new();
    files_matching(&waf.join("libinjection/data"), "xss-", &mut xss);
    let mut pb_sqli = Vec::new();
    files_matching(
        &waf.join("payloadbox_sql-injection-payload-list/Intruder"),
        "",
        &mut pb_sqli,
    );
    let pb_xss = vec![waf.join("payloadbox_xss-payload-list/Intruder/xss-payload-list.txt")];
    let benign = vec![waf.join("libinjection/data/false_positives.txt")];
    // (corpus, files, already URL-encoded, minimum block rate %, maximum block rate %)
    let corpora: [(&str, &[PathBuf], bool, f64, f64); 5] = [
        ("libinjection sqli-*.txt", &sqli, true, 95.0, 100.0),
        ("libinjection xss-*.txt", &xss, true, 92.0, 100.0),
        ("payloadbox SQLi", &pb_sqli, false, 65.0, 100.0),
        ("payloadbox XSS", &pb_xss, false, 95.0, 100.0),
        (
            "benign libinjection false_positives.txt",
            &benign,
            true,
            0.0,
            2.0,
        ),
    ];
    let mut problems = Vec::new();
    for (label, files, encoded, min, max) in corpora {
        let lines = corpus_lines(files);
        assert!(!lines.is_empty(), "{label}: no lines");
        let mut blocked = 0usize;
        let mut by_group = std::collections::BTreeMap::<String, usize>::new();
        for line in &lines {
            let q = if encoded {
                line.replace(' ', "%20")
            } else {
                percent_encode(line)
            };
            let req = Request::builder()
                .uri(&format!("/static/ok.txt?q={q}"))
                .header("Host", "www.example.com")
                .header("User-Agent", DEFAULT_HEADERS[1].1)
                .header("Accept", "*/*")
                .build();
            let v = acl.evaluate(&req, &env);
            if !v.is_allowed() {
                blocked += 1;
                let t = v.terminating_rule.as_ref().unwrap();
                *by_group
                    .entry(format!(
                        "{}/{}",
                        t.rule_group.as_deref().unwrap_or("-"),
                        t.name
                    ))
                    .or_default() += 1;
            }
        }
        let rate = 100.0 * blocked as f64 / lines.len() as f64;
        let mut top: Vec<(String, usize)> = by_group.into_iter().collect();
        top.sort_by_key(|t| std::cmp::Reverse(t.1));
        top.truncate(6);
        eprintln!(
            "{label}: {blocked}/{} blocked ({rate:.1} %); top rules {top:?}",
            lines.len()
        );
        if rate < min || rate > max {
            problems.push(format!(
                "{label}: {rate:.1} % blocked, expected {min}..={max} %"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
