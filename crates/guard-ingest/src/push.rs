//! Records pushed over the API (`PutEvents`): the [`EventSink`] the GuardDuty service hands them
//! to. The records go through the detector's long-lived engine and the findings are committed
//! before the reply, so a 200 means "processed and stored".
//!
//! **Idempotency.** A push may carry a batch ID (header `X-Portcullis-Batch-Id` or query
//! parameter `batchId`). Its reply is stored under `{detectorId}/{batchId}` in
//! [`PUSH_BATCHES`] by the commit that writes the batch's findings, in the same transaction,
//! together with the SHA-256 of the body. A repeat of the ID then:
//!
//! - finds the stored reply: the same body gets it back (`replayed: true`) without the records
//!   being analysed again; a different body is a `ConflictException` (409);
//! - finds the batch analysed but not yet committed (the first attempt's commit failed, so its
//!   client saw a 500): the commit is retried and its reply returned, still without analysing
//!   the records again.
//!
//! Pushes with the same ID wait for each other (a per-ID lock), so concurrent retries analyse
//! the batch once. Replies are kept [`BATCH_RETENTION_SECS`] and at most
//! [`MAX_BATCHES_PER_DETECTOR`] per detector (the oldest go first); an older ID counts as new.
//! The guarantee holds within one server: a retry sent to another node of a scale-out group
//! finds the reply only once the first node has committed it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use portcullis_guard_api::{EventSink, GuardApiError, IngestReport, PushReport};
use portcullis_guard_detect::core::decode::DecodeOptions;
use portcullis_store::{Precondition, WriteOp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::feed::{Feed, Feeds};

/// Largest decompressed push body.
pub const MAX_PUSH_DECOMPRESSED: usize = 64 << 20;
/// The store collection of pushed batches' replies: `{detectorId}/{batchId}`.
pub const PUSH_BATCHES: &str = "guard_push_batches";
/// How long a batch's reply is kept (a day: shippers retry within minutes).
pub const BATCH_RETENTION_SECS: i64 = 86_400;
/// Replies kept per detector; beyond it the oldest are pruned.
pub const MAX_BATCHES_PER_DETECTOR: usize = 10_000;
/// Keyed pushes between two prunes of a detector's stored replies.
const PRUNE_EVERY: u64 = 256;

/// A batch's stored reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredBatch {
    /// Hex SHA-256 of the body as received.
    pub digest: String,
    /// Unix seconds when it was processed.
    pub at: i64,
    /// The reply.
    pub reply: PushReport,
}

/// A batch analysed but not committed yet: its reply without the commit's counts.
#[derive(Debug, Clone)]
pub(crate) struct PendingBatch {
    stored: StoredBatch,
}

impl PendingBatch {
    /// The write of its reply, with the counts of the commit that carries it.
    pub(crate) fn write(&self, key: &str, r: &IngestReport) -> WriteOp {
        let mut b = self.stored.clone();
        b.reply.findings_created = r.created;
        b.reply.findings_updated = r.updated;
        let value = serde_json::to_value(&b).unwrap_or(serde_json::Value::Null);
        WriteOp::put(PUSH_BATCHES, key, value, Precondition::None)
    }
}

/// The `PutEvents` receiver over the process's feeds.
#[derive(Debug, Clone)]
pub struct PushSink {
    feeds: Feeds,
    locks: Arc<std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>>,
    keyed: Arc<std::sync::atomic::AtomicU64>,
}

fn api_error(e: crate::error::IngestError) -> GuardApiError {
    match e {
        crate::error::IngestError::Api(a) => a,
        crate::error::IngestError::Store(s) => GuardApiError::Store(s),
        other => GuardApiError::Internal(other.to_string()),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn digest(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn conflict(id: &str) -> GuardApiError {
    GuardApiError::Conflict(format!(
        "Batch {id} was already processed with a different body; use a new batch ID for new records."
    ))
}

impl PushSink {
    /// A receiver feeding `feeds`.
    pub fn new(feeds: Feeds) -> PushSink {
        PushSink {
            feeds,
            locks: Arc::default(),
            keyed: Arc::default(),
        }
    }

    /// The lock of one batch key (shared by every push holding it).
    fn lock_of(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut map) = self.locks.lock() else {
            return Arc::new(tokio::sync::Mutex::new(()));
        };
        if let Some(l) = map.get(key).and_then(Weak::upgrade) {
            return l;
        }
        if map.len() >= 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let l = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(key.to_owned(), Arc::downgrade(&l));
        l
    }

    /// Analyses `body` and commits; with `batch`, records its pending reply under the same
    /// engine lock as the records.
    async fn process(
        &self,
        feed: &Arc<Feed>,
        source: &str,
        body: &[u8],
        batch: Option<(&str, &str, String)>,
    ) -> Result<PushReport, GuardApiError> {
        let opts = DecodeOptions {
            max_decompressed: MAX_PUSH_DECOMPRESSED,
            ..DecodeOptions::default()
        };
        let name = format!("push:{source}");
        let r = {
            let mut st = feed.lock().await;
            let input = st.input(&name);
            let r = st.ingest(input, 1, body, &opts);
            if let Some((key, id, sum)) = batch {
                let reply = PushReport {
                    records: r.records,
                    malformed: r.malformed,
                    errors: r.errors.clone(),
                    refused: r.refused.clone(),
                    batch_id: Some(id.to_owned()),
                    ..PushReport::default()
                };
                st.add_batch(
                    key.to_owned(),
                    PendingBatch {
                        stored: StoredBatch {
                            digest: sum,
                            at: now_secs(),
                            reply,
                        },
                    },
                );
            }
            r
        };
        feed.account(&name, &r);
        let done = feed.commit().await.map_err(api_error)?;
        Ok(PushReport {
            records: r.records,
            malformed: r.malformed,
            errors: r.errors,
            refused: r.refused,
            findings_created: done.created,
            findings_updated: done.updated,
            batch_id: None,
            replayed: false,
        })
    }

    /// A push with a batch ID (see the module documentation).
    async fn keyed(
        &self,
        feed: &Arc<Feed>,
        source: &str,
        id: &str,
        body: &[u8],
    ) -> Result<PushReport, GuardApiError> {
        let key = format!("{}/{id}", feed.detector());
        let lock = self.lock_of(&key);
        let _held = lock.lock().await;
        let sum = digest(body);
        let store = feed.api().store.clone();
        let stored = |item: Option<portcullis_store::Item>| {
            item.and_then(|i| serde_json::from_value::<StoredBatch>(i.value).ok())
                .filter(|b| now_secs().saturating_sub(b.at) <= BATCH_RETENTION_SECS)
        };
        if let Some(b) = stored(store.get(PUSH_BATCHES, &key).await?) {
            return if b.digest == sum {
                Ok(PushReport {
                    replayed: true,
                    ..b.reply
                })
            } else {
                Err(conflict(id))
            };
        }
        let pending = feed
            .lock()
            .await
            .pending_batch(&key)
            .map(|b| b.stored.digest.clone());
        let reply = match pending {
            Some(d) if d != sum => return Err(conflict(id)),
            Some(_) => {
                // Analysed by an attempt whose commit failed: commit, do not analyse again.
                feed.commit().await.map_err(api_error)?;
                match stored(store.get(PUSH_BATCHES, &key).await?) {
                    Some(b) => PushReport {
                        replayed: true,
                        ..b.reply
                    },
                    None => {
                        return Err(GuardApiError::Internal(format!(
                            "batch {key} is neither pending nor stored after a commit"
                        )));
                    }
                }
            }
            None => {
                let mut r = self
                    .process(feed, source, body, Some((&key, id, sum)))
                    .await?;
                // Another commit may have carried the batch: the stored counts are its own.
                if let Some(b) = stored(store.get(PUSH_BATCHES, &key).await?) {
                    r.findings_created = b.reply.findings_created;
                    r.findings_updated = b.reply.findings_updated;
                }
                r.batch_id = Some(id.to_owned());
                r
            }
        };
        let n = self
            .keyed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n.is_multiple_of(PRUNE_EVERY)
            && let Err(e) = prune(&*store, feed.detector(), now_secs()).await
        {
            tracing::warn!(detector = %feed.detector(), error = %e, "pruning stored push batches failed");
        }
        Ok(reply)
    }
}

/// Deletes a detector's stored batch replies older than [`BATCH_RETENTION_SECS`] and the oldest
/// beyond [`MAX_BATCHES_PER_DETECTOR`]; returns how many it deleted.
pub async fn prune(
    store: &dyn portcullis_store::Store,
    detector: &str,
    now: i64,
) -> Result<usize, portcullis_store::StoreError> {
    let items = portcullis_store::list_all(store, PUSH_BATCHES, &format!("{detector}/")).await?;
    let mut aged: Vec<(i64, String)> = items
        .into_iter()
        .map(|i| {
            let at = i.value.get("at").and_then(serde_json::Value::as_i64);
            (at.unwrap_or(i64::MIN), i.key)
        })
        .collect();
    aged.sort();
    let over = aged.len().saturating_sub(MAX_BATCHES_PER_DETECTOR);
    let mut deleted = 0;
    for (i, (at, key)) in aged.iter().enumerate() {
        if i < over || now.saturating_sub(*at) > BATCH_RETENTION_SECS {
            if store.delete(PUSH_BATCHES, key, Precondition::None).await? {
                deleted += 1;
            }
        } else {
            break;
        }
    }
    Ok(deleted)
}

#[async_trait::async_trait]
impl EventSink for PushSink {
    async fn put_events(
        &self,
        detector_id: &str,
        source: &str,
        batch_id: Option<&str>,
        body: &[u8],
    ) -> Result<PushReport, GuardApiError> {
        let feed = self.feeds.get(detector_id).await.map_err(api_error)?;
        match batch_id {
            None => self.process(&feed, source, body, None).await,
            Some(id) => self.keyed(&feed, source, id, body).await,
        }
    }
}

#[cfg(test)]
mod tests;
