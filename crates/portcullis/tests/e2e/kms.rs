//! KMS through the real binary: durability across `kill -9` under load, and the key
//! material staying sealed on disk.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::client::{Client, Creds, Resp, sign_at};
use crate::harness::{Server, scratch};

/// A signed KMS call.
async fn kms(client: &Client, creds: &Creds, op: &str, body: Value) -> anyhow::Result<Resp> {
    let req = client
        .request(Method::POST, "/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("TrentService.{op}"))
        .body(Bytes::from(body.to_string()))?;
    client
        .send(sign_at(req, creds, "kms", SystemTime::now()))
        .await
}

/// What the load acknowledged before the kill.
#[derive(Default)]
struct Acked {
    keys: Vec<String>,
    aliases: Vec<(String, String)>,
    ciphertexts: Vec<(String, String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing_acknowledged() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem).http1();
    let admin = server.admin.clone();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop_at = Instant::now() + Duration::from_millis(1500);

    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (client, admin, acked) = (client.clone(), admin.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < stop_at + Duration::from_secs(5) {
                n += 1;
                let Ok(r) = kms(&client, &admin, "CreateKey", json!({})).await else {
                    return;
                };
                if r.status != 200 {
                    return;
                }
                let key_id = r.json()["KeyMetadata"]["KeyId"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                acked.lock().unwrap().keys.push(key_id.clone());
                let alias = format!("alias/crash-{worker}-{n}");
                let Ok(r) = kms(
                    &client,
                    &admin,
                    "CreateAlias",
                    json!({"AliasName": alias, "TargetKeyId": key_id}),
                )
                .await
                else {
                    return;
                };
                if r.status == 200 {
                    acked
                        .lock()
                        .unwrap()
                        .aliases
                        .push((alias.clone(), key_id.clone()));
                }
                let plaintext = base64_encode(format!("secret {worker} {n}").as_bytes());
                let Ok(r) = kms(
                    &client,
                    &admin,
                    "Encrypt",
                    json!({"KeyId": alias, "Plaintext": plaintext,
                    "EncryptionContext": {"n": n.to_string()}}),
                )
                .await
                else {
                    return;
                };
                if r.status == 200 {
                    let blob = r.json()["CiphertextBlob"].as_str().unwrap().to_owned();
                    acked
                        .lock()
                        .unwrap()
                        .ciphertexts
                        .push((blob, plaintext, n.to_string()));
                }
            }
        }));
    }
    tokio::time::sleep_until(stop_at.into()).await;
    // SIGKILL: no shutdown, no flush.
    drop(server);
    for t in tasks {
        let _ = t.await;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.keys.len() >= 4,
        "the load made progress before the kill: {} keys",
        acked.keys.len()
    );

    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    for key in &acked.keys {
        let r = kms(&client, &admin, "DescribeKey", json!({"KeyId": key}))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "acknowledged key {key} survives: {}", r.body);
    }
    for (alias, key) in &acked.aliases {
        let r = kms(&client, &admin, "DescribeKey", json!({"KeyId": alias}))
            .await
            .unwrap();
        assert_eq!(
            r.status, 200,
            "acknowledged alias {alias} survives: {}",
            r.body
        );
        assert_eq!(r.json()["KeyMetadata"]["KeyId"], json!(key));
    }
    for (blob, plaintext, n) in &acked.ciphertexts {
        let r = kms(
            &client,
            &admin,
            "Decrypt",
            json!({"CiphertextBlob": blob, "EncryptionContext": {"n": n}}),
        )
        .await
        .unwrap();
        assert_eq!(
            r.status, 200,
            "acknowledged ciphertext decrypts: {}",
            r.body
        );
        assert_eq!(r.json()["Plaintext"], json!(plaintext));
    }
}

#[tokio::test]
async fn key_material_is_never_on_disk_in_plaintext() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem);
    let r = kms(
        &client,
        &server.admin,
        "CreateKey",
        json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let key_id = r.json()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    // A data key's plaintext must not reach the database or the audit files either.
    let r = kms(&client, &server.admin, "CreateKey", json!({}))
        .await
        .unwrap();
    let sym = r.json()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = kms(
        &client,
        &server.admin,
        "GenerateDataKey",
        json!({"KeyId": sym, "NumberOfBytes": 32}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let data_key = r.json()["Plaintext"].as_str().unwrap().to_owned();
    let mut server = server;
    let (status, _) = server.terminate(Duration::from_secs(15)).await;
    assert!(status.success());
    let mut haystack = Vec::new();
    for entry in walk(&data) {
        haystack.extend(std::fs::read(&entry).unwrap_or_default());
        if entry.extension().is_some_and(|e| e == "gz") {
            use std::io::Read;
            let mut s = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&entry).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            haystack.extend(s.into_bytes());
        }
    }
    let text = String::from_utf8_lossy(&haystack);
    assert!(text.contains(&key_id), "the key record is on disk");
    assert!(
        !text.contains(&data_key),
        "a data key's plaintext reached the disk"
    );
    assert!(!text.contains("\"sealed\":\"\""), "every version is sealed");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_lose_no_update() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let client = Client::new(server.addr, &server.ca_pem).http1();
    let admin = server.admin.clone();
    let key_of = |r: Resp| {
        r.json()["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(key_of(
            kms(&client, &admin, "CreateKey", json!({})).await.unwrap(),
        ));
    }
    let r = kms(
        &client,
        &admin,
        "CreateAlias",
        json!({"AliasName": "alias/race", "TargetKeyId": keys[0]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);

    // Many UpdateAlias at once: every one succeeds, and the alias ends on exactly one key
    // whose alias list agrees.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (client, admin, target) = (client.clone(), admin.clone(), keys[i % 3].clone());
        tasks.push(tokio::spawn(async move {
            kms(
                &client,
                &admin,
                "UpdateAlias",
                json!({"AliasName": "alias/race", "TargetKeyId": target}),
            )
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut holders = 0;
    let described = kms(
        &client,
        &admin,
        "DescribeKey",
        json!({"KeyId": "alias/race"}),
    )
    .await
    .unwrap();
    let target = described.json()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    for k in &keys {
        let r = kms(&client, &admin, "ListAliases", json!({"KeyId": k}))
            .await
            .unwrap();
        let names: Vec<String> = r.json()["Aliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["AliasName"].as_str().unwrap().to_owned())
            .collect();
        if names.contains(&"alias/race".to_owned()) {
            holders += 1;
            assert_eq!(
                k, &target,
                "the key listing the alias is the one it resolves to"
            );
        }
    }
    assert_eq!(holders, 1, "exactly one key holds the alias");

    // RotateKeyOnDemand while encrypting: every ciphertext decrypts afterwards.
    let key = keys[1].clone();
    let mut enc = Vec::new();
    for w in 0..3 {
        let (client, admin, key) = (client.clone(), admin.clone(), key.clone());
        enc.push(tokio::spawn(async move {
            let mut blobs = Vec::new();
            for n in 0..15 {
                let pt = base64_encode(format!("{w}-{n}").as_bytes());
                let r = kms(
                    &client,
                    &admin,
                    "Encrypt",
                    json!({"KeyId": key, "Plaintext": pt}),
                )
                .await
                .unwrap();
                assert_eq!(r.status, 200, "{}", r.body);
                blobs.push((r.json()["CiphertextBlob"].as_str().unwrap().to_owned(), pt));
            }
            blobs
        }));
    }
    for _ in 0..3 {
        let r = kms(&client, &admin, "RotateKeyOnDemand", json!({"KeyId": key}))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut materials = std::collections::BTreeSet::new();
    for t in enc {
        for (blob, pt) in t.await.unwrap() {
            let r = kms(&client, &admin, "Decrypt", json!({"CiphertextBlob": blob}))
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json()["Plaintext"], json!(pt));
            materials.insert(r.json()["KeyMaterialId"].as_str().unwrap().to_owned());
        }
    }
    let r = kms(&client, &admin, "ListKeyRotations", json!({"KeyId": key}))
        .await
        .unwrap();
    assert_eq!(
        r.json()["Rotations"].as_array().unwrap().len(),
        3,
        "{}",
        r.body
    );
    assert!(!materials.is_empty());
}
