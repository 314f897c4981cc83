//! Rate-based rule counters shared across WAF proxy nodes through Redis.
//!
//! [`RedisRateCounter`] implements `portcullis_waf_core::rate::RateCounter` so that several proxy
//! nodes behind one Redis enforce one limit together: a client over the limit on the sum of all
//! nodes is blocked on every node within about two flush intervals.
//!
//! # How it works
//!
//! * Every node counts **locally** in the same sliding window as `InMemoryRateCounter` (60
//!   sub-buckets per window). [`RateCounter::add`] and [`RateCounter::count`] only take a short
//!   local lock and never touch the network: they return *own window + the other nodes' count
//!   learnt at the last sync*.
//! * A background tokio task ([`RedisRateCounter::connect`]) runs a sync every `flush_interval`
//!   (default 250 ms): one Lua script call per 256 active keys writes this node's changed
//!   bucket counts and returns, for each key, the other nodes' total (see [`sync`] for the Redis
//!   layout). Redis key names hold a SHA-256 prefix of the rate key, never client data.
//! * **Outages**: a failed or timed-out sync (default timeout 1 s) logs one warning per outage,
//!   increments [`sync::METRIC_SYNC_FAILURES`], and retries with a doubling backoff (from the flush
//!   interval up to `max_backoff`). Local counting never stops and no local count is lost; the
//!   others' figures are dropped once older than `stale_after` (per-node limits). On recovery
//!   every node rewrites its whole window, so even a restarted, empty Redis is refilled.
//! * **Memory**: at most `max_keys` keys per node; idle keys are dropped at each sync and the
//!   least-counted of a small sample is evicted when full.
//!
//! The caller's clock (`now_ms`) should be the Unix time in milliseconds on every node: bucket
//! indices are compared across nodes.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod config;
pub mod error;
mod local;
pub mod sync;
pub mod target;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portcullis_waf_core::rate::RateCounter;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use config::RedisRateConfig;
pub use error::Error;
pub use sync::SyncReport;
pub use target::Endpoint;

use local::{LocalKey, Table, hash_key};
use sync::{SyncCtx, Syncer};

/// Extrapolates the caller's clock (whatever epoch `now_ms` uses) for the sync task: the last
/// `now_ms` seen plus the monotonic time elapsed since.
#[derive(Debug)]
struct Clock {
    base: Instant,
    caller_ms: AtomicU64,
    /// Nanoseconds after `base` when `caller_ms` was seen; `u64::MAX` before the first request.
    seen_at_ns: AtomicU64,
}

impl Clock {
    fn observe(&self, now_ms: u64) {
        let at = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.caller_ms.store(now_ms, Ordering::Relaxed);
        self.seen_at_ns.store(at, Ordering::Relaxed);
    }

    fn now_ms(&self) -> Option<u64> {
        let seen = self.seen_at_ns.load(Ordering::Relaxed);
        if seen == u64::MAX {
            return None;
        }
        let elapsed_ns = u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_sub(seen);
        Some(
            self.caller_ms
                .load(Ordering::Relaxed)
                .saturating_add(elapsed_ns / 1_000_000),
        )
    }
}

/// A [`RateCounter`] whose counts are shared with the other nodes using the same Redis.
pub struct RedisRateCounter {
    table: Table,
    clock: Clock,
    config: RedisRateConfig,
    node_id: String,
    syncer: tokio::sync::Mutex<Syncer>,
    shared: AtomicBool,
}

impl std::fmt::Debug for RedisRateCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateCounter")
            .field("node_id", &self.node_id)
            .field("key_prefix", &self.config.key_prefix)
            .field("tracked_keys", &self.table.len())
            .field("shared", &self.is_shared())
            .finish_non_exhaustive()
    }
}

impl RedisRateCounter {
    /// A counter without a background task: drive it with [`RedisRateCounter::sync_now`]. Does not
    /// contact Redis.
    pub fn new(config: RedisRateConfig) -> Result<RedisRateCounter, Error> {
        config.validate()?;
        let syncer = Syncer::new(&config)?;
        let node_id = config.node_id.clone().unwrap_or_else(random_node_id);
        let stale_ms = u64::try_from(config.stale_after.as_millis()).unwrap_or(u64::MAX);
        Ok(RedisRateCounter {
            table: Table::new(config.max_keys, stale_ms),
            clock: Clock {
                base: Instant::now(),
                caller_ms: AtomicU64::new(0),
                seen_at_ns: AtomicU64::new(u64::MAX),
            },
            config,
            node_id,
            syncer: tokio::sync::Mutex::new(syncer),
            shared: AtomicBool::new(false),
        })
    }

    /// A counter and its background sync task (spawned on the current tokio runtime). Succeeds
    /// even when Redis is down: the node counts alone until Redis answers.
    pub fn connect(config: RedisRateConfig) -> Result<(Arc<RedisRateCounter>, SyncHandle), Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidConfig("connect must run inside a tokio runtime".into()))?;
        let every = config.flush_interval;
        let counter = Arc::new(RedisRateCounter::new(config)?);
        let stop = Arc::new(Notify::new());
        let task = runtime.spawn(run(Arc::downgrade(&counter), Arc::clone(&stop), every));
        Ok((counter, SyncHandle { stop, task }))
    }

    /// Pushes this node's new counts and pulls the others' now, ignoring the reconnection
    /// backoff. Never blocks [`RateCounter::add`].
    pub async fn sync_now(&self) -> Result<SyncReport, Error> {
        self.sync(true).await
    }

    async fn sync(&self, force: bool) -> Result<SyncReport, Error> {
        let mut syncer = self.syncer.lock().await;
        let ctx = SyncCtx {
            table: &self.table,
            config: &self.config,
            node_id: &self.node_id,
            now_ms: self.clock.now_ms(),
        };
        let result = syncer.sync(&ctx, force).await;
        match &result {
            Ok(r) if r.skipped => {} // nothing was attempted: the state is unchanged
            _ => self
                .shared
                .store(syncer.healthy() && result.is_ok(), Ordering::Relaxed),
        }
        result
    }

    /// True when the last sync succeeded: the counts include the other nodes'.
    pub fn is_shared(&self) -> bool {
        self.shared.load(Ordering::Relaxed)
    }

    /// This node's identity in Redis.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The Redis key that holds `key`'s counts for `window_secs` (for operators and tests).
    pub fn redis_key(&self, key: &[u8], window_secs: u32) -> String {
        if Endpoint::parse(&self.config.url).is_ok_and(|e| e.is_cluster()) {
            return sync::cluster_key(&self.config.key_prefix, window_secs, &hash_key(key));
        }
        sync::redis_key(&self.config.key_prefix, window_secs, &hash_key(key))
    }

    /// Number of keys tracked by this node.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }
}

impl RateCounter for RedisRateCounter {
    fn add(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64 {
        self.clock.observe(now_ms);
        let local = LocalKey {
            window_secs,
            hash: hash_key(key),
        };
        let (count, evicted) = self.table.add(local, now_ms);
        if evicted > 0 {
            metrics::counter!(sync::METRIC_EVICTIONS).increment(evicted as u64);
        }
        count
    }

    fn count(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64 {
        self.table.count(
            LocalKey {
                window_secs,
                hash: hash_key(key),
            },
            now_ms,
        )
    }
}

/// Controls the background sync task of [`RedisRateCounter::connect`]. Dropping it leaves the
/// task running until the last `Arc` of the counter is dropped.
#[derive(Debug)]
pub struct SyncHandle {
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl SyncHandle {
    /// Stops the task after one last sync (attempted even during an outage, bounded by the I/O
    /// timeout) and waits for it.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "redis rate sync task ended abnormally");
        }
    }

    /// Stops the task at once, without a last sync.
    pub fn abort(&self) {
        self.task.abort();
    }
}

async fn run(counter: Weak<RedisRateCounter>, stop: Arc<Notify>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let Some(counter) = counter.upgrade() else { return };
                // Failures are logged and counted by the syncer.
                let _ = counter.sync(false).await;
            }
            () = stop.notified() => {
                if let Some(counter) = counter.upgrade() {
                    let _ = counter.sync(true).await;
                }
                return;
            }
        }
    }
}

fn random_node_id() -> String {
    use std::hash::BuildHasher;
    let seed = (
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let id = std::collections::hash_map::RandomState::new().hash_one(seed);
    format!("{id:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_and_missing_runtimes_are_errors() {
        assert!(matches!(
            RedisRateCounter::new(RedisRateConfig::new("not a url")),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            RedisRateCounter::new(RedisRateConfig::new("redis://host:notaport/")),
            Err(Error::Redis(_))
        ));
        assert!(matches!(
            RedisRateCounter::connect(RedisRateConfig::new("redis://127.0.0.1:1/")),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[tokio::test]
    async fn an_unreachable_redis_leaves_counting_local() {
        let mut c = RedisRateConfig::new("redis://127.0.0.1:1/");
        c.io_timeout = Duration::from_millis(200);
        let counter = RedisRateCounter::new(c).unwrap();
        assert_eq!(
            counter.sync_now().await.unwrap(),
            SyncReport {
                skipped: true,
                ..SyncReport::default()
            }
        );
        for i in 1..=3 {
            assert_eq!(counter.add(b"k", 60, 1_000), i);
        }
        assert!(counter.sync_now().await.is_err());
        assert!(!counter.is_shared());
        assert_eq!(counter.add(b"k", 60, 1_001), 4);
        assert_eq!(counter.count(b"k", 60, 1_001), 4);
        assert_eq!(counter.len(), 1);
    }

    /// Counts `portcullis_waf_rate_redis_sync_failures_total`; every other metric is dropped.
    struct FailureRecorder(Arc<AtomicU64>);

    struct Count(Arc<AtomicU64>);

    impl metrics::CounterFn for Count {
        fn increment(&self, value: u64) {
            self.0.fetch_add(value, Ordering::SeqCst);
        }
        fn absolute(&self, value: u64) {
            self.0.store(value, Ordering::SeqCst);
        }
    }

    impl metrics::Recorder for FailureRecorder {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            if key.name() == sync::METRIC_SYNC_FAILURES {
                metrics::Counter::from_arc(Arc::new(Count(Arc::clone(&self.0))))
            } else {
                metrics::Counter::noop()
            }
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One warning per outage, every failure counted (the test runs on one thread, so the
    /// thread-local recorder and subscriber see everything).
    #[tokio::test]
    async fn an_outage_warns_once_and_counts_every_failure() {
        let failures = Arc::new(AtomicU64::new(0));
        let recorder = FailureRecorder(Arc::clone(&failures));
        let _metrics = metrics::set_default_local_recorder(&recorder);
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let _tracing = tracing::subscriber::set_default(subscriber);

        let mut c = RedisRateConfig::new("redis://127.0.0.1:1/");
        c.io_timeout = Duration::from_millis(200);
        let counter = RedisRateCounter::new(c).unwrap();
        counter.add(b"k", 60, 1_000);
        for _ in 0..3 {
            assert!(counter.sync_now().await.is_err());
        }
        assert_eq!(failures.load(Ordering::SeqCst), 3);
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("redis unreachable").count(), 1, "{text}");
        assert!(text.contains("WARN"), "{text}");
    }
}
