//! `ProxyHandle::reconfigure`: listeners added and removed, pools swapped, a request in flight left alone, and a
//! configuration that cannot be applied leaving everything as it was.

use super::*;

fn listener(name: &str, pool: &str) -> ListenerConfig {
    ListenerConfig {
        routes: vec![RouteConfig {
            host: None,
            path_prefix: "/".into(),
            pool: pool.into(),
        }],
        ..ListenerConfig::new(name, "127.0.0.1:0".parse().unwrap())
    }
}

#[tokio::test]
async fn reconfigure_adds_removes_and_swaps_without_dropping_in_flight_requests() {
    let a = upstream("a").await;
    let b = upstream("b").await;
    let mut cfg = config(vec![a.addr]);
    cfg.shutdown_grace = Duration::from_secs(5);
    let mut proxy = start(cfg.clone(), allow_all()).await;
    let first = proxy.local_addr("web").unwrap();
    let c = client();
    assert_eq!(get(&c, first, "/x", &[]).await.1["x-upstream"], "a");

    // A slow request on the first listener, then a second listener and the pool pointed at `b`.
    let slow = tokio::spawn(async move { get(&client(), first, "/slow/800", &[]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut next = cfg.clone();
    next.pools = vec![PoolConfig::new("app", vec![b.addr])];
    next.listeners.push(listener("second", "app"));
    let report = proxy.reconfigure(next.clone()).await.unwrap();
    assert_eq!(report.started, vec!["second".to_owned()]);
    assert_eq!(report.updated, vec!["web".to_owned()]);
    assert_eq!(report.pools_built, vec!["app".to_owned()]);
    assert_eq!(proxy.local_addr("web"), Some(first), "same socket");
    let second = proxy.local_addr("second").unwrap();
    // The kept-alive connection's next request takes the new route.
    assert_eq!(get(&c, first, "/y", &[]).await.1["x-upstream"], "b");
    assert_eq!(get(&client(), second, "/z", &[]).await.1["x-upstream"], "b");
    let (status, headers, _) = slow.await.unwrap();
    assert_eq!(status.as_u16(), 200);
    assert_eq!(headers["x-upstream"], "a");

    // A slow request on the second listener, which is then removed: it completes, new connections are refused.
    let slow = tokio::spawn(async move { get(&client(), second, "/slow/600", &[]).await.0 });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = proxy.reconfigure(cfg.clone()).await.unwrap();
    assert_eq!(report.stopped, vec!["second".to_owned()]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        TcpStream::connect(second).await.is_err(),
        "removed listener refuses"
    );
    assert_eq!(slow.await.unwrap(), 200, "in-flight request drained");
    assert_eq!(get(&c, first, "/w", &[]).await.1["x-upstream"], "a");
    proxy.shutdown().await;
}

#[tokio::test]
async fn unchanged_pool_is_kept_and_a_failed_reconfigure_changes_nothing() {
    let a = upstream("a").await;
    let mut proxy = start(config(vec![a.addr]), allow_all()).await;
    let addr = proxy.local_addr("web").unwrap();
    let before = proxy.pool("app").unwrap();
    let report = proxy.reconfigure(config(vec![a.addr])).await.unwrap();
    assert!(report.pools_built.is_empty());
    assert!(Arc::ptr_eq(&before, &proxy.pool("app").unwrap()));

    // A listener on a port already taken: nothing is applied.
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut bad = config(vec![a.addr]);
    bad.pools = vec![PoolConfig::new("app", vec![dead_addr().await])];
    bad.listeners.push(ListenerConfig {
        bind: taken.local_addr().unwrap(),
        ..listener("clash", "app")
    });
    assert!(matches!(
        proxy.reconfigure(bad).await,
        Err(portcullis_waf_proxy::ProxyError::Bind { .. })
    ));
    // An unknown pool is rejected too.
    let mut unknown = config(vec![a.addr]);
    unknown.listeners.push(listener("x", "nope"));
    assert!(proxy.reconfigure(unknown).await.is_err());
    assert!(Arc::ptr_eq(&before, &proxy.pool("app").unwrap()));
    assert_eq!(proxy.local_addrs(), vec![addr]);
    assert_eq!(get(&client(), addr, "/", &[]).await.0, 200);
    proxy.shutdown().await;
}
