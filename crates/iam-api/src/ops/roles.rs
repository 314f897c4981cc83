//! Role operations: CreateRole, GetRole, ListRoles, UpdateRole, UpdateAssumeRolePolicy,
//! DeleteRole.

use portcullis_common::ids;
use portcullis_iam::policy::{Policy, PolicyKind};
use portcullis_store::{Precondition, WriteOp};
use serde_json::json;

use super::users::parse_tags;
use super::{Ctx, Done, authorized_role, check_policy_size, paginate, shapes, write_truncation};
use crate::error::{IamError, Result};
use crate::model::{Role, collections as c, entity_key};
use crate::query::{check_name, check_path};

/// Parses a trust policy, or `MalformedPolicyDocument`.
pub fn parse_trust_policy(doc: &str) -> Result<Policy> {
    check_policy_size(doc, 2048)?;
    Policy::parse(doc, PolicyKind::Trust)
        .map_err(|e| IamError::MalformedPolicyDocument(e.to_string()))
}

fn max_session(ctx: &Ctx<'_>) -> Result<Option<u32>> {
    Ok(ctx
        .params
        .int("MaxSessionDuration", 3600..=43_200)?
        .and_then(|n| u32::try_from(n).ok()))
}

/// CreateRole.
pub async fn create_role(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("RoleName")?;
    check_name("roleName", name, 64)?;
    let path = ctx.params.optional("Path").unwrap_or("/");
    check_path(path)?;
    let trust = ctx.params.required("AssumeRolePolicyDocument")?;
    let tags = parse_tags(ctx)?;
    let max = max_session(ctx)?.unwrap_or(3600);
    let description = ctx.params.optional("Description").map(str::to_owned);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        return Err(IamError::Validation(
            "Description must be at most 1000 characters".into(),
        ));
    }
    ctx.allow(
        "iam:CreateRole",
        &format!("arn:aws:iam::{}:role{path}{name}", ctx.account()),
    )
    .await?;
    parse_trust_policy(trust)?;
    let role = Role {
        account: ctx.account().to_owned(),
        role_name: name.to_owned(),
        role_id: ids::unique_id("AROA"),
        path: path.to_owned(),
        create_date: ctx.now(),
        assume_role_policy_document: trust.to_owned(),
        description,
        max_session_duration: max,
        tags,
        inline_policies: Default::default(),
        attached_policies: Vec::new(),
    };
    let key = entity_key(&role.account, &role.role_name);
    ctx.shared
        .repo
        .put(c::ROLES, key, &role, Precondition::Absent)
        .await
        .map_err(|e| match e {
            IamError::ConcurrentModification(_) => {
                IamError::EntityAlreadyExists(format!("Role with name {name} already exists."))
            }
            other => other,
        })?;
    let mut r = ctx.response("CreateRole", true);
    r.w().open("Role");
    shapes::role(r.w(), &role);
    r.w().close("Role");
    ctx.done(r, json!({"role": shapes::role_json(&role)}))
}

/// GetRole.
pub async fn get_role(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("RoleName")?;
    let role = authorized_role(ctx, name, "iam:GetRole").await?;
    let mut r = ctx.response("GetRole", true);
    r.w().open("Role");
    shapes::role(r.w(), &role.value);
    r.w().close("Role");
    ctx.done(r, serde_json::Value::Null)
}

/// ListRoles.
pub async fn list_roles(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.allow(
        "iam:ListRoles",
        &format!("arn:aws:iam::{}:role/", ctx.account()),
    )
    .await?;
    let prefix = ctx.params.optional("PathPrefix").unwrap_or("/");
    let mut roles: Vec<Role> = ctx
        .shared
        .repo
        .roles(ctx.account())
        .await?
        .into_iter()
        .filter(|r| r.path.starts_with(prefix))
        .collect();
    roles.sort_by_key(|r| r.role_name.to_ascii_lowercase());
    let (page, marker) = paginate(ctx, &roles, |r| r.role_name.to_ascii_lowercase())?;
    let mut r = ctx.response("ListRoles", true);
    r.w().open("Roles");
    for role in page {
        r.w().open("member");
        shapes::role(r.w(), role);
        r.w().close("member");
    }
    r.w().close("Roles");
    write_truncation(&mut r, marker);
    ctx.done(r, serde_json::Value::Null)
}

/// UpdateRole: description and maximum session duration.
pub async fn update_role(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("RoleName")?;
    let max = max_session(ctx)?;
    let mut role = authorized_role(ctx, name, "iam:UpdateRole").await?;
    if let Some(d) = ctx.params.optional("Description") {
        role.value.description = Some(d.to_owned());
    }
    if let Some(m) = max {
        role.value.max_session_duration = m;
    }
    let key = entity_key(ctx.account(), name);
    ctx.shared
        .repo
        .put(
            c::ROLES,
            key,
            &role.value,
            Precondition::Version(role.version),
        )
        .await?;
    let r = ctx.response("UpdateRole", true);
    ctx.done(r, serde_json::Value::Null)
}

/// UpdateAssumeRolePolicy.
pub async fn update_assume_role_policy(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("RoleName")?;
    let doc = ctx.params.required("PolicyDocument")?;
    let mut role = authorized_role(ctx, name, "iam:UpdateAssumeRolePolicy").await?;
    parse_trust_policy(doc)?;
    role.value.assume_role_policy_document = doc.to_owned();
    let key = entity_key(ctx.account(), name);
    ctx.shared
        .repo
        .put(
            c::ROLES,
            key,
            &role.value,
            Precondition::Version(role.version),
        )
        .await?;
    ctx.done(
        ctx.response("UpdateAssumeRolePolicy", false),
        serde_json::Value::Null,
    )
}

/// DeleteRole: refused while policies remain.
pub async fn delete_role(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("RoleName")?;
    let role = authorized_role(ctx, name, "iam:DeleteRole").await?;
    if !role.value.inline_policies.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete policies first.".into(),
        ));
    }
    if !role.value.attached_policies.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must detach all policies first.".into(),
        ));
    }
    let op = WriteOp::Delete {
        collection: c::ROLES.into(),
        key: entity_key(ctx.account(), name),
        cond: Precondition::Version(role.version),
    };
    ctx.shared.repo.commit(&[op]).await?;
    ctx.done(ctx.response("DeleteRole", false), serde_json::Value::Null)
}
