//! Reloading `[waf]` without a restart: on `SIGHUP`, and within [`CONFIG_POLL_INTERVAL`] of the configuration
//! file changing, the file is read and resolved again. An invalid file is logged (the file and every problem) and
//! the running configuration stays. A valid one is applied as a difference:
//! new listeners bind, removed ones stop accepting and drain, changed routes, pools, health checks, limits, TLS
//! certificate files and web ACL files apply to new connections and requests, unchanged listeners keep their
//! socket (see `ProxyHandle::reconfigure`). Keys read only at start (`waf.redis`, `waf.redis_ca_file`,
//! `waf.token_key_file`, `waf.crs`, `waf.crs_paranoia`, `waf.geoip_db`, `waf.asn_db`, `waf.ip_reputation`,
//! `waf.log`, `waf.log_destinations`, `waf.workers`) are logged as needing a
//! restart and keep their running value; the rest of the change is applied.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_config::{Overrides, RawConfig, WafConfig, WafTls};
use portcullis_pki::Pki;
use portcullis_waf_core::rate::RateCounter;
use portcullis_waf_proxy::challenge::Interstitials;
use portcullis_waf_proxy::{
    AllowAll, Inspector, InspectorCell, ProxyConfig, ProxyHandle, TlsConfig,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::acl_file::{self, AclContext};
use super::{FileLog, Slot, log_file_acl, stamp, watch_file};

/// How often the configuration file is checked for changes.
pub const CONFIG_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Where the running configuration came from, to read it again.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The configuration file.
    pub path: PathBuf,
    /// The command-line values that win over the file.
    pub overrides: Overrides,
}

impl ConfigSource {
    /// Reads and resolves the file; the problems, one per entry, when it is invalid.
    pub fn read(&self) -> Result<WafConfig, Vec<String>> {
        let raw = RawConfig::from_file(&self.path).map_err(|e| {
            e.0.iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
        })?;
        raw.resolve(&self.overrides).map(|c| c.waf).map_err(|e| {
            e.0.iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect()
        })
    }
}

/// The listeners' web ACL slots, shared with the API association poller.
pub type Slots = Arc<Mutex<Vec<Arc<Slot>>>>;

/// One configured listener's node-side state.
struct Listener {
    slot: Arc<Slot>,
    web_acl: Option<PathBuf>,
    tls_src: Option<WafTls>,
    tls: Option<TlsConfig>,
    watcher: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

/// A listener's state for a configuration about to be applied.
struct Planned {
    name: String,
    slot: Arc<Slot>,
    /// `Some` when the `web_acl` file changed: the new file's inspector (`None`: no file any more).
    file: Option<Option<Arc<dyn Inspector>>>,
    web_acl: Option<PathBuf>,
    tls_src: Option<WafTls>,
    tls: Option<TlsConfig>,
}

/// Everything the node keeps to rebuild the proxy configuration.
pub(super) struct NodeState {
    pub cfg: WafConfig,
    pub data_dir: PathBuf,
    pub shutdown_grace: Duration,
    pub cx: Arc<AclContext>,
    pub rate: Arc<dyn RateCounter>,
    pub log: FileLog,
    pub interstitials: Arc<Interstitials>,
    /// The built-in CA, for listeners with `tls.issue` (at start and when a reload adds or changes one).
    pub pki: Arc<Pki>,
    pub slots: Slots,
    listeners: HashMap<String, Listener>,
}

/// A configuration checked and compiled, ready to commit.
pub(super) struct Prepared {
    cfg: WafConfig,
    planned: Vec<Planned>,
    /// The proxy's side of it.
    pub proxy: ProxyConfig,
}

impl NodeState {
    /// A state with no listeners yet; [`NodeState::prepare`] then [`NodeState::commit`] the first configuration.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: WafConfig,
        data_dir: &Path,
        shutdown_grace: Duration,
        cx: Arc<AclContext>,
        rate: Arc<dyn RateCounter>,
        log: FileLog,
        interstitials: Arc<Interstitials>,
        pki: Arc<Pki>,
    ) -> Self {
        NodeState {
            cfg,
            data_dir: data_dir.to_owned(),
            shutdown_grace,
            cx,
            rate,
            log,
            interstitials,
            pki,
            slots: Slots::default(),
            listeners: HashMap::new(),
        }
    }

    /// Loads what changed (web ACL files, TLS) for `new` and builds the proxy configuration; nothing running
    /// changes. A new or changed `tls.issue` gets its certificate from the built-in CA here.
    pub async fn prepare(&self, new: WafConfig) -> Result<Prepared, Vec<String>> {
        let mut problems = Vec::new();
        let mut planned = Vec::new();
        for l in &new.listeners {
            let old = self.listeners.get(&l.name);
            let file = if old.is_some_and(|o| o.web_acl == l.web_acl) {
                None
            } else {
                match &l.web_acl {
                    None => Some(None),
                    Some(path) => match self.load(path).await {
                        Ok(i) => {
                            tracing::info!(listener = %l.name, file = %path.display(), "web ACL loaded");
                            Some(Some(i))
                        }
                        Err(e) => {
                            problems.push(format!(
                                "WAF listener {:?}: loading its web ACL: {}",
                                l.name,
                                portcullis_common::report(&*e)
                            ));
                            continue;
                        }
                    },
                }
            };
            let tls = match old {
                Some(o) if o.tls_src == l.tls => o.tls.clone(),
                _ => match super::build::tls(l, &self.pki, &self.data_dir) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.push(portcullis_common::report(&*e));
                        continue;
                    }
                },
            };
            let slot = match old {
                Some(o) => Arc::clone(&o.slot),
                None => {
                    let inspector = file.clone().flatten();
                    let cell = InspectorCell::new(
                        inspector
                            .clone()
                            .unwrap_or_else(|| Arc::new(AllowAll) as Arc<dyn Inspector>),
                    );
                    Arc::new(Slot::new(&l.name, cell, inspector))
                }
            };
            planned.push(Planned {
                name: l.name.clone(),
                slot,
                file: if old.is_some() { file } else { None },
                web_acl: l.web_acl.clone(),
                tls_src: l.tls.clone(),
                tls,
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let cells: HashMap<&str, (InspectorCell, Option<TlsConfig>)> = planned
            .iter()
            .map(|p| (p.name.as_str(), (p.slot.cell.clone(), p.tls.clone())))
            .collect();
        let proxy = super::build::proxy_config(
            &new,
            |name| {
                cells.get(name).cloned().unwrap_or_else(|| {
                    (
                        InspectorCell::new(Arc::new(AllowAll) as Arc<dyn Inspector>),
                        None,
                    )
                })
            },
            self.shutdown_grace,
            &self.log.logging,
            &self.interstitials,
        );
        Ok(Prepared {
            cfg: new,
            planned,
            proxy,
        })
    }

    async fn load(&self, path: &Path) -> anyhow::Result<Arc<dyn Inspector>> {
        let (acl, model) = {
            let cx = Arc::clone(&self.cx);
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || acl_file::load(&path, &cx)).await?
        }?;
        log_file_acl(&self.log.logging, self.log.sink.as_ref(), &model);
        Ok(Arc::new(self.cx.inspector(acl, &self.rate, &model)))
    }

    /// Makes `prepared` the node's state once the proxy took its configuration: web ACL files swapped in, file
    /// watchers started and stopped, the slot list updated.
    pub fn commit(&mut self, prepared: Prepared) {
        let mut old = std::mem::take(&mut self.listeners);
        let mut slots = Vec::new();
        for p in prepared.planned {
            let previous = old.remove(&p.name);
            if let Some(file) = p.file {
                p.slot.set_file(file);
            }
            let watcher = match previous {
                Some(prev) if prev.web_acl == p.web_acl => prev.watcher,
                prev => {
                    if let Some((stop, _)) = prev.and_then(|x| x.watcher) {
                        let _ = stop.send(true);
                    }
                    p.web_acl.as_ref().map(|path| {
                        let (stop, rx) = watch::channel(false);
                        let task = tokio::spawn(watch_file(
                            path.clone(),
                            Arc::clone(&p.slot),
                            Arc::clone(&self.cx),
                            Arc::clone(&self.rate),
                            self.log.clone(),
                            rx,
                        ));
                        (stop, task)
                    })
                }
            };
            slots.push(Arc::clone(&p.slot));
            self.listeners.insert(
                p.name,
                Listener {
                    slot: p.slot,
                    web_acl: p.web_acl,
                    tls_src: p.tls_src,
                    tls: p.tls,
                    watcher,
                },
            );
        }
        for (_, gone) in old {
            if let Some((stop, _)) = gone.watcher {
                let _ = stop.send(true);
            }
        }
        *self.slots.lock().unwrap_or_else(|e| e.into_inner()) = slots;
        self.cfg = prepared.cfg;
    }

    /// Stops every file watcher and waits for them.
    pub async fn stop_watchers(&mut self) {
        for (_, l) in self.listeners.drain() {
            if let Some((stop, task)) = l.watcher {
                let _ = stop.send(true);
                let _ = task.await;
            }
        }
    }

    /// Applies a newly read configuration to the node and `proxy`; errors are logged and change nothing. With
    /// `forced` (SIGHUP) an unchanged configuration is applied too, which re-reads the listeners' certificate files.
    pub async fn apply(
        &mut self,
        mut new: WafConfig,
        proxy: &mut ProxyHandle,
        file: &Path,
        forced: bool,
    ) {
        let restart = keep_restart_keys(&self.cfg, &mut new);
        if !restart.is_empty() {
            tracing::warn!(file = %file.display(), keys = %restart.join(", "), "configuration change needs a restart; those keys keep their running values");
        }
        if new == self.cfg && !forced {
            tracing::info!(file = %file.display(), "configuration reloaded; no WAF change");
            return;
        }
        let prepared = match self.prepare(new).await {
            Ok(p) => p,
            Err(problems) => {
                for p in problems {
                    tracing::error!(file = %file.display(), error = %p, "configuration rejected; keeping the running WAF configuration");
                }
                return;
            }
        };
        match proxy.reconfigure(prepared.proxy.clone()).await {
            Ok(report) => {
                self.commit(prepared);
                tracing::info!(
                    file = %file.display(),
                    started = ?report.started,
                    stopped = ?report.stopped,
                    updated = ?report.updated,
                    pools_rebuilt = ?report.pools_built,
                    "WAF configuration reloaded"
                );
            }
            Err(e) => {
                tracing::error!(file = %file.display(), error = %e, "configuration rejected; keeping the running WAF configuration");
            }
        }
    }
}

/// Copies the running values of the keys read only at start into `new`; returns the keys whose value differed.
fn keep_restart_keys(running: &WafConfig, new: &mut WafConfig) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! keep {
        ($field:ident, $key:expr) => {
            if new.$field != running.$field {
                changed.push($key);
                new.$field = running.$field.clone();
            }
        };
    }
    keep!(redis, "waf.redis");
    keep!(redis_ca_file, "waf.redis_ca_file");
    keep!(token_key_file, "waf.token_key_file");
    keep!(crs_dir, "waf.crs");
    keep!(crs_paranoia, "waf.crs_paranoia");
    keep!(geoip_db, "waf.geoip_db");
    keep!(asn_db, "waf.asn_db");
    keep!(ip_reputation, "waf.ip_reputation");
    keep!(log, "waf.log");
    keep!(log_destinations, "waf.log_destinations");
    keep!(workers, "waf.workers");
    changed
}

/// Watches `source` (file changes and `SIGHUP`) and `elb` (listeners defined through the ELBv2 API) until `stop`,
/// applying each valid new configuration: the file's `[waf]` merged with the API's listeners ([`super::elb::merge`]).
pub(super) async fn run(
    mut state: NodeState,
    proxy: Arc<tokio::sync::Mutex<ProxyHandle>>,
    source: Option<ConfigSource>,
    mut stop: watch::Receiver<bool>,
    mut hup: Hup,
    mut elb: Option<watch::Receiver<super::elb::Overlay>>,
) {
    let mut last = source.as_ref().and_then(|s| stamp(&s.path));
    let mut last_text = source.as_ref().and_then(|s| std::fs::read(&s.path).ok());
    let mut file_cfg = state.cfg.clone();
    let mut overlay = super::elb::Overlay::default();
    loop {
        let signalled = tokio::select! {
            () = tokio::time::sleep(CONFIG_POLL_INTERVAL) => false,
            _ = recv(&mut hup) => true,
            () = overlay_changed(&mut elb) => {
                if let Some(rx) = elb.as_mut() {
                    overlay = rx.borrow_and_update().clone();
                }
                let merged = super::elb::merge(&file_cfg, &overlay);
                let mut proxy = proxy.lock().await;
                state.apply(merged, &mut proxy, super::elb::source_path(), false).await;
                continue;
            }
            _ = stop.changed() => break,
        };
        let Some(source) = &source else {
            if signalled {
                tracing::info!("SIGHUP: no configuration file to reload");
            }
            continue;
        };
        let now = stamp(&source.path);
        if !signalled && now == last {
            continue;
        }
        last = now;
        let text = std::fs::read(&source.path).ok();
        if !signalled && text == last_text {
            continue;
        }
        last_text = text;
        if signalled {
            tracing::info!(file = %source.path.display(), "SIGHUP: reloading the configuration");
        }
        match source.read() {
            Ok(new) => {
                file_cfg = new.clone();
                let merged = super::elb::merge(&new, &overlay);
                let mut proxy = proxy.lock().await;
                state
                    .apply(merged, &mut proxy, &source.path, signalled)
                    .await;
            }
            Err(problems) => {
                for p in problems {
                    tracing::error!(file = %source.path.display(), error = %p, "configuration rejected; keeping the running WAF configuration");
                }
            }
        }
    }
    state.stop_watchers().await;
}

/// Resolves when the API's listeners change; never when there is no ELB link (or it has gone).
async fn overlay_changed(rx: &mut Option<watch::Receiver<super::elb::Overlay>>) {
    match rx {
        Some(r) => {
            if r.changed().await.is_err() {
                *rx = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// The `SIGHUP` stream (registered before the banner, so that an early `SIGHUP` does not end the process).
#[cfg(unix)]
pub(super) type Hup = Option<tokio::signal::unix::Signal>;
/// No `SIGHUP` here.
#[cfg(not(unix))]
pub(super) type Hup = Option<()>;

/// Registers for `SIGHUP`.
#[cfg(unix)]
pub(super) fn hangup() -> Hup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

/// Registers for `SIGHUP`.
#[cfg(not(unix))]
pub(super) fn hangup() -> Hup {
    None
}

#[cfg(unix)]
async fn recv(hup: &mut Option<tokio::signal::unix::Signal>) {
    match hup {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn recv(_: &mut Option<()>) {
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_keys_keep_their_running_values_and_are_reported() {
        let running = WafConfig {
            redis: Some("redis://127.0.0.1:6379".into()),
            ..WafConfig::default()
        };
        let mut new = WafConfig {
            redis: Some("redis://10.0.0.1:6379".into()),
            crs_paranoia: 2,
            fail_open: true,
            ..WafConfig::default()
        };
        let changed = keep_restart_keys(&running, &mut new);
        assert_eq!(changed, vec!["waf.redis", "waf.crs_paranoia"]);
        assert_eq!(new.redis, running.redis);
        assert_eq!(new.crs_paranoia, 1);
        assert!(new.fail_open, "other keys are applied");
    }

    #[test]
    fn an_invalid_file_lists_its_problems() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "[waf]\nfail_mode = \"sideways\"\n").unwrap();
        let source = ConfigSource {
            path: path.clone(),
            overrides: Overrides::default(),
        };
        let problems = source.read().unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("fail_mode")),
            "{problems:?}"
        );
        std::fs::write(&path, "[waf]\nfail_mode = \"open\"\n").unwrap();
        assert!(source.read().unwrap().fail_open);
    }
}
