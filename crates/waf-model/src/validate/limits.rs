//! Quotas AWS enforces with `WAFLimitsExceededException` rather than `WAFInvalidParameterException`.
//! Per-account counts (web ACLs, IP sets, ...) belong to the store; these are the per-document ones.

use crate::error::ModelError;
use crate::model::*;

/// Custom response bodies per web ACL or rule group \[doc: AWS WAF quotas\].
pub const MAX_CUSTOM_RESPONSE_BODIES: usize = 50;
/// Custom request headers inserted per web ACL or rule group \[doc: AWS WAF quotas\].
pub const MAX_CUSTOM_REQUEST_HEADERS: usize = 100;
/// Custom response headers per web ACL or rule group \[doc: AWS WAF quotas\].
pub const MAX_CUSTOM_RESPONSE_HEADERS: usize = 100;
/// Addresses per IP set \[unverified: AWS WAF quotas, 10,000\].
pub const MAX_IP_SET_ADDRESSES: usize = 10_000;
/// Patterns per regex pattern set \[unverified: AWS WAF quotas, 10\].
pub const MAX_REGEX_PATTERNS: usize = 10;

fn exceeded(limit_name: &'static str, limit: usize, actual: usize) -> Result<(), ModelError> {
    if actual > limit {
        Err(ModelError::LimitExceeded {
            limit_name,
            limit,
            actual,
        })
    } else {
        Ok(())
    }
}

#[derive(Default)]
struct HeaderCounts {
    request: usize,
    response: usize,
}

impl HeaderCounts {
    fn action(&mut self, a: &RuleAction) {
        let handling = match a {
            RuleAction::Block(b) => {
                self.block(b);
                None
            }
            RuleAction::Allow(x) => x.custom_request_handling.as_ref(),
            RuleAction::Count(x) => x.custom_request_handling.as_ref(),
            RuleAction::Captcha(x) => x.custom_request_handling.as_ref(),
            RuleAction::Challenge(x) => x.custom_request_handling.as_ref(),
            RuleAction::Monetize(_) => None,
        };
        if let Some(h) = handling {
            self.request = self.request.saturating_add(h.insert_headers.len());
        }
    }

    fn block(&mut self, b: &BlockAction) {
        let n = b
            .custom_response
            .as_ref()
            .and_then(|r| r.response_headers.as_ref())
            .map_or(0, Vec::len);
        self.response = self.response.saturating_add(n);
    }

    fn rules(&mut self, rules: &[Rule]) {
        for r in rules {
            if let Some(a) = &r.action {
                self.action(a);
            }
            let overrides = match &r.statement {
                Statement::ManagedRuleGroup(m) => m.rule_action_overrides.as_deref(),
                Statement::RuleGroupReference(g) => g.rule_action_overrides.as_deref(),
                _ => None,
            };
            for o in overrides.unwrap_or(&[]) {
                self.action(&o.action_to_use);
            }
        }
    }

    fn check(&self) -> Result<(), ModelError> {
        exceeded(
            "CustomRequestHeaders",
            MAX_CUSTOM_REQUEST_HEADERS,
            self.request,
        )?;
        exceeded(
            "CustomResponseHeaders",
            MAX_CUSTOM_RESPONSE_HEADERS,
            self.response,
        )
    }
}

/// Per-document quotas of a web ACL.
pub fn web_acl_limits(acl: &WebAcl) -> Result<(), ModelError> {
    let bodies = acl.custom_response_bodies.as_ref().map_or(0, |b| b.len());
    exceeded("CustomResponseBodies", MAX_CUSTOM_RESPONSE_BODIES, bodies)?;
    let mut counts = HeaderCounts::default();
    match &acl.default_action {
        DefaultAction::Block(b) => counts.block(b),
        DefaultAction::Allow(a) => {
            counts.request = a
                .custom_request_handling
                .as_ref()
                .map_or(0, |h| h.insert_headers.len());
        }
    }
    counts.rules(acl.rules());
    counts.check()
}

/// Per-document quotas of a rule group.
pub fn rule_group_limits(rg: &RuleGroup) -> Result<(), ModelError> {
    let bodies = rg.custom_response_bodies.as_ref().map_or(0, |b| b.len());
    exceeded("CustomResponseBodies", MAX_CUSTOM_RESPONSE_BODIES, bodies)?;
    let mut counts = HeaderCounts::default();
    counts.rules(rg.rules());
    counts.check()
}

/// Per-document quotas of an IP set.
pub fn ip_set_limits(s: &IpSet) -> Result<(), ModelError> {
    exceeded("Addresses", MAX_IP_SET_ADDRESSES, s.addresses.len())
}

/// Per-document quotas of a regex pattern set.
pub fn regex_pattern_set_limits(s: &RegexPatternSet) -> Result<(), ModelError> {
    let n = s.regular_expression_list.as_ref().map_or(0, Vec::len);
    exceeded("RegularExpressionList", MAX_REGEX_PATTERNS, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize) -> IpSet {
        IpSet {
            name: "s".into(),
            id: String::new(),
            arn: String::new(),
            description: None,
            ip_address_version: IpAddressVersion::Ipv4,
            addresses: vec!["10.0.0.0/8".into(); n],
        }
    }

    #[test]
    fn ip_set_size() {
        assert!(ip_set_limits(&set(MAX_IP_SET_ADDRESSES)).is_ok());
        assert_eq!(
            ip_set_limits(&set(MAX_IP_SET_ADDRESSES + 1)),
            Err(ModelError::LimitExceeded {
                limit_name: "Addresses",
                limit: MAX_IP_SET_ADDRESSES,
                actual: MAX_IP_SET_ADDRESSES + 1
            })
        );
    }

    #[test]
    fn headers_are_counted_across_rules_and_overrides() {
        let header = CustomHttpHeader {
            name: "h".into(),
            value: "v".into(),
        };
        let handling = CustomRequestHandling {
            insert_headers: vec![header; 60],
        };
        let mut counts = HeaderCounts::default();
        counts.action(&RuleAction::Count(CountAction {
            custom_request_handling: Some(handling.clone()),
        }));
        assert!(counts.check().is_ok());
        counts.action(&RuleAction::Allow(AllowAction {
            custom_request_handling: Some(handling),
        }));
        assert!(matches!(
            counts.check(),
            Err(ModelError::LimitExceeded { actual: 120, .. })
        ));
    }
}
