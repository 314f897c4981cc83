//! The validation operators: `@validateByteRange`, `@validateUrlEncoding`, `@validateUtf8Encoding`. Each
//! "matches" when the input is *invalid*.

use super::OperatorError;

/// The allowed bytes of `@validateByteRange 1-255` / `@validateByteRange 9,10,13,32-126`.
#[derive(Debug, Clone)]
pub(crate) struct ByteRanges {
    allowed: [bool; 256],
}

impl ByteRanges {
    /// Parses a comma-separated list of bytes and `lo-hi` ranges (decimal, 0–255).
    pub(crate) fn parse(arg: &str) -> Result<Self, OperatorError> {
        let bad = |reason: String| OperatorError::InvalidArgument {
            name: "validateByteRange".into(),
            reason,
        };
        let mut allowed = [false; 256];
        for part in arg.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let lo: u8 = lo
                .parse()
                .map_err(|_| bad(format!("{part:?} is not a byte or byte range")))?;
            let hi: u8 = hi
                .parse()
                .map_err(|_| bad(format!("{part:?} is not a byte or byte range")))?;
            if lo > hi {
                return Err(bad(format!("range {part:?} is reversed")));
            }
            for b in lo..=hi {
                if let Some(slot) = allowed.get_mut(usize::from(b)) {
                    *slot = true;
                }
            }
        }
        Ok(Self { allowed })
    }

    /// True when some byte of `input` is outside the allowed set.
    pub(crate) fn evaluate(&self, input: &[u8]) -> bool {
        input
            .iter()
            .any(|&b| !self.allowed.get(usize::from(b)).copied().unwrap_or(false))
    }
}

/// True when `input` has a `%` not followed by two hexadecimal digits.
pub(crate) fn invalid_url_encoding(input: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let ok = input.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && input.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

/// True when `input` is not well-formed UTF-8 (truncated or invalid sequences, overlong forms, code points above
/// U+10FFFF or surrogates).
pub(crate) fn invalid_utf8(input: &[u8]) -> bool {
    std::str::from_utf8(input).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        let r = ByteRanges::parse("38,44-46,48-58,61,65-90,95,97-122")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!r.evaluate(b"abc_XYZ-09"));
        assert!(r.evaluate(b"a b"));
        assert!(r.evaluate(b"\x00"));
        let full = ByteRanges::parse("1-255").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(full.evaluate(b"a\x00"));
        assert!(!full.evaluate(b"\xff"));
        assert!(ByteRanges::parse("1-x").is_err());
        assert!(ByteRanges::parse("9-3").is_err());
        assert!(ByteRanges::parse("256").is_err());
    }

    #[test]
    fn url_encoding() {
        assert!(!invalid_url_encoding(b"a%20b%2F"));
        assert!(invalid_url_encoding(b"a%2"));
        assert!(invalid_url_encoding(b"%zz"));
        assert!(invalid_url_encoding(b"%"));
    }

    #[test]
    fn utf8() {
        assert!(!invalid_utf8("héllo".as_bytes()));
        assert!(invalid_utf8(b"\xc0\xaf"));
        assert!(invalid_utf8(b"\xe2\x82"));
        assert!(invalid_utf8(b"\xff"));
    }
}
