//! The SigV4 signing key and a small process-wide cache of it.
//!
//! The signing key is `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
//! "aws4_request")`: four HMACs that depend only on the secret and the credential scope, so
//! they change once a day per key, region and service. [`signing_key`] keeps the derived keys
//! of the most recent [`CAPACITY`] scopes, keyed by access key id, date, region and service.
//! An entry also holds a SHA-256 fingerprint of the secret it was derived from, so a rotated
//! or different secret for the same key id never reuses a stale key; the secret itself is
//! not kept.

use std::sync::{Arc, Mutex};

use aws_lc_rs::{digest, hmac};
use portcullis_common::constant_time_eq;

use super::{CredentialScope, SCOPE_TERMINATOR};

/// How many derived keys the cache holds; the oldest entry makes room for a new one.
pub const CAPACITY: usize = 64;

struct Entry {
    access_key_id: Box<str>,
    date: Box<str>,
    region: Box<str>,
    service: Box<str>,
    secret_fingerprint: [u8; 32],
    key: Arc<hmac::Key>,
}

struct Cache {
    entries: Vec<Entry>,
    /// The slot the next new entry replaces once the cache is full.
    next: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    entries: Vec::new(),
    next: 0,
});

fn fingerprint(secret: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(d.as_ref()) {
        *o = *b;
    }
    out
}

/// Derives the signing key with the four-step HMAC chain, without the cache.
pub(crate) fn derive(secret: &str, scope: &CredentialScope) -> hmac::Key {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = step(&k_secret, &scope.date);
    k_secret.fill(0);
    let k_region = step(k_date.as_ref(), &scope.region);
    let k_service = step(k_region.as_ref(), &scope.service);
    let k_signing = step(k_service.as_ref(), SCOPE_TERMINATOR);
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// The signing key for `access_key_id`'s `secret` in `scope`, from the cache when the same
/// key id, scope and secret were seen recently.
pub(crate) fn signing_key(
    access_key_id: &str,
    secret: &str,
    scope: &CredentialScope,
) -> Arc<hmac::Key> {
    let print = fingerprint(secret);
    let matches = |e: &Entry| {
        *e.access_key_id == *access_key_id
            && *e.date == *scope.date
            && *e.region == *scope.region
            && *e.service == *scope.service
    };
    {
        let cache = CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = cache.entries.iter().find(|e| matches(e))
            && constant_time_eq(&e.secret_fingerprint, &print)
        {
            return Arc::clone(&e.key);
        }
    }
    let key = Arc::new(derive(secret, scope));
    let entry = Entry {
        access_key_id: access_key_id.into(),
        date: scope.date.as_str().into(),
        region: scope.region.as_str().into(),
        service: scope.service.as_str().into(),
        secret_fingerprint: print,
        key: Arc::clone(&key),
    };
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(slot) = cache.entries.iter_mut().find(|e| matches(e)) {
        *slot = entry;
    } else if cache.entries.len() < CAPACITY {
        cache.entries.push(entry);
    } else {
        let next = cache.next % CAPACITY;
        if let Some(slot) = cache.entries.get_mut(next) {
            *slot = entry;
        }
        cache.next = (next + 1) % CAPACITY;
    }
    key
}

/// How many entries the cache holds (for tests).
#[cfg(test)]
pub(crate) fn cached_entries() -> usize {
    CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entries
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(date: &str) -> CredentialScope {
        CredentialScope {
            date: date.into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        }
    }

    fn tag(key: &hmac::Key) -> Vec<u8> {
        hmac::sign(key, b"x").as_ref().to_vec()
    }

    /// The derivation example of the AWS SigV4 documentation.
    #[test]
    fn derivation_matches_the_documented_example() {
        let key = derive(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            &CredentialScope {
                date: "20150830".into(),
                region: "us-east-1".into(),
                service: "iam".into(),
            },
        );
        // The documented signing key is c4afb1cc...; check it through a known HMAC of it.
        let expected_key =
            hex::decode("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
                .unwrap();
        let reference = hmac::Key::new(hmac::HMAC_SHA256, &expected_key);
        assert_eq!(tag(&key), tag(&reference));
    }

    #[test]
    fn cache_reuses_per_scope_and_never_across_secrets() {
        let a = signing_key("AKIDCACHETEST1", "secret-one", &scope("20261129"));
        let again = signing_key("AKIDCACHETEST1", "secret-one", &scope("20261129"));
        assert!(Arc::ptr_eq(&a, &again));
        // Same key id and scope, a rotated secret: a fresh derivation, not the cached key.
        let rotated = signing_key("AKIDCACHETEST1", "secret-two", &scope("20261129"));
        assert!(!Arc::ptr_eq(&a, &rotated));
        assert_eq!(
            tag(&rotated),
            tag(&derive("secret-two", &scope("20261129")))
        );
        // Another day is another key.
        let tomorrow = signing_key("AKIDCACHETEST1", "secret-two", &scope("20261130"));
        assert_ne!(tag(&rotated), tag(&tomorrow));
    }

    #[test]
    fn cache_stays_bounded() {
        for i in 0..(CAPACITY * 3) {
            let k = signing_key(&format!("AKIDBOUND{i}"), "s", &scope("20261129"));
            assert_eq!(tag(&k), tag(&derive("s", &scope("20261129"))));
        }
        assert!(cached_entries() <= CAPACITY);
    }
}
