//! Gates: a few bytes one of which a value must hold before a regex group looks at it any further.
//!
//! Every regex set of a group with byte requirements ([`crate::needs`]) has one requirement of a byte or two; their
//! union is the group's gate. A value holding no byte of the gate meets no set's requirements, so it is ruled out
//! by an eight-bytes-at-a-time check instead of the byte-by-byte requirement scan.
//!
//! A gate also reaches back through transformations ([`lift`]): when the group's field derives from a shared
//! prefix field (`URL_DECODE_UNI` then `JS_DECODE` from `URL_DECODE_UNI`), the bytes a prefix value needs for the
//! rest of the chain to output a gate byte are the gate of the prefix's values. When no prefix value opens it, no
//! value of the field can meet the requirements, and the field is not derived at all: the `Log4JRCE_HEADER` rule
//! reads every header and needs `$` and `{`, which `JS_DECODE` only creates from `\`.

use portcullis_waf_request::Transform;
use portcullis_waf_request::transform::source_bytes;

use crate::needs::ByteMasks;

/// At most this many bytes in a gate: each costs a few instructions per eight bytes of a value, and past this the
/// requirement scan costs less.
const GATE_MAX: usize = 4;

/// Values at least this long are searched with `memchr` and its two- and three-byte forms (32 bytes a step where the
/// CPU has AVX2; a 4-byte gate in two passes); shorter ones eight bytes at a time, which costs less to start.
const SIMD_SCAN: usize = 32;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A set of one to [`GATE_MAX`] bytes, checked in a value eight bytes at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gate {
    /// Each byte repeated over a word (the unused entries repeat the first byte).
    words: [u64; GATE_MAX],
    len: usize,
}

/// The bytes a value needs to meet some set's requirements in a group whose sets have the requirement masks
/// `per_set` (over `masks`' bits): per set, the mask with the fewest bytes. `None` when a set has no requirement
/// (every value can reach it).
pub(crate) fn group_bytes(masks: &ByteMasks, per_set: &[&[u64]]) -> Option<[bool; 256]> {
    let mut union = 0u64;
    for needs in per_set {
        union |= needs.iter().copied().min_by_key(|m| m.count_ones())?;
    }
    Some(masks.bytes_of(union))
}

/// The bytes a value needs for `chain` (applied in order) to output one of `bytes`; `None` when a transformation of
/// the chain can create them from ordinary bytes.
pub(crate) fn lift(bytes: [bool; 256], chain: &[Transform]) -> Option<[bool; 256]> {
    chain
        .iter()
        .rev()
        .try_fold(bytes, |b, t| source_bytes(*t, &b))
}

impl Gate {
    /// The gate of `bytes`; `None` when there are none (nothing could open it: callers keep no gate then, as a
    /// group without requirements has none either) or more than [`GATE_MAX`].
    pub(crate) fn new(bytes: &[bool; 256]) -> Option<Gate> {
        if !enabled() {
            return None;
        }
        let list: Vec<u8> = (0..=255u8)
            .filter(|b| bytes.get(usize::from(*b)).copied().unwrap_or(false))
            .collect();
        let first = *list.first()?;
        if list.len() > GATE_MAX {
            return None;
        }
        let mut words = [LO * u64::from(first); GATE_MAX];
        for (w, b) in words.iter_mut().zip(&list) {
            *w = LO * u64::from(*b);
        }
        Some(Gate {
            words,
            len: list.len(),
        })
    }

    /// Whether `value` holds one of the gate's bytes.
    pub(crate) fn opens(&self, value: &[u8]) -> bool {
        let [a, b, c, d] = self.words;
        if value.len() >= SIMD_SCAN {
            // A word repeats its byte: the low byte is the byte.
            let [a, b, c, d] = [a as u8, b as u8, c as u8, d as u8];
            return match self.len {
                1 => memchr::memchr(a, value).is_some(),
                2 => memchr::memchr2(a, b, value).is_some(),
                3 => memchr::memchr3(a, b, c, value).is_some(),
                _ => {
                    memchr::memchr2(a, b, value).is_some() || memchr::memchr2(c, d, value).is_some()
                }
            };
        }
        match self.len {
            1 => any_of(&[a], value),
            2 => any_of(&[a, b], value),
            3 => any_of(&[a, b, c], value),
            _ => any_of(&[a, b, c, d], value),
        }
    }
}

/// Whether `value` holds a byte whose repetition over a word is in `words`.
#[inline]
fn any_of<const N: usize>(words: &[u64; N], value: &[u8]) -> bool {
    // Some byte of `w` equals the byte repeated in `p` iff some byte of `w ^ p` is zero: the classic zero-byte
    // test, exact as a yes/no answer, and so is the OR of several.
    let hit = |w: u64| {
        words.iter().fold(0, |acc, p| {
            let x = w ^ p;
            acc | (x.wrapping_sub(LO) & !x)
        }) & HI
            != 0
    };
    let word = |c: &[u8]| <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes);
    if value.len() < 8 {
        // Repeated bytes of a word: its low byte is the byte.
        return value.iter().any(|&b| words.iter().any(|p| *p as u8 == b));
    }
    let mut chunks = value.chunks_exact(8);
    if chunks.any(|c| hit(word(c))) {
        return true;
    }
    // The last eight bytes, overlapping the chunks already seen.
    !chunks.remainder().is_empty() && hit(word(value.get(value.len() - 8..).unwrap_or_default()))
}

// Gates.
optimisation_switch!(enabled);

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(bytes: &[u8]) -> [bool; 256] {
        let mut f = [false; 256];
        for b in bytes {
            f[usize::from(*b)] = true;
        }
        f
    }

    #[test]
    fn sizes_and_lifts() {
        assert!(Gate::new(&flags(b"")).is_none());
        assert!(Gate::new(&flags(b"abcde")).is_none());
        let g = Gate::new(&flags(b"${")).unwrap();
        assert!(g.opens(b"x$"));
        assert!(!g.opens(b"Mozilla/5.0 (X11; Linux x86_64)"));
        assert!(g.opens(b"Mozilla/5.0 (X11; Linux x86_64){"));
        let lifted = lift(flags(b"$"), &[Transform::UrlDecodeUni, Transform::JsDecode]).unwrap();
        assert_eq!(lifted, flags(b"$%+\\"));
        assert_eq!(
            lift(flags(b"k"), &[Transform::Lowercase, Transform::None]),
            Some(flags(b"kK"))
        );
        assert!(lift(flags(b"$"), &[Transform::Base64Decode, Transform::JsDecode]).is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The word-at-a-time and `memchr` checks (from [`SIMD_SCAN`] bytes) agree with a byte-by-byte one.
        #[test]
        fn opens_iff_a_byte_is_present(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 1..=GATE_MAX),
            value in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
            k in 0usize..80,
        ) {
            let gate = Gate::new(&flags(&bytes)).unwrap();
            proptest::prop_assert_eq!(gate.opens(&value), value.iter().any(|b| bytes.contains(b)));
            let mut v = value.clone();
            v.insert(k.min(v.len()), bytes[k % bytes.len()]);
            proptest::prop_assert!(gate.opens(&v));
        }
    }
}
