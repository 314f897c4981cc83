//! The public entry points: [`Resources`], [`CompiledAcl`] and [`RuleGroupManaged`].

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_waf_model as m;
use portcullis_waf_request::Request;

use crate::compile::{AclCx, Builder, compile_group_rules, compile_rules};
use crate::env::EvalEnv;
use crate::error::CompileError;
use crate::eval::Ctx;
use crate::field::Parsed;
use crate::labels::{account_of_arn, managed_namespace, webacl_namespace};
use crate::managed::{GroupOutcome, ManagedGroup, ManagedGroupConfig};
use crate::plan::{PlainRule, Plan, ResolvedAction};
use crate::verdict::Verdict;

/// Body bytes inspected when neither the resources nor the web ACL set a limit (the CloudFront default).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The account used in label namespaces when neither the ARN nor `LabelNamespace` names one.
const DEFAULT_ACCOUNT: &str = "000000000000";

/// What a web ACL may reference. Keys are ARNs, except managed groups: (vendor, name).
#[derive(Clone, Default)]
pub struct Resources {
    /// IP sets by ARN.
    pub ip_sets: HashMap<String, m::IpSet>,
    /// Regex pattern sets by ARN.
    pub regex_pattern_sets: HashMap<String, m::RegexPatternSet>,
    /// Customer rule groups by ARN.
    pub rule_groups: HashMap<String, m::RuleGroup>,
    /// Managed rule groups by (vendor name, group name).
    pub managed_groups: HashMap<(String, String), Arc<dyn ManagedGroup>>,
    /// Bytes of body to inspect; overrides the web ACL's `AssociationConfig`.
    pub body_inspection_limit: Option<usize>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("ip_sets", &self.ip_sets.keys().collect::<Vec<_>>())
            .field(
                "regex_pattern_sets",
                &self.regex_pattern_sets.keys().collect::<Vec<_>>(),
            )
            .field("rule_groups", &self.rule_groups.keys().collect::<Vec<_>>())
            .field(
                "managed_groups",
                &self.managed_groups.keys().collect::<Vec<_>>(),
            )
            .field("body_inspection_limit", &self.body_inspection_limit)
            .finish()
    }
}

impl Resources {
    /// Empty resources.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Adds an IP set under its ARN.
    pub fn add_ip_set(&mut self, set: m::IpSet) -> &mut Self {
        self.ip_sets.insert(set.arn.clone(), set);
        self
    }

    /// Adds a regex pattern set under its ARN (`arn` is used when the set carries none).
    pub fn add_regex_pattern_set(&mut self, arn: &str, set: m::RegexPatternSet) -> &mut Self {
        let key = set.arn.clone().unwrap_or_else(|| arn.to_owned());
        self.regex_pattern_sets.insert(key, set);
        self
    }

    /// Adds a customer rule group under its ARN.
    pub fn add_rule_group(&mut self, group: m::RuleGroup) -> &mut Self {
        self.rule_groups.insert(group.arn.clone(), group);
        self
    }

    /// Registers a managed group as `vendor`/`name`.
    pub fn add_managed_group(
        &mut self,
        vendor: &str,
        name: &str,
        group: Arc<dyn ManagedGroup>,
    ) -> &mut Self {
        self.managed_groups
            .insert((vendor.to_owned(), name.to_owned()), group);
        self
    }
}

/// The account of a web ACL or rule group: from its `LabelNamespace` (`awswaf:<account>:…`), else its ARN.
fn account(label_namespace: Option<&str>, arn: &str) -> String {
    label_namespace
        .and_then(|ns| ns.strip_prefix("awswaf:"))
        .and_then(|rest| rest.split(':').next())
        .filter(|a| !a.is_empty())
        .or_else(|| account_of_arn(arn))
        .unwrap_or(DEFAULT_ACCOUNT)
        .to_owned()
}

/// A web ACL compiled for evaluation. Cheap to share between threads (`Send + Sync`); compile once per change.
#[derive(Debug)]
pub struct CompiledAcl {
    name: String,
    plan: Plan,
    default: ResolvedAction,
    namespace: String,
}

impl CompiledAcl {
    /// Compiles `acl`, resolving its references in `res`.
    pub fn compile(acl: &m::WebAcl, res: &Resources) -> Result<CompiledAcl, CompileError> {
        let account = account(acl.label_namespace.as_deref(), &acl.arn);
        let namespace = acl
            .label_namespace
            .clone()
            .unwrap_or_else(|| webacl_namespace(&account, &acl.name));
        let (captcha_s, challenge_s) = crate::compile::acl_immunity(
            acl.captcha_config.as_ref(),
            acl.challenge_config.as_ref(),
        );
        let acx = AclCx {
            res,
            acl_id: if acl.arn.is_empty() {
                acl.name.clone()
            } else {
                acl.arn.clone()
            },
            bodies: acl.custom_response_bodies.as_ref(),
            captcha_s,
            challenge_s,
            namespace: Arc::from(namespace.as_str()),
            account,
        };
        let mut b = Builder::default();
        let rules = compile_rules(&mut b, &acx, acl)?;
        let default = crate::compile::resolve_default(
            &acl.default_action,
            acl.custom_response_bodies.as_ref(),
        )?;
        let body_limit = res.body_inspection_limit.unwrap_or_else(|| {
            acl.association_config
                .as_ref()
                .and_then(|c| c.request_body.as_ref())
                .and_then(|m| {
                    m.values()
                        .map(|v| v.default_size_inspection_limit.bytes())
                        .max()
                })
                .unwrap_or(DEFAULT_BODY_LIMIT)
        });
        let mut plan = Plan {
            rules,
            body_limit,
            ..Plan::default()
        };
        b.finish(&mut plan)?;
        Ok(CompiledAcl {
            name: acl.name.clone(),
            plan,
            default,
            namespace,
        })
    }

    /// Decides what to do with `req`.
    pub fn evaluate(&self, req: &Request, env: &EvalEnv<'_>) -> Verdict {
        let parsed = Parsed::new(req);
        let mut ctx = Ctx::new(&self.plan, &parsed, env);
        ctx.run(&self.plan.rules, &self.default)
    }

    /// The web ACL's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The web ACL's label namespace (`awswaf:<account>:webacl:<name>:`).
    pub fn label_namespace(&self) -> &str {
        &self.namespace
    }

    /// The number of bytes of body the plan inspects.
    pub fn body_inspection_limit(&self) -> usize {
        self.plan.body_limit
    }

    /// The number of distinct (field, transformations) pairs the plan extracts at most per request.
    /// (Shared transformation prefixes the plan adds so that such fields share work are not counted.)
    pub fn distinct_fields(&self) -> usize {
        self.plan.statement_fields
    }
}

/// A managed rule group defined as a WAFv2 [`m::RuleGroup`] (e.g. loaded from JSON). The web ACL compiler inlines
/// its rules; [`ManagedGroup::evaluate`] also works on its own.
pub struct RuleGroupManaged {
    group: m::RuleGroup,
    namespace: String,
    plan: Plan,
    rules: Vec<PlainRule>,
}

impl std::fmt::Debug for RuleGroupManaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleGroupManaged")
            .field("name", &self.group.name)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl RuleGroupManaged {
    /// Compiles `group` as a managed group of `vendor` whose labels live under
    /// `awswaf:managed:<vendor>:<group_namespace>:` (e.g. `sql-database`).
    pub fn new(
        vendor: &str,
        group_namespace: &str,
        group: m::RuleGroup,
        res: &Resources,
    ) -> Result<RuleGroupManaged, CompileError> {
        let namespace = managed_namespace(vendor, group_namespace);
        let acx = AclCx {
            res,
            acl_id: format!("managed\0{vendor}\0{}", group.name),
            bodies: group.custom_response_bodies.as_ref(),
            captcha_s: 300,
            challenge_s: 300,
            namespace: Arc::from(namespace.as_str()),
            account: DEFAULT_ACCOUNT.to_owned(),
        };
        let mut b = Builder::default();
        let rules = compile_group_rules(&mut b, &acx, &group)?;
        let mut plan = Plan {
            body_limit: res.body_inspection_limit.unwrap_or(DEFAULT_BODY_LIMIT),
            ..Plan::default()
        };
        b.finish(&mut plan)?;
        Ok(RuleGroupManaged {
            group,
            namespace,
            plan,
            rules,
        })
    }

    /// The group definition.
    pub fn group(&self) -> &m::RuleGroup {
        &self.group
    }
}

impl ManagedGroup for RuleGroupManaged {
    fn label_namespace(&self) -> &str {
        &self.namespace
    }

    fn rule_names(&self) -> Vec<String> {
        self.group.rules().iter().map(|r| r.name.clone()).collect()
    }

    fn evaluate(&self, req: &Request, cfg: &ManagedGroupConfig, env: &EvalEnv<'_>) -> GroupOutcome {
        self.evaluate_with_labels(req, cfg, env, &[])
    }

    fn evaluate_with_labels(
        &self,
        req: &Request,
        cfg: &ManagedGroupConfig,
        env: &EvalEnv<'_>,
        labels: &[String],
    ) -> GroupOutcome {
        let parsed = Parsed::new(req);
        let mut ctx = Ctx::new(&self.plan, &parsed, env);
        for l in labels {
            ctx.add_label(Arc::from(l.as_str()));
        }
        ctx.run_group(&self.rules, cfg)
    }

    fn rule_group(&self) -> Option<&m::RuleGroup> {
        Some(&self.group)
    }
}
