//! [`Fingerprint`]: the short token-type string that names a SQL injection shape.

use core::fmt;

use crate::Error;

/// A libinjection SQLi fingerprint such as `s&1c` or `1UEnk`: one ASCII character per folded token
/// (at most five in practice; storage allows [`Fingerprint::MAX_LEN`]).
///
/// This is the value CRS rule 942100 captures into `TX.0`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint {
    bytes: [u8; Fingerprint::MAX_LEN],
    len: u8,
}

impl Fingerprint {
    /// Largest number of bytes a fingerprint can hold.
    pub const MAX_LEN: usize = 8;

    /// Builds a fingerprint from text, e.g. to compare against or to configure exclusions.
    ///
    /// # Errors
    /// [`Error::InvalidFingerprint`] when `text` is empty, longer than [`Self::MAX_LEN`] bytes or not
    /// printable ASCII.
    pub fn new(text: &str) -> Result<Self, Error> {
        Self::from_type_chars(text.as_bytes()).ok_or_else(|| Error::InvalidFingerprint {
            text: text.to_owned(),
        })
    }

    /// Builds a fingerprint from token-type characters; `None` when empty, too long or not printable ASCII.
    pub(crate) fn from_type_chars(chars: &[u8]) -> Option<Self> {
        if chars.is_empty()
            || chars.len() > Self::MAX_LEN
            || !chars.iter().all(|b| b.is_ascii_graphic())
        {
            return None;
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        for (dst, src) in bytes.iter_mut().zip(chars) {
            *dst = *src;
        }
        Some(Self {
            bytes,
            len: u8::try_from(chars.len()).ok()?,
        })
    }

    /// The fingerprint as text, e.g. `"s&1c"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // Construction admits printable ASCII only, so this never falls back.
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Number of folded tokens the fingerprint describes.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always `false`: a fingerprint has at least one token. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({:?})", self.as_str())
    }
}

impl PartialEq<str> for Fingerprint {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Fingerprint {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl core::str::FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_fingerprints() {
        let fp = Fingerprint::new("s&1c").unwrap();
        assert_eq!(fp.as_str(), "s&1c");
        assert_eq!(fp.to_string(), "s&1c");
        assert_eq!(fp.len(), 4);
        assert_eq!(fp, "s&1c");
    }

    #[test]
    fn rejects_bad_text() {
        assert!(Fingerprint::new("").is_err());
        assert!(Fingerprint::new("123456789").is_err());
        assert!(Fingerprint::new("s c").is_err());
        assert!(Fingerprint::new("sé").is_err());
    }

    proptest::proptest! {
        #[test]
        fn round_trips_any_printable_ascii(s in "[!-~]{1,8}") {
            let fp = Fingerprint::new(&s).unwrap();
            proptest::prop_assert_eq!(fp.as_str(), s.as_str());
        }
    }
}
