//! The RPM database: the SQLite `rpmdb.sqlite` of RPM ≥ 4.16 (RHEL 9, Fedora 33+, Amazon
//! Linux 2023, Rocky/Alma 9), table `Packages(hnum, blob)` where each blob is an RPM header,
//! or else the Berkeley DB hash file `Packages` of older RPMs (RHEL/CentOS 7 and 8, Amazon
//! Linux 2), whose values are the same header blobs (read by [`super::bdb`]).
//!
//! A header blob is `il` (index entry count) and `dl` (data length) as big-endian u32s, then
//! `il` 16-byte entries (tag, type, offset, count) and `dl` bytes of data. Strings are
//! NUL-terminated in the data. SUSE's `ndb` format (`Packages.db`) is not read.

use std::collections::BTreeMap;
use std::path::Path;

use portcullis_inspector_core::inventory::InstalledPackage;
use portcullis_inspector_core::lockfile::Package;
use portcullis_inspector_core::version::Ecosystem;

use super::Ctx;
use crate::error::AgentError;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
/// Largest header accepted (RPM's own limit is 256 MiB; real headers are kilobytes).
const MAX_HEADER: usize = 64 << 20;
/// Most index entries accepted in one header.
const MAX_ENTRIES: usize = 100_000;
/// Most packages read.
const MAX_PACKAGES: usize = 100_000;
/// Largest Berkeley DB `Packages` file read (bytes); real ones are tens of megabytes.
pub const MAX_BDB_BYTES: u64 = 256 << 20;
/// Where the Berkeley DB database is found, in order.
const BDB_PATHS: [&str; 2] = ["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages"];

/// What one header says about its package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `EPOCH`, when set.
    pub epoch: Option<u32>,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH` (`x86_64`, `noarch`; absent for `gpg-pubkey`).
    pub arch: Option<String>,
    /// `SOURCERPM` (`openssl-3.0.7-24.el9.src.rpm`), absent for `gpg-pubkey`.
    pub source_rpm: Option<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

/// Parses one header blob; `None` when it is malformed or lacks a name or version.
pub fn parse_header(blob: &[u8]) -> Option<RpmHeader> {
    if blob.len() > MAX_HEADER {
        return None;
    }
    let il = usize::try_from(be32(blob, 0)?).ok()?;
    let dl = usize::try_from(be32(blob, 4)?).ok()?;
    if il > MAX_ENTRIES {
        return None;
    }
    let data_start = il.checked_mul(16)?.checked_add(8)?;
    let data = blob.get(data_start..data_start.checked_add(dl)?)?;
    let mut h = RpmHeader::default();
    for i in 0..il {
        let e = 8 + i * 16;
        let (tag, ty, off) = (be32(blob, e)?, be32(blob, e + 4)?, be32(blob, e + 8)?);
        let off = usize::try_from(off).ok()?;
        let string = || -> Option<String> {
            let rest = data.get(off..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
        };
        match (tag, ty) {
            (TAG_NAME, TYPE_STRING) => h.name = string()?,
            (TAG_VERSION, TYPE_STRING) => h.version = string()?,
            (TAG_RELEASE, TYPE_STRING) => h.release = string()?,
            (TAG_SOURCERPM, TYPE_STRING) => h.source_rpm = string(),
            (TAG_ARCH, TYPE_STRING) => h.arch = string(),
            (TAG_EPOCH, TYPE_INT32) => h.epoch = be32(data, off),
            _ => {}
        }
    }
    (!h.name.is_empty() && !h.version.is_empty()).then_some(h)
}

/// The source package name of a `SOURCERPM` value (`openssl-3.0.7-24.el9.src.rpm` → `openssl`).
pub fn source_name(source_rpm: &str) -> Option<&str> {
    let base = source_rpm
        .strip_suffix(".src.rpm")
        .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = base.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    (!name.is_empty()).then_some(name)
}

/// The OSV ecosystem of RPM packages on this OS.
fn rpm_ecosystem(os: &BTreeMap<String, String>) -> Ecosystem {
    let id = os.get("ID").map(String::as_str).unwrap_or_default();
    match id {
        "rocky" => Ecosystem::RockyLinux,
        "almalinux" => Ecosystem::AlmaLinux,
        "rhel" => Ecosystem::RedHat,
        "sles" | "sles_sap" | "sled" => Ecosystem::Suse,
        i if i.starts_with("opensuse") => Ecosystem::OpenSuse,
        "" => Ecosystem::Other("RPM".to_owned()),
        other => Ecosystem::Other(other.to_owned()),
    }
}

fn to_installed(h: RpmHeader, eco: &Ecosystem) -> Option<InstalledPackage> {
    if h.name == "gpg-pubkey" {
        return None; // imported signing keys, not software
    }
    let mut version = match h.epoch {
        Some(e) if e > 0 => format!("{e}:{}", h.version),
        _ => h.version,
    };
    if !h.release.is_empty() {
        version = format!("{version}-{}", h.release);
    }
    let src = h
        .source_rpm
        .as_deref()
        .and_then(source_name)
        .map(str::to_owned);
    Some(InstalledPackage {
        source_name: src.filter(|s| *s != h.name),
        package: Package {
            ecosystem: eco.clone(),
            name: h.name,
            version,
            source: None,
        },
        manager: "rpm".to_owned(),
    })
}

/// Reads every header of an rpmdb.sqlite file.
pub fn read_rpmdb_sqlite(path: &Path) -> Result<Vec<RpmHeader>, rusqlite::Error> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match rusqlite::Connection::open_with_flags(path, flags) {
        Ok(c) => c,
        // A WAL database in a directory we may not write to: read the main file as is.
        Err(_) => rusqlite::Connection::open_with_flags(
            format!("file:{}?immutable=1", path.display()),
            flags | OpenFlags::SQLITE_OPEN_URI,
        )?,
    };
    let mut stmt = conn.prepare("SELECT blob FROM Packages")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() >= MAX_PACKAGES {
            break;
        }
        let blob: Vec<u8> = row.get(0)?;
        if let Some(h) = parse_header(&blob) {
            out.push(h);
        }
    }
    Ok(out)
}

/// Reads every header of a Berkeley DB `Packages` file (at most [`MAX_BDB_BYTES`]); values
/// that are not headers (the record-number counter under key 0) are skipped.
pub fn read_rpmdb_bdb(path: &Path) -> Result<Vec<RpmHeader>, AgentError> {
    use std::io::Read as _;
    let io = |source| AgentError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_BDB_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BDB_BYTES {
        return Err(AgentError::BerkeleyDb {
            page: None,
            reason: format!("larger than the {MAX_BDB_BYTES} bytes read"),
        });
    }
    Ok(super::bdb::hash_values(&bytes)?
        .iter()
        .filter_map(|v| parse_header(v))
        .take(MAX_PACKAGES)
        .collect())
}

pub(crate) fn collect(ctx: &mut Ctx<'_>, os: &BTreeMap<String, String>) -> Vec<InstalledPackage> {
    const DB: &str = "/var/lib/rpm/rpmdb.sqlite";
    let eco = rpm_ecosystem(os);
    let installed = |headers: Vec<RpmHeader>| -> Vec<InstalledPackage> {
        headers
            .into_iter()
            .filter_map(|h| to_installed(h, &eco))
            .collect()
    };
    if ctx.exists(DB) {
        return match read_rpmdb_sqlite(&ctx.path(DB)) {
            Ok(headers) => installed(headers),
            Err(e) => {
                ctx.note(DB, &e.to_string());
                Vec::new()
            }
        };
    }
    if let Some(db) = BDB_PATHS.into_iter().find(|p| ctx.exists(p)) {
        return match read_rpmdb_bdb(&ctx.path(db)) {
            Ok(headers) => installed(headers),
            Err(e) => {
                ctx.note(db, &e.to_string());
                Vec::new()
            }
        };
    }
    if ctx.exists("/usr/lib/sysimage/rpm/Packages.db") {
        ctx.note(
            "/usr/lib/sysimage/rpm/Packages.db",
            "the ndb RPM database is not read",
        );
    }
    Vec::new()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob with string and int32 entries.
    pub(crate) fn header(entries: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        let mut n = 0u32;
        // A region tag first, as real headers have.
        index.extend_from_slice(&[0, 0, 0, 63, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 16]);
        n += 1;
        if let Some(e) = epoch {
            index.extend(TAG_EPOCH.to_be_bytes());
            index.extend(TYPE_INT32.to_be_bytes());
            index.extend((data.len() as u32).to_be_bytes());
            index.extend(1u32.to_be_bytes());
            data.extend(e.to_be_bytes());
            n += 1;
        }
        for (tag, s) in entries {
            index.extend(tag.to_be_bytes());
            index.extend(TYPE_STRING.to_be_bytes());
            index.extend((data.len() as u32).to_be_bytes());
            index.extend(1u32.to_be_bytes());
            data.extend(s.as_bytes());
            data.push(0);
            n += 1;
        }
        let mut blob = Vec::new();
        blob.extend(n.to_be_bytes());
        blob.extend((data.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(data);
        blob
    }

    #[test]
    fn headers_and_source_names() {
        let b = header(
            &[
                (TAG_NAME, "openssl-libs"),
                (TAG_VERSION, "3.0.7"),
                (TAG_RELEASE, "24.el9"),
                (TAG_SOURCERPM, "openssl-3.0.7-24.el9.src.rpm"),
            ],
            Some(1),
        );
        let h = parse_header(&b).unwrap();
        assert_eq!(h.name, "openssl-libs");
        assert_eq!(h.epoch, Some(1));
        let p = to_installed(h, &Ecosystem::RockyLinux).unwrap();
        assert_eq!(p.package.version, "1:3.0.7-24.el9");
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert_eq!(
            source_name("python3.11-3.11.5-1.el9.src.rpm"),
            Some("python3.11")
        );
        assert_eq!(source_name("nonsense"), None);
        assert_eq!(parse_header(&b[..b.len() - 3]), None, "truncated");
        assert_eq!(parse_header(&[0xff; 8]), None);
    }

    #[test]
    fn reads_an_sqlite_rpmdb() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rpmdb.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        for blob in [
            header(
                &[
                    (TAG_NAME, "bash"),
                    (TAG_VERSION, "5.1.8"),
                    (TAG_RELEASE, "9.el9"),
                    (TAG_SOURCERPM, "bash-5.1.8-9.el9.src.rpm"),
                ],
                None,
            ),
            header(
                &[
                    (TAG_NAME, "gpg-pubkey"),
                    (TAG_VERSION, "fd431d51"),
                    (TAG_RELEASE, "4ae0493b"),
                ],
                None,
            ),
            b"garbage".to_vec(),
        ] {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
                .unwrap();
        }
        drop(conn);
        let headers = read_rpmdb_sqlite(&db).unwrap();
        assert_eq!(headers.len(), 2);
        let pkgs: Vec<_> = headers
            .into_iter()
            .filter_map(|h| to_installed(h, &Ecosystem::AlmaLinux))
            .collect();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].package.name, "bash");
        assert_eq!(pkgs[0].package.version, "5.1.8-9.el9");
        assert_eq!(pkgs[0].source_name, None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_header(&b);
        }

        #[test]
        fn corrupted_headers_never_panic(at in 0usize..120, byte in proptest::num::u8::ANY, cut in 0usize..120) {
            let mut b = header(&[(TAG_NAME, "bash"), (TAG_VERSION, "5.1.8"), (TAG_SOURCERPM, "bash-5.1.8-9.el9.src.rpm")], Some(2));
            if let Some(x) = b.get_mut(at) {
                *x = byte;
            }
            b.truncate(b.len().saturating_sub(cut % 8));
            let _ = parse_header(&b);
        }
    }
}
