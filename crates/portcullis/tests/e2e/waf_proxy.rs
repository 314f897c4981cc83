//! The WAF reverse proxy started by `portcullis serve` from a `[waf]` section: a web ACL file with a byte-match
//! rule and Portcullis managed groups in front of a loopback upstream, live reloads of the file (within a second,
//! without disturbing a request in flight), a bad file keeping the running rules, and the OWASP CRS group when
//! Debian's `modsecurity-crs` is installed.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{Server, scratch};

const CRS_DIR: &str = "/usr/share/modsecurity-crs";

/// A tiny HTTP/1.1 upstream: answers `200 upstream:<path>`, after 1.5 s for paths starting with `/slow`.
async fn upstream() -> SocketAddr {
    tagged_upstream("upstream").await
}

/// Like [`upstream`], answering `200 <tag>:<path>`.
pub(crate) async fn tagged_upstream(tag: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Read one request head (and a Content-Length body).
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    if path.starts_with("/slow") {
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                    }
                    let body = format!("{tag}:{path}");
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Sends `GET target` and returns (status, body).
pub(crate) async fn get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: portcullis-e2e/1.0\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("response within 20 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn vis(name: &str) -> Value {
    json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": name})
}

/// The web ACL: `/admin` blocked (or counted), then Portcullis `CommonRuleSet` and `SQLiRuleSet`.
fn acl(admin_action: &str) -> Value {
    json!({"WebACL": {
        "Name": "e2e-site",
        "Id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "ARN": "arn:aws:wafv2:us-east-1:000000000000:regional/webacl/e2e-site/3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vis("e2e-site"),
        "Rules": [
            {"Name": "admin", "Priority": 0, "Action": {admin_action: {}}, "VisibilityConfig": vis("admin"),
             "Statement": {"ByteMatchStatement": {"SearchString": "L2FkbWlu", "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}}},
            {"Name": "common", "Priority": 1, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("common"),
             "Statement": {"ManagedRuleGroupStatement": {"VendorName": "Portcullis", "Name": "CommonRuleSet"}}},
            {"Name": "sqli", "Priority": 2, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("sqli"),
             "Statement": {"ManagedRuleGroupStatement": {"VendorName": "Portcullis", "Name": "SQLiRuleSet"}}}
        ]
    }})
}

fn crs_acl() -> Value {
    json!({
        "Name": "e2e-crs", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("e2e-crs"),
        "Rules": [{"Name": "crs", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("crs"),
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "OWASP", "Name": "CoreRuleSet"}}}]
    })
}

/// Replaces `path` atomically (write a sibling, rename), as editors and config management do.
fn replace(path: &Path, doc: &Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub(crate) fn listener_addr(banner: &str, name: &str) -> SocketAddr {
    let prefix = format!("WAF listener {name} is listening on ");
    banner
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name:?} listener in the banner:\n{banner}"))
        .split(' ')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_proxy_blocks_reloads_and_keeps_good_rules() {
    let (tmp, data) = scratch();
    let up = upstream().await;
    let acl_path = tmp.path().join("acl.json");
    replace(&acl_path, &acl("Block"));
    let crs = Path::new(CRS_DIR).join("rules").is_dir();
    let crs_path = tmp.path().join("crs.json");
    let mut config = format!(
        r#"
[waf]
fail_mode = "closed"
[[waf.pools]]
name = "app"
upstreams = ["{up}"]
connect_timeout = "2s"
[[waf.listeners]]
name = "site"
bind = "127.0.0.1:0"
web_acl = {acl:?}
pool = "app"
[[waf.listeners]]
name = "open"
bind = "127.0.0.1:0"
pool = "app"
"#,
        acl = acl_path.display().to_string()
    );
    if crs {
        replace(&crs_path, &crs_acl());
        config.push_str(&format!(
            "[[waf.listeners]]\nname = \"crs\"\nbind = \"127.0.0.1:0\"\nweb_acl = {:?}\npool = \"app\"\n",
            crs_path.display().to_string()
        ));
    } else {
        eprintln!(
            "SKIP (part of waf_proxy_blocks_reloads_and_keeps_good_rules): the OWASP CRS is not installed in {CRS_DIR}; the CRS listener is not tested"
        );
    }
    let config_path = tmp.path().join("portcullis.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut server = Server::start(&data, &["--config", config_path.to_str().unwrap()], &[]);
    let site = listener_addr(&server.banner, "site");
    let open = listener_addr(&server.banner, "open");

    // Benign traffic reaches the upstream; the byte-match rule and the managed SQLi group block.
    assert_eq!(
        get(site, "/hello").await,
        (200, "upstream:/hello".to_owned())
    );
    assert_eq!(get(site, "/admin/users").await.0, 403, "{}", server.log());
    assert_eq!(get(site, "/search?id=1%27%20OR%201%3D1--").await.0, 403);
    // The listener without a web ACL lets everything through.
    assert_eq!(get(open, "/admin/users").await.0, 200);
    let log = server.log();
    assert!(log.contains("web ACL loaded"), "{log}");

    // A slow request starts under the old ACL; the file then switches the admin rule to Count.
    let slow = tokio::spawn(async move { get(site, "/slow/report").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    replace(&acl_path, &acl("Count"));
    let swapped = Instant::now();
    loop {
        if get(site, "/admin/users").await.0 == 200 {
            break;
        }
        assert!(
            swapped.elapsed() < Duration::from_millis(1500),
            "the new web ACL did not apply within 1.5 s; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = swapped.elapsed();
    eprintln!("web ACL change applied after {took:?}");
    assert_eq!(
        slow.await.unwrap(),
        (200, "upstream:/slow/report".to_owned())
    );
    assert_eq!(get(site, "/search?id=1%27%20OR%201%3D1--").await.0, 403);

    // An invalid file is rejected with the reason; the running rules stay.
    let mut bad = acl("Block");
    bad["WebACL"]["Name"] = json!("not a valid name!");
    replace(&acl_path, &bad);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("web ACL file rejected") {
        assert!(
            Instant::now() < deadline,
            "no rejection logged:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("web ACL file rejected"))
        .unwrap();
    assert!(
        line.contains("acl.json") && line.contains("WAFInvalidParameterException"),
        "{line}"
    );
    assert_eq!(
        get(site, "/admin/users").await.0,
        200,
        "the Count version still runs"
    );
    assert_eq!(get(site, "/search?id=1%27%20OR%201%3D1--").await.0, 403);
    // Broken JSON too.
    std::fs::write(&acl_path, b"{\"WebACL\": ").unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(get(site, "/hello").await.0, 200);
    assert_eq!(get(site, "/search?id=1%27%20OR%201%3D1--").await.0, 403);

    if crs {
        let c = listener_addr(&server.banner, "crs");
        assert_eq!(get(c, "/products?id=7").await.0, 200, "{}", server.log());
        assert_eq!(
            get(c, "/products?id=1%27%20or%20%271%27%3D%271").await.0,
            403
        );
    }

    let (status, _) = server.terminate(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        server.log()
    );
}

#[test]
fn config_check_compiles_the_web_acl_files() {
    let (tmp, data) = scratch();
    let acl_path = tmp.path().join("acl.json");
    replace(&acl_path, &acl("Block"));
    let config_path = tmp.path().join("portcullis.toml");
    let write_config = |extra: &str| {
        std::fs::write(
            &config_path,
            format!(
                "[waf]\n{extra}[[waf.pools]]\nname = \"app\"\nupstreams = [\"127.0.0.1:9\"]\n[[waf.listeners]]\nname = \"site\"\nbind = \"127.0.0.1:0\"\nweb_acl = {:?}\npool = \"app\"\n",
                acl_path.display().to_string()
            ),
        )
        .unwrap();
    };
    let args = |p: &Path| {
        vec![
            "config".to_owned(),
            "check".to_owned(),
            "--data-dir".to_owned(),
            data.display().to_string(),
            "-c".to_owned(),
            p.display().to_string(),
        ]
    };
    let run = |p: &Path| {
        let a = args(p);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = crate::harness::run(&a, &[]);
        let (stdout, stderr) = crate::harness::text(&out);
        (out.status.success(), stdout, stderr)
    };

    write_config("");
    let (ok, stdout, stderr) = run(&config_path);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("listener site http://127.0.0.1:0 -> app; web ACL \"e2e-site\""),
        "{stdout}"
    );

    let mut bad = acl("Block");
    bad["WebACL"]["Rules"][0]["Priority"] = json!(-1);
    replace(&acl_path, &bad);
    let (ok, _, stderr) = run(&config_path);
    assert!(!ok);
    assert!(stderr.contains("acl.json"), "{stderr}");

    write_config("fail_mode = \"sometimes\"\n");
    let (ok, _, stderr) = run(&config_path);
    assert!(!ok);
    assert!(
        stderr.contains("waf.fail_mode: \"sometimes\" is not"),
        "{stderr}"
    );
}

/// `waf.geoip_db`: a country database (built by the test) drives a `GeoMatchStatement`, and the WAF log
/// records carry the client's country; a file that is not a MaxMind DB stops the start with the field named.
/// `waf.ip_reputation`: a list naming the client fills the Portcullis `IpReputationList` group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_geo_database_and_ip_reputation_lists() {
    use portcullis_waf_core::geo::testdb::{Writer, country_record};
    let (tmp, data) = scratch();
    let up = upstream().await;
    let mut w = Writer::new("GeoLite2-Country", 6).unwrap();
    w.insert("127.0.0.0/8".parse().unwrap(), country_record("NL"))
        .unwrap();
    let db = tmp.path().join("country.mmdb");
    std::fs::write(&db, w.build().unwrap()).unwrap();
    let acl_path = tmp.path().join("acl.json");
    let geo_rule = |codes: &[&str]| {
        json!({"Name": "geo", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": vis("geo"),
               "Statement": {"GeoMatchStatement": {"CountryCodes": codes}}})
    };
    let doc = |codes: &[&str]| {
        json!({"Name": "geo-site", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("geo-site"),
               "Rules": [geo_rule(codes)]})
    };
    replace(&acl_path, &doc(&["NL"]));
    let log_path = tmp.path().join("waf.log");
    let rep_path = tmp.path().join("rep.json");
    replace(
        &rep_path,
        &json!({"Name": "rep", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("rep"),
            "Rules": [{"Name": "reputation", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("r"),
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "Portcullis", "Name": "IpReputationList"}}}]}),
    );
    let bad_ips = tmp.path().join("ipsum.txt");
    std::fs::write(&bad_ips, "# test list\n127.0.0.1\t5\n198.51.100.0/24\n").unwrap();
    let config = format!(
        r#"
[waf]
geoip_db = {db:?}
log = {log:?}
[waf.ip_reputation]
reconnaissance = [{bad:?}]
[[waf.pools]]
name = "app"
upstreams = ["{up}"]
[[waf.listeners]]
name = "site"
bind = "127.0.0.1:0"
web_acl = {acl:?}
pool = "app"
[[waf.listeners]]
name = "rep"
bind = "127.0.0.1:0"
web_acl = {rep:?}
pool = "app"
"#,
        rep = rep_path.display().to_string(),
        bad = bad_ips.display().to_string(),
        db = db.display().to_string(),
        log = log_path.display().to_string(),
        acl = acl_path.display().to_string()
    );
    let config_path = tmp.path().join("portcullis.toml");
    std::fs::write(&config_path, &config).unwrap();
    let mut server = Server::start(&data, &["--config", config_path.to_str().unwrap()], &[]);
    let site = listener_addr(&server.banner, "site");
    assert_eq!(get(site, "/hello").await.0, 403, "{}", server.log());
    let reputation = listener_addr(&server.banner, "rep");
    assert_eq!(get(reputation, "/hello").await.0, 403, "{}", server.log());
    replace(&acl_path, &doc(&["FR"]));
    let deadline = Instant::now() + Duration::from_secs(3);
    while get(site, "/hello").await.0 != 200 {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = server.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "{}", server.log());
    let records: Vec<Value> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r["httpRequest"]["country"] == "NL"),
        "{records:?}"
    );
    assert!(records.iter().any(|r| r["action"] == "BLOCK"));
    assert!(
        records.iter().any(|r| r["labels"]
            .to_string()
            .contains("awswaf:managed:portcullis:ip-reputation-list:ManagedReconnaissanceList")),
        "{records:?}"
    );

    // Not a MaxMind DB: the start fails and says which setting.
    std::fs::write(&db, b"not a database").unwrap();
    let failure = match Server::try_start(&data, &["--config", config_path.to_str().unwrap()], &[])
    {
        Ok(_) => panic!("the server started with a broken geo database"),
        Err(f) => f,
    };
    assert!(
        failure.stderr.contains("waf.geoip_db"),
        "{}",
        failure.stderr
    );
}

/// `waf.log = "nats://HOST:PORT/SUBJECT"`: each WAF log record arrives as one JSON message on the subject.
/// Needs Debian's `nats-server` (skipped loudly without it, failed when `CI` is set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_log_records_are_published_to_a_nats_subject() {
    use futures::StreamExt as _;
    let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let Some(bin) = bin else {
        assert!(
            std::env::var_os("CI").is_none(),
            "nats-server is not installed and CI is set"
        );
        eprintln!(
            "\n!!!!! SKIPPED: nats-server is not installed; install Debian's nats-server to run this test !!!!!\n"
        );
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut nats = std::process::Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = async_nats::connect(&url).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client.expect("nats-server did not start");
    let mut sub = client.subscribe("waf.logs").await.unwrap();
    client.flush().await.unwrap();

    let (tmp, data) = scratch();
    let up = upstream().await;
    let acl_path = tmp.path().join("acl.json");
    replace(&acl_path, &acl("Block"));
    let config_path = tmp.path().join("portcullis.toml");
    std::fs::write(
        &config_path,
        format!(
            "[waf]\nlog = \"{url}/waf.logs\"\n[[waf.pools]]\nname = \"app\"\nupstreams = [\"{up}\"]\n\
             [[waf.listeners]]\nname = \"site\"\nbind = \"127.0.0.1:0\"\nweb_acl = {:?}\npool = \"app\"\n",
            acl_path.display().to_string()
        ),
    )
    .unwrap();
    let mut server = Server::start(&data, &["--config", config_path.to_str().unwrap()], &[]);
    let site = listener_addr(&server.banner, "site");
    assert_eq!(get(site, "/admin/x").await.0, 403);
    assert_eq!(get(site, "/hello").await.0, 200);
    let mut actions = Vec::new();
    for _ in 0..2 {
        let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap_or_else(|_| panic!("no WAF log record on NATS; log:\n{}", server.log()))
            .unwrap();
        let record: Value = serde_json::from_slice(&msg.payload).unwrap();
        assert_eq!(record["webaclId"], acl("Block")["WebACL"]["ARN"]);
        actions.push((
            record["httpRequest"]["uri"].as_str().unwrap().to_owned(),
            record["action"].as_str().unwrap().to_owned(),
        ));
    }
    actions.sort();
    assert_eq!(
        actions,
        [
            ("/admin/x".to_owned(), "BLOCK".to_owned()),
            ("/hello".to_owned(), "ALLOW".to_owned())
        ]
    );
    let (status, _) = server.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "{}", server.log());
    let _ = nats.kill();
    let _ = nats.wait();
}
