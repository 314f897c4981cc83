//! What every GuardDuty operation shares: the store layout, the stored documents, ARNs and IAM
//! authorization.
//!
//! Store layout (collections):
//! - `guard_detectors`: `{account}/{region}` → [`Detector`] (one detector per account and region).
//! - `guard_detector_ids`: detector ID → `{"account", "region"}`, written in the same batch.
//! - `guard_findings`: `{detectorId}/{findingId}` → the finding document (schema 2.0, with
//!   `service.additionalInfo` as an object; [`crate::wire`] renders it as GuardDuty's API does),
//!   plus a private `_portcullis` member (who archived it, feedback comments).
//! - `guard_filters`: `{detectorId}/{name}` → [`Filter`].
//! - `guard_sets`: `{detectorId}/{ipset|threatintelset}/{id}` → [`ListSet`].

use std::collections::BTreeMap;

use portcullis_http::ApiRequest;
use portcullis_iam_api::Authorizer;
use portcullis_store::{Item, Precondition, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

use crate::error::{GuardApiError, Result};

/// Collection names.
pub mod collections {
    /// Detectors by `{account}/{region}`.
    pub const DETECTORS: &str = "guard_detectors";
    /// Detector ID → place.
    pub const DETECTOR_IDS: &str = "guard_detector_ids";
    /// Findings by `{detectorId}/{findingId}`.
    pub const FINDINGS: &str = "guard_findings";
    /// Filters by `{detectorId}/{name}`.
    pub const FILTERS: &str = "guard_filters";
    /// IP sets and threat-intel sets by `{detectorId}/{kind}/{id}`.
    pub const SETS: &str = "guard_sets";
}

/// A detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detector {
    /// 32 lower-case hex characters.
    pub id: String,
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `enable`.
    pub enabled: bool,
    /// `FIFTEEN_MINUTES`, `ONE_HOUR` or `SIX_HOURS`.
    pub finding_publishing_frequency: String,
    /// Feature name → `ENABLED`/`DISABLED`, with additional configuration as given.
    pub features: BTreeMap<String, FeatureState>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 last update.
    pub updated_at: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One feature's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureState {
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// `additionalConfiguration` entries: name → status.
    #[serde(default)]
    pub additional: BTreeMap<String, String>,
}

impl Detector {
    /// `arn:aws:guardduty:{region}:{account}:detector/{id}`.
    pub fn arn(&self) -> String {
        detector_arn(&self.region, &self.account, &self.id)
    }
}

/// A saved filter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Filter {
    /// Name (3–64 characters).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `NOOP` or `ARCHIVE`.
    pub action: String,
    /// Evaluation order, 1–100.
    pub rank: i64,
    /// `findingCriteria` as given.
    pub finding_criteria: Value,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Bumped by every update.
    pub version: i64,
}

/// The kind of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetKind {
    /// A trusted IP list (`IPSet`).
    IpSet,
    /// A threat list (`ThreatIntelSet`).
    ThreatIntelSet,
}

impl SetKind {
    /// The path and ARN segment.
    pub fn segment(self) -> &'static str {
        match self {
            SetKind::IpSet => "ipset",
            SetKind::ThreatIntelSet => "threatintelset",
        }
    }

    /// How many a detector may have \[doc: GuardDuty quotas\].
    pub fn quota(self) -> usize {
        match self {
            SetKind::IpSet => 1,
            SetKind::ThreatIntelSet => 6,
        }
    }

    /// Entries a list may hold \[doc\].
    pub fn max_entries(self) -> usize {
        match self {
            SetKind::IpSet => 2_000,
            SetKind::ThreatIntelSet => 250_000,
        }
    }
}

/// A trusted IP list or threat list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListSet {
    /// ID (32 hex).
    pub id: String,
    /// Kind.
    pub kind: SetKind,
    /// Name.
    pub name: String,
    /// `TXT`, `STIX`, ...
    pub format: String,
    /// Where the list is.
    pub location: String,
    /// `ACTIVE`, `INACTIVE`, `ERROR`, ...
    pub status: String,
    /// `expectedBucketOwner`.
    #[serde(default)]
    pub expected_bucket_owner: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Indicators loaded when the list was read (local locations only).
    #[serde(default)]
    pub entries: Option<usize>,
    /// Why the list is in `ERROR`.
    #[serde(default)]
    pub error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The ARN of a detector.
pub fn detector_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:guardduty:{region}:{account}:detector/{id}")
}

/// What a GuardDuty ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArn {
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// Detector ID.
    pub detector_id: String,
    /// The sub-resource, if any: `("filter", name)`, `("ipset", id)`, `("threatintelset", id)`.
    pub sub: Option<(String, String)>,
}

/// Parses `arn:aws:guardduty:{region}:{account}:detector/{id}[/{filter|ipset|threatintelset}/{x}]`.
pub fn parse_arn(arn: &str) -> Option<ParsedArn> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("guardduty"), Some(region), Some(account), Some(res)) = (
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
    let (detector_id, sub) = match segs.as_slice() {
        ["detector", id] => (*id, None),
        [
            "detector",
            id,
            kind @ ("filter" | "ipset" | "threatintelset"),
            x,
        ] => (*id, Some(((*kind).to_owned(), (*x).to_owned()))),
        _ => return None,
    };
    if region.is_empty() || account.is_empty() || detector_id.is_empty() {
        return None;
    }
    Some(ParsedArn {
        region: region.to_owned(),
        account: account.to_owned(),
        detector_id: detector_id.to_owned(),
        sub,
    })
}

/// A document with its store version.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version, for the conditional write back (0: not stored yet).
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

fn decode<T: serde::de::DeserializeOwned>(item: Item, collection: &str) -> Result<Versioned<T>> {
    let value = serde_json::from_value(item.value).map_err(|e| {
        GuardApiError::Internal(format!("{collection}/{} does not decode: {e}", item.key))
    })?;
    Ok(Versioned {
        value,
        version: item.version,
    })
}

/// Shared GuardDuty state.
#[derive(Clone)]
pub struct GuardApi {
    /// The store.
    pub store: Arc<dyn Store>,
    /// IAM's policy decisions.
    pub authz: Authorizer,
    /// Where `PutEvents` hands log records (set once by whoever runs the detectors; shared by
    /// every clone).
    pub(crate) events: Arc<std::sync::OnceLock<Arc<dyn crate::events::EventSink>>>,
    /// Bumped whenever a trusted IP list or threat list is created, updated or deleted, so the
    /// running detectors reload their lists ([`GuardApi::subscribe_lists`]).
    pub(crate) lists: Arc<tokio::sync::watch::Sender<u64>>,
}

impl std::fmt::Debug for GuardApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardApi")
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

/// Where a detector lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DetectorPlace {
    account: String,
    region: String,
}

impl GuardApi {
    /// State over a store and IAM's authorizer.
    pub fn new(store: Arc<dyn Store>, authz: Authorizer) -> Self {
        Self {
            store,
            authz,
            events: Arc::default(),
            lists: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// Tells the running detectors that a detector's lists changed (every create, update and
    /// delete of an IP set or threat-intel set calls this after its write).
    pub fn lists_changed(&self) {
        self.lists.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// The generation of the lists: it changes whenever [`GuardApi::lists_changed`] is called.
    pub fn lists_generation(&self) -> u64 {
        *self.lists.borrow()
    }

    /// A receiver that wakes on every [`GuardApi::lists_changed`].
    pub fn subscribe_lists(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lists.subscribe()
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
        portcullis_store::list_all(&*self.store, collection, prefix)
            .await?
            .into_iter()
            .map(|item| decode(item, collection))
            .collect()
    }

    /// The detector of an account in a region.
    pub async fn detector_in(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Option<Versioned<Detector>>> {
        self.get(collections::DETECTORS, &format!("{account}/{region}"))
            .await
    }

    /// A detector by ID, in any account and region.
    pub async fn detector_by_id(&self, id: &str) -> Result<Option<Versioned<Detector>>> {
        let Some(place) = self
            .get::<DetectorPlace>(collections::DETECTOR_IDS, id)
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .detector_in(&place.value.account, &place.value.region)
            .await?
            .filter(|d| d.value.id == id))
    }

    /// The index entry written with a detector.
    pub(crate) fn detector_index_value(d: &Detector) -> Value {
        serde_json::json!({"account": d.account, "region": d.region})
    }

    /// Allows or refuses `guardduty:<op>` on `resource`, with the resource's tags
    /// (`aws:ResourceTag/*`) and the request's (`aws:RequestTag/*`, `aws:TagKeys`).
    pub async fn authorize(
        &self,
        req: &ApiRequest,
        op: &str,
        resource: &str,
        resource_tags: Option<&BTreeMap<String, String>>,
        request_tags: Option<&BTreeMap<String, String>>,
    ) -> Result<()> {
        let action = format!("guardduty:{op}");
        self.authz
            .decide_tagged(req, &action, resource, resource_tags, request_tags)
            .await
            .map_err(|e| GuardApiError::Internal(e.to_string()))?
            .map_err(GuardApiError::AccessDenied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse() {
        let p = parse_arn("arn:aws:guardduty:us-east-1:111122223333:detector/abc").unwrap();
        assert_eq!(p.detector_id, "abc");
        assert_eq!(p.sub, None);
        let f =
            parse_arn("arn:aws:guardduty:us-east-1:111122223333:detector/abc/filter/f1").unwrap();
        assert_eq!(f.sub, Some(("filter".into(), "f1".into())));
        assert!(
            parse_arn("arn:aws:guardduty:us-east-1:111122223333:detector/abc/other/x").is_none()
        );
        assert!(parse_arn("arn:aws:wafv2:us-east-1:1:detector/abc").is_none());
        assert!(parse_arn("nonsense").is_none());
    }
}
