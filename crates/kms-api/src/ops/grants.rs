//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
//! The rules themselves (matching, retiring, delegation, tokens) are in [`crate::grants`].

use std::collections::BTreeMap;

use portcullis_iam::policy::{ContextValue, Decision};
use portcullis_iam_api::authz::ResourcePolicy;
use portcullis_store::{Precondition, WriteOp};
use serde_json::{Value, json};

use super::render::set;
use super::{Ctx, Done, page};
use crate::error::{KmsError, Result};
use crate::grants::{self as rules, GRANT_OPERATIONS, MAX_GRANTS_PER_KEY};
use crate::input::epoch;
use crate::model::{
    Grant, GrantConstraints, Key, KeyState, collections as c, grant_key, scope_prefix,
};
use crate::state::{Kms, Naming, Versioned};

/// Checks a principal member against `^[\w+=,.@:/-]+$` (length is checked on read).
fn principal(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>> {
    let Some(p) = ctx.input.str_opt(name, 1..=256)? else {
        return Ok(None);
    };
    if !p
        .chars()
        .all(|ch| ch.is_alphanumeric() || "_+=,.@:/-".contains(ch))
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{p}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$",
            lower_first(name)
        )));
    }
    Ok(Some(p.to_owned()))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn no_service_principals(ctx: &Ctx<'_>, names: &[&str]) -> Result<()> {
    for n in names {
        if ctx.input.value(n).is_some() {
            return Err(KmsError::Validation(format!(
                "{n} is not supported by this server; name an IAM principal ARN."
            )));
        }
    }
    Ok(())
}

fn grant_tokens(ctx: &Ctx<'_>) -> Result<()> {
    let tokens = ctx.input.strings("GrantTokens")?;
    if tokens.len() > 10
        || tokens
            .iter()
            .any(|t| t.is_empty() || t.chars().count() > 8192)
    {
        return Err(KmsError::Validation(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10, each 1 to 8192 characters".into(),
        ));
    }
    // Grants here take effect at once, so a token adds nothing; it must still parse.
    if tokens.iter().any(|t| rules::decode_token(t).is_none()) {
        return Err(KmsError::InvalidGrantToken(
            "The grant token is not valid.".into(),
        ));
    }
    Ok(())
}

fn context_map(v: &Value, name: &str) -> Result<Option<BTreeMap<String, String>>> {
    let Some(v) = v.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let m = v.as_object().ok_or_else(|| {
        KmsError::Serialization(format!("Member {name} must be a map of strings"))
    })?;
    m.iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_owned()))
                .ok_or_else(|| {
                    KmsError::Serialization(format!("Member {name} must be a map of strings"))
                })
        })
        .collect::<Result<BTreeMap<_, _>>>()
        .map(Some)
}

fn constraints(ctx: &Ctx<'_>) -> Result<GrantConstraints> {
    let Some(v) = ctx.input.value("Constraints") else {
        return Ok(GrantConstraints::default());
    };
    if !v.is_object() {
        return Err(KmsError::Serialization(
            "Member Constraints must be a structure".into(),
        ));
    }
    if v.get("SourceArn").is_some_and(|s| !s.is_null()) {
        return Err(KmsError::Validation(
            "The SourceArn grant constraint is not supported by this server.".into(),
        ));
    }
    let c = GrantConstraints {
        equals: context_map(v, "EncryptionContextEquals")?,
        subset: context_map(v, "EncryptionContextSubset")?,
    };
    if c.equals.is_some() && c.subset.is_some() {
        return Err(KmsError::Validation(
            "A grant constraint may have EncryptionContextEquals or EncryptionContextSubset, not both.".into(),
        ));
    }
    Ok(c)
}

fn operations(ctx: &Ctx<'_>) -> Result<Vec<String>> {
    if ctx.input.value("Operations").is_none() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    let mut ops = ctx.input.strings("Operations")?;
    if ops.is_empty() {
        return Err(KmsError::Validation(
            "Operations must name at least one operation.".into(),
        ));
    }
    if let Some(bad) = ops.iter().find(|o| !GRANT_OPERATIONS.contains(&o.as_str())) {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '[{bad}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
            GRANT_OPERATIONS.join(", ")
        )));
    }
    ops.sort();
    ops.dedup();
    Ok(ops)
}

/// `GrantListEntry`.
fn grant_entry(g: &Grant) -> Value {
    let mut e = json!({
        "KeyId": format!("arn:aws:kms:{}:{}:key/{}", g.region, g.account, g.key_id),
        "GrantId": g.grant_id,
        "CreationDate": epoch(g.created),
        "GranteePrincipal": g.grantee_principal,
        "IssuingAccount": format!("arn:aws:iam::{}:root", g.issuing_account),
        "Operations": g.operations,
    });
    if let Some(n) = &g.name {
        set(&mut e, "Name", json!(n));
    }
    if let Some(r) = &g.retiring_principal {
        set(&mut e, "RetiringPrincipal", json!(r));
    }
    let mut cons = serde_json::Map::new();
    if let Some(eq) = &g.constraints.equals {
        cons.insert("EncryptionContextEquals".into(), json!(eq));
    }
    if let Some(sub) = &g.constraints.subset {
        cons.insert("EncryptionContextSubset".into(), json!(sub));
    }
    if !cons.is_empty() {
        set(&mut e, "Constraints", Value::Object(cons));
    }
    e
}

/// Authorizes CreateGrant: a policy may allow it; failing that, a grant to the caller
/// that includes CreateGrant allows a child grant no wider than itself. An explicit deny
/// is final.
async fn authorize_create(
    ctx: &Ctx<'_>,
    key: &Key,
    grants: &[Grant],
    ops: &[String],
    cons: &GrantConstraints,
    actx: &portcullis_iam::policy::RequestContext,
) -> Result<()> {
    let policy = ctx.kms.key_policy(key)?;
    let decision = ctx
        .kms
        .authz
        .decide(&ctx.req.caller, actx, ResourcePolicy::Some(&policy))
        .await
        .map_err(|e| KmsError::Internal(e.to_string()))?;
    if decision == Decision::ImplicitDeny {
        let names = rules::caller_names(&ctx.req.caller.principal);
        if grants.iter().any(|g| {
            names.contains(&g.grantee_principal.as_str()) && rules::may_delegate(g, ops, cons)
        }) {
            return Ok(());
        }
    }
    // Allow passes; a deny is rendered by the common decision with its usual message.
    ctx.kms
        .authorize(ctx.req, actx, Some(key), None, None)
        .await
}

/// CreateGrant.
pub async fn create_grant(ctx: &Ctx<'_>) -> Result<Done> {
    no_service_principals(
        ctx,
        &["GranteeServicePrincipal", "RetiringServicePrincipal"],
    )?;
    let grantee = principal(ctx, "GranteePrincipal")?.ok_or_else(|| {
        KmsError::Validation(
            "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null".into(),
        )
    })?;
    let retiring = principal(ctx, "RetiringPrincipal")?;
    let ops = operations(ctx)?;
    let cons = constraints(ctx)?;
    let name = ctx.input.str_opt("Name", 1..=256)?.map(str::to_owned);
    if let Some(n) = &name
        && !n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b))
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    grant_tokens(ctx)?;
    let key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let mut actx = Kms::context(ctx.req, "kms:CreateGrant", Some(&key.value))
        .with("kms:GrantOperations", ContextValue::Multi(ops.clone()))
        .with(
            "kms:GranteePrincipal",
            ContextValue::Single(grantee.clone()),
        )
        .with(
            "kms:GrantIsForAWSResource",
            ContextValue::Single("false".into()),
        );
    if let Some(r) = &retiring {
        actx = actx.with("kms:RetiringPrincipal", ContextValue::Single(r.clone()));
    }
    let kinds: Vec<String> = [
        ("EncryptionContextEquals", cons.equals.is_some()),
        ("EncryptionContextSubset", cons.subset.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(k, _)| (*k).to_owned())
    .collect();
    if !kinds.is_empty() {
        actx = actx.with("kms:GrantConstraintType", ContextValue::Multi(kinds));
    }
    let grants = ctx.kms.grants_of(&key.value).await?;
    authorize_create(ctx, &key.value, &grants, &ops, &cons, &actx).await?;
    if key.value.state == KeyState::PendingDeletion {
        return Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            key.value.arn()
        )));
    }
    if let Some(n) = &name
        && let Some(same) = grants.iter().find(|g| {
            g.name.as_ref() == Some(n)
                && g.grantee_principal == grantee
                && g.retiring_principal == retiring
                && g.operations == ops
                && g.constraints == cons
        })
    {
        ctx.dry_run()?;
        return Ok(created(same));
    }
    if grants.len() >= MAX_GRANTS_PER_KEY {
        return Err(KmsError::LimitExceeded(format!(
            "{} already has {MAX_GRANTS_PER_KEY} grants, the most a key may have.",
            key.value.arn()
        )));
    }
    ctx.dry_run()?;
    let grant = Grant {
        account: key.value.account.clone(),
        region: key.value.region.clone(),
        key_id: key.value.key_id.clone(),
        grant_id: rules::new_grant_id(),
        name,
        grantee_principal: grantee,
        retiring_principal: retiring,
        issuing_account: ctx.account().to_owned(),
        operations: ops,
        constraints: cons,
        created: ctx.now(),
    };
    let gkey = grant_key(
        &grant.account,
        &grant.region,
        &grant.key_id,
        &grant.grant_id,
    );
    ctx.kms
        .commit(&[Kms::put_op(c::GRANTS, gkey, &grant, Precondition::Absent)?])
        .await?;
    Ok(created(&grant))
}

fn created(g: &Grant) -> Done {
    Done {
        body: json!({ "GrantId": g.grant_id, "GrantToken": rules::encode_token(g) }),
        audit: json!({ "grantId": g.grant_id }),
    }
}

/// ListGrants: the grants of one key, filtered by `GrantId` and `GranteePrincipal`.
pub async fn list_grants(ctx: &Ctx<'_>) -> Result<Done> {
    let (limit, marker) = page::params(&ctx.input, 50)?;
    no_service_principals(ctx, &["GranteeServicePrincipal"])?;
    let grant_id = ctx.input.str_opt("GrantId", 1..=128)?.map(str::to_owned);
    let grantee = principal(ctx, "GranteePrincipal")?;
    let key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let actx = Kms::context(ctx.req, "kms:ListGrants", Some(&key.value));
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    if let Some(id) = &grant_id
        && !rules::is_grant_id(id)
    {
        return Err(KmsError::InvalidGrantId(format!(
            "Grant ID {id} is not valid."
        )));
    }
    let mut grants = ctx.kms.grants_of(&key.value).await?;
    grants.retain(|g| {
        grant_id.as_ref().is_none_or(|id| *id == g.grant_id)
            && grantee.as_ref().is_none_or(|p| *p == g.grantee_principal)
    });
    let page = page::paginate(grants, |g| g.grant_id.clone(), limit, marker.as_deref());
    Ok(Done {
        body: page.render("Grants", grant_entry),
        audit: Value::Null,
    })
}

/// ListRetirableGrants: grants in the caller's account and Region whose retiring
/// principal is `RetiringPrincipal`; IAM-only permission on `*`.
pub async fn list_retirable_grants(ctx: &Ctx<'_>) -> Result<Done> {
    let (limit, marker) = page::params(&ctx.input, 50)?;
    no_service_principals(ctx, &["RetiringServicePrincipal"])?;
    let retiring = principal(ctx, "RetiringPrincipal")?.ok_or_else(|| {
        KmsError::Validation(
            "1 validation error detected: Value null at 'retiringPrincipal' failed to satisfy constraint: Member must not be null".into(),
        )
    })?;
    let actx = Kms::context(ctx.req, "kms:ListRetirableGrants", None);
    ctx.kms.authorize(ctx.req, &actx, None, None, None).await?;
    let mut grants: Vec<Grant> = ctx
        .kms
        .list(c::GRANTS, &scope_prefix(ctx.account(), ctx.region()))
        .await?;
    grants.retain(|g| g.retiring_principal.as_deref() == Some(retiring.as_str()));
    let page = page::paginate(
        grants,
        |g| format!("{}/{}", g.key_id, g.grant_id),
        limit,
        marker.as_deref(),
    );
    Ok(Done {
        body: page.render("Grants", grant_entry),
        audit: Value::Null,
    })
}

/// Finds a grant on a key, or `NotFoundException`.
fn find_grant(grants: Vec<Grant>, key: &Key, grant_id: &str) -> Result<Grant> {
    grants
        .into_iter()
        .find(|g| g.grant_id == grant_id)
        .ok_or_else(|| {
            KmsError::NotFound(format!(
                "Grant ID {grant_id} not found for key {}.",
                key.arn()
            ))
        })
}

fn delete_op(g: &Grant) -> WriteOp {
    WriteOp::Delete {
        collection: c::GRANTS.to_owned(),
        key: grant_key(&g.account, &g.region, &g.key_id, &g.grant_id),
        cond: Precondition::Exists,
    }
}

fn grant_id_member(ctx: &Ctx<'_>) -> Result<Option<String>> {
    let Some(id) = ctx.input.str_opt("GrantId", 1..=128)? else {
        return Ok(None);
    };
    if !rules::is_grant_id(id) {
        return Err(KmsError::InvalidGrantId(format!(
            "Grant ID {id} is not valid."
        )));
    }
    Ok(Some(id.to_owned()))
}

/// RetireGrant: by `GrantToken`, or by `KeyId` and `GrantId`. Allowed by the grant
/// itself (retiring principal, grantee with RetireGrant, the issuing account's root), or
/// by `kms:RetireGrant` in a policy.
pub async fn retire_grant(ctx: &Ctx<'_>) -> Result<Done> {
    let token = ctx.input.str_opt("GrantToken", 1..=8192)?;
    let grant_id = grant_id_member(ctx)?;
    let key_id = ctx.input.str_opt("KeyId", 1..=2048)?;
    let (key, grant_id): (Versioned<Key>, String) = match (token, key_id, grant_id) {
        (Some(t), _, _) => {
            let r = rules::decode_token(t).ok_or_else(|| {
                KmsError::InvalidGrantToken("The grant token is not valid.".into())
            })?;
            let key = ctx
                .kms
                .key_by_id(&r.account, &r.region, &r.key_id)
                .await?
                .ok_or_else(|| KmsError::NotFound(format!("Key '{}' does not exist", r.key_id)))?;
            (key, r.grant_id)
        }
        (None, Some(k), Some(g)) => (ctx.kms.resolve(ctx.req, k, Naming::KeyOnly).await?, g),
        _ => {
            return Err(KmsError::Validation(
                "Specify a GrantToken, or both a KeyId and a GrantId.".into(),
            ));
        }
    };
    let grant = find_grant(ctx.kms.grants_of(&key.value).await?, &key.value, &grant_id)?;
    if !rules::may_retire(&ctx.req.caller.principal, &grant) {
        let actx = Kms::context(ctx.req, "kms:RetireGrant", Some(&key.value));
        ctx.kms
            .authorize(ctx.req, &actx, Some(&key.value), None, None)
            .await?;
    }
    ctx.dry_run()?;
    ctx.kms.commit(&[delete_op(&grant)]).await?;
    Ok(Done {
        body: json!({}),
        audit: json!({ "grantId": grant.grant_id }),
    })
}

/// RevokeGrant: `kms:RevokeGrant` on the key.
pub async fn revoke_grant(ctx: &Ctx<'_>) -> Result<Done> {
    let key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let grant_id = grant_id_member(ctx)?.ok_or_else(|| {
        KmsError::Validation("1 validation error detected: Value null at 'grantId' failed to satisfy constraint: Member must not be null".into())
    })?;
    let actx = Kms::context(ctx.req, "kms:RevokeGrant", Some(&key.value));
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    let grant = find_grant(ctx.kms.grants_of(&key.value).await?, &key.value, &grant_id)?;
    ctx.dry_run()?;
    ctx.kms.commit(&[delete_op(&grant)]).await?;
    Ok(Done {
        body: json!({}),
        audit: json!({ "grantId": grant.grant_id }),
    })
}
