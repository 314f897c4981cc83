//! Access key operations: CreateAccessKey, ListAccessKeys, UpdateAccessKey,
//! DeleteAccessKey, GetAccessKeyLastUsed.

use portcullis_common::{Secret, ids};
use portcullis_store::{Precondition, WriteOp};
use serde_json::json;
use time::OffsetDateTime;

use super::{Ctx, Done, authorized_user, shapes};
use crate::error::{IamError, Result};
use crate::model::{AccessKey, KeyStatus, User, collections as c, entity_key};
use crate::query::date;
use crate::repo::{Repo, Versioned};
use crate::sealing::Sealer;

/// IAM's quota of access keys per user.
pub const KEYS_PER_USER: usize = 2;

/// Creates an access key for `user` (generated, or the given id and secret), sealing the
/// secret; returns the key record and the plaintext secret for the one reply that shows it.
pub async fn issue(
    repo: &Repo,
    root: &dyn Sealer,
    user: Versioned<User>,
    now: OffsetDateTime,
    given: Option<(String, Secret<String>)>,
) -> Result<(AccessKey, Secret<String>)> {
    if user.value.access_keys.len() >= KEYS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"
        )));
    }
    let (id, secret) =
        given.unwrap_or_else(|| (ids::access_key_id(), Secret::new(ids::secret_access_key())));
    let sealed = root
        .seal(&id, secret.expose().as_bytes())
        .map_err(|e| IamError::Internal(e.to_string()))?;
    let key = AccessKey {
        access_key_id: id.clone(),
        account: user.value.account.clone(),
        user_name: user.value.user_name.clone(),
        status: KeyStatus::Active,
        sealed_secret: sealed,
        create_date: now,
        last_used: None,
    };
    let mut owner = user.value;
    owner.access_keys.push(id.clone());
    let ops = [
        Repo::put_op(c::ACCESS_KEYS, id, &key, Precondition::Absent)?,
        Repo::put_op(
            c::USERS,
            entity_key(&owner.account, &owner.user_name),
            &owner,
            Precondition::Version(user.version),
        )?,
    ];
    repo.commit(&ops).await?;
    Ok((key, secret))
}

fn target_user(ctx: &Ctx<'_>) -> Result<String> {
    match ctx.params.optional("UserName") {
        Some(n) => Ok(n.to_owned()),
        None => ctx.req.caller.principal.user_name.clone().ok_or_else(|| {
            IamError::Validation(
                "Must specify userName when calling with non-User credentials".into(),
            )
        }),
    }
}

/// CreateAccessKey.
pub async fn create_access_key(ctx: &Ctx<'_>) -> Result<Done> {
    let name = target_user(ctx)?;
    let user = authorized_user(ctx, &name, "iam:CreateAccessKey").await?;
    let (key, secret) = issue(&ctx.shared.repo, &*ctx.shared.root, user, ctx.now(), None).await?;
    let mut r = ctx.response("CreateAccessKey", true);
    let w = r.w();
    w.open("AccessKey");
    w.leaf("UserName", &key.user_name);
    w.leaf("AccessKeyId", &key.access_key_id);
    w.leaf("Status", key.status.as_str());
    w.leaf("SecretAccessKey", secret.expose());
    w.leaf("CreateDate", &date(key.create_date));
    w.close("AccessKey");
    ctx.done(
        r,
        json!({"accessKey": {"accessKeyId": key.access_key_id, "userName": key.user_name,
        "status": "Active", "createDate": date(key.create_date)}}),
    )
}

/// ListAccessKeys.
pub async fn list_access_keys(ctx: &Ctx<'_>) -> Result<Done> {
    let name = target_user(ctx)?;
    let user = authorized_user(ctx, &name, "iam:ListAccessKeys").await?;
    let keys = ctx.shared.repo.access_keys_of(&user.value).await?;
    let mut r = ctx.response("ListAccessKeys", true);
    r.w().open("AccessKeyMetadata");
    for k in &keys {
        shapes::access_key_metadata(r.w(), k);
    }
    r.w().close("AccessKeyMetadata");
    r.w().leaf("IsTruncated", "false");
    ctx.done(r, serde_json::Value::Null)
}

async fn owned_key(ctx: &Ctx<'_>, action: &str) -> Result<(Versioned<User>, Versioned<AccessKey>)> {
    let name = target_user(ctx)?;
    let id = ctx.params.required("AccessKeyId")?;
    let user = authorized_user(ctx, &name, action).await?;
    let not_found =
        || IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."));
    if !user.value.access_keys.iter().any(|k| k == id) {
        return Err(not_found());
    }
    let key = ctx
        .shared
        .repo
        .access_key(id)
        .await?
        .ok_or_else(not_found)?;
    Ok((user, key))
}

/// UpdateAccessKey: Active or Inactive.
pub async fn update_access_key(ctx: &Ctx<'_>) -> Result<Done> {
    let status = match ctx.params.required("Status")? {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
            )));
        }
    };
    let (_, mut key) = owned_key(ctx, "iam:UpdateAccessKey").await?;
    key.value.status = status;
    let id = key.value.access_key_id.clone();
    ctx.shared
        .repo
        .put(
            c::ACCESS_KEYS,
            id,
            &key.value,
            Precondition::Version(key.version),
        )
        .await?;
    ctx.done(
        ctx.response("UpdateAccessKey", false),
        serde_json::Value::Null,
    )
}

/// DeleteAccessKey.
pub async fn delete_access_key(ctx: &Ctx<'_>) -> Result<Done> {
    let (user, key) = owned_key(ctx, "iam:DeleteAccessKey").await?;
    let mut owner = user.value;
    owner.access_keys.retain(|k| k != &key.value.access_key_id);
    let ops = [
        WriteOp::Delete {
            collection: c::ACCESS_KEYS.into(),
            key: key.value.access_key_id.clone(),
            cond: Precondition::Version(key.version),
        },
        Repo::put_op(
            c::USERS,
            entity_key(&owner.account, &owner.user_name),
            &owner,
            Precondition::Version(user.version),
        )?,
    ];
    ctx.shared.repo.commit(&ops).await?;
    ctx.done(
        ctx.response("DeleteAccessKey", false),
        serde_json::Value::Null,
    )
}

/// GetAccessKeyLastUsed.
pub async fn get_access_key_last_used(ctx: &Ctx<'_>) -> Result<Done> {
    let id = ctx.params.required("AccessKeyId")?;
    let not_found =
        || IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."));
    let key = ctx.shared.repo.access_key(id).await?;
    let resource = match &key {
        Some(k) => format!(
            "arn:aws:iam::{}:user/{}",
            k.value.account, k.value.user_name
        ),
        None => format!("arn:aws:iam::{}:user/*", ctx.account()),
    };
    ctx.allow("iam:GetAccessKeyLastUsed", &resource).await?;
    let key = key
        .filter(|k| k.value.account == ctx.account())
        .ok_or_else(not_found)?
        .value;
    let mut r = ctx.response("GetAccessKeyLastUsed", true);
    let w = r.w();
    w.leaf("UserName", &key.user_name);
    w.open("AccessKeyLastUsed");
    match &key.last_used {
        Some(l) => {
            w.leaf("LastUsedDate", &date(l.date));
            w.leaf("ServiceName", &l.service);
            w.leaf("Region", &l.region);
        }
        None => {
            w.leaf("ServiceName", "N/A");
            w.leaf("Region", "N/A");
        }
    }
    w.close("AccessKeyLastUsed");
    ctx.done(r, serde_json::Value::Null)
}
