//! The agent against a real TLS server that verifies the client certificate (the built-in CA
//! issues both sides): retries while the server is away, deltas against the acknowledged
//! base, the full resend after a 409, state kept across restarts, and collection from a fake
//! host tree; RPM's Berkeley DB database built by the real tools ([`rpm_bdb`]).

#[path = "agent/rpm_bdb.rs"]
mod rpm_bdb;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use portcullis_inspector_agent::{Agent, AgentConfig, AgentError, Client, CollectOptions, Command};
use portcullis_inspector_core::inventory::{InventoryReport, ReportBody};
use portcullis_pki::Pki;

/// One request the server received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    service: Option<String>,
    principal: Option<String>,
    report: InventoryReport,
    status: u16,
    /// Sent `Content-Encoding: gzip`.
    gzip: bool,
}

#[derive(Default)]
struct ServerState {
    /// Statuses to answer with, first; then the server behaves like the real one.
    script: VecDeque<u16>,
    /// The sequence it holds.
    held: Option<u64>,
    seen: Vec<Seen>,
}

struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
}

impl TestServer {
    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
    fn script(&self, statuses: &[u16]) {
        self.state.lock().unwrap().script.extend(statuses);
    }
    fn forget(&self) {
        self.state.lock().unwrap().held = None;
    }
}

async fn handle(
    req: hyper::Request<Incoming>,
    principal: Option<String>,
    state: Arc<Mutex<ServerState>>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let service = req
        .headers()
        .get("x-portcullis-service")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let gzip = req
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let mut body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
    if gzip {
        use std::io::Read as _;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        body = out;
    }
    let report: InventoryReport = serde_json::from_slice(&body).unwrap();
    let mut st = state.lock().unwrap();
    let status = match st.script.pop_front() {
        Some(s) => s,
        None if principal.is_none() => 403,
        None => match &report.body {
            ReportBody::Full { .. } => 200,
            ReportBody::Delta { base, .. } if Some(*base) == st.held => 200,
            ReportBody::Delta { .. } => 409,
        },
    };
    if status == 200 {
        st.held = Some(report.sequence);
    }
    let body = match status {
        200 => format!("{{\"acknowledged\":{}}}", report.sequence),
        409 => "{\"__type\":\"ConflictException\",\"message\":\"unknown base\"}".to_owned(),
        _ => "{\"message\":\"unavailable\"}".to_owned(),
    };
    st.seen.push(Seen {
        path,
        service,
        principal,
        report,
        status,
        gzip,
    });
    Ok(hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap())
}

async fn start_server(pki: &Pki) -> TestServer {
    let config = pki.server_tls_config().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Mutex::new(ServerState::default()));
    let st = Arc::clone(&state);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let st = Arc::clone(&st);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let principal = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| portcullis_pki::principal_from_client_cert(c.as_ref()));
                let svc = hyper::service::service_fn(move |req| {
                    handle(req, principal.clone(), Arc::clone(&st))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TestServer { addr, state }
}

const PRINCIPAL: &str = "arn:aws:iam::000000000000:user/agent";

fn client_for(pki: &Pki, addr: SocketAddr) -> Client {
    let cert = pki.issue_client("host-a", PRINCIPAL, 1).unwrap();
    Client::new(
        &format!("https://127.0.0.1:{}", addr.port()),
        pki.ca_cert_pem(),
        &cert.cert_pem,
        &cert.key_pem,
    )
    .unwrap()
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A small Debian host.
fn fake_host(root: &Path) {
    write(
        root,
        "etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
    );
    write(root, "etc/machine-id", "5f2b8c7d9e0a4b1c8d7e6f5a4b3c2d1e\n");
    write(root, "etc/hostname", "web-1\n");
    write(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
    write(root, "proc/sys/kernel/randomize_va_space", "2\n");
    write(
        root,
        "var/lib/dpkg/status",
        "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n\
         Package: openssh-server\nStatus: install ok installed\nSource: openssh\nVersion: 1:9.2p1-2+deb12u2\n",
    );
    write(root, "etc/ssh/sshd_config", "PermitRootLogin yes\n");
    write(root, "etc/login.defs", "PASS_MAX_DAYS 99999\n");
    write(
        root,
        "srv/app/Cargo.lock",
        "version = 4\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
}

fn config(root: &Path, state: &Path) -> AgentConfig {
    let mut c = AgentConfig::new(state.to_path_buf());
    c.collect = CollectOptions {
        root: root.to_path_buf(),
        lockfile_paths: vec!["/srv".into()],
        run_commands: false,
        ..CollectOptions::default()
    };
    c.backoff_base = Duration::from_millis(5);
    c.backoff_cap = Duration::from_millis(50);
    c.max_attempts = Some(6);
    c
}

#[tokio::test]
async fn retries_deltas_conflicts_and_restarts() {
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(pki_dir.path(), &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let server = start_server(&pki).await;
    let host = tempfile::tempdir().unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    fake_host(host.path());

    // 1. The server is away twice (503), then acknowledges the first, full report.
    server.script(&[503, 503]);
    let mut agent = Agent::new(
        config(host.path(), state_dir.path()),
        client_for(&pki, server.addr),
    );
    let out = agent.report_once().await.unwrap();
    assert_eq!((out.full, out.attempts, out.acknowledged), (true, 3, 3));
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|s| s.path == "/agent/report" && s.service.as_deref() == Some("inspector2"))
    );
    assert_eq!(
        seen[2].principal.as_deref(),
        Some(PRINCIPAL),
        "the client certificate was presented and verified"
    );
    assert_eq!(seen[2].report.hostname, "web-1");
    assert!(seen[2].report.agent_id.starts_with("host-"));
    let ReportBody::Full { inventory } = &seen[2].report.body else {
        panic!("first report must be full")
    };
    assert_eq!(inventory.os.id, "debian");
    assert_eq!(inventory.packages.len(), 2);
    assert_eq!(
        inventory.packages[0].source_name.as_deref(),
        Some("openssl")
    );
    assert_eq!(inventory.lockfiles[0].packages[0].name, "smallvec");
    assert_eq!(inventory.sshd.as_ref().unwrap()["permitrootlogin"], "yes");
    let checks: Vec<String> = portcullis_inspector_core::checks::evaluate(inventory)
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert!(
        checks.contains(&"PCS-SSH-ROOT-LOGIN".to_owned()),
        "{checks:?}"
    );
    assert!(
        checks.contains(&"PCS-PASSWORD-MAX-AGE".to_owned()),
        "{checks:?}"
    );

    // 2. A change on the host travels as a delta of just that section.
    write(host.path(), "proc/sys/kernel/randomize_va_space", "0\n");
    let out = agent.report_once().await.unwrap();
    assert_eq!((out.full, out.attempts, out.acknowledged), (false, 1, 4));
    let last = server.seen().pop().unwrap();
    let ReportBody::Delta { base, delta } = &last.report.body else {
        panic!("expected a delta")
    };
    assert_eq!(*base, 3);
    assert!(delta.sysctls.is_some() && delta.packages.is_none() && delta.os.is_none());

    // 3. Nothing changed: an empty delta (a heartbeat).
    let out = agent.report_once().await.unwrap();
    assert!(!out.full);
    let ReportBody::Delta { delta, .. } = &server.seen().pop().unwrap().report.body else {
        panic!()
    };
    assert!(delta.is_empty());

    // 4. The server lost the host: 409, then a full report at once.
    server.forget();
    let out = agent.report_once().await.unwrap();
    assert_eq!((out.full, out.attempts), (true, 2));
    let statuses: Vec<u16> = server
        .seen()
        .iter()
        .rev()
        .take(2)
        .map(|s| s.status)
        .collect();
    assert_eq!(statuses, [200, 409]);

    // 5. A restarted agent keeps its id and sequence and sends a delta.
    let id = agent.agent_id().to_owned();
    let acked = out.acknowledged;
    drop(agent);
    let mut agent = Agent::new(
        config(host.path(), state_dir.path()),
        client_for(&pki, server.addr),
    );
    assert_eq!(agent.agent_id(), id);
    let out = agent.report_once().await.unwrap();
    assert!(!out.full);
    assert_eq!(out.acknowledged, acked + 1);
    let ReportBody::Delta { base, .. } = &server.seen().pop().unwrap().report.body else {
        panic!()
    };
    assert_eq!(*base, acked);

    // 6. The run loop reports at start and on request, and stops when told.
    let before = server.seen().len();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut cfg = config(host.path(), state_dir.path());
    cfg.interval = Duration::from_secs(3_600);
    let mut looping = Agent::new(cfg, client_for(&pki, server.addr));
    let task = tokio::spawn(async move { looping.run(rx).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Command::ReportNow).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Command::Stop).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.seen().len(), before + 2);
}

#[tokio::test]
async fn gives_up_when_the_server_is_down_or_the_certificate_is_foreign() {
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(pki_dir.path(), &["127.0.0.1".into()]).unwrap();
    let server = start_server(&pki).await;
    let host = tempfile::tempdir().unwrap();
    fake_host(host.path());

    // A certificate from another CA: the handshake is refused, nothing reaches the handler.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::open_or_init(other_dir.path(), &["127.0.0.1".into()]).unwrap();
    let foreign = other.issue_client("intruder", PRINCIPAL, 1).unwrap();
    let client = Client::new(
        &format!("https://127.0.0.1:{}", server.addr.port()),
        pki.ca_cert_pem(),
        &foreign.cert_pem,
        &foreign.key_pem,
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(host.path(), state.path());
    cfg.max_attempts = Some(2);
    let mut agent = Agent::new(cfg.clone(), client);
    assert!(matches!(
        agent.report_once().await,
        Err(AgentError::Unreachable(_))
    ));
    assert!(server.seen().is_empty());

    // Nobody listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut agent = Agent::new(cfg, client_for(&pki, closed));
    let started = std::time::Instant::now();
    assert!(matches!(
        agent.report_once().await,
        Err(AgentError::Unreachable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(agent.state().acknowledged, None);
}

/// The corpus's real Cargo.lock files through the agent's lockfile walk: every one found,
/// registry crates only (the projects themselves and their path crates are not reported).
#[test]
fn corpus_lockfiles_through_the_walk() {
    let corpora = std::env::var_os("PORTCULLIS_CORPORA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    if !corpora.join("inspector/lockfiles").is_dir() {
        eprintln!(
            "!!!!! SKIPPING: inspector corpus not found at {} (set PORTCULLIS_CORPORA) !!!!!",
            corpora.display()
        );
        return;
    }
    let opts = CollectOptions {
        root: corpora,
        lockfile_paths: vec!["/inspector/lockfiles".into()],
        ..CollectOptions::default()
    };
    let found = portcullis_inspector_agent::collect::collect_lockfiles(&opts);
    assert_eq!(
        found.len(),
        6,
        "{:?}",
        found.iter().map(|l| &l.path).collect::<Vec<_>>()
    );
    for l in &found {
        assert!(l.path.starts_with("/inspector/lockfiles/"), "{}", l.path);
        assert!(l.packages.len() > 50, "{}: {}", l.path, l.packages.len());
        assert!(
            l.packages.iter().all(|p| p
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with("registry+"))),
            "{}: only registry crates",
            l.path
        );
    }
    let bat = found
        .iter()
        .find(|l| l.path.contains("bat-2021-01-01"))
        .unwrap();
    assert!(
        !bat.packages.iter().any(|p| p.name == "bat"),
        "the project itself is a path crate"
    );
    let rg = found
        .iter()
        .find(|l| l.path.contains("ripgrep-2020-11-23"))
        .unwrap();
    assert!(
        !rg.packages.iter().any(|p| p.name == "grep-cli"),
        "ripgrep's path crates are skipped"
    );
}

/// A plain-HTTP stand-in for the instance metadata service (IMDSv2: token, then document).
async fn start_imds() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|req: hyper::Request<Incoming>| async move {
                    let (status, body) = match (req.method().as_str(), req.uri().path()) {
                        ("PUT", "/latest/api/token") => (200, "tok-1".to_owned()),
                        ("GET", "/latest/dynamic/instance-identity/document")
                            if req
                                .headers()
                                .get("x-aws-ec2-metadata-token")
                                .is_some_and(|t| t == "tok-1") =>
                        {
                            (
                                200,
                                r#"{"instanceId":"i-0feedface","accountId":"111122223333","region":"eu-west-1"}"#
                                    .to_owned(),
                            )
                        }
                        _ => (401, String::new()),
                    };
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from(body)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn cloud_identity_and_gzip_for_large_reports() {
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(pki_dir.path(), &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let server = start_server(&pki).await;
    let host = tempfile::tempdir().unwrap();
    fake_host(host.path());

    // The identity document, through the IMDSv2 exchange.
    let imds = start_imds().await;
    let state_dir = tempfile::tempdir().unwrap();
    let mut cfg = config(host.path(), state_dir.path());
    cfg.identity_url = Some(format!(
        "http://{imds}/latest/dynamic/instance-identity/document"
    ));
    let mut agent = Agent::new(cfg, client_for(&pki, server.addr));
    agent.report_once().await.unwrap();
    let seen = server.seen();
    let cloud = seen.last().unwrap().report.cloud.clone().unwrap();
    assert_eq!(cloud.instance_id, "i-0feedface");
    assert_eq!(cloud.region.as_deref(), Some("eu-west-1"));
    assert!(
        !seen.last().unwrap().gzip,
        "a small report goes uncompressed"
    );

    // An explicit id wins and no lookup happens; a large report is gzipped.
    let state_dir = tempfile::tempdir().unwrap();
    let mut cfg = config(host.path(), state_dir.path());
    cfg.cloud = portcullis_inspector_core::inventory::CloudIdentity::new("i-web");
    cfg.identity_url = Some("http://127.0.0.1:1/never".into());
    let mut agent = Agent::new(cfg, client_for(&pki, server.addr));
    let mut inv = agent.collect().await.unwrap();
    let lock = inv.lockfiles.first_mut().unwrap();
    for i in 0..20_000 {
        let mut p = lock.packages[0].clone();
        p.name = format!("synthetic-{i:05}");
        lock.packages.push(p);
    }
    agent.report(inv.clone()).await.unwrap();
    let last = server.seen().last().unwrap().clone();
    assert!(last.gzip, "a report above the threshold is compressed");
    assert_eq!(last.report.cloud.unwrap().instance_id, "i-web");
    let ReportBody::Full { inventory } = last.report.body else {
        panic!("first report must be full")
    };
    assert_eq!(*inventory, inv);

    // A file:// document; an unusable one leaves the identity unset.
    let doc = host.path().join("identity.json");
    std::fs::write(&doc, r#"{"instanceId":"i-fromfile"}"#).unwrap();
    let url = format!("file://{}", doc.display());
    let id = portcullis_inspector_agent::identity::fetch(&url)
        .await
        .unwrap();
    assert_eq!(id.instance_id, "i-fromfile");
    std::fs::write(&doc, r#"{"instanceId":"../../etc"}"#).unwrap();
    assert!(
        portcullis_inspector_agent::identity::fetch(&url)
            .await
            .is_err()
    );
}
