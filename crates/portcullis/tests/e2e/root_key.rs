//! The root key: secrets sealed under a PKCS#11 key survive a restart, and secrets sealed
//! under one file key do not open under another.
//!
//! The PKCS#11 test needs a token (`scripts/with-softhsm.sh cargo test -p portcullis --test
//! e2e root_key`); without one it says SKIPPED, or fails when `CI=true`.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{Client, Creds};
use crate::harness::{ADMIN_ARN, Server, scratch};

/// Module, token label and PIN of the test token, or `None` after saying loudly that the
/// test is skipped (a failure on CI).
fn pkcs11_env() -> Option<(String, String, String)> {
    let var = |n| std::env::var(n).ok().filter(|v: &String| !v.is_empty());
    match (
        var("PORTCULLIS_TEST_PKCS11_MODULE"),
        var("PORTCULLIS_TEST_PKCS11_TOKEN"),
        var("PORTCULLIS_TEST_PKCS11_PIN"),
    ) {
        (Some(m), Some(t), Some(p)) => Some((m, t, p)),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PORTCULLIS_TEST_PKCS11_* must be set on CI (use scripts/with-softhsm.sh)");
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: PKCS#11 env not set (run under scripts/with-softhsm.sh) ***\n"
            );
            None
        }
    }
}

#[tokio::test]
async fn pkcs11_root_key_keeps_access_keys_across_restarts() {
    let Some((module, token, pin)) = pkcs11_env() else {
        return;
    };
    let (tmp, data) = scratch();
    // A key label of its own, so runs against the same token do not share a key.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let key_label = format!("e2e-{}-{nanos}", std::process::id());
    let config = tmp.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "[root_key]\nkind = \"pkcs11\"\nmodule = {module:?}\ntoken_label = {token:?}\npin_env = \"E2E_TOKEN_PIN\"\nkey_label = {key_label:?}\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let env = [("E2E_TOKEN_PIN", pin.as_str())];

    let mut first = Server::start(&data, &["-c", config], &env);
    assert!(
        !data.join("root.key").exists(),
        "no key file when the root key is in a token"
    );
    assert!(first.log().contains("pkcs11"), "{}", first.log());
    assert!(!first.log().contains(&pin), "the PIN is never logged");
    let client = Client::new(first.addr, &first.ca_pem);
    let r = client
        .query(
            "iam",
            &first.admin,
            "CreateUser",
            &[("UserName", "hsm-user")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = client
        .query(
            "iam",
            &first.admin,
            "CreateAccessKey",
            &[("UserName", "hsm-user")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user = Creds {
        id: r.xml("AccessKeyId").expect("an access key id"),
        secret: r.xml("SecretAccessKey").expect("a secret"),
        token: None,
    };
    let r = client.query("sts", &user, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, _) = first.terminate(Duration::from_secs(10)).await;
    assert!(status.success());

    let second = Server::start(&data, &["-c", config], &env);
    let client = Client::new(second.addr, &second.ca_pem);
    let r = client.query("sts", &user, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}\n{}", r.body, second.log());
    assert_eq!(
        r.xml("Arn").as_deref(),
        Some("arn:aws:iam::000000000000:user/hsm-user")
    );
    let r = client
        .query("sts", &second.admin, "GetCallerIdentity", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    drop(second);

    // Without the PIN the server refuses to start, and says why.
    let failure = Server::try_start(&data, &["-c", config], &[])
        .err()
        .expect("no start without the PIN");
    assert!(
        failure.stderr.contains("E2E_TOKEN_PIN"),
        "{}",
        failure.stderr
    );
}

#[tokio::test]
async fn secrets_sealed_under_one_file_key_do_not_open_under_another() {
    let (_tmp, data) = scratch();
    // Two different 32-byte keys, base64.
    let key_a = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let key_b = "Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    let mut first = Server::start(&data, &[], &[("PORTCULLIS_ROOT_KEY", key_a)]);
    assert!(
        !data.join("root.key").exists(),
        "PORTCULLIS_ROOT_KEY wins over the key file"
    );
    let admin = first.admin.clone();
    let (status, _) = first.terminate(Duration::from_secs(10)).await;
    assert!(status.success());

    let mut other = Server::start(&data, &[], &[("PORTCULLIS_ROOT_KEY", key_b)]);
    let client = Client::new(other.addr, &other.ca_pem);
    let r = client.query("sts", &admin, "GetCallerIdentity", &[]).await;
    assert_ne!(
        r.status, 200,
        "the admin's secret must not open under another root key"
    );
    assert!(r.xml("Arn").is_none(), "{}", r.body);
    let (status, _) = other.terminate(Duration::from_secs(10)).await;
    assert!(status.success());

    // The same key as at first opens it again: the failure was the key, nothing else.
    let again = Server::start(&data, &[], &[("PORTCULLIS_ROOT_KEY", key_a)]);
    let client = Client::new(again.addr, &again.ca_pem);
    let r = client.query("sts", &admin, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("Arn").as_deref(), Some(ADMIN_ARN));
}
