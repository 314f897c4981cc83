//! The in-process baseline for `sign-p256`: raw aws-lc-rs ECDSA P-256 signing on one core.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};

/// Signatures per second of `EcdsaKeyPair::sign` over a 32-byte message, on the calling
/// thread (one core), for about `duration`. DER signatures, as KMS `ECDSA_SHA_256` returns.
pub fn raw_p256_signs_per_sec(duration: Duration) -> Result<f64> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .ok()
        .context("generating a P-256 key")?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
        .ok()
        .context("loading the P-256 key")?;
    let message = [0xa5_u8; 32];
    // Warm-up, then count whole batches until the time is up.
    for _ in 0..200 {
        key.sign(&rng, &message).ok().context("signing")?;
    }
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < duration {
        for _ in 0..100 {
            key.sign(&rng, &message).ok().context("signing")?;
        }
        n += 100;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
