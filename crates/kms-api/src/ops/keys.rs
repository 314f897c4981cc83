//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription.

use std::collections::BTreeMap;

use portcullis_iam::policy::ContextValue;
use portcullis_kms_core::{KeyMaterial, KeySpec, KeyUsage, new_material_id};
use portcullis_store::Precondition;
use serde_json::{Value, json};

use super::policy::{check_lockout, default_policy, parse_key_policy};
use super::{Ctx, Done};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::input::epoch;
use crate::model::{Key, KeyState, KeyVersion, Rotation, collections as c, key_key, scope_prefix};
use crate::state::{Kms, Naming, Versioned};

const KEY_SPECS: &str = "SYMMETRIC_DEFAULT, RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519, HMAC_224, HMAC_256, HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, ML_KEM_512, ML_KEM_768, ML_KEM_1024";
const KEY_USAGES: &str =
    "SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT, ENCAPSULATE_DECAPSULATE";

/// `KeyMetadata` as DescribeKey, CreateKey and friends return it.
pub fn key_metadata(key: &Key) -> Value {
    let spec: Option<KeySpec> = key.key_spec.parse().ok();
    let usage: Option<KeyUsage> = key.key_usage.parse().ok();
    let mut m = json!({
        "AWSAccountId": key.account,
        "KeyId": key.key_id,
        "Arn": key.arn(),
        "CreationDate": epoch(key.created),
        "Enabled": key.state == KeyState::Enabled,
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": key.state.as_str(),
        "Origin": key.origin,
        "KeyManager": "CUSTOMER",
        "KeySpec": key.key_spec,
        "MultiRegion": false,
    });
    if let Some(spec) = spec {
        if let Some(usage) = usage {
            super::render::set_algorithms(&mut m, spec, usage);
        }
        let mac: Vec<&str> = spec.mac_algorithms().iter().map(|a| a.as_str()).collect();
        if !mac.is_empty() {
            super::render::set(&mut m, "MacAlgorithms", json!(mac));
        }
    }
    if let Some(d) = key.deletion_date {
        super::render::set(&mut m, "DeletionDate", json!(epoch(d)));
    }
    if let Some(w) = key
        .pending_window_days
        .filter(|_| key.state == KeyState::PendingDeletion)
    {
        super::render::set(&mut m, "PendingDeletionWindowInDays", json!(w));
    }
    if let Some(model) = &key.expiration_model {
        super::render::set(&mut m, "ExpirationModel", json!(model));
        if let Some(t) = key.current().and_then(|v| v.valid_to) {
            super::render::set(&mut m, "ValidTo", json!(epoch(t)));
        }
    }
    if let Some(v) = key.current() {
        super::render::set(&mut m, "CurrentKeyMaterialId", json!(v.material_id));
    }
    m
}

/// Parses `Tags: [{TagKey, TagValue}]`.
pub fn parse_tags(ctx: &Ctx<'_>) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(v) = ctx.input.value("Tags") else {
        return Ok(out);
    };
    let items = v
        .as_array()
        .ok_or_else(|| KmsError::Serialization("Tags must be a list".into()))?;
    for t in items {
        let key = t.get("TagKey").and_then(Value::as_str).unwrap_or_default();
        let value = t.get("TagValue").and_then(Value::as_str);
        let Some(value) = value else {
            return Err(KmsError::Tag(
                "Tags must have a TagKey and a TagValue".into(),
            ));
        };
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(KmsError::Tag(format!(
                "Invalid tag: TagKey {key:?} must be 1-128 characters and TagValue 0-256"
            )));
        }
        if key.starts_with("aws:") {
            return Err(KmsError::Tag(
                "Tag keys starting with aws: are reserved".into(),
            ));
        }
        out.insert(key.to_owned(), value.to_owned());
    }
    if out.len() > 50 {
        return Err(KmsError::Tag("A key can have at most 50 tags".into()));
    }
    Ok(out)
}

/// CreateKey.
pub async fn create_key(ctx: &Ctx<'_>) -> Result<Done> {
    let i = &ctx.input;
    let spec_name = match i.str_opt("KeySpec", 1..=64)? {
        Some(s) => s.to_owned(),
        None => i
            .str_opt("CustomerMasterKeySpec", 1..=64)?
            .unwrap_or("SYMMETRIC_DEFAULT")
            .to_owned(),
    };
    let spec: KeySpec = match spec_name.parse::<KeySpec>() {
        Ok(s) => s,
        Err(portcullis_kms_core::KmsCryptoError::UnsupportedSpec(_)) => {
            return Err(KmsError::UnsupportedOperation(format!(
                "KeySpec {spec_name} is not supported by this server."
            )));
        }
        Err(_) => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{spec_name}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [{KEY_SPECS}]"
            )));
        }
    };
    let usage: KeyUsage = i
        .parse_opt("KeyUsage", KEY_USAGES)?
        .unwrap_or(KeyUsage::EncryptDecrypt);
    if !spec.allowed_usages().contains(&usage) {
        return Err(KmsError::Validation(format!(
            "KeyUsage {} is not compatible with KeySpec {}",
            usage.as_str(),
            spec.as_str()
        )));
    }
    let origin = i.str_opt("Origin", 1..=64)?.unwrap_or("AWS_KMS");
    match origin {
        "AWS_KMS" | "EXTERNAL" => {}
        "AWS_CLOUDHSM" | "EXTERNAL_KEY_STORE" => {
            return Err(KmsError::UnsupportedOperation(format!(
                "Origin {origin} needs a custom key store, which this server does not offer."
            )));
        }
        other => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'origin' failed to satisfy constraint: Member must satisfy enum value set: [EXTERNAL_KEY_STORE, AWS_CLOUDHSM, AWS_KMS, EXTERNAL]"
            )));
        }
    }
    if i.bool_opt("MultiRegion")? == Some(true) {
        return Err(KmsError::UnsupportedOperation(
            "Multi-Region keys are not supported by this server.".into(),
        ));
    }
    if i.str_opt("CustomKeyStoreId", 1..=64)?.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Custom key stores are not supported by this server.".into(),
        ));
    }
    let description = i.str_opt("Description", 0..=8192)?.unwrap_or("").to_owned();
    let tags = parse_tags(ctx)?;
    let bypass = i
        .bool_opt("BypassPolicyLockoutSafetyCheck")?
        .unwrap_or(false);

    let mut actx = Kms::context(ctx.req, "kms:CreateKey", None)
        .with("kms:KeySpec", ContextValue::Single(spec.as_str().into()))
        .with("kms:KeyUsage", ContextValue::Single(usage.as_str().into()))
        .with("kms:KeyOrigin", ContextValue::Single(origin.into()))
        .with("kms:MultiRegion", ContextValue::Single("false".into()))
        .with(
            "kms:BypassPolicyLockoutSafetyCheck",
            ContextValue::Single(bypass.to_string()),
        )
        .with(
            "aws:TagKeys",
            ContextValue::Multi(tags.keys().cloned().collect()),
        );
    for (k, v) in &tags {
        actx = actx.with(
            format!("aws:RequestTag/{k}"),
            ContextValue::Single(v.clone()),
        );
    }
    ctx.kms.authorize(ctx.req, &actx, None, None, None).await?;

    let key_id = uuid::Uuid::new_v4().to_string();
    let mut key = Key {
        account: ctx.account().to_owned(),
        region: ctx.region().to_owned(),
        key_id: key_id.clone(),
        created: ctx.now(),
        description,
        key_spec: spec.as_str().to_owned(),
        key_usage: usage.as_str().to_owned(),
        origin: origin.to_owned(),
        state: if origin == "EXTERNAL" {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        },
        deletion_date: None,
        pending_window_days: None,
        policy: String::new(),
        tags,
        rotation: Rotation {
            period_days: 365,
            ..Rotation::default()
        },
        versions: Vec::new(),
        expiration_model: None,
        pending_import: None,
        last_usage: None,
        aliases: Vec::new(),
        import_identity: None,
    };
    key.policy = match i.str_opt("Policy", 1..=131_072)? {
        Some(p) => {
            let parsed = parse_key_policy(p)?;
            if !bypass {
                check_lockout(ctx, &key, &parsed).await?;
            }
            p.to_owned()
        }
        None => default_policy(ctx.account()),
    };
    if origin == "AWS_KMS" {
        let material = KeyMaterial::generate(spec)?;
        let material_id = new_material_id();
        let sealed = ctx.kms.seal_material(&key_id, &material_id, &material)?;
        key.versions.push(KeyVersion {
            material_id,
            sealed,
            created: ctx.now(),
            rotation_type: None,
            valid_to: None,
        });
    }
    let op = Kms::put_op(
        c::KEYS,
        key_key(&key.account, &key.region, &key_id),
        &key,
        Precondition::Absent,
    )?;
    ctx.kms.commit(&[op]).await?;
    let meta = key_metadata(&key);
    Ok(Done {
        audit: json!({"keyMetadata": {"keyId": key.key_id, "arn": key.arn(), "keySpec": key.key_spec}}),
        body: json!({ "KeyMetadata": meta }),
    })
}

/// Loads a key and authorizes `action` on it (no state check).
pub async fn load_authorized(
    ctx: &Ctx<'_>,
    naming: Naming,
    action: &str,
    grant_op: Option<&str>,
) -> Result<Versioned<Key>> {
    let key_id = ctx.input.key_id("KeyId")?;
    let key = ctx.kms.resolve(ctx.req, key_id, naming).await?;
    let actx = Kms::context(ctx.req, action, Some(&key.value));
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), grant_op, None)
        .await?;
    Ok(key)
}

/// DescribeKey: works in every key state.
pub async fn describe_key(ctx: &Ctx<'_>) -> Result<Done> {
    let key = load_authorized(
        ctx,
        Naming::AliasToo,
        "kms:DescribeKey",
        Some("DescribeKey"),
    )
    .await?;
    Ok(Done::with_key(
        json!({ "KeyMetadata": key_metadata(&key.value) }),
    ))
}

/// ListKeys: every key of the account and region, paginated by `Limit`/`Marker`.
pub async fn list_keys(ctx: &Ctx<'_>) -> Result<Done> {
    let limit =
        usize::try_from(ctx.input.int_opt("Limit", 1..=1000)?.unwrap_or(100)).unwrap_or(100);
    let marker = ctx.input.str_opt("Marker", 1..=1024)?;
    let actx = Kms::context(ctx.req, "kms:ListKeys", None);
    ctx.kms.authorize(ctx.req, &actx, None, None, None).await?;
    let prefix = scope_prefix(ctx.account(), ctx.region());
    let after = match marker {
        Some(m) => {
            // Markers are key ids this listing returned; anything else was never issued.
            let known = m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && ctx
                    .kms
                    .key_by_id(ctx.account(), ctx.region(), m)
                    .await?
                    .is_some();
            if !known {
                return Err(KmsError::InvalidMarker("Invalid marker".into()));
            }
            Some(format!("{prefix}{m}"))
        }
        None => None,
    };
    let items = ctx
        .kms
        .store
        .list(c::KEYS, &prefix, after.as_deref(), limit + 1)
        .await?;
    let truncated = items.len() > limit;
    let page: Vec<Value> = items
        .iter()
        .take(limit)
        .filter_map(|item| {
            let id = item.key.strip_prefix(&prefix)?;
            Some(json!({"KeyId": id, "KeyArn": format!("arn:aws:kms:{}:{}:key/{id}", ctx.region(), ctx.account())}))
        })
        .collect();
    let mut body = json!({ "Keys": page, "Truncated": truncated });
    if truncated && let Some(last) = page.last() {
        super::render::set(
            &mut body,
            "NextMarker",
            last.get("KeyId").cloned().unwrap_or_default(),
        );
    }
    Ok(Done {
        body,
        audit: Value::Null,
    })
}

/// EnableKey / DisableKey.
pub async fn set_enabled(ctx: &Ctx<'_>, enable: bool) -> Result<Done> {
    let action = if enable {
        "kms:EnableKey"
    } else {
        "kms:DisableKey"
    };
    let mut key = load_authorized(ctx, Naming::KeyOnly, action, None).await?;
    match key.value.state {
        KeyState::Enabled | KeyState::Disabled => {
            key.value.state = if enable {
                KeyState::Enabled
            } else {
                KeyState::Disabled
            };
        }
        KeyState::PendingDeletion | KeyState::PendingImport => {
            return Err(KmsError::InvalidState(format!(
                "{} is {}.",
                key.value.arn(),
                match key.value.state {
                    KeyState::PendingDeletion => "pending deletion",
                    _ => "pending import",
                }
            )));
        }
    }
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// ScheduleKeyDeletion: 7..=30 days, default 30.
pub async fn schedule_key_deletion(ctx: &Ctx<'_>) -> Result<Done> {
    let days = ctx
        .input
        .int_opt("PendingWindowInDays", 7..=30)?
        .unwrap_or(30);
    let key_id = ctx.input.key_id("KeyId")?;
    let mut key = ctx.kms.resolve(ctx.req, key_id, Naming::KeyOnly).await?;
    let actx = Kms::context(ctx.req, "kms:ScheduleKeyDeletion", Some(&key.value)).with(
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        ContextValue::Single(days.to_string()),
    );
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    checks::require_not_pending_deletion(&key.value)?;
    let when = ctx.now() + time::Duration::days(days);
    key.value.state = KeyState::PendingDeletion;
    key.value.deletion_date = Some(when);
    key.value.pending_window_days = u32::try_from(days).ok();
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done::with_key(json!({
        "KeyId": key.value.arn(),
        "DeletionDate": epoch(when),
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    })))
}

/// CancelKeyDeletion: back to Disabled (or PendingImport for a key without material).
pub async fn cancel_key_deletion(ctx: &Ctx<'_>) -> Result<Done> {
    let mut key = load_authorized(ctx, Naming::KeyOnly, "kms:CancelKeyDeletion", None).await?;
    if key.value.state != KeyState::PendingDeletion {
        return Err(KmsError::InvalidState(format!(
            "{} is not pending deletion.",
            key.value.arn()
        )));
    }
    key.value.state = if key.value.versions.is_empty() {
        KeyState::PendingImport
    } else {
        KeyState::Disabled
    };
    key.value.deletion_date = None;
    key.value.pending_window_days = None;
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done::with_key(json!({ "KeyId": key.value.arn() })))
}

/// UpdateKeyDescription.
pub async fn update_key_description(ctx: &Ctx<'_>) -> Result<Done> {
    let description = ctx.input.str_req("Description", 0..=8192)?.to_owned();
    let mut key = load_authorized(ctx, Naming::KeyOnly, "kms:UpdateKeyDescription", None).await?;
    checks::require_not_pending_deletion(&key.value)?;
    key.value.description = description;
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}
