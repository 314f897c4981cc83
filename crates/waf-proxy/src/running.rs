//! The running proxy: [`start`] binds the listeners of a [`ProxyConfig`]; [`ProxyHandle::reconfigure`] applies a
//! new one without a restart.
//!
//! A reconfiguration is all-or-nothing: the new configuration is validated, every certificate read and every new
//! socket bound before anything running changes; any failure leaves the proxy exactly as it was. Then:
//! - a listener whose name and `bind` are unchanged keeps its socket and its connections; its routes, TLS
//!   certificates (re-read from the files), limits and inspector cell apply to connections accepted and requests
//!   started afterwards;
//! - a new listener (or one whose `bind` changed) starts accepting on a freshly bound socket;
//! - a removed listener closes its socket at once and drains: requests in flight complete (bounded by
//!   [`ProxyConfig::shutdown_grace`]), then its connections close;
//! - a pool whose configuration is unchanged is kept (health state, idle upstream connections); a changed pool is
//!   built anew and the old one serves only the requests already using it; removed pools stop their health checks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::ProxyConfig;
use crate::error::ProxyError;
use crate::handler::{ListenerCtx, PerIp, Route, Shared};
use crate::inspect::{Inspector, InspectorCell};
use crate::logging::Logging;
use crate::samples::Samples;
use crate::server::{Accept, Live, LiveCell, h2_builder};
use crate::upstream::Pool;
use crate::workers::Workers;

/// A running proxy. Dropping the handle stops accepting at once (like [`ProxyHandle::shutdown`], without waiting
/// for the drain).
pub struct ProxyHandle {
    listeners: Vec<Running>,
    inspector: InspectorCell,
    logging: Logging,
    samples: Samples,
    per_ip: PerIp,
    pools: HashMap<String, RunningPool>,
    connections: (usize, Arc<Semaphore>),
    draining: Vec<JoinHandle<()>>,
    /// Declared last: dropped after the listeners were told to stop.
    workers: Workers,
}

/// One accepting listener.
struct Running {
    name: String,
    /// The configured address (`127.0.0.1:0` stays `:0` here; `addr` is what was bound).
    bind: SocketAddr,
    addr: SocketAddr,
    cell: InspectorCell,
    live: LiveCell,
    stop: watch::Sender<bool>,
    /// The accept loop on each worker (one when the proxy runs on the caller's runtime).
    tasks: Vec<JoinHandle<()>>,
}

struct RunningPool {
    pool: Arc<Pool>,
    /// Stops the pool's health checks (also when dropped).
    _stop: watch::Sender<bool>,
}

/// What a [`ProxyHandle::reconfigure`] changed, by listener name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconfigured {
    /// Listeners that started (new names, or a changed `bind`).
    pub started: Vec<String>,
    /// Listeners that stopped accepting and are draining.
    pub stopped: Vec<String>,
    /// Listeners that kept their socket and took the new settings.
    pub updated: Vec<String>,
    /// Pools built anew (new or changed).
    pub pools_built: Vec<String>,
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl ProxyHandle {
    /// The bound address of each listener, in configuration order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|l| l.addr).collect()
    }

    /// The bound address of the listener called `name`.
    pub fn local_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.addr)
    }

    /// The default inspector cell (holding the inspector given to [`start`]), used by every listener configured
    /// without its own cell: [`InspectorCell::swap`] applies a new web ACL to requests that start afterwards.
    pub fn inspector(&self) -> &InspectorCell {
        &self.inspector
    }

    /// The inspector cell of the listener called `name` (its own, or the default one).
    pub fn inspector_for(&self, listener: &str) -> Option<&InspectorCell> {
        self.listeners
            .iter()
            .find(|l| l.name == listener)
            .map(|l| &l.cell)
    }

    /// The logging configurations of the web ACLs: [`Logging::put`] / [`Logging::delete`] take effect for
    /// requests that start afterwards.
    pub fn logging(&self) -> &Logging {
        &self.logging
    }

    /// The sampled requests ([`Samples::query`] answers `GetSampledRequests`).
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// How many worker runtimes serve the listeners (0: the runtime that called [`start`]).
    pub fn workers(&self) -> usize {
        self.workers.count()
    }

    /// The pool called `name` (health state, in-flight counts).
    pub fn pool(&self, name: &str) -> Option<Arc<Pool>> {
        self.pools.get(name).map(|p| Arc::clone(&p.pool))
    }

    /// Applies `config` (see the module doc). The handle keeps its own [`Logging`], [`Samples`] and per-IP
    /// counters: those of `config` are ignored. On error nothing changed.
    pub async fn reconfigure(&mut self, config: ProxyConfig) -> Result<Reconfigured, ProxyError> {
        validate(&config)?;
        let mut report = Reconfigured::default();
        // Pools: keep the unchanged ones (moved over at commit, with their health checks running).
        let mut routable: HashMap<String, Arc<Pool>> = HashMap::new();
        let mut fresh = Vec::new();
        let mut kept_pools = Vec::new();
        for p in &config.pools {
            match self.pools.get(&p.name) {
                Some(old) if old.pool.config == *p => {
                    routable.insert(p.name.clone(), Arc::clone(&old.pool));
                    kept_pools.push(p.name.clone());
                }
                _ => {
                    let pool = Arc::new(Pool::with_workers(p.clone(), self.workers.count()));
                    routable.insert(p.name.clone(), Arc::clone(&pool));
                    fresh.push((p.name.clone(), pool));
                    report.pools_built.push(p.name.clone());
                }
            }
        }
        let shared = Arc::new(Shared {
            limits: config.limits.clone(),
            trusted: config.trusted_proxies.clone(),
            fail_mode: config.fail_mode,
            per_ip: self.per_ip.clone(),
            logging: self.logging.clone(),
            samples: self.samples.clone(),
            interstitials: config.interstitials.clone(),
        });
        let h2 = Arc::new(h2_builder(&config.limits));
        let connections = if self.connections.0 == config.limits.max_connections {
            self.connections.clone()
        } else {
            let n = config.limits.max_connections;
            (n, Arc::new(Semaphore::new(n)))
        };
        // Everything that can fail: certificates, then new sockets.
        let mut planned = Vec::new();
        for l in &config.listeners {
            let cell = l
                .inspector
                .clone()
                .unwrap_or_else(|| self.inspector.clone());
            let tls = match &l.tls {
                Some(t) => Some(TlsAcceptor::from(crate::tls::server_config(t)?)),
                None => None,
            };
            let routes = l
                .routes
                .iter()
                .filter_map(|r| {
                    Some(Route {
                        host: r.host.as_deref().map(str::to_ascii_lowercase),
                        prefix: r.path_prefix.clone(),
                        pool: Arc::clone(routable.get(&r.pool)?),
                        latency: crate::metrics::upstream_latency(&Arc::from(r.pool.as_str())),
                        pool_name: Arc::from(r.pool.as_str()),
                    })
                })
                .collect();
            let live = Live {
                ctx: Arc::new(ListenerCtx {
                    name: Arc::from(l.name.as_str()),
                    snapshot: cell.snapshot(),
                    inspector: cell.clone(),
                    scheme: if tls.is_some() { "https" } else { "http" },
                    routes,
                    shared: Arc::clone(&shared),
                }),
                tls,
                h2: Arc::clone(&h2),
                connections: Arc::clone(&connections.1),
                grace: config.shutdown_grace,
            };
            let keep = self
                .listeners
                .iter()
                .position(|r| r.name == l.name && r.bind == l.bind);
            let socket = match keep {
                Some(_) => None,
                // Refuse a port something else listens on, unless one of this proxy's listeners holds it (a
                // renamed listener, or one moving to another address on its port, binds before the old stops).
                None => {
                    let ours = self
                        .listeners
                        .iter()
                        .any(|r| r.addr.port() == l.bind.port());
                    Some(self.workers.bind(l.bind, !ours).await?)
                }
            };
            planned.push((l.name.clone(), l.bind, cell, live, keep, socket));
        }
        // Commit.
        let mut pools: HashMap<String, RunningPool> = HashMap::new();
        for name in kept_pools {
            if let Some(p) = self.pools.remove(&name) {
                pools.insert(name, p);
            }
        }
        for (name, pool) in fresh {
            let (tx, rx) = watch::channel(false);
            pool.spawn_health_checks(rx);
            pools.insert(name, RunningPool { pool, _stop: tx });
        }
        let mut old: Vec<Option<Running>> = std::mem::take(&mut self.listeners)
            .into_iter()
            .map(Some)
            .collect();
        for (name, bind, cell, live, keep, socket) in planned {
            let kept = keep.and_then(|i| old.get_mut(i).and_then(Option::take));
            match (kept, socket) {
                (Some(mut running), _) => {
                    running.live.store(live);
                    running.cell = cell;
                    report.updated.push(name);
                    self.listeners.push(running);
                }
                (None, Some((sockets, addr))) => {
                    tracing::info!(listener = %name, %addr, tls = live.tls.is_some(), workers = self.workers.count(), "WAF proxy listening");
                    let live = LiveCell::new(live);
                    let (stop, stop_rx) = watch::channel(false);
                    let tasks = sockets
                        .into_iter()
                        .enumerate()
                        .map(|(slot, listener)| {
                            let accept = Accept {
                                listener,
                                live: live.clone(),
                            };
                            self.workers.spawn(slot, accept.run(stop_rx.clone()))
                        })
                        .collect();
                    report.started.push(name.clone());
                    self.listeners.push(Running {
                        name,
                        bind,
                        addr,
                        cell,
                        live,
                        stop,
                        tasks,
                    });
                }
                // Unreachable: a listener is either kept or bound above.
                (None, None) => {}
            }
        }
        for running in old.into_iter().flatten() {
            let _ = running.stop.send(true);
            report.stopped.push(running.name);
            self.draining.extend(running.tasks);
        }
        self.draining.retain(|t| !t.is_finished());
        self.pools = pools;
        self.connections = connections;
        Ok(report)
    }

    /// Like [`ProxyHandle::shutdown`], through a reference: afterwards the handle has no listeners.
    pub async fn stop(&mut self) {
        let running = std::mem::take(&mut self.listeners);
        for r in &running {
            let _ = r.stop.send(true);
        }
        for r in running {
            for t in r.tasks {
                let _ = t.await;
            }
        }
        for t in std::mem::take(&mut self.draining) {
            let _ = t.await;
        }
        self.pools.clear();
    }

    /// Stop accepting, let requests in flight finish (up to the configured grace period), then close.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }
}

fn validate(config: &ProxyConfig) -> Result<(), ProxyError> {
    let mut problems = Vec::new();
    let mut names = std::collections::HashSet::new();
    for pool in &config.pools {
        if !names.insert(pool.name.as_str()) {
            problems.push(format!("pool {:?} is defined twice", pool.name));
        }
        if pool.upstreams.is_empty() {
            problems.push(format!("pool {:?} has no upstreams", pool.name));
        }
    }
    let mut listeners = std::collections::HashSet::new();
    let mut binds = std::collections::HashSet::new();
    for l in &config.listeners {
        if !listeners.insert(l.name.as_str()) {
            problems.push(format!("listener {:?} is defined twice", l.name));
        }
        // The worker sockets share their address (SO_REUSEPORT), so the OS would not refuse a second listener
        // on the same address: refuse it here.
        if l.bind.port() != 0 && !binds.insert(l.bind) {
            problems.push(format!(
                "listener {:?}: address {} is used by another listener",
                l.name, l.bind
            ));
        }
        for r in &l.routes {
            if !names.contains(r.pool.as_str()) {
                problems.push(format!(
                    "listener {:?}: route {:?} names unknown pool {:?}",
                    l.name, r.path_prefix, r.pool
                ));
            }
        }
        if let Some(tls) = &l.tls
            && tls.certificates.is_empty()
        {
            problems.push(format!("listener {:?}: TLS without certificates", l.name));
        }
    }
    if config.limits.max_connections == 0 || config.limits.max_requests_per_ip == 0 {
        problems.push("connection and per-IP limits must be at least 1".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ProxyError::Config(problems.join("\n")))
    }
}

/// Validate `config`, start the worker runtimes ([`ProxyConfig::workers`]), bind every listener and start
/// serving. Must be called inside a tokio runtime (which runs the health checks, and everything when `workers` is
/// 0).
///
/// `inspector` goes into the default cell ([`ProxyHandle::inspector`]) that listeners without their own
/// [`crate::ListenerConfig::inspector`] use.
pub async fn start(
    config: ProxyConfig,
    inspector: Arc<dyn Inspector>,
) -> Result<ProxyHandle, ProxyError> {
    validate(&config)?;
    let workers = Workers::start(config.workers)?;
    let mut handle = ProxyHandle {
        listeners: Vec::new(),
        inspector: InspectorCell::new(inspector),
        logging: config.logging.clone(),
        samples: config.samples.clone(),
        per_ip: PerIp::default(),
        pools: HashMap::new(),
        connections: (0, Arc::new(Semaphore::new(0))),
        draining: Vec::new(),
        workers,
    };
    handle.reconfigure(config).await?;
    Ok(handle)
}
