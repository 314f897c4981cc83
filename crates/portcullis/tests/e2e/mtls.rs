//! Client certificates from the built-in CA: authentication, revocation, foreign CAs, and
//! server certificate rotation while running.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request};

use crate::client::{Client, Resp};
use crate::harness::{ADMIN_ARN, Server, run, scratch, text};

/// Runs `portcullis ca --data-dir D ARGS...` and returns stdout.
fn ca(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["ca", "--data-dir", data.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&all, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "ca {args:?} failed: {stdout}{stderr}");
    stdout
}

/// Issues a client certificate; returns (cert PEM, key PEM, serial).
fn issue(data: &Path, out: &Path, name: &str, principal: &str) -> (String, String, String) {
    let stdout = ca(
        data,
        &[
            "issue-client",
            "--name",
            name,
            "--principal",
            principal,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let serial = stdout
        .split_whitespace()
        .skip_while(|w| *w != "serial")
        .nth(1)
        .expect("the serial is printed")
        .to_owned();
    let cert = std::fs::read_to_string(out.join(format!("{name}.pem"))).unwrap();
    let key = std::fs::read_to_string(out.join(format!("{name}.key"))).unwrap();
    (cert, key, serial)
}

fn unsigned_caller_identity(client: &Client) -> Request<Bytes> {
    let mut req = client.query_request("GetCallerIdentity", &[]);
    req.headers_mut()
        .insert("x-portcullis-service", "sts".parse().unwrap());
    req
}

fn serial_of(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("a certificate");
    cert.tbs_certificate.raw_serial_as_string()
}

#[tokio::test]
async fn client_certificates_authenticate_until_revoked() {
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let out = tmp.path().join("certs");
    let (cert, key, serial) = issue(&data, &out, "agent", ADMIN_ARN);

    let with_cert = Client::with_cert(server.addr, &server.ca_pem, &cert, &key);
    let r: Resp = with_cert
        .must_send(unsigned_caller_identity(&with_cert))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("Arn").as_deref(), Some(ADMIN_ARN));
    // Over HTTP/1.1 as well.
    let h1 = with_cert.clone().http1();
    let r = h1.must_send(unsigned_caller_identity(&h1)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The certificate alone does not pick a service.
    let r = with_cert
        .must_send(with_cert.query_request("GetCallerIdentity", &[]))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // The same request without a certificate.
    let plain = Client::new(server.addr, &server.ca_pem);
    let r = plain.must_send(unsigned_caller_identity(&plain)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("MissingAuthenticationToken"));

    // A valid certificate for a principal that does not exist.
    let (ghost_cert, ghost_key, _) = issue(
        &data,
        &out,
        "ghost",
        "arn:aws:iam::000000000000:user/nobody",
    );
    let ghost = Client::with_cert(server.addr, &server.ca_pem, &ghost_cert, &ghost_key);
    let r = ghost.must_send(unsigned_caller_identity(&ghost)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("InvalidClientTokenId"));

    // `ca list` shows the certificate; after `ca revoke` the handshake fails.
    let list = ca(&data, &["list"]);
    assert!(list.contains(&serial) && list.contains("valid"), "{list}");
    let revoked = ca(&data, &["revoke", &serial]);
    assert!(revoked.contains(&serial), "{revoked}");
    let list = ca(&data, &["list"]);
    let line = list
        .lines()
        .find(|l| l.contains(&serial))
        .expect("still listed");
    assert!(line.contains("revoked"), "{line}");
    with_cert
        .send(unsigned_caller_identity(&with_cert))
        .await
        .expect_err("a revoked certificate is refused");
    // TLS 1.3 clients may see the refusal as an alert or as a closed connection; the
    // server's log says why.
    assert!(
        server.log().contains("refused revoked client certificate"),
        "the server logs the revocation: {}",
        server.log()
    );
    // Other certificates and plain TLS are unaffected.
    let r = ghost.must_send(unsigned_caller_identity(&ghost)).await;
    assert_eq!(r.status, 403);
    let r = plain
        .query("sts", &server.admin, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let foreign = portcullis_pki::Pki::open_or_init(&tmp.path().join("foreign-pki"), &[])
        .expect("a second CA");
    let issued = foreign
        .issue_client("intruder", ADMIN_ARN, 1)
        .expect("a foreign certificate");
    let intruder = Client::with_cert(
        server.addr,
        &server.ca_pem,
        &issued.cert_pem,
        issued.key_pem.expose(),
    );
    let result = intruder.send(unsigned_caller_identity(&intruder)).await;
    assert!(
        result.is_err(),
        "a foreign certificate got a reply: {:?}",
        result.map(|r| (r.status, r.body))
    );
    // A client trusting the foreign CA does not trust this server either.
    let misled = Client::new(server.addr, foreign.ca_cert_pem());
    assert!(
        misled
            .send(
                misled
                    .request(Method::GET, "/health")
                    .body(Bytes::new())
                    .unwrap()
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn rotate_server_is_picked_up_without_a_restart() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let health = || {
        client
            .request(Method::GET, "/health")
            .body(Bytes::new())
            .unwrap()
    };
    let before = serial_of(&client.must_send(health()).await.peer_cert);

    let printed = ca(&data, &["rotate-server"]);
    assert!(printed.contains("rotated"), "{printed}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let r = client.must_send(health()).await;
        assert_eq!(r.status, 200);
        let serial = serial_of(&r.peer_cert);
        if serial != before || Instant::now() > deadline {
            break serial;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(
        after, before,
        "the server still presents the old certificate"
    );
    let hex: String = after.chars().filter(|c| *c != ':').collect();
    let hex = hex.trim_start_matches('0').to_lowercase();
    assert!(printed.contains(&hex), "serial {hex} printed in {printed}");
    // The new certificate chains to the same CA and signed calls still work.
    let r = client
        .query("sts", &server.admin, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn revocation_also_applies_to_resumed_tls_sessions() {
    let (tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let (cert, key, serial) = issue(&data, &tmp.path().join("certs"), "resumer", ADMIN_ARN);
    let client = Client::with_cert(server.addr, &server.ca_pem, &cert, &key).with_resumption();
    for _ in 0..2 {
        let r = client.must_send(unsigned_caller_identity(&client)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    ca(&data, &["revoke", &serial]);
    let result = client.send(unsigned_caller_identity(&client)).await;
    assert!(
        result.is_err(),
        "a revoked certificate still authenticates over a resumed session: {:?}",
        result.map(|r| (r.status, r.xml("Arn")))
    );
}
