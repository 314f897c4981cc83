//! The encryption context: non-secret key/value pairs bound to a symmetric ciphertext
//! as additional authenticated data.
//!
//! Decrypt must present exactly the same pairs (case-sensitive), in any order. Both
//! properties come from the canonical encoding: pairs are taken in key order (a
//! `BTreeMap` sorts by UTF-8 bytes), and every string is length-prefixed so no two
//! different maps share an encoding.

use std::collections::BTreeMap;

/// An encryption context. The map type makes pair order irrelevant by construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionContext(pub BTreeMap<String, String>);

impl EncryptionContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The unambiguous byte encoding bound as AAD:
    /// `u32 pair count`, then per pair in key order
    /// `u32 key length | key UTF-8 | u32 value length | value UTF-8` (all big-endian).
    /// The empty context encodes as four zero bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let size: usize = 4 + self
            .0
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        push_len(&mut out, self.0.len());
        for (k, v) in &self.0 {
            push_len(&mut out, k.len());
            out.extend_from_slice(k.as_bytes());
            push_len(&mut out, v.len());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }
}

/// Lengths beyond `u32::MAX` cannot occur for request-bounded input; they saturate so the
/// encoding stays total (and such a context would simply never match on decrypt).
fn push_len(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

impl From<BTreeMap<String, String>> for EncryptionContext {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EncryptionContext {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_independent() {
        let a: EncryptionContext = [("purpose", "test"), ("app", "x")].into_iter().collect();
        let b: EncryptionContext = [("app", "x"), ("purpose", "test")].into_iter().collect();
        assert_eq!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn case_sensitive() {
        let a: EncryptionContext = [("App", "x")].into_iter().collect();
        let b: EncryptionContext = [("app", "x")].into_iter().collect();
        let c: EncryptionContext = [("app", "X")].into_iter().collect();
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        assert_ne!(b.canonical_bytes(), c.canonical_bytes());
    }

    #[test]
    fn boundaries_are_unambiguous() {
        // Naive concatenation would make these equal ("ab" + "c" vs "a" + "bc").
        let a: EncryptionContext = [("ab", "c")].into_iter().collect();
        let b: EncryptionContext = [("a", "bc")].into_iter().collect();
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        let one: EncryptionContext = [("k", "v1k2v2")].into_iter().collect();
        let two: EncryptionContext = [("k", "v1"), ("k2", "v2")].into_iter().collect();
        assert_ne!(one.canonical_bytes(), two.canonical_bytes());
    }

    #[test]
    fn exact_encoding() {
        assert_eq!(EncryptionContext::new().canonical_bytes(), vec![0, 0, 0, 0]);
        let c: EncryptionContext = [("k", "é")].into_iter().collect();
        assert_eq!(
            c.canonical_bytes(),
            vec![0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 2, 0xC3, 0xA9]
        );
    }
}
