//! The head watchdog: a slow head and an idle keep-alive connection are closed (only the first counts as a
//! `header_timeout` rejection); a request being served — slow body, slow upstream — is never cut by it.

use super::observe::counter;
use super::*;

/// A proxy whose single listener is `name`, with a 1 s head timeout.
async fn timed_proxy(name: &str) -> (Arc<Upstream>, ProxyHandle, SocketAddr) {
    let up = upstream("a").await;
    let mut cfg = config(vec![up.addr]);
    cfg.listeners[0].name = name.into();
    cfg.limits.header_read_timeout = Duration::from_secs(1);
    let proxy = start(cfg, allow_all()).await;
    let addr = proxy.local_addrs()[0];
    (up, proxy, addr)
}

fn header_timeouts(listener: &str) -> u64 {
    counter(&format!(
        "portcullis_waf_rejected_requests_total{{listener={listener},reason=header_timeout}}"
    ))
}

/// Read until `n` complete answers of the test upstream ("hello from a") have arrived; panics after 10 s or on
/// close.
async fn read_answers(tcp: &mut TcpStream, n: usize) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while String::from_utf8_lossy(&out)
            .matches("hello from a")
            .count()
            < n
        {
            let mut chunk = [0u8; 1024];
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(k) => out.extend_from_slice(&chunk[..k]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(read.is_ok(), "no answer in 10 s: {text:?}");
    assert_eq!(text.matches("hello from a").count(), n, "{text:?}");
    text
}

/// How long until the server closes `tcp` (it must within 5 s, without sending anything).
async fn time_to_close(tcp: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "connection still open after 5 s");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    started.elapsed()
}

#[tokio::test]
async fn slow_head_is_closed_and_counted() {
    let name = "head-slow";
    assert_eq!(header_timeouts(name), 0);
    let (up, proxy, addr) = timed_proxy(name).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: one byte every 200 ms\r\n\r\n";
    let started = Instant::now();
    let mut sent = 0;
    let closed_after = loop {
        let mut chunk = [0u8; 256];
        tokio::select! {
            n = tcp.read(&mut chunk) => match n {
                Ok(0) | Err(_) => break started.elapsed(),
                Ok(n) => panic!("answered: {:?}", String::from_utf8_lossy(&chunk[..n])),
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                assert!(sent < head.len(), "the whole head went through");
                if tcp.write_all(&head[sent..=sent]).await.is_err() {
                    break started.elapsed();
                }
                sent += 1;
            }
        }
    };
    // First byte at 200 ms, deadline 1 s later.
    assert!(
        closed_after >= Duration::from_millis(1000) && closed_after < Duration::from_millis(2500),
        "{closed_after:?}"
    );
    assert!((5..12).contains(&sent), "{sent} bytes trickled");
    wait_for(|| header_timeouts(name) == 1).await;
    assert_eq!(up.count(), 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed_without_counting() {
    let name = "head-idle";
    let (up, proxy, addr) = timed_proxy(name).await;
    // Idle after one request (keep-alive).
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answers(&mut tcp, 1).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let idle = time_to_close(&mut tcp).await;
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_millis(2500),
        "{idle:?}"
    );
    // Idle from the start: nothing ever sent.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let idle = time_to_close(&mut silent).await;
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_millis(2500),
        "{idle:?}"
    );
    assert_eq!(up.count(), 1);
    assert_eq!(header_timeouts(name), 0, "idle is not a slow head");
    proxy.shutdown().await;
}

#[tokio::test]
async fn slow_body_and_slow_upstream_are_not_cut() {
    let name = "head-busy";
    let (up, proxy, addr) = timed_proxy(name).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // A body trickled over 2.5 s (the head timeout is 1 s; the body prefix timeout is 30 s).
    tcp.write_all(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        .await
        .unwrap();
    for b in b"0123456789" {
        tokio::time::sleep(Duration::from_millis(250)).await;
        tcp.write_all(&[*b]).await.unwrap();
    }
    let answer = read_answers(&mut tcp, 1).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(up.last().body_len, 10);
    // An upstream that takes 2 s to answer, on the same connection; then the connection is still usable.
    let started = Instant::now();
    tcp.write_all(
        b"GET /slow/2000 HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    let answers = read_answers(&mut tcp, 2).await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(answers.matches("HTTP/1.1 200").count(), 2, "{answers}");
    assert_eq!(up.last().path, "/after");
    assert_eq!(header_timeouts(name), 0);
    proxy.shutdown().await;
}
