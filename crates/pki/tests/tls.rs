//! Real TLS handshakes over loopback TCP against the listener configuration the PKI
//! builds: server names, optional mTLS, principals, foreign CAs, revocation, expiry,
//! certificate purpose and rotation without rebuilding the `ServerConfig`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use portcullis_common::{FixedClock, Secret};
use portcullis_pki::{IssuedCert, Pki, PkiError, client_tls_config, principal_from_client_cert};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, ClientConfig, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const ARN: &str = "arn:aws:iam::000000000000:role/inspector-agent";

/// What the server saw of a successful handshake.
#[derive(Debug)]
struct ServerSide {
    peer_cert: Option<Vec<u8>>,
    alpn: Option<Vec<u8>>,
}

/// What the client saw of a successful exchange.
#[derive(Debug)]
struct ClientSide {
    server_cert: Vec<u8>,
}

struct Outcome {
    server: io::Result<ServerSide>,
    client: io::Result<ClientSide>,
}

/// One connection: the server accepts, writes `ok` and closes; the client reads it.
async fn handshake(server: Arc<ServerConfig>, client: Arc<ClientConfig>, name: &str) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = TlsAcceptor::from(server).accept(tcp).await?;
        let (_, conn) = tls.get_ref();
        let seen = ServerSide {
            peer_cert: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec()),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        };
        tls.write_all(b"ok").await?;
        tls.shutdown().await?;
        Ok(seen)
    });
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let client_result = async {
        let tcp = TcpStream::connect(addr).await?;
        let mut tls = TlsConnector::from(client).connect(server_name, tcp).await?;
        let mut buf = [0u8; 2];
        // Under TLS 1.3 a refused client certificate surfaces here, as an alert.
        tls.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ok");
        let server_cert = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
        Ok(ClientSide { server_cert })
    }
    .await;
    let server_result = tokio::time::timeout(Duration::from_secs(10), server_task)
        .await
        .expect("server task timed out")
        .unwrap();
    Outcome {
        server: server_result,
        client: client_result,
    }
}

/// The rustls error behind a failed handshake.
fn tls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn serial_hex(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    hex::encode(cert.tbs_certificate.raw_serial())
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn anonymous_client(pki: &Pki) -> Arc<ClientConfig> {
    client_tls_config(pki.ca_cert_pem(), None).unwrap()
}

fn client_with(pki: &Pki, cert: &IssuedCert) -> Arc<ClientConfig> {
    client_tls_config(pki.ca_cert_pem(), Some((&cert.cert_pem, &cert.key_pem))).unwrap()
}

/// Asserts the server refused the client certificate for `reason`, and the client failed too.
fn assert_refused(outcome: Outcome, reason: CertificateError) {
    let err = outcome
        .server
        .expect_err("server accepted a certificate it must refuse");
    assert_eq!(
        tls_error(&err),
        Some(&rustls::Error::InvalidCertificate(reason)),
        "unexpected server error: {err}"
    );
    assert!(
        outcome.client.is_err(),
        "client completed an exchange the server refused"
    );
}

#[tokio::test]
async fn listener_certificate_verifies_for_each_default_name() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let server = pki.server_tls_config().unwrap();
    for name in ["localhost", "127.0.0.1", "::1"] {
        let outcome = handshake(Arc::clone(&server), anonymous_client(&pki), name).await;
        let seen = outcome.server.unwrap();
        assert!(outcome.client.is_ok(), "{name}");
        assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]));
    }
}

#[tokio::test]
async fn listener_certificate_is_refused_for_other_names_and_by_other_cas() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let server = pki.server_tls_config().unwrap();
    for name in ["example.com", "10.0.0.1", "localhost.localdomain"] {
        let outcome = handshake(Arc::clone(&server), anonymous_client(&pki), name).await;
        let err = outcome.client.expect_err(name);
        assert!(
            matches!(
                tls_error(&err),
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForNameContext { .. }
                ))
            ),
            "{name}: {err}"
        );
    }
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::open_or_init(other_dir.path(), &[]).unwrap();
    let outcome = handshake(server, anonymous_client(&other), "localhost").await;
    let err = outcome.client.unwrap_err();
    assert_eq!(
        tls_error(&err),
        Some(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );
}

#[tokio::test]
async fn issued_server_certificate_verifies_for_each_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let issued = pki
        .issue_server(
            &names(&["svc.portcullis.internal", "10.9.8.7", "fd00::7"]),
            30,
        )
        .unwrap();
    let cert =
        rustls::pki_types::CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(issued.key_pem.expose().as_bytes())
        .unwrap();
    let server = Arc::new(
        ServerConfig::builder_with_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap(),
    );
    for name in ["svc.portcullis.internal", "10.9.8.7", "fd00::7"] {
        let outcome = handshake(Arc::clone(&server), anonymous_client(&pki), name).await;
        let seen = outcome.client.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(serial_hex(&seen.server_cert), issued.serial_hex);
    }
    for name in [
        "portcullis.internal",
        "other.portcullis.internal",
        "10.9.8.8",
        "localhost",
    ] {
        let outcome = handshake(Arc::clone(&server), anonymous_client(&pki), name).await;
        assert!(outcome.client.is_err(), "{name} must not verify");
    }
}

#[tokio::test]
async fn client_certificate_is_accepted_and_maps_to_its_principal() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let agent = pki.issue_client("agent-web-01", ARN, 30).unwrap();
    let outcome = handshake(
        pki.server_tls_config().unwrap(),
        client_with(&pki, &agent),
        "localhost",
    )
    .await;
    outcome.client.unwrap();
    let peer = outcome
        .server
        .unwrap()
        .peer_cert
        .expect("client certificate");
    assert_eq!(serial_hex(&peer), agent.serial_hex);
    assert_eq!(principal_from_client_cert(&peer).as_deref(), Some(ARN));
}

#[tokio::test]
async fn no_client_certificate_is_accepted_without_a_principal() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let outcome = handshake(
        pki.server_tls_config().unwrap(),
        anonymous_client(&pki),
        "localhost",
    )
    .await;
    outcome.client.unwrap();
    assert!(outcome.server.unwrap().peer_cert.is_none());
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::open_or_init(other_dir.path(), &[]).unwrap();
    // Same name and principal, signed by a different CA.
    let forged = other.issue_client("agent-web-01", ARN, 30).unwrap();
    let client = client_with(&pki, &forged);
    let outcome = handshake(pki.server_tls_config().unwrap(), client, "localhost").await;
    assert_refused(outcome, CertificateError::UnknownIssuer);
}

#[tokio::test]
async fn revoked_client_certificate_is_refused_by_a_running_listener() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let server = pki.server_tls_config().unwrap();
    let agent = pki.issue_client("agent-web-01", ARN, 30).unwrap();
    let sibling = pki.issue_client("agent-web-02", ARN, 30).unwrap();
    handshake(Arc::clone(&server), client_with(&pki, &agent), "localhost")
        .await
        .server
        .unwrap();

    // Revoke through another handle on the same directory, as `portcullis ca revoke` would.
    let cli = Pki::open_or_init(dir.path(), &[]).unwrap();
    cli.revoke(&agent.serial_hex.to_uppercase()).unwrap();
    let outcome = handshake(Arc::clone(&server), client_with(&pki, &agent), "localhost").await;
    assert_refused(outcome, CertificateError::Revoked);

    // Revocation is per certificate: the sibling still works.
    handshake(server, client_with(&pki, &sibling), "localhost")
        .await
        .server
        .unwrap();
}

#[tokio::test]
async fn expired_client_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let past = Arc::new(FixedClock::new(now - time::Duration::days(30)));
    let pki = Pki::open_or_init_with_clock(dir.path(), &[], past).unwrap();
    let stale = pki.issue_client("agent-old", ARN, 2).unwrap();
    assert!(stale.not_after < now);
    let current = Pki::open_or_init(dir.path(), &[]).unwrap();
    let outcome = handshake(
        current.server_tls_config().unwrap(),
        client_with(&current, &stale),
        "localhost",
    )
    .await;
    let err = outcome.server.unwrap_err();
    assert!(
        matches!(
            tls_error(&err),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::ExpiredContext { .. }
            ))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn server_certificate_is_not_accepted_as_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let server_cert = pki.issue_server(&names(&["agent.example"]), 30).unwrap();
    let outcome = handshake(
        pki.server_tls_config().unwrap(),
        client_with(&pki, &server_cert),
        "localhost",
    )
    .await;
    let err = outcome.server.unwrap_err();
    assert!(
        matches!(
            tls_error(&err),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurposeContext { .. }
            ))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn rotation_is_served_without_rebuilding_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let server = pki.server_tls_config().unwrap();
    let first = handshake(Arc::clone(&server), anonymous_client(&pki), "localhost")
        .await
        .client
        .unwrap();

    let rotated = pki.rotate_server(None).unwrap();
    let second = handshake(Arc::clone(&server), anonymous_client(&pki), "::1")
        .await
        .client
        .unwrap();
    assert_ne!(
        serial_hex(&first.server_cert),
        serial_hex(&second.server_cert)
    );
    assert_eq!(serial_hex(&second.server_cert), rotated.serial_hex);

    // A rotation by another process is picked up within a second.
    let other = Pki::open_or_init(dir.path(), &[]).unwrap();
    let again = other
        .rotate_server(Some(&names(&["localhost", "127.0.0.1", "::1", "api.test"])))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = handshake(Arc::clone(&server), anonymous_client(&pki), "api.test")
        .await
        .client
        .unwrap();
    assert_eq!(serial_hex(&third.server_cert), again.serial_hex);

    let records = pki.list().unwrap();
    for serial in [&rotated.serial_hex, &again.serial_hex] {
        assert!(
            records.iter().any(|r| &r.serial_hex == serial),
            "{serial} missing from the registry"
        );
    }
}

#[tokio::test]
async fn bad_identities_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
    let agent = pki.issue_client("agent", ARN, 1).unwrap();
    let garbage = Secret::new(
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n".to_owned(),
    );
    let err = client_tls_config(pki.ca_cert_pem(), Some((&agent.cert_pem, &garbage))).unwrap_err();
    assert!(matches!(err, PkiError::InvalidKey { .. }), "{err}");
    let err = client_tls_config(pki.ca_cert_pem(), Some(("not pem", &agent.key_pem))).unwrap_err();
    assert!(matches!(err, PkiError::InvalidCertificate { .. }), "{err}");
    assert!(principal_from_client_cert(b"garbage").is_none());
}
