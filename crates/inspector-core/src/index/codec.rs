//! Little-endian byte writer and bounds-checked reader for the index file format.
//!
//! Strings and blobs are a `u32` length followed by the bytes. The reader never panics: every
//! read past the end, or a string that is not UTF-8, is an [`Error::InvalidIndex`].

use crate::Error;

/// Appends primitives to a byte vector.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

fn too_long(what: &str) -> Error {
    Error::InvalidIndex(format!("{what} longer than 4 GiB"))
}

impl Writer {
    /// Writes a `u8`.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Writes a `u32` (little endian).
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a length as `u32`.
    pub fn len(&mut self, n: usize) -> Result<(), Error> {
        self.u32(u32::try_from(n).map_err(|_| too_long("list"))?);
        Ok(())
    }

    /// Writes a length-prefixed blob.
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Error> {
        self.len(b.len())?;
        self.buf.extend_from_slice(b);
        Ok(())
    }

    /// Writes a length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) -> Result<(), Error> {
        self.bytes(s.as_bytes())
    }

    /// Writes an optional string (`0` = none, `1` + string = some).
    pub fn opt_str(&mut self, s: Option<&str>) -> Result<(), Error> {
        match s {
            None => {
                self.u8(0);
                Ok(())
            }
            Some(s) => {
                self.u8(1);
                self.str(s)
            }
        }
    }
}

/// Reads primitives from a byte slice, failing cleanly on truncation.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

fn truncated() -> Error {
    Error::InvalidIndex("truncated record".to_string())
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.buf.len() {
            return Err(truncated());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a `u8`.
    pub fn u8(&mut self) -> Result<u8, Error> {
        let b = self.take(1)?;
        b.first().copied().ok_or_else(truncated)
    }

    /// Reads a `u32` (little endian).
    pub fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        let arr: [u8; 4] = b.try_into().map_err(|_| truncated())?;
        Ok(u32::from_le_bytes(arr))
    }

    /// Reads a `u64` (little endian).
    pub fn u64(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        let arr: [u8; 8] = b.try_into().map_err(|_| truncated())?;
        Ok(u64::from_le_bytes(arr))
    }

    /// Reads a length; fails when it exceeds the remaining bytes divided by `min_item`
    /// (so a corrupted count cannot trigger a huge allocation).
    pub fn len(&mut self, min_item: usize) -> Result<usize, Error> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.buf.len() {
            return Err(truncated());
        }
        Ok(n)
    }

    /// Reads a length-prefixed blob.
    pub fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let n = self.len(1)?;
        self.take(n)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, Error> {
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| Error::InvalidIndex("string is not UTF-8".to_string()))
    }

    /// Reads an optional string.
    pub fn opt_str(&mut self) -> Result<Option<&'a str>, Error> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            t => Err(Error::InvalidIndex(format!("bad option tag {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut w = Writer::default();
        w.u32(7);
        w.str("héllo").unwrap();
        w.opt_str(None).unwrap();
        w.opt_str(Some("x")).unwrap();
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.str().unwrap(), "héllo");
        assert_eq!(r.opt_str().unwrap(), None);
        assert_eq!(r.opt_str().unwrap(), Some("x"));
        assert!(r.is_empty());
        for cut in 0..w.buf.len() {
            let mut r = Reader::new(&w.buf[..cut]);
            let ok = r
                .u32()
                .and_then(|_| r.str())
                .and_then(|_| r.opt_str())
                .and_then(|_| r.opt_str());
            assert!(ok.is_err(), "cut {cut}");
        }
    }

    #[test]
    fn huge_length_is_rejected() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        assert!(matches!(r.bytes(), Err(Error::InvalidIndex(_))));
    }
}
