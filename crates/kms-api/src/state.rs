//! What every KMS operation shares: the store, the root key, key resolution, the
//! authorization decision (key policy, IAM policies, grants) and the material cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use portcullis_http::ApiRequest;
use portcullis_iam::policy::{ContextValue, Decision, Policy, PolicyKind, RequestContext};
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::authz::ResourcePolicy;
use portcullis_keyring::Sealer;
use portcullis_kms_core::{KeyMaterial, KeySpec};
use portcullis_store::{Precondition, Store, WriteOp};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{KmsError, Result};
use crate::model::{Alias, Grant, Key, KeyVersion, alias_key, collections as c, key_key};

/// Cached things kept at most; past this a cache starts over.
const CACHE_MAX: usize = 4096;

/// Unwrapped material by (key id, material id).
type MaterialCache = HashMap<(String, String), Arc<KeyMaterial>>;

/// A document with its store version.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version, for the conditional write back.
    pub version: u64,
}

/// Shared KMS state.
#[derive(Clone)]
pub struct Kms {
    /// The store.
    pub store: Arc<dyn Store>,
    /// IAM's policy decisions.
    pub authz: Authorizer,
    /// The root key that wraps key material.
    pub sealer: Arc<dyn Sealer>,
    materials: Arc<Mutex<MaterialCache>>,
    policies: Arc<Mutex<HashMap<String, Arc<Policy>>>>,
    usage_written: Arc<Mutex<HashMap<String, time::OffsetDateTime>>>,
    /// Bumped after every write through this node; cached reads from an older generation
    /// are not used.
    generation: Arc<AtomicU64>,
    keys: Arc<Mutex<HashMap<String, Cached<Key>>>>,
    alias_cache: Arc<Mutex<HashMap<String, Cached<Alias>>>>,
}

/// How long a cached key or alias record may be used: a change made by another node that
/// shares the store applies within this bound. Changes made through this node apply at
/// once, since every write here invalidates the caches.
pub const READ_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A cached read: when, under which generation, and what (shared: a hit costs a reference
/// count, not a copy of the key's policy, tags and sealed versions).
#[derive(Debug, Clone)]
struct Cached<T> {
    at: std::time::Instant,
    generation: u64,
    value: Arc<Versioned<T>>,
}

/// How often a key's last-usage record is rewritten at most: often enough for
/// GetKeyLastUsage to answer "used in the last minute", rarely enough not to add a store
/// write to every cryptographic call.
const LAST_USAGE_RESOLUTION: time::Duration = time::Duration::minutes(1);

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms")
            .field("root_key", &self.sealer.kind())
            .finish()
    }
}

/// How a `KeyId` member may name a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Key id or key ARN only (management operations).
    KeyOnly,
    /// Also alias name or alias ARN (cryptographic operations, DescribeKey).
    AliasToo,
}

impl Kms {
    /// State over a store, IAM's authorizer and the root key.
    pub fn new(store: Arc<dyn Store>, authz: Authorizer, sealer: Arc<dyn Sealer>) -> Self {
        Self {
            store,
            authz,
            sealer,
            materials: Arc::default(),
            policies: Arc::default(),
            usage_written: Arc::default(),
            generation: Arc::default(),
            keys: Arc::default(),
            alias_cache: Arc::default(),
        }
    }

    /// Whether [`record_usage`](Self::record_usage) would write anything for this key now:
    /// a cheap check that spares the request path a task spawn (and its copies) on all but
    /// about one call per key per [`LAST_USAGE_RESOLUTION`].
    pub fn usage_due(&self, key_arn: &str, at: time::OffsetDateTime) -> bool {
        let written = self.usage_written.lock().unwrap_or_else(|e| e.into_inner());
        written
            .get(key_arn)
            .is_none_or(|t| at - *t >= LAST_USAGE_RESOLUTION)
    }

    /// Records a successful cryptographic use of a key (for GetKeyLastUsage), at most once
    /// per [`LAST_USAGE_RESOLUTION`] per key; losing a write race only loses a timestamp.
    pub async fn record_usage(
        &self,
        key_arn: &str,
        operation: &str,
        at: time::OffsetDateTime,
        request_id: &str,
    ) {
        {
            let mut written = self.usage_written.lock().unwrap_or_else(|e| e.into_inner());
            if written
                .get(key_arn)
                .is_some_and(|t| at - *t < LAST_USAGE_RESOLUTION)
            {
                return;
            }
            if written.len() >= CACHE_MAX {
                written.clear();
            }
            written.insert(key_arn.to_owned(), at);
        }
        let mut parts = key_arn.splitn(6, ':').skip(3);
        let (Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let Some(id) = resource.strip_prefix("key/") else {
            return;
        };
        let Ok(Some(mut key)) = self.key_by_id(account, region, id).await else {
            return;
        };
        key.value.last_usage = Some(crate::model::LastUsage {
            operation: operation.to_owned(),
            at,
            request_id: request_id.to_owned(),
        });
        if let Ok(op) = Self::key_op(&key) {
            let _ = self.commit(&[op]).await;
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Versioned<T>>> {
        let Some(item) = self.store.get(collection, key).await? else {
            return Ok(None);
        };
        let value = serde_json::from_value(item.value)
            .map_err(|e| KmsError::Internal(format!("{collection}/{key} does not decode: {e}")))?;
        Ok(Some(Versioned {
            value,
            version: item.version,
        }))
    }

    /// Lists every document under a prefix.
    pub async fn list<T: DeserializeOwned>(
        &self,
        collection: &str,
        prefix: &str,
    ) -> Result<Vec<T>> {
        portcullis_store::list_all(self.store.as_ref(), collection, prefix)
            .await?
            .into_iter()
            .map(|item| {
                serde_json::from_value(item.value).map_err(|e| {
                    KmsError::Internal(format!("{collection}/{} does not decode: {e}", item.key))
                })
            })
            .collect()
    }

    /// A put for a batch.
    pub fn put_op<T: Serialize>(
        collection: &str,
        key: String,
        value: &T,
        cond: Precondition,
    ) -> Result<WriteOp> {
        let value = serde_json::to_value(value).map_err(|e| KmsError::Internal(e.to_string()))?;
        Ok(WriteOp::Put {
            collection: collection.to_owned(),
            key,
            value,
            cond,
        })
    }

    /// Writes a key back, conditional on the version it was read at.
    pub fn key_op(key: &Versioned<Key>) -> Result<WriteOp> {
        let cond = if key.version == 0 {
            Precondition::Absent
        } else {
            Precondition::Version(key.version)
        };
        Self::put_op(
            c::KEYS,
            key_key(&key.value.account, &key.value.region, &key.value.key_id),
            &key.value,
            cond,
        )
    }

    /// Applies writes atomically.
    pub async fn commit(&self, ops: &[WriteOp]) -> Result<()> {
        let result = self.store.write_batch(ops).await.map_err(KmsError::from);
        // Whether or not it applied (a lost race means our cached copy is stale), nothing
        // read before this write may be served from the caches any more.
        self.generation.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// A read through one of the caches: fresh enough and from the current generation, or
    /// read again. Absent records are not cached, so a record created elsewhere appears at once.
    async fn cached<T: DeserializeOwned + Clone>(
        &self,
        cache: &Mutex<HashMap<String, Cached<T>>>,
        collection: &str,
        key: String,
    ) -> Result<Option<Arc<Versioned<T>>>> {
        // The generation is read before the store: a write racing this read bumps it after,
        // so what we cache below is never reused past that write.
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && c.generation == generation
            && c.at.elapsed() < READ_CACHE_TTL
        {
            return Ok(Some(c.value.clone()));
        }
        let read: Option<Arc<Versioned<T>>> = self.get(collection, &key).await?.map(Arc::new);
        if let Some(v) = &read {
            let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(
                key,
                Cached {
                    at: std::time::Instant::now(),
                    generation,
                    value: v.clone(),
                },
            );
        }
        Ok(read)
    }

    /// Loads a key by id, as a copy the caller may change and write back.
    pub async fn key_by_id(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<Option<Versioned<Key>>> {
        Ok(self
            .key_by_id_shared(account, region, key_id)
            .await?
            .map(Arc::unwrap_or_clone))
    }

    /// Loads a key by id, shared with the cache (for operations that only read it).
    pub async fn key_by_id_shared(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<Option<Arc<Versioned<Key>>>> {
        self.cached(&self.keys, c::KEYS, key_key(account, region, key_id))
            .await
    }

    /// Loads an alias.
    pub async fn alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<Versioned<Alias>>> {
        Ok(self
            .cached(
                &self.alias_cache,
                c::ALIASES,
                alias_key(account, region, name),
            )
            .await?
            .map(Arc::unwrap_or_clone))
    }

    /// Loads a grant.
    pub async fn grants_of(&self, key: &Key) -> Result<Vec<Grant>> {
        self.list(
            c::GRANTS,
            &format!("{}/{}/{}/", key.account, key.region, key.key_id),
        )
        .await
    }

    /// Resolves a `KeyId` member (key id, key ARN, alias name, alias ARN) in the caller's
    /// account and region (or the ARN's), or `NotFoundException`; a copy the caller may
    /// change and write back.
    pub async fn resolve(
        &self,
        req: &ApiRequest,
        key_id: &str,
        naming: Naming,
    ) -> Result<Versioned<Key>> {
        self.resolve_shared(req, key_id, naming)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`Kms::resolve`] for operations that only read the key (the cryptographic ones): the
    /// record is shared with the cache instead of copied.
    pub async fn resolve_shared(
        &self,
        req: &ApiRequest,
        key_id: &str,
        naming: Naming,
    ) -> Result<Arc<Versioned<Key>>> {
        let account = req.caller.principal.account.as_str();
        let region = req.region.as_str();
        let not_found = || KmsError::NotFound(format!("Key '{key_id}' does not exist"));
        let invalid = || KmsError::NotFound(format!("Invalid keyId '{key_id}'"));
        if let Some(rest) = key_id.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_, service, arn_region, arn_account, resource] = parts.as_slice() else {
                return Err(KmsError::InvalidArn(format!("Invalid arn {key_id}")));
            };
            if *service != "kms" {
                return Err(KmsError::InvalidArn(format!("Invalid arn {key_id}")));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                return self
                    .key_by_id_shared(arn_account, arn_region, id)
                    .await?
                    .ok_or_else(not_found);
            }
            if resource.starts_with("alias/") && naming == Naming::AliasToo {
                let alias = self
                    .alias(arn_account, arn_region, resource)
                    .await?
                    .ok_or_else(|| KmsError::NotFound(format!("Alias {key_id} is not found.")))?;
                return self
                    .key_by_id_shared(arn_account, arn_region, &alias.value.target_key_id)
                    .await?
                    .ok_or_else(not_found);
            }
            return Err(invalid());
        }
        if key_id.starts_with("alias/") {
            if naming == Naming::KeyOnly {
                return Err(invalid());
            }
            let alias = self.alias(account, region, key_id).await?.ok_or_else(|| {
                KmsError::NotFound(format!(
                    "Alias arn:aws:kms:{region}:{account}:{key_id} is not found."
                ))
            })?;
            return self
                .key_by_id_shared(account, region, &alias.value.target_key_id)
                .await?
                .ok_or_else(not_found);
        }
        if !key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid());
        }
        self.key_by_id_shared(account, region, key_id)
            .await?
            .ok_or_else(not_found)
    }

    /// The parsed key policy, cached by its text.
    pub fn key_policy(&self, key: &Key) -> Result<Arc<Policy>> {
        let mut cache = self.policies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cache.get(&key.policy) {
            return Ok(p.clone());
        }
        let p = Arc::new(
            Policy::parse(&key.policy, PolicyKind::Resource).map_err(|e| {
                KmsError::Internal(format!(
                    "stored key policy of {} does not parse: {e}",
                    key.key_id
                ))
            })?,
        );
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key.policy.clone(), p.clone());
        Ok(p)
    }

    /// The request context for `action` on `key` (or `*`), with the KMS condition keys
    /// that every call has; operations add their own with [`RequestContext::with`].
    pub fn context(req: &ApiRequest, action: &str, key: Option<&Key>) -> RequestContext {
        let resource = key.map_or_else(|| "*".to_owned(), Key::arn);
        let mut ctx = Authorizer::context(req, action, resource).with(
            "kms:CallerAccount",
            ContextValue::Single(req.caller.principal.account.clone()),
        );
        if let Some(alias) = request_alias(req, action) {
            ctx = ctx.with("kms:RequestAlias", ContextValue::Single(alias));
        }
        if let Some(k) = key {
            ctx = ctx
                .with("kms:KeySpec", ContextValue::Single(k.key_spec.clone()))
                .with("kms:KeyUsage", ContextValue::Single(k.key_usage.clone()))
                .with("kms:KeyOrigin", ContextValue::Single(k.origin.clone()))
                .with(
                    "kms:ResourceAliases",
                    ContextValue::Multi(k.aliases.clone()),
                );
            for (tk, tv) in &k.tags {
                ctx = ctx.with(
                    format!("aws:ResourceTag/{tk}"),
                    ContextValue::Single(tv.clone()),
                );
            }
        }
        ctx
    }

    /// Adds the encryption-context condition keys.
    pub fn with_encryption_context(
        mut ctx: RequestContext,
        ec: &BTreeMap<String, String>,
    ) -> RequestContext {
        for (k, v) in ec {
            ctx = ctx.with(
                format!("kms:EncryptionContext:{k}"),
                ContextValue::Single(v.clone()),
            );
        }
        // Without a context the key is absent (not an empty set), so `Null` conditions and
        // `...IfExists` treat it as AWS does.
        if ec.is_empty() {
            return ctx;
        }
        ctx.with(
            "kms:EncryptionContextKeys",
            ContextValue::Multi(ec.keys().cloned().collect()),
        )
    }

    /// Decides a call: an explicit deny anywhere refuses; the key policy (and, where it
    /// trusts the account, IAM policies) may allow; otherwise a grant for this operation
    /// whose constraints hold may allow. `grant_op` is the grant operation name (None for
    /// operations grants cannot allow) and `ec` the request's encryption context.
    pub async fn authorize(
        &self,
        req: &ApiRequest,
        ctx: &RequestContext,
        key: Option<&Key>,
        grant_op: Option<&str>,
        ec: Option<&BTreeMap<String, String>>,
    ) -> Result<()> {
        let policy = key.map(|k| self.key_policy(k)).transpose()?;
        let resource = match &policy {
            Some(p) => ResourcePolicy::Some(p),
            None => ResourcePolicy::None,
        };
        let decision = self
            .authz
            .decide(&req.caller, ctx, resource)
            .await
            .map_err(|e| KmsError::Internal(e.to_string()))?;
        let why = match decision {
            Decision::Allow => return Ok(()),
            Decision::ExplicitDeny => "with an explicit deny in a resource-based policy",
            Decision::ImplicitDeny => {
                if let (Some(k), Some(op)) = (key, grant_op)
                    && self.grant_allows(req, k, op, ec).await?
                {
                    return Ok(());
                }
                if key.is_some() {
                    "because no resource-based policy allows the action"
                } else {
                    "because no identity-based policy allows the action"
                }
            }
        };
        Err(KmsError::AccessDenied(format!(
            "User: {} is not authorized to perform: {} on resource: {} {why}",
            req.caller.principal.arn, ctx.action, ctx.resource
        )))
    }

    async fn grant_allows(
        &self,
        req: &ApiRequest,
        key: &Key,
        op: &str,
        ec: Option<&BTreeMap<String, String>>,
    ) -> Result<bool> {
        let names = crate::grants::caller_names(&req.caller.principal);
        // Encryption-context constraints bind only operations that take a context; for
        // the others (`ec` is None: DescribeKey, GetPublicKey, Sign, ...) they do not apply.
        Ok(self.grants_of(key).await?.iter().any(|g| {
            names.contains(&g.grantee_principal.as_str())
                && g.operations.iter().any(|o| o == op)
                && ec.is_none_or(|ec| crate::grants::constraints_hold(&g.constraints, ec))
        }))
    }

    /// The unwrapped material of one version, cached.
    pub fn material(&self, key: &Key, version: &KeyVersion) -> Result<Arc<KeyMaterial>> {
        let cache_key = (key.key_id.clone(), version.material_id.clone());
        if let Some(m) = self
            .materials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
        {
            return Ok(m.clone());
        }
        let spec: KeySpec = key
            .key_spec
            .parse()
            .map_err(|_| KmsError::Internal(format!("bad stored spec {}", key.key_spec)))?;
        let bytes = self
            .sealer
            .open(
                &material_context(&key.key_id, &version.material_id),
                &version.sealed,
            )
            .map_err(|e| {
                KmsError::Internal(format!("key material of {} does not open: {e}", key.key_id))
            })?;
        let m = Arc::new(KeyMaterial::from_bytes(spec, &bytes)?);
        let mut cache = self.materials.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(cache_key, m.clone());
        Ok(m)
    }

    /// Seals new material for a key version.
    pub fn seal_material(
        &self,
        key_id: &str,
        material_id: &str,
        material: &KeyMaterial,
    ) -> Result<String> {
        self.sealer
            .seal(&material_context(key_id, material_id), material.as_bytes())
            .map_err(|e| KmsError::Internal(format!("sealing key material failed: {e}")))
    }
}

/// `kms:RequestAlias`: the alias name when the request names its key by alias name or
/// alias ARN (`KeyId`, or `DestinationKeyId` for `kms:ReEncryptTo`).
fn request_alias(req: &ApiRequest, action: &str) -> Option<String> {
    // Cheap test first: most bodies name no alias and need not be parsed twice.
    memchr::memmem::find(&req.body, b"alias/")?;
    let member = if action == "kms:ReEncryptTo" {
        "DestinationKeyId"
    } else {
        "KeyId"
    };
    let body: serde_json::Value = serde_json::from_slice(&req.body).ok()?;
    let id = body.get(member)?.as_str()?;
    let start = id.find("alias/")?;
    let name = id.get(start..)?;
    (start == 0 || id.starts_with("arn:")).then(|| name.to_owned())
}

/// The sealing context of a key version: material copied onto another key does not open.
pub fn material_context(key_id: &str, material_id: &str) -> String {
    format!("kms/{key_id}/{material_id}")
}
