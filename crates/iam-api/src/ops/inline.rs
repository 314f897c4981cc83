//! Inline policies of users and roles: Put/Get/List/Delete{User,Role}Policy.

use portcullis_store::Precondition;
use serde_json::json;

use super::{Ctx, Done, authorized_role, authorized_user, parse_identity_policy};
use crate::error::{IamError, Result};
use crate::model::{collections as c, entity_key};
use crate::query::{check_name, encode_policy};

/// Whose inline policies an operation acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A user (`UserName`).
    User,
    /// A role (`RoleName`).
    Role,
}

impl Owner {
    fn param(self) -> &'static str {
        match self {
            Owner::User => "UserName",
            Owner::Role => "RoleName",
        }
    }
    fn word(self) -> &'static str {
        match self {
            Owner::User => "User",
            Owner::Role => "Role",
        }
    }
    /// IAM's quota on the total size of an entity's inline policies (non-space characters).
    fn quota(self) -> usize {
        match self {
            Owner::User => 2048,
            Owner::Role => 10_240,
        }
    }
}

/// The inline policies of a user or role, loaded for an action, with a way to write back.
struct Loaded {
    policies: std::collections::BTreeMap<String, String>,
    save: Box<
        dyn FnOnce(std::collections::BTreeMap<String, String>) -> Result<portcullis_store::WriteOp>
            + Send,
    >,
    name: String,
}

async fn load(ctx: &Ctx<'_>, owner: Owner, op: &str) -> Result<Loaded> {
    let name = ctx.params.required(owner.param())?.to_owned();
    let action = format!("iam:{op}");
    match owner {
        Owner::User => {
            let u = authorized_user(ctx, &name, &action).await?;
            let (mut user, version) = (u.value, u.version);
            Ok(Loaded {
                policies: user.inline_policies.clone(),
                name: user.user_name.clone(),
                save: Box::new(move |p| {
                    user.inline_policies = p;
                    crate::repo::Repo::put_op(
                        c::USERS,
                        entity_key(&user.account, &user.user_name),
                        &user,
                        Precondition::Version(version),
                    )
                }),
            })
        }
        Owner::Role => {
            let r = authorized_role(ctx, &name, &action).await?;
            let (mut role, version) = (r.value, r.version);
            Ok(Loaded {
                policies: role.inline_policies.clone(),
                name: role.role_name.clone(),
                save: Box::new(move |p| {
                    role.inline_policies = p;
                    crate::repo::Repo::put_op(
                        c::ROLES,
                        entity_key(&role.account, &role.role_name),
                        &role,
                        Precondition::Version(version),
                    )
                }),
            })
        }
    }
}

/// Put{User,Role}Policy.
pub async fn put(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = format!("Put{}Policy", owner.word());
    let policy_name = ctx.params.required("PolicyName")?.to_owned();
    check_name("policyName", &policy_name, 128)?;
    let doc = ctx.params.required("PolicyDocument")?.to_owned();
    parse_identity_policy(&doc)?;
    let loaded = load(ctx, owner, &op).await?;
    let mut policies = loaded.policies;
    policies.insert(policy_name, doc);
    let total: usize = policies
        .values()
        .map(|d| d.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    if total > owner.quota() {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {} bytes exceeded for {} {}",
            owner.quota(),
            owner.word().to_lowercase(),
            loaded.name
        )));
    }
    ctx.shared.repo.commit(&[(loaded.save)(policies)?]).await?;
    ctx.done(ctx.response(&op, false), serde_json::Value::Null)
}

/// Get{User,Role}Policy.
pub async fn get(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = format!("Get{}Policy", owner.word());
    let policy_name = ctx.params.required("PolicyName")?.to_owned();
    let loaded = load(ctx, owner, &op).await?;
    let doc = loaded.policies.get(&policy_name).ok_or_else(|| {
        IamError::NoSuchEntity(format!(
            "The {} policy with name {policy_name} cannot be found.",
            owner.word().to_lowercase()
        ))
    })?;
    let mut r = ctx.response(&op, true);
    r.w().leaf(owner.param(), &loaded.name);
    r.w().leaf("PolicyName", &policy_name);
    r.w().leaf("PolicyDocument", &encode_policy(doc));
    ctx.done(r, serde_json::Value::Null)
}

/// List{User,Role}Policies.
pub async fn list(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = format!("List{}Policies", owner.word());
    let loaded = load(ctx, owner, &op).await?;
    let mut r = ctx.response(&op, true);
    r.w().open("PolicyNames");
    for name in loaded.policies.keys() {
        r.w().leaf("member", name);
    }
    r.w().close("PolicyNames");
    r.w().leaf("IsTruncated", "false");
    ctx.done(r, serde_json::Value::Null)
}

/// Delete{User,Role}Policy.
pub async fn delete(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = format!("Delete{}Policy", owner.word());
    let policy_name = ctx.params.required("PolicyName")?.to_owned();
    let loaded = load(ctx, owner, &op).await?;
    let mut policies = loaded.policies;
    if policies.remove(&policy_name).is_none() {
        return Err(IamError::NoSuchEntity(format!(
            "The {} policy with name {policy_name} cannot be found.",
            owner.word().to_lowercase()
        )));
    }
    ctx.shared.repo.commit(&[(loaded.save)(policies)?]).await?;
    ctx.done(ctx.response(&op, false), json!(null))
}
