//! The PKI directory on disk: where each file lives, atomic writes, and owner-only keys.
//!
//! Every write goes to a temporary file in the target directory, is flushed to disk and
//! then renamed over the destination, followed by an fsync of the directory. Readers (the
//! listener's certificate resolver, another `portcullis` process) therefore see either the
//! old file or the new one, never a torn mix.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use portcullis_common::Secret;
use zeroize::Zeroizing;

use crate::error::PkiError;

/// Who may read a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Owner read/write only (0600): private keys.
    Private,
    /// World-readable (0644): certificates and registry records.
    Public,
}

/// Paths inside one PKI directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    dir: PathBuf,
}

impl Layout {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub(crate) fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    pub(crate) fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    pub(crate) fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    pub(crate) fn issued_dir(&self) -> PathBuf {
        self.dir.join("issued")
    }
}

/// Creates `dir` (and parents) if missing; a directory we create is owner-only (0700).
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| PkiError::io(dir, e))
}

/// Writes `bytes` to `path` atomically with the given access.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> Result<(), PkiError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    // tempfile creates the file with mode 0600, so a key is never briefly world-readable.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| PkiError::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| PkiError::io(tmp.path(), e))?;
    if access == Access::Public {
        set_mode(tmp.path(), 0o644)?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| PkiError::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| PkiError::io(path, e.error))?;
    sync_dir(dir)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| PkiError::io(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), PkiError> {
    Ok(())
}

/// Flushes a directory entry change (a rename) to disk.
fn sync_dir(dir: &Path) -> Result<(), PkiError> {
    #[cfg(unix)]
    {
        let handle = fs::File::open(dir).map_err(|e| PkiError::io(dir, e))?;
        handle.sync_all().map_err(|e| PkiError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a public text file (certificate, record).
pub(crate) fn read_text(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|e| PkiError::io(path, e))
}

/// Reads a private key file, refusing it unless only its owner can read it.
pub(crate) fn read_private(path: &Path) -> Result<Secret<String>, PkiError> {
    check_private_mode(path)?;
    let bytes = Zeroizing::new(fs::read(path).map_err(|e| PkiError::io(path, e))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| PkiError::InvalidKey {
        what: path.display().to_string(),
    })?;
    Ok(Secret::new(text.to_owned()))
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<(), PkiError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|e| PkiError::io(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(PkiError::InsecureKeyFile {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path) -> Result<(), PkiError> {
    Ok(())
}

/// Identity of a file's current contents as far as `stat` can tell: a rename gives a
/// new inode, a rewrite a new modification time or length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    /// Stats `path`; `None` when it cannot be read (missing, permissions).
    pub(crate) fn of(path: &Path) -> Option<Self> {
        let meta = fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_owner_only_and_public_files_readable() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let cert = dir.path().join("c");
        write_atomic(&key, b"secret", Access::Private).unwrap();
        write_atomic(&cert, b"public", Access::Public).unwrap();
        assert_eq!(read_private(&key).unwrap().expose(), "secret");
        assert_eq!(read_text(&cert).unwrap(), "public");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key), 0o600);
            assert_eq!(mode(&cert), 0o644);
        }
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        write_atomic(&key, b"secret", Access::Public).unwrap();
        let err = read_private(&key).unwrap_err();
        assert!(
            matches!(err, PkiError::InsecureKeyFile { mode: 0o644, .. }),
            "{err}"
        );
    }

    #[test]
    fn overwrite_changes_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write_atomic(&path, b"one", Access::Public).unwrap();
        let first = FileStamp::of(&path).unwrap();
        write_atomic(&path, b"two", Access::Public).unwrap();
        assert_ne!(FileStamp::of(&path).unwrap(), first);
        assert!(FileStamp::of(&dir.path().join("missing")).is_none());
    }
}
