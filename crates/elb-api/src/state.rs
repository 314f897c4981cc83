//! The store layout, the revision counter, IAM authorization and what the proxy nodes report back.
//!
//! Store layout:
//! - `elb_world`: `{account}/{region}` → [`World`], every load balancer, target group, listener and rule of that
//!   account in that region, written whole under its version (a lost race is retried on fresh state).
//! - `elb_meta/revision`: `{"n"}`, bumped by every write; proxy nodes poll it and rebuild their listeners when it
//!   moves.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use portcullis_http::ApiRequest;
use portcullis_iam_api::Authorizer;
use portcullis_store::{Precondition, Store, WriteOp};
use serde_json::{Value, json};

use crate::error::{ElbError, Result};
use crate::model::World;

/// The collection of [`World`]s.
pub const WORLDS: &str = "elb_world";
/// The collection holding the revision counter.
pub const META: &str = "elb_meta";

/// What a proxy node knows about a target group's servers.
#[async_trait::async_trait]
pub trait HealthSource: Send + Sync {
    /// Each server of the pool serving target group `target_group_arn` with whether the active health checks
    /// consider it healthy; `None` when this node runs no such pool.
    async fn pool_health(&self, target_group_arn: &str) -> Option<Vec<(SocketAddr, bool)>>;
}

/// A world with the version it was read at (0: not stored yet).
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The world.
    pub world: World,
    /// Its store version.
    pub version: u64,
}

/// Shared ELBv2 state.
#[derive(Clone)]
pub struct ElbApi {
    /// The store.
    pub store: Arc<dyn Store>,
    /// IAM's policy decisions.
    pub authz: Authorizer,
    /// Whether `CreateListener`/`ModifyListener` try to bind a new port first (off in tests that bind nothing).
    pub probe_ports: bool,
    health: Arc<RwLock<Option<Arc<dyn HealthSource>>>>,
}

impl std::fmt::Debug for ElbApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElbApi")
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

/// The address a listener of a load balancer with `scheme` binds: every address for `internet-facing`, loopback
/// for `internal`.
pub fn bind_address(scheme: &str, port: u16) -> SocketAddr {
    let ip = if scheme == "internal" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    SocketAddr::new(ip, port)
}

fn world_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

impl ElbApi {
    /// State over a store and IAM's authorizer.
    pub fn new(store: Arc<dyn Store>, authz: Authorizer) -> Self {
        Self {
            store,
            authz,
            probe_ports: true,
            health: Arc::default(),
        }
    }

    /// Sets where `DescribeTargetHealth` reads the proxy's health checks from.
    pub fn set_health_source(&self, source: Arc<dyn HealthSource>) {
        *self.health.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    /// The health source, if a node set one.
    pub fn health_source(&self) -> Option<Arc<dyn HealthSource>> {
        self.health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The world of an account in a region.
    pub async fn world(&self, account: &str, region: &str) -> Result<Versioned> {
        match self.store.get(WORLDS, &world_key(account, region)).await? {
            None => Ok(Versioned {
                world: World::default(),
                version: 0,
            }),
            Some(item) => Ok(Versioned {
                world: serde_json::from_value(item.value).map_err(|e| {
                    ElbError::Internal(format!("{WORLDS}/{} does not decode: {e}", item.key))
                })?,
                version: item.version,
            }),
        }
    }

    /// Every stored world, for the proxy nodes and the checks that span accounts (listener ports).
    pub async fn worlds(&self) -> Result<Vec<World>> {
        portcullis_store::list_all(self.store.as_ref(), WORLDS, "")
            .await?
            .into_iter()
            .map(|item| {
                serde_json::from_value(item.value).map_err(|e| {
                    ElbError::Internal(format!("{WORLDS}/{} does not decode: {e}", item.key))
                })
            })
            .collect()
    }

    /// Writes `world` back if unchanged since `version`, with the revision bump.
    pub async fn save(
        &self,
        account: &str,
        region: &str,
        world: &World,
        version: u64,
    ) -> Result<()> {
        let value = serde_json::to_value(world).map_err(|e| ElbError::Internal(e.to_string()))?;
        let cond = if version == 0 {
            Precondition::Absent
        } else {
            Precondition::Version(version)
        };
        let current = self.store.get(META, "revision").await?;
        let (n, rev_cond) = match &current {
            Some(i) => (
                i.value.get("n").and_then(Value::as_u64).unwrap_or(0),
                Precondition::Version(i.version),
            ),
            None => (0, Precondition::Absent),
        };
        let ops = vec![
            WriteOp::put(WORLDS, &world_key(account, region), value, cond),
            WriteOp::put(
                META,
                "revision",
                json!({"n": n.saturating_add(1)}),
                rev_cond,
            ),
        ];
        self.store.write_batch(&ops).await?;
        Ok(())
    }

    /// The revision counter: bumped by every write. One point read; poll it and rebuild when it changes.
    pub async fn revision(&self) -> Result<u64> {
        Ok(self
            .store
            .get(META, "revision")
            .await?
            .and_then(|i| i.value.get("n").and_then(Value::as_u64))
            .unwrap_or(0))
    }

    /// Allows or refuses `elasticloadbalancing:<op>` on `resource`, with the resource's and the request's tags.
    pub async fn authorize(
        &self,
        req: &ApiRequest,
        op: &str,
        resource: &str,
        resource_tags: Option<&BTreeMap<String, String>>,
        request_tags: Option<&BTreeMap<String, String>>,
    ) -> Result<()> {
        let action = format!("elasticloadbalancing:{op}");
        self.authz
            .decide_tagged(req, &action, resource, resource_tags, request_tags)
            .await
            .map_err(|e| ElbError::Internal(e.to_string()))?
            .map_err(ElbError::AccessDenied)
    }
}
