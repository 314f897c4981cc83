//! Checkpoints: how far each source has read, kept in the store (collection
//! [`COLLECTION`]) and written in the same transaction as the findings of the records before
//! them (see [`crate::feed`]), so a restart neither loses nor repeats records.
//!
//! A followed file's checkpoint is keyed by the file's identity (device and inode), not its
//! name, so a file renamed by rotation keeps its place; a fingerprint of its first bytes tells
//! a re-used inode from the same file.

use portcullis_store::{Precondition, Store, WriteOp};
use serde::{Deserialize, Serialize};

use crate::error::{IngestError, Result};

/// The store collection holding every source's checkpoints: `{source}/{rest}`.
pub const COLLECTION: &str = "guard_ingest_checkpoints";

/// Bytes of a file's start that make up its fingerprint.
pub const FINGERPRINT_BYTES: usize = 64;

/// A file's identity on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity in a file's metadata.
    #[cfg(unix)]
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Without inode numbers, the identity is the size-independent creation time (best effort).
    #[cfg(not(unix))]
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        let t = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        FileId { dev: 0, ino: t }
    }
}

/// How far a file has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileCheckpoint {
    /// The path it was last seen at (for people; the key is the identity).
    pub path: String,
    /// Identity.
    pub id: FileId,
    /// Bytes processed: everything before this offset is in the findings.
    pub offset: u64,
    /// Lines before `offset` (so locations stay the file's line numbers).
    pub line: u64,
    /// FNV-1a of the file's first [`FINGERPRINT_BYTES`] bytes (or fewer, when shorter),
    /// with the number of bytes hashed.
    pub fingerprint: (u64, u32),
    /// A whole-document file (gzip, pretty-printed JSON) that has been read completely.
    #[serde(default)]
    pub done: bool,
    /// The last VPC flow-log header line seen in the file, which formats the lines after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_header: Option<String>,
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The key of a file's checkpoint.
pub fn file_key(source: &str, id: FileId) -> String {
    format!("{source}/file/{}:{}", id.dev, id.ino)
}

/// A write that stores a checkpoint.
pub fn put_op(key: &str, cp: &impl Serialize) -> Result<WriteOp> {
    let value = serde_json::to_value(cp).map_err(|e| IngestError::BadCheckpoint {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(WriteOp::put(COLLECTION, key, value, Precondition::None))
}

/// A write that removes a checkpoint (its file is gone).
pub fn delete_op(key: &str) -> WriteOp {
    WriteOp::delete(COLLECTION, key, Precondition::None)
}

/// The stored checkpoint under `key`, if any.
pub async fn load<T: for<'de> Deserialize<'de>>(store: &dyn Store, key: &str) -> Result<Option<T>> {
    match store.get(COLLECTION, key).await? {
        None => Ok(None),
        Some(item) => {
            serde_json::from_value(item.value)
                .map(Some)
                .map_err(|e| IngestError::BadCheckpoint {
                    key: key.to_owned(),
                    reason: e.to_string(),
                })
        }
    }
}

/// Every checkpoint key of a source under `prefix` (e.g. `{source}/file/`).
pub async fn keys(store: &dyn Store, prefix: &str) -> Result<Vec<String>> {
    Ok(portcullis_store::list_all(store, COLLECTION, prefix)
        .await?
        .into_iter()
        .map(|i| i.key)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_refuse_unknown_members() {
        let cp = FileCheckpoint {
            path: "/x".into(),
            id: FileId { dev: 1, ino: 2 },
            offset: 10,
            line: 3,
            fingerprint: (fnv1a(b"abc"), 3),
            done: false,
            flow_header: Some("version srcaddr".into()),
        };
        let v = serde_json::to_value(&cp).unwrap();
        assert_eq!(
            serde_json::from_value::<FileCheckpoint>(v.clone()).unwrap(),
            cp
        );
        let mut bad = v;
        bad["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<FileCheckpoint>(bad).is_err());
        assert_eq!(file_key("s", cp.id), "s/file/1:2");
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
