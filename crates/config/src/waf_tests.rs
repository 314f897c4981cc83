//! Tests of the `[waf]` section.

use super::*;
use crate::{Overrides, RawConfig};

const GOOD: &str = r#"
[waf]
fail_mode = "open"
trusted_proxies = ["10.0.0.0/8", "192.0.2.1"]
redis = "redis://127.0.0.1:6379"
crs_paranoia = 2
workers = 3
log = "/var/log/portcullis/waf.log"
token_key_file = "/etc/portcullis/waf-token.key"
[waf.limits]
max_body_bytes = 1048576
header_read_timeout = "5s"
[[waf.pools]]
name = "app"
upstreams = ["127.0.0.1:3000", "127.0.0.1:3001"]
balance = "least_connections"
connect_timeout = "500ms"
[waf.pools.health_check]
path = "/healthz"
interval = "2s"
[[waf.listeners]]
name = "public"
bind = "127.0.0.1:8080"
web_acl = "acl.json"
tls = { issue = ["www.example.com"] }
[[waf.listeners.routes]]
host = "WWW.example.com"
path_prefix = "/api"
pool = "app"
[[waf.listeners]]
name = "plain"
bind = "127.0.0.1:8081"
pool = "app"
"#;

#[test]
fn resolves_a_full_section() {
    let c = RawConfig::from_toml(GOOD)
        .unwrap()
        .resolve(&Overrides::default())
        .unwrap();
    let w = c.waf;
    assert!(w.fail_open);
    assert_eq!(w.trusted_proxies.len(), 2);
    assert_eq!(w.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    assert_eq!(
        w.log,
        Some(WafLog::File(PathBuf::from("/var/log/portcullis/waf.log")))
    );
    assert_eq!(
        w.token_key_file,
        Some(PathBuf::from("/etc/portcullis/waf-token.key"))
    );
    assert_eq!(w.crs_paranoia, 2);
    assert_eq!(w.workers, Some(3));
    assert_eq!(w.crs_dir, PathBuf::from(DEFAULT_CRS_DIR));
    assert_eq!(w.limits.max_body_bytes, Some(1 << 20));
    assert_eq!(w.limits.header_read_timeout, Some(Duration::from_secs(5)));
    assert_eq!(w.limits.max_headers, None);
    let p = &w.pools[0];
    assert!(p.least_connections);
    assert_eq!(p.connect_timeout, Duration::from_millis(500));
    assert_eq!(p.read_timeout, Duration::from_secs(60));
    let h = p.health_check.as_ref().unwrap();
    assert_eq!(
        (h.path.as_str(), h.interval),
        ("/healthz", Duration::from_secs(2))
    );
    let l = &w.listeners[0];
    assert_eq!(l.tls, Some(WafTls::Issue(vec!["www.example.com".into()])));
    assert_eq!(l.web_acl, Some(PathBuf::from("acl.json")));
    assert_eq!(l.routes[0].host.as_deref(), Some("www.example.com"));
    assert_eq!(w.listeners[1].routes[0].path_prefix, "/");
}

#[test]
fn no_section_means_no_listeners() {
    let c = RawConfig::default().resolve(&Overrides::default()).unwrap();
    assert!(c.waf.listeners.is_empty());
    assert!(!c.waf.fail_open);
}

#[test]
fn problems_name_their_keys() {
    let raw = RawConfig::from_toml(
        r#"
[waf]
fail_mode = "maybe"
trusted_proxies = ["nope"]
redis = "http://x"
crs_paranoia = 7
[waf.limits]
header_read_timeout = "10"
[[waf.pools]]
name = "app"
upstreams = ["localhost"]
balance = "random"
[[waf.listeners]]
name = "l"
bind = "127.0.0.1:8080"
tls = { certificates = [{ cert = "c.pem" }] }
[[waf.listeners.routes]]
pool = "missing"
"#,
    )
    .unwrap();
    let e = raw.resolve(&Overrides::default()).unwrap_err();
    let fields: Vec<_> = e.0.iter().map(|p| p.field).collect();
    assert_eq!(
        fields,
        [
            "waf.fail_mode",
            "waf.trusted_proxies",
            "waf.limits.header_read_timeout",
            "waf.pools.upstreams",
            "waf.pools.balance",
            "waf.listeners.tls.certificates",
            "waf.listeners.routes.pool",
            "waf.redis",
            "waf.crs_paranoia",
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("pool \"app\": \"localhost\" is not an IP:port"),
        "{text}"
    );
    assert!(
        text.contains("listener \"l\": \"missing\" is not the name"),
        "{text}"
    );
}

#[test]
fn log_destinations() {
    let log = |v: &str| {
        RawConfig::from_toml(&format!("[waf]\nlog = {v:?}\n"))
            .unwrap()
            .resolve(&Overrides::default())
            .map(|c| c.waf.log)
            .map_err(|e| e.to_string())
    };
    assert_eq!(log("stdout").unwrap(), Some(WafLog::Stdout));
    assert_eq!(
        log("nats://127.0.0.1:4222/waf.logs").unwrap(),
        Some(WafLog::Nats {
            url: "nats://127.0.0.1:4222".into(),
            subject: "waf.logs".into()
        })
    );
    for bad in ["nats://127.0.0.1:4222", "nats://h:1/a.*", "nats:///s"] {
        let e = log(bad).unwrap_err();
        assert!(
            e.contains("waf.log") && e.contains("nats://HOST:PORT/SUBJECT"),
            "{e}"
        );
    }
}

#[test]
fn unknown_waf_keys_are_refused() {
    let raw = RawConfig::from_toml("[waf]\nfail = \"open\"\n").unwrap();
    let e = raw.resolve(&Overrides::default()).unwrap_err().to_string();
    assert!(e.contains("unknown field `waf.fail`"), "{e}");
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("10"), None);
    assert_eq!(parse_duration("s"), None);
    assert_eq!(parse_duration("5 days"), None);
}

#[test]
fn redis_tls_and_cluster_urls_and_the_ca_file() {
    let resolve = |extra: &str| {
        RawConfig::from_toml(&format!("[waf]\n{extra}"))
            .unwrap()
            .resolve(&Overrides::default())
    };
    for url in [
        "redis://127.0.0.1:6379/0",
        "rediss://redis.internal:6380",
        "redis+cluster://10.0.0.1:7000,10.0.0.2:7000",
        "rediss+cluster://:pw@10.0.0.1:7000",
    ] {
        let c = resolve(&format!(
            "redis = {url:?}\nredis_ca_file = \"/etc/ca.pem\"\n"
        ))
        .unwrap();
        assert_eq!(c.waf.redis.as_deref(), Some(url));
        assert_eq!(c.waf.redis_ca_file, Some(PathBuf::from("/etc/ca.pem")));
    }
    for bad in ["redis+cluster://", "redis+cluster:// , ", "memcached://x"] {
        let e = resolve(&format!("redis = {bad:?}\n")).unwrap_err();
        assert!(e.0.iter().any(|p| p.field == "waf.redis"), "{bad}: {e}");
    }
    let e = resolve("redis_ca_file = \"\"\n").unwrap_err();
    assert_eq!(e.0[0].field, "waf.redis_ca_file");
}

#[test]
fn log_destinations_map_names_to_nats_subjects() {
    let c = RawConfig::from_toml(
        "[waf.log_destinations]\naws-waf-logs-site = \"nats://127.0.0.1:4222/waf.site\"\n",
    )
    .unwrap()
    .resolve(&Overrides::default())
    .unwrap();
    assert_eq!(
        c.waf.log_destinations.get("aws-waf-logs-site"),
        Some(&WafLog::Nats {
            url: "nats://127.0.0.1:4222".into(),
            subject: "waf.site".into()
        })
    );
    let e = RawConfig::from_toml(
        "[waf.log_destinations]\n\"a b\" = \"nats://h:1/s\"\nok = \"/var/log/x\"\nw = \"nats://h:1/a.*\"\n",
    )
    .unwrap()
    .resolve(&Overrides::default())
    .unwrap_err();
    assert_eq!(e.0.len(), 3, "{e}");
    assert!(e.0.iter().all(|p| p.field == "waf.log_destinations"));
}
