//! Byte searches tuned for the short values a WAF mostly sees: eight bytes at a time (SWAR) below 24 bytes,
//! where `memchr`'s SIMD set-up costs more than the search; `memchr` above.

/// Inputs at least this long go to `memchr`.
const SHORT: usize = 24;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `x` is zero (exact: the classic `(x - 0x01..) & !x & 0x80..` test).
fn has_zero_byte(x: u64) -> bool {
    x.wrapping_sub(LO) & !x & HI != 0
}

/// Whether some byte of `x` equals `b`.
fn has_byte(x: u64, b: u8) -> bool {
    has_zero_byte(x ^ (LO * u64::from(b)))
}

/// Whether `input` contains `a` or `b`.
pub(crate) fn contains2(input: &[u8], a: u8, b: u8) -> bool {
    if input.len() >= SHORT {
        return memchr::memchr2(a, b, input).is_some();
    }
    let mut chunks = input.chunks_exact(8);
    for chunk in &mut chunks {
        let x = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        if has_byte(x, a) || has_byte(x, b) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&c| c == a || c == b)
}

/// Whether `input` contains `a`.
pub(crate) fn contains(input: &[u8], a: u8) -> bool {
    contains2(input, a, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bytes_anywhere_and_nothing_else() {
        let mut v = vec![b'a'; 80];
        assert!(!contains2(&v, b'\'', b'"'));
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 80] {
            for at in 0..len {
                for q in [b'\'', b'"', 0, 0xff, 0x80] {
                    v[at] = q;
                    assert!(contains(&v[..len], q), "{len} {at} {q}");
                    assert!(contains2(&v[..len], b'z', q));
                    assert!(contains2(&v[..len], q, b'z'));
                    // Neighbours of the byte sought (±1, high bit flipped) are no hit.
                    for other in [q.wrapping_add(1), q.wrapping_sub(1), q ^ 0x80] {
                        v[at] = other;
                        assert!(!contains(&v[..len], q) || other == b'a');
                    }
                    v[at] = b'a';
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn equals_a_plain_search(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100), a: u8, b: u8) {
            proptest::prop_assert_eq!(contains2(&input, a, b), input.iter().any(|&c| c == a || c == b));
        }
    }
}
