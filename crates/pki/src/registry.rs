//! The registry of issued certificates: one JSON file per serial under `issued/`.
//!
//! One file per certificate (rather than one JSON array) means two processes — the
//! server rotating its certificate and a `portcullis ca issue` command — never overwrite
//! each other's records, and the client-certificate verifier answers "is this serial
//! revoked?" by reading a single small file named after the serial. Each file is written
//! atomically. A record's file name is its serial in lowercase hex, which is validated
//! hex before any path is built, so a serial can never name a file outside `issued/`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::PkiError;
use crate::files::{Access, ensure_dir, read_text, write_atomic};
use crate::inspect::{CertInfo, normalize_serial};

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CertKind {
    /// The certificate authority itself.
    Ca,
    /// A TLS server certificate (the API listener or another service).
    Server,
    /// A TLS client certificate that authenticates as an IAM principal.
    Client,
}

/// One certificate the CA issued, as listed by `portcullis ca list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CertRecord {
    /// Serial number, lowercase hex.
    pub serial_hex: String,
    /// What the certificate is for.
    pub kind: CertKind,
    /// Subject common name.
    pub subject: String,
    /// DNS names and IP addresses (server certificates); empty otherwise.
    #[serde(default)]
    pub names: Vec<String>,
    /// The IAM principal ARN (client certificates).
    #[serde(default)]
    pub principal: Option<String>,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whether the certificate was revoked; revoked client certificates are refused.
    #[serde(default)]
    pub revoked: bool,
    /// When it was revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl CertRecord {
    pub(crate) fn from_info(kind: CertKind, info: &CertInfo) -> Self {
        Self {
            serial_hex: info.serial_hex.clone(),
            kind,
            subject: info.subject.clone(),
            names: info.names.clone(),
            principal: info.principal.clone(),
            not_before: info.not_before,
            not_after: info.not_after,
            revoked: false,
            revoked_at: None,
        }
    }
}

/// The `issued/` directory.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    dir: PathBuf,
}

impl Registry {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub(crate) fn ensure(&self) -> Result<(), PkiError> {
        ensure_dir(&self.dir)
    }

    /// Path of the record for an already-normalised serial.
    fn path(&self, serial_hex: &str) -> PathBuf {
        self.dir.join(format!("{serial_hex}.json"))
    }

    /// Stores (or replaces) a record.
    pub(crate) fn put(&self, record: &CertRecord) -> Result<(), PkiError> {
        let serial =
            normalize_serial(&record.serial_hex).ok_or_else(|| PkiError::InvalidSerial {
                serial: record.serial_hex.clone(),
            })?;
        let path = self.path(&serial);
        let mut json =
            serde_json::to_vec_pretty(record).map_err(|source| PkiError::CorruptRecord {
                path: path.clone(),
                source,
            })?;
        json.push(b'\n');
        write_atomic(&path, &json, Access::Public)
    }

    /// The record for a serial (any common hex spelling), `None` if there is none.
    pub(crate) fn get(&self, serial: &str) -> Result<Option<CertRecord>, PkiError> {
        let normalized = normalize_serial(serial).ok_or_else(|| PkiError::InvalidSerial {
            serial: serial.to_owned(),
        })?;
        let path = self.path(&normalized);
        match fs::read_to_string(&path) {
            Ok(text) => parse_record(&path, &text).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PkiError::io(path, e)),
        }
    }

    /// Every record, oldest first (ties broken by kind, then serial).
    pub(crate) fn list(&self) -> Result<Vec<CertRecord>, PkiError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(PkiError::io(&self.dir, e)),
        };
        let mut records = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| PkiError::io(&self.dir, e))?.path();
            if !is_record_file(&path) {
                continue;
            }
            records.push(parse_record(&path, &read_text(&path)?)?);
        }
        // X.509 times have one-second resolution; within a second the CA comes first.
        records.sort_by(|a, b| {
            (a.not_before, a.kind, &a.serial_hex).cmp(&(b.not_before, b.kind, &b.serial_hex))
        });
        Ok(records)
    }

    /// Marks a certificate revoked; revoking twice keeps the first revocation time.
    pub(crate) fn revoke(&self, serial: &str, now: OffsetDateTime) -> Result<(), PkiError> {
        let mut record = self.get(serial)?.ok_or_else(|| PkiError::UnknownSerial {
            serial: normalize_serial(serial).unwrap_or_else(|| serial.to_owned()),
        })?;
        if record.kind == CertKind::Ca {
            return Err(PkiError::CannotRevokeCa {
                serial: record.serial_hex,
            });
        }
        if record.revoked {
            return Ok(());
        }
        record.revoked = true;
        record.revoked_at = Some(now);
        self.put(&record)
    }

    /// Whether a serial is revoked. An unknown serial is not revoked (the registry is a
    /// revocation list, not an allow-list); an unreadable record is an error, so callers
    /// can fail closed.
    pub(crate) fn is_revoked(&self, serial_hex: &str) -> Result<bool, PkiError> {
        Ok(self.get(serial_hex)?.is_some_and(|r| r.revoked))
    }
}

fn is_record_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.strip_suffix(".json")
        .is_some_and(|stem| !stem.is_empty() && stem.chars().all(|c| c.is_ascii_hexdigit()))
}

fn parse_record(path: &Path, text: &str) -> Result<CertRecord, PkiError> {
    serde_json::from_str(text).map_err(|source| PkiError::CorruptRecord {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(serial: &str, kind: CertKind, age_days: i64) -> CertRecord {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        CertRecord {
            serial_hex: serial.to_owned(),
            kind,
            subject: "s".to_owned(),
            names: vec![],
            principal: None,
            not_before: now - time::Duration::days(age_days),
            not_after: now + time::Duration::days(1),
            revoked: false,
            revoked_at: None,
        }
    }

    #[test]
    fn put_get_list_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path().join("issued"));
        assert!(reg.list().unwrap().is_empty());
        reg.ensure().unwrap();
        reg.put(&record("0a", CertKind::Ca, 3)).unwrap();
        reg.put(&record("1b", CertKind::Client, 1)).unwrap();
        reg.put(&record("2c", CertKind::Server, 2)).unwrap();
        fs::write(dir.path().join("issued/.tmp-x"), "ignored").unwrap();

        let serials: Vec<_> = reg
            .list()
            .unwrap()
            .into_iter()
            .map(|r| r.serial_hex)
            .collect();
        assert_eq!(serials, ["0a", "2c", "1b"]);
        assert_eq!(
            reg.get("1B").unwrap().unwrap(),
            record("1b", CertKind::Client, 1)
        );
        assert!(reg.get("ff").unwrap().is_none());

        assert!(!reg.is_revoked("1b").unwrap());
        reg.revoke("00:1b", OffsetDateTime::now_utc()).unwrap();
        assert!(reg.is_revoked("1b").unwrap());
        let first = reg.get("1b").unwrap().unwrap().revoked_at;
        reg.revoke("1b", OffsetDateTime::now_utc() + time::Duration::hours(1))
            .unwrap();
        assert_eq!(reg.get("1b").unwrap().unwrap().revoked_at, first);
    }

    #[test]
    fn revoke_refuses_bad_unknown_and_ca_serials() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path().to_path_buf());
        reg.put(&record("0a", CertKind::Ca, 0)).unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(matches!(
            reg.revoke("../ca", now),
            Err(PkiError::InvalidSerial { .. })
        ));
        assert!(matches!(
            reg.revoke("", now),
            Err(PkiError::InvalidSerial { .. })
        ));
        assert!(matches!(
            reg.revoke("beef", now),
            Err(PkiError::UnknownSerial { .. })
        ));
        assert!(matches!(
            reg.revoke("0A", now),
            Err(PkiError::CannotRevokeCa { .. })
        ));
        assert!(!reg.is_revoked("0a").unwrap());
    }

    #[test]
    fn corrupt_record_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path().to_path_buf());
        fs::write(dir.path().join("abcd.json"), "{not json").unwrap();
        assert!(matches!(
            reg.is_revoked("abcd"),
            Err(PkiError::CorruptRecord { .. })
        ));
        assert!(matches!(reg.list(), Err(PkiError::CorruptRecord { .. })));
    }
}
