//! The PKCS#11 root key against a real token (SoftHSM under `scripts/with-softhsm.sh`).
//!
//! Reads `PORTCULLIS_TEST_PKCS11_MODULE`, `PORTCULLIS_TEST_PKCS11_TOKEN` and
//! `PORTCULLIS_TEST_PKCS11_PIN`; without them each test says SKIPPED and passes, unless
//! `CI=true`, where a missing token is a failure.

use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use portcullis_common::Secret;
use portcullis_keyring::{Pkcs11Config, Pkcs11RootKey, SealError, Sealer};

/// Login state is shared by every session of a process; the wrong-PIN test needs no other
/// test to be logged in at the same time, so the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn config(key_label: &str) -> Option<Pkcs11Config> {
    let var = |n| std::env::var(n).ok().filter(|v: &String| !v.is_empty());
    match (
        var("PORTCULLIS_TEST_PKCS11_MODULE"),
        var("PORTCULLIS_TEST_PKCS11_TOKEN"),
        var("PORTCULLIS_TEST_PKCS11_PIN"),
    ) {
        (Some(module), Some(token_label), Some(pin)) => Some(Pkcs11Config {
            module: module.into(),
            token_label,
            pin: Secret::new(pin),
            key_label: key_label.to_owned(),
        }),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PORTCULLIS_TEST_PKCS11_* not set under CI=true: run the tests under scripts/with-softhsm.sh"
            );
            eprintln!("SKIPPED: PKCS#11 env not set (run under scripts/with-softhsm.sh)");
            None
        }
    }
}

fn flip(sealed: &str, at: usize) -> String {
    let mut raw = B64.decode(sealed).unwrap();
    raw[at] ^= 1;
    B64.encode(raw)
}

#[test]
fn seal_open_round_trip_bound_to_context_and_tamper_evident() {
    let _t = turn();
    let Some(cfg) = config("test-round-trip") else {
        return;
    };
    let key = Pkcs11RootKey::open(&cfg).unwrap();
    assert_eq!(key.kind(), "pkcs11");

    let sealed = key.seal("AKIA1", b"secret").unwrap();
    assert_eq!(&key.open("AKIA1", &sealed).unwrap()[..], b"secret");
    assert!(!sealed.contains("secret"));
    let raw = B64.decode(&sealed).unwrap();
    assert_eq!(raw.len(), 12 + 6 + 16, "nonce || ciphertext || tag");
    assert_ne!(key.seal("AKIA1", b"secret").unwrap(), sealed, "fresh nonce");
    let empty = key.seal("AKIA1", b"").unwrap();
    assert!(key.open("AKIA1", &empty).unwrap().is_empty());

    assert!(matches!(key.open("AKIA2", &sealed), Err(SealError::Open)));
    for at in [0, 11, 12, 17, 18, 33] {
        assert!(
            matches!(key.open("AKIA1", &flip(&sealed, at)), Err(SealError::Open)),
            "flipping byte {at} must be detected"
        );
    }
    assert!(matches!(key.open("AKIA1", "AAAA"), Err(SealError::Open)));

    // The token still works after failed opens.
    assert_eq!(&key.open("AKIA1", &sealed).unwrap()[..], b"secret");
    assert!(!format!("{key:?}").contains(cfg.pin.expose().as_str()));
}

#[test]
fn the_key_is_found_again_and_other_labels_are_other_keys() {
    let _t = turn();
    let Some(cfg) = config("test-reopen") else {
        return;
    };
    let sealed = {
        let key = Pkcs11RootKey::open(&cfg).unwrap();
        key.seal("ctx", b"kept").unwrap()
    };
    let again = Pkcs11RootKey::open(&cfg).unwrap();
    assert_eq!(&again.open("ctx", &sealed).unwrap()[..], b"kept");

    let other = Pkcs11RootKey::open(&Pkcs11Config {
        key_label: "test-reopen-other".into(),
        ..cfg.clone()
    })
    .unwrap();
    assert!(matches!(other.open("ctx", &sealed), Err(SealError::Open)));
}

#[test]
fn many_threads_share_one_key() {
    let _t = turn();
    let Some(cfg) = config("test-threads") else {
        return;
    };
    let key = std::sync::Arc::new(Pkcs11RootKey::open(&cfg).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let key = key.clone();
            std::thread::spawn(move || {
                for j in 0..50 {
                    let ctx = format!("{i}/{j}");
                    let s = key.seal(&ctx, ctx.as_bytes()).unwrap();
                    assert_eq!(&key.open(&ctx, &s).unwrap()[..], ctx.as_bytes());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn the_key_object_is_sensitive_and_non_extractable() {
    let _t = turn();
    let Some(cfg) = config("test-attributes") else {
        return;
    };
    let key = Pkcs11RootKey::open(&cfg).unwrap();

    // Look at the object through a separate handle on the module, as an auditor would.
    let ctx = Pkcs11::new(&cfg.module).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == cfg.token_label)
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    // Already logged in through `key` (login state is per application).
    let _ = session.login(
        UserType::User,
        Some(&AuthPin::from(cfg.pin.expose().as_str())),
    );
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"test-attributes".to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1);
    let attrs = session
        .get_attributes(
            found[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::ValueLen,
            ],
        )
        .unwrap();
    for a in &attrs {
        match a {
            Attribute::Sensitive(b) => assert!(*b, "CKA_SENSITIVE"),
            Attribute::Extractable(b) => assert!(!*b, "CKA_EXTRACTABLE"),
            Attribute::AlwaysSensitive(b) => assert!(*b, "CKA_ALWAYS_SENSITIVE"),
            Attribute::NeverExtractable(b) => assert!(*b, "CKA_NEVER_EXTRACTABLE"),
            Attribute::Token(b) => assert!(*b, "CKA_TOKEN"),
            Attribute::Private(b) => assert!(*b, "CKA_PRIVATE"),
            Attribute::ValueLen(n) => assert_eq!(u64::from(*n), 32),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(attrs.len(), 7);
    // The value itself cannot be read.
    let value = session.get_attributes(found[0], &[AttributeType::Value]);
    assert!(
        !matches!(value.as_deref(), Ok([Attribute::Value(_)])),
        "CKA_VALUE must not be readable: {value:?}"
    );
    drop(key);
}

#[test]
fn a_wrong_pin_is_a_clear_error() {
    let _t = turn();
    let Some(cfg) = config("test-wrong-pin") else {
        return;
    };
    let err = Pkcs11RootKey::open(&Pkcs11Config {
        pin: Secret::new("not-the-pin".into()),
        ..cfg
    })
    .unwrap_err();
    assert!(matches!(err, SealError::BadPin { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("PIN"), "{text}");
    assert!(!text.contains("not-the-pin"), "{text}");
}

#[test]
fn an_unknown_token_lists_the_ones_present() {
    let _t = turn();
    let Some(cfg) = config("test-no-token") else {
        return;
    };
    let err = Pkcs11RootKey::open(&Pkcs11Config {
        token_label: "no-such-token".into(),
        ..cfg
    })
    .unwrap_err();
    assert!(
        matches!(&err, SealError::TokenNotFound { present, .. } if present.iter().any(|p| p == "portcullis-test")),
        "{err:?}"
    );
}
