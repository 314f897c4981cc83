//! Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand, ListKeyRotations. Every version of the material is kept, so
//! ciphertext made before a rotation still decrypts; new encryptions use the newest.
//! Automatic rotations are made by [`crate::scheduler`].

use portcullis_iam::policy::ContextValue;
use portcullis_kms_core::{KeyMaterial, KeySpec, new_material_id};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::keys::load_authorized;
use super::render::set;
use super::{Ctx, Done, page};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::input::epoch;
use crate::model::{Key, KeyVersion};
use crate::state::{Kms, Naming};

/// On-demand rotations per key at most (the AWS quota, not adjustable).
pub const MAX_ON_DEMAND_ROTATIONS: u32 = 25;
/// Default days between automatic rotations.
pub const DEFAULT_PERIOD_DAYS: u32 = 365;
/// An on-demand rotation is refused this close to a due automatic one.
const AUTOMATIC_GUARD: Duration = Duration::minutes(20);

/// Refuses keys that cannot rotate: only symmetric encryption keys whose material KMS
/// made (`UnsupportedOperationException`).
pub fn require_rotatable(key: &Key) -> Result<()> {
    if key.key_spec != KeySpec::SymmetricDefault.as_str() {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} has key spec {}; only symmetric encryption keys can rotate.",
            key.arn(),
            key.key_spec
        )));
    }
    if key.origin != "AWS_KMS" {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} has origin {}; keys with imported material cannot rotate on this server.",
            key.arn(),
            key.origin
        )));
    }
    Ok(())
}

/// Appends a fresh version of the material (`AUTOMATIC` or `ON_DEMAND`), sealed under
/// the root key.
pub fn append_version(
    kms: &Kms,
    key: &mut Key,
    rotation_type: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let spec: KeySpec = key
        .key_spec
        .parse()
        .map_err(|_| KmsError::Internal(format!("bad stored spec {}", key.key_spec)))?;
    let material = KeyMaterial::generate(spec)?;
    let material_id = new_material_id();
    let sealed = kms.seal_material(&key.key_id, &material_id, &material)?;
    key.versions.push(KeyVersion {
        material_id,
        sealed,
        created: now,
        rotation_type: Some(rotation_type.to_owned()),
        valid_to: None,
    });
    Ok(())
}

/// Whether an on-demand rotation may happen now: under the quota, and not within
/// twenty minutes of a due automatic rotation.
pub fn check_on_demand(key: &Key, now: OffsetDateTime) -> Result<()> {
    if key.rotation.on_demand_count >= MAX_ON_DEMAND_ROTATIONS {
        return Err(KmsError::LimitExceeded(format!(
            "{} has had {MAX_ON_DEMAND_ROTATIONS} on-demand rotations, the most a key may have.",
            key.arn()
        )));
    }
    if key.rotation.enabled
        && let Some(next) = key.rotation.next
        && next <= now + AUTOMATIC_GUARD
    {
        return Err(KmsError::Conflict(format!(
            "An automatic rotation of {} is due; try again later.",
            key.arn()
        )));
    }
    Ok(())
}

/// The next automatic rotation after changing the period: the schedule keeps its anchor
/// (the last rotation, or when rotation was enabled) and takes the new period, but is
/// never in the past.
pub fn rescheduled(
    next: Option<OffsetDateTime>,
    old_days: u32,
    new_days: u32,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let fresh = now + Duration::days(i64::from(new_days));
    match next {
        Some(n) => {
            (n - Duration::days(i64::from(old_days)) + Duration::days(i64::from(new_days))).max(now)
        }
        None => fresh,
    }
}

/// EnableKeyRotation: `RotationPeriodInDays` 90..=2560, default 365.
pub async fn enable_key_rotation(ctx: &Ctx<'_>) -> Result<Done> {
    let days = ctx
        .input
        .int_opt("RotationPeriodInDays", 90..=2560)?
        .and_then(|d| u32::try_from(d).ok());
    let days = days.unwrap_or(DEFAULT_PERIOD_DAYS);
    let mut key = ctx
        .kms
        .resolve(ctx.req, ctx.input.key_id("KeyId")?, Naming::KeyOnly)
        .await?;
    let actx = Kms::context(ctx.req, "kms:EnableKeyRotation", Some(&key.value)).with(
        "kms:RotationPeriodInDays",
        ContextValue::Single(days.to_string()),
    );
    ctx.kms
        .authorize(ctx.req, &actx, Some(&key.value), None, None)
        .await?;
    checks::require_enabled(&key.value)?;
    require_rotatable(&key.value)?;
    let r = &mut key.value.rotation;
    let next = if r.enabled {
        rescheduled(r.next, r.period_days, days, ctx.now())
    } else {
        ctx.now() + Duration::days(i64::from(days))
    };
    r.enabled = true;
    r.period_days = days;
    r.next = Some(next);
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// DisableKeyRotation.
pub async fn disable_key_rotation(ctx: &Ctx<'_>) -> Result<Done> {
    let mut key = load_authorized(ctx, Naming::KeyOnly, "kms:DisableKeyRotation", None).await?;
    checks::require_enabled(&key.value)?;
    require_rotatable(&key.value)?;
    if key.value.rotation.enabled {
        key.value.rotation.enabled = false;
        key.value.rotation.next = None;
        ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    }
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// GetKeyRotationStatus: in every state but PendingDeletion. Imported symmetric keys
/// answer "not enabled"; other specs cannot rotate at all.
pub async fn get_key_rotation_status(ctx: &Ctx<'_>) -> Result<Done> {
    let key = load_authorized(ctx, Naming::KeyOnly, "kms:GetKeyRotationStatus", None).await?;
    checks::require_not_pending_deletion(&key.value)?;
    let k = &key.value;
    if k.key_spec != KeySpec::SymmetricDefault.as_str() {
        require_rotatable(k)?;
    }
    let mut body = json!({ "KeyId": k.arn(), "KeyRotationEnabled": k.rotation.enabled });
    if k.rotation.enabled {
        set(
            &mut body,
            "RotationPeriodInDays",
            json!(k.rotation.period_days),
        );
        if let Some(n) = k.rotation.next {
            set(&mut body, "NextRotationDate", json!(epoch(n)));
        }
    }
    // On-demand rotations complete within the request, so none is ever in progress and
    // `OnDemandRotationStartDate` is never reported.
    Ok(Done::with_key(body))
}

/// RotateKeyOnDemand: a new current version now; the automatic schedule does not move.
pub async fn rotate_key_on_demand(ctx: &Ctx<'_>) -> Result<Done> {
    let mut key = load_authorized(ctx, Naming::KeyOnly, "kms:RotateKeyOnDemand", None).await?;
    checks::require_enabled(&key.value)?;
    require_rotatable(&key.value)?;
    check_on_demand(&key.value, ctx.now())?;
    append_version(ctx.kms, &mut key.value, "ON_DEMAND", ctx.now())?;
    key.value.rotation.on_demand_count += 1;
    key.value.rotation.on_demand_started = Some(ctx.now());
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done::with_key(json!({ "KeyId": key.value.key_id })))
}

/// `RotationsListEntry` of one version.
fn rotation_entry(key: &Key, v: &KeyVersion) -> Value {
    let current = key
        .current()
        .is_some_and(|c| c.material_id == v.material_id);
    let mut e = json!({
        "KeyId": key.key_id,
        "KeyMaterialId": v.material_id,
        "KeyMaterialState": if current { "CURRENT" } else { "NON_CURRENT" },
    });
    if let Some(t) = &v.rotation_type {
        set(&mut e, "RotationType", json!(t));
        set(&mut e, "RotationDate", json!(epoch(v.created)));
    }
    if key.origin == "EXTERNAL" {
        set(&mut e, "ImportState", json!("IMPORTED"));
        if let Some(m) = &key.expiration_model {
            set(&mut e, "ExpirationModel", json!(m));
        }
        if let Some(t) = v.valid_to {
            set(&mut e, "ValidTo", json!(epoch(t)));
        }
    }
    e
}

/// ListKeyRotations: the material history, oldest first; `ROTATIONS_ONLY` (the default)
/// leaves out the initial material.
pub async fn list_key_rotations(ctx: &Ctx<'_>) -> Result<Done> {
    let (limit, marker) = page::params(&ctx.input, 100)?;
    let all = match ctx.input.str_opt("IncludeKeyMaterial", 0..=usize::MAX)? {
        None | Some("ROTATIONS_ONLY") => false,
        Some("ALL_KEY_MATERIAL") => true,
        Some(other) => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
            )));
        }
    };
    let key = load_authorized(ctx, Naming::KeyOnly, "kms:ListKeyRotations", None).await?;
    if key.value.key_spec != KeySpec::SymmetricDefault.as_str() {
        require_rotatable(&key.value)?;
    }
    let versions: Vec<&KeyVersion> = key
        .value
        .versions
        .iter()
        .filter(|v| all || v.rotation_type.is_some())
        .collect();
    let page = page::paginate(
        versions,
        |v| v.material_id.clone(),
        limit,
        marker.as_deref(),
    );
    Ok(Done {
        body: page.render("Rotations", |v| rotation_entry(&key.value, v)),
        audit: Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyState, Rotation};

    fn key(spec: &str, origin: &str) -> Key {
        Key {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: "k".into(),
            created: OffsetDateTime::UNIX_EPOCH,
            description: String::new(),
            key_spec: spec.into(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            origin: origin.into(),
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: Default::default(),
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
        }
    }

    #[test]
    fn only_symmetric_kms_keys_rotate() {
        assert!(require_rotatable(&key("SYMMETRIC_DEFAULT", "AWS_KMS")).is_ok());
        assert!(matches!(
            require_rotatable(&key("RSA_2048", "AWS_KMS")),
            Err(KmsError::UnsupportedOperation(_))
        ));
        assert!(matches!(
            require_rotatable(&key("HMAC_256", "AWS_KMS")),
            Err(KmsError::UnsupportedOperation(_))
        ));
        assert!(matches!(
            require_rotatable(&key("SYMMETRIC_DEFAULT", "EXTERNAL")),
            Err(KmsError::UnsupportedOperation(_))
        ));
    }

    #[test]
    fn on_demand_quota_is_25() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let mut k = key("SYMMETRIC_DEFAULT", "AWS_KMS");
        k.rotation.on_demand_count = 24;
        assert!(check_on_demand(&k, now).is_ok());
        k.rotation.on_demand_count = 25;
        assert!(matches!(
            check_on_demand(&k, now),
            Err(KmsError::LimitExceeded(_))
        ));
    }

    #[test]
    fn on_demand_waits_for_a_due_automatic_rotation() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let mut k = key("SYMMETRIC_DEFAULT", "AWS_KMS");
        k.rotation.enabled = true;
        k.rotation.next = Some(now + Duration::minutes(10));
        assert!(matches!(
            check_on_demand(&k, now),
            Err(KmsError::Conflict(_))
        ));
        k.rotation.next = Some(now + Duration::days(1));
        assert!(check_on_demand(&k, now).is_ok());
    }

    #[test]
    fn changing_the_period_keeps_the_anchor() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let next = now + Duration::days(300);
        assert_eq!(
            rescheduled(Some(next), 365, 730, now),
            next + Duration::days(365)
        );
        assert_eq!(
            rescheduled(Some(next), 365, 90, now),
            now + Duration::days(25)
        );
        let soon = now + Duration::days(10);
        assert_eq!(
            rescheduled(Some(soon), 365, 90, now),
            now,
            "never in the past"
        );
        assert_eq!(rescheduled(None, 365, 90, now), now + Duration::days(90));
    }
}
