//! The signed envelope shared by tokens and puzzles, and a bounds-checked binary reader/writer.
//!
//! An envelope is `v1.<payload>.<mac>`, both parts unpadded base64url (cookie- and form-safe). The MAC is taken
//! over the purpose label and the ASCII text `v1.<payload>`, so changing any character of the value, including
//! the version, breaks it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::{Purpose, TokenKey, TokenKeys};

/// The only envelope version.
const VERSION: &str = "v1";
/// Longest envelope accepted before any decoding (bounds work on hostile input).
pub(crate) const MAX_ENVELOPE_LEN: usize = 8192;

/// Signs `payload` with `key` into an envelope.
pub(crate) fn seal(key: &TokenKey, purpose: Purpose, payload: &[u8]) -> String {
    let signed = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(payload));
    let mac = key.sign(purpose, &[signed.as_bytes()]);
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// Checks an envelope's MAC under any of `keys`; returns the payload and the key that signed it.
pub(crate) fn open<'k>(
    keys: &'k TokenKeys,
    purpose: Purpose,
    value: &str,
) -> Option<(Vec<u8>, &'k TokenKey)> {
    if value.len() > MAX_ENVELOPE_LEN {
        return None;
    }
    let (signed, mac_b64) = value.rsplit_once('.')?;
    let (version, payload_b64) = signed.split_once('.')?;
    if version != VERSION {
        return None;
    }
    let mac = URL_SAFE_NO_PAD.decode(mac_b64).ok()?;
    let key = keys.find(purpose, &[signed.as_bytes()], &mac)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    Some((payload, key))
}

/// Appends fixed-width and length-prefixed fields.
#[derive(Default)]
pub(crate) struct Writer(pub Vec<u8>);

impl Writer {
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A string of at most 65,535 bytes (longer ones are cut at a character boundary; callers bound them first).
    pub fn str(&mut self, s: &str) -> &mut Self {
        let mut end = s.len().min(usize::from(u16::MAX));
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let s = s.get(..end).unwrap_or_default();
        let len = u16::try_from(s.len()).unwrap_or(0);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
}

/// Reads what [`Writer`] wrote; every read is bounds-checked and returns `None` past the end.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Reader(b)
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(u8::from_be_bytes(self.array::<1>()?))
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array::<8>()?))
    }
    pub fn str(&mut self) -> Option<&'a str> {
        let len = u16::from_be_bytes(self.array::<2>()?);
        std::str::from_utf8(self.take(usize::from(len))?).ok()
    }
    /// `Some(())` when everything was read.
    pub fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_purpose() {
        let keys = TokenKeys::new(vec![TokenKey::generate()]).unwrap();
        let v = seal(keys.current().unwrap(), Purpose::Pow, b"hello");
        assert!(v.starts_with("v1."));
        assert_eq!(open(&keys, Purpose::Pow, &v).unwrap().0, b"hello");
        assert!(open(&keys, Purpose::Token, &v).is_none());
        assert!(open(&keys, Purpose::Pow, &v.replacen("v1", "v2", 1)).is_none());
    }

    #[test]
    fn reader_bounds() {
        let mut w = Writer::default();
        w.u8(7).u64(42).str("héllo");
        let mut r = Reader::new(&w.0);
        assert_eq!(r.u8(), Some(7));
        assert_eq!(r.u64(), Some(42));
        assert_eq!(r.str(), Some("héllo"));
        assert_eq!(r.end(), Some(()));
        assert_eq!(r.u8(), None);
        assert_eq!(Reader::new(&[0, 9, 1]).str(), None);
    }
}
