//! The network side: one Lua script call per batch of keys pushes this node's new bucket counts
//! and returns the other nodes' totals; connection, timeouts, backoff, outage logging and metrics.
//!
//! # Redis layout
//!
//! One hash per (window, key): `{prefix}:{window_secs}:{hex of the first 16 bytes of SHA-256(key)}`.
//! Its fields are `{bucket index}:{node id}` and hold that node's **absolute** request count for
//! the bucket, so a write that is retried (after a timeout whose command did run) never counts
//! twice, and after an outage a node simply rewrites every bucket of its window (a restarted,
//! empty Redis is refilled). Fields older than the window are deleted by the script and the hash
//! expires `window + 2 buckets + 1 s` after its last write. Nodes' clocks are assumed to agree to
//! well within one bucket (1/60 of the window), as NTP gives.
//!
//! Reading excludes the calling node's own fields: each node adds its exact local window to the
//! others' total, so nothing is counted twice and a node's own counts never depend on Redis.
//!
//! # Redis Cluster
//!
//! One script call touches several keys, which a cluster accepts only when they hash to one slot. With a
//! `redis+cluster://` URL the keys carry a hash tag, `{prefix}:{<window_secs>:<shard>}:{hex}` where the shard
//! is the first hash byte modulo [`CLUSTER_SHARDS`], and each script call holds keys of one tag only: the
//! keys of a window spread over [`CLUSTER_SHARDS`] slots (and so over the cluster's primaries), and every call
//! goes to the primary that owns its slot.

use std::time::{Duration, Instant};

use crate::Error;
use crate::config::RedisRateConfig;
use crate::local::{SyncItem, Table};
use crate::target::{Conn, Endpoint, Target};
use portcullis_waf_core::rate::BUCKETS;

/// Keys per script call: bounds how long one call occupies Redis.
const CHUNK: usize = 256;

/// Hash-tag shards per window in a Redis Cluster.
pub const CLUSTER_SHARDS: u8 = 16;

/// Counter of failed syncs (connection or script errors and timeouts).
pub const METRIC_SYNC_FAILURES: &str = "portcullis_waf_rate_redis_sync_failures_total";
/// Counter of successful syncs.
pub const METRIC_SYNCS: &str = "portcullis_waf_rate_redis_syncs_total";
/// Histogram of the duration of successful syncs, in seconds.
pub const METRIC_SYNC_SECONDS: &str = "portcullis_waf_rate_redis_sync_seconds";
/// Gauge of keys tracked by this node.
pub const METRIC_TRACKED_KEYS: &str = "portcullis_waf_rate_redis_tracked_keys";
/// Counter of keys evicted because the table was full.
pub const METRIC_EVICTIONS: &str = "portcullis_waf_rate_redis_evictions_total";
/// Gauge: 1 while the last sync succeeded (limits shared), 0 during an outage (per-node limits).
pub const METRIC_SHARED: &str = "portcullis_waf_rate_redis_shared";

const SCRIPT: &str = r"
-- KEYS[i]: one hash per (window, hashed key); field '<bucket>:<node>' = that node's count.
-- ARGV[1]: calling node; ARGV[2]: buckets per window; then, per key:
--   now_bucket, ttl_ms, n, and n pairs (bucket, absolute count) to write.
-- Returns per key: the other nodes' total over the window ending at now_bucket, and their
-- count in its oldest bucket (which leaves the window next).
local me = ARGV[1]
local nb = tonumber(ARGV[2])
local a = 3
local out = {}
for i = 1, #KEYS do
  local k = KEYS[i]
  local now = tonumber(ARGV[a])
  local ttl = ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, n do
    redis.call('HSET', k, ARGV[a] .. ':' .. me, ARGV[a + 1])
    a = a + 2
  end
  if n > 0 then
    redis.call('PEXPIRE', k, ttl)
  end
  local first = now - nb + 1
  local total, oldest = 0, 0
  local flat = redis.call('HGETALL', k)
  for f = 1, #flat, 2 do
    local field = flat[f]
    local sep = string.find(field, ':', 1, true)
    local b = sep and tonumber(string.sub(field, 1, sep - 1))
    if b == nil or b < first then
      redis.call('HDEL', k, field)
    elseif string.sub(field, sep + 1) ~= me then
      local c = tonumber(flat[f + 1]) or 0
      total = total + c
      if b == first then
        oldest = oldest + c
      end
    end
  end
  out[#out + 1] = total
  out[#out + 1] = oldest
end
return out
";

/// The Redis key of a hashed rate key.
pub fn redis_key(prefix: &str, window_secs: u32, hash: &[u8; 16]) -> String {
    format!("{prefix}:{window_secs}:{}", hex::encode(hash))
}

/// The Redis key of a hashed rate key in a Redis Cluster: hash-tagged by window and shard.
pub fn cluster_key(prefix: &str, window_secs: u32, hash: &[u8; 16]) -> String {
    format!(
        "{prefix}:{{{window_secs}:{:02x}}}:{}",
        hash[0] % CLUSTER_SHARDS,
        hex::encode(hash)
    )
}

/// What one sync did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    /// True when the sync was not attempted (waiting for the reconnection backoff, or no request
    /// seen yet).
    pub skipped: bool,
    /// Keys exchanged with Redis.
    pub keys: usize,
    /// Bucket counts written.
    pub fields_written: usize,
    /// Idle keys dropped from the local table.
    pub dropped: usize,
}

/// What the sync needs from the counter.
pub(crate) struct SyncCtx<'a> {
    pub table: &'a Table,
    pub config: &'a RedisRateConfig,
    pub node_id: &'a str,
    /// The caller's clock now, if any request was seen.
    pub now_ms: Option<u64>,
}

/// Connection and outage state; one sync runs at a time (the counter holds it in an async mutex).
pub(crate) struct Syncer {
    target: Target,
    cluster: bool,
    conn: Option<Conn>,
    script: redis::Script,
    /// False from the first failure of an outage until the next success (a warning is logged
    /// once per outage).
    healthy: bool,
    failures: u32,
    retry_at: Option<Instant>,
    /// Push every bucket of every key at the next sync (Redis may have lost data).
    full_resync: bool,
}

impl Syncer {
    pub fn new(config: &RedisRateConfig) -> Result<Syncer, Error> {
        let endpoint = Endpoint::parse(&config.url)?;
        Ok(Syncer {
            target: Target::new(&endpoint, config.ca_pem.as_deref(), config.io_timeout)?,
            cluster: endpoint.is_cluster(),
            conn: None,
            script: redis::Script::new(SCRIPT),
            healthy: true,
            failures: 0,
            retry_at: None,
            full_resync: true,
        })
    }

    /// True while the last attempt succeeded (or none failed yet).
    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// One sync; with `force`, even while the reconnection backoff runs.
    pub async fn sync(&mut self, ctx: &SyncCtx<'_>, force: bool) -> Result<SyncReport, Error> {
        if !force && self.retry_at.is_some_and(|t| Instant::now() < t) {
            return Ok(SyncReport {
                skipped: true,
                ..SyncReport::default()
            });
        }
        let started = Instant::now();
        let result = self.exchange(ctx).await;
        match &result {
            Ok(report) if !report.skipped => {
                metrics::counter!(METRIC_SYNCS).increment(1);
                metrics::histogram!(METRIC_SYNC_SECONDS).record(started.elapsed().as_secs_f64());
                metrics::gauge!(METRIC_SHARED).set(1.0);
                if !self.healthy {
                    tracing::info!(
                        failed_attempts = self.failures,
                        "redis reachable again: WAF rate limits are shared across nodes again"
                    );
                }
                self.healthy = true;
                self.failures = 0;
                self.retry_at = None;
                self.full_resync = false;
            }
            Ok(_) => {}
            Err(e) => self.on_failure(e, ctx.config),
        }
        result
    }

    fn on_failure(&mut self, e: &Error, config: &RedisRateConfig) {
        metrics::counter!(METRIC_SYNC_FAILURES).increment(1);
        metrics::gauge!(METRIC_SHARED).set(0.0);
        self.conn = None;
        self.full_resync = true;
        self.failures = self.failures.saturating_add(1);
        let doublings = self.failures.saturating_sub(1).min(16);
        let delay = config
            .flush_interval
            .saturating_mul(1u32 << doublings)
            .min(config.max_backoff.max(config.flush_interval));
        self.retry_at = Some(Instant::now() + delay);
        if self.healthy {
            tracing::warn!(error = %e, retry_in = ?delay,
                "redis unreachable: WAF rate limits fall back to per-node counts until it answers");
            self.healthy = false;
        } else {
            tracing::debug!(error = %e, attempt = self.failures, retry_in = ?delay, "redis still unreachable");
        }
    }

    async fn exchange(&mut self, ctx: &SyncCtx<'_>) -> Result<SyncReport, Error> {
        let Some(now_ms) = ctx.now_ms else {
            return Ok(SyncReport {
                skipped: true,
                ..SyncReport::default()
            });
        };
        let io = ctx.config.io_timeout;
        if self.conn.is_none() {
            let conn = timed(io, self.target.connect(io)).await?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error::Protocol("no connection".to_owned()));
        };
        let (mut items, stats) = ctx.table.collect(now_ms, self.full_resync);
        let key_of = |item: &SyncItem| {
            if self.cluster {
                cluster_key(&ctx.config.key_prefix, item.key.window_secs, &item.key.hash)
            } else {
                redis_key(&ctx.config.key_prefix, item.key.window_secs, &item.key.hash)
            }
        };
        // In a cluster, one call holds the keys of one hash tag only.
        let tag = |item: &SyncItem| {
            if self.cluster {
                (item.key.window_secs, item.key.hash[0] % CLUSTER_SHARDS)
            } else {
                (0, 0)
            }
        };
        items.sort_by_key(|i| tag(i));
        metrics::gauge!(METRIC_TRACKED_KEYS).set(stats.tracked as f64);
        let mut report = SyncReport {
            dropped: stats.dropped,
            ..SyncReport::default()
        };
        let chunks = items
            .chunk_by(|a, b| tag(a) == tag(b))
            .flat_map(|run| run.chunks(CHUNK));
        for chunk in chunks {
            let mut call = self.script.prepare_invoke();
            call.arg(ctx.node_id).arg(BUCKETS);
            for item in chunk {
                call.key(key_of(item));
                call.arg(item.now_bucket)
                    .arg(ttl_ms(item))
                    .arg(item.fields.len());
                for &(bucket, count) in &item.fields {
                    call.arg(bucket).arg(count);
                }
                report.fields_written += item.fields.len();
            }
            let reply: Vec<i64> = timed(io, conn.invoke(&call)).await?;
            if reply.len() != chunk.len() * 2 {
                return Err(Error::Protocol(format!(
                    "{} integers for {} keys",
                    reply.len(),
                    chunk.len()
                )));
            }
            let others: Vec<(u64, u64)> = reply
                .chunks_exact(2)
                .map(|p| match p {
                    [total, oldest] => (nonneg(*total), nonneg(*oldest)),
                    _ => (0, 0),
                })
                .collect();
            ctx.table.apply(chunk, &others, now_ms);
            report.keys += chunk.len();
        }
        Ok(report)
    }
}

fn nonneg(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Hash lifetime after a write: the window, two buckets of clock skew and a second of slack.
fn ttl_ms(item: &SyncItem) -> u64 {
    u64::from(item.key.window_secs.max(1)) * 1000 + 2 * item.bucket_ms + 1000
}

async fn timed<T>(
    limit: Duration,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(Error::Timeout(limit)),
    }
}
