//! [`Feed`]: one long-lived detection [`Engine`] per detector, shared by every source that feeds
//! it, and the commit that moves its findings into the GuardDuty API.
//!
//! The engine's findings carry cumulative counts; the feed remembers how much of each it has
//! already written and writes only the difference, so [`portcullis_guard_api::ingest::merge`]
//! (which adds counts) aggregates repeated activity into one finding without double counting.
//! A commit writes those findings and every checkpoint recorded since the last commit in one
//! transaction ([`GuardApi::ingest_batch`]): after a crash the store holds either both or
//! neither, so the records after the last checkpoint are read again and counted once.
//!
//! The engine's per-key windows live in memory: a restart keeps every finding and count but
//! starts threshold detectors (port scans, brute force) afresh.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_guard_api::analyze::trusted;
use portcullis_guard_api::state::SetKind;
use portcullis_guard_api::{BatchReport, GuardApi};
use portcullis_guard_detect::core::decode::DecodeOptions;
use portcullis_guard_detect::core::intel::ThreatIntel;
use portcullis_guard_detect::{Config, Engine, IngestReport};
use portcullis_store::WriteOp;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::{IngestError, Result};
use crate::export::Exports;

/// Counters of a feed, readable while it runs.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Records analysed.
    pub records: AtomicU64,
    /// Malformed records counted and skipped.
    pub malformed: AtomicU64,
    /// Inputs (chunks, pushes) refused as a whole.
    pub refused: AtomicU64,
    /// Successful commits.
    pub commits: AtomicU64,
    /// Findings created.
    pub created: AtomicU64,
    /// Findings updated.
    pub updated: AtomicU64,
}

/// What a commit wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// Findings created.
    pub created: usize,
    /// Findings updated.
    pub updated: usize,
    /// Checkpoints written or removed.
    pub checkpoints: usize,
}

/// The mutable half of a feed.
pub(crate) struct FeedState {
    engine: Engine,
    inputs: HashMap<String, u32>,
    /// Finding ID → count already written.
    written: HashMap<String, u64>,
    /// Checkpoint writes waiting for the next commit, by key (the latest wins).
    pending: BTreeMap<String, WriteOp>,
    /// Records processed since the last commit.
    dirty: bool,
}

impl FeedState {
    /// The engine handle of an input name (registered once).
    pub(crate) fn input(&mut self, name: &str) -> u32 {
        if let Some(h) = self.inputs.get(name) {
            return *h;
        }
        let h = self.engine.add_input(name);
        self.inputs.insert(name.to_owned(), h);
        h
    }

    /// Runs a chunk of an input through the engine.
    pub(crate) fn ingest(
        &mut self,
        input: u32,
        first_line: u64,
        bytes: &[u8],
        opts: &DecodeOptions,
    ) -> IngestReport {
        self.dirty = true;
        let first = u32::try_from(first_line).unwrap_or(u32::MAX);
        self.engine.ingest_chunk(input, first, bytes, opts)
    }

    /// Records a checkpoint write for the next commit.
    pub(crate) fn checkpoint(&mut self, op: WriteOp) {
        self.dirty = true;
        self.pending.insert(op.key().to_owned(), op);
    }
}

/// One detector's engine and its commits.
pub struct Feed {
    api: GuardApi,
    detector: String,
    state: Mutex<FeedState>,
    trusted: ThreatIntel,
    exports: Exports,
    /// Counters.
    pub stats: FeedStats,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("detector", &self.detector)
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// A feed for an existing detector: its ACTIVE threat lists go into the engine, its ACTIVE
    /// trusted IP list drops findings about those addresses (lists are read once, here).
    pub async fn open(api: GuardApi, detector_id: &str, exports: Exports) -> Result<Arc<Feed>> {
        let d = api
            .detector_by_id(detector_id)
            .await?
            .ok_or_else(|| IngestError::NoDetector(detector_id.to_owned()))?
            .value;
        let threats = api.active_lists(&d.id, SetKind::ThreatIntelSet).await?;
        let trusted = api.active_lists(&d.id, SetKind::IpSet).await?;
        let cfg = Config {
            detector_id: d.id.clone(),
            default_account: d.account.clone(),
            default_region: d.region.clone(),
            ..Config::default()
        };
        Ok(Arc::new(Feed {
            api,
            detector: d.id,
            state: Mutex::new(FeedState {
                engine: Engine::new(cfg, threats),
                inputs: HashMap::new(),
                written: HashMap::new(),
                pending: BTreeMap::new(),
                dirty: false,
            }),
            trusted,
            exports,
            stats: FeedStats::default(),
        }))
    }

    /// The detector's ID.
    pub fn detector(&self) -> &str {
        &self.detector
    }

    /// The API the feed writes to.
    pub fn api(&self) -> &GuardApi {
        &self.api
    }

    /// Locks the engine (sources process records and record checkpoints under one lock, so a
    /// commit sees both or neither).
    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, FeedState> {
        self.state.lock().await
    }

    /// Adds an ingest report to the counters and logs its malformed records.
    pub(crate) fn account(&self, what: &str, r: &IngestReport) {
        self.stats.records.fetch_add(r.records, Ordering::Relaxed);
        self.stats
            .malformed
            .fetch_add(r.malformed, Ordering::Relaxed);
        for e in &r.errors {
            tracing::warn!(detector = %self.detector, input = %what, "malformed record skipped: {e}");
        }
        if r.malformed > u64::try_from(r.errors.len()).unwrap_or(0) {
            tracing::warn!(detector = %self.detector, input = %what, malformed = r.malformed, "more malformed records skipped");
        }
        if let Some(why) = &r.refused {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(detector = %self.detector, input = %what, "input refused: {why}");
        }
    }

    /// Writes the findings' increments and the pending checkpoints in one transaction, then
    /// exports what was written. Runs in its own task, so a caller that is cancelled half-way
    /// cannot leave the feed believing a write did not happen when it did.
    pub async fn commit(self: &Arc<Self>) -> Result<Committed> {
        let me = self.clone();
        tokio::spawn(async move { me.commit_now().await })
            .await
            .map_err(|e| IngestError::Task(e.to_string()))?
    }

    async fn commit_now(&self) -> Result<Committed> {
        let mut st = self.state.lock().await;
        if !st.dirty {
            return Ok(Committed::default());
        }
        let mut docs = Vec::new();
        let mut counts = Vec::new();
        for f in st.engine.findings() {
            let total = f.service.count;
            let before = st.written.get(&f.id).copied().unwrap_or(0);
            if total <= before {
                continue;
            }
            counts.push((f.id.clone(), total));
            let mut doc = serde_json::to_value(&f)
                .map_err(|e| IngestError::Task(format!("finding does not serialize: {e}")))?;
            if let Some(s) = doc.get_mut("service").and_then(Value::as_object_mut) {
                s.insert("count".into(), Value::from(total - before));
            }
            if !trusted(&doc, &self.trusted) {
                docs.push(doc);
            }
        }
        let ops: Vec<WriteOp> = st.pending.values().cloned().collect();
        let checkpoints = ops.len();
        let BatchReport { report, stored } =
            self.api.ingest_batch(&self.detector, docs, ops).await?;
        for (id, total) in counts {
            st.written.insert(id, total);
        }
        st.pending.clear();
        st.dirty = false;
        drop(st);
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .created
            .fetch_add(report.created as u64, Ordering::Relaxed);
        self.stats
            .updated
            .fetch_add(report.updated as u64, Ordering::Relaxed);
        self.exports.publish(&stored);
        Ok(Committed {
            created: report.created,
            updated: report.updated,
            checkpoints,
        })
    }
}

/// Every feed of the process, one per detector, created on first use.
#[derive(Clone, Debug)]
pub struct Feeds {
    api: GuardApi,
    exports: Exports,
    feeds: Arc<Mutex<HashMap<String, Arc<Feed>>>>,
}

impl Feeds {
    /// No feeds yet.
    pub fn new(api: GuardApi, exports: Exports) -> Feeds {
        Feeds {
            api,
            exports,
            feeds: Arc::default(),
        }
    }

    /// The feed of a detector, opened on first use.
    pub async fn get(&self, detector_id: &str) -> Result<Arc<Feed>> {
        let mut map = self.feeds.lock().await;
        if let Some(f) = map.get(detector_id) {
            return Ok(f.clone());
        }
        let f = Feed::open(self.api.clone(), detector_id, self.exports.clone()).await?;
        map.insert(detector_id.to_owned(), f.clone());
        Ok(f)
    }

    /// Every open feed.
    pub async fn all(&self) -> Vec<Arc<Feed>> {
        self.feeds.lock().await.values().cloned().collect()
    }

    /// Commits every feed; failures are logged.
    pub async fn commit_all(&self) {
        for f in self.all().await {
            if let Err(e) = f.commit().await {
                tracing::error!(detector = %f.detector(), error = %e, "writing findings and checkpoints failed; retrying at the next flush");
            }
        }
    }

    /// The API.
    pub fn api(&self) -> &GuardApi {
        &self.api
    }
}
