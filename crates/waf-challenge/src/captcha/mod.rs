//! The CAPTCHA: a server-drawn picture of 4–8 characters and a signed, time-limited puzzle that holds only an
//! HMAC of the normalized answer.
//!
//! The puzzle (envelope purpose "captcha") carries a nonce, the issue time, `HMAC(key, "answer" ‖ nonce ‖
//! answer)`, the client binding, the host and the original URL; nothing is stored server-side. Offline guessing
//! is impossible without the key; online guessing is bounded by the puzzle lifetime and the proxy's rate
//! limits, and a solved puzzle can be replayed only by the same client, on the same host, until it expires.
//!
//! Out of scope: an accessible (audio) alternative, and resistance to machine-learning OCR. This is a deterrent
//! for generic bots, as AWS's own puzzles are.

mod glyphs;
mod svg;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::ChallengeError;
use crate::keys::{Entropy, Purpose, TokenKeys};
use crate::pow::{Claims, Common, check_common};
use crate::token::ClientBinding;
use crate::wire::{Reader, Writer, open, seal};

/// Longest answer looked at; longer input is wrong without hashing it.
const MAX_ANSWER_LEN: usize = 64;

/// A drawn puzzle: the answer and its picture.
pub(crate) struct Drawn {
    /// Upper-case answer.
    pub answer: String,
    /// The inline SVG.
    pub svg: String,
}

/// Draws `len` random characters from a 32-byte seed (deterministic for a seed).
pub(crate) fn draw(seed: [u8; 32], len: usize) -> Drawn {
    let mut rng = StdRng::from_seed(seed);
    let idx: Vec<usize> = (0..len)
        .map(|_| rng.random_range(0..glyphs::ALPHABET.len()))
        .collect();
    let answer = idx
        .iter()
        .filter_map(|&i| glyphs::ALPHABET.get(i).map(|&b| char::from(b)))
        .collect();
    let svg = svg::render(&idx, &mut rng);
    Drawn { answer, svg }
}

/// Trims, drops inner whitespace and upper-cases an answer; `None` when it is absurdly long.
pub(crate) fn normalize(answer: &str) -> Option<String> {
    if answer.len() > MAX_ANSWER_LEN {
        return None;
    }
    Some(
        answer
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    )
}

/// A new CAPTCHA ready for the page.
pub(crate) struct Issued {
    /// The signed puzzle for the form's hidden field.
    pub signed: String,
    /// The picture.
    pub svg: String,
    /// The answer (tests read it; never sent to the client).
    #[cfg_attr(not(test), allow(dead_code))]
    pub answer: String,
}

/// Draws and signs a new CAPTCHA.
pub(crate) fn issue(
    keys: &TokenKeys,
    entropy: &dyn Entropy,
    host: &str,
    client: &ClientBinding,
    url: &str,
    len: usize,
    now_ms: u64,
) -> Issued {
    let mut seed = [0u8; 32];
    entropy.fill(&mut seed);
    let mut nonce = [0u8; 16];
    entropy.fill(&mut nonce);
    let drawn = draw(seed, len);
    let Some(key) = keys.current() else {
        return Issued {
            signed: String::new(),
            svg: drawn.svg,
            answer: drawn.answer,
        };
    };
    let answer_mac = key.sign(Purpose::Answer, &[&nonce, drawn.answer.as_bytes()]);
    let mut w = Writer::default();
    w.bytes(&nonce)
        .u64(now_ms)
        .bytes(&answer_mac)
        .bytes(client.as_bytes())
        .str(host)
        .str(url);
    Issued {
        signed: seal(key, Purpose::Captcha, &w.0),
        svg: drawn.svg,
        answer: drawn.answer,
    }
}

struct Parsed<'a> {
    nonce: [u8; 16],
    answer_mac: [u8; 32],
    common: Common<'a>,
}

fn parse(payload: &[u8]) -> Option<Parsed<'_>> {
    let mut r = Reader::new(payload);
    let nonce = r.array::<16>()?;
    let issued_ms = r.u64()?;
    let answer_mac = r.array::<32>()?;
    let binding = r.array::<16>()?;
    let host = r.str()?;
    let url = r.str()?;
    r.end()?;
    Some(Parsed {
        nonce,
        answer_mac,
        common: Common {
            issued_ms,
            binding,
            host,
            url,
        },
    })
}

/// The original URL of a correctly signed puzzle (to show a new puzzle for the same page after a failure).
pub(crate) fn signed_url(keys: &TokenKeys, signed: &str) -> Option<String> {
    let (payload, _) = open(keys, Purpose::Captcha, signed)?;
    parse(&payload).map(|p| p.common.url.to_owned())
}

/// Checks a submitted answer: signature, expiry, host, client, then the answer (constant-time MAC compare).
pub(crate) fn check(
    keys: &TokenKeys,
    signed: &str,
    answer: &str,
    host: &str,
    client: &ClientBinding,
    now_ms: u64,
    ttl_ms: u64,
) -> Result<Claims, ChallengeError> {
    let (payload, key) =
        open(keys, Purpose::Captcha, signed).ok_or(ChallengeError::BadSignature)?;
    let p = parse(&payload).ok_or(ChallengeError::BadSignature)?;
    check_common(&p.common, host, client, now_ms, ttl_ms)?;
    let answer = normalize(answer).ok_or(ChallengeError::WrongAnswer)?;
    if !key.verify(
        Purpose::Answer,
        &[&p.nonce, answer.as_bytes()],
        &p.answer_mac,
    ) {
        return Err(ChallengeError::WrongAnswer);
    }
    Ok(Claims {
        url: p.common.url.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SystemEntropy, TokenKey};

    const NOW: u64 = 1_800_000_000_000;

    fn setup() -> (TokenKeys, ClientBinding) {
        (
            TokenKeys::new(vec![TokenKey::generate()]).unwrap(),
            ClientBinding::new("192.0.2.10".parse().unwrap(), b"Firefox"),
        )
    }

    #[test]
    fn deterministic_per_seed_and_varied() {
        let a = draw([1; 32], 6);
        let b = draw([1; 32], 6);
        assert_eq!(a.answer, b.answer);
        assert_eq!(a.svg, b.svg);
        assert_eq!(a.answer.len(), 6);
        let answers: std::collections::HashSet<String> =
            (0..50u8).map(|i| draw([i; 32], 6).answer).collect();
        assert!(answers.len() > 45);
    }

    #[test]
    fn svg_never_spells_the_answer() {
        for i in 0..200u8 {
            let mut seed = [i; 32];
            seed[0] = 0xA5;
            let d = draw(seed, 6);
            let svg = d.svg.to_ascii_uppercase();
            assert!(!svg.contains(&d.answer), "seed {i}: {}", d.answer);
            assert!(
                !d.svg.contains("<text") && !d.svg.contains("<title") && !d.svg.contains("<desc")
            );
            assert!(d.svg.starts_with("<svg") && d.svg.ends_with("</svg>"));
            // glyph strokes are all there: at least one polyline per character plus decoys
            assert!(d.svg.matches("<polyline").count() >= 6 + 3);
            // no answer character stands alone between markup delimiters
            for c in d.answer.chars() {
                for delim in ['>', '"', ' ', ','] {
                    assert!(!svg.contains(&format!("{delim}{c}<")));
                }
            }
        }
    }

    #[test]
    fn right_answer_any_case_wrong_refused() {
        let (keys, client) = setup();
        let p = issue(&keys, &SystemEntropy, "h.example", &client, "/cart", 6, NOW);
        let check_at = |a: &str| {
            check(
                &keys,
                &p.signed,
                a,
                "h.example",
                &client,
                NOW + 5000,
                600_000,
            )
        };
        assert_eq!(check_at(&p.answer).unwrap().url, "/cart");
        let spaced = format!("  {} ", p.answer.to_lowercase());
        assert!(check_at(&spaced).is_ok());
        let mut wrong = p.answer.clone().into_bytes();
        wrong[0] = if wrong[0] == b'A' { b'C' } else { b'A' };
        assert_eq!(
            check_at(std::str::from_utf8(&wrong).unwrap()),
            Err(ChallengeError::WrongAnswer)
        );
        assert_eq!(check_at(""), Err(ChallengeError::WrongAnswer));
        assert_eq!(
            check_at(&"A".repeat(10_000)),
            Err(ChallengeError::WrongAnswer)
        );
        assert_eq!(
            check(
                &keys,
                &p.signed,
                &p.answer,
                "h.example",
                &client,
                NOW + 600_001,
                600_000
            ),
            Err(ChallengeError::Expired)
        );
        assert_eq!(
            check(
                &keys,
                &p.signed,
                &p.answer,
                "x.example",
                &client,
                NOW,
                600_000
            ),
            Err(ChallengeError::WrongHost)
        );
        assert_eq!(signed_url(&keys, &p.signed).as_deref(), Some("/cart"));
    }
}
