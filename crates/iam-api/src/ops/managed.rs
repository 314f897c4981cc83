//! Managed policies: customer policies and their versions, the built-in AWS managed
//! policies, and attaching either to users and roles.

use portcullis_common::ids;
use portcullis_store::{Precondition, WriteOp};
use serde_json::json;

use super::inline::Owner;
use super::{
    Ctx, Done, authorized_role, authorized_user, paginate, parse_identity_policy, shapes,
    write_truncation,
};
use crate::authz::parse_policy_arn;
use crate::error::{IamError, Result};
use crate::managed::{self as builtin};
use crate::model::{ManagedPolicy, PolicyVersion, collections as c, entity_key};
use crate::query::{check_name, check_path, date, encode_policy};
use crate::repo::{Repo, Versioned};

/// IAM's quota of managed policies attached to one user or role.
const ATTACHED_PER_ENTITY: usize = 10;
/// IAM's quota of versions per managed policy.
const VERSIONS_PER_POLICY: usize = 5;

fn no_such_policy(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

/// Loads a customer managed policy by ARN (in the caller's account) after authorizing `action` on it.
async fn customer_policy(
    ctx: &Ctx<'_>,
    arn: &str,
    action: &str,
) -> Result<Versioned<ManagedPolicy>> {
    ctx.allow(action, arn).await?;
    let (account, name) = parse_policy_arn(arn)
        .ok_or_else(|| IamError::InvalidInput(format!("ARN {arn} is not valid.")))?;
    if account != ctx.account() {
        return Err(no_such_policy(arn));
    }
    let p = ctx
        .shared
        .repo
        .policy(account, name)
        .await?
        .ok_or_else(|| no_such_policy(arn))?;
    if p.value.arn() != arn {
        return Err(no_such_policy(arn));
    }
    Ok(p)
}

/// How many users and roles of the caller's account have each AWS managed policy attached.
/// Counted from the entities themselves, so it cannot drift (bootstrap attaches one too).
async fn builtin_attachments(ctx: &Ctx<'_>) -> Result<std::collections::HashMap<String, u32>> {
    let mut counts = std::collections::HashMap::new();
    let users = ctx.shared.repo.users(ctx.account()).await?;
    let roles = ctx.shared.repo.roles(ctx.account()).await?;
    let lists = users
        .iter()
        .map(|u| &u.attached_policies)
        .chain(roles.iter().map(|r| &r.attached_policies));
    for list in lists {
        for arn in list.iter().filter(|a| builtin::find(a).is_some()) {
            *counts.entry(arn.clone()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

fn policy_key(p: &ManagedPolicy) -> String {
    entity_key(&p.account, &p.policy_name)
}

/// CreatePolicy.
pub async fn create_policy(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("PolicyName")?;
    check_name("policyName", name, 128)?;
    let doc = ctx.params.required("PolicyDocument")?;
    let path = ctx.params.optional("Path").unwrap_or("/");
    check_path(path)?;
    let arn = format!("arn:aws:iam::{}:policy{path}{name}", ctx.account());
    ctx.allow("iam:CreatePolicy", &arn).await?;
    parse_identity_policy(doc)?;
    let now = ctx.now();
    let policy = ManagedPolicy {
        account: ctx.account().to_owned(),
        policy_name: name.to_owned(),
        policy_id: ids::unique_id("ANPA"),
        path: path.to_owned(),
        description: ctx.params.optional("Description").map(str::to_owned),
        versions: vec![PolicyVersion {
            version_id: "v1".into(),
            document: doc.to_owned(),
            create_date: now,
        }],
        default_version_id: "v1".into(),
        attachment_count: 0,
        create_date: now,
        update_date: now,
    };
    ctx.shared
        .repo
        .put(
            c::POLICIES,
            policy_key(&policy),
            &policy,
            Precondition::Absent,
        )
        .await
        .map_err(|e| match e {
            IamError::ConcurrentModification(_) => IamError::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )),
            other => other,
        })?;
    let mut r = ctx.response("CreatePolicy", true);
    r.w().open("Policy");
    shapes::policy(r.w(), &policy);
    r.w().close("Policy");
    ctx.done(r, json!({"policy": shapes::policy_json(&policy)}))
}

/// GetPolicy (customer or built-in).
pub async fn get_policy(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.params.required("PolicyArn")?;
    let mut r = ctx.response("GetPolicy", true);
    r.w().open("Policy");
    if let Some(b) = builtin::find(arn) {
        ctx.allow("iam:GetPolicy", arn).await?;
        let count = builtin_attachments(ctx)
            .await?
            .get(arn)
            .copied()
            .unwrap_or(0);
        shapes::builtin_policy(r.w(), b, count);
    } else {
        let p = customer_policy(ctx, arn, "iam:GetPolicy").await?;
        shapes::policy(r.w(), &p.value);
    }
    r.w().close("Policy");
    ctx.done(r, serde_json::Value::Null)
}

/// GetPolicyVersion.
pub async fn get_policy_version(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.params.required("PolicyArn")?;
    let version_id = ctx.params.required("VersionId")?;
    let (doc, create, is_default) = if let Some(b) = builtin::find(arn) {
        ctx.allow("iam:GetPolicyVersion", arn).await?;
        if version_id != "v1" {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {arn} version {version_id} does not exist."
            )));
        }
        (
            b.document.to_owned(),
            "2026-01-01T00:00:00Z".to_owned(),
            true,
        )
    } else {
        let p = customer_policy(ctx, arn, "iam:GetPolicyVersion")
            .await?
            .value;
        let v = p
            .versions
            .iter()
            .find(|v| v.version_id == version_id)
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist."))
            })?;
        (
            v.document.clone(),
            date(v.create_date),
            v.version_id == p.default_version_id,
        )
    };
    let mut r = ctx.response("GetPolicyVersion", true);
    let w = r.w();
    w.open("PolicyVersion");
    w.leaf("Document", &encode_policy(&doc));
    w.leaf("VersionId", version_id);
    w.leaf(
        "IsDefaultVersion",
        if is_default { "true" } else { "false" },
    );
    w.leaf("CreateDate", &create);
    w.close("PolicyVersion");
    ctx.done(r, serde_json::Value::Null)
}

/// ListPolicyVersions.
pub async fn list_policy_versions(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.params.required("PolicyArn")?;
    let p = customer_policy(ctx, arn, "iam:ListPolicyVersions")
        .await?
        .value;
    let mut r = ctx.response("ListPolicyVersions", true);
    r.w().open("Versions");
    for v in p.versions.iter().rev() {
        r.w().open("member");
        r.w().leaf("VersionId", &v.version_id);
        r.w().leaf(
            "IsDefaultVersion",
            if v.version_id == p.default_version_id {
                "true"
            } else {
                "false"
            },
        );
        r.w().leaf("CreateDate", &date(v.create_date));
        r.w().close("member");
    }
    r.w().close("Versions");
    r.w().leaf("IsTruncated", "false");
    ctx.done(r, serde_json::Value::Null)
}

/// CreatePolicyVersion.
pub async fn create_policy_version(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.params.required("PolicyArn")?;
    let doc = ctx.params.required("PolicyDocument")?;
    let set_default = ctx.params.optional("SetAsDefault") == Some("true");
    let mut p = customer_policy(ctx, arn, "iam:CreatePolicyVersion").await?;
    parse_identity_policy(doc)?;
    if p.value.versions.len() >= VERSIONS_PER_POLICY {
        return Err(IamError::LimitExceeded(format!(
            "A managed policy can have up to {VERSIONS_PER_POLICY} versions. Before you create a new version, you must delete an existing version."
        )));
    }
    let next = p
        .value
        .versions
        .iter()
        .filter_map(|v| v.version_id.strip_prefix('v')?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let version_id = format!("v{next}");
    p.value.versions.push(PolicyVersion {
        version_id: version_id.clone(),
        document: doc.to_owned(),
        create_date: ctx.now(),
    });
    if set_default {
        p.value.default_version_id = version_id.clone();
    }
    p.value.update_date = ctx.now();
    ctx.shared
        .repo
        .put(
            c::POLICIES,
            policy_key(&p.value),
            &p.value,
            Precondition::Version(p.version),
        )
        .await?;
    let mut r = ctx.response("CreatePolicyVersion", true);
    r.w().open("PolicyVersion");
    r.w().leaf("VersionId", &version_id);
    r.w().leaf(
        "IsDefaultVersion",
        if set_default { "true" } else { "false" },
    );
    r.w().leaf("CreateDate", &date(ctx.now()));
    r.w().close("PolicyVersion");
    ctx.done(r, json!({"policyVersion": {"versionId": version_id}}))
}

/// DeletePolicyVersion (never the default version).
pub async fn delete_policy_version(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.params.required("PolicyArn")?;
    let version_id = ctx.params.required("VersionId")?;
    let mut p = customer_policy(ctx, arn, "iam:DeletePolicyVersion").await?;
    if p.value.default_version_id == version_id {
        return Err(IamError::DeleteConflict(
            "Cannot delete the default version of a policy.".into(),
        ));
    }
    let before = p.value.versions.len();
    p.value.versions.retain(|v| v.version_id != version_id);
    if p.value.versions.len() == before {
        return Err(IamError::NoSuchEntity(format!(
            "Policy {arn} version {version_id} does not exist."
        )));
    }
    ctx.shared
        .repo
        .put(
            c::POLICIES,
            policy_key(&p.value),
            &p.value,
            Precondition::Version(p.version),
        )
        .await?;
    ctx.done(
        ctx.response("DeletePolicyVersion", false),
        serde_json::Value::Null,
    )
}

/// ListPolicies: Scope All | AWS | Local, OnlyAttached, PathPrefix, pagination.
pub async fn list_policies(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.allow(
        "iam:ListPolicies",
        &format!("arn:aws:iam::{}:policy/", ctx.account()),
    )
    .await?;
    let scope = ctx.params.optional("Scope").unwrap_or("All");
    let only_attached = ctx.params.optional("OnlyAttached") == Some("true");
    let prefix = ctx.params.optional("PathPrefix").unwrap_or("/");
    enum Entry {
        Builtin(&'static builtin::BuiltinPolicy),
        Customer(ManagedPolicy),
    }
    let builtin_counts = builtin_attachments(ctx).await?;
    let mut entries: Vec<(String, Entry)> = Vec::new();
    if scope == "All" || scope == "AWS" {
        for b in builtin::BUILTIN {
            if !only_attached || builtin_counts.get(&b.arn()).is_some_and(|n| *n > 0) {
                entries.push((b.arn(), Entry::Builtin(b)));
            }
        }
    }
    if scope == "All" || scope == "Local" {
        for p in ctx.shared.repo.policies(ctx.account()).await? {
            if p.path.starts_with(prefix) && (!only_attached || p.attachment_count > 0) {
                entries.push((p.arn(), Entry::Customer(p)));
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, marker) = paginate(ctx, &entries, |e| e.0.clone())?;
    let mut r = ctx.response("ListPolicies", true);
    r.w().open("Policies");
    for (_, e) in page {
        r.w().open("member");
        match e {
            Entry::Builtin(b) => {
                shapes::builtin_policy(r.w(), b, builtin_counts.get(&b.arn()).copied().unwrap_or(0))
            }
            Entry::Customer(p) => shapes::policy(r.w(), p),
        }
        r.w().close("member");
    }
    r.w().close("Policies");
    write_truncation(&mut r, marker);
    ctx.done(r, serde_json::Value::Null)
}

/// DeletePolicy: refused while attached or while it has non-default versions.
pub async fn delete_policy(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.params.required("PolicyArn")?;
    if builtin::find(arn).is_some() {
        ctx.allow("iam:DeletePolicy", arn).await?;
        return Err(IamError::InvalidInput(
            "AWS managed policies cannot be deleted.".into(),
        ));
    }
    let p = customer_policy(ctx, arn, "iam:DeletePolicy").await?;
    if p.value.attachment_count > 0 {
        return Err(IamError::DeleteConflict(
            "Cannot delete a policy attached to entities.".into(),
        ));
    }
    if p.value.versions.len() > 1 {
        return Err(IamError::DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into()));
    }
    let op = WriteOp::Delete {
        collection: c::POLICIES.into(),
        key: policy_key(&p.value),
        cond: Precondition::Version(p.version),
    };
    ctx.shared.repo.commit(&[op]).await?;
    ctx.done(ctx.response("DeletePolicy", false), serde_json::Value::Null)
}

/// The attached-policy list of a user or role, with the write that stores a new one.
async fn attachments(
    ctx: &Ctx<'_>,
    owner: Owner,
    action: &str,
) -> Result<(
    Vec<String>,
    Box<dyn FnOnce(Vec<String>) -> Result<WriteOp> + Send>,
)> {
    match owner {
        Owner::User => {
            let name = ctx.params.required("UserName")?.to_owned();
            let u = authorized_user(ctx, &name, action).await?;
            let (mut user, version) = (u.value, u.version);
            Ok((
                user.attached_policies.clone(),
                Box::new(move |list| {
                    user.attached_policies = list;
                    Repo::put_op(
                        c::USERS,
                        entity_key(&user.account, &user.user_name),
                        &user,
                        Precondition::Version(version),
                    )
                }),
            ))
        }
        Owner::Role => {
            let name = ctx.params.required("RoleName")?.to_owned();
            let r = authorized_role(ctx, &name, action).await?;
            let (mut role, version) = (r.value, r.version);
            Ok((
                role.attached_policies.clone(),
                Box::new(move |list| {
                    role.attached_policies = list;
                    Repo::put_op(
                        c::ROLES,
                        entity_key(&role.account, &role.role_name),
                        &role,
                        Precondition::Version(version),
                    )
                }),
            ))
        }
    }
}

/// The write that changes a customer policy's attachment count, or nothing for built-ins.
async fn count_change(ctx: &Ctx<'_>, arn: &str, delta: i64) -> Result<Option<WriteOp>> {
    if builtin::find(arn).is_some() {
        return Ok(None);
    }
    let (account, name) = parse_policy_arn(arn)
        .ok_or_else(|| IamError::InvalidInput(format!("ARN {arn} is not valid.")))?;
    let found = if account == ctx.account() {
        ctx.shared.repo.policy(account, name).await?
    } else {
        None
    };
    let mut p = found
        .filter(|p| p.value.arn() == arn)
        .ok_or_else(|| no_such_policy(arn))?;
    p.value.attachment_count =
        u32::try_from(i64::from(p.value.attachment_count) + delta).unwrap_or(0);
    Ok(Some(Repo::put_op(
        c::POLICIES,
        policy_key(&p.value),
        &p.value,
        Precondition::Version(p.version),
    )?))
}

/// Attach{User,Role}Policy.
pub async fn attach(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = match owner {
        Owner::User => "AttachUserPolicy",
        Owner::Role => "AttachRolePolicy",
    };
    let arn = ctx.params.required("PolicyArn")?.to_owned();
    let (mut list, save) = attachments(ctx, owner, &format!("iam:{op}")).await?;
    if !list.contains(&arn) {
        if list.len() >= ATTACHED_PER_ENTITY {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for PoliciesPer{}: {ATTACHED_PER_ENTITY}",
                if owner == Owner::User { "User" } else { "Role" }
            )));
        }
        let mut ops: Vec<WriteOp> = count_change(ctx, &arn, 1).await?.into_iter().collect();
        list.push(arn);
        ops.push(save(list)?);
        ctx.shared.repo.commit(&ops).await?;
    } else if builtin::find(&arn).is_none() {
        count_change(ctx, &arn, 0).await?;
    }
    ctx.done(ctx.response(op, false), serde_json::Value::Null)
}

/// Detach{User,Role}Policy.
pub async fn detach(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = match owner {
        Owner::User => "DetachUserPolicy",
        Owner::Role => "DetachRolePolicy",
    };
    let arn = ctx.params.required("PolicyArn")?.to_owned();
    let (mut list, save) = attachments(ctx, owner, &format!("iam:{op}")).await?;
    if !list.contains(&arn) {
        return Err(IamError::NoSuchEntity(format!(
            "Policy {arn} was not found."
        )));
    }
    list.retain(|a| a != &arn);
    let mut ops: Vec<WriteOp> = count_change(ctx, &arn, -1)
        .await
        .unwrap_or(None)
        .into_iter()
        .collect();
    ops.push(save(list)?);
    ctx.shared.repo.commit(&ops).await?;
    ctx.done(ctx.response(op, false), serde_json::Value::Null)
}

/// ListAttached{User,Role}Policies.
pub async fn list_attached(ctx: &Ctx<'_>, owner: Owner) -> Result<Done> {
    let op = match owner {
        Owner::User => "ListAttachedUserPolicies",
        Owner::Role => "ListAttachedRolePolicies",
    };
    let (list, _) = attachments(ctx, owner, &format!("iam:{op}")).await?;
    let mut r = ctx.response(op, true);
    r.w().open("AttachedPolicies");
    for arn in &list {
        r.w().open("member");
        r.w()
            .leaf("PolicyName", arn.rsplit('/').next().unwrap_or(arn));
        r.w().leaf("PolicyArn", arn);
        r.w().close("member");
    }
    r.w().close("AttachedPolicies");
    r.w().leaf("IsTruncated", "false");
    ctx.done(r, serde_json::Value::Null)
}
