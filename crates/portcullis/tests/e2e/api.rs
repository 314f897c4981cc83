//! The API listener as a client sees it: protocols, health and metrics, size limits and
//! every way a request can be refused.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, StatusCode};

use crate::client::{Client, Creds, sign_at};
use crate::harness::{ADMIN_ARN, Server, scratch};

#[tokio::test]
async fn http2_and_http11_both_answer_signed_calls() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    for client in [
        Client::new(server.addr, &server.ca_pem),
        Client::new(server.addr, &server.ca_pem).http1(),
    ] {
        let r = client
            .query("sts", &server.admin, "GetCallerIdentity", &[])
            .await;
        assert_eq!(r.version, client.version, "negotiated {:?}", r.version);
        assert_eq!(r.status, 200, "{:?}: {}", client.version, r.body);
        assert_eq!(r.xml("Arn").as_deref(), Some(ADMIN_ARN));
        assert!(
            r.headers.contains_key("x-amzn-requestid"),
            "every reply names its request id"
        );
        // IAM over the same listener, routed by the credential scope.
        let r = client.query("iam", &server.admin, "ListUsers", &[]).await;
        assert_eq!(r.status, 200, "{:?}: {}", client.version, r.body);
        assert!(r.body.contains("<UserName>admin</UserName>"), "{}", r.body);
    }
}

#[tokio::test]
async fn health_and_metrics_need_no_credentials() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);

    let r = client
        .must_send(
            client
                .request(Method::GET, "/health")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "ok", "{v}");
    let services: Vec<&str> = v["services"]
        .as_array()
        .expect("services listed")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    for s in ["iam", "sts"] {
        assert!(services.contains(&s), "{s} in {services:?}");
    }

    let ok = client
        .query("sts", &server.admin, "GetCallerIdentity", &[])
        .await;
    assert_eq!(ok.status, 200);
    let bad = Creds {
        secret: "wrong-wrong-wrong-wrong".into(),
        ..server.admin.clone()
    };
    let r = client.query("sts", &bad, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);

    let metrics = client
        .must_send(
            client
                .request(Method::GET, "/metrics")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(metrics.status, 200);
    let has = |name: &str, labels: &[&str]| {
        metrics.body.lines().any(|l| {
            l.starts_with(&format!("{name}{{"))
                && labels.iter().all(|lab| l.contains(lab))
                && l.rsplit(' ').next().and_then(|n| n.parse::<f64>().ok()) >= Some(1.0)
        })
    };
    assert!(
        has(
            "portcullis_api_requests_total",
            &[
                "service=\"sts\"",
                "operation=\"GetCallerIdentity\"",
                "status=\"200\""
            ]
        ),
        "{}",
        metrics.body
    );
    assert!(
        has(
            "portcullis_api_auth_failures_total",
            &["reason=\"signature_mismatch\""]
        ),
        "{}",
        metrics.body
    );
}

/// Sends raw HTTP/1.1 bytes over TLS and returns whatever the server answers before it
/// closes the connection (or stops talking for a second). Write errors are ignored: a
/// server may answer before it has read the whole request.
async fn raw_http1(client: &Client, head: String, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tls = client
        .clone()
        .http1()
        .connect()
        .await
        .expect("TLS connection");
    let _ = tls.write_all(head.as_bytes()).await;
    let _ = tls.write_all(body).await;
    let _ = tls.flush().await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), tls.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_413() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let big = Bytes::from(vec![b'a'; MIB + 1]);

    // HTTP/2 with a declared length.
    let req = client
        .request(Method::POST, "/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", big.len())
        .body(big.clone())
        .unwrap();
    let r = client.must_send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("RequestEntityTooLarge"));
    assert!(r.body.contains("<ErrorResponse"), "{}", r.body);

    // A JSON-protocol client gets a JSON error.
    let req = client
        .request(Method::POST, "/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "CloudTrail_20131101.LookupEvents")
        .body(big.clone())
        .unwrap();
    let r = client.must_send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["__type"], "RequestEntityTooLarge");
    assert_eq!(
        r.headers
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap()),
        Some("RequestEntityTooLarge")
    );

    // HTTP/1.1 with a declared length: refused from the headers alone.
    let host = client.authority();
    let reply = raw_http1(
        &client,
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            MIB + 1
        ),
        b"",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(
        reply.contains("<Code>RequestEntityTooLarge</Code>"),
        "{reply}"
    );

    // HTTP/1.1 chunked, no declared length: refused once the cap is crossed.
    let mut chunked = format!("{:x}\r\n", MIB + 1).into_bytes();
    chunked.extend_from_slice(&big);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let reply = raw_http1(
        &client,
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        &chunked,
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(
        reply.contains("<Code>RequestEntityTooLarge</Code>"),
        "{reply}"
    );

    // Exactly at the limit is not refused for its size.
    let mut body = b"Action=GetCallerIdentity&Version=2011-06-15&Pad=".to_vec();
    body.resize(MIB, b'x');
    let req = client
        .request(Method::POST, "/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap();
    let r = client
        .must_send(sign_at(req, &server.admin, "sts", SystemTime::now()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn refused_requests_get_clean_aws_errors() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let admin = &server.admin;
    let now = SystemTime::now();

    // A scope naming a service this server does not run.
    let req = client.query_request("ListKeys", &[]);
    let r = client.must_send(sign_at(req, admin, "s3", now)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("InvalidAction"));
    assert!(
        r.xml("Message").unwrap_or_default().contains("s3"),
        "{}",
        r.body
    );
    let req = client
        .request(Method::POST, "/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "NoSuchService_20200101.ListThings")
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    let r = client
        .must_send(sign_at(req, admin, "nosuchservice", now))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["__type"], "UnknownOperationException");

    // Garbage in the Authorization header.
    let mut req = client.query_request("GetCallerIdentity", &[]);
    req.headers_mut().insert(
        "authorization",
        "AWS4-HMAC-SHA256 this is not a signature".parse().unwrap(),
    );
    let r = client.must_send(req).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("IncompleteSignature"));

    // No credentials at all.
    let r = client
        .must_send(client.query_request("GetCallerIdentity", &[]))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("MissingAuthenticationToken"));

    // An unknown access key.
    let stranger = Creds {
        id: "AKIANOBODYKNOWSTHIS".into(),
        secret: "whatever-whatever-whatever".into(),
        token: None,
    };
    let r = client
        .query("sts", &stranger, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("InvalidClientTokenId"));

    // The right key, a body changed after signing.
    let req = sign_at(
        client.query_request("GetCallerIdentity", &[]),
        admin,
        "sts",
        now,
    );
    let (parts, _) = req.into_parts();
    let tampered = http::Request::from_parts(
        parts,
        Bytes::from_static(b"Action=GetCallerIdentity&Version=2011-06-15&X=1"),
    );
    let r = client.must_send(tampered).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("SignatureDoesNotMatch"));

    // Signed 20 minutes ago.
    let req = client.query_request("GetCallerIdentity", &[]);
    let old = now - Duration::from_secs(20 * 60);
    let r = client.must_send(sign_at(req, admin, "sts", old)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("RequestExpired"));

    // A session token on a long-term key.
    let with_token = Creds {
        token: Some("made-up-token".into()),
        ..admin.clone()
    };
    let r = client
        .query("sts", &with_token, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("InvalidClientTokenId"));
}

#[tokio::test]
async fn deactivated_and_temporary_keys_behave_like_aws() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem).http1();
    let admin = &server.admin;

    let r = client
        .query("iam", admin, "CreateUser", &[("UserName", "carol")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = client
        .query("iam", admin, "CreateAccessKey", &[("UserName", "carol")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let carol = Creds {
        id: r.xml("AccessKeyId").expect("an access key id"),
        secret: r.xml("SecretAccessKey").expect("a secret"),
        token: None,
    };
    let r = client.query("sts", &carol, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.xml("Arn").as_deref(),
        Some("arn:aws:iam::000000000000:user/carol")
    );

    // Temporary credentials work with their token and not without it.
    let r = client.query("sts", &carol, "GetSessionToken", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = Creds {
        id: r.xml("AccessKeyId").expect("temporary key id"),
        secret: r.xml("SecretAccessKey").expect("temporary secret"),
        token: r.xml("SessionToken"),
    };
    assert!(session.token.is_some(), "{}", r.body);
    let r = client
        .query("sts", &session, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tokenless = Creds {
        token: None,
        ..session.clone()
    };
    let r = client
        .query("sts", &tokenless, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("InvalidClientTokenId"));

    // Deactivating carol's key shuts it out.
    let r = client
        .query(
            "iam",
            admin,
            "UpdateAccessKey",
            &[
                ("UserName", "carol"),
                ("AccessKeyId", &carol.id),
                ("Status", "Inactive"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = client.query("sts", &carol, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("InvalidClientTokenId"));

    // carol has no policy: IAM calls are denied even with a working key.
    let r = client
        .query(
            "iam",
            admin,
            "UpdateAccessKey",
            &[
                ("UserName", "carol"),
                ("AccessKeyId", &carol.id),
                ("Status", "Active"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = client.query("iam", &carol, "ListUsers", &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("AccessDenied"));
}
