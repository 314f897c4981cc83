//! What every Inspector2 operation shares: the store layout, the stored records, ARNs, time
//! and IAM authorization.
//!
//! Store layout (collections):
//! - `inspector_hosts`: `{account}/{agentId}` → [`Host`] (the last inventory, its sequence and
//!   how it was last evaluated).
//! - `inspector_findings`: `{account}/{agentId}/{findingId}` → the finding as the API renders
//!   it, plus a private `_portcullis` member ([`FindingMeta`]).
//! - `inspector_filters`: `{account}/{filterId}` → [`FilterRecord`].
//! - `inspector_sbom_exports`: `{account}/{reportId}` → [`ExportRecord`].
//! - `inspector_networks`: `{account}` → [`NetworkRecord`] (the last imported network
//!   description, analysed). Network findings live under `{account}/~net~{instanceId}/…`
//!   (`~` never occurs in agent ids, so they cannot collide with a host's).
//! - `inspector_findings_reports`: `{account}/{reportId}` → [`ExportRecord`] of a findings
//!   report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use portcullis_http::ApiRequest;
use portcullis_iam_api::Authorizer;
use portcullis_inspector_core::inventory::{CloudIdentity, Inventory};
use portcullis_inspector_core::reachability::ReachabilityFinding;
use portcullis_store::{Item, Precondition, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{InspectorApiError, Result};
use crate::index::AdvisoryIndex;

/// Collection names.
pub mod collections {
    /// Hosts by `{account}/{agentId}`.
    pub const HOSTS: &str = "inspector_hosts";
    /// Findings by `{account}/{agentId}/{findingId}`.
    pub const FINDINGS: &str = "inspector_findings";
    /// Filters by `{account}/{filterId}`.
    pub const FILTERS: &str = "inspector_filters";
    /// SBOM exports by `{account}/{reportId}`.
    pub const EXPORTS: &str = "inspector_sbom_exports";
    /// Network descriptions by `{account}`.
    pub const NETWORKS: &str = "inspector_networks";
    /// Findings reports by `{account}/{reportId}`.
    pub const REPORTS: &str = "inspector_findings_reports";
}

/// The private member of stored findings (never rendered).
pub const PRIVATE: &str = "_portcullis";

/// Why a host's packages were or were not matched at its last evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum PackageScan {
    /// Matched against the index with this tag.
    Scanned {
        /// The index tag.
        tag: String,
    },
    /// No advisory index was available: no package findings were produced.
    NoIndex,
    /// The index file exists but is unusable.
    IndexError {
        /// Why.
        message: String,
    },
}

/// One agent's host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Host {
    /// The agent's id (the resource id of its findings and coverage).
    pub agent_id: String,
    /// Owning account.
    pub account: String,
    /// Region the host reports to.
    pub region: String,
    /// Host name.
    pub hostname: String,
    /// Agent version.
    pub agent_version: String,
    /// The acknowledged sequence number.
    pub sequence: u64,
    /// When the agent collected the inventory (its clock, Unix seconds).
    pub collected_at: u64,
    /// First report received (server clock, Unix seconds).
    pub first_seen: f64,
    /// Last report received (server clock).
    pub last_report_at: f64,
    /// Last evaluation of the findings (server clock).
    pub last_evaluated_at: f64,
    /// How the packages were matched at the last evaluation.
    pub package_scan: PackageScan,
    /// The inventory.
    pub inventory: Inventory,
    /// The cloud instance the agent says the host is (links it to the network description).
    #[serde(default)]
    pub cloud: Option<CloudIdentity>,
}

/// What an instance looks like in the network description (for `resources[0].details`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceInfo {
    /// The instance id.
    pub instance_id: String,
    /// Its VPC.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Its subnet.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Private and public IPv4 addresses.
    #[serde(default)]
    pub ipv4: Vec<String>,
}

/// An account's imported network description, kept as the analysis' result.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkRecord {
    /// Region of the import (the region of its findings' ARNs).
    pub region: String,
    /// When it was imported (Unix seconds).
    pub imported_at: f64,
    /// A digest of the imported JSON.
    pub sha256: String,
    /// Every instance of the description.
    pub instances: Vec<InstanceInfo>,
    /// Every reachable (ENI, security group, route, protocol, range) with its path.
    pub reachable: Vec<ReachabilityFinding>,
}

/// Private bookkeeping of a stored finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingMeta {
    /// The host.
    pub agent_id: String,
    /// What the finding is about (`pkg|<vuln>|<ecosystem>|<name>` or `check|<id>`).
    pub key: String,
    /// False once the package is gone or upgraded, or the check passes.
    pub open: bool,
}

/// A saved filter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterRecord {
    /// Its id (the last ARN segment).
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Owning account.
    pub owner_id: String,
    /// Name.
    pub name: String,
    /// `NONE` or `SUPPRESS`.
    pub action: String,
    /// `FilterCriteria` as given.
    pub criteria: Value,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds.
    pub updated_at: f64,
}

/// An SBOM export.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRecord {
    /// Report id (a UUID).
    pub report_id: String,
    /// `CYCLONEDX_1_4` or `SPDX_2_3`.
    pub format: String,
    /// `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// The model's error code when failed.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Message when failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// `s3Destination` as given.
    pub s3_destination: Value,
    /// `resourceFilterCriteria` as given.
    #[serde(default)]
    pub filter_criteria: Option<Value>,
    /// Files written (absolute paths).
    #[serde(default)]
    pub files: Vec<String>,
    /// Unix seconds.
    pub created_at: f64,
}

/// A document with its store version.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version (0: not stored yet).
    pub version: u64,
}

/// The precondition that writes back only if unchanged (or creates when `version` is 0).
pub fn cond_of(version: u64) -> Precondition {
    if version == 0 {
        Precondition::Absent
    } else {
        Precondition::Version(version)
    }
}

/// Unix seconds with millisecond precision.
pub fn secs(t: OffsetDateTime) -> f64 {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    // Millisecond timestamps fit an f64 exactly for the next quarter million years.
    millis as f64 / 1000.0
}

/// 32 lower-case hex characters derived from `parts` (finding ids).
pub fn digest32(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let full = hex::encode(h.finalize());
    full.get(..32).unwrap_or(&full).to_owned()
}

/// `arn:aws:inspector2:{region}:{account}:finding/{id}`.
pub fn finding_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:inspector2:{region}:{account}:finding/{id}")
}

/// `arn:aws:inspector2:{region}:{account}:owner/{account}/filter/{id}`.
pub fn filter_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:inspector2:{region}:{account}:owner/{account}/filter/{id}")
}

/// The resource an agent's reports are authorized on (a Portcullis resource type).
pub fn agent_arn(region: &str, account: &str, agent_id: &str) -> String {
    format!("arn:aws:inspector2:{region}:{account}:agent/{agent_id}")
}

/// `(region, account, filter id)` of a filter ARN.
pub fn parse_filter_arn(arn: &str) -> Option<(String, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("inspector2"), Some(region), Some(account), Some(res)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let segs: Vec<&str> = res.split('/').collect();
    match segs.as_slice() {
        ["owner", owner, "filter", id] if *owner == account && !id.is_empty() => {
            Some((region.to_owned(), account.to_owned(), (*id).to_owned()))
        }
        _ => None,
    }
}

/// The finding id at the end of a finding ARN.
pub fn finding_id_of(arn: &str) -> Option<&str> {
    let (_, id) = arn.rsplit_once(":finding/")?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

fn decode<T: serde::de::DeserializeOwned>(item: Item, collection: &str) -> Result<Versioned<T>> {
    let value = serde_json::from_value(item.value).map_err(|e| {
        InspectorApiError::Internal(format!("{collection}/{} does not decode: {e}", item.key))
    })?;
    Ok(Versioned {
        value,
        version: item.version,
    })
}

/// Default limit of a decoded (gunzipped) agent report or network description: 32 MiB.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 32 << 20;

/// Shared Inspector2 state.
#[derive(Clone)]
pub struct InspectorApi {
    /// The store.
    pub store: Arc<dyn Store>,
    /// IAM's policy decisions.
    pub authz: Authorizer,
    /// The advisory index.
    pub index: AdvisoryIndex,
    /// Where SBOM exports are written (`<data_dir>/inspector/exports`).
    pub exports_dir: PathBuf,
    /// Where findings reports are written (`<data_dir>/inspector/reports`).
    pub reports_dir: PathBuf,
    /// Largest body of an agent report or network import after gzip decoding.
    pub max_decoded_bytes: usize,
    /// A host whose last report is older than this many seconds is `STALE_INVENTORY`.
    pub stale_after_secs: f64,
}

impl std::fmt::Debug for InspectorApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectorApi")
            .field("store", &self.store.backend())
            .field("index", &self.index.status())
            .field("exports_dir", &self.exports_dir)
            .finish_non_exhaustive()
    }
}

impl InspectorApi {
    /// State over a store, IAM's authorizer and a data directory: the advisory index is read
    /// from `<data_dir>/inspector/db`, exports go to `<data_dir>/inspector/exports`.
    pub fn new(store: Arc<dyn Store>, authz: Authorizer, data_dir: &std::path::Path) -> Self {
        let base = data_dir.join("inspector");
        Self {
            store,
            authz,
            index: AdvisoryIndex::at_dir(&base.join("db")),
            exports_dir: base.join("exports"),
            reports_dir: base.join("reports"),
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            stale_after_secs: 7.0 * 86_400.0,
        }
    }

    /// The same state with another advisory index.
    pub fn with_index(mut self, index: AdvisoryIndex) -> Self {
        self.index = index;
        self
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

    /// Every document under a prefix, in key order, with its key.
    pub async fn list<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned<T>)>> {
        portcullis_store::list_all(&*self.store, collection, prefix)
            .await?
            .into_iter()
            .map(|item| Ok((item.key.clone(), decode(item, collection)?)))
            .collect()
    }

    /// Allows or refuses `inspector2:<op>` on `resource`, with the resource's tags
    /// (`aws:ResourceTag/*`) and the request's (`aws:RequestTag/*`, `aws:TagKeys`).
    pub async fn authorize(
        &self,
        req: &ApiRequest,
        op: &str,
        resource: &str,
        resource_tags: Option<&BTreeMap<String, String>>,
        request_tags: Option<&BTreeMap<String, String>>,
    ) -> Result<()> {
        let action = format!("inspector2:{op}");
        self.authz
            .decide_tagged(req, &action, resource, resource_tags, request_tags)
            .await
            .map_err(|e| InspectorApiError::Internal(e.to_string()))?
            .map_err(InspectorApiError::AccessDenied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let a = filter_arn("us-east-1", "111122223333", "abc");
        assert_eq!(
            parse_filter_arn(&a),
            Some(("us-east-1".into(), "111122223333".into(), "abc".into()))
        );
        assert!(parse_filter_arn("arn:aws:inspector2:us-east-1:1:owner/2/filter/x").is_none());
        assert!(parse_filter_arn("arn:aws:guardduty:us-east-1:1:owner/1/filter/x").is_none());
        let id = digest32(&["a", "b"]);
        assert_eq!(id.len(), 32);
        assert_ne!(id, digest32(&["ab", ""]));
        let f = finding_arn("us-east-1", "111122223333", &id);
        assert_eq!(finding_id_of(&f), Some(id.as_str()));
        assert_eq!(finding_id_of("arn:x:finding/zz"), None);
    }

    #[test]
    fn seconds_keep_milliseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(secs(t), 1_700_000_000.123);
    }
}
