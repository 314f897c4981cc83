//! Upstream pools: server selection (round robin, least connections), active health checks and the keep-alive
//! HTTP/1.1 connections that carry requests to the servers (per thread: the `connpool` module).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use http::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::watch;

use crate::body::{ProxyBody, full};
use crate::config::{Balance, HealthCheckConfig, PoolConfig};
use crate::connpool::Conns;

/// One upstream server and its state.
#[derive(Debug)]
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    healthy: AtomicBool,
    in_flight: AtomicUsize,
    ok_streak: AtomicU32,
    fail_streak: AtomicU32,
}

impl Server {
    /// Whether the health checks currently consider the server healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Requests currently in flight to this server (counted only in least-connections pools, the only ones that
    /// read it).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// Counts a request against a server until dropped. Round-robin pools count nothing: the count and the pool's
/// reference count are shared by every worker thread, and updating them on each request would move their cache
/// line between cores for a figure nobody reads.
#[derive(Debug)]
pub struct InFlight(Option<(Arc<Pool>, usize)>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some((pool, index)) = &self.0
            && let Some(server) = pool.servers.get(*index)
        {
            server.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A pool of equivalent servers.
#[derive(Debug)]
pub struct Pool {
    /// The pool's configuration.
    pub config: PoolConfig,
    /// Its servers, in configuration order.
    pub servers: Vec<Server>,
    next: AtomicUsize,
    /// The keep-alive client of the health checks.
    pub client: Client<HttpConnector, ProxyBody>,
    /// The connections forwarded requests travel on: idle ones kept per thread, so a worker's requests and their
    /// upstream connections never wake another thread.
    pub(crate) conns: Conns,
}

fn client(config: &PoolConfig) -> Client<HttpConnector, ProxyBody> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(config.connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(config.max_idle_per_upstream)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .build(connector)
}

impl Pool {
    /// Build the pool (no tasks started).
    pub fn new(config: PoolConfig) -> Self {
        let conns = Conns::new(config.max_idle_per_upstream, config.connect_timeout);
        let client = client(&config);
        let servers = config
            .upstreams
            .iter()
            .map(|&addr| Server {
                addr,
                healthy: AtomicBool::new(true),
                in_flight: AtomicUsize::new(0),
                ok_streak: AtomicU32::new(0),
                fail_streak: AtomicU32::new(0),
            })
            .collect();
        Self {
            config,
            servers,
            next: AtomicUsize::new(0),
            client,
            conns,
        }
    }

    /// Build the pool for a proxy with `workers` worker runtimes (see [`crate::ProxyConfig::workers`]). The same
    /// as [`Pool::new`]: upstream connections are kept per thread whatever the count.
    pub fn with_workers(config: PoolConfig, workers: usize) -> Self {
        let _ = workers;
        Self::new(config)
    }

    /// Pick a server not in `exclude`, preferring healthy ones. When no healthy server is left the unhealthy ones
    /// are tried too (as ALB does when every target is unhealthy: fail open rather than refuse everything).
    pub fn pick(self: &Arc<Self>, exclude: &[usize]) -> Option<(usize, InFlight)> {
        let n = self.servers.len();
        if n == 0 {
            return None;
        }
        let start = if n == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % n
        };
        let order = (0..n)
            .map(|i| (start + i) % n)
            .filter(|i| !exclude.contains(i));
        let healthy = |i: &usize| self.servers.get(*i).is_some_and(Server::is_healthy);
        // Healthy servers when there are any, else all of them.
        let any_healthy = order.clone().any(|i| healthy(&i));
        let mut candidates = order.filter(|i| !any_healthy || healthy(i));
        let chosen = match self.config.balance {
            Balance::RoundRobin => candidates.next(),
            Balance::LeastConnections => candidates
                .min_by_key(|&i| self.servers.get(i).map_or(usize::MAX, Server::in_flight)),
        }?;
        let server = self.servers.get(chosen)?;
        let counted = self.config.balance == Balance::LeastConnections;
        if counted {
            server.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        Some((
            chosen,
            InFlight(counted.then(|| (Arc::clone(self), chosen))),
        ))
    }

    fn record(&self, index: usize, ok: bool, hc: &HealthCheckConfig) {
        let Some(server) = self.servers.get(index) else {
            return;
        };
        if ok {
            server.fail_streak.store(0, Ordering::Relaxed);
            let streak = server.ok_streak.fetch_add(1, Ordering::Relaxed) + 1;
            if !server.is_healthy() && streak >= hc.healthy_threshold {
                server.healthy.store(true, Ordering::Relaxed);
                tracing::info!(pool = %self.config.name, upstream = %server.addr, "upstream healthy");
            }
        } else {
            server.ok_streak.store(0, Ordering::Relaxed);
            let streak = server.fail_streak.fetch_add(1, Ordering::Relaxed) + 1;
            if server.is_healthy() && streak >= hc.unhealthy_threshold {
                server.healthy.store(false, Ordering::Relaxed);
                tracing::warn!(pool = %self.config.name, upstream = %server.addr, "upstream unhealthy");
            }
        }
    }

    async fn check_one(&self, index: usize, hc: &HealthCheckConfig) -> bool {
        let Some(server) = self.servers.get(index) else {
            return false;
        };
        let Ok(uri) = Uri::try_from(format!("http://{}{}", server.addr, hc.path)) else {
            return false;
        };
        let Ok(req) = Request::get(uri)
            .header(http::header::USER_AGENT, "portcullis-health-check")
            .body(full(bytes::Bytes::new()))
        else {
            return false;
        };
        match tokio::time::timeout(hc.timeout, self.client.request(req)).await {
            Ok(Ok(resp)) => {
                let status: StatusCode = resp.status();
                status.is_success() || status.is_redirection()
            }
            _ => false,
        }
    }

    /// Start the active health checks, if configured; the task ends when `stop` changes.
    pub fn spawn_health_checks(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Some(hc) = self.config.health_check.clone() else {
            return;
        };
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(hc.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                for i in 0..pool.servers.len() {
                    let ok = pool.check_one(i, &hc).await;
                    pool.record(i, ok, &hc);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(balance: Balance) -> Arc<Pool> {
        let mut cfg = PoolConfig::new(
            "p",
            vec![
                "127.0.0.1:1".parse().unwrap(),
                "127.0.0.1:2".parse().unwrap(),
            ],
        );
        cfg.balance = balance;
        Arc::new(Pool::new(cfg))
    }

    #[tokio::test]
    async fn round_robin_alternates_and_skips_unhealthy() {
        let p = pool(Balance::RoundRobin);
        let a = p.pick(&[]).unwrap().0;
        let b = p.pick(&[]).unwrap().0;
        assert_ne!(a, b);
        p.servers[0].healthy.store(false, Ordering::Relaxed);
        for _ in 0..4 {
            assert_eq!(p.pick(&[]).unwrap().0, 1);
        }
        // Excluding the only healthy one falls back to the unhealthy one.
        assert_eq!(p.pick(&[1]).unwrap().0, 0);
        assert!(p.pick(&[0, 1]).is_none());
    }

    #[tokio::test]
    async fn least_connections_prefers_idle() {
        let p = pool(Balance::LeastConnections);
        let (first, held) = p.pick(&[]).unwrap();
        for _ in 0..3 {
            let (i, guard) = p.pick(&[]).unwrap();
            assert_ne!(i, first);
            drop(guard);
        }
        assert_eq!(p.servers[first].in_flight(), 1);
        drop(held);
        assert_eq!(p.servers[first].in_flight(), 0);
    }

    #[tokio::test]
    async fn thresholds() {
        let p = pool(Balance::RoundRobin);
        let hc = HealthCheckConfig {
            healthy_threshold: 2,
            unhealthy_threshold: 3,
            ..HealthCheckConfig::default()
        };
        p.record(0, false, &hc);
        p.record(0, false, &hc);
        assert!(p.servers[0].is_healthy());
        p.record(0, false, &hc);
        assert!(!p.servers[0].is_healthy());
        p.record(0, true, &hc);
        assert!(!p.servers[0].is_healthy());
        p.record(0, true, &hc);
        assert!(p.servers[0].is_healthy());
    }
}
