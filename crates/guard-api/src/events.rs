//! Log records pushed over the API (`PutEvents`, a Portcullis extension: `POST
//! /detector/{detectorId}/events`, IAM action `guardduty:PutEvents`) and the hook through which
//! the process that runs the detectors receives them ([`EventSink`]), plus
//! [`GuardApi::ensure_detector`] for sources configured before any detector exists.
//!
//! A client may name its batch (header [`BATCH_ID_HEADER`] or query parameter `batchId`) so a
//! retry after a timeout or a 500 is not counted twice: the receiver stores the reply under
//! (detector, batch ID) with the findings and answers a repeat with it, and refuses the same
//! ID with a different body ([`GuardApiError::Conflict`]).

use std::collections::BTreeMap;

use portcullis_store::{Precondition, WriteOp};
use serde::{Deserialize, Serialize};

use crate::error::{GuardApiError, Result};
use crate::ops::detectors::DEFAULT_FEATURES;
use crate::ops::new_id;
use crate::state::{Detector, FeatureState, GuardApi, collections as c};
use crate::wire::iso_millis;

/// What processing pushed records did; the reply body of `PutEvents`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PushReport {
    /// Records decoded and analysed.
    pub records: u64,
    /// Malformed records counted and skipped.
    pub malformed: u64,
    /// `location: error` of the first malformed records.
    pub errors: Vec<String>,
    /// Why the body as a whole was refused (unknown format, bad gzip), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Findings created by these records.
    pub findings_created: usize,
    /// Findings updated by these records.
    pub findings_updated: usize,
    /// The client's batch ID, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// True when this batch ID was processed before: the reply is the stored one and nothing
    /// was analysed again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

/// The request header naming a pushed batch (see the module documentation).
pub const BATCH_ID_HEADER: &str = "x-portcullis-batch-id";
/// Longest batch ID accepted.
pub const MAX_BATCH_ID_LEN: usize = 128;

/// Whether `id` is a valid batch ID: 1 to [`MAX_BATCH_ID_LEN`] characters of letters, digits
/// and `-_.:` (no `/`: it is part of a store key).
pub fn valid_batch_id(id: &str) -> bool {
    (1..=MAX_BATCH_ID_LEN).contains(&id.len())
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch))
}

/// Receives pushed log records: decodes them, runs the detector's engine and ingests the
/// findings before returning (the client's 200 means "processed").
#[async_trait::async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Processes `body` (any supported log format, gzip or not) for `detector_id`; `source` names
    /// the input in finding locations and logs. With a `batch_id` (already validated by
    /// [`valid_batch_id`]) a repeat of an earlier batch returns the stored reply without
    /// processing the body again, and the same ID with a different body is a
    /// [`GuardApiError::Conflict`].
    async fn put_events(
        &self,
        detector_id: &str,
        source: &str,
        batch_id: Option<&str>,
        body: &[u8],
    ) -> Result<PushReport>;
}

impl GuardApi {
    /// Installs the receiver of `PutEvents`; the first one installed stays (returns false when
    /// one already was).
    pub fn set_event_sink(&self, sink: std::sync::Arc<dyn EventSink>) -> bool {
        self.events.set(sink).is_ok()
    }

    /// The receiver of `PutEvents`, if one was installed.
    pub fn event_sink(&self) -> Option<std::sync::Arc<dyn EventSink>> {
        self.events.get().cloned()
    }

    /// The detector of `account` in `region`, created (enabled, default features) when there is
    /// none.
    pub async fn ensure_detector(&self, account: &str, region: &str) -> Result<Detector> {
        for _ in 0..4 {
            if let Some(d) = self.detector_in(account, region).await? {
                return Ok(d.value);
            }
            let now = time::OffsetDateTime::now_utc();
            let secs = now.unix_timestamp();
            let features: BTreeMap<String, FeatureState> = DEFAULT_FEATURES
                .iter()
                .map(|(n, s)| {
                    (
                        (*n).to_owned(),
                        FeatureState {
                            status: (*s).to_owned(),
                            updated_at: secs,
                            additional: BTreeMap::new(),
                        },
                    )
                })
                .collect();
            let d = Detector {
                id: new_id(),
                account: account.to_owned(),
                region: region.to_owned(),
                enabled: true,
                finding_publishing_frequency: "SIX_HOURS".into(),
                features,
                created_at: iso_millis(now),
                updated_at: iso_millis(now),
                tags: BTreeMap::new(),
            };
            let value =
                serde_json::to_value(&d).map_err(|e| GuardApiError::Internal(e.to_string()))?;
            let ops = vec![
                WriteOp::put(
                    c::DETECTORS,
                    &format!("{account}/{region}"),
                    value,
                    Precondition::Absent,
                ),
                WriteOp::put(
                    c::DETECTOR_IDS,
                    &d.id,
                    GuardApi::detector_index_value(&d),
                    Precondition::Absent,
                ),
            ];
            match self.store.write_batch(&ops).await {
                Ok(()) => {
                    tracing::info!(detector = %d.id, %account, %region, "created a detector for the configured log sources");
                    return Ok(d);
                }
                Err(e) if e.is_condition_failed() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(GuardApiError::Internal(
            "the detector could not be created".into(),
        ))
    }
}

/// Longest `source` name accepted.
const MAX_SOURCE_LEN: usize = 128;

/// `PutEvents`: authorises `guardduty:PutEvents` on the detector, then hands the raw body to the
/// installed [`EventSink`]. The optional `source` query parameter names the input.
pub(crate) async fn put(ctx: &crate::ops::Ctx<'_>) -> Result<crate::ops::Done> {
    let d = ctx.detector("PutEvents").await?;
    let source = ctx.query("source").unwrap_or("push");
    if source.is_empty()
        || source.len() > MAX_SOURCE_LEN
        || !source
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:/".contains(ch))
    {
        return Err(GuardApiError::invalid(
            "source must be 1 to 128 characters of letters, digits and -_.:/",
        ));
    }
    let batch_id = batch_id_of(ctx)?;
    let sink = ctx.api.event_sink().ok_or_else(|| {
        GuardApiError::BadRequest("Log ingestion is not running on this server.".into())
    })?;
    let report = sink
        .put_events(&d.value.id, source, batch_id.as_deref(), &ctx.req.body)
        .await?;
    let body = serde_json::to_value(&report).map_err(|e| GuardApiError::Internal(e.to_string()))?;
    Ok(crate::ops::Done::ok(body))
}

/// The batch ID of a `PutEvents` request: the [`BATCH_ID_HEADER`] header or the `batchId`
/// query parameter (both may be given when they agree).
fn batch_id_of(ctx: &crate::ops::Ctx<'_>) -> Result<Option<String>> {
    let header = match ctx.req.headers.get(BATCH_ID_HEADER) {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            GuardApiError::invalid(format!("{BATCH_ID_HEADER} must be visible ASCII"))
        })?),
    };
    let query = ctx.query("batchId");
    let id = match (header, query) {
        (Some(h), Some(q)) if h != q => {
            return Err(GuardApiError::invalid(format!(
                "the {BATCH_ID_HEADER} header and the batchId parameter differ"
            )));
        }
        (h, q) => h.or(q),
    };
    match id {
        Some(id) if !valid_batch_id(id) => Err(GuardApiError::invalid(format!(
            "batchId must be 1 to {MAX_BATCH_ID_LEN} characters of letters, digits and -_.:"
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids() {
        assert!(valid_batch_id("shipper-1:2026-01-01T00.17_3"));
        assert!(!valid_batch_id(""));
        assert!(!valid_batch_id("a/b"));
        assert!(!valid_batch_id("a b"));
        assert!(!valid_batch_id(&"x".repeat(MAX_BATCH_ID_LEN + 1)));
        let r = PushReport {
            records: 2,
            batch_id: Some("b1".into()),
            ..PushReport::default()
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["batchId"], "b1");
        assert!(v.get("replayed").is_none());
        let back: PushReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    proptest::proptest! {
        #[test]
        fn batch_ids_are_store_key_safe(id in "\\PC{0,140}") {
            if valid_batch_id(&id) {
                proptest::prop_assert!(!id.contains('/') && !id.is_empty() && id.len() <= MAX_BATCH_ID_LEN);
            }
        }
    }
}
