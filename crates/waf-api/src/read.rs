//! The read API the proxy nodes poll: [`WafApi::revision`], [`WafApi::web_acl_for_resource`] (a
//! [`ResolvedAcl`]: the web ACL with everything it references), [`WafApi::logging_configuration`] and
//! [`WafApi::associations`]; and [`SampleSource`], where `GetSampledRequests` reads samples from.

use portcullis_waf_core::Resources;
use portcullis_waf_model::{IpSet, RegexPatternSet, RuleGroup, WebAcl};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::Result;
use crate::state::{Association, WafApi, collections as c};

/// A web ACL with everything it references, as a proxy node needs it to compile the ACL.
#[derive(Debug, Clone)]
pub struct ResolvedAcl {
    /// The web ACL.
    pub web_acl: WebAcl,
    /// Its `LockToken`, which changes with every update (a cheap "did it change" test).
    pub lock_token: String,
    /// Every IP set it (or a rule group it references) references.
    pub ip_sets: Vec<IpSet>,
    /// Every regex pattern set it (or a rule group it references) references.
    pub regex_pattern_sets: Vec<RegexPatternSet>,
    /// Every rule group it references.
    pub rule_groups: Vec<RuleGroup>,
}

impl ResolvedAcl {
    /// The IP sets, regex pattern sets and rule groups as [`Resources`]; the caller adds the managed
    /// groups (and the reputation IP sets) it runs.
    pub fn resources(&self) -> Resources {
        let mut res = Resources::new();
        for s in &self.ip_sets {
            res.add_ip_set(s.clone());
        }
        for s in &self.regex_pattern_sets {
            let arn = s.arn.clone().unwrap_or_default();
            res.add_regex_pattern_set(&arn, s.clone());
        }
        for g in &self.rule_groups {
            res.add_rule_group(g.clone());
        }
        res
    }
}

/// What the proxy nodes of this process report to the API: sampled requests for `GetSampledRequests`
/// and the addresses rate-based rules limit for `GetRateBasedStatementManagedKeys`.
pub trait SampleSource: Send + Sync {
    /// Up to `max_items` `SampledHTTPRequest` objects (AWS JSON) of requests that web ACL
    /// `web_acl_arn` evaluated between `start` and `end` and that rule (or rule group, or the web ACL's
    /// default action) with metric name `rule_metric_name` decided, plus the number of requests the
    /// sample was drawn from (`PopulationSize`).
    fn sampled(
        &self,
        web_acl_arn: &str,
        rule_metric_name: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
        max_items: u32,
    ) -> (Vec<Value>, u64);

    /// The addresses rate-based rule `rule` (inside the rule group reference statement `rule_group_rule`,
    /// when given) of web ACL `web_acl_arn` is limiting now. None by default.
    fn managed_keys(
        &self,
        web_acl_arn: &str,
        rule_group_rule: Option<&str>,
        rule: &str,
    ) -> Vec<std::net::IpAddr> {
        let _ = (web_acl_arn, rule_group_rule, rule);
        Vec::new()
    }
}

impl WafApi {
    /// The revision counter: bumped by every write through the API (on any node sharing the store).
    /// One point read; poll it and reload when it changes.
    pub async fn revision(&self) -> Result<u64> {
        Ok(self
            .store
            .get(c::META, "revision")
            .await?
            .and_then(|i| i.value.get("n").and_then(Value::as_u64))
            .unwrap_or(0))
    }

    /// The web ACL associated with `resource_arn` (a listener ARN), with every IP set, regex pattern
    /// set and rule group it references; `None` when nothing is associated (or the ACL has gone).
    pub async fn web_acl_for_resource(&self, resource_arn: &str) -> Result<Option<ResolvedAcl>> {
        let Some(a) = self.get::<Association>(c::ASSOC, resource_arn).await? else {
            return Ok(None);
        };
        let Some(acl) = self.entity_by_arn(&a.value.web_acl_arn).await? else {
            return Ok(None);
        };
        let web_acl: WebAcl = acl.value.parse()?;
        let lock_token = acl.value.lock_token.clone();
        let mut resolved = ResolvedAcl {
            web_acl,
            lock_token,
            ip_sets: Vec::new(),
            regex_pattern_sets: Vec::new(),
            rule_groups: Vec::new(),
        };
        let refs = portcullis_waf_model::References::of_rules(resolved.web_acl.rules());
        let mut ip_arns = refs.ip_sets;
        let mut rx_arns = refs.regex_pattern_sets;
        for arn in &refs.rule_groups {
            if let Some(e) = self.entity_by_arn(arn).await? {
                let g: RuleGroup = e.value.parse()?;
                let inner = portcullis_waf_model::References::of_rules(g.rules());
                ip_arns.extend(inner.ip_sets);
                rx_arns.extend(inner.regex_pattern_sets);
                resolved.rule_groups.push(g);
            }
        }
        for arn in &ip_arns {
            if let Some(e) = self.entity_by_arn(arn).await? {
                resolved.ip_sets.push(e.value.parse()?);
            }
        }
        for arn in &rx_arns {
            if let Some(e) = self.entity_by_arn(arn).await? {
                resolved.regex_pattern_sets.push(e.value.parse()?);
            }
        }
        Ok(Some(resolved))
    }

    /// The `LoggingConfiguration` (AWS JSON) of a web ACL, if one is set.
    pub async fn logging_configuration(&self, web_acl_arn: &str) -> Result<Option<Value>> {
        Ok(self
            .store
            .get(c::LOGGING, web_acl_arn)
            .await?
            .map(|i| i.value))
    }

    /// Every association (resource ARN → web ACL ARN) in the store, for a node that wants them all.
    pub async fn associations(&self) -> Result<Vec<Association>> {
        Ok(self
            .list::<Association>(c::ASSOC, "")
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }
}
