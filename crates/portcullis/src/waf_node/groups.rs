//! The managed rule groups a web ACL file can reference: Portcullis's own groups (the JSON files of
//! `crates/waf-core/rulegroups/`, built into the binary) under vendor `Portcullis`, and the OWASP Core Rule Set
//! on the SecLang engine under vendor `OWASP`, name `CoreRuleSet` (see `docs/waf-rule-groups.md`).
//!
//! CRS is loaded once, the first time a web ACL references it, and shared by every listener and every reload.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use portcullis_config::IpReputation;
use portcullis_waf_core::labels::managed_namespace;
use portcullis_waf_core::{
    ActionKind, EvalEnv, GroupMatch, GroupOutcome, ManagedGroup, ManagedGroupConfig,
    ResolvedAction, Resources, RuleGroupManaged,
};
use portcullis_waf_model as m;
use portcullis_waf_request::Request;
use portcullis_waf_seclang::crs_test::setup;
use portcullis_waf_seclang::{RuleSet, Transaction};

/// Vendor of Portcullis's own groups.
pub const PORTCULLIS_VENDOR: &str = "Portcullis";
/// Vendor of the CRS group.
pub const CRS_VENDOR: &str = "OWASP";
/// Name of the CRS group.
pub const CRS_NAME: &str = "CoreRuleSet";
/// Label namespace of the CRS group (below `awswaf:managed:owasp:`).
pub const CRS_NAMESPACE: &str = "core-rule-set";

/// (file contents, group name, label namespace) of the built-in groups.
const PORTCULLIS_GROUPS: [(&str, &str, &str); 9] = [
    (
        include_str!("../../../waf-core/rulegroups/portcullis-core.json"),
        "CommonRuleSet",
        "core-rule-set",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-known-bad-inputs.json"),
        "KnownBadInputsRuleSet",
        "known-bad-inputs",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-sql-database.json"),
        "SQLiRuleSet",
        "sql-database",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-linux.json"),
        "LinuxRuleSet",
        "linux-os",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-unix.json"),
        "UnixRuleSet",
        "posix-os",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-windows.json"),
        "WindowsRuleSet",
        "windows-os",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-php.json"),
        "PHPRuleSet",
        "php-app",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-admin-protection.json"),
        "AdminProtectionRuleSet",
        "admin-protection",
    ),
    (
        include_str!("../../../waf-core/rulegroups/portcullis-ip-reputation.json"),
        "IpReputationList",
        "ip-reputation-list",
    ),
];

/// Resources holding every Portcullis managed group, with the IP sets `IpReputationList` references filled
/// from the `[waf.ip_reputation]` files (empty without them).
pub fn portcullis_resources(reputation: &IpReputation) -> anyhow::Result<Resources> {
    let mut res = Resources::new();
    let sets = [
        ("ip-reputation", &reputation.malicious),
        ("reconnaissance", &reputation.reconnaissance),
        ("ddos", &reputation.ddos),
    ];
    for (list, files) in sets {
        let (v4, v6) = super::reputation::load(files)?;
        if !files.is_empty() {
            tracing::info!(
                list,
                ipv4 = v4.len(),
                ipv6 = v6.len(),
                "IP reputation list loaded"
            );
        }
        for (version, addresses, wire) in [
            ("ipv4", v4, m::IpAddressVersion::Ipv4),
            ("ipv6", v6, m::IpAddressVersion::Ipv6),
        ] {
            // Built in: not bound by the 10,000-address quota of customer IP sets.
            res.add_ip_set(m::IpSet {
                name: format!("{list}-{version}"),
                id: "00000000-0000-0000-0000-000000000000".to_owned(),
                arn: format!("arn:aws:wafv2::portcullis:managed/ipset/{list}/{version}"),
                description: None,
                ip_address_version: wire,
                addresses,
            });
        }
    }
    for (json, name, ns) in PORTCULLIS_GROUPS {
        let group = m::RuleGroup::from_json(json.as_bytes())
            .map_err(|e| anyhow::anyhow!("built-in rule group {name}: {e}"))?;
        let managed = RuleGroupManaged::new(PORTCULLIS_VENDOR, ns, group, &res)
            .map_err(|e| anyhow::anyhow!("built-in rule group {name}: {e}"))?;
        res.add_managed_group(PORTCULLIS_VENDOR, name, Arc::new(managed));
    }
    Ok(res)
}

/// Loads CRS on first use and keeps it.
pub struct CrsLoader {
    dir: PathBuf,
    paranoia: u8,
    loaded: Mutex<Option<Arc<CrsGroup>>>,
}

impl CrsLoader {
    /// CRS from `dir` (holding `rules/`) at `paranoia`.
    pub fn new(dir: PathBuf, paranoia: u8) -> CrsLoader {
        CrsLoader {
            dir,
            paranoia,
            loaded: Mutex::new(None),
        }
    }

    /// The group, loading it the first time.
    pub fn get(&self) -> Result<Arc<CrsGroup>, String> {
        let mut slot = self.loaded.lock().map_err(|_| "CRS loader poisoned")?;
        if let Some(g) = slot.as_ref() {
            return Ok(Arc::clone(g));
        }
        let started = std::time::Instant::now();
        let rules = load_crs(&self.dir, self.paranoia)?;
        let group = Arc::new(CrsGroup::new(rules));
        tracing::info!(dir = %self.dir.display(), paranoia = self.paranoia, rules = group.names.len(), elapsed = ?started.elapsed(), "OWASP CRS loaded");
        *slot = Some(Arc::clone(&group));
        Ok(group)
    }
}

/// Loads CRS in blocking mode: the engine settings CRS assumes, `crs-setup.conf`, the paranoia level, Debian's
/// exclusion files when present, then `rules/*.conf` in order.
fn load_crs(dir: &Path, paranoia: u8) -> Result<RuleSet, String> {
    if !dir.join("rules").is_dir() {
        return Err(format!(
            "the OWASP CRS is not installed in {} (no rules/ directory; install Debian's modsecurity-crs or set waf.crs)",
            dir.display()
        ));
    }
    let setup_path = setup::find_setup(dir, None)
        .ok_or_else(|| format!("no crs-setup.conf for the CRS in {}", dir.display()))?;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let engine = setup::ENGINE_CONF.replace("SecRuleEngine DetectionOnly", "SecRuleEngine On");
    let mut sources = vec![
        ("portcullis-engine.conf".to_owned(), engine),
        (setup_path.display().to_string(), read(&setup_path)?),
        (
            "portcullis-paranoia.conf".to_owned(),
            format!(
                "SecAction \"id:999001,phase:1,pass,nolog,t:none,setvar:tx.paranoia_level={paranoia}\"\n"
            ),
        ),
    ];
    let etc = setup_path.parent().unwrap_or(dir);
    let before = etc.join("REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf");
    if before.is_file() {
        sources.push((before.display().to_string(), read(&before)?));
    }
    let files = setup::rule_files(dir).map_err(|e| format!("{}/rules: {e}", dir.display()))?;
    for f in &files {
        sources.push((f.display().to_string(), read(f)?));
    }
    let after = etc.join("RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf");
    if after.is_file() {
        sources.push((after.display().to_string(), read(&after)?));
    }
    let (rules, report) = RuleSet::from_sources(&sources, Some(&dir.join("rules")))
        .map_err(|e| format!("loading the CRS from {}: {e}", dir.display()))?;
    for u in &report.unsupported {
        tracing::debug!(file = %u.file, line = u.line, rule = ?u.rule_id, reason = %u.reason, "CRS rule left out");
    }
    Ok(rules)
}

/// The CRS as a managed rule group. Each logged CRS rule that matched becomes a Count match labelled
/// `awswaf:managed:owasp:core-rule-set:<id>`; the rule that disrupted (in anomaly mode, 949110) becomes a Block
/// match named by its id, so `RuleActionOverrides` `{"Name": "949110", "ActionToUse": {"Count": {}}}` turns the
/// group into detection only.
pub struct CrsGroup {
    rules: RuleSet,
    namespace: String,
    names: Vec<String>,
}

impl CrsGroup {
    fn new(rules: RuleSet) -> CrsGroup {
        let mut names: Vec<String> = rules
            .rules()
            .iter()
            .filter(|r| r.id != 0)
            .map(|r| r.id.to_string())
            .collect();
        names.dedup();
        CrsGroup {
            rules,
            namespace: managed_namespace(CRS_VENDOR, CRS_NAMESPACE),
            names,
        }
    }
}

impl ManagedGroup for CrsGroup {
    fn label_namespace(&self) -> &str {
        &self.namespace
    }

    fn rule_names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn evaluate(
        &self,
        req: &Request,
        _cfg: &ManagedGroupConfig,
        _env: &EvalEnv<'_>,
    ) -> GroupOutcome {
        let mut tx = Transaction::new(&self.rules, req);
        let intervention = tx.process_request();
        tx.finish();
        let mut matches: Vec<GroupMatch> = tx
            .logs()
            .iter()
            .filter(|l| {
                l.rule_id != 0 && Some(l.rule_id) != intervention.as_ref().and_then(|i| i.rule_id)
            })
            .map(|l| GroupMatch {
                rule: l.rule_id.to_string(),
                action: ResolvedAction::plain(ActionKind::Count),
                labels: vec![format!("{}{}", self.namespace, l.rule_id)],
                match_details: Vec::new(),
            })
            .collect();
        if let Some(i) = intervention {
            let id = i.rule_id.unwrap_or(0);
            matches.push(GroupMatch {
                rule: id.to_string(),
                action: ResolvedAction::plain(ActionKind::Block),
                labels: vec![format!("{}{id}", self.namespace)],
                match_details: Vec::new(),
            });
        }
        GroupOutcome { matches }
    }
}

/// True when the web ACL document references the CRS group anywhere.
pub fn references_crs(doc: &serde_json::Value) -> bool {
    match doc {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(st)) = map.get("ManagedRuleGroupStatement")
                && st.get("VendorName").and_then(|v| v.as_str()) == Some(CRS_VENDOR)
            {
                return true;
            }
            map.values().any(references_crs)
        }
        serde_json::Value::Array(items) => items.iter().any(references_crs),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_groups_compile() {
        let res = portcullis_resources(&IpReputation::default()).unwrap();
        assert_eq!(res.managed_groups.len(), 9);
        assert!(
            res.managed_groups
                .contains_key(&("Portcullis".to_owned(), "SQLiRuleSet".to_owned()))
        );
    }

    #[test]
    fn managed_sqli_group_reports_rule_match_details() {
        let res = portcullis_resources(&IpReputation::default()).unwrap();
        let vis = |n: &str| serde_json::json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
        let acl = m::WebAcl::from_value(serde_json::json!({
            "Name": "t", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:000000000000:regional/webacl/t/id",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("t"),
            "Rules": [{"Name": "sqli", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("s"),
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "Portcullis", "Name": "SQLiRuleSet"}}}]
        }))
        .unwrap();
        let acl = portcullis_waf_core::CompiledAcl::compile(&acl, &res).unwrap();
        let rate = portcullis_waf_core::rate::InMemoryRateCounter::new();
        let env = EvalEnv::new(0, &rate);
        let req = Request::builder()
            .uri("/?id=1%27%20or%20%271%27%3D%271")
            .header("Host", "example.com")
            .build();
        let v = acl.evaluate(&req, &env);
        let t = v.terminating_rule.expect("the SQLi group blocks");
        assert_eq!(t.rule_group.as_deref(), Some("sqli"));
        let d = t.match_details.first().expect("match details");
        assert_eq!(d.condition_type, "SQL_INJECTION");
        assert!(!d.matched_data.is_empty(), "{d:?}");
    }

    #[test]
    fn finds_crs_references() {
        let doc = serde_json::json!({"Rules": [{"Statement": {"ManagedRuleGroupStatement":
            {"VendorName": "OWASP", "Name": "CoreRuleSet"}}}]});
        assert!(references_crs(&doc));
        let doc = serde_json::json!({"Rules": [{"Statement": {"ManagedRuleGroupStatement":
            {"VendorName": "Portcullis", "Name": "CommonRuleSet"}}}]});
        assert!(!references_crs(&doc));
    }

    #[test]
    fn crs_blocks_sqli_when_installed() {
        let dir = PathBuf::from(portcullis_config::DEFAULT_CRS_DIR);
        if !dir.join("rules").is_dir() {
            eprintln!(
                "SKIP crs_blocks_sqli_when_installed: no CRS in {}",
                dir.display()
            );
            return;
        }
        let group = CrsLoader::new(dir, 1).get().unwrap();
        let rate = portcullis_waf_core::rate::InMemoryRateCounter::new();
        let env = EvalEnv::new(0, &rate);
        let cfg = ManagedGroupConfig::default();
        let bad = Request::builder()
            .uri("/?id=1%27%20or%20%271%27%3D%271")
            .header("Host", "example.com")
            .header("User-Agent", "curl/8")
            .header("Accept", "*/*")
            .build();
        let out = group.evaluate(&bad, &cfg, &env);
        let last = out.matches.last().unwrap();
        assert_eq!(
            last.action.kind,
            ActionKind::Block,
            "{:?}",
            out.matches.iter().map(|m| &m.rule).collect::<Vec<_>>()
        );
        assert!(last.labels[0].starts_with("awswaf:managed:owasp:core-rule-set:"));
        let good = Request::builder()
            .uri("/index.html?q=hello")
            .header("Host", "example.com")
            .header("User-Agent", "curl/8")
            .header("Accept", "*/*")
            .build();
        let out = group.evaluate(&good, &cfg, &env);
        assert!(
            out.matches
                .iter()
                .all(|m| m.action.kind == ActionKind::Count)
        );
    }
}
