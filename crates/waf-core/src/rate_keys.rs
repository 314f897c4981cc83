//! The addresses that rate-based rules are limiting right now, for `GetRateBasedStatementManagedKeys`.
//!
//! Only rules that aggregate on the IP address alone (`IP` or `FORWARDED_IP`) have managed keys, as in AWS
//! WAF. Each rule instance (web ACL, optional rule group reference, rule) keeps the addresses that went over
//! its limit, with the counter key they are counted under; a query re-reads each address's count through the
//! [`RateCounter`] and keeps only those still over the limit, forgetting the rest. So the answer follows the
//! counter (shared through Redis when the proxy uses it) and needs no clean-up task.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::rate::RateCounter;

/// Addresses kept per rule instance: AWS WAF limits at most 10,000 per instance.
pub const MAX_KEYS_PER_RULE: usize = 10_000;
/// Rule instances tracked at once; beyond it, a new instance is not tracked until a query frees room.
const MAX_RULES: usize = 4_096;

#[derive(Debug, Default)]
struct RuleKeys {
    window_secs: u32,
    limit: u64,
    /// Address -> the counter key it is counted under.
    ips: HashMap<IpAddr, Vec<u8>>,
}

/// The addresses each IP-keyed rate-based rule instance is limiting (see the module docs).
#[derive(Debug, Default)]
pub struct ManagedKeys {
    rules: Mutex<HashMap<Vec<u8>, RuleKeys>>,
}

/// The counter prefix of a rule instance, as the compiler gives it (`rate\0<acl>\0[<group rule>\0]<rule>\0`).
pub(crate) fn rule_prefix(acl_id: &str, rule_group_rule: Option<&str>, rule: &str) -> Vec<u8> {
    let mut id = b"rate\0".to_vec();
    id.extend_from_slice(acl_id.as_bytes());
    id.push(0);
    if let Some(g) = rule_group_rule {
        id.extend_from_slice(g.as_bytes());
        id.push(0);
    }
    id.extend_from_slice(rule.as_bytes());
    id.push(0);
    id
}

impl ManagedKeys {
    /// An empty registry.
    pub fn new() -> ManagedKeys {
        ManagedKeys::default()
    }

    /// Notes that `ip`, counted under `key` by rule instance `rule` (its counter prefix), is over `limit`.
    pub(crate) fn record(&self, rule: &[u8], ip: IpAddr, key: &[u8], window_secs: u32, limit: u64) {
        let Ok(mut rules) = self.rules.lock() else {
            return;
        };
        if !rules.contains_key(rule) && rules.len() >= MAX_RULES {
            return;
        }
        let entry = rules.entry(rule.to_vec()).or_default();
        entry.window_secs = window_secs;
        entry.limit = limit;
        if entry.ips.len() < MAX_KEYS_PER_RULE || entry.ips.contains_key(&ip) {
            entry.ips.entry(ip).or_insert_with(|| key.to_vec());
        }
    }

    /// The addresses rule `rule` (inside the rule group reference statement `rule_group_rule`, if given) of
    /// web ACL `acl_id` (its ARN, as the ACL was compiled with) is limiting at `now_ms`, sorted. Addresses
    /// whose count fell to the limit or below are forgotten.
    pub fn addresses(
        &self,
        acl_id: &str,
        rule_group_rule: Option<&str>,
        rule: &str,
        counter: &dyn RateCounter,
        now_ms: u64,
    ) -> Vec<IpAddr> {
        let prefix = rule_prefix(acl_id, rule_group_rule, rule);
        let Ok(mut rules) = self.rules.lock() else {
            return Vec::new();
        };
        let Some(entry) = rules.get_mut(&prefix) else {
            return Vec::new();
        };
        let (window, limit) = (entry.window_secs, entry.limit);
        entry
            .ips
            .retain(|_, key| counter.count(key, window, now_ms) > limit);
        let mut out: Vec<IpAddr> = entry.ips.keys().copied().collect();
        if out.is_empty() {
            rules.remove(&prefix);
        }
        out.sort();
        out
    }
}
