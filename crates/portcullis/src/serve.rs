//! `portcullis serve`: resolve the configuration, build every component, run until a signal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use portcullis_audit::{AuditTrail, LookupService, TrailConfig};
use portcullis_common::{Clock, Secret, SystemClock};
use portcullis_config::{Config, Overrides, RawConfig, RootKeyConfig};
use portcullis_http::{Pipeline, PipelineConfig, Registry};
use portcullis_iam_api::sealing::{FileRootKey, Pkcs11Config, Pkcs11RootKey, Sealer};
use portcullis_iam_api::service::Shared;
use portcullis_iam_api::{IamAuthenticator, IamService, Repo, StsService};
use portcullis_kms_api::{Kms, KmsService};
use portcullis_pki::Pki;

use crate::cli::{CommonArgs, ServeArgs};

/// Reads the file (if any) and applies the command-line overrides.
pub fn resolve(common: &CommonArgs, overrides: Overrides) -> Result<Config> {
    let raw = match &common.config {
        Some(path) => {
            RawConfig::from_file(path).map_err(|e| anyhow::anyhow!("{}:\n{e}", path.display()))?
        }
        None => RawConfig::default(),
    };
    raw.resolve(&Overrides {
        data_dir: common.data_dir.clone(),
        ..overrides
    })
    .map_err(|e| anyhow::anyhow!("the configuration has problems:\n{e}"))
}

/// `portcullis config check`.
pub fn check_config(common: &CommonArgs) -> Result<ExitCode> {
    let cfg = resolve(common, Overrides::default())?;
    let waf = crate::waf_node::check(&cfg.waf)?;
    let inspector = crate::inspector::network::check(&cfg)?;
    let guard = crate::guard::check::check(&cfg.guard)?;
    println!("configuration OK");
    println!("  data_dir   {}", cfg.data_dir.display());
    println!("  api.listen {}", cfg.api.listen);
    println!("  store      {}", redact_url(&cfg.store_url));
    println!("  account    {}", cfg.account_id);
    for line in waf {
        println!("  waf        {line}");
    }
    for line in inspector {
        println!("  inspector  {line}");
    }
    for line in guard {
        println!("  guard      {line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// `portcullis serve`.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        api_listen: args.api_listen,
        store_url: args.store,
        account_id: args.account_id,
        ..Default::default()
    };
    let cfg = resolve(&args.common, overrides.clone())?;
    // Where `[waf]` is reloaded from (SIGHUP, file changes).
    let source = args
        .common
        .config
        .clone()
        .map(|path| crate::waf_node::ConfigSource {
            path,
            overrides: Overrides {
                data_dir: args.common.data_dir.clone(),
                ..overrides
            },
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(cfg, source))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}

async fn serve(cfg: Config, source: Option<crate::waf_node::ConfigSource>) -> Result<ExitCode> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    create_private_dir(&cfg.data_dir)?;
    let data_dir = std::fs::canonicalize(&cfg.data_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let pki = Arc::new(
        Pki::open_or_init(&data_dir.join("pki"), &cfg.server_names)
            .context("opening the certificate authority")?,
    );
    let ca_path = data_dir.join("ca.pem");
    std::fs::write(&ca_path, pki.ca_cert_pem()).context("writing ca.pem")?;
    let tls = pki
        .server_tls_config()
        .context("building the TLS configuration")?;

    let root = open_root_key(&cfg)?;
    let store = portcullis_store::open(&cfg.store_url)
        .await
        .context("opening the store")?;
    let repo = Repo::new(store.clone());

    let given = admin_key_from_env()?;
    let creds_path = data_dir.join("credentials");
    if let Some(admin) =
        portcullis_iam_api::bootstrap(&repo, &*root, &*clock, &cfg.account_id, given)
            .await
            .context("creating the default account")?
    {
        write_credentials(
            &creds_path,
            &admin.access_key_id,
            admin.secret_access_key.expose(),
            &cfg.region,
        )?;
        tracing::info!(account = %cfg.account_id, access_key_id = %admin.access_key_id, "created the account and its admin user");
    }

    let trail = AuditTrail::start(
        store.clone(),
        clock.clone(),
        TrailConfig {
            files_dir: cfg.audit.write_files.then(|| data_dir.join("audit")),
            account: cfg.account_id.to_string(),
            region: cfg.region.clone(),
            file_interval: cfg.audit.file_interval,
        },
    );
    let shared = Shared::new(repo.clone(), root.clone());
    let mut registry = Registry::new();
    registry
        .register(Arc::new(IamService(shared.clone())))
        .register(Arc::new(StsService(shared.clone())))
        .register(Arc::new(LookupService::new(
            store.clone(),
            shared.authz.clone(),
        )));
    let kms = Kms::new(store.clone(), shared.authz.clone(), root.clone());
    registry.register(Arc::new(KmsService(kms.clone())));
    let waf_api = portcullis_waf_api::WafApi::new(store.clone(), shared.authz.clone());
    registry.register(Arc::new(portcullis_waf_api::WafService(waf_api.clone())));
    // ELBv2: load balancers whose listeners the WAF node runs.
    let elb_api = portcullis_elb_api::ElbApi::new(store.clone(), shared.authz.clone());
    registry.register(Arc::new(portcullis_elb_api::ElbService(elb_api.clone())));
    let guard_api = portcullis_guard_api::GuardApi::new(store.clone(), shared.authz.clone());
    registry.register(Arc::new(portcullis_guard_api::GuardService(
        guard_api.clone(),
    )));
    // Guard's `[[guard.sources]]` and `[[guard.exports]]`, and the `PutEvents` receiver.
    let guard_ingest = portcullis_guard_ingest::start(
        &cfg.guard,
        guard_api.clone(),
        &cfg.account_id.to_string(),
        &cfg.region,
    )
    .await
    .context("starting Guard's log sources and exports")?;
    // Inspector2 (and agents' `POST /agent/report`); the advisory index under
    // <data_dir>/inspector/db is reloaded off the request path when `inspector db import`
    // rewrites it.
    let inspector_api =
        portcullis_inspector_api::InspectorApi::new(store.clone(), shared.authz.clone(), &data_dir);
    let inspector_index_watcher =
        inspector_api.spawn_index_watcher(std::time::Duration::from_secs(5));
    // `[inspector] network_files` and the file `inspector network import` writes: imported
    // now (a bad file stops the start, naming it), then whenever one changes.
    let network_sources = crate::inspector::network::sources(&cfg, &data_dir);
    inspector_api
        .sync_network(&network_sources, &cfg.account_id.to_string(), &cfg.region)
        .await
        .context("importing Inspector's network description files")?;
    let inspector_network_watcher = inspector_api.spawn_network_watcher(
        network_sources,
        cfg.account_id.to_string(),
        cfg.region.clone(),
        cfg.inspector.network_reload_interval,
    );
    registry.register(Arc::new(portcullis_inspector_api::InspectorService(
        inspector_api,
    )));
    let scheduler =
        portcullis_kms_api::scheduler::spawn(kms, clock.clone(), KMS_SCHEDULER_INTERVAL);
    let backend = store.backend();
    let root_kind = root.kind();
    let pipeline = Arc::new(Pipeline::new(
        registry,
        Arc::new(IamAuthenticator::new(repo, root)),
        trail.clone(),
        clock,
        PipelineConfig {
            region: cfg.region.clone(),
            max_body_bytes: cfg.api.max_body_bytes,
            max_skew: cfg.api.max_clock_skew,
        },
        Arc::new(
            move || serde_json::json!({"status": "ok", "store": backend, "root_key": root_kind}),
        ),
    ));

    // One event loop per core serves the API (see `portcullis_http::workers`); the audit
    // trail's writer and the other background tasks stay on this runtime.
    let api_workers = cfg.api.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let listener = portcullis_http::ApiListener::bind(cfg.api.listen, api_workers)
        .await
        .with_context(|| {
            format!(
                "binding the API listener to {} (is another server running?)",
                cfg.api.listen
            )
        })?;
    let addr = listener.local_addr();
    let waf_link = crate::waf_node::api_sync::ApiLink {
        api: waf_api.clone(),
        region: cfg.region.clone(),
        account: cfg.account_id.to_string(),
        log_dir: data_dir.join("waf").join("logs"),
    };
    let waf_node = crate::waf_node::start(
        &cfg.waf,
        &pki,
        &data_dir,
        cfg.api.shutdown_grace,
        Some(waf_link),
        source,
        Some(crate::waf_node::elb::ElbLink {
            api: elb_api,
            pki: Arc::clone(&pki),
            data_dir: data_dir.clone(),
        }),
    )
    .await
    .context("starting the WAF proxy")?;
    if let Some(node) = &waf_node {
        for (name, addr) in node.listeners(&cfg.waf) {
            let arn =
                portcullis_waf_api::listener_arn(&cfg.region, &cfg.account_id.to_string(), &name);
            println!("WAF listener {name} is listening on {addr} (resource ARN {arn})");
        }
    }
    print_banner(&addr, &ca_path, &creds_path, &cfg.region);
    listener
        .serve(tls, pipeline, shutdown_signal(), cfg.api.shutdown_grace)
        .await?;
    if let Some(node) = waf_node {
        node.shutdown().await;
    }
    tracing::info!("listener closed; flushing the audit trail");
    scheduler.abort();
    inspector_index_watcher.abort();
    inspector_network_watcher.abort();
    guard_ingest.shutdown().await;
    trail.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// How often due key rotations and deletions are carried out.
const KMS_SCHEDULER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// The root key the configuration names: a key file (or `PORTCULLIS_ROOT_KEY`), or a key
/// inside a PKCS#11 token whose PIN is read from the environment variable `pin_env`.
fn open_root_key(cfg: &Config) -> Result<Arc<dyn Sealer>> {
    match &cfg.root_key {
        RootKeyConfig::File { path } => {
            let from_env = std::env::var_os(portcullis_iam_api::sealing::ROOT_KEY_ENV).is_some();
            let key = FileRootKey::load_or_create_file(path)
                .with_context(|| format!("loading the root key from {}", path.display()))?;
            if from_env {
                tracing::info!(
                    kind = "file",
                    source = "PORTCULLIS_ROOT_KEY",
                    "root key loaded"
                );
            } else {
                tracing::info!(kind = "file", path = %path.display(), "root key loaded");
            }
            Ok(Arc::new(key))
        }
        RootKeyConfig::Pkcs11 {
            module,
            token_label,
            pin_env,
            key_label,
        } => {
            let pin = std::env::var(pin_env).with_context(|| {
                format!("root_key.kind = \"pkcs11\" needs the token's user PIN in the environment variable {pin_env}")
            })?;
            let key = Pkcs11RootKey::open(&Pkcs11Config {
                module: module.clone(),
                token_label: token_label.clone(),
                pin: Secret::new(pin),
                key_label: key_label.clone(),
            })
            .with_context(|| {
                format!("opening the root key {key_label:?} in PKCS#11 token {token_label:?}")
            })?;
            tracing::info!(kind = "pkcs11", module = %module.display(), token = %token_label, key = %key_label, "root key opened");
            Ok(Arc::new(key))
        }
    }
}

fn admin_key_from_env() -> Result<Option<(String, Secret<String>)>> {
    let id = std::env::var("PORTCULLIS_ADMIN_ACCESS_KEY_ID").ok();
    let secret = std::env::var("PORTCULLIS_ADMIN_SECRET_ACCESS_KEY").ok();
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(Some((id, Secret::new(secret)))),
        (None, None) => Ok(None),
        _ => anyhow::bail!(
            "set both PORTCULLIS_ADMIN_ACCESS_KEY_ID and PORTCULLIS_ADMIN_SECRET_ACCESS_KEY, or neither"
        ),
    }
}

fn write_credentials(path: &PathBuf, id: &str, secret: &str, region: &str) -> Result<()> {
    let text = format!(
        "[portcullis]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nregion = {region}\n"
    );
    let _ = std::fs::remove_file(path);
    portcullis_iam_api::sealing::write_private(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn print_banner(addr: &std::net::SocketAddr, ca: &Path, creds: &Path, region: &str) {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "localhost".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    println!("Portcullis is listening on https://{host}:{}", addr.port());
    println!("Use it with the AWS CLI or SDKs:");
    println!();
    println!(
        "export AWS_ENDPOINT_URL=https://{host}:{} AWS_CA_BUNDLE={} AWS_SHARED_CREDENTIALS_FILE={} AWS_PROFILE=portcullis AWS_REGION={region} AWS_DEFAULT_REGION={region}",
        addr.port(),
        ca.display(),
        creds.display()
    );
    println!();
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}
