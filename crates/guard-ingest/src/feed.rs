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
//! The engine's learned baselines (per-identity and per-instance profiles) are saved in the
//! store collection [`BASELINES`] with the same commit: the profiles changed since the last
//! commit go into the transaction with the findings and checkpoints, and [`Feed::open`] loads
//! them back, so a restart keeps what was learned (and the learning period's start).
//! The engine's per-key windows live in memory: a restart keeps every finding and count but
//! starts threshold detectors (port scans, brute force) afresh.
//!
//! A pushed batch that carries a batch ID leaves its reply pending in the feed
//! ([`crate::push`]); the commit that writes the batch's findings writes the reply too, in
//! the same transaction, so a retry either finds the reply (and is not counted again) or finds
//! the batch still pending in memory.
//!
//! Threat lists and the trusted IP list are reloaded while running ([`Feed::reload_lists`]):
//! the new lists are read and compiled without the engine's lock, then swapped in between
//! two records, so detection never waits for a list to load.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_guard_api::analyze::trusted;
use portcullis_guard_api::state::SetKind;
use portcullis_guard_api::{BatchReport, GuardApi};
use portcullis_guard_detect::baseline::BASELINE_DAYS;
use portcullis_guard_detect::core::decode::DecodeOptions;
use portcullis_guard_detect::core::intel::ThreatIntel;
use portcullis_guard_detect::geo::GeoLookup;
use portcullis_guard_detect::{Config, Engine, IngestReport};
use portcullis_store::{Precondition, WriteOp};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::error::{IngestError, Result};
use crate::export::Exports;

/// The store collection of the learned baselines: `{detectorId}/{document}` (documents as
/// [`portcullis_guard_detect::baseline::Baselines::take_dirty`] names them).
pub const BASELINES: &str = "guard_baselines";

/// Per-feed settings from the `[guard]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    /// Learning period of the baselines in days (`[guard] baseline_days`).
    pub baseline_days: u32,
    /// Per-detector overrides of [`FeedSettings::baseline_days`].
    pub baseline_days_by_detector: BTreeMap<String, u32>,
    /// MaxMind DB city/country database for findings' `remoteIpDetails` (`[guard] geoip_db`).
    pub geoip_db: Option<std::path::PathBuf>,
    /// MaxMind DB ASN database (`[guard] asn_db`).
    pub asn_db: Option<std::path::PathBuf>,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            baseline_days: BASELINE_DAYS,
            baseline_days_by_detector: BTreeMap::new(),
            geoip_db: None,
            asn_db: None,
        }
    }
}

impl FeedSettings {
    /// The GeoIP/ASN databases, read and opened (`None` when neither is configured).
    pub async fn geo(&self) -> Result<Option<GeoLookup>> {
        async fn read(p: Option<&std::path::Path>) -> Result<Option<Vec<u8>>> {
            match p {
                None => Ok(None),
                Some(p) => tokio::fs::read(p)
                    .await
                    .map(Some)
                    .map_err(|e| IngestError::Config(format!("{}: {e}", p.display()))),
            }
        }
        if self.geoip_db.is_none() && self.asn_db.is_none() {
            return Ok(None);
        }
        let city = read(self.geoip_db.as_deref()).await?;
        let asn = read(self.asn_db.as_deref()).await?;
        GeoLookup::from_bytes(city, asn)
            .map(Some)
            .map_err(|e| IngestError::Config(e.to_string()))
    }

    /// The learning period of one detector.
    pub fn baseline_days_of(&self, detector: &str) -> u32 {
        self.baseline_days_by_detector
            .get(detector)
            .copied()
            .unwrap_or(self.baseline_days)
    }
}

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
    /// Times the threat lists or trusted IP list were reloaded.
    pub list_reloads: AtomicU64,
    /// Baseline documents written.
    pub baseline_docs: AtomicU64,
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
    /// Pushed batches whose reply waits for the next commit, by store key.
    batches: BTreeMap<String, crate::push::PendingBatch>,
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

    /// The pushed batch waiting for the next commit under `key`, if any.
    pub(crate) fn pending_batch(&self, key: &str) -> Option<&crate::push::PendingBatch> {
        self.batches.get(key)
    }

    /// Records a pushed batch's reply for the next commit.
    pub(crate) fn add_batch(&mut self, key: String, batch: crate::push::PendingBatch) {
        self.dirty = true;
        self.batches.insert(key, batch);
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
    trusted: std::sync::RwLock<Arc<ThreatIntel>>,
    lists_stamp: Mutex<String>,
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
    /// A feed for an existing detector with the default [`FeedSettings`]: its ACTIVE threat
    /// lists go into the engine, its ACTIVE trusted IP list drops findings about those
    /// addresses (both reloaded by [`Feed::reload_lists`]); its stored baselines are loaded.
    pub async fn open(api: GuardApi, detector_id: &str, exports: Exports) -> Result<Arc<Feed>> {
        Self::open_with(api, detector_id, exports, &FeedSettings::default()).await
    }

    /// [`Feed::open`] with settings.
    pub async fn open_with(
        api: GuardApi,
        detector_id: &str,
        exports: Exports,
        settings: &FeedSettings,
    ) -> Result<Arc<Feed>> {
        let d = api
            .detector_by_id(detector_id)
            .await?
            .ok_or_else(|| IngestError::NoDetector(detector_id.to_owned()))?
            .value;
        let stamp = api.lists_stamp(&d.id).await?;
        let threats = api.active_lists(&d.id, SetKind::ThreatIntelSet).await?;
        let trusted = api.active_lists(&d.id, SetKind::IpSet).await?;
        let cfg = Config {
            detector_id: d.id.clone(),
            default_account: d.account.clone(),
            default_region: d.region.clone(),
            baseline_days: settings.baseline_days_of(&d.id),
            ..Config::default()
        };
        let mut engine = Engine::new(cfg, threats);
        if let Some(geo) = settings.geo().await? {
            engine = engine.with_geo(geo);
        }
        let prefix = format!("{}/", d.id);
        let docs = portcullis_store::list_all(&*api.store, BASELINES, &prefix).await?;
        let loaded = docs.len();
        for item in docs {
            let key = item.key.strip_prefix(&prefix).unwrap_or(&item.key);
            if let Err(e) = engine.baselines_mut().restore(key, item.value) {
                tracing::warn!(detector = %d.id, error = %e, "stored baseline skipped");
            }
        }
        if loaded > 0 {
            tracing::info!(detector = %d.id, documents = loaded, "baselines loaded");
        }
        Ok(Arc::new(Feed {
            api,
            detector: d.id,
            state: Mutex::new(FeedState {
                engine,
                inputs: HashMap::new(),
                written: HashMap::new(),
                pending: BTreeMap::new(),
                batches: BTreeMap::new(),
                dirty: false,
            }),
            trusted: std::sync::RwLock::new(Arc::new(trusted)),
            lists_stamp: Mutex::new(stamp),
            exports,
            stats: FeedStats::default(),
        }))
    }

    /// Reloads the detector's threat lists and trusted IP list when they changed (through the
    /// API or in their local files) since they were last loaded; returns whether it did. The
    /// lists are read and compiled without holding the engine, then swapped in between records.
    pub async fn reload_lists(&self) -> Result<bool> {
        let mut last = self.lists_stamp.lock().await;
        let stamp = self.api.lists_stamp(&self.detector).await?;
        if *last == stamp {
            return Ok(false);
        }
        let threats = self
            .api
            .active_lists(&self.detector, SetKind::ThreatIntelSet)
            .await?;
        let trusted = Arc::new(
            self.api
                .active_lists(&self.detector, SetKind::IpSet)
                .await?,
        );
        let old = self.state.lock().await.engine.set_intel(threats);
        drop(old);
        if let Ok(mut t) = self.trusted.write() {
            *t = trusted;
        }
        *last = stamp;
        self.stats.list_reloads.fetch_add(1, Ordering::Relaxed);
        tracing::info!(detector = %self.detector, "threat lists reloaded");
        Ok(true)
    }

    /// The detector's ID.
    pub fn detector(&self) -> &str {
        &self.detector
    }

    /// Runs `f` on the feed's engine (its findings, counters, learned baselines), under the
    /// engine's lock.
    pub async fn inspect<R>(&self, f: impl FnOnce(&Engine) -> R) -> R {
        f(&self.state.lock().await.engine)
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
        let trusted_ips = self
            .trusted
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|_| Arc::new(ThreatIntel::new()));
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
            if !trusted(&doc, &trusted_ips) {
                docs.push(doc);
            }
        }
        let mut ops: Vec<WriteOp> = st.pending.values().cloned().collect();
        let checkpoints = ops.len();
        // Profiles changed since the last commit; a failed commit loses them until they change
        // again (baselines are statistics: a few missed updates do not matter).
        let baseline = st.engine.baselines_mut().take_dirty();
        let baseline_docs = baseline.len();
        for (k, v) in baseline {
            ops.push(WriteOp::put(
                BASELINES,
                &format!("{}/{k}", self.detector),
                v,
                Precondition::None,
            ));
        }
        let batches = &st.batches;
        let finish = move |r: &portcullis_guard_api::IngestReport| {
            batches
                .iter()
                .map(|(key, b)| b.write(key, r))
                .collect::<Vec<_>>()
        };
        let BatchReport { report, stored } = self
            .api
            .ingest_batch_with(&self.detector, docs, ops, &finish)
            .await?;
        for (id, total) in counts {
            st.written.insert(id, total);
        }
        st.pending.clear();
        st.batches.clear();
        st.dirty = false;
        drop(st);
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .baseline_docs
            .fetch_add(baseline_docs as u64, Ordering::Relaxed);
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
    settings: Arc<FeedSettings>,
    feeds: Arc<Mutex<HashMap<String, Arc<Feed>>>>,
}

impl Feeds {
    /// No feeds yet.
    pub fn new(api: GuardApi, exports: Exports) -> Feeds {
        Self::with_settings(api, exports, FeedSettings::default())
    }

    /// No feeds yet; feeds open with `settings`.
    pub fn with_settings(api: GuardApi, exports: Exports, settings: FeedSettings) -> Feeds {
        Feeds {
            api,
            exports,
            settings: Arc::new(settings),
            feeds: Arc::default(),
        }
    }

    /// Reloads every feed's lists that changed; failures are logged.
    pub async fn reload_lists(&self) {
        for f in self.all().await {
            if let Err(e) = f.reload_lists().await {
                tracing::warn!(detector = %f.detector(), error = %e, "reloading threat lists failed; keeping the current ones");
            }
        }
    }

    /// The feed of a detector, opened on first use.
    pub async fn get(&self, detector_id: &str) -> Result<Arc<Feed>> {
        let mut map = self.feeds.lock().await;
        if let Some(f) = map.get(detector_id) {
            return Ok(f.clone());
        }
        let f = Feed::open_with(
            self.api.clone(),
            detector_id,
            self.exports.clone(),
            &self.settings,
        )
        .await?;
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
