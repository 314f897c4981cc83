//! The WAF node inside `portcullis serve`: builds the reverse proxy from the `[waf]` section, compiles each
//! listener's web ACL file, starts the listeners and re-applies a web ACL file within a second of it changing.
//!
//! The `[waf]` section itself is reloaded on `SIGHUP` and when the configuration file changes ([`reload`]).
//!
//! All listeners run in one proxy; each listener has its own hot-swappable inspector cell. A changed file is read, validated and
//! compiled off the request path (the proxy's `AclInspector` logs blocks and feeds the metrics); only a good result replaces the inspector, so requests in flight finish under
//! the ACL they started with and a bad file leaves the running ACL in place (the error is logged with the file).

mod acl_file;
pub mod api_sync;
mod build;
pub mod elb;
mod elb_respond;
mod groups;
mod nats_log;
pub mod reload;
mod reputation;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use portcullis_config::{WafConfig, WafLog};
use portcullis_pki::Pki;
use portcullis_waf_core::rate::{InMemoryRateCounter, RateCounter};
use portcullis_waf_proxy::challenge::{InterstitialConfig, Interstitials, TokenKey, TokenKeys};
use portcullis_waf_proxy::{
    AllowAll, FileSink, Inspector, InspectorCell, LogSink, Logging, LoggingConfig, ProxyHandle,
    StdoutSink,
};
use portcullis_waf_redis::{RedisRateConfig, RedisRateCounter, SyncHandle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use acl_file::AclContext;
use api_sync::{ApiLink, ProxySamples};
use groups::{CrsLoader, portcullis_resources};
pub use reload::ConfigSource;
use reload::NodeState;

/// How often web ACL files are checked for changes.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A running WAF node.
pub struct WafNode {
    proxy: Arc<tokio::sync::Mutex<ProxyHandle>>,
    /// The listeners bound at start.
    addrs: Vec<(String, SocketAddr)>,
    stop: watch::Sender<bool>,
    watchers: Vec<JoinHandle<()>>,
    redis: Option<SyncHandle>,
}

/// One listener's web ACL sources: its file (if any) and an API association (which wins while it exists).
pub struct Slot {
    /// The listener's name (its ARN is derived from it).
    pub name: String,
    cell: InspectorCell,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The inspector built from the listener's `web_acl` file, if it has one.
    file: Option<Arc<dyn Inspector>>,
    /// The ARN of the web ACL associated through the API, if any.
    api: Option<String>,
}

impl Slot {
    fn new(name: &str, cell: InspectorCell, file: Option<Arc<dyn Inspector>>) -> Slot {
        Slot {
            name: name.to_owned(),
            cell,
            state: Mutex::new(SlotState { file, api: None }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new inspector from the file: applied unless an API association is in force.
    fn file_swap(&self, inspector: Arc<dyn Inspector>) -> bool {
        let mut st = self.lock();
        st.file = Some(Arc::clone(&inspector));
        if st.api.is_none() {
            self.cell.swap(inspector);
            return true;
        }
        false
    }

    /// The listener's `web_acl` file changed in the configuration: `None` when it has none any more.
    fn set_file(&self, inspector: Option<Arc<dyn Inspector>>) {
        let mut st = self.lock();
        st.file = inspector.clone();
        if st.api.is_none() {
            self.cell
                .swap(inspector.unwrap_or_else(|| Arc::new(AllowAll) as Arc<dyn Inspector>));
        }
    }

    /// A web ACL from the API: applied at once.
    fn api_swap(&self, inspector: Arc<dyn Inspector>, arn: &str) {
        let mut st = self.lock();
        st.api = Some(arn.to_owned());
        self.cell.swap(inspector);
    }

    /// Sets or clears the API association; clearing returns the listener to its file (or to allowing everything)
    /// and returns the ARN that was associated.
    fn set_api(&self, arn: Option<String>) -> Option<String> {
        let mut st = self.lock();
        let old = std::mem::replace(&mut st.api, arn);
        if old.is_some() && st.api.is_none() {
            let back = st
                .file
                .clone()
                .unwrap_or_else(|| Arc::new(AllowAll) as Arc<dyn Inspector>);
            self.cell.swap(back);
        }
        old
    }
}

impl WafNode {
    /// Each listener's name and bound address at start, in configuration order (`cfg`, the configuration the
    /// node started with, is kept for compatibility).
    pub fn listeners(&self, cfg: &WafConfig) -> Vec<(String, SocketAddr)> {
        cfg.listeners
            .iter()
            .filter_map(|l| self.addrs.iter().find(|(n, _)| *n == l.name).cloned())
            .collect()
    }

    /// Stops watching files and shuts every listener down gracefully.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for w in self.watchers {
            let _ = w.await;
        }
        self.proxy.lock().await.stop().await;
        if let Some(redis) = self.redis {
            redis.shutdown().await;
        }
    }
}

/// The rate counter shared by every listener and every ACL version: in Redis when `waf.redis` is set (every node
/// sharing that Redis enforces one limit), else in this process. A `rediss://` Redis must present a certificate
/// from `waf.redis_ca_file`, or from the built-in CA (`<data_dir>/ca.pem`) when that is not set.
fn rate_counter(
    cfg: &WafConfig,
    data_dir: &Path,
) -> Result<(Arc<dyn RateCounter>, Option<SyncHandle>)> {
    match &cfg.redis {
        None => Ok((Arc::new(InMemoryRateCounter::new()), None)),
        Some(url) => {
            let mut rc = RedisRateConfig::new(url.clone());
            if url.starts_with("rediss") {
                let ca = cfg
                    .redis_ca_file
                    .clone()
                    .unwrap_or_else(|| data_dir.join("ca.pem"));
                rc.ca_pem = Some(
                    std::fs::read(&ca)
                        .with_context(|| format!("waf.redis_ca_file: reading {}", ca.display()))?,
                );
            }
            let (counter, handle) = RedisRateCounter::connect(rc)
                .context("waf.redis: setting up the shared rate counters")?;
            tracing::info!("rate-based rules count in Redis, shared with every node using it");
            Ok((counter, Some(handle)))
        }
    }
}

/// The key that signs `aws-waf-token`s: read from `waf.token_key_file`, or from `<data_dir>/waf/token.key`,
/// which is created with a fresh random key on first start.
fn token_keys(cfg: &WafConfig, data_dir: &Path) -> Result<TokenKeys> {
    let (path, create) = match &cfg.token_key_file {
        Some(p) => (p.clone(), false),
        None => (data_dir.join("waf").join("token.key"), true),
    };
    if create && !path.exists() {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        rand_bytes(&mut bytes)?;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        bytes.fill(0);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        portcullis_iam_api::sealing::write_private(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the WAF token key {}", path.display()))?;
    let key =
        TokenKey::from_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    TokenKeys::new(vec![key]).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn rand_bytes(out: &mut [u8]) -> Result<()> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(out))
        .context("reading random bytes")
}

/// The sink for web ACLs from files (`waf.log`).
async fn file_log_sink(cfg: &WafConfig) -> Result<Option<Arc<dyn LogSink>>> {
    Ok(match &cfg.log {
        None => None,
        Some(WafLog::Stdout) => Some(Arc::new(StdoutSink::new()?)),
        Some(WafLog::File(path)) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            Some(Arc::new(
                FileSink::open(path).with_context(|| format!("waf.log: {}", path.display()))?,
            ))
        }
        Some(WafLog::Nats { url, subject }) => {
            Some(Arc::new(nats_log::NatsSink::start(url, subject).await?))
        }
    })
}

/// The file's identity for change detection: modification time and size.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// `portcullis config check`: compiles every listener's web ACL file and describes each listener.
pub fn check(cfg: &WafConfig) -> Result<Vec<String>> {
    if cfg.listeners.is_empty() {
        return Ok(Vec::new());
    }
    let cx = AclContext {
        base: portcullis_resources(&cfg.ip_reputation)?,
        crs: CrsLoader::new(cfg.crs_dir.clone(), cfg.crs_paranoia),
        keys: Arc::default(),
        geo: acl_file::load_geo(cfg.geoip_db.as_deref(), cfg.asn_db.as_deref())?,
    };
    let mut lines = Vec::new();
    for l in &cfg.listeners {
        let acl = match &l.web_acl {
            None => "no web ACL (allow all)".to_owned(),
            Some(path) => {
                let (acl, _) = acl_file::load(path, &cx)
                    .with_context(|| format!("WAF listener {:?}", l.name))?;
                format!("web ACL {:?} from {}", acl.name(), path.display())
            }
        };
        let pools: Vec<&str> = l.routes.iter().map(|r| r.pool.as_str()).collect();
        let scheme = if l.tls.is_some() { "https" } else { "http" };
        lines.push(format!(
            "listener {} {scheme}://{} -> {}; {acl}",
            l.name,
            l.bind,
            pools.join(", ")
        ));
    }
    Ok(lines)
}

/// Starts every `[[waf.listeners]]`; `None` when there are none and no `elb` link. With `api`, web ACLs associated
/// with the listeners through the WAFv2 API are applied too (and take precedence over the listener's file). With
/// `source`, the `[waf]` section is reloaded on `SIGHUP` and when the file changes (module [`reload`]). With `elb`,
/// the load balancers defined through the ELBv2 API run beside the file's listeners (module [`elb`]).
pub async fn start(
    cfg: &WafConfig,
    pki: &Arc<Pki>,
    data_dir: &Path,
    shutdown_grace: Duration,
    api: Option<ApiLink>,
    source: Option<ConfigSource>,
    elb: Option<elb::ElbLink>,
) -> Result<Option<WafNode>> {
    if cfg.listeners.is_empty() && elb.is_none() {
        return Ok(None);
    }
    let cx = Arc::new(AclContext {
        base: portcullis_resources(&cfg.ip_reputation)?,
        crs: CrsLoader::new(cfg.crs_dir.clone(), cfg.crs_paranoia),
        keys: Arc::default(),
        geo: acl_file::load_geo(cfg.geoip_db.as_deref(), cfg.asn_db.as_deref())?,
    });
    let (rate, redis) = rate_counter(cfg, data_dir)?;
    let interstitials =
        Interstitials::new(token_keys(cfg, data_dir)?, InterstitialConfig::default())
            .map_err(|e| anyhow::anyhow!("CAPTCHA/challenge setup: {e}"))?;
    let log = FileLog {
        logging: Logging::default(),
        sink: file_log_sink(cfg).await?,
    };
    let logging = log.logging.clone();
    let mut state = NodeState::new(
        cfg.clone(),
        data_dir,
        shutdown_grace,
        Arc::clone(&cx),
        Arc::clone(&rate),
        log,
        Arc::new(interstitials),
        Arc::clone(pki),
    );
    let prepared = state
        .prepare(cfg.clone())
        .await
        .map_err(|problems| anyhow::anyhow!("{}", problems.join("\n")))?;
    let proxy = portcullis_waf_proxy::start(prepared.proxy.clone(), Arc::new(AllowAll))
        .await
        .map_err(|e| anyhow::Error::new(e).context("starting the WAF listeners"))?;
    state.commit(prepared);
    let addrs = cfg
        .listeners
        .iter()
        .filter_map(|l| Some((l.name.clone(), proxy.local_addr(&l.name)?)))
        .collect();
    let (stop, stop_rx) = watch::channel(false);
    let mut watchers = Vec::new();
    if let Some(link) = api {
        link.api.set_sample_source(Arc::new(ProxySamples {
            samples: proxy.samples().clone(),
            keys: Arc::clone(&cx.keys),
            rate: Arc::clone(&rate),
        }));
        watchers.push(tokio::spawn(api_sync::run(
            link,
            Arc::clone(&state.slots),
            Arc::clone(&cx),
            Arc::clone(&rate),
            logging,
            cfg.log_destinations.clone(),
            stop_rx.clone(),
        )));
    }
    let proxy = Arc::new(tokio::sync::Mutex::new(proxy));
    let overlay = elb.map(|link| {
        link.api.set_health_source(Arc::new(elb::ProxyHealth {
            proxy: Arc::clone(&proxy),
        }));
        let (tx, rx) = watch::channel(elb::Overlay::default());
        watchers.push(tokio::spawn(elb::run(
            link,
            Arc::clone(&proxy),
            tx,
            stop_rx.clone(),
        )));
        rx
    });
    watchers.push(tokio::spawn(reload::run(
        state,
        Arc::clone(&proxy),
        source,
        stop_rx,
        reload::hangup(),
        overlay,
    )));
    Ok(Some(WafNode {
        proxy,
        addrs,
        stop,
        watchers,
        redis,
    }))
}

/// Where web ACLs from files log (`waf.log`).
#[derive(Clone)]
struct FileLog {
    logging: Logging,
    sink: Option<Arc<dyn LogSink>>,
}

/// Logs every request a file web ACL evaluates to `sink` (when `waf.log` is set).
fn log_file_acl(
    logging: &Logging,
    sink: Option<&Arc<dyn LogSink>>,
    model: &portcullis_waf_model::WebAcl,
) {
    if let Some(sink) = sink {
        let arn = if model.arn.is_empty() {
            &model.name
        } else {
            &model.arn
        };
        logging.put(LoggingConfig::keep_all(arn), Arc::clone(sink));
    }
}

/// Polls `path`; on a change, compiles it and hands it to the listener's slot. Errors keep the running ACL.
async fn watch_file(
    path: PathBuf,
    slot: Arc<Slot>,
    cx: Arc<AclContext>,
    rate: Arc<dyn RateCounter>,
    log: FileLog,
    mut stop: watch::Receiver<bool>,
) {
    let listener = slot.name.clone();
    let mut last = stamp(&path);
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
        let now = stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        if now.is_none() {
            tracing::error!(listener = %listener, file = %path.display(), "web ACL file is missing; keeping the running web ACL");
            continue;
        }
        let result = {
            let cx = Arc::clone(&cx);
            let path = path.clone();
            tokio::task::spawn_blocking(move || acl_file::load(&path, &cx)).await
        };
        match result {
            Ok(Ok((acl, model))) => {
                let name = acl.name().to_owned();
                log_file_acl(&log.logging, log.sink.as_ref(), &model);
                let applied = slot.file_swap(Arc::new(cx.inspector(acl, &rate, &model)));
                if applied {
                    tracing::info!(listener = %listener, file = %path.display(), acl = %name, "web ACL reloaded");
                } else {
                    tracing::info!(listener = %listener, file = %path.display(), acl = %name, "web ACL file reloaded; the web ACL associated through the API stays in force");
                }
            }
            Ok(Err(e)) => {
                tracing::error!(listener = %listener, file = %path.display(), error = %e, "web ACL file rejected; keeping the running web ACL");
            }
            Err(e) => {
                tracing::error!(listener = %listener, file = %path.display(), error = %e, "web ACL reload failed; keeping the running web ACL");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rediss_trusts_the_configured_bundle_or_the_built_in_ca() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = WafConfig {
            redis: Some("rediss://127.0.0.1:1/".into()),
            ..WafConfig::default()
        };
        // No ca.pem in the data directory yet: the error names the file.
        let err = format!("{:#}", rate_counter(&cfg, dir.path()).err().unwrap());
        assert!(
            err.contains("waf.redis_ca_file") && err.contains("ca.pem"),
            "{err}"
        );
        // The built-in CA, as `serve` writes it.
        let pki = Pki::open_or_init(&dir.path().join("pki"), &["localhost".to_owned()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), pki.ca_cert_pem()).unwrap();
        let (_, handle) = rate_counter(&cfg, dir.path()).unwrap();
        handle.unwrap().shutdown().await;
        // An explicit bundle wins.
        let cfg = WafConfig {
            redis_ca_file: Some(dir.path().join("missing.pem")),
            ..cfg
        };
        let err = format!("{:#}", rate_counter(&cfg, dir.path()).err().unwrap());
        assert!(err.contains("missing.pem"), "{err}");
        // Plain redis:// reads no bundle.
        let cfg = WafConfig {
            redis: Some("redis://127.0.0.1:1/".into()),
            ..cfg
        };
        let (_, handle) = rate_counter(&cfg, dir.path()).unwrap();
        handle.unwrap().shutdown().await;
    }
}
