//! The silent challenge's proof of work: a server-signed, time-limited puzzle and its check.
//!
//! The puzzle (envelope purpose "pow") carries a random nonce, the difficulty in bits, the issue time, the host,
//! the client binding and the original URL. The client must find a decimal counter `c` such that
//! `SHA-256(nonce ‖ c)` — over the ASCII of the base64url nonce followed by the ASCII decimal counter — starts
//! with `bits` zero bits. Nothing is stored server-side: a solved puzzle can be submitted again, by the same
//! client on the same host only, until it expires (`puzzle_ttl_s`, default 300 s), which bounds replay.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ChallengeError;
use crate::keys::{Entropy, Purpose, TokenKeys};
use crate::token::ClientBinding;
use crate::wire::{Reader, Writer, open, seal};

/// Highest difficulty accepted in configuration (about 2^28 hashes on average: far too slow for browsers).
pub const MAX_DIFFICULTY_BITS: u8 = 28;

/// A fresh puzzle, ready to embed in the challenge page.
#[derive(Clone, Debug)]
pub struct PowPuzzle {
    /// The signed puzzle, sent back verbatim with the answer.
    pub signed: String,
    /// The nonce as hashed (base64url).
    pub nonce: String,
    /// Required leading zero bits.
    pub bits: u8,
}

/// What a verified puzzle tells: where the client wanted to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claims {
    pub url: String,
}

/// Fields common to both puzzle kinds, checked the same way.
pub(crate) struct Common<'a> {
    pub issued_ms: u64,
    pub binding: [u8; 16],
    pub host: &'a str,
    pub url: &'a str,
}

/// Expiry, host and client checks shared by PoW and CAPTCHA puzzles.
pub(crate) fn check_common(
    c: &Common<'_>,
    host: &str,
    client: &ClientBinding,
    now_ms: u64,
    ttl_ms: u64,
) -> Result<(), ChallengeError> {
    if c.issued_ms > now_ms.saturating_add(60_000) || now_ms.saturating_sub(c.issued_ms) > ttl_ms {
        return Err(ChallengeError::Expired);
    }
    if c.host != host {
        return Err(ChallengeError::WrongHost);
    }
    if &c.binding != client.as_bytes() {
        return Err(ChallengeError::WrongClient);
    }
    Ok(())
}

/// Signs a new puzzle for `host` (normalized) and `client`, returning to `url`.
pub(crate) fn issue(
    keys: &TokenKeys,
    entropy: &dyn Entropy,
    host: &str,
    client: &ClientBinding,
    url: &str,
    bits: u8,
    now_ms: u64,
) -> PowPuzzle {
    let mut nonce = [0u8; 16];
    entropy.fill(&mut nonce);
    let mut w = Writer::default();
    w.bytes(&nonce)
        .u64(now_ms)
        .u8(bits)
        .bytes(client.as_bytes())
        .str(host)
        .str(url);
    let signed = keys
        .current()
        .map(|k| seal(k, Purpose::Pow, &w.0))
        .unwrap_or_default();
    PowPuzzle {
        signed,
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        bits,
    }
}

/// Checks a submitted puzzle and counter: signature, expiry, host, client, then the work.
pub(crate) fn check(
    keys: &TokenKeys,
    signed: &str,
    counter: u64,
    host: &str,
    client: &ClientBinding,
    now_ms: u64,
    ttl_ms: u64,
) -> Result<Claims, ChallengeError> {
    let (payload, _) = open(keys, Purpose::Pow, signed).ok_or(ChallengeError::BadSignature)?;
    let mut r = Reader::new(&payload);
    let parsed = (|| {
        let nonce = r.array::<16>()?;
        let issued_ms = r.u64()?;
        let bits = r.u8()?;
        let binding = r.array::<16>()?;
        let host = r.str()?;
        let url = r.str()?;
        r.end()?;
        Some((
            nonce,
            bits,
            Common {
                issued_ms,
                binding,
                host,
                url,
            },
        ))
    })();
    let (nonce, bits, common) = parsed.ok_or(ChallengeError::BadSignature)?;
    check_common(&common, host, client, now_ms, ttl_ms)?;
    if leading_zero_bits(&hash(&URL_SAFE_NO_PAD.encode(nonce), counter)) < u32::from(bits) {
        return Err(ChallengeError::BadProof);
    }
    Ok(Claims {
        url: common.url.to_owned(),
    })
}

/// `SHA-256(nonce ‖ decimal(counter))`.
pub fn hash(nonce: &str, counter: u64) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(nonce.as_bytes());
    ctx.update(counter.to_string().as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Number of leading zero bits of a hash.
pub fn leading_zero_bits(h: &[u8]) -> u32 {
    let mut n = 0;
    for b in h {
        n += b.leading_zeros();
        if *b != 0 {
            break;
        }
    }
    n
}

/// Finds the smallest counter that solves `nonce` at `bits` (what the page's script computes; for tests and
/// non-browser clients).
pub fn solve(nonce: &str, bits: u8) -> u64 {
    (0..u64::MAX)
        .find(|&c| leading_zero_bits(&hash(nonce, c)) >= u32::from(bits))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SystemEntropy, TokenKey};

    const NOW: u64 = 1_800_000_000_000;

    fn setup() -> (TokenKeys, ClientBinding) {
        (
            TokenKeys::new(vec![TokenKey::generate()]).unwrap(),
            ClientBinding::new("198.51.100.1".parse().unwrap(), b"ua"),
        )
    }

    #[test]
    fn zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x10, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn solved_puzzle_accepted_wrong_counter_refused() {
        let (keys, client) = setup();
        let p = issue(
            &keys,
            &SystemEntropy,
            "a.example",
            &client,
            "/x?y=1",
            12,
            NOW,
        );
        let c = solve(&p.nonce, p.bits);
        assert!(leading_zero_bits(&hash(&p.nonce, c)) >= 12);
        let ok = check(
            &keys,
            &p.signed,
            c,
            "a.example",
            &client,
            NOW + 1000,
            300_000,
        )
        .unwrap();
        assert_eq!(ok.url, "/x?y=1");
        // the first counter that does not solve it
        let bad = (0..)
            .find(|&c| leading_zero_bits(&hash(&p.nonce, c)) < 12)
            .unwrap();
        assert_eq!(
            check(&keys, &p.signed, bad, "a.example", &client, NOW, 300_000),
            Err(ChallengeError::BadProof)
        );
    }

    #[test]
    fn expiry_host_client_signature() {
        let (keys, client) = setup();
        let p = issue(&keys, &SystemEntropy, "a.example", &client, "/", 4, NOW);
        let c = solve(&p.nonce, 4);
        let run = |s: &str, host: &str, cl: &ClientBinding, now: u64| {
            check(&keys, s, c, host, cl, now, 300_000)
        };
        assert_eq!(
            run(&p.signed, "a.example", &client, NOW + 300_001),
            Err(ChallengeError::Expired)
        );
        assert_eq!(
            run(&p.signed, "a.example", &client, NOW - 120_000),
            Err(ChallengeError::Expired)
        );
        assert_eq!(
            run(&p.signed, "b.example", &client, NOW),
            Err(ChallengeError::WrongHost)
        );
        let other = ClientBinding::new("198.51.101.1".parse().unwrap(), b"ua");
        assert_eq!(
            run(&p.signed, "a.example", &other, NOW),
            Err(ChallengeError::WrongClient)
        );
        let other_keys = TokenKeys::new(vec![TokenKey::generate()]).unwrap();
        assert_eq!(
            check(
                &other_keys,
                &p.signed,
                c,
                "a.example",
                &client,
                NOW,
                300_000
            ),
            Err(ChallengeError::BadSignature)
        );
    }
}
