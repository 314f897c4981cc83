//! One module per group of IAM operations, and the dispatch table.

pub mod access_keys;
pub mod inline;
pub mod managed;
pub mod roles;
pub mod shapes;
pub mod sts;
pub mod users;

use portcullis_http::{ApiRequest, Reply};
use portcullis_iam::policy::{Policy, PolicyKind};

use crate::authz::{Authorizer, ResourcePolicy};
use crate::error::{IamError, Result};
use crate::query::{Params, Response};
use crate::service::Shared;

/// What an operation sees.
pub struct Ctx<'a> {
    /// Service state.
    pub shared: &'a Shared,
    /// The request.
    pub req: &'a ApiRequest,
    /// Its parameters.
    pub params: Params,
    /// XML namespace of replies.
    pub xmlns: &'static str,
}

/// A finished operation: the reply and its audit response elements.
#[derive(Debug)]
pub struct Done {
    /// The XML reply.
    pub reply: Reply,
    /// Response elements for the audit record.
    pub response: serde_json::Value,
}

impl Ctx<'_> {
    /// The caller's account: every IAM operation acts in it.
    pub fn account(&self) -> &str {
        &self.req.caller.principal.account
    }

    /// Refuses the call unless the caller may do `action` on `resource`.
    pub async fn allow(&self, action: &str, resource: &str) -> Result<()> {
        let ctx = Authorizer::context(self.req, action, resource);
        self.shared
            .authz
            .authorize(&self.req.caller, &ctx, ResourcePolicy::None)
            .await
    }

    /// A reply builder for the current operation.
    pub fn response(&self, op: &str, has_result: bool) -> Response {
        Response::new(op, self.xmlns, has_result)
    }

    /// Finishes a reply.
    pub fn done(&self, r: Response, audit: serde_json::Value) -> Result<Done> {
        Ok(Done {
            reply: r.finish(&self.req.request_id),
            response: audit,
        })
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.req.received_at
    }
}

/// Parses an identity policy document, or `MalformedPolicyDocument`.
pub fn parse_identity_policy(doc: &str) -> Result<Policy> {
    check_policy_size(doc, 6144)?;
    Policy::parse(doc, PolicyKind::Identity)
        .map_err(|e| IamError::MalformedPolicyDocument(e.to_string()))
}

/// Refuses documents over IAM's size limits.
pub fn check_policy_size(doc: &str, max: usize) -> Result<()> {
    let significant = doc.chars().filter(|c| !c.is_whitespace()).count();
    if significant > max {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {max}"
        )));
    }
    Ok(())
}

/// Pagination over an already-sorted list: `Marker` is the last name returned.
pub fn paginate<'a, T>(
    ctx: &Ctx<'_>,
    items: &'a [T],
    key: impl Fn(&T) -> String,
) -> Result<(&'a [T], Option<String>)> {
    let max = usize::try_from(ctx.params.int("MaxItems", 1..=1000)?.unwrap_or(100)).unwrap_or(100);
    let start = match ctx.params.optional("Marker") {
        Some(m) => items
            .iter()
            .position(|i| key(i).as_str() > m)
            .unwrap_or(items.len()),
        None => 0,
    };
    let rest = items.get(start..).unwrap_or(&[]);
    if rest.len() > max {
        let page = rest.get(..max).unwrap_or(rest);
        Ok((page, page.last().map(key)))
    } else {
        Ok((rest, None))
    }
}

/// Writes `IsTruncated` and `Marker`.
pub fn write_truncation(r: &mut Response, marker: Option<String>) {
    r.w().leaf(
        "IsTruncated",
        if marker.is_some() { "true" } else { "false" },
    );
    if let Some(m) = marker {
        r.w().leaf("Marker", &m);
    }
}

/// Runs the IAM operation named by `action`.
pub async fn dispatch(ctx: &Ctx<'_>, action: &str) -> Result<Done> {
    match action {
        "CreateUser" => users::create_user(ctx).await,
        "GetUser" => users::get_user(ctx).await,
        "ListUsers" => users::list_users(ctx).await,
        "DeleteUser" => users::delete_user(ctx).await,
        "UpdateUser" => users::update_user(ctx).await,
        "TagUser" => users::tag_user(ctx).await,
        "UntagUser" => users::untag_user(ctx).await,
        "ListUserTags" => users::list_user_tags(ctx).await,
        "CreateAccessKey" => access_keys::create_access_key(ctx).await,
        "ListAccessKeys" => access_keys::list_access_keys(ctx).await,
        "UpdateAccessKey" => access_keys::update_access_key(ctx).await,
        "DeleteAccessKey" => access_keys::delete_access_key(ctx).await,
        "GetAccessKeyLastUsed" => access_keys::get_access_key_last_used(ctx).await,
        "PutUserPolicy" => inline::put(ctx, inline::Owner::User).await,
        "GetUserPolicy" => inline::get(ctx, inline::Owner::User).await,
        "ListUserPolicies" => inline::list(ctx, inline::Owner::User).await,
        "DeleteUserPolicy" => inline::delete(ctx, inline::Owner::User).await,
        "PutRolePolicy" => inline::put(ctx, inline::Owner::Role).await,
        "GetRolePolicy" => inline::get(ctx, inline::Owner::Role).await,
        "ListRolePolicies" => inline::list(ctx, inline::Owner::Role).await,
        "DeleteRolePolicy" => inline::delete(ctx, inline::Owner::Role).await,
        "CreatePolicy" => managed::create_policy(ctx).await,
        "GetPolicy" => managed::get_policy(ctx).await,
        "GetPolicyVersion" => managed::get_policy_version(ctx).await,
        "ListPolicyVersions" => managed::list_policy_versions(ctx).await,
        "CreatePolicyVersion" => managed::create_policy_version(ctx).await,
        "DeletePolicyVersion" => managed::delete_policy_version(ctx).await,
        "ListPolicies" => managed::list_policies(ctx).await,
        "DeletePolicy" => managed::delete_policy(ctx).await,
        "AttachUserPolicy" => managed::attach(ctx, inline::Owner::User).await,
        "DetachUserPolicy" => managed::detach(ctx, inline::Owner::User).await,
        "ListAttachedUserPolicies" => managed::list_attached(ctx, inline::Owner::User).await,
        "AttachRolePolicy" => managed::attach(ctx, inline::Owner::Role).await,
        "DetachRolePolicy" => managed::detach(ctx, inline::Owner::Role).await,
        "ListAttachedRolePolicies" => managed::list_attached(ctx, inline::Owner::Role).await,
        "CreateRole" => roles::create_role(ctx).await,
        "GetRole" => roles::get_role(ctx).await,
        "ListRoles" => roles::list_roles(ctx).await,
        "DeleteRole" => roles::delete_role(ctx).await,
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(ctx).await,
        "UpdateRole" => roles::update_role(ctx).await,
        other => Err(IamError::InvalidAction(format!(
            "Could not find operation {other} for version 2010-05-08"
        ))),
    }
}

/// Loads a user for `action`: authorization is decided first (on the user's ARN, or the
/// ARN it would have at path `/`), so a caller without permission cannot learn whether
/// the user exists.
pub async fn authorized_user(
    ctx: &Ctx<'_>,
    name: &str,
    action: &str,
) -> Result<crate::repo::Versioned<crate::model::User>> {
    let account = ctx.account().to_owned();
    let user = ctx.shared.repo.user(&account, name).await?;
    let resource = match &user {
        Some(u) => u.value.arn(),
        None => format!("arn:aws:iam::{account}:user/{name}"),
    };
    ctx.allow(action, &resource).await?;
    user.ok_or_else(|| {
        IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
    })
}

/// Loads a role for `action`, deciding authorization first (see [`authorized_user`]).
pub async fn authorized_role(
    ctx: &Ctx<'_>,
    name: &str,
    action: &str,
) -> Result<crate::repo::Versioned<crate::model::Role>> {
    let account = ctx.account().to_owned();
    let role = ctx.shared.repo.role(&account, name).await?;
    let resource = match &role {
        Some(r) => r.value.arn(),
        None => format!("arn:aws:iam::{account}:role/{name}"),
    };
    ctx.allow(action, &resource).await?;
    role.ok_or_else(|| {
        IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
    })
}
