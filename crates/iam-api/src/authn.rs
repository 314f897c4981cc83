//! The listener's [`Authenticator`]: access keys and STS sessions from the store.
//!
//! What a key id resolves to (the opened secret, the caller) is cached for at most
//! [`CACHE_TTL`](crate::repo::CACHE_TTL) and dropped at once by any write through the
//! [`Repo`] (see [`ReadCache`]), so a deactivated or deleted key is refused on the next
//! request. The cached secrets stay in [`Secret`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use portcullis_common::Secret;
use portcullis_http::{Authenticator, AwsError, Caller, CredentialSource, Credentials};
use portcullis_iam::policy::{Principal, PrincipalKind};
use time::OffsetDateTime;

use crate::error::IamError;
use crate::model::{KeyStatus, LastUsed, Role, SessionSubject, User, collections};
use crate::repo::{ReadCache, Repo};
use crate::sealing::Sealer;

/// How often a key's last-used record is rewritten at most.
const LAST_USED_RESOLUTION: time::Duration = time::Duration::minutes(1);
/// Access keys whose credentials are cached at most (past this, expired entries go first).
const CREDENTIALS_CACHE_MAX: usize = 4096;

/// Authenticates requests against IAM access keys and STS sessions.
#[derive(Debug, Clone)]
pub struct IamAuthenticator {
    repo: Repo,
    root: Arc<dyn Sealer>,
    last_used_written: Arc<Mutex<HashMap<String, OffsetDateTime>>>,
    credentials: Arc<ReadCache<Credentials>>,
}

impl IamAuthenticator {
    /// An authenticator over `repo`, opening secrets with `root`.
    pub fn new(repo: Repo, root: Arc<dyn Sealer>) -> Self {
        Self {
            repo,
            root,
            last_used_written: Arc::default(),
            credentials: Arc::new(ReadCache::new(CREDENTIALS_CACHE_MAX)),
        }
    }

    /// What an access key id stands for, read from the store (no cache).
    async fn load_credentials(&self, access_key_id: &str) -> Result<Option<Credentials>, AwsError> {
        if access_key_id.starts_with("ASIA") {
            let Some(s) = self
                .repo
                .session(access_key_id)
                .await
                .map_err(AwsError::from)?
            else {
                return Ok(None);
            };
            let caller = match &s.subject {
                SessionSubject::Role {
                    role_name,
                    role_id,
                    session_name,
                    ..
                } => {
                    // The role must still exist, and be the same role: deleting a role ends
                    // its sessions, and a new role of the same name does not revive them.
                    let role = self
                        .repo
                        .role(&s.account, role_name)
                        .await
                        .map_err(AwsError::from)?;
                    let Some(role) = role.filter(|r| r.value.role_id == *role_id) else {
                        return Ok(None);
                    };
                    let tags: Vec<(String, String)> = s
                        .tags
                        .iter()
                        .map(|t| (t.key.clone(), t.value.clone()))
                        .collect();
                    Caller {
                        principal: role_session_principal(&role.value, session_name, &tags),
                        access_key_id: Some(access_key_id.to_owned()),
                        source: CredentialSource::SessionToken,
                        session_context: Some(session_context(&role.value, s.issued)),
                    }
                }
                SessionSubject::User { user_name, user_id } => {
                    // Same rule as roles: a re-created user is a different user.
                    let user = self
                        .repo
                        .user(&s.account, user_name)
                        .await
                        .map_err(AwsError::from)?;
                    let Some(u) = user.filter(|u| u.value.user_id == *user_id) else {
                        return Ok(None);
                    };
                    Caller {
                        principal: user_principal(&u.value),
                        access_key_id: Some(access_key_id.to_owned()),
                        source: CredentialSource::SessionToken,
                        session_context: None,
                    }
                }
            };
            return Ok(Some(Credentials {
                secret: self.open(access_key_id, &s.sealed_secret)?,
                session_token: Some(self.open(&format!("{access_key_id}/token"), &s.sealed_token)?),
                expires_at: Some(s.expiration),
                active: true,
                caller,
            }));
        }
        let Some(key) = self
            .repo
            .access_key(access_key_id)
            .await
            .map_err(AwsError::from)?
        else {
            return Ok(None);
        };
        let key = key.value;
        let user = self
            .repo
            .user(&key.account, &key.user_name)
            .await
            .map_err(AwsError::from)?;
        // The key must still belong to that user (a stale key record grants nothing).
        let Some(user) = user.filter(|u| u.value.access_keys.contains(&key.access_key_id)) else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            secret: self.open(access_key_id, &key.sealed_secret)?,
            session_token: None,
            expires_at: None,
            active: key.status == KeyStatus::Active,
            caller: Caller {
                principal: user_principal(&user.value),
                access_key_id: Some(access_key_id.to_owned()),
                source: CredentialSource::AccessKey,
                session_context: None,
            },
        }))
    }

    fn open(&self, context: &str, sealed: &str) -> Result<Secret<String>, AwsError> {
        let bytes = self
            .root
            .open(context, sealed)
            .map_err(|e| AwsError::from(IamError::Internal(e.to_string())))?;
        let s = String::from_utf8(bytes.to_vec()).map_err(|_| AwsError::internal())?;
        Ok(Secret::new(s))
    }
}

/// The principal an IAM user stands for.
pub fn user_principal(u: &User) -> Principal {
    Principal {
        arn: u.arn(),
        account: u.account.clone(),
        kind: PrincipalKind::User,
        role_arn: None,
        user_id: u.user_id.clone(),
        user_name: Some(u.user_name.clone()),
        tags: u
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    }
}

/// The principal of a session of `role` named `session_name`.
pub fn role_session_principal(
    role: &Role,
    session_name: &str,
    session_tags: &[(String, String)],
) -> Principal {
    let mut tags: BTreeMap<String, String> = role
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    tags.extend(session_tags.iter().cloned());
    Principal {
        arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            role.account, role.role_name, session_name
        ),
        account: role.account.clone(),
        kind: PrincipalKind::AssumedRole,
        role_arn: Some(role.arn()),
        user_id: format!("{}:{}", role.role_id, session_name),
        user_name: None,
        tags,
    }
}

fn session_context(role: &Role, issued: OffsetDateTime) -> serde_json::Value {
    serde_json::json!({
        "sessionIssuer": {"type": "Role", "principalId": role.role_id, "arn": role.arn(),
            "accountId": role.account, "userName": role.role_name},
        "attributes": {"creationDate": issued.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "mfaAuthenticated": "false"}
    })
}

#[async_trait::async_trait]
impl Authenticator for IamAuthenticator {
    async fn credentials(&self, access_key_id: &str) -> Result<Option<Credentials>, AwsError> {
        // Read before the store: a write that lands meanwhile makes this entry stale.
        let generation = self.repo.generation();
        if let Some(c) = self.credentials.get(access_key_id, generation) {
            return Ok(Some(c));
        }
        // Unknown ids are not cached: they would let anyone fill the cache.
        let found = self.load_credentials(access_key_id).await?;
        if let Some(c) = &found {
            self.credentials
                .insert(access_key_id.to_owned(), generation, c.clone());
        }
        Ok(found)
    }

    async fn caller_for_principal(&self, arn: &str) -> Result<Option<Caller>, AwsError> {
        let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
            return Ok(None);
        };
        let Some((account, resource)) = rest.split_once(':') else {
            return Ok(None);
        };
        let name = resource.rsplit('/').next().unwrap_or("");
        if resource.starts_with("user/") {
            let Some(u) = self
                .repo
                .user(account, name)
                .await
                .map_err(AwsError::from)?
            else {
                return Ok(None);
            };
            if u.value.arn() != arn {
                return Ok(None);
            }
            return Ok(Some(Caller {
                principal: user_principal(&u.value),
                access_key_id: None,
                source: CredentialSource::ClientCertificate,
                session_context: None,
            }));
        }
        if resource.starts_with("role/") {
            let Some(r) = self
                .repo
                .role(account, name)
                .await
                .map_err(AwsError::from)?
            else {
                return Ok(None);
            };
            if r.value.arn() != arn {
                return Ok(None);
            }
            return Ok(Some(Caller {
                principal: role_session_principal(&r.value, "client-certificate", &[]),
                access_key_id: None,
                source: CredentialSource::ClientCertificate,
                session_context: Some(session_context(&r.value, OffsetDateTime::now_utc())),
            }));
        }
        Ok(None)
    }

    async fn key_used(&self, access_key_id: &str, service: &str, region: &str, at: OffsetDateTime) {
        if !access_key_id.starts_with("AKIA") {
            return;
        }
        {
            let mut written = self
                .last_used_written
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if written
                .get(access_key_id)
                .is_some_and(|t| at - *t < LAST_USED_RESOLUTION)
            {
                return;
            }
            written.insert(access_key_id.to_owned(), at);
        }
        let Ok(Some(mut key)) = self.repo.access_key(access_key_id).await else {
            return;
        };
        key.value.last_used = Some(LastUsed {
            date: at,
            service: service.to_owned(),
            region: region.to_owned(),
        });
        let cond = portcullis_store::Precondition::Version(key.version);
        // Losing this race to a concurrent update only loses a last-used time.
        let _ = self
            .repo
            .put(
                collections::ACCESS_KEYS,
                access_key_id.to_owned(),
                &key.value,
                cond,
            )
            .await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "test set-up")]
mod tests {
    use std::time::Duration;

    use portcullis_common::{AccountId, SystemClock};
    use portcullis_iam::policy::Decision;
    use portcullis_store::Precondition;

    use super::*;
    use crate::authz::{Authorizer, ResourcePolicy};
    use crate::model::{AccessKey, entity_key};
    use crate::repo::CACHE_TTL;
    use crate::sealing::FileRootKey;

    const ACCOUNT: &str = "000000000000";
    const KEY_ID: &str = "AKIATESTCACHE0000001";

    struct Fixture {
        _dir: tempfile::TempDir,
        repo: Repo,
        authn: IamAuthenticator,
        authz: Authorizer,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let repo = Repo::new(store);
        let (root, _) = FileRootKey::generate().unwrap();
        let root: Arc<dyn Sealer> = Arc::new(root);
        let secret = Secret::new("test-secret-0123456789abcdef".to_owned());
        crate::bootstrap(
            &repo,
            &*root,
            &SystemClock,
            &AccountId::new(ACCOUNT.to_owned()).unwrap(),
            Some((KEY_ID.to_owned(), secret)),
        )
        .await
        .unwrap()
        .unwrap();
        Fixture {
            _dir: dir,
            authn: IamAuthenticator::new(repo.clone(), root),
            authz: Authorizer::new(repo.clone()),
            repo,
        }
    }

    async fn access_key(repo: &Repo) -> Versioned<AccessKey> {
        repo.access_key(KEY_ID).await.unwrap().unwrap()
    }

    use crate::repo::Versioned;

    async fn decide(f: &Fixture, action: &str) -> Decision {
        let caller = f.authn.credentials(KEY_ID).await.unwrap().unwrap().caller;
        let ctx =
            portcullis_iam::policy::RequestContext::new(caller.principal.clone(), action, "*");
        f.authz
            .decide(&caller, &ctx, ResourcePolicy::None)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_deactivated_key_is_refused_on_the_next_request() {
        let f = fixture().await;
        assert!(f.authn.credentials(KEY_ID).await.unwrap().unwrap().active);
        let mut key = access_key(&f.repo).await;
        key.value.status = KeyStatus::Inactive;
        let cond = Precondition::Version(key.version);
        f.repo
            .put(
                collections::ACCESS_KEYS,
                KEY_ID.to_owned(),
                &key.value,
                cond,
            )
            .await
            .unwrap();
        let creds = f.authn.credentials(KEY_ID).await.unwrap().unwrap();
        assert!(
            !creds.active,
            "a cached active key outlived its deactivation"
        );
    }

    #[tokio::test]
    async fn a_deleted_key_is_unknown_on_the_next_request() {
        let f = fixture().await;
        assert!(f.authn.credentials(KEY_ID).await.unwrap().is_some());
        let mut user = f.repo.user_required(ACCOUNT, "admin").await.unwrap();
        user.value.access_keys.retain(|k| k != KEY_ID);
        let cond = Precondition::Version(user.version);
        let key = entity_key(ACCOUNT, "admin");
        f.repo
            .put(collections::USERS, key, &user.value, cond)
            .await
            .unwrap();
        assert!(f.authn.credentials(KEY_ID).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_detached_policy_stops_allowing_on_the_next_request() {
        let f = fixture().await;
        assert_eq!(decide(&f, "iam:ListUsers").await, Decision::Allow);
        let mut user = f.repo.user_required(ACCOUNT, "admin").await.unwrap();
        user.value.attached_policies.clear();
        user.value.inline_policies.insert(
            "deny".into(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#.into(),
        );
        let cond = Precondition::Version(user.version);
        let key = entity_key(ACCOUNT, "admin");
        f.repo
            .put(collections::USERS, key, &user.value, cond)
            .await
            .unwrap();
        assert_eq!(decide(&f, "iam:ListUsers").await, Decision::ImplicitDeny);
        assert_eq!(decide(&f, "kms:Encrypt").await, Decision::Allow);
    }

    /// A change another node makes in the shared store (not through this `Repo`) is seen
    /// once the cache entry is older than `CACHE_TTL`, and not reused before.
    #[tokio::test]
    async fn a_change_from_another_node_applies_within_the_ttl() {
        let f = fixture().await;
        assert!(f.authn.credentials(KEY_ID).await.unwrap().unwrap().active);
        let other_node = Repo::new(f.repo.store().clone());
        let mut key = access_key(&other_node).await;
        key.value.status = KeyStatus::Inactive;
        let cond = Precondition::Version(key.version);
        other_node
            .put(
                collections::ACCESS_KEYS,
                KEY_ID.to_owned(),
                &key.value,
                cond,
            )
            .await
            .unwrap();
        // Within the TTL the cached entry may still answer; after it, never.
        tokio::time::sleep(CACHE_TTL + Duration::from_millis(100)).await;
        assert!(!f.authn.credentials(KEY_ID).await.unwrap().unwrap().active);
    }

    #[test]
    fn cached_secrets_stay_redacted() {
        let cache: ReadCache<Secret<String>> = ReadCache::new(4);
        cache.insert("k".into(), 0, Secret::new("hunter2-hunter2".into()));
        assert!(!format!("{cache:?}").contains("hunter2"));
        assert!(cache.get("k", 0).is_some());
        assert!(cache.get("k", 1).is_none(), "a newer generation must miss");
    }
}
