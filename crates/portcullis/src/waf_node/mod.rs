//! The WAF node inside `portcullis serve`: builds the reverse proxy from the `[waf]` section, compiles each
//! listener's web ACL file, starts the listeners and re-applies a web ACL file within a second of it changing.
//!
//! All listeners run in one proxy; each listener has its own hot-swappable inspector cell. A changed file is read, validated and
//! compiled off the request path (the proxy's `AclInspector` logs blocks and feeds the metrics); only a good result replaces the inspector, so requests in flight finish under
//! the ACL they started with and a bad file leaves the running ACL in place (the error is logged with the file).

mod acl_file;
pub mod api_sync;
mod groups;
mod nats_log;
mod reputation;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use portcullis_config::{WafConfig, WafListener, WafLog, WafTls};
use portcullis_pki::Pki;
use portcullis_waf_core::rate::{InMemoryRateCounter, RateCounter};
use portcullis_waf_proxy::challenge::{InterstitialConfig, Interstitials, TokenKey, TokenKeys};
use portcullis_waf_proxy::{
    AllowAll, Balance, CertificateFiles, FailMode, FileSink, HealthCheckConfig, Inspector,
    InspectorCell, Limits, ListenerConfig, LogSink, Logging, LoggingConfig, PoolConfig,
    ProxyConfig, ProxyHandle, RouteConfig, StdoutSink, TlsConfig,
};
use portcullis_waf_redis::{RedisRateConfig, RedisRateCounter, SyncHandle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use acl_file::AclContext;
use api_sync::{ApiLink, ProxySamples};
use groups::{CrsLoader, portcullis_resources};

/// How often web ACL files are checked for changes.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Validity of certificates issued for `tls = { issue = [...] }`.
const ISSUED_CERT_DAYS: u32 = 90;

/// A running WAF node.
pub struct WafNode {
    proxy: ProxyHandle,
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
    /// Each listener's name and bound address, in configuration order.
    pub fn listeners(&self, cfg: &WafConfig) -> Vec<(String, SocketAddr)> {
        cfg.listeners
            .iter()
            .filter_map(|l| Some((l.name.clone(), self.proxy.local_addr(&l.name)?)))
            .collect()
    }

    /// Stops watching files and shuts every listener down gracefully.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for w in self.watchers {
            let _ = w.await;
        }
        self.proxy.shutdown().await;
        if let Some(redis) = self.redis {
            redis.shutdown().await;
        }
    }
}

/// The rate counter shared by every listener and every ACL version: in Redis when `waf.redis` is set (every node
/// sharing that Redis enforces one limit), else in this process.
fn rate_counter(cfg: &WafConfig) -> Result<(Arc<dyn RateCounter>, Option<SyncHandle>)> {
    match &cfg.redis {
        None => Ok((Arc::new(InMemoryRateCounter::new()), None)),
        Some(url) => {
            let (counter, handle) = RedisRateCounter::connect(RedisRateConfig::new(url.clone()))
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

fn limits(cfg: &WafConfig) -> Limits {
    let d = Limits::default();
    let l = &cfg.limits;
    Limits {
        max_header_bytes: l.max_header_bytes.unwrap_or(d.max_header_bytes),
        max_headers: l.max_headers.unwrap_or(d.max_headers),
        max_body_bytes: l.max_body_bytes.unwrap_or(d.max_body_bytes),
        inspection_limit: l.inspection_limit.unwrap_or(d.inspection_limit),
        header_read_timeout: l.header_read_timeout.unwrap_or(d.header_read_timeout),
        body_prefix_timeout: l.body_prefix_timeout.unwrap_or(d.body_prefix_timeout),
        max_connections: l.max_connections.unwrap_or(d.max_connections),
        max_requests_per_ip: l.max_requests_per_ip.unwrap_or(d.max_requests_per_ip),
        max_h2_streams: l.max_h2_streams.unwrap_or(d.max_h2_streams),
    }
}

fn pools(cfg: &WafConfig, used: &HashSet<&str>) -> Vec<PoolConfig> {
    cfg.pools
        .iter()
        .filter(|p| used.contains(p.name.as_str()))
        .map(|p| PoolConfig {
            name: p.name.clone(),
            upstreams: p.upstreams.clone(),
            balance: if p.least_connections {
                Balance::LeastConnections
            } else {
                Balance::RoundRobin
            },
            health_check: p.health_check.as_ref().map(|h| HealthCheckConfig {
                interval: h.interval,
                path: h.path.clone(),
                timeout: h.timeout,
                healthy_threshold: h.healthy_threshold,
                unhealthy_threshold: h.unhealthy_threshold,
            }),
            connect_timeout: p.connect_timeout,
            read_timeout: p.read_timeout,
            retries: p.retries,
            max_idle_per_upstream: p.max_idle_per_upstream,
        })
        .collect()
}

/// The listener's TLS files; `issue` certificates are issued now by the built-in CA and written to
/// `<data_dir>/waf/<listener>.{crt,key}`.
fn tls(l: &WafListener, pki: &Pki, data_dir: &Path) -> Result<Option<TlsConfig>> {
    let certificates = match &l.tls {
        None => return Ok(None),
        Some(WafTls::Files(files)) => files
            .iter()
            .map(|(c, k)| CertificateFiles {
                cert_pem: c.clone(),
                key_pem: k.clone(),
            })
            .collect(),
        Some(WafTls::Issue(names)) => {
            let dir = data_dir.join("waf");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let issued = pki
                .issue_server(names, ISSUED_CERT_DAYS)
                .with_context(|| format!("issuing the certificate of WAF listener {:?}", l.name))?;
            let safe: String = l
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let cert = dir.join(format!("{safe}.crt"));
            let key = dir.join(format!("{safe}.key"));
            let chain = format!("{}{}", issued.cert_pem, pki.ca_cert_pem());
            std::fs::write(&cert, chain).with_context(|| format!("writing {}", cert.display()))?;
            let _ = std::fs::remove_file(&key);
            portcullis_iam_api::sealing::write_private(&key, issued.key_pem.expose().as_bytes())
                .with_context(|| format!("writing {}", key.display()))?;
            vec![CertificateFiles {
                cert_pem: cert,
                key_pem: key,
            }]
        }
    };
    Ok(Some(TlsConfig { certificates }))
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

/// Starts every `[[waf.listeners]]`; `None` when there are none. With `api`, web ACLs associated with the
/// listeners through the WAFv2 API are applied too (and take precedence over the listener's file).
pub async fn start(
    cfg: &WafConfig,
    pki: &Pki,
    data_dir: &Path,
    shutdown_grace: Duration,
    api: Option<ApiLink>,
) -> Result<Option<WafNode>> {
    if cfg.listeners.is_empty() {
        return Ok(None);
    }
    let cx = Arc::new(AclContext {
        base: portcullis_resources(&cfg.ip_reputation)?,
        crs: CrsLoader::new(cfg.crs_dir.clone(), cfg.crs_paranoia),
        keys: Arc::default(),
        geo: acl_file::load_geo(cfg.geoip_db.as_deref(), cfg.asn_db.as_deref())?,
    });
    let (rate, redis) = rate_counter(cfg)?;
    let interstitials =
        Interstitials::new(token_keys(cfg, data_dir)?, InterstitialConfig::default())
            .map_err(|e| anyhow::anyhow!("CAPTCHA/challenge setup: {e}"))?;
    let file_sink = file_log_sink(cfg).await?;
    let logging = Logging::default();
    let (stop, stop_rx) = watch::channel(false);
    let mut watchers = Vec::new();
    let mut listeners = Vec::new();
    let mut slots = Vec::new();
    for l in &cfg.listeners {
        let file: Option<Arc<dyn Inspector>> = match &l.web_acl {
            None => None,
            Some(path) => {
                let (acl, model) = {
                    let cx = Arc::clone(&cx);
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || acl_file::load(&path, &cx)).await?
                }
                .with_context(|| format!("WAF listener {:?}: loading its web ACL", l.name))?;
                tracing::info!(listener = %l.name, file = %path.display(), acl = %acl.name(), "web ACL loaded");
                log_file_acl(&logging, file_sink.as_ref(), &model);
                Some(Arc::new(cx.inspector(acl, &rate, &model)))
            }
        };
        let cell = InspectorCell::new(
            file.clone()
                .unwrap_or_else(|| Arc::new(AllowAll) as Arc<dyn Inspector>),
        );
        let slot = Arc::new(Slot::new(&l.name, cell.clone(), file));
        if let Some(path) = &l.web_acl {
            watchers.push(tokio::spawn(watch_file(
                path.clone(),
                Arc::clone(&slot),
                Arc::clone(&cx),
                Arc::clone(&rate),
                FileLog {
                    logging: logging.clone(),
                    sink: file_sink.clone(),
                },
                stop_rx.clone(),
            )));
        }
        slots.push(slot);
        listeners.push(ListenerConfig {
            tls: tls(l, pki, data_dir)?,
            routes: l
                .routes
                .iter()
                .map(|r| RouteConfig {
                    host: r.host.clone(),
                    path_prefix: r.path_prefix.clone(),
                    pool: r.pool.clone(),
                })
                .collect(),
            inspector: Some(cell),
            ..ListenerConfig::new(&l.name, l.bind)
        });
    }
    let used: HashSet<&str> = cfg
        .listeners
        .iter()
        .flat_map(|l| l.routes.iter().map(|r| r.pool.as_str()))
        .collect();
    let config = ProxyConfig {
        listeners,
        pools: pools(cfg, &used),
        limits: limits(cfg),
        trusted_proxies: cfg.trusted_proxies.clone(),
        fail_mode: if cfg.fail_open {
            FailMode::Open
        } else {
            FailMode::default()
        },
        shutdown_grace,
        logging: logging.clone(),
        interstitials: Some(Arc::new(interstitials)),
        ..ProxyConfig::default()
    };
    let proxy = match portcullis_waf_proxy::start(config, Arc::new(AllowAll)).await {
        Ok(p) => p,
        Err(e) => {
            let _ = stop.send(true);
            return Err(anyhow::Error::new(e).context("starting the WAF listeners"));
        }
    };
    if let Some(link) = api {
        link.api.set_sample_source(Arc::new(ProxySamples {
            samples: proxy.samples().clone(),
            keys: Arc::clone(&cx.keys),
            rate: Arc::clone(&rate),
        }));
        watchers.push(tokio::spawn(api_sync::run(
            link,
            slots,
            Arc::clone(&cx),
            Arc::clone(&rate),
            logging,
            stop_rx.clone(),
        )));
    }
    Ok(Some(WafNode {
        proxy,
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
