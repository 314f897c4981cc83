//! The managed rule groups a web ACL may reference (`docs/waf-rule-groups.md`): Portcullis's nine
//! groups (vendor `Portcullis`, defined in `crates/waf-core/rulegroups/*.json`, embedded here) and the
//! OWASP Core Rule Set (vendor `OWASP`, name `CoreRuleSet`, run by the SecLang engine on the proxy).
//!
//! The API uses them for `ListAvailableManagedRuleGroups`, `DescribeManagedRuleGroup`, capacity, and
//! the compile check of every web ACL it stores ([`compile_resources`]). Groups are not versioned.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use portcullis_waf_core::{
    EvalEnv, GroupOutcome, ManagedGroup, ManagedGroupConfig, Resources, RuleGroupManaged,
};
use portcullis_waf_model::capacity::CapacityResolver;
use portcullis_waf_model::{IpAddressVersion, IpSet, RuleGroup};

/// The vendor of Portcullis's own groups.
pub const PORTCULLIS_VENDOR: &str = "Portcullis";
/// The vendor of the OWASP Core Rule Set group.
pub const CRS_VENDOR: &str = "OWASP";
/// The name of the OWASP Core Rule Set group.
pub const CRS_NAME: &str = "CoreRuleSet";
/// The capacity the CRS group consumes: AWS's figure for its own common rule set (700 WCU), so a web
/// ACL's budget does not depend on which of the two a customer picks.
pub const CRS_CAPACITY: u64 = 700;
/// The label namespace of the CRS group.
pub const CRS_LABEL_NAMESPACE: &str = "awswaf:managed:owasp:core-rule-set:";

/// The Portcullis groups: (file name, JSON).
pub const PORTCULLIS_GROUP_FILES: &[(&str, &str)] = &[
    (
        "portcullis-core.json",
        include_str!("../../waf-core/rulegroups/portcullis-core.json"),
    ),
    (
        "portcullis-known-bad-inputs.json",
        include_str!("../../waf-core/rulegroups/portcullis-known-bad-inputs.json"),
    ),
    (
        "portcullis-sql-database.json",
        include_str!("../../waf-core/rulegroups/portcullis-sql-database.json"),
    ),
    (
        "portcullis-linux.json",
        include_str!("../../waf-core/rulegroups/portcullis-linux.json"),
    ),
    (
        "portcullis-unix.json",
        include_str!("../../waf-core/rulegroups/portcullis-unix.json"),
    ),
    (
        "portcullis-windows.json",
        include_str!("../../waf-core/rulegroups/portcullis-windows.json"),
    ),
    (
        "portcullis-php.json",
        include_str!("../../waf-core/rulegroups/portcullis-php.json"),
    ),
    (
        "portcullis-admin-protection.json",
        include_str!("../../waf-core/rulegroups/portcullis-admin-protection.json"),
    ),
    (
        "portcullis-ip-reputation.json",
        include_str!("../../waf-core/rulegroups/portcullis-ip-reputation.json"),
    ),
];

/// The fixed ARNs of the IP sets the `IpReputationList` group references.
pub fn reputation_ip_set_arns() -> Vec<(String, IpAddressVersion)> {
    let mut out = Vec::new();
    for list in ["ip-reputation", "reconnaissance", "ddos"] {
        for (v, family) in [
            ("ipv4", IpAddressVersion::Ipv4),
            ("ipv6", IpAddressVersion::Ipv6),
        ] {
            out.push((
                format!("arn:aws:wafv2::portcullis:managed/ipset/{list}/{v}"),
                family,
            ));
        }
    }
    out
}

/// One managed group as the API describes it.
#[derive(Debug, Clone)]
pub struct ManagedEntry {
    /// `VendorName`.
    pub vendor: &'static str,
    /// `Name`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// Capacity (WCU).
    pub capacity: u64,
    /// `LabelNamespace`.
    pub label_namespace: String,
    /// The group definition (Portcullis groups only).
    pub group: Option<RuleGroup>,
}

/// Every managed group, Portcullis's (in file order) then the CRS.
pub fn catalog() -> &'static [ManagedEntry] {
    static CATALOG: OnceLock<Vec<ManagedEntry>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut out = Vec::new();
        for (file, json) in PORTCULLIS_GROUP_FILES {
            match RuleGroup::from_json(json.as_bytes()) {
                Ok(g) => out.push(ManagedEntry {
                    vendor: PORTCULLIS_VENDOR,
                    name: g.name.clone(),
                    description: g.description.clone().unwrap_or_default(),
                    capacity: u64::try_from(g.capacity).unwrap_or(0),
                    label_namespace: g.label_namespace.clone().unwrap_or_default(),
                    group: Some(g),
                }),
                Err(e) => tracing::error!(file, error = %e, "managed rule group does not parse"),
            }
        }
        out.push(ManagedEntry {
            vendor: CRS_VENDOR,
            name: CRS_NAME.to_owned(),
            description: "The OWASP Core Rule Set 3.3.4 (anomaly scoring, paranoia level 1), run by the Portcullis SecLang engine.".to_owned(),
            capacity: CRS_CAPACITY,
            label_namespace: CRS_LABEL_NAMESPACE.to_owned(),
            group: None,
        });
        out
    })
}

/// The managed group `vendor`/`name` (exact, case-sensitive), if there is one.
pub fn find(vendor: &str, name: &str) -> Option<&'static ManagedEntry> {
    catalog()
        .iter()
        .find(|e| e.vendor == vendor && e.name == name)
}

/// Stands in for the CRS while a web ACL is compile-checked (the proxy registers the real engine).
struct CrsPlaceholder;

impl ManagedGroup for CrsPlaceholder {
    fn label_namespace(&self) -> &str {
        CRS_LABEL_NAMESPACE
    }
    fn rule_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn evaluate(
        &self,
        _req: &portcullis_waf_request::Request,
        _cfg: &ManagedGroupConfig,
        _env: &EvalEnv<'_>,
    ) -> GroupOutcome {
        GroupOutcome::default()
    }
}

/// Resources holding every managed group (and the reputation IP sets, empty), onto which the API adds
/// a web ACL's own references before compile-checking it.
pub fn compile_resources() -> &'static Resources {
    static RES: OnceLock<Resources> = OnceLock::new();
    RES.get_or_init(|| {
        let mut res = Resources::new();
        for (arn, family) in reputation_ip_set_arns() {
            res.add_ip_set(IpSet {
                name: arn.rsplit('/').take(2).collect::<Vec<_>>().join("-"),
                id: String::new(),
                arn,
                description: None,
                ip_address_version: family,
                addresses: Vec::new(),
            });
        }
        let mut groups: Vec<(String, Arc<dyn ManagedGroup>)> = Vec::new();
        for e in catalog() {
            let Some(g) = &e.group else { continue };
            let ns = e
                .label_namespace
                .strip_prefix("awswaf:managed:portcullis:")
                .and_then(|s| s.strip_suffix(':'))
                .unwrap_or(&e.name);
            match RuleGroupManaged::new(e.vendor, ns, g.clone(), &res) {
                Ok(m) => groups.push((e.name.clone(), Arc::new(m))),
                Err(err) => {
                    tracing::error!(group = %e.name, error = %err, "managed rule group does not compile")
                }
            }
        }
        for (name, g) in groups {
            res.add_managed_group(PORTCULLIS_VENDOR, &name, g);
        }
        res.add_managed_group(CRS_VENDOR, CRS_NAME, Arc::new(CrsPlaceholder));
        res
    })
}

/// Capacities for `CheckCapacity` and the web ACL checks: the managed groups of [`catalog`] and the
/// declared capacities of the account's rule groups by ARN.
#[derive(Debug, Default)]
pub struct Capacities {
    /// Declared capacity by rule group ARN.
    pub rule_groups: HashMap<String, u64>,
}

impl CapacityResolver for Capacities {
    fn rule_group(&self, arn: &str) -> Option<u64> {
        self.rule_groups.get(arn).copied()
    }
    fn managed_group(&self, vendor: &str, name: &str, _version: Option<&str>) -> Option<u64> {
        find(vendor, name).map(|e| e.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_groups_load_and_compile() {
        assert_eq!(catalog().len(), 10);
        let res = compile_resources();
        assert_eq!(res.managed_groups.len(), 10);
        assert_eq!(find("Portcullis", "SQLiRuleSet").unwrap().capacity, 200);
        assert_eq!(find("Portcullis", "CommonRuleSet").unwrap().capacity, 700);
        assert_eq!(find("OWASP", "CoreRuleSet").unwrap().capacity, CRS_CAPACITY);
        assert!(find("AWS", "AWSManagedRulesSQLiRuleSet").is_none());
        assert!(find("portcullis", "SQLiRuleSet").is_none());
    }
}
