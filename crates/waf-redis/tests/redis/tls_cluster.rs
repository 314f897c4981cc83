//! `rediss://` (TLS, certificates made here with rcgen) and Redis Cluster (three `--cluster-enabled` servers
//! joined with `redis-cli --cluster create`). Each test starts its own `redis-server` processes on free loopback
//! ports in a temporary directory and kills them at the end; without `redis-server` they print why and return
//! (and fail under `CI=true`).

use super::*;

/// `redis-server` processes killed on drop.
struct Servers {
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have_redis(what: &str) -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is not on PATH but CI=true"
        );
        eprintln!("\n*** SKIPPED {what}: redis-server is not on PATH ***\n");
    }
    ok
}

/// A free loopback port whose cluster bus port (+10000) is free too.
fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 55_000 && TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

fn spawn(dir: &std::path::Path, args: &[String]) -> Child {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `addr` accepts TCP connections.
fn wait_listening(addr: SocketAddr) {
    for _ in 0..250 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server did not listen on {addr}");
}

struct TestCa {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

/// A CA and a server certificate for `localhost` / `127.0.0.1` signed by it, written into `dir`.
fn make_ca(dir: &std::path::Path) -> TestCa {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "portcullis test redis CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let t = TestCa {
        ca_pem: ca_cert.pem(),
        cert: dir.join("redis.crt"),
        key: dir.join("redis.key"),
        ca: dir.join("ca.crt"),
    };
    std::fs::write(&t.cert, cert.pem()).unwrap();
    std::fs::write(&t.key, key.serialize_pem()).unwrap();
    std::fs::write(&t.ca, &t.ca_pem).unwrap();
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_ca_shares_counts_and_refuses_unknown_servers() {
    if !have_redis("rediss_with_a_private_ca") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let port = free_port();
    let s = |p: &PathBuf| p.display().to_string();
    let child = spawn(
        dir.path(),
        &[
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            s(&ca.cert),
            "--tls-key-file".into(),
            s(&ca.key),
            "--tls-ca-cert-file".into(),
            s(&ca.ca),
            "--tls-auth-clients".into(),
            "no".into(),
        ],
    );
    let _servers = Servers {
        children: vec![child],
        _dir: tempfile::tempdir().unwrap(),
    };
    wait_listening(SocketAddr::from(([127, 0, 0, 1], port)));
    let url = format!("rediss://127.0.0.1:{port}/");
    let prefix = unique_prefix("tls");
    let with_ca = |c: RedisRateConfig| RedisRateConfig {
        ca_pem: Some(ca.ca_pem.clone().into_bytes()),
        ..c
    };
    let a = RedisRateCounter::new(with_ca(config(&url, &prefix, 100))).unwrap();
    let b = RedisRateCounter::new(with_ca(config(&url, &prefix, 100))).unwrap();
    let key = b"ip:192.0.2.44";
    for _ in 0..3 {
        a.add(key, MIN, now_ms());
    }
    for _ in 0..4 {
        b.add(key, MIN, now_ms());
    }
    a.sync_now().await.expect("TLS sync of A");
    b.sync_now().await.expect("TLS sync of B");
    a.sync_now().await.unwrap();
    assert_eq!(a.count(key, MIN, now_ms()), 7);
    assert_eq!(b.count(key, MIN, now_ms()), 7);
    assert!(a.is_shared() && b.is_shared());

    // Trusting only the system roots, the test CA's server is refused.
    let stranger = RedisRateCounter::new(config(&url, &prefix, 100)).unwrap();
    stranger.add(key, MIN, now_ms());
    let err = stranger.sync_now().await.unwrap_err();
    eprintln!("untrusted rediss server refused: {err}");
    assert_eq!(
        stranger.count(key, MIN, now_ms()),
        1,
        "local counting goes on"
    );
}

/// Three primaries joined into one cluster (panics if that fails).
fn start_cluster(dir: &std::path::Path) -> (Servers, Vec<u16>) {
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut children = Vec::new();
    for p in &ports {
        let d = dir.join(p.to_string());
        std::fs::create_dir_all(&d).unwrap();
        children.push(spawn(
            &d,
            &[
                "--port".into(),
                p.to_string(),
                "--cluster-enabled".into(),
                "yes".into(),
                "--cluster-config-file".into(),
                "nodes.conf".into(),
                "--cluster-node-timeout".into(),
                "2000".into(),
            ],
        ));
    }
    let servers = Servers {
        children,
        _dir: tempfile::tempdir().unwrap(),
    };
    for p in &ports {
        wait_listening(SocketAddr::from(([127, 0, 0, 1], *p)));
    }
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("running redis-cli --cluster create");
    assert!(
        out.status.success(),
        "redis-cli --cluster create failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Wait for every node to report the cluster ok.
    let deadline = Instant::now() + Duration::from_secs(20);
    for p in &ports {
        let client = redis::Client::open(format!("redis://127.0.0.1:{p}/")).unwrap();
        loop {
            let info: String = client
                .get_connection()
                .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query(&mut c))
                .unwrap_or_default();
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "cluster not ok: {info}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    (servers, ports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_enforce_one_limit_through_a_redis_cluster() {
    if !have_redis("two_nodes_enforce_one_limit_through_a_redis_cluster") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (_servers, ports) = start_cluster(dir.path());
    eprintln!("cluster of 3 up after {:?}", started.elapsed());
    let url = format!(
        "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
        ports[0], ports[1]
    );
    let prefix = unique_prefix("cluster");
    let (a, ha) = node(config(&url, &prefix, 100));
    let (b, hb) = node(config(&url, &prefix, 100));
    // Many keys so that they land in many hash-tag shards, i.e. on every primary.
    let keys: Vec<String> = (0..64).map(|i| format!("ip:198.51.100.{i}")).collect();
    for k in &keys {
        for i in 0..11 {
            let n = if i % 2 == 0 { &a } else { &b };
            n.add(k.as_bytes(), MIN, now_ms());
        }
    }
    let delay = wait_for(Duration::from_secs(5), || {
        keys.iter().all(|k| {
            a.count(k.as_bytes(), MIN, now_ms()) == 11 && b.count(k.as_bytes(), MIN, now_ms()) == 11
        })
    })
    .await
    .expect("both nodes see the sum of every key");
    eprintln!("cluster: sums of 64 keys seen by both nodes after {delay:?}");
    assert!(a.is_shared() && b.is_shared());
    assert!(a.redis_key(b"ip:198.51.100.1", MIN).contains(":{60:"));
    // The keys are spread over the primaries.
    let mut holding = 0;
    for p in &ports {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{p}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        let n: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if n > 0 {
            holding += 1;
        }
    }
    assert!(holding >= 2, "keys on {holding} of 3 primaries");
    ha.shutdown().await;
    hb.shutdown().await;
}
