//! The operations, one module per group, and the dispatch table.

pub mod assoc;
pub mod entities;
pub mod logging;
pub mod managed;
pub mod rate_keys;
pub mod refs;
pub mod sampled;
pub mod tags;

use portcullis_http::ApiRequest;
use serde_json::Value;

use crate::arn::Place;
use crate::error::{Result, WafError};
use crate::input::Input;
use crate::state::WafApi;

/// What an operation sees.
pub struct Ctx<'a> {
    /// Shared state.
    pub waf: &'a WafApi,
    /// The request.
    pub req: &'a ApiRequest,
    /// Its body.
    pub input: Input,
}

impl Ctx<'_> {
    /// The caller's account.
    pub fn account(&self) -> &str {
        &self.req.caller.principal.account
    }

    /// The place of a resource of `scope` in the caller's account and region.
    pub fn place(&self, scope: portcullis_waf_model::Scope) -> Place {
        Place::new(self.account(), scope, &self.req.region)
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.req.received_at
    }
}

/// A finished operation: the reply body and what the audit record keeps of it.
#[derive(Debug)]
pub struct Done {
    /// The JSON reply.
    pub body: Value,
    /// Response elements for the audit record.
    pub audit: Value,
}

impl Done {
    /// A reply whose audit elements are empty.
    pub fn plain(body: Value) -> Done {
        Done {
            body,
            audit: Value::Null,
        }
    }
}

/// A fresh lowercase UUID (ids and lock tokens).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Runs the operation named by `op`.
pub async fn dispatch(ctx: &Ctx<'_>, op: &str) -> Result<Done> {
    use crate::arn::Kind;
    match op {
        "CreateWebACL" => entities::create(ctx, Kind::WebAcl).await,
        "GetWebACL" => entities::get(ctx, Kind::WebAcl).await,
        "UpdateWebACL" => entities::update(ctx, Kind::WebAcl).await,
        "DeleteWebACL" => entities::delete(ctx, Kind::WebAcl).await,
        "ListWebACLs" => entities::list(ctx, Kind::WebAcl).await,
        "CreateIPSet" => entities::create(ctx, Kind::IpSet).await,
        "GetIPSet" => entities::get(ctx, Kind::IpSet).await,
        "UpdateIPSet" => entities::update(ctx, Kind::IpSet).await,
        "DeleteIPSet" => entities::delete(ctx, Kind::IpSet).await,
        "ListIPSets" => entities::list(ctx, Kind::IpSet).await,
        "CreateRegexPatternSet" => entities::create(ctx, Kind::RegexPatternSet).await,
        "GetRegexPatternSet" => entities::get(ctx, Kind::RegexPatternSet).await,
        "UpdateRegexPatternSet" => entities::update(ctx, Kind::RegexPatternSet).await,
        "DeleteRegexPatternSet" => entities::delete(ctx, Kind::RegexPatternSet).await,
        "ListRegexPatternSets" => entities::list(ctx, Kind::RegexPatternSet).await,
        "CreateRuleGroup" => entities::create(ctx, Kind::RuleGroup).await,
        "GetRuleGroup" => entities::get(ctx, Kind::RuleGroup).await,
        "UpdateRuleGroup" => entities::update(ctx, Kind::RuleGroup).await,
        "DeleteRuleGroup" => entities::delete(ctx, Kind::RuleGroup).await,
        "ListRuleGroups" => entities::list(ctx, Kind::RuleGroup).await,
        "AssociateWebACL" => assoc::associate(ctx).await,
        "DisassociateWebACL" => assoc::disassociate(ctx).await,
        "GetWebACLForResource" => assoc::get_web_acl_for_resource(ctx).await,
        "ListResourcesForWebACL" => assoc::list_resources_for_web_acl(ctx).await,
        "CheckCapacity" => refs::check_capacity(ctx).await,
        "ListAvailableManagedRuleGroups" => managed::list_available(ctx).await,
        "DescribeManagedRuleGroup" => managed::describe(ctx).await,
        "ListAvailableManagedRuleGroupVersions" => managed::list_versions(ctx).await,
        "GetSampledRequests" => sampled::get_sampled_requests(ctx).await,
        "GetRateBasedStatementManagedKeys" => rate_keys::get_managed_keys(ctx).await,
        "PutLoggingConfiguration" => logging::put(ctx).await,
        "GetLoggingConfiguration" => logging::get(ctx).await,
        "DeleteLoggingConfiguration" => logging::delete(ctx).await,
        "ListLoggingConfigurations" => logging::list(ctx).await,
        "TagResource" => tags::tag_resource(ctx).await,
        "UntagResource" => tags::untag_resource(ctx).await,
        "ListTagsForResource" => tags::list_tags_for_resource(ctx).await,
        other => Err(WafError::UnknownOperation(format!(
            "Operation {other} is not supported by this server."
        ))),
    }
}
