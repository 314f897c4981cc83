//! WebSocket upgrades: the handshake is inspected like any request, then the proxy joins the client and
//! upstream connections and carries frames both ways until one side closes.

use super::*;

/// An upstream that answers a WebSocket handshake with 101 and then echoes every byte back; it records
/// each handshake head it saw.
async fn echo_upstream() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let head = read_head(&mut tcp).await;
                seen.lock().unwrap().push(head.clone());
                if !head.to_ascii_lowercase().contains("\r\nupgrade: websocket") {
                    let _ = tcp
                        .write_all(b"HTTP/1.1 426 Upgrade Required\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                }
                tcp.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                      Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                )
                .await
                .unwrap();
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    (addr, heads)
}

/// Reads up to and including the blank line that ends an HTTP head.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

const HANDSHAKE: &str = "Host: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[tokio::test]
async fn websocket_handshake_is_inspected_then_frames_flow_both_ways() {
    let (up, heads) = echo_upstream().await;
    let proxy = start(config(vec![up]), |req: &WafRequest| {
        if req.path().contains("evil") {
            Ok(Decision::block())
        } else {
            Ok(Decision::allow())
        }
    })
    .await;
    let addr = proxy.local_addrs()[0];

    // Allowed: 101 comes back, and bytes written after it are echoed through the tunnel.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET /chat HTTP/1.1\r\n{HANDSHAKE}").as_bytes())
        .await
        .unwrap();
    let head = tokio::time::timeout(Duration::from_secs(5), read_head(&mut tcp))
        .await
        .expect("handshake answered in time");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("upgrade: websocket"), "{head}");
    assert!(lower.contains("connection: upgrade"), "{head}");
    assert!(
        lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    // A masked text frame "hello", then a second frame after the first echo.
    let frame = [
        0x81u8,
        0x85,
        1,
        2,
        3,
        4,
        b'h' ^ 1,
        b'e' ^ 2,
        b'l' ^ 3,
        b'l' ^ 4,
        b'o' ^ 1,
    ];
    for _ in 0..2 {
        tcp.write_all(&frame).await.unwrap();
        let mut back = [0u8; 11];
        tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut back))
            .await
            .expect("echo in time")
            .unwrap();
        assert_eq!(back, frame);
    }
    {
        let heads = heads.lock().unwrap();
        assert_eq!(heads.len(), 1);
        let h = heads[0].to_ascii_lowercase();
        assert!(h.starts_with("get /chat http/1.1"), "{h}");
        assert!(h.contains("\r\nupgrade: websocket"), "{h}");
        assert!(h.contains("\r\nconnection: upgrade"), "{h}");
        assert!(
            h.contains("\r\nsec-websocket-key: dghlihnhbxbszsbub25jzq=="),
            "{h}"
        );
        assert!(h.contains("\r\nx-forwarded-for: 127.0.0.1"), "{h}");
    }
    drop(tcp);

    // Blocked: the handshake never reaches the upstream.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET /evil HTTP/1.1\r\n{HANDSHAKE}").as_bytes())
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), read_head(&mut tcp))
        .await
        .expect("refusal in time");
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert_eq!(heads.lock().unwrap().len(), 1);

    // An upstream that refuses the upgrade: its answer is relayed and no tunnel is made.
    let plain_up = upstream("plain").await;
    let proxy2 = start(config(vec![plain_up.addr]), allow_all()).await;
    let reply = raw(
        proxy2.local_addrs()[0],
        format!(
            "GET /chat HTTP/1.1\r\n{}",
            HANDSHAKE.replace(
                "Upgrade: websocket\r\n",
                "Upgrade: websocket\r\nConnection: close\r\n"
            )
        )
        .as_bytes(),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("hello from plain"), "{reply}");
    assert_eq!(plain_up.count(), 1);
    assert_eq!(plain_up.last().headers["upgrade"], "websocket");
    proxy.shutdown().await;
    proxy2.shutdown().await;
}
