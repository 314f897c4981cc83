//! Reloading `[waf]` while `portcullis serve` runs: a second listener and a changed pool apply within about a
//! second of the configuration file changing, a slow request on the first listener completes, a removed listener
//! refuses connections, and an invalid file is logged and leaves everything running; `SIGHUP` reloads a change the
//! file watcher cannot see.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::harness::{Server, scratch};
use crate::waf_proxy::{get, listener_addr, tagged_upstream};

/// A loopback port nothing listens on right now.
fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Replaces the file atomically (write a sibling, rename).
fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn config(up: SocketAddr, second: Option<SocketAddr>) -> String {
    let mut c = format!(
        "[waf]\n[[waf.pools]]\nname = \"app\"\nupstreams = [\"{up}\"]\nconnect_timeout = \"2s\"\n\
         [[waf.listeners]]\nname = \"first\"\nbind = \"127.0.0.1:0\"\npool = \"app\"\n"
    );
    if let Some(addr) = second {
        c.push_str(&format!(
            "[[waf.listeners]]\nname = \"second\"\nbind = \"{addr}\"\npool = \"app\"\n"
        ));
    }
    c
}

/// Retries `check` every 50 ms until it holds; returns how long it took, or panics after `limit`.
async fn within<F, Fut>(limit: Duration, what: &str, server: &Server, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_config_reload_adds_and_removes_listeners_and_swaps_pools() {
    let (tmp, data) = scratch();
    let a = tagged_upstream("a").await;
    let b = tagged_upstream("b").await;
    let config_path = tmp.path().join("portcullis.toml");
    write(&config_path, &config(a, None));
    let mut server = Server::start(&data, &["--config", config_path.to_str().unwrap()], &[]);
    let first = listener_addr(&server.banner, "first");
    assert_eq!(get(first, "/x").await, (200, "a:/x".to_owned()));

    // A slow request on the first listener, then the pool moves to `b` and a second listener appears.
    let slow = tokio::spawn(async move { get(first, "/slow/report").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = free_port();
    write(&config_path, &config(b, Some(second)));
    let took = within(
        Duration::from_millis(1500),
        "route to the new pool",
        &server,
        || async { get(first, "/y").await == (200, "b:/y".to_owned()) },
    )
    .await;
    eprintln!("pool change applied after {took:?}");
    let took = within(
        Duration::from_millis(1500),
        "second listener",
        &server,
        || async { TcpStream::connect(second).await.is_ok() },
    )
    .await;
    eprintln!("second listener serving after {took:?}");
    assert_eq!(get(second, "/z").await, (200, "b:/z".to_owned()));
    assert_eq!(
        slow.await.unwrap(),
        (200, "a:/slow/report".to_owned()),
        "the request in flight completed on the old pool"
    );
    assert_eq!(
        listener_addr(&server.banner, "first"),
        first,
        "same first listener"
    );
    assert!(server.log().contains("WAF configuration reloaded"));

    // An invalid file is logged with its problem; everything keeps running.
    write(
        &config_path,
        &config(b, Some(second)).replace("[waf]\n", "[waf]\nfail_mode = \"sideways\"\n"),
    );
    within(
        Duration::from_secs(3),
        "rejection logged",
        &server,
        || async { server.log().contains("configuration rejected") },
    )
    .await;
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("configuration rejected"))
        .unwrap();
    assert!(
        line.contains("portcullis.toml") && line.contains("fail_mode"),
        "{line}"
    );
    assert_eq!(get(second, "/still").await.0, 200);

    // The second listener is removed: it refuses connections; the first one keeps serving.
    write(&config_path, &config(b, None));
    let took = within(
        Duration::from_millis(1500),
        "second listener closed",
        &server,
        || async { TcpStream::connect(second).await.is_err() },
    )
    .await;
    eprintln!("second listener closed after {took:?}");
    assert_eq!(get(first, "/w").await, (200, "b:/w".to_owned()));

    let (status, _) = server.terminate(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        server.log()
    );
}

/// The pid of the `portcullis serve` whose arguments include `data`.
fn server_pid(data: &Path) -> u32 {
    let needle = data.to_str().unwrap();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        let args: Vec<&str> = cmd.split('\0').collect();
        if args.contains(&"serve") && args.contains(&needle) {
            return pid;
        }
    }
    panic!("no portcullis serve process for {needle}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_config_reload_on_sighup() {
    let (tmp, data) = scratch();
    let a = tagged_upstream("a").await;
    let b = tagged_upstream("b").await;
    let config_path = tmp.path().join("portcullis.toml");
    write(&config_path, &config(a, None));
    let mut server = Server::start(&data, &["--config", config_path.to_str().unwrap()], &[]);
    let first = listener_addr(&server.banner, "first");
    assert_eq!(get(first, "/x").await, (200, "a:/x".to_owned()));

    // Same size and modification time: the file watcher does not notice the new pool.
    let old = std::fs::metadata(&config_path).unwrap();
    let text = config(b, None);
    assert_eq!(text.len() as u64, old.len(), "ports of equal length");
    let tmp_file = config_path.with_extension("tmp");
    std::fs::write(&tmp_file, &text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp_file)
        .unwrap()
        .set_modified(old.modified().unwrap())
        .unwrap();
    std::fs::rename(&tmp_file, &config_path).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        get(first, "/y").await,
        (200, "a:/y".to_owned()),
        "not reloaded yet"
    );

    let pid = server_pid(&data);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let took = within(Duration::from_secs(2), "SIGHUP reload", &server, || async {
        get(first, "/z").await == (200, "b:/z".to_owned())
    })
    .await;
    eprintln!("SIGHUP reload applied after {took:?}");
    assert!(server.log().contains("SIGHUP: reloading the configuration"));
    let (status, _) = server.terminate(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        server.log()
    );
}

/// A server whose file starts with no listener still reloads it, and a listener added with `tls.issue` gets its
/// certificate from the built-in CA during the reload (no restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_reload_adds_an_https_listener_with_an_issued_certificate() {
    let (tmp, data) = scratch();
    let a = tagged_upstream("a").await;
    let config_path = tmp.path().join("portcullis.toml");
    let pool = format!("[waf]\n[[waf.pools]]\nname = \"app\"\nupstreams = [\"{a}\"]\n");
    write(&config_path, &pool);
    let mut server = Server::start(&data, &["--config", config_path.to_str().unwrap()], &[]);

    let addr = free_port();
    write(
        &config_path,
        &format!(
            "{pool}[[waf.listeners]]\nname = \"secure\"\nbind = \"{addr}\"\npool = \"app\"\n\
             tls = {{ issue = [\"127.0.0.1\", \"localhost\"] }}\n"
        ),
    );
    let client = crate::client::Client::new(addr, &server.ca_pem).http1();
    let took = within(
        Duration::from_secs(3),
        "HTTPS listener added by the reload",
        &server,
        || async {
            let req = client
                .request(http::Method::GET, "/tls")
                .body(bytes::Bytes::new())
                .unwrap();
            client
                .send(req)
                .await
                .is_ok_and(|r| r.status == 200 && r.body == "a:/tls")
        },
    )
    .await;
    eprintln!("HTTPS listener serving after {took:?}");
    assert!(
        !server.log().contains("needs a restart"),
        "{}",
        server.log()
    );
    let (status, _) = server.terminate(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        server.log()
    );
}
