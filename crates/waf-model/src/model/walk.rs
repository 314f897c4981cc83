//! Walking statements: visit every nested statement (logical children and scope-downs) and collect the
//! resources a rule list references, so the API can answer `WAFNonexistentItemException` before storing it.

use std::collections::BTreeSet;

use super::acl::Rule;
use super::statement::Statement;

impl Statement {
    /// The statements directly inside this one: `And`/`Or` members, the `Not` operand, and the scope-down
    /// statement of rate-based and managed-group statements.
    pub fn children(&self) -> Vec<&Statement> {
        match self {
            Statement::And(a) => a.statements.iter().collect(),
            Statement::Or(o) => o.statements.iter().collect(),
            Statement::Not(n) => vec![n.statement.as_ref()],
            Statement::RateBased(r) => r.scope_down_statement.as_deref().into_iter().collect(),
            Statement::ManagedRuleGroup(m) => {
                m.scope_down_statement.as_deref().into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// Call `f` on this statement and every statement nested in it, depth first, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Statement)) {
        // Explicit stack: nesting depth comes from untrusted input.
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            f(s);
            let children = s.children();
            stack.extend(children.into_iter().rev());
        }
    }
}

/// The resources referenced by a list of rules, by ARN (and vendor/name for managed groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// `IPSetReferenceStatement.ARN`s.
    pub ip_sets: BTreeSet<String>,
    /// `RegexPatternSetReferenceStatement.ARN`s.
    pub regex_pattern_sets: BTreeSet<String>,
    /// `RuleGroupReferenceStatement.ARN`s.
    pub rule_groups: BTreeSet<String>,
    /// `ManagedRuleGroupStatement` (vendor, name, version).
    pub managed_rule_groups: BTreeSet<(String, String, Option<String>)>,
}

impl References {
    /// Collect the references of `rules`.
    pub fn of_rules(rules: &[Rule]) -> References {
        let mut refs = References::default();
        for rule in rules {
            rule.statement.walk(&mut |s| match s {
                Statement::IpSetReference(x) => {
                    refs.ip_sets.insert(x.arn.clone());
                }
                Statement::RegexPatternSetReference(x) => {
                    refs.regex_pattern_sets.insert(x.arn.clone());
                }
                Statement::RuleGroupReference(x) => {
                    refs.rule_groups.insert(x.arn.clone());
                }
                Statement::ManagedRuleGroup(m) => {
                    refs.managed_rule_groups.insert((
                        m.vendor_name.clone(),
                        m.name.clone(),
                        m.version.clone(),
                    ));
                }
                _ => {}
            });
        }
        refs
    }
}
