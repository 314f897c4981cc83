//! The systems under test, built the way the benchmark brief describes:
//!
//! * `aws-style` — an AWS-style web ACL (`portcullis-waf-core`): the Portcullis `CommonRuleSet`, `SQLiRuleSet` and
//!   `KnownBadInputsRuleSet` managed groups (`crates/waf-core/rulegroups/`) as `ManagedRuleGroupStatement`s,
//!   default action Allow, body inspection limit 16 KB;
//! * `crs` — OWASP CRS 3.3.4 at paranoia level 1, blocking, on the SecLang engine (`portcullis-waf-seclang`),
//!   loaded with the same files, in the same order, as the nginx + ModSecurity peer (`scripts/waf-peer.sh`);
//! * `both` — the two one after the other, as a proxy running both would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_core::{CompiledAcl, EvalEnv, Resources, RuleGroupManaged, Verdict};
use portcullis_waf_model as m;
use portcullis_waf_request::Request;
use portcullis_waf_seclang::{RuleSet, Transaction};
use serde_json::{Value, json};

use crate::error::BenchError;

/// Vendor name of the Portcullis managed groups.
pub const VENDOR: &str = "Portcullis";

/// (file, group name, label namespace) of the groups in the AWS-style ACL, in priority order.
pub const ACL_GROUPS: [(&str, &str, &str); 3] = [
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

/// Body bytes the AWS-style ACL inspects.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The `config` id of the AWS-style ACL in results.
pub const ACL_CONFIG: &str = "aws-core-sqli-badinputs";
/// The `config` id of CRS in results (the same as the peer's, so the rows line up).
pub const CRS_CONFIG: &str = "crs-3.3.4-pl1";
/// The `config` id of the two together.
pub const BOTH_CONFIG: &str = "aws-core-sqli-badinputs+crs-3.3.4-pl1";

/// Where Debian's `modsecurity-crs` and `libnginx-mod-http-modsecurity` put their files.
#[derive(Debug, Clone)]
pub struct CrsPaths {
    /// `rules/*.conf`.
    pub rules_dir: PathBuf,
    /// `crs-setup.conf`, `REQUEST-900-…`, `RESPONSE-999-…`.
    pub etc_dir: PathBuf,
    /// The recommended engine configuration (`modsecurity.conf`).
    pub engine_conf: PathBuf,
}

impl Default for CrsPaths {
    fn default() -> Self {
        CrsPaths {
            rules_dir: PathBuf::from("/usr/share/modsecurity-crs/rules"),
            etc_dir: PathBuf::from("/etc/modsecurity/crs"),
            engine_conf: PathBuf::from("/etc/nginx/modsecurity.conf"),
        }
    }
}

fn visibility(metric: &str) -> Value {
    json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": metric})
}

/// The AWS-style web ACL document. `SizeRestrictions_BODY` (block bodies over 8 KB) is overridden to Count,
/// as AWS documents for sites that accept larger bodies, so the body-size sweep past 8 KB is evaluated by every
/// rule instead of stopping at that one; the 8 KB form POST is under the limit, so its evaluation is unchanged.
pub fn acl_document() -> Value {
    let rules: Vec<Value> = ACL_GROUPS
        .iter()
        .enumerate()
        .map(|(i, (_, name, _))| {
            let st = if *name == "CommonRuleSet" {
                json!({"VendorName": VENDOR, "Name": name, "RuleActionOverrides":
                    [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]})
            } else {
                json!({"VendorName": VENDOR, "Name": name})
            };
            json!({
                "Name": format!("Portcullis-{name}"),
                "Priority": i,
                "Statement": {"ManagedRuleGroupStatement": st},
                "OverrideAction": {"None": {}},
                "VisibilityConfig": visibility(name),
            })
        })
        .collect();
    let id = "5f0c3e4a-9b1d-4c7e-8a2f-6d3b1e0c9a7f";
    json!({
        "Name": "waf-bench",
        "Id": id,
        "ARN": format!("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/waf-bench/{id}"),
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": visibility("waf-bench"),
        "AssociationConfig": {"RequestBody": {"API_GATEWAY": {"DefaultSizeInspectionLimit": "KB_16"}}},
        "Rules": rules,
    })
}

/// Compiles the AWS-style web ACL with the groups read from `groups_dir`.
pub fn build_acl(groups_dir: &Path) -> Result<CompiledAcl, BenchError> {
    let mut res = Resources::new();
    for (file, name, ns) in ACL_GROUPS {
        let path = groups_dir.join(file);
        let bytes = std::fs::read(&path).map_err(|e| BenchError::io(&path, e))?;
        let err = |reason: String| BenchError::RuleGroup {
            path: path.clone(),
            reason,
        };
        let group = m::RuleGroup::from_json(&bytes).map_err(|e| err(e.to_string()))?;
        let managed =
            RuleGroupManaged::new(VENDOR, ns, group, &res).map_err(|e| err(e.to_string()))?;
        res.add_managed_group(VENDOR, name, Arc::new(managed));
    }
    let acl =
        m::WebAcl::from_value(acl_document()).map_err(|e| BenchError::WebAcl(e.to_string()))?;
    m::validate::validate_web_acl(&acl, m::Scope::Regional)
        .map_err(|e| BenchError::WebAcl(format!("invalid: {e:?}")))?;
    let compiled =
        CompiledAcl::compile(&acl, &res).map_err(|e| BenchError::WebAcl(e.to_string()))?;
    if compiled.body_inspection_limit() != BODY_LIMIT {
        return Err(BenchError::WebAcl(format!(
            "body inspection limit is {} bytes, want {BODY_LIMIT}",
            compiled.body_inspection_limit()
        )));
    }
    Ok(compiled)
}

/// The engine settings the peer uses: Debian's recommended `modsecurity.conf` with `SecRuleEngine On` and
/// `SecStatusEngine Off` (the peer also points the audit log, temp and data directories and the unicode map at
/// its own paths; the SecLang engine ignores those directives).
pub fn engine_settings(recommended: &str) -> String {
    recommended
        .lines()
        .map(|l| {
            if l.starts_with("SecRuleEngine ") {
                "SecRuleEngine On".to_owned()
            } else if l.starts_with("SecStatusEngine ") {
                "SecStatusEngine Off".to_owned()
            } else if l.starts_with("SecUnicodeMapFile ") {
                "SecUnicodeMapFile /etc/nginx/unicode.mapping 20127".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Loads CRS 3.3.4 PL1 in blocking mode in the peer's include order (reference §6.4): engine settings,
/// `crs-setup.conf`, `REQUEST-900-…`, `rules/*.conf`, `RESPONSE-999-…`. Returns the rule set and the number of
/// rules loaded.
pub fn build_crs(paths: &CrsPaths) -> Result<(RuleSet, usize), BenchError> {
    let recommended = std::fs::read_to_string(&paths.engine_conf)
        .map_err(|e| BenchError::io(&paths.engine_conf, e))?;
    let settings = engine_settings(&recommended);
    if !settings.contains("\nSecRuleEngine On\n") && !settings.starts_with("SecRuleEngine On\n") {
        return Err(BenchError::SecLang(
            "the engine settings do not set SecRuleEngine On".to_owned(),
        ));
    }
    let etc = &paths.etc_dir;
    let includes = format!(
        "Include {}\nInclude {}\nInclude {}/*.conf\nInclude {}\n",
        etc.join("crs-setup.conf").display(),
        etc.join("REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf")
            .display(),
        paths.rules_dir.display(),
        etc.join("RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf")
            .display(),
    );
    let sources = vec![
        ("modsecurity-engine.conf".to_owned(), settings),
        ("main.conf".to_owned(), includes),
    ];
    let (rules, report) = RuleSet::from_sources(&sources, Some(&paths.rules_dir))
        .map_err(|e| BenchError::SecLang(e.to_string()))?;
    for u in &report.unsupported {
        // CRS 3.3.4 has one such rule, 910140 (`@rbl`, a DNS lookup), which only runs when a Project Honey Pot
        // key is configured; ModSecurity in the peer skips it for the same reason.
        eprintln!(
            "waf-bench: note: SecLang left out {}:{} id {:?}: {}",
            u.file, u.line, u.rule_id, u.reason
        );
    }
    if report.unsupported.len() > 3 {
        return Err(BenchError::SecLang(format!(
            "{} CRS rules not supported; the comparison would not be like for like",
            report.unsupported.len()
        )));
    }
    Ok((rules, report.rules))
}

/// What an engine decided, reduced to what the benchmark checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// True when the request (and, for SecLang, the response) may go through.
    pub allowed: bool,
    /// The deciding rule when blocked, else what matched without blocking (labels, counted rules, CRS ids).
    pub detail: Vec<String>,
}

/// One system under test.
pub enum Engine<'a> {
    /// The AWS-style web ACL.
    Acl {
        /// The compiled ACL.
        acl: &'a CompiledAcl,
        /// The rate counter (no rate-based rule in this ACL; the environment needs one).
        rate: &'a InMemoryRateCounter,
    },
    /// CRS on the SecLang engine.
    Crs(&'a RuleSet),
    /// The ACL, then CRS when the ACL allows.
    Both(&'a CompiledAcl, &'a InMemoryRateCounter, &'a RuleSet),
}

/// The upstream's answer the peer's ModSecurity inspects in phases 3–4 (`return 200 "ok\n"`, text/plain).
fn response_headers() -> Vec<(String, Vec<u8>)> {
    vec![
        ("Server".to_owned(), b"nginx/1.22.1".to_vec()),
        ("Content-Type".to_owned(), b"text/plain".to_vec()),
        ("Content-Length".to_owned(), b"3".to_vec()),
        ("Connection".to_owned(), b"keep-alive".to_vec()),
    ]
}

fn acl_outcome(v: &Verdict) -> Outcome {
    let mut detail: Vec<String> = v
        .terminating_rule
        .iter()
        .map(|t| format!("terminating {}", t.name))
        .collect();
    detail.extend(
        v.non_terminating
            .iter()
            .map(|m| format!("count {}", m.name)),
    );
    detail.extend(v.labels.iter().map(|l| format!("label {l}")));
    Outcome {
        allowed: v.is_allowed(),
        detail,
    }
}

/// Runs one request through CRS: request phases, the response phases on the upstream's `ok`, logging phase.
pub fn run_crs(rules: &RuleSet, req: &Request, headers: &[(String, Vec<u8>)]) -> Outcome {
    let mut tx = Transaction::new(rules, req);
    let mut blocked = tx.process_request();
    if blocked.is_none() {
        blocked = tx.process_response(200, headers, b"ok\n");
    }
    tx.finish();
    let mut detail: Vec<String> = blocked
        .iter()
        .map(|i| format!("intervention {} by {:?}", i.status, i.rule_id))
        .collect();
    // Logged matches only: CRS's initialisation `SecAction`s match on every request with `nolog`.
    detail.extend(
        tx.logs()
            .iter()
            .map(|l| format!("rule {} {}", l.rule_id, l.matched_var_name)),
    );
    Outcome {
        allowed: blocked.is_none(),
        detail,
    }
}

/// A reusable runner: holds what each evaluation needs besides the request.
pub struct Runner<'a> {
    engine: Engine<'a>,
    headers: Vec<(String, Vec<u8>)>,
    now_ms: u64,
}

impl<'a> Runner<'a> {
    /// Wraps `engine`.
    pub fn new(engine: Engine<'a>) -> Runner<'a> {
        Runner {
            engine,
            headers: response_headers(),
            now_ms: 1_764_400_000_000,
        }
    }

    /// Evaluates `req` once.
    pub fn run(&self, req: &Request) -> Outcome {
        match &self.engine {
            Engine::Acl { acl, rate } => {
                acl_outcome(&acl.evaluate(req, &EvalEnv::new(self.now_ms, *rate)))
            }
            Engine::Crs(rules) => run_crs(rules, req, &self.headers),
            Engine::Both(acl, rate, rules) => {
                let a = acl_outcome(&acl.evaluate(req, &EvalEnv::new(self.now_ms, *rate)));
                if !a.allowed {
                    return a;
                }
                let mut c = run_crs(rules, req, &self.headers);
                c.detail.extend(a.detail);
                c
            }
        }
    }
}
