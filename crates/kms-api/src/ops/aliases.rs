//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
//!
//! An alias write and the `aliases` list of the key(s) it points at change in one batch,
//! each conditional on the version read, so `kms:ResourceAliases` never goes stale and
//! concurrent alias changes on one key lose no update.

use portcullis_iam::policy::ContextValue;
use portcullis_iam_api::Authorizer;
use portcullis_kms_core::KeySpec;
use portcullis_store::{Precondition, WriteOp};
use serde_json::{Value, json};

use super::{Ctx, Done, page};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::input::epoch;
use crate::model::{Alias, Key, alias_key, collections as c, scope_prefix};
use crate::state::{Kms, Naming, Versioned};

/// Aliases per key at most (the AWS quota).
pub const MAX_ALIASES_PER_KEY: usize = 50;

/// Checks an alias name beyond the model's length limit: the `^[a-zA-Z0-9:/_-]+$`
/// pattern (`ValidationException`, as for any pattern), then the `alias/` prefix, a
/// non-empty name after it, and the reserved `alias/aws/` prefix
/// (`InvalidAliasNameException`).
pub fn validate_alias_name(name: &str) -> Result<()> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b))
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(KmsError::InvalidAliasName(format!(
            "Alias {name} must start with the prefix \"alias/\"."
        )));
    };
    if rest.is_empty() {
        return Err(KmsError::InvalidAliasName(
            "Alias name must not be empty after \"alias/\".".into(),
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::InvalidAliasName(format!(
            "Alias {name} cannot begin with the reserved prefix \"alias/aws/\"."
        )));
    }
    Ok(())
}

fn alias_name(ctx: &Ctx<'_>) -> Result<String> {
    let name = ctx.input.str_req("AliasName", 1..=256)?;
    validate_alias_name(name)?;
    Ok(name.to_owned())
}

/// `arn:aws:kms:<region>:<account>:<alias-name>` in the caller's account and region.
fn alias_arn(ctx: &Ctx<'_>, name: &str) -> String {
    format!("arn:aws:kms:{}:{}:{name}", ctx.region(), ctx.account())
}

/// Authorizes `action` on the alias itself: IAM policies only (an alias has no policy).
async fn authorize_on_alias(ctx: &Ctx<'_>, action: &str, name: &str) -> Result<()> {
    let actx = Authorizer::context(ctx.req, action, alias_arn(ctx, name)).with(
        "kms:CallerAccount",
        ContextValue::Single(ctx.account().to_owned()),
    );
    ctx.kms.authorize(ctx.req, &actx, None, None, None).await
}

/// Authorizes `action` on a key (its key policy, and IAM where the policy trusts the account).
async fn authorize_on_key(ctx: &Ctx<'_>, action: &str, key: &Key) -> Result<()> {
    let actx = Kms::context(ctx.req, action, Some(key));
    ctx.kms
        .authorize(ctx.req, &actx, Some(key), None, None)
        .await
}

/// Resolves `TargetKeyId` (key id or key ARN) to a key in the caller's account and region.
async fn target_key(ctx: &Ctx<'_>) -> Result<Versioned<Key>> {
    let id = ctx.input.key_id("TargetKeyId")?;
    let key = ctx.kms.resolve(ctx.req, id, Naming::KeyOnly).await?;
    if key.value.account != ctx.account() || key.value.region != ctx.region() {
        return Err(KmsError::NotFound(format!(
            "Key '{id}' does not exist in this account and Region"
        )));
    }
    Ok(key)
}

async fn existing_alias(ctx: &Ctx<'_>, name: &str) -> Result<Versioned<Alias>> {
    ctx.kms
        .alias(ctx.account(), ctx.region(), name)
        .await?
        .ok_or_else(|| KmsError::NotFound(format!("Alias {} is not found.", alias_arn(ctx, name))))
}

fn alias_op(alias: &Alias, cond: Precondition) -> Result<WriteOp> {
    Kms::put_op(
        c::ALIASES,
        alias_key(&alias.account, &alias.region, &alias.alias_name),
        alias,
        cond,
    )
}

fn add_alias(key: &mut Key, name: &str) {
    if !key.aliases.iter().any(|a| a == name) {
        key.aliases.push(name.to_owned());
        key.aliases.sort();
    }
}

/// The key type UpdateAlias compares: symmetric, asymmetric or HMAC.
fn key_type(key: &Key) -> &'static str {
    match key.key_spec.parse::<KeySpec>() {
        Ok(s) if s.is_symmetric() => "symmetric",
        Ok(s) if s.is_hmac() => "HMAC",
        _ => "asymmetric",
    }
}

/// CreateAlias.
pub async fn create_alias(ctx: &Ctx<'_>) -> Result<Done> {
    let name = alias_name(ctx)?;
    let mut key = target_key(ctx).await?;
    authorize_on_alias(ctx, "kms:CreateAlias", &name).await?;
    authorize_on_key(ctx, "kms:CreateAlias", &key.value).await?;
    checks::require_not_pending_deletion(&key.value)?;
    if ctx
        .kms
        .alias(ctx.account(), ctx.region(), &name)
        .await?
        .is_some()
    {
        return Err(KmsError::AlreadyExists(format!(
            "An alias with the name {} already exists",
            alias_arn(ctx, &name)
        )));
    }
    if key.value.aliases.len() >= MAX_ALIASES_PER_KEY {
        return Err(KmsError::LimitExceeded(format!(
            "{} already has {MAX_ALIASES_PER_KEY} aliases, the most a key may have.",
            key.value.arn()
        )));
    }
    let alias = Alias {
        account: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        alias_name: name.clone(),
        target_key_id: key.value.key_id.clone(),
        created: ctx.now(),
        updated: ctx.now(),
    };
    add_alias(&mut key.value, &name);
    // Both conditional: a racing CreateAlias of the same name, or any change to the key, fails the batch.
    ctx.kms
        .commit(&[alias_op(&alias, Precondition::Absent)?, Kms::key_op(&key)?])
        .await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// UpdateAlias: re-points an alias at a key of the same type and usage.
pub async fn update_alias(ctx: &Ctx<'_>) -> Result<Done> {
    let name = alias_name(ctx)?;
    let mut alias = existing_alias(ctx, &name).await?;
    let mut new_key = target_key(ctx).await?;
    let old_key = ctx
        .kms
        .key_by_id(ctx.account(), ctx.region(), &alias.value.target_key_id)
        .await?;
    authorize_on_alias(ctx, "kms:UpdateAlias", &name).await?;
    if let Some(old) = &old_key {
        authorize_on_key(ctx, "kms:UpdateAlias", &old.value).await?;
    }
    authorize_on_key(ctx, "kms:UpdateAlias", &new_key.value).await?;
    checks::require_not_pending_deletion(&new_key.value)?;
    let mut ops = Vec::with_capacity(3);
    match old_key {
        Some(old) if old.value.key_id == new_key.value.key_id => {}
        Some(mut old) => {
            if key_type(&old.value) != key_type(&new_key.value)
                || old.value.key_usage != new_key.value.key_usage
            {
                return Err(KmsError::Validation(format!(
                    "{} is a {} key with usage {}; alias {name} may only point at a key of the same type and usage (the current key is a {} key with usage {}).",
                    new_key.value.arn(),
                    key_type(&new_key.value),
                    new_key.value.key_usage,
                    key_type(&old.value),
                    old.value.key_usage
                )));
            }
            if new_key.value.aliases.len() >= MAX_ALIASES_PER_KEY {
                return Err(KmsError::LimitExceeded(format!(
                    "{} already has {MAX_ALIASES_PER_KEY} aliases, the most a key may have.",
                    new_key.value.arn()
                )));
            }
            old.value.aliases.retain(|a| *a != name);
            add_alias(&mut new_key.value, &name);
            ops.push(Kms::key_op(&old)?);
            ops.push(Kms::key_op(&new_key)?);
        }
        // The old key is gone (it cannot be, since deletion removes its aliases): just re-point.
        None => {
            add_alias(&mut new_key.value, &name);
            ops.push(Kms::key_op(&new_key)?);
        }
    }
    alias.value.target_key_id = new_key.value.key_id.clone();
    alias.value.updated = ctx.now();
    ops.push(alias_op(
        &alias.value,
        Precondition::Version(alias.version),
    )?);
    ctx.kms.commit(&ops).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// DeleteAlias: the key is unaffected (in any state).
pub async fn delete_alias(ctx: &Ctx<'_>) -> Result<Done> {
    let name = alias_name(ctx)?;
    let alias = existing_alias(ctx, &name).await?;
    let key = ctx
        .kms
        .key_by_id(ctx.account(), ctx.region(), &alias.value.target_key_id)
        .await?;
    authorize_on_alias(ctx, "kms:DeleteAlias", &name).await?;
    if let Some(k) = &key {
        authorize_on_key(ctx, "kms:DeleteAlias", &k.value).await?;
    }
    let mut ops = vec![WriteOp::Delete {
        collection: c::ALIASES.to_owned(),
        key: alias_key(ctx.account(), ctx.region(), &name),
        cond: Precondition::Version(alias.version),
    }];
    if let Some(mut k) = key {
        k.value.aliases.retain(|a| *a != name);
        ops.push(Kms::key_op(&k)?);
    }
    ctx.kms.commit(&ops).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// `AliasListEntry`.
fn alias_entry(a: &Alias) -> Value {
    json!({
        "AliasName": a.alias_name,
        "AliasArn": a.arn(),
        "TargetKeyId": a.target_key_id,
        "CreationDate": epoch(a.created),
        "LastUpdatedDate": epoch(a.updated),
    })
}

/// ListAliases: every alias of the account and Region, or those of `KeyId`; IAM-only
/// permission.
pub async fn list_aliases(ctx: &Ctx<'_>) -> Result<Done> {
    let (limit, marker) = page::params(&ctx.input, 50)?;
    let key_id = ctx.input.str_opt("KeyId", 1..=2048)?;
    let actx = Kms::context(ctx.req, "kms:ListAliases", None);
    ctx.kms.authorize(ctx.req, &actx, None, None, None).await?;
    let target = match key_id {
        Some(id) => Some(ctx.kms.resolve(ctx.req, id, Naming::KeyOnly).await?.value),
        None => None,
    };
    let (account, region) = match &target {
        Some(k) => (k.account.as_str(), k.region.as_str()),
        None => (ctx.account(), ctx.region()),
    };
    let mut aliases: Vec<Alias> = ctx
        .kms
        .list(c::ALIASES, &scope_prefix(account, region))
        .await?;
    if let Some(k) = &target {
        aliases.retain(|a| a.target_key_id == k.key_id);
    }
    aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
    let page = page::paginate(aliases, |a| a.alias_name.clone(), limit, marker.as_deref());
    Ok(Done {
        body: page.render("Aliases", alias_entry),
        audit: Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names() {
        assert!(validate_alias_name("alias/my-key_1:prod/x").is_ok());
        assert!(matches!(
            validate_alias_name("my-key"),
            Err(KmsError::InvalidAliasName(_))
        ));
        assert!(matches!(
            validate_alias_name("alias/"),
            Err(KmsError::InvalidAliasName(_))
        ));
        assert!(matches!(
            validate_alias_name("alias/aws/s3"),
            Err(KmsError::InvalidAliasName(_))
        ));
        assert!(
            validate_alias_name("alias/awsome").is_ok(),
            "only alias/aws/ is reserved"
        );
        assert!(matches!(
            validate_alias_name("alias/has space"),
            Err(KmsError::Validation(_))
        ));
        assert!(matches!(
            validate_alias_name("alias/caf\u{e9}"),
            Err(KmsError::Validation(_))
        ));
    }
}
