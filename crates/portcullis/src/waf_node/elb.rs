//! Listeners created through the ELBv2 API: the node polls the store's ELB revision and, within
//! [`ELB_POLL_INTERVAL`] of a change, turns every load balancer's listeners, rules and target groups into proxy
//! listeners, routes and pools ([`Overlay`]), which the reload task merges with the `[waf]` file's and applies through
//! `ProxyHandle::reconfigure` (new ports bind, removed ones drain).
//!
//! - A listener is a proxy listener named by its listener ARN, bound on every address (`internet-facing`) or on
//!   loopback (`internal`); HTTPS listeners present a certificate the built-in CA issues for the load balancer's DNS
//!   name, `localhost` and `127.0.0.1`, written once to `<data_dir>/waf/elb/<listener id>.{crt,key}`.
//! - Rules become routes in priority order (each host × path prefix), then the default action as the `/` route.
//! - A target group with targets is a pool named by its ARN; `fixed-response`, `redirect` and a target group without
//!   targets are answered by local responders ([`super::elb_respond`]).
//! - A web ACL associated with the load balancer ARN applies to all its listeners ([`association_arn`]).
//! - A name or port the `[waf]` file uses wins; the API listener is skipped and logged.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_config::{WafConfig, WafHealthCheck, WafListener, WafPool, WafRoute, WafTls};
use portcullis_elb_api::model::{Action, World};
use portcullis_elb_api::{ElbApi, HealthSource, bind_address};
use portcullis_pki::Pki;
use portcullis_waf_proxy::ProxyHandle;
use tokio::sync::{Mutex, watch};

use super::elb_respond::{Answer, Responders};

/// How often the store's ELB revision is read.
pub const ELB_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Validity of the certificates issued for HTTPS listeners.
const CERT_DAYS: u32 = 365;

/// What the node needs to serve API-defined load balancers.
#[derive(Clone)]
pub struct ElbLink {
    /// The ELBv2 API state (same store as the API listener).
    pub api: ElbApi,
    /// The built-in CA, for HTTPS listeners.
    pub pki: Arc<Pki>,
    /// The data directory (certificates go under `waf/elb/`).
    pub data_dir: PathBuf,
}

/// The listeners and pools the API defines, to merge with the file's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    /// Listeners, named by listener ARN.
    pub listeners: Vec<WafListener>,
    /// Pools, named by target group ARN (or responder).
    pub pools: Vec<WafPool>,
}

/// The resource a web ACL is associated with for a proxy listener named `listener`: its load balancer's ARN when
/// it is an API listener (named by its listener ARN).
pub fn association_arn(listener: &str) -> Option<String> {
    portcullis_elb_api::arn::load_balancer_of_listener(listener)
}

/// `file` with the API's listeners and pools added; those whose name or port the file already uses are skipped.
pub fn merge(file: &WafConfig, overlay: &Overlay) -> WafConfig {
    let mut out = file.clone();
    let names: HashSet<&str> = file.listeners.iter().map(|l| l.name.as_str()).collect();
    let ports: HashSet<u16> = file.listeners.iter().map(|l| l.bind.port()).collect();
    let pools: HashSet<&str> = file.pools.iter().map(|p| p.name.as_str()).collect();
    for l in &overlay.listeners {
        if names.contains(l.name.as_str()) || ports.contains(&l.bind.port()) {
            tracing::warn!(listener = %l.name, port = l.bind.port(), "ELB listener skipped: the [waf] configuration uses its name or port");
            continue;
        }
        out.listeners.push(l.clone());
    }
    out.pools.extend(
        overlay
            .pools
            .iter()
            .filter(|p| !pools.contains(p.name.as_str()))
            .cloned(),
    );
    out
}

fn pool(name: &str, upstreams: Vec<SocketAddr>, health_check: Option<WafHealthCheck>) -> WafPool {
    WafPool {
        name: name.to_owned(),
        upstreams,
        least_connections: false,
        connect_timeout: Duration::from_secs(3),
        read_timeout: Duration::from_secs(60),
        retries: 1,
        max_idle_per_upstream: 32,
        health_check,
    }
}

/// A rule (or the default action) as the proxy routes it: any of `hosts` (`None`: any host) × any of `paths`.
struct Match<'a> {
    hosts: Vec<Option<String>>,
    paths: Vec<String>,
    action: &'a Action,
}

/// The listener's rules by priority, then its default action.
fn matches<'a>(world: &'a World, l: &'a portcullis_elb_api::model::Listener) -> Vec<Match<'a>> {
    let mut out: Vec<Match<'a>> = world
        .rules_of(&l.arn)
        .into_iter()
        .filter_map(|r| {
            let hosts = r
                .conditions
                .iter()
                .find(|c| c.field == "host-header")
                .map_or(vec![None], |c| c.values.iter().cloned().map(Some).collect());
            let paths = r
                .conditions
                .iter()
                .find(|c| c.field == "path-pattern")
                .map_or(vec!["/".to_owned()], |c| {
                    c.values
                        .iter()
                        .map(|v| portcullis_elb_api::input::path_prefix(v))
                        .collect()
                });
            Some(Match {
                hosts,
                paths,
                action: r.actions.first()?,
            })
        })
        .collect();
    if let Some(d) = l.default_actions.first() {
        out.push(Match {
            hosts: vec![None],
            paths: vec!["/".to_owned()],
            action: d,
        });
    }
    out
}

/// The pool of a target group with targets: its targets, its health checks.
fn tg_pool(tg: &portcullis_elb_api::model::TargetGroup) -> WafPool {
    let upstreams = tg
        .targets
        .iter()
        .filter_map(|t| Some(SocketAddr::new(t.id.parse().ok()?, t.port)))
        .collect();
    let hc = tg.health.enabled.then(|| WafHealthCheck {
        path: tg.health.path.clone(),
        interval: Duration::from_secs(tg.health.interval.into()),
        timeout: Duration::from_secs(tg.health.timeout.into()),
        healthy_threshold: tg.health.healthy,
        unhealthy_threshold: tg.health.unhealthy,
    });
    pool(&tg.arn, upstreams, hc)
}

/// Builds the overlay from every stored world; `running` says whether a listener is already bound by this node
/// (a new one whose port cannot be bound is skipped, so that one bad listener does not hold back every change).
async fn build(
    worlds: &[World],
    link: &ElbLink,
    responders: &mut Responders,
    running: &HashSet<String>,
) -> Overlay {
    let mut overlay = Overlay::default();
    let mut answers = Vec::new();
    let mut pools_made: BTreeSet<String> = BTreeSet::new();
    let mut ports = HashSet::new();
    for world in worlds {
        for l in &world.listeners {
            let Some(lb) = world.lb(&l.load_balancer_arn) else {
                continue;
            };
            let bind = bind_address(&lb.scheme, l.port);
            if !ports.insert(l.port) {
                continue;
            }
            if !running.contains(&l.arn) && std::net::TcpListener::bind(bind).is_err() {
                tracing::error!(listener = %l.arn, %bind, "ELB listener cannot bind its port; skipped");
                continue;
            }
            let tls = if l.protocol == "HTTPS" {
                match certificate(link, &l.arn, &lb.dns_name) {
                    Ok(files) => Some(WafTls::Files(vec![files])),
                    Err(e) => {
                        tracing::error!(listener = %l.arn, error = %e, "issuing the listener's certificate failed; skipped");
                        continue;
                    }
                }
            } else {
                None
            };
            let mut routes = Vec::new();
            for Match {
                hosts,
                paths,
                action,
            } in matches(world, l)
            {
                let name = match action {
                    Action::Forward { target_group_arn } => match world.tg(target_group_arn) {
                        Some(tg) if !tg.targets.is_empty() => {
                            if pools_made.insert(tg.arn.clone()) {
                                overlay.pools.push(tg_pool(tg));
                            }
                            tg.arn.clone()
                        }
                        _ => {
                            answer_pool(
                                &Answer::no_targets(),
                                responders,
                                &mut overlay,
                                &mut pools_made,
                                &mut answers,
                            )
                            .await
                        }
                    },
                    other => match Answer::of(other, l.port) {
                        Some(a) => {
                            answer_pool(&a, responders, &mut overlay, &mut pools_made, &mut answers)
                                .await
                        }
                        None => continue,
                    },
                };
                if name.is_empty() {
                    continue;
                }
                for host in &hosts {
                    for path in &paths {
                        routes.push(WafRoute {
                            host: host.clone(),
                            path_prefix: path.clone(),
                            pool: name.clone(),
                        });
                    }
                }
            }
            overlay.listeners.push(WafListener {
                name: l.arn.clone(),
                bind,
                tls,
                web_acl: None,
                routes,
            });
        }
    }
    responders.retain(&answers);
    remove_stale_certificates(link, &overlay);
    overlay
}

/// Deletes the certificate files of HTTPS listeners that are gone.
fn remove_stale_certificates(link: &ElbLink, overlay: &Overlay) {
    let dir = link.data_dir.join("waf").join("elb");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let live: HashSet<&str> = overlay
        .listeners
        .iter()
        .filter_map(|l| l.name.rsplit('/').next())
        .collect();
    for e in entries.flatten() {
        let path = e.path();
        let stale = path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|id| !live.contains(id));
        if stale {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The pool of a responder (started if needed); empty when it cannot start.
async fn answer_pool(
    answer: &Answer,
    responders: &mut Responders,
    overlay: &mut Overlay,
    made: &mut BTreeSet<String>,
    answers: &mut Vec<Answer>,
) -> String {
    match responders.addr(answer).await {
        Ok(addr) => {
            let name = format!("elb-responder:{addr}");
            if made.insert(name.clone()) {
                overlay.pools.push(pool(&name, vec![addr], None));
            }
            if !answers.contains(answer) {
                answers.push(answer.clone());
            }
            name
        }
        Err(e) => {
            tracing::error!(error = %e, "starting a load balancer responder failed");
            String::new()
        }
    }
}

/// The certificate files of an HTTPS listener, issued by the built-in CA on first use.
fn certificate(
    link: &ElbLink,
    listener_arn: &str,
    dns_name: &str,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let id = listener_arn.rsplit('/').next().unwrap_or("listener");
    let dir = link.data_dir.join("waf").join("elb");
    let cert = dir.join(format!("{id}.crt"));
    let key = dir.join(format!("{id}.key"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir)?;
    let names = vec![
        dns_name.to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
    ];
    let issued = link.pki.issue_server(&names, CERT_DAYS)?;
    let _ = std::fs::remove_file(&key);
    portcullis_iam_api::sealing::write_private(&key, issued.key_pem.expose().as_bytes())?;
    std::fs::write(
        &cert,
        format!("{}{}", issued.cert_pem, link.pki.ca_cert_pem()),
    )?;
    Ok((cert, key))
}

/// Polls the ELB revision until `stop`, publishing a new [`Overlay`] on `tx` when what the API defines changes.
pub async fn run(
    link: ElbLink,
    proxy: Arc<Mutex<ProxyHandle>>,
    tx: watch::Sender<Overlay>,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen: Option<u64> = None;
    let mut responders = Responders::default();
    loop {
        match link.api.revision().await {
            Ok(rev) if seen != Some(rev) => match link.api.worlds().await {
                Ok(worlds) => {
                    let running: HashSet<String> = {
                        let p = proxy.lock().await;
                        worlds
                            .iter()
                            .flat_map(|w| w.listeners.iter())
                            .filter(|l| p.local_addr(&l.arn).is_some())
                            .map(|l| l.arn.clone())
                            .collect()
                    };
                    let overlay = build(&worlds, &link, &mut responders, &running).await;
                    tx.send_if_modified(|o| {
                        let changed = *o != overlay;
                        *o = overlay;
                        changed
                    });
                    seen = Some(rev);
                }
                Err(e) => tracing::warn!(error = %e, "reading the load balancers failed; retrying"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the ELB revision failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(ELB_POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// `DescribeTargetHealth` reads the proxy's pools.
pub struct ProxyHealth {
    /// The running proxy.
    pub proxy: Arc<Mutex<ProxyHandle>>,
}

#[async_trait::async_trait]
impl HealthSource for ProxyHealth {
    async fn pool_health(&self, target_group_arn: &str) -> Option<Vec<(SocketAddr, bool)>> {
        let pool = self.proxy.lock().await.pool(target_group_arn)?;
        Some(
            pool.servers
                .iter()
                .map(|s| (s.addr, s.is_healthy()))
                .collect(),
        )
    }
}

/// Where the reload task hears about overlay changes, and the file path it logs them under.
pub const SOURCE: &str = "elbv2 API";

/// The path reload logs API-driven changes under.
pub fn source_path() -> &'static Path {
    Path::new(SOURCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(name: &str, port: u16) -> WafListener {
        WafListener {
            name: name.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: None,
            web_acl: None,
            routes: Vec::new(),
        }
    }

    #[test]
    fn the_file_wins_names_and_ports() {
        let file = WafConfig {
            listeners: vec![listener("web", 8080)],
            ..WafConfig::default()
        };
        let overlay = Overlay {
            listeners: vec![
                listener("web", 9000),
                listener("a", 8080),
                listener("b", 9001),
            ],
            pools: Vec::new(),
        };
        let merged = merge(&file, &overlay);
        let names: Vec<&str> = merged.listeners.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["web", "b"]);
    }

    #[test]
    fn api_listeners_associate_through_their_load_balancer() {
        let l = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/0123456789abcdef/fedcba9876543210";
        assert_eq!(
            association_arn(l).as_deref(),
            Some(
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/0123456789abcdef"
            )
        );
        assert_eq!(association_arn("web"), None);
    }
}
