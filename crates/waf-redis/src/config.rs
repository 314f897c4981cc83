//! Configuration of a [`RedisRateCounter`](crate::RedisRateCounter).

use std::time::Duration;

use crate::Error;

/// Default Redis key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "pcl:waf:rate";

/// How a node shares its rate counts through Redis.
#[derive(Debug, Clone)]
pub struct RedisRateConfig {
    /// Where Redis is: `redis://HOST:PORT[/DB]`, `rediss://HOST:PORT[/DB]` (TLS), or a Redis Cluster as
    /// `redis+cluster://HOST:PORT,HOST:PORT,...` (`rediss+cluster://` for TLS; an optional `USER:PASSWORD@`
    /// before the first host applies to every node). In a cluster the keys carry a hash tag (see [`crate::sync`]).
    pub url: String,
    /// PEM root certificates that `rediss://` servers must chain to; `None` trusts the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// How often this node pushes its new counts and pulls the others' (default 250 ms). The
    /// propagation delay between two nodes is at most about two intervals plus a round trip.
    pub flush_interval: Duration,
    /// Prefix of every Redis key (default [`DEFAULT_KEY_PREFIX`]); keys are
    /// `{prefix}:{window_secs}:{sha256(key)[..16] as hex}`.
    pub key_prefix: String,
    /// Maximum number of keys tracked by this node (default 100,000, about 40 MB).
    pub max_keys: usize,
    /// Bound on one Redis connection attempt or script call (default 1 s).
    pub io_timeout: Duration,
    /// Longest wait between reconnection attempts during an outage (default 5 s); the wait starts
    /// at `flush_interval` and doubles after each failure.
    pub max_backoff: Duration,
    /// The others' counts learnt at the last sync are ignored once older than this (default 10 s):
    /// during an outage every node falls back to its own counts, i.e. per-node limits.
    pub stale_after: Duration,
    /// Identity of this node in Redis hash fields (default: random per counter). Two live
    /// counters must never share one.
    pub node_id: Option<String>,
}

impl RedisRateConfig {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> RedisRateConfig {
        RedisRateConfig {
            url: url.into(),
            ca_pem: None,
            flush_interval: Duration::from_millis(250),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            max_keys: portcullis_waf_core::rate::DEFAULT_MAX_KEYS,
            io_timeout: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
            stale_after: Duration::from_secs(10),
            node_id: None,
        }
    }

    /// Checks the values that cannot work.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::InvalidConfig(m.to_owned()));
        if self.flush_interval < Duration::from_millis(10) {
            return bad("flush_interval must be at least 10 ms");
        }
        if self.io_timeout.is_zero() {
            return bad("io_timeout must not be zero");
        }
        if self.key_prefix.is_empty() {
            return bad("key_prefix must not be empty");
        }
        if self.node_id.as_deref().is_some_and(str::is_empty) {
            return bad("node_id must not be empty");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_refused() {
        let c = RedisRateConfig::new("redis://127.0.0.1/");
        assert!(c.validate().is_ok());
        let mut z = c.clone();
        z.flush_interval = Duration::ZERO;
        assert!(matches!(z.validate(), Err(Error::InvalidConfig(_))));
        let mut p = c.clone();
        p.key_prefix.clear();
        assert!(p.validate().is_err());
        let mut n = c;
        n.node_id = Some(String::new());
        assert!(n.validate().is_err());
    }
}
