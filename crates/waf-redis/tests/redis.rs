//! Two or more "nodes" (`RedisRateCounter`s) sharing one Redis. Needs a server:
//! `scripts/with-redis.sh cargo test -p portcullis-waf-redis` exports `PORTCULLIS_TEST_REDIS_URL`;
//! without it every test prints why and returns. The outage tests start their own private
//! `redis-server` (found on PATH) on a free port, so they can stop and pause it.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portcullis_waf_core::rate::RateCounter;
use portcullis_waf_core::{CompiledAcl, EvalEnv, Resources};
use portcullis_waf_redis::{RedisRateConfig, RedisRateCounter, SyncHandle};
use portcullis_waf_request::Request;
use serde_json::json;

const MIN: u32 = 60;

#[path = "redis/tls_cluster.rs"]
mod tls_cluster;

fn redis_url() -> Option<String> {
    let url = std::env::var("PORTCULLIS_TEST_REDIS_URL").ok();
    assert!(
        url.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "PORTCULLIS_TEST_REDIS_URL is not set but CI=true: run the tests under scripts/with-redis.sh"
    );
    if url.is_none() {
        eprintln!(
            "\n*** SKIPPED: PORTCULLIS_TEST_REDIS_URL is not set; run \
             `scripts/with-redis.sh cargo test -p portcullis-waf-redis` ***\n"
        );
    }
    url
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A key prefix no other test (or earlier run) uses.
fn unique_prefix(test: &str) -> String {
    format!("pcl:test:{test}:{}:{}", std::process::id(), now_ms())
}

fn config(url: &str, prefix: &str, flush_ms: u64) -> RedisRateConfig {
    let mut c = RedisRateConfig::new(url);
    c.key_prefix = prefix.to_owned();
    c.flush_interval = Duration::from_millis(flush_ms);
    c
}

fn node(c: RedisRateConfig) -> (Arc<RedisRateCounter>, SyncHandle) {
    RedisRateCounter::connect(c).unwrap()
}

/// Polls `cond` every 5 ms for up to `limit`; returns the time it took, or None.
async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cond().then(|| start.elapsed())
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_enforce_one_limit() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("limit");
    let flush = 100;
    let (a, ha) = node(config(&url, &prefix, flush));
    let (b, hb) = node(config(&url, &prefix, flush));
    let key = b"ip:198.51.100.7";
    // 11 requests alternating between the nodes: neither node alone is over 10.
    for i in 0..11 {
        let n = if i % 2 == 0 { &a } else { &b };
        n.add(key, MIN, now_ms());
    }
    let delay = wait_for(Duration::from_secs(3), || {
        a.count(key, MIN, now_ms()) == 11 && b.count(key, MIN, now_ms()) == 11
    })
    .await
    .expect("both nodes see the sum");
    eprintln!("two nodes: sum of 11 seen by both after {delay:?} (flush interval {flush} ms)");
    assert!(a.add(key, MIN, now_ms()) > 10 && b.add(key, MIN, now_ms()) > 10);

    // Propagation delay of single requests, A -> B (B follows keys it has seen).
    let mut delays = Vec::new();
    let key = b"ip:203.0.113.9";
    b.add(key, MIN, now_ms());
    for i in 1..=10u64 {
        a.add(key, MIN, now_ms());
        let d = wait_for(Duration::from_secs(3), || {
            b.count(key, MIN, now_ms()) == i + 1
        })
        .await
        .expect("B sees A's request");
        delays.push(d);
        // Desynchronise from the flush ticks.
        tokio::time::sleep(Duration::from_millis(37 * i % 90)).await;
    }
    delays.sort();
    eprintln!(
        "propagation A->B over 10 requests: min {:?}, median {:?}, max {:?} (flush interval {flush} ms)",
        delays[0], delays[5], delays[9]
    );
    assert!(
        delays[9] < Duration::from_millis(2 * flush + 400),
        "{delays:?}"
    );
    assert!(a.is_shared() && b.is_shared());
    ha.shutdown().await;
    hb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_are_independent_and_keys_hold_no_client_data() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("windows");
    let a = RedisRateCounter::new(config(&url, &prefix, 100)).unwrap();
    let b = RedisRateCounter::new(config(&url, &prefix, 100)).unwrap();
    let key = b"ip:192.0.2.77";
    let t = now_ms();
    for _ in 0..3 {
        a.add(key, MIN, t);
    }
    for _ in 0..2 {
        b.add(key, 120, t);
    }
    b.add(key, 300, t);
    a.sync_now().await.unwrap();
    b.sync_now().await.unwrap();
    a.sync_now().await.unwrap();
    assert_eq!(a.count(key, MIN, t), 3);
    assert_eq!(b.count(key, 120, t), 2);
    assert_eq!(b.count(key, MIN, t), 0, "B never saw the key with 60 s");
    assert_eq!(b.add(key, MIN, t), 1);
    b.sync_now().await.unwrap();
    assert_eq!(b.count(key, MIN, t), 4, "A's 3 + B's 1 in the 60 s window");
    assert_eq!(b.count(key, 300, t), 1);

    let mut conn = raw(&url).await;
    let names: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in &names {
        assert!(!name.contains("192.0.2.77"), "{name}");
        let hash = name.rsplit(':').next().unwrap();
        assert_eq!(hash.len(), 32, "{name}");
    }
    assert!(names.contains(&a.redis_key(key, MIN)));
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(a.redis_key(key, MIN))
        .query_async(&mut conn)
        .await
        .unwrap();
    let bucket = (t / 1000).to_string();
    let mut expected = vec![
        format!("{bucket}:{}", a.node_id()),
        format!("{bucket}:{}", b.node_id()),
    ];
    expected.sort();
    let mut fields = fields;
    fields.sort();
    assert_eq!(fields, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_expire_after_the_window() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("expire");
    let a = RedisRateCounter::new(config(&url, &prefix, 100)).unwrap();
    let b = RedisRateCounter::new(config(&url, &prefix, 100)).unwrap();
    let key = b"short";
    let window = 2; // 2 s window: 33 ms buckets
    a.add(key, window, now_ms());
    a.add(key, window, now_ms());
    a.sync_now().await.unwrap();
    b.add(key, window, now_ms());
    b.sync_now().await.unwrap();
    assert_eq!(b.count(key, window, now_ms()), 3);
    let mut conn = raw(&url).await;
    let rkey = a.redis_key(key, window);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&rkey)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 2_000 && pttl <= 2_000 + 2 * 33 + 1_000, "{pttl}");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(a.count(key, window, now_ms()), 0, "the window has passed");
    // A sync after the window prunes the old fields and forgets the idle key locally.
    let report = a.sync_now().await.unwrap();
    assert_eq!(report.dropped, 1);
    assert!(a.is_empty());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&rkey)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the hash expired");
}

/// A redis-server of our own, on a fixed port so that it can be restarted empty.
struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Option<PrivateRedis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("pcl-redis-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = PrivateRedis {
            port,
            dir,
            child: None,
        };
        if !r.restart() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "could not start redis-server but CI=true"
            );
            eprintln!("\n*** SKIPPED: could not start redis-server (is it on PATH?) ***\n");
            return None;
        }
        Some(r)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn restart(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut c) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_counts_locally_then_shares_again() {
    if redis_url().is_none() {
        return;
    }
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let mut c = config(&server.url(), "pcl:waf:rate", 50);
    c.stale_after = Duration::from_millis(800);
    c.max_backoff = Duration::from_millis(200);
    c.io_timeout = Duration::from_millis(300);
    let (a, ha) = node(c.clone());
    let (b, hb) = node(c);
    let key = b"ip:198.51.100.50";
    for _ in 0..3 {
        a.add(key, MIN, now_ms());
        b.add(key, MIN, now_ms());
    }
    wait_for(Duration::from_secs(3), || {
        a.count(key, MIN, now_ms()) == 6 && b.count(key, MIN, now_ms()) == 6
    })
    .await
    .expect("shared before the outage");

    server.stop();
    assert!(a.sync_now().await.is_err());
    assert!(!a.is_shared());
    // Counting goes on, first with the last-known figure of the other node...
    assert_eq!(a.add(key, MIN, now_ms()), 7);
    // ...then, once it is stale, per node. No local count is lost.
    tokio::time::sleep(Duration::from_millis(900)).await;
    for _ in 0..4 {
        a.add(key, MIN, now_ms());
    }
    assert_eq!(a.count(key, MIN, now_ms()), 8);
    assert_eq!(b.count(key, MIN, now_ms()), 3);

    // Restart an empty Redis on the same port: both nodes rewrite their windows.
    assert!(server.restart());
    let delay = wait_for(Duration::from_secs(5), || {
        a.count(key, MIN, now_ms()) == 11 && b.count(key, MIN, now_ms()) == 11
    })
    .await
    .expect("shared again after the restart");
    eprintln!("outage: counts shared again {delay:?} after Redis came back");
    assert!(a.is_shared() && b.is_shared());
    ha.shutdown().await;
    hb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_never_blocks_add() {
    if redis_url().is_none() {
        return;
    }
    let Some(server) = PrivateRedis::start() else {
        return;
    };
    let mut c = config(&server.url(), "pcl:waf:rate", 20);
    c.io_timeout = Duration::from_millis(800);
    c.max_backoff = Duration::from_millis(100);
    let (a, ha) = node(c.clone());
    let (b, hb) = node(c);
    let key = b"ip:192.0.2.200";
    a.add(key, MIN, now_ms());
    b.add(key, MIN, now_ms());
    wait_for(Duration::from_secs(3), || {
        a.count(key, MIN, now_ms()) == 2 && b.count(key, MIN, now_ms()) == 2
    })
    .await
    .expect("each node learns the other's request");

    let mut admin = raw(&server.url()).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let paused_at = Instant::now();
    let adder = Arc::clone(&a);
    let (n, worst) = tokio::task::spawn_blocking(move || {
        let mut n = 0u64;
        let mut worst = Duration::ZERO;
        while paused_at.elapsed() < Duration::from_millis(1_600) {
            let t = Instant::now();
            adder.add(key, MIN, now_ms());
            worst = worst.max(t.elapsed());
            n += 1;
        }
        (n, worst)
    })
    .await
    .unwrap();
    eprintln!("paused redis: {n} adds in 1.6 s, slowest {worst:?}");
    assert!(!a.is_shared(), "the syncs timed out during the pause");
    // An add waiting on the paused server would take the whole I/O timeout (800 ms) or more; the
    // margin below is for a loaded 2-core machine.
    assert!(worst < Duration::from_millis(400), "{worst:?}");
    assert_eq!(a.count(key, MIN, now_ms()), n + 2, "own adds + B's one");
    // After the pause, B learns every one of A's requests.
    let delay = wait_for(Duration::from_secs(5), || {
        b.count(key, MIN, now_ms()) == n + 2
    })
    .await
    .expect("shared after the pause");
    eprintln!("paused redis: B saw A's {n} adds {delay:?} after the adding stopped");
    ha.shutdown().await;
    hb.shutdown().await;
}

/// Remembers the last rate key the engine used, so the test can wait for the other node.
struct Recording<'a> {
    inner: &'a RedisRateCounter,
    last: Mutex<Option<(Vec<u8>, u32)>>,
}

impl RateCounter for Recording<'_> {
    fn add(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64 {
        *self.last.lock().unwrap() = Some((key.to_vec(), window_secs));
        self.inner.add(key, window_secs, now_ms)
    }
    fn count(&self, key: &[u8], window_secs: u32, now_ms: u64) -> u64 {
        self.inner.count(key, window_secs, now_ms)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_acl_rate_rule_blocks_on_both_nodes() {
    let Some(url) = redis_url() else { return };
    let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
    let doc = json!({
        "Name": "t", "Id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("t"),
        "Rules": [{"Name": "rl", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": vis("rl"),
                   "Statement": {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}}}]
    });
    let acl = CompiledAcl::compile(
        &portcullis_waf_model::WebAcl::from_value(doc).unwrap(),
        &Resources::default(),
    )
    .unwrap();
    let prefix = unique_prefix("acl");
    let flush = 100;
    let (a, ha) = node(config(&url, &prefix, flush));
    let (b, hb) = node(config(&url, &prefix, flush));
    let nodes = [
        Recording {
            inner: &a,
            last: Mutex::new(None),
        },
        Recording {
            inner: &b,
            last: Mutex::new(None),
        },
    ];
    let client = |ip: &str| {
        Request::builder()
            .client_addr(SocketAddr::new(ip.parse().unwrap(), 40000))
            .uri("/")
            .build()
    };
    let mut delays = Vec::new();
    for i in 1..=16u64 {
        let (this, other) = if i % 2 == 1 {
            (&nodes[0], &nodes[1])
        } else {
            (&nodes[1], &nodes[0])
        };
        let v = acl.evaluate(&client("192.0.2.1"), &EvalEnv::new(now_ms(), this));
        assert_eq!(
            v.is_allowed(),
            i <= 10,
            "request {i} on node {}",
            (i + 1) % 2
        );
        let (key, window) = this.last.lock().unwrap().clone().unwrap();
        if i == 1 {
            // The other node follows the client from its first request on (request 2).
            continue;
        }
        // Within the flush interval the other node knows about this request.
        let d = wait_for(Duration::from_secs(3), || {
            other.count(&key, window, now_ms()) == i && this.count(&key, window, now_ms()) == i
        })
        .await
        .unwrap_or_else(|| panic!("request {i} reached the other node"));
        delays.push(d);
    }
    // Another client is not affected, on either node.
    assert!(
        acl.evaluate(&client("192.0.2.2"), &EvalEnv::new(now_ms(), &nodes[0]))
            .is_allowed()
    );
    assert!(
        acl.evaluate(&client("192.0.2.2"), &EvalEnv::new(now_ms(), &nodes[1]))
            .is_allowed()
    );
    delays.sort();
    eprintln!(
        "web ACL, two nodes: requests 11-16 blocked on both; propagation min {:?} max {:?}",
        delays[0], delays[14]
    );
    drop(nodes);
    ha.shutdown().await;
    hb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_the_last_counts() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("shutdown");
    // A flush interval far longer than the test: only the shutdown can push these counts.
    let (a, ha) = node(config(&url, &prefix, 60_000));
    let b = RedisRateCounter::new(config(&url, &prefix, 100)).unwrap();
    let key = b"ip:192.0.2.99";
    b.add(key, MIN, now_ms());
    b.sync_now().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await; // the first tick has passed
    for _ in 0..5 {
        a.add(key, MIN, now_ms());
    }
    b.sync_now().await.unwrap();
    assert_eq!(b.count(key, MIN, now_ms()), 1, "nothing pushed yet");
    ha.shutdown().await;
    b.sync_now().await.unwrap();
    assert_eq!(b.count(key, MIN, now_ms()), 6);
    assert!(a.is_shared());
}
