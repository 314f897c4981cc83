//! Maps the resolved `[waf]` section onto the proxy's configuration: limits, pools, listener TLS files and the
//! whole [`ProxyConfig`] (with each listener's inspector cell), for the first start and for every reload.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use portcullis_config::{WafConfig, WafListener, WafTls};
use portcullis_pki::Pki;
use portcullis_waf_proxy::challenge::Interstitials;
use portcullis_waf_proxy::{
    Balance, CertificateFiles, FailMode, HealthCheckConfig, InspectorCell, Limits, ListenerConfig,
    Logging, PoolConfig, ProxyConfig, RouteConfig, TlsConfig,
};

/// Validity of certificates issued for `tls = { issue = [...] }`.
const ISSUED_CERT_DAYS: u32 = 90;

/// The proxy configuration for `cfg`, each listener using the cell and TLS settings `listener` gives for its name.
pub(super) fn proxy_config(
    cfg: &WafConfig,
    listener: impl Fn(&str) -> (InspectorCell, Option<TlsConfig>),
    shutdown_grace: std::time::Duration,
    logging: &Logging,
    interstitials: &Arc<Interstitials>,
) -> ProxyConfig {
    let listeners = cfg
        .listeners
        .iter()
        .map(|l| {
            let (cell, tls) = listener(&l.name);
            ListenerConfig {
                tls,
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
            }
        })
        .collect();
    let used: HashSet<&str> = cfg
        .listeners
        .iter()
        .flat_map(|l| l.routes.iter().map(|r| r.pool.as_str()))
        .collect();
    ProxyConfig {
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
        interstitials: Some(Arc::clone(interstitials)),
        workers: cfg
            .workers
            .unwrap_or_else(portcullis_waf_proxy::default_workers),
        ..ProxyConfig::default()
    }
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
pub(super) fn tls(l: &WafListener, pki: &Pki, data_dir: &Path) -> Result<Option<TlsConfig>> {
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
