//! Work that falls due without a request: automatic rotations, deletions at the end of
//! the waiting period, and expiry of imported material. [`run_due`] does one pass at a
//! given time; [`spawn`] runs it on an interval. Every change is one conditional batch
//! per key, so a pass racing a request (or another server) changes nothing twice: the
//! loser of the race retries on the next pass.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use portcullis_common::clock::Clock;
use portcullis_store::{Precondition, StoreError, WriteOp};
use time::{Duration, OffsetDateTime};
use tokio::task::JoinHandle;

use crate::error::{KmsError, Result};
use crate::model::{Alias, Key, KeyState, alias_key, collections as c, grant_key, scope_prefix};
use crate::ops::import::drop_material;
use crate::ops::rotation::append_version;
use crate::state::{Kms, Versioned};

/// How often [`spawn`] runs a pass unless told otherwise.
pub const DEFAULT_INTERVAL: StdDuration = StdDuration::from_secs(60);

/// Every key in every account and Region, with its version.
async fn all_keys(kms: &Kms) -> Result<Vec<Versioned<Key>>> {
    let mut out = Vec::new();
    for item in portcullis_store::list_all(kms.store.as_ref(), c::KEYS, "").await? {
        match serde_json::from_value::<Key>(item.value) {
            Ok(value) => out.push(Versioned {
                value,
                version: item.version,
            }),
            Err(e) => {
                tracing::error!(key = %item.key, error = %e, "stored KMS key does not decode; skipped")
            }
        }
    }
    Ok(out)
}

/// The batch that deletes a key with its aliases and grants.
async fn deletion(kms: &Kms, key: &Versioned<Key>) -> Result<Vec<WriteOp>> {
    let k = &key.value;
    let mut ops = vec![WriteOp::Delete {
        collection: c::KEYS.to_owned(),
        key: crate::model::key_key(&k.account, &k.region, &k.key_id),
        cond: Precondition::Version(key.version),
    }];
    // Every alias aimed at the key, not only those the key lists.
    let aliases: Vec<Alias> = kms
        .list(c::ALIASES, &scope_prefix(&k.account, &k.region))
        .await?;
    for a in aliases.iter().filter(|a| a.target_key_id == k.key_id) {
        ops.push(WriteOp::Delete {
            collection: c::ALIASES.to_owned(),
            key: alias_key(&a.account, &a.region, &a.alias_name),
            cond: Precondition::None,
        });
    }
    for g in kms.grants_of(k).await? {
        ops.push(WriteOp::Delete {
            collection: c::GRANTS.to_owned(),
            key: grant_key(&g.account, &g.region, &g.key_id, &g.grant_id),
            cond: Precondition::None,
        });
    }
    Ok(ops)
}

/// The next automatic rotation after one due at `due`: whole periods on, past `now`.
fn next_after(due: OffsetDateTime, period_days: u32, now: OffsetDateTime) -> OffsetDateTime {
    let period = Duration::days(i64::from(period_days.max(1)));
    let mut next = due + period;
    while next <= now {
        next += period;
    }
    next
}

/// What a pass does to one key.
enum Due {
    Nothing,
    Delete,
    Rotate,
    Expire,
}

fn what_is_due(k: &Key, now: OffsetDateTime) -> Due {
    if k.state == KeyState::PendingDeletion {
        return if k.deletion_date.is_some_and(|d| d <= now) {
            Due::Delete
        } else {
            Due::Nothing
        };
    }
    if k.origin == "EXTERNAL"
        && k.current()
            .and_then(|v| v.valid_to)
            .is_some_and(|t| t <= now)
    {
        return Due::Expire;
    }
    // Disabled keys are not rotated; once enabled again an overdue rotation happens.
    if k.state == KeyState::Enabled
        && k.rotation.enabled
        && k.origin == "AWS_KMS"
        && k.key_spec == "SYMMETRIC_DEFAULT"
        && k.rotation.next.is_some_and(|n| n <= now)
    {
        return Due::Rotate;
    }
    Due::Nothing
}

/// One pass at `now`: returns how many keys were rotated and how many deleted.
/// A key that changed meanwhile is left for the next pass; other per-key failures are
/// logged and the pass goes on.
pub async fn run_due(kms: &Kms, now: OffsetDateTime) -> Result<(usize, usize)> {
    let (mut rotated, mut deleted) = (0, 0);
    for mut key in all_keys(kms).await? {
        let due = what_is_due(&key.value, now);
        let result = match due {
            Due::Nothing => continue,
            Due::Delete => match deletion(kms, &key).await {
                Ok(ops) => kms.commit(&ops).await,
                Err(e) => Err(e),
            },
            Due::Expire => {
                drop_material(&mut key.value);
                kms.commit(&[Kms::key_op(&key)?]).await
            }
            Due::Rotate => {
                let k = &mut key.value;
                let due_at = k.rotation.next.unwrap_or(now);
                match append_version(kms, k, "AUTOMATIC", now) {
                    Ok(()) => {
                        k.rotation.next = Some(next_after(due_at, k.rotation.period_days, now));
                        kms.commit(&[Kms::key_op(&key)?]).await
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let arn = key.value.arn();
        match (result, due) {
            (Ok(()), Due::Delete) => {
                deleted += 1;
                tracing::info!(key = %arn, "KMS key deleted at the end of its waiting period");
            }
            (Ok(()), Due::Rotate) => {
                rotated += 1;
                tracing::info!(key = %arn, "KMS key rotated automatically");
            }
            (Ok(()), _) => tracing::info!(key = %arn, "imported key material expired"),
            (Err(KmsError::Store(StoreError::ConditionFailed { .. })), _) => {
                tracing::debug!(key = %arn, "KMS key changed during the pass; retried next pass");
            }
            (Err(e), _) => tracing::error!(key = %arn, error = %e, "scheduled KMS work failed"),
        }
    }
    Ok((rotated, deleted))
}

/// Runs [`run_due`] every `interval` (e.g. [`DEFAULT_INTERVAL`]) until the task is aborted.
pub fn spawn(kms: Kms, clock: Arc<dyn Clock>, interval: StdDuration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_due(&kms, clock.now()).await {
                Ok((0, 0)) => {}
                Ok((rotated, deleted)) => tracing::info!(rotated, deleted, "KMS scheduled pass"),
                Err(e) => tracing::error!(error = %e, "KMS scheduled pass failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use portcullis_iam_api::Authorizer;
    use portcullis_iam_api::repo::Repo;
    use portcullis_keyring::FileRootKey;
    use portcullis_kms_core::{KeyMaterial, KeySpec, new_material_id};

    use super::*;
    use crate::model::{Grant, GrantConstraints, KeyVersion, Rotation, key_key};

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";

    async fn kms(dir: &tempfile::TempDir) -> Kms {
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let (root, _) = FileRootKey::generate().unwrap();
        Kms::new(
            store.clone(),
            Authorizer::new(Repo::new(store)),
            Arc::new(root),
        )
    }

    async fn put_key(kms: &Kms, id: &str, created: OffsetDateTime, f: impl FnOnce(&mut Key)) {
        let material = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        let material_id = new_material_id();
        let sealed = kms.seal_material(id, &material_id, &material).unwrap();
        let mut key = Key {
            account: ACCOUNT.into(),
            region: REGION.into(),
            key_id: id.into(),
            created,
            description: String::new(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: BTreeMap::new(),
            rotation: Rotation {
                period_days: 365,
                ..Rotation::default()
            },
            versions: vec![KeyVersion {
                material_id,
                sealed,
                created,
                rotation_type: None,
                valid_to: None,
            }],
            expiration_model: None,
            pending_import: None,
            last_usage: None,
            aliases: Vec::new(),
            import_identity: None,
        };
        f(&mut key);
        let op = Kms::put_op(
            c::KEYS,
            key_key(ACCOUNT, REGION, id),
            &key,
            Precondition::Absent,
        )
        .unwrap();
        kms.commit(&[op]).await.unwrap();
    }

    async fn key(kms: &Kms, id: &str) -> Option<Key> {
        kms.key_by_id(ACCOUNT, REGION, id)
            .await
            .unwrap()
            .map(|k| k.value)
    }

    #[tokio::test]
    async fn due_rotations_and_deletions_happen_once() {
        let dir = tempfile::tempdir().unwrap();
        let kms = kms(&dir).await;
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let now = t0 + Duration::days(400);
        put_key(&kms, "due", t0, |k| {
            k.rotation = Rotation {
                enabled: true,
                period_days: 365,
                next: Some(t0 + Duration::days(365)),
                ..Rotation::default()
            };
        })
        .await;
        put_key(&kms, "not-yet", t0, |k| {
            k.rotation = Rotation {
                enabled: true,
                period_days: 365,
                next: Some(now + Duration::days(1)),
                ..Rotation::default()
            };
        })
        .await;
        put_key(&kms, "disabled", t0, |k| {
            k.state = KeyState::Disabled;
            k.rotation = Rotation {
                enabled: true,
                period_days: 365,
                next: Some(t0),
                ..Rotation::default()
            };
        })
        .await;
        put_key(&kms, "doomed", t0, |k| {
            k.state = KeyState::PendingDeletion;
            k.deletion_date = Some(now - Duration::hours(1));
            k.aliases = vec!["alias/doomed".into()];
        })
        .await;
        put_key(&kms, "waiting", t0, |k| {
            k.state = KeyState::PendingDeletion;
            k.deletion_date = Some(now + Duration::days(3));
        })
        .await;
        let alias = Alias {
            account: ACCOUNT.into(),
            region: REGION.into(),
            alias_name: "alias/doomed".into(),
            target_key_id: "doomed".into(),
            created: t0,
            updated: t0,
        };
        let grant = Grant {
            account: ACCOUNT.into(),
            region: REGION.into(),
            key_id: "doomed".into(),
            grant_id: crate::grants::new_grant_id(),
            name: None,
            grantee_principal: "arn:aws:iam::111122223333:role/app".into(),
            retiring_principal: None,
            issuing_account: ACCOUNT.into(),
            operations: vec!["Decrypt".into()],
            constraints: GrantConstraints::default(),
            created: t0,
        };
        kms.commit(&[
            Kms::put_op(
                c::ALIASES,
                alias_key(ACCOUNT, REGION, "alias/doomed"),
                &alias,
                Precondition::Absent,
            )
            .unwrap(),
            Kms::put_op(
                c::GRANTS,
                grant_key(ACCOUNT, REGION, "doomed", &grant.grant_id),
                &grant,
                Precondition::Absent,
            )
            .unwrap(),
        ])
        .await
        .unwrap();

        assert_eq!(run_due(&kms, now).await.unwrap(), (1, 1));

        let rotated = key(&kms, "due").await.unwrap();
        assert_eq!(rotated.versions.len(), 2);
        let newest = rotated.current().unwrap();
        assert_eq!(newest.rotation_type.as_deref(), Some("AUTOMATIC"));
        assert_eq!(rotated.rotation.next, Some(t0 + Duration::days(730)));
        // Both versions still open, so old ciphertext still decrypts.
        for v in &rotated.versions {
            kms.material(&rotated, v).unwrap();
        }
        assert_eq!(key(&kms, "not-yet").await.unwrap().versions.len(), 1);
        assert_eq!(key(&kms, "disabled").await.unwrap().versions.len(), 1);
        assert!(key(&kms, "doomed").await.is_none());
        assert!(
            kms.alias(ACCOUNT, REGION, "alias/doomed")
                .await
                .unwrap()
                .is_none()
        );
        assert!(kms.list::<Grant>(c::GRANTS, "").await.unwrap().is_empty());
        assert!(key(&kms, "waiting").await.is_some());

        // Nothing is due twice.
        assert_eq!(run_due(&kms, now).await.unwrap(), (0, 0));
    }

    #[tokio::test]
    async fn expired_imported_material_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let kms = kms(&dir).await;
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        put_key(&kms, "byok", t0, |k| {
            k.origin = "EXTERNAL".into();
            k.expiration_model = Some("KEY_MATERIAL_EXPIRES".into());
            if let Some(v) = k.versions.last_mut() {
                v.valid_to = Some(t0 + Duration::days(10));
            }
        })
        .await;
        assert_eq!(run_due(&kms, t0 + Duration::days(9)).await.unwrap(), (0, 0));
        assert_eq!(key(&kms, "byok").await.unwrap().state, KeyState::Enabled);
        run_due(&kms, t0 + Duration::days(11)).await.unwrap();
        let k = key(&kms, "byok").await.unwrap();
        assert_eq!(k.state, KeyState::PendingImport);
        assert!(k.versions.is_empty());
    }
}
