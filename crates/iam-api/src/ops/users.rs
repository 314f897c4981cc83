//! User operations: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser and tagging.

use portcullis_common::ids;
use portcullis_store::Precondition;
use serde_json::json;

use super::{Ctx, Done, authorized_user, paginate, shapes, write_truncation};
use crate::error::{IamError, Result};
use crate::model::{Tag, User, collections as c, entity_key};
use crate::query::{check_name, check_path};
use crate::repo::Repo;

fn user_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user{path}{name}")
}

/// Parses and checks `Tags.member.N.{Key,Value}` (at most 50, keys unique ignoring case).
pub fn parse_tags(ctx: &Ctx<'_>) -> Result<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::new();
    for m in ctx.params.structs("Tags") {
        let key = m.get("Key").cloned().unwrap_or_default();
        let value = m.get("Value").cloned().unwrap_or_default();
        if key.is_empty() || key.len() > 128 || value.len() > 256 {
            return Err(IamError::Validation(format!(
                "Invalid tag: key {key:?} must be 1-128 characters and its value at most 256"
            )));
        }
        if out.iter().any(|t| t.key.eq_ignore_ascii_case(&key)) {
            return Err(IamError::InvalidInput(format!(
                "Duplicate tag keys found: {key}"
            )));
        }
        out.push(Tag { key, value });
    }
    if out.len() > 50 {
        return Err(IamError::LimitExceeded(
            "The number of tags has reached the maximum limit.".into(),
        ));
    }
    Ok(out)
}

/// Merges new tags over old ones (same key, ignoring case, is replaced).
pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> Result<()> {
    for t in new {
        existing.retain(|e| !e.key.eq_ignore_ascii_case(&t.key));
        existing.push(t);
    }
    if existing.len() > 50 {
        return Err(IamError::LimitExceeded(
            "The number of tags has reached the maximum limit.".into(),
        ));
    }
    Ok(())
}

/// CreateUser.
pub async fn create_user(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("UserName")?;
    check_name("userName", name, 64)?;
    let path = ctx.params.optional("Path").unwrap_or("/");
    check_path(path)?;
    let tags = parse_tags(ctx)?;
    ctx.allow("iam:CreateUser", &user_arn(ctx.account(), path, name))
        .await?;
    let user = User {
        account: ctx.account().to_owned(),
        user_name: name.to_owned(),
        user_id: ids::unique_id("AIDA"),
        path: path.to_owned(),
        create_date: ctx.now(),
        tags,
        inline_policies: Default::default(),
        attached_policies: Vec::new(),
        access_keys: Vec::new(),
    };
    create(&ctx.shared.repo, &user).await?;
    let mut r = ctx.response("CreateUser", true);
    r.w().open("User");
    shapes::user(r.w(), &user);
    r.w().close("User");
    ctx.done(r, json!({"user": shapes::user_json(&user)}))
}

/// Stores a new user, refusing a duplicate name.
pub async fn create(repo: &Repo, user: &User) -> Result<()> {
    let key = entity_key(&user.account, &user.user_name);
    repo.put(c::USERS, key, user, Precondition::Absent)
        .await
        .map_err(|e| match e {
            IamError::ConcurrentModification(_) => IamError::EntityAlreadyExists(format!(
                "User with name {} already exists.",
                user.user_name
            )),
            other => other,
        })
}

/// GetUser: the named user, or the caller when no name is given.
pub async fn get_user(ctx: &Ctx<'_>) -> Result<Done> {
    let name = match ctx.params.optional("UserName") {
        Some(n) => n.to_owned(),
        None => ctx.req.caller.principal.user_name.clone().ok_or_else(|| {
            IamError::Validation(
                "Must specify userName when calling with non-User credentials".into(),
            )
        })?,
    };
    let user = authorized_user(ctx, &name, "iam:GetUser").await?;
    let mut r = ctx.response("GetUser", true);
    r.w().open("User");
    shapes::user(r.w(), &user.value);
    r.w().close("User");
    ctx.done(r, serde_json::Value::Null)
}

/// ListUsers, with PathPrefix and Marker/MaxItems.
pub async fn list_users(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.allow(
        "iam:ListUsers",
        &format!("arn:aws:iam::{}:user/", ctx.account()),
    )
    .await?;
    let prefix = ctx.params.optional("PathPrefix").unwrap_or("/");
    let mut users: Vec<User> = ctx
        .shared
        .repo
        .users(ctx.account())
        .await?
        .into_iter()
        .filter(|u| u.path.starts_with(prefix))
        .collect();
    users.sort_by_key(|u| u.user_name.to_ascii_lowercase());
    let (page, marker) = paginate(ctx, &users, |u| u.user_name.to_ascii_lowercase())?;
    let mut r = ctx.response("ListUsers", true);
    r.w().open("Users");
    for u in page {
        r.w().open("member");
        shapes::user(r.w(), u);
        r.w().close("member");
    }
    r.w().close("Users");
    write_truncation(&mut r, marker);
    ctx.done(r, serde_json::Value::Null)
}

/// UpdateUser: new path (renaming is refused: it would orphan key records' owner names).
pub async fn update_user(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("UserName")?;
    let user = authorized_user(ctx, name, "iam:UpdateUser").await?;
    let old_key = entity_key(ctx.account(), &user.value.user_name);
    let mut updated = user.value.clone();
    if let Some(path) = ctx.params.optional("NewPath") {
        check_path(path)?;
        updated.path = path.to_owned();
    }
    if let Some(new_name) = ctx.params.optional("NewUserName") {
        check_name("newUserName", new_name, 64)?;
        updated.user_name = new_name.to_owned();
    }
    let new_key = entity_key(ctx.account(), &updated.user_name);
    let mut ops = Vec::new();
    if new_key == old_key {
        ops.push(Repo::put_op(
            c::USERS,
            new_key,
            &updated,
            Precondition::Version(user.version),
        )?);
    } else {
        // Renaming needs permission on the new name too, as IAM does.
        ctx.allow("iam:UpdateUser", &updated.arn()).await?;
        if ctx
            .shared
            .repo
            .user(ctx.account(), &updated.user_name)
            .await?
            .is_some()
        {
            return Err(IamError::EntityAlreadyExists(format!(
                "User with name {} already exists.",
                updated.user_name
            )));
        }
        ops.push(portcullis_store::WriteOp::Delete {
            collection: c::USERS.into(),
            key: old_key,
            cond: Precondition::Version(user.version),
        });
        ops.push(Repo::put_op(
            c::USERS,
            new_key,
            &updated,
            Precondition::Absent,
        )?);
    }
    // Access keys name their owner: move them along with the user, in the same batch.
    if updated.user_name != user.value.user_name {
        for id in &updated.access_keys {
            if let Some(mut k) = ctx.shared.repo.access_key(id).await? {
                k.value.user_name = updated.user_name.clone();
                ops.push(Repo::put_op(
                    c::ACCESS_KEYS,
                    id.clone(),
                    &k.value,
                    Precondition::Version(k.version),
                )?);
            }
        }
    }
    ctx.shared.repo.commit(&ops).await?;
    let r = ctx.response("UpdateUser", false);
    ctx.done(r, serde_json::Value::Null)
}

/// DeleteUser: refused while keys or policies remain, as IAM does.
pub async fn delete_user(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("UserName")?;
    let user = authorized_user(ctx, name, "iam:DeleteUser").await?;
    if !user.value.access_keys.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete access keys first.".into(),
        ));
    }
    if !user.value.inline_policies.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete policies first.".into(),
        ));
    }
    if !user.value.attached_policies.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must detach all policies first.".into(),
        ));
    }
    let key = entity_key(ctx.account(), name);
    let op = portcullis_store::WriteOp::Delete {
        collection: c::USERS.into(),
        key,
        cond: Precondition::Version(user.version),
    };
    ctx.shared.repo.commit(&[op]).await?;
    let r = ctx.response("DeleteUser", false);
    ctx.done(r, serde_json::Value::Null)
}

/// TagUser.
pub async fn tag_user(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("UserName")?;
    let tags = parse_tags(ctx)?;
    let mut user = authorized_user(ctx, name, "iam:TagUser").await?;
    merge_tags(&mut user.value.tags, tags)?;
    let key = entity_key(ctx.account(), name);
    ctx.shared
        .repo
        .put(
            c::USERS,
            key,
            &user.value,
            Precondition::Version(user.version),
        )
        .await?;
    ctx.done(ctx.response("TagUser", false), serde_json::Value::Null)
}

/// UntagUser.
pub async fn untag_user(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("UserName")?;
    let keys = ctx.params.list("TagKeys");
    let mut user = authorized_user(ctx, name, "iam:UntagUser").await?;
    user.value
        .tags
        .retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
    let key = entity_key(ctx.account(), name);
    ctx.shared
        .repo
        .put(
            c::USERS,
            key,
            &user.value,
            Precondition::Version(user.version),
        )
        .await?;
    ctx.done(ctx.response("UntagUser", false), serde_json::Value::Null)
}

/// ListUserTags.
pub async fn list_user_tags(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.params.required("UserName")?;
    let user = authorized_user(ctx, name, "iam:ListUserTags").await?;
    let mut r = ctx.response("ListUserTags", true);
    shapes::tags(r.w(), &user.value.tags);
    r.w().leaf("IsTruncated", "false");
    ctx.done(r, serde_json::Value::Null)
}
