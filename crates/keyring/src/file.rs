//! [`FileRootKey`]: AES-256-GCM in this process, the key from the environment or a file.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::{SealError, Sealer, join_sealed, random_nonce, split_sealed};

/// The environment variable that, when set, holds the file root key (base64 of 32 bytes)
/// and wins over the key file.
pub const ROOT_KEY_ENV: &str = "PORTCULLIS_ROOT_KEY";

/// A root key held in this process's memory: AES-256-GCM through aws-lc-rs.
pub struct FileRootKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for FileRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileRootKey([redacted])")
    }
}

impl FileRootKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadRootKey)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// A key from base64 text (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = Zeroizing::new(B64.decode(text.trim()).map_err(|_| SealError::BadRootKey)?);
        Self::from_bytes(&bytes)
    }

    /// A fresh random key, returned with its base64 text (for writing to a file).
    pub fn generate() -> Result<(Self, Zeroizing<String>), SealError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| SealError::Random)?;
        let text = Zeroizing::new(B64.encode(bytes.as_ref()));
        Ok((Self::from_bytes(bytes.as_ref())?, text))
    }

    /// `PORTCULLIS_ROOT_KEY` if set, else `<dir>/root.key`, created (0600) if missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, SealError> {
        Self::load_or_create_file(&dir.join("root.key"))
    }

    /// `PORTCULLIS_ROOT_KEY` if set, else the key file at `path`, created (0600) with a fresh
    /// random key if missing.
    pub fn load_or_create_file(path: &Path) -> Result<Self, SealError> {
        if let Ok(v) = std::env::var(ROOT_KEY_ENV) {
            return Self::from_base64(&Zeroizing::new(v));
        }
        let io = |source| SealError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&Zeroizing::new(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (key, text) = Self::generate()?;
                write_private(path, text.as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

impl Sealer for FileRootKey {
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let nonce = random_nonce()?;
        let mut buf = Zeroizing::new(plaintext.to_vec());
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut *buf,
            )
            .map_err(|_| SealError::Open)?;
        Ok(join_sealed(&nonce, &buf))
    }

    fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (nonce, ct) = split_sealed(sealed)?;
        let mut buf = Zeroizing::new(ct);
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn kind(&self) -> &'static str {
        "file"
    }
}

/// Writes a new file readable only by its owner (mode 0600 on Unix); fails if it exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flip(sealed: &str, at: usize) -> String {
        let mut raw = B64.decode(sealed).unwrap();
        raw[at] ^= 1;
        B64.encode(raw)
    }

    #[test]
    fn round_trip() {
        let (k, _) = FileRootKey::generate().unwrap();
        let s = k.seal("AKIA1", b"secret").unwrap();
        assert_eq!(&k.open("AKIA1", &s).unwrap()[..], b"secret");
        assert!(!s.contains("secret"));
        let empty = k.seal("AKIA1", b"").unwrap();
        assert!(k.open("AKIA1", &empty).unwrap().is_empty());
        assert_ne!(
            k.seal("AKIA1", b"secret").unwrap(),
            s,
            "fresh nonce each time"
        );
    }

    #[test]
    fn bound_to_context() {
        let (k, _) = FileRootKey::generate().unwrap();
        let s = k.seal("AKIA1", b"secret").unwrap();
        assert!(matches!(k.open("AKIA2", &s), Err(SealError::Open)));
    }

    #[test]
    fn tampering_is_detected() {
        let (k, _) = FileRootKey::generate().unwrap();
        let s = k.seal("AKIA1", b"secret").unwrap();
        for at in [0, 12, 12 + 6, 12 + 6 + 15] {
            assert!(
                matches!(k.open("AKIA1", &flip(&s, at)), Err(SealError::Open)),
                "byte {at}"
            );
        }
        assert!(matches!(k.open("AKIA1", "AAAA"), Err(SealError::Open)));
        assert!(matches!(
            k.open("AKIA1", "not base64!"),
            Err(SealError::Open)
        ));
    }

    #[test]
    fn bound_to_key() {
        let (k, _) = FileRootKey::generate().unwrap();
        let s = k.seal("AKIA1", b"secret").unwrap();
        let (other, _) = FileRootKey::generate().unwrap();
        assert!(matches!(other.open("AKIA1", &s), Err(SealError::Open)));
    }

    #[test]
    fn bad_key_text_is_refused() {
        assert!(matches!(
            FileRootKey::from_base64("c2hvcnQ="),
            Err(SealError::BadRootKey)
        ));
        assert!(matches!(
            FileRootKey::from_base64("%%%"),
            Err(SealError::BadRootKey)
        ));
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let (k, text) = FileRootKey::generate().unwrap();
        assert!(!format!("{k:?}").contains(text.as_str()));
    }

    // The environment variable would override the file; the test relies on it being unset,
    // as it is under the test script.
    #[test]
    fn root_key_file_is_created_private_and_reused() {
        if std::env::var_os(ROOT_KEY_ENV).is_some() {
            eprintln!("SKIPPED: {ROOT_KEY_ENV} is set");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let k1 = FileRootKey::load_or_create(d.path()).unwrap();
        let sealed = k1.seal("c", b"x").unwrap();
        let k2 = FileRootKey::load_or_create(d.path()).unwrap();
        assert_eq!(&k2.open("c", &sealed).unwrap()[..], b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("root.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn write_private_refuses_to_overwrite() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_private(&p, b"a").unwrap();
        assert!(write_private(&p, b"b").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"a");
    }
}
