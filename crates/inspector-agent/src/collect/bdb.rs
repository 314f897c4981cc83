//! A reader of Berkeley DB *hash* database files, enough for RPM's `/var/lib/rpm/Packages`
//! (RHEL/CentOS ≤ 8, Amazon Linux 2): every value of the database, in page order.
//!
//! The layout (Berkeley DB 4.x–5.x, hash version 8–10):
//!
//! - Page 0 is the metadata page. Its magic (`0x061561`) at offset 12 says the byte order:
//!   read little-endian it matches on a little-endian file, otherwise the file is big-endian.
//!   The page size (a power of two, 512–65536) is at offset 20, the type (8, hash metadata) at
//!   25, encryption at 24, the last page number at 32.
//! - Every page starts with a 26-byte header: page number (8), previous (12) and next (16)
//!   page, entry count (20, u16), `hf_offset` (22, u16; an overflow page's data length), and
//!   the page type (25).
//! - Hash pages (type 13, or 2 for unsorted ones) hold `entries` u16 offsets from byte 26,
//!   alternately key and data items. An item starts with its type: 1 (`H_KEYDATA`, the bytes
//!   follow up to the previous item's offset, or the page end for item 0) or 3 (`H_OFFPAGE`:
//!   3 unused bytes, the first overflow page number and the total length as u32s).
//! - Overflow pages (type 7) carry `hf_offset` bytes after the header and chain through
//!   `next`.
//!
//! Rather than walking buckets, every page is visited once in order (as RPM's own read-only
//! reader does); freed pages carry another type and are skipped. Every offset is checked,
//! overflow chains are bounded by the page count (no cycles), items by [`MAX_ITEM`] and the
//! whole result by [`MAX_VALUES`] and [`MAX_TOTAL`]: a damaged or hostile file gives an error
//! or fewer values, never a panic or unbounded memory.

use crate::error::AgentError;

/// The hash database magic number.
const HASH_MAGIC: u32 = 0x0006_1561;
/// Page types.
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
/// Item types.
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
/// Size of a page header.
const PAGE_HEADER: usize = 26;
/// Largest value returned (RPM headers are kilobytes; RPM's own limit is 256 MiB).
pub const MAX_ITEM: usize = 64 << 20;
/// Most values returned.
pub const MAX_VALUES: usize = 200_000;
/// Most bytes returned in all.
pub const MAX_TOTAL: usize = 1 << 30;

fn bad(page: Option<u32>, reason: impl Into<String>) -> AgentError {
    AgentError::BerkeleyDb {
        page,
        reason: reason.into(),
    }
}

/// A file's pages, read in its byte order.
struct Pages<'a> {
    bytes: &'a [u8],
    big_endian: bool,
    page_size: usize,
    count: u32,
}

impl<'a> Pages<'a> {
    fn u16_at(&self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    fn u32_at(&self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    fn page(&self, n: u32) -> Option<&'a [u8]> {
        if n >= self.count {
            return None;
        }
        let start = usize::try_from(n).ok()?.checked_mul(self.page_size)?;
        self.bytes.get(start..start.checked_add(self.page_size)?)
    }

    /// The value an `H_OFFPAGE` item points to: `len` bytes along the chain from `first`.
    fn overflow(&self, first: u32, len: usize) -> Result<Vec<u8>, AgentError> {
        if len > MAX_ITEM {
            return Err(bad(Some(first), format!("an item of {len} bytes")));
        }
        let mut out = Vec::with_capacity(len);
        let mut next = first;
        let mut steps = 0u32;
        while out.len() < len {
            steps += 1;
            if next == 0 || steps > self.count {
                return Err(bad(Some(next), "overflow chain ends early or loops"));
            }
            let page = self
                .page(next)
                .ok_or_else(|| bad(Some(next), "overflow page beyond the end of the file"))?;
            if page.get(25) != Some(&P_OVERFLOW) {
                return Err(bad(Some(next), "not an overflow page"));
            }
            let here = usize::from(self.u16_at(page, 22).unwrap_or(0));
            let data = page
                .get(PAGE_HEADER..PAGE_HEADER.saturating_add(here))
                .ok_or_else(|| bad(Some(next), "overflow length beyond the page"))?;
            let want = len - out.len();
            out.extend_from_slice(data.get(..want.min(data.len())).unwrap_or(data));
            next = self.u32_at(page, 16).unwrap_or(0);
            if here == 0 && out.len() < len {
                return Err(bad(Some(next), "empty overflow page"));
            }
        }
        Ok(out)
    }

    /// The data items of one hash page (keys are skipped).
    fn hash_values(
        &self,
        n: u32,
        page: &[u8],
        out: &mut Vec<Vec<u8>>,
        total: &mut usize,
    ) -> Result<(), AgentError> {
        let entries = usize::from(self.u16_at(page, 20).unwrap_or(0));
        let offset = |i: usize| -> Option<usize> {
            let at = PAGE_HEADER.checked_add(i.checked_mul(2)?)?;
            self.u16_at(page, at).map(usize::from)
        };
        // Odd indexes are data items (even ones their keys).
        for i in (1..entries).step_by(2) {
            if out.len() >= MAX_VALUES || *total >= MAX_TOTAL {
                return Ok(());
            }
            let Some(start) = offset(i) else {
                return Err(bad(Some(n), "item index beyond the page"));
            };
            let end = match i.checked_sub(1).and_then(offset) {
                Some(prev) => prev,
                None => self.page_size,
            };
            let value = match page.get(start) {
                Some(&H_KEYDATA) => page
                    .get(start.saturating_add(1)..end)
                    .ok_or_else(|| bad(Some(n), "item bounds outside the page"))?
                    .to_vec(),
                Some(&H_OFFPAGE) => {
                    let first = self
                        .u32_at(page, start.saturating_add(4))
                        .ok_or_else(|| bad(Some(n), "truncated off-page item"))?;
                    let len = self
                        .u32_at(page, start.saturating_add(8))
                        .ok_or_else(|| bad(Some(n), "truncated off-page item"))?;
                    self.overflow(first, usize::try_from(len).unwrap_or(usize::MAX))?
                }
                // Duplicates and other item kinds do not occur in RPM's database.
                _ => continue,
            };
            *total = total.saturating_add(value.len());
            out.push(value);
        }
        Ok(())
    }
}

/// Every value of a Berkeley DB hash database held in `bytes`, in page order.
pub fn hash_values(bytes: &[u8]) -> Result<Vec<Vec<u8>>, AgentError> {
    let meta = bytes
        .get(..512)
        .ok_or_else(|| bad(None, "shorter than a metadata page"))?;
    let magic_le = meta
        .get(12..16)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .ok_or_else(|| bad(Some(0), "truncated metadata page"))?;
    let big_endian = if u32::from_le_bytes(magic_le) == HASH_MAGIC {
        false
    } else if u32::from_be_bytes(magic_le) == HASH_MAGIC {
        true
    } else {
        return Err(bad(Some(0), "not a Berkeley DB hash database (magic)"));
    };
    let mut pages = Pages {
        bytes,
        big_endian,
        page_size: 512,
        count: 0,
    };
    let page_size = pages.u32_at(meta, 20).unwrap_or(0);
    if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(bad(Some(0), format!("page size {page_size}")));
    }
    if meta.get(25) != Some(&P_HASHMETA) {
        return Err(bad(Some(0), "the first page is not hash metadata"));
    }
    if meta.get(24).is_some_and(|&e| e != 0) {
        return Err(bad(Some(0), "the database is encrypted"));
    }
    pages.page_size = usize::try_from(page_size).unwrap_or(512);
    let in_file = u32::try_from(bytes.len() / pages.page_size).unwrap_or(u32::MAX);
    let last = pages.u32_at(meta, 32).unwrap_or(0);
    pages.count = in_file.min(last.saturating_add(1));
    let mut out = Vec::new();
    let mut total = 0usize;
    for n in 1..pages.count {
        let Some(page) = pages.page(n) else { break };
        if matches!(page.get(25), Some(&P_HASH) | Some(&P_HASH_UNSORTED)) {
            pages.hash_values(n, page, &mut out, &mut total)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little- or big-endian database of `page_size` with one hash page holding `values`
    /// inline (keys `0, 1, …`) and, if given, one value on a chain of overflow pages.
    pub(crate) fn build(
        page_size: usize,
        big: bool,
        values: &[&[u8]],
        overflow: Option<&[u8]>,
    ) -> Vec<u8> {
        let u16b = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut meta = vec![0u8; page_size];
        meta[12..16].copy_from_slice(&u32b(HASH_MAGIC));
        meta[16..20].copy_from_slice(&u32b(9));
        meta[20..24].copy_from_slice(&u32b(page_size as u32));
        meta[25] = P_HASHMETA;
        let mut hash = vec![0u8; page_size];
        hash[8..12].copy_from_slice(&u32b(1));
        hash[25] = P_HASH;
        let mut items: Vec<Vec<u8>> = Vec::new();
        for (k, v) in values.iter().enumerate() {
            let mut key = vec![H_KEYDATA];
            key.extend(u32b(k as u32));
            items.push(key);
            let mut val = vec![H_KEYDATA];
            val.extend_from_slice(v);
            items.push(val);
        }
        let mut chain = Vec::new();
        if let Some(big_value) = overflow {
            let mut key = vec![H_KEYDATA];
            key.extend(u32b(99));
            items.push(key);
            let mut off = vec![H_OFFPAGE, 0, 0, 0];
            off.extend(u32b(2));
            off.extend(u32b(big_value.len() as u32));
            items.push(off);
            let room = page_size - PAGE_HEADER;
            for (i, part) in big_value.chunks(room).enumerate() {
                let mut p = vec![0u8; page_size];
                let n = 2 + i as u32;
                p[8..12].copy_from_slice(&u32b(n));
                let next = if (i + 1) * room < big_value.len() {
                    n + 1
                } else {
                    0
                };
                p[16..20].copy_from_slice(&u32b(next));
                p[22..24].copy_from_slice(&u16b(part.len() as u16));
                p[25] = P_OVERFLOW;
                p[PAGE_HEADER..PAGE_HEADER + part.len()].copy_from_slice(part);
                chain.push(p);
            }
        }
        let mut end = page_size;
        for (i, item) in items.iter().enumerate() {
            end -= item.len();
            hash[end..end + item.len()].copy_from_slice(item);
            let at = PAGE_HEADER + 2 * i;
            hash[at..at + 2].copy_from_slice(&u16b(end as u16));
        }
        hash[20..22].copy_from_slice(&u16b(items.len() as u16));
        let last = 1 + chain.len() as u32;
        meta[32..36].copy_from_slice(&u32b(last));
        let mut file = meta;
        file.extend(hash);
        for p in chain {
            file.extend(p);
        }
        file
    }

    #[test]
    fn reads_inline_and_overflow_values_in_both_byte_orders() {
        let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        for page_size in [512, 4096, 65_536] {
            for big_endian in [false, true] {
                let f = build(page_size, big_endian, &[b"one", b"second"], Some(&big));
                let v = hash_values(&f).unwrap();
                assert_eq!(v.len(), 3, "{page_size} {big_endian}");
                assert_eq!(v[0], b"one");
                assert_eq!(v[1], b"second");
                assert_eq!(v[2], big);
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let f = build(512, false, &[b"x"], None);
        let err = |b: &[u8]| hash_values(b).unwrap_err().to_string();
        assert!(err(&f[..100]).contains("shorter"));
        let mut m = f.clone();
        m[12] = 0;
        assert!(err(&m).contains("magic"));
        let mut m = f.clone();
        m[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(err(&m).contains("page size"));
        let mut m = f.clone();
        m[24] = 1;
        assert!(err(&m).contains("encrypted"));
        // Overflow chains that end early or leave the file.
        let big = vec![7u8; 2000];
        let p3 = 3 * 512;
        for (next, want) in [(0u32, "ends early"), (999, "beyond the end")] {
            let mut m = build(512, false, &[], Some(&big));
            m[p3 + 16..p3 + 20].copy_from_slice(&next.to_le_bytes());
            assert!(err(&m).contains(want), "{}", err(&m));
        }
        // A chain looping back on itself still stops at the item's length.
        let mut m = build(512, false, &[], Some(&big));
        m[p3 + 16..p3 + 20].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(hash_values(&m).unwrap()[0].len(), 2000);
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..3000)) {
            let _ = hash_values(&b);
        }

        #[test]
        fn damaged_files_never_panic(at in 0usize..3072, byte in proptest::num::u8::ANY, cut in 0usize..3072, be in proptest::bool::ANY) {
            let big = vec![5u8; 1500];
            let mut f = build(512, be, &[b"a", b"bb"], Some(&big));
            if let Some(x) = f.get_mut(at) {
                *x = byte;
            }
            f.truncate(f.len().saturating_sub(cut));
            let _ = hash_values(&f);
        }
    }
}
