//! Sans-I/O readers for advisory archives: tar, gzip-compressed tar and zip (stored or deflate).
//!
//! Only OSV documents are returned (`.json`, `.yaml`, `.yml` entries; entries under a hidden
//! path component such as `.git/` are skipped). Every size is bounded: an entry above
//! [`MAX_DOCUMENT_BYTES`] is an error, and the total decompressed size is capped at
//! [`MAX_ARCHIVE_BYTES`]. Zip64 and encrypted zip entries are rejected with a typed error.

use std::io::Read;

use crate::Error;
use crate::advisory_db::MAX_DOCUMENT_BYTES;

/// Largest total decompressed size accepted from one archive.
pub const MAX_ARCHIVE_BYTES: usize = 2 * 1024 * 1024 * 1024;

/// Archive kinds recognised by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `.tar`.
    Tar,
    /// `.tar.gz` / `.tgz`.
    TarGz,
    /// `.zip`.
    Zip,
}

impl ArchiveKind {
    /// The kind for a file name, or `None` when it is not an archive.
    pub fn from_name(name: &str) -> Option<ArchiveKind> {
        let n = name.to_ascii_lowercase();
        if n.ends_with(".tar.gz") || n.ends_with(".tgz") {
            Some(ArchiveKind::TarGz)
        } else if n.ends_with(".tar") {
            Some(ArchiveKind::Tar)
        } else if n.ends_with(".zip") {
            Some(ArchiveKind::Zip)
        } else {
            None
        }
    }
}

fn bad(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidArchive {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Whether an entry name is an OSV document worth reading.
pub fn is_osv_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let doc = lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml");
    doc && !name
        .split('/')
        .any(|c| c.starts_with('.') && c != "." && c != "..")
}

/// Extracts the OSV documents of an archive as `(entry name, bytes)` pairs.
pub fn extract(
    label: &str,
    kind: ArchiveKind,
    bytes: &[u8],
) -> Result<Vec<(String, Vec<u8>)>, Error> {
    match kind {
        ArchiveKind::Tar => read_tar(label, bytes),
        ArchiveKind::TarGz => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .take(MAX_ARCHIVE_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(label, format!("gzip: {e}")))?;
            if out.len() > MAX_ARCHIVE_BYTES {
                return Err(Error::TooLarge {
                    what: "decompressed archive",
                    size: out.len(),
                    limit: MAX_ARCHIVE_BYTES,
                });
            }
            read_tar(label, &out)
        }
        ArchiveKind::Zip => read_zip(label, bytes),
    }
}

fn field<'a>(label: &str, b: &'a [u8], from: usize, to: usize) -> Result<&'a [u8], Error> {
    b.get(from..to)
        .ok_or_else(|| bad(label, "truncated header"))
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

fn octal(label: &str, b: &[u8]) -> Result<usize, Error> {
    let s = cstr(b);
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Ok(0);
    }
    usize::from_str_radix(s, 8).map_err(|_| bad(label, format!("bad tar size field {s:?}")))
}

fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|l| {
        let (_, kv) = l.split_once(' ')?;
        kv.strip_prefix("path=").map(str::to_string)
    })
}

/// Reads a (ustar / GNU / pax) tar image.
pub fn read_tar(label: &str, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    while pos < bytes.len() {
        let header = field(label, bytes, pos, pos + 512)?;
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let name = cstr(field(label, header, 0, 100)?);
        let size = octal(label, field(label, header, 124, 136)?)?;
        let kind = header.get(156).copied().unwrap_or(b'0');
        let prefix = if field(label, header, 257, 262)? == b"ustar" {
            cstr(field(label, header, 345, 500)?)
        } else {
            String::new()
        };
        let data_start = pos + 512;
        let data = bytes
            .get(data_start..data_start.saturating_add(size))
            .ok_or_else(|| bad(label, format!("entry {name:?} runs past the end")))?;
        pos = data_start.saturating_add(size.div_ceil(512).saturating_mul(512));
        let full = long_name.take().unwrap_or_else(|| {
            if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            }
        });
        match kind {
            b'L' => long_name = Some(cstr(data)),
            b'x' => long_name = pax_path(data),
            b'0' | 0 | b'7' if is_osv_name(&full) => {
                if size > MAX_DOCUMENT_BYTES {
                    return Err(Error::TooLarge {
                        what: "OSV document",
                        size,
                        limit: MAX_DOCUMENT_BYTES,
                    });
                }
                out.push((full, data.to_vec()));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn le16(label: &str, b: &[u8], at: usize) -> Result<usize, Error> {
    let s = field(label, b, at, at + 2)?;
    Ok(usize::from(u16::from_le_bytes([
        s.first().copied().unwrap_or(0),
        s.get(1).copied().unwrap_or(0),
    ])))
}

fn le32(label: &str, b: &[u8], at: usize) -> Result<usize, Error> {
    let s: [u8; 4] = field(label, b, at, at + 4)?
        .try_into()
        .map_err(|_| bad(label, "truncated"))?;
    Ok(u32::from_le_bytes(s) as usize)
}

/// Reads a zip archive through its central directory.
pub fn read_zip(label: &str, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    let min = bytes.len().saturating_sub(22 + 65535);
    let eocd = (min..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes.get(i..i + 4) == Some(&EOCD[..]))
        .ok_or_else(|| bad(label, "no end-of-central-directory record (not a zip?)"))?;
    let entries = le16(label, bytes, eocd + 10)?;
    let cd_off = le32(label, bytes, eocd + 16)?;
    if entries == 0xffff || cd_off == 0xffff_ffff {
        return Err(bad(label, "zip64 archives are not supported"));
    }
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut p = cd_off;
    for _ in 0..entries {
        if field(label, bytes, p, p + 4)? != [0x50, 0x4b, 0x01, 0x02] {
            return Err(bad(label, "bad central directory entry"));
        }
        let flags = le16(label, bytes, p + 8)?;
        let method = le16(label, bytes, p + 10)?;
        let csize = le32(label, bytes, p + 20)?;
        let usize_ = le32(label, bytes, p + 24)?;
        let nlen = le16(label, bytes, p + 28)?;
        let elen = le16(label, bytes, p + 30)?;
        let clen = le16(label, bytes, p + 32)?;
        let local = le32(label, bytes, p + 42)?;
        let name =
            String::from_utf8_lossy(field(label, bytes, p + 46, p + 46 + nlen)?).into_owned();
        p += 46 + nlen + elen + clen;
        if name.ends_with('/') || !is_osv_name(&name) {
            continue;
        }
        if flags & 1 != 0 {
            return Err(bad(
                label,
                format!("{name}: encrypted entries are not supported"),
            ));
        }
        if usize_ > MAX_DOCUMENT_BYTES {
            return Err(Error::TooLarge {
                what: "OSV document",
                size: usize_,
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        total = total.saturating_add(usize_);
        if total > MAX_ARCHIVE_BYTES {
            return Err(Error::TooLarge {
                what: "decompressed archive",
                size: total,
                limit: MAX_ARCHIVE_BYTES,
            });
        }
        if field(label, bytes, local, local + 4)? != [0x50, 0x4b, 0x03, 0x04] {
            return Err(bad(label, format!("{name}: bad local header")));
        }
        let start = local + 30 + le16(label, bytes, local + 26)? + le16(label, bytes, local + 28)?;
        let data = field(label, bytes, start, start.saturating_add(csize))?;
        let content = match method {
            0 => data.to_vec(),
            8 => {
                let mut buf = Vec::with_capacity(usize_);
                flate2::read::DeflateDecoder::new(data)
                    .take(MAX_DOCUMENT_BYTES as u64 + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| bad(label, format!("{name}: deflate: {e}")))?;
                buf
            }
            m => {
                return Err(bad(
                    label,
                    format!("{name}: compression method {m} not supported"),
                ));
            }
        };
        out.push((name, content));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{:011o}\0", data.len());
        h[124..136].copy_from_slice(size.as_bytes());
        h[156] = b'0';
        h[257..262].copy_from_slice(b"ustar");
        let mut out = h;
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn tar_and_targz() {
        let mut t = tar_entry("db/A-1.json", b"{\"id\":\"A-1\"}");
        t.extend(tar_entry("db/.git/x.json", b"{}"));
        t.extend(tar_entry("db/README.md", b"hi"));
        t.extend(vec![0u8; 1024]);
        let docs = extract("t.tar", ArchiveKind::Tar, &t).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].0, "db/A-1.json");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &t).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(extract("t.tgz", ArchiveKind::TarGz, &gz).unwrap(), docs);
        assert!(extract("t.tgz", ArchiveKind::TarGz, b"garbage").is_err());
        assert!(extract("t.tar", ArchiveKind::Tar, &t[..520]).is_err());
    }

    fn zip_one(name: &str, data: &[u8]) -> Vec<u8> {
        let mut comp = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut comp, data).unwrap();
        let comp = comp.finish().unwrap();
        let mut z = Vec::new();
        z.extend([
            0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        z.extend((comp.len() as u32).to_le_bytes());
        z.extend((data.len() as u32).to_le_bytes());
        z.extend((name.len() as u16).to_le_bytes());
        z.extend([0, 0]);
        z.extend(name.as_bytes());
        z.extend(&comp);
        let cd = z.len();
        z.extend([
            0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        z.extend((comp.len() as u32).to_le_bytes());
        z.extend((data.len() as u32).to_le_bytes());
        z.extend((name.len() as u16).to_le_bytes());
        z.extend([0u8; 12]);
        z.extend(0u32.to_le_bytes());
        z.extend(name.as_bytes());
        let cd_len = z.len() - cd;
        z.extend([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0]);
        z.extend((cd_len as u32).to_le_bytes());
        z.extend((cd as u32).to_le_bytes());
        z.extend([0, 0]);
        z
    }

    #[test]
    fn zip_deflate() {
        let z = zip_one("osv/B-2.yaml", b"id: B-2\nmodified: x\n");
        let docs = extract("a.zip", ArchiveKind::Zip, &z).unwrap();
        assert_eq!(
            docs,
            vec![(
                "osv/B-2.yaml".to_string(),
                b"id: B-2\nmodified: x\n".to_vec()
            )]
        );
        assert!(extract("a.zip", ArchiveKind::Zip, b"PK not really").is_err());
        for cut in [10, 40, z.len() - 30] {
            let _ = extract("a.zip", ArchiveKind::Zip, &z[..cut]);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = read_tar("x", &bytes);
            let _ = read_zip("x", &bytes);
        }
    }
}
