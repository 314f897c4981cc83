//! What every WAFv2 operation shares: the store layout, the revision counter and IAM authorization
//! (the read API the proxy nodes poll is in [`crate::read`]).
//!
//! Store layout (collections):
//! - `waf_entities`: `{account}/{region|global}/{kind}/{id}` → [`Entity`] (web ACLs, IP sets, regex
//!   pattern sets, rule groups).
//! - `waf_names`: `{account}/{region|global}/{kind}/{name}` → `{"Id"}`, written in the same batch, so
//!   two creates of one name cannot both succeed.
//! - `waf_assoc`: resource ARN → [`Association`]; `waf_assoc_acl`: `{web ACL ARN}|{resource ARN}`,
//!   the index `ListResourcesForWebACL` and `DeleteWebACL` read.
//! - `waf_logging`: web ACL ARN → `LoggingConfiguration`.
//! - `waf_meta/revision`: `{"n"}`, bumped by every write batch.
//!
//! A write that depends on another resource (a web ACL referencing an IP set, an association on a web
//! ACL) rewrites that resource unchanged under its version in the same batch; a concurrent delete or
//! update of it then loses the race, and the operation is run again on fresh state.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use portcullis_http::ApiRequest;
use portcullis_iam_api::Authorizer;
use portcullis_store::{Item, Precondition, Store, WriteOp};
use portcullis_waf_model::Scope;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::arn::{Kind, Place, parse_resource_arn};
use crate::error::{Result, WafError};
use crate::read::SampleSource;

/// Collection names.
pub mod collections {
    /// Web ACLs, IP sets, regex pattern sets and rule groups.
    pub const ENTITIES: &str = "waf_entities";
    /// The name index.
    pub const NAMES: &str = "waf_names";
    /// Associations by resource ARN.
    pub const ASSOC: &str = "waf_assoc";
    /// Associations by web ACL ARN.
    pub const ASSOC_BY_ACL: &str = "waf_assoc_acl";
    /// Logging configurations by web ACL ARN.
    pub const LOGGING: &str = "waf_logging";
    /// The revision counter.
    pub const META: &str = "waf_meta";
}
use collections as c;

/// A stored WAFv2 resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entity {
    /// Its kind.
    pub kind: Kind,
    /// Owning account.
    pub account: String,
    /// `REGIONAL` or `CLOUDFRONT`.
    pub scope: String,
    /// Region (`us-east-1` for CloudFront).
    pub region: String,
    /// `Id`.
    pub id: String,
    /// `Name`.
    pub name: String,
    /// `ARN`.
    pub arn: String,
    /// The current `LockToken`; every update issues a new one.
    pub lock_token: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// The model document (`WebACL`, `IPSet`, `RegexPatternSet`, `RuleGroup`) as AWS renders it.
    pub doc: Value,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl Entity {
    /// The entity's place.
    pub fn place(&self) -> Place {
        Place {
            account: self.account.clone(),
            scope: Scope::from_aws(&self.scope).unwrap_or(Scope::Regional),
            region: self.region.clone(),
        }
    }

    /// `{Name, Id, Description?, LockToken, ARN}`.
    pub fn summary(&self) -> Value {
        let mut s = json!({"Name": self.name, "Id": self.id, "LockToken": self.lock_token, "ARN": self.arn});
        if let (Some(d), Some(m)) = (&self.description, s.as_object_mut()) {
            m.insert("Description".into(), json!(d));
        }
        s
    }

    /// The document parsed as `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        portcullis_waf_model::parse_value(self.doc.clone()).map_err(|e| {
            WafError::Internal(format!(
                "stored {} {} does not parse: {e}",
                self.kind.shape(),
                self.arn
            ))
        })
    }
}

/// The store key of an entity.
pub fn entity_key(place: &Place, kind: Kind, id: &str) -> String {
    format!("{}{}/{id}", place.key_prefix(), kind.segment())
}

/// The store key of a name.
pub fn name_key(place: &Place, kind: Kind, name: &str) -> String {
    format!("{}{}/{name}", place.key_prefix(), kind.segment())
}

/// A document with its store version.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version, for the conditional write back.
    pub version: u64,
}

/// A web ACL associated with a resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Association {
    /// The web ACL.
    pub web_acl_arn: String,
    /// The resource (a listener ARN).
    pub resource_arn: String,
}

/// Shared WAFv2 state.
#[derive(Clone)]
pub struct WafApi {
    /// The store.
    pub store: Arc<dyn Store>,
    /// IAM's policy decisions.
    pub authz: Authorizer,
    samples: Arc<RwLock<Option<Arc<dyn SampleSource>>>>,
}

impl std::fmt::Debug for WafApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WafApi")
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

fn decode<T: serde::de::DeserializeOwned>(item: Item, collection: &str) -> Result<Versioned<T>> {
    let value = serde_json::from_value(item.value).map_err(|e| {
        WafError::Internal(format!("{collection}/{} does not decode: {e}", item.key))
    })?;
    Ok(Versioned {
        value,
        version: item.version,
    })
}

/// The precondition that writes `v` back only if unchanged (or creates it when `v.version` is 0).
pub fn cond_of(version: u64) -> Precondition {
    if version == 0 {
        Precondition::Absent
    } else {
        Precondition::Version(version)
    }
}

impl WafApi {
    /// State over a store and IAM's authorizer.
    pub fn new(store: Arc<dyn Store>, authz: Authorizer) -> Self {
        Self {
            store,
            authz,
            samples: Arc::default(),
        }
    }

    /// Sets where `GetSampledRequests` reads samples from.
    pub fn set_sample_source(&self, source: Arc<dyn SampleSource>) {
        *self.samples.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    /// The sample source, if one is set.
    pub fn sample_source(&self) -> Option<Arc<dyn SampleSource>> {
        self.samples
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A document.
    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Versioned<T>>> {
        match self.store.get(collection, key).await? {
            Some(item) => Ok(Some(decode(item, collection)?)),
            None => Ok(None),
        }
    }

    /// Every document under a prefix, in key order.
    pub async fn list<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        prefix: &str,
    ) -> Result<Vec<Versioned<T>>> {
        portcullis_store::list_all(self.store.as_ref(), collection, prefix)
            .await?
            .into_iter()
            .map(|item| decode(item, collection))
            .collect()
    }

    /// An entity by place, kind and id.
    pub async fn entity(
        &self,
        place: &Place,
        kind: Kind,
        id: &str,
    ) -> Result<Option<Versioned<Entity>>> {
        self.get(c::ENTITIES, &entity_key(place, kind, id)).await
    }

    /// An entity by ARN (its name must match too); `None` for unknown or malformed ARNs.
    pub async fn entity_by_arn(&self, arn: &str) -> Result<Option<Versioned<Entity>>> {
        let Some(p) = parse_resource_arn(arn) else {
            return Ok(None);
        };
        Ok(self
            .entity(&p.place, p.kind, &p.id)
            .await?
            .filter(|e| e.value.name == p.name && e.value.arn == arn))
    }

    /// Every entity of a kind in a place.
    pub async fn entities(&self, place: &Place, kind: Kind) -> Result<Vec<Versioned<Entity>>> {
        self.list(
            c::ENTITIES,
            &format!("{}{}/", place.key_prefix(), kind.segment()),
        )
        .await
    }

    /// A put of an entity, conditional on the version it was read at (0: create).
    pub fn entity_op(place: &Place, e: &Versioned<Entity>) -> Result<WriteOp> {
        let value =
            serde_json::to_value(&e.value).map_err(|x| WafError::Internal(x.to_string()))?;
        Ok(WriteOp::put(
            c::ENTITIES,
            &entity_key(place, e.value.kind, &e.value.id),
            value,
            cond_of(e.version),
        ))
    }

    /// Applies writes atomically, with the revision bump.
    pub async fn commit(&self, mut ops: Vec<WriteOp>) -> Result<()> {
        let current = self.store.get(c::META, "revision").await?;
        let (n, cond) = match &current {
            Some(i) => (
                i.value.get("n").and_then(Value::as_u64).unwrap_or(0),
                Precondition::Version(i.version),
            ),
            None => (0, Precondition::Absent),
        };
        ops.push(WriteOp::put(
            c::META,
            "revision",
            json!({"n": n.saturating_add(1)}),
            cond,
        ));
        self.store.write_batch(&ops).await?;
        Ok(())
    }

    /// Allows or refuses `wafv2:<op>` on `resource`, with the resource's tags (`aws:ResourceTag/*`) and
    /// the request's (`aws:RequestTag/*`, `aws:TagKeys`).
    pub async fn authorize(
        &self,
        req: &ApiRequest,
        op: &str,
        resource: &str,
        resource_tags: Option<&BTreeMap<String, String>>,
        request_tags: Option<&BTreeMap<String, String>>,
    ) -> Result<()> {
        let action = format!("wafv2:{op}");
        self.authz
            .decide_tagged(req, &action, resource, resource_tags, request_tags)
            .await
            .map_err(|e| WafError::Internal(e.to_string()))?
            .map_err(WafError::AccessDenied)
    }
}
