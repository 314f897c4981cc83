//! Sealing secrets under the root key (AES-256-GCM) before they reach the store.
//!
//! The root key comes from `PORTCULLIS_ROOT_KEY` (base64 of 32 bytes) or from the file
//! `root.key` in the data directory, created with mode 0600 on first start. A sealed value
//! is bound to what it belongs to (the access key id) through the AEAD's associated data,
//! so a sealed secret copied onto another record does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The root key is not 32 bytes of base64.
    #[error("the root key must be 32 bytes, base64-encoded")]
    BadRootKey,
    /// The sealed value was altered, belongs to another record, or was sealed under another key.
    #[error("sealed value does not open under this root key")]
    Open,
    /// The system random generator failed.
    #[error("random generator failed")]
    Random,
    /// Reading or writing the root key file failed.
    #[error("root key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The key that seals every stored secret.
pub struct RootKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey([redacted])")
    }
}

impl RootKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadRootKey)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// A key from base64 text.
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
    pub fn load_or_create(dir: &std::path::Path) -> Result<Self, SealError> {
        if let Ok(v) = std::env::var("PORTCULLIS_ROOT_KEY") {
            return Self::from_base64(&v);
        }
        let path = dir.join("root.key");
        let io = |source| SealError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&Zeroizing::new(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (key, text) = Self::generate()?;
                write_private(&path, text.as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seals `plaintext`, bound to `context`; the result is base64 text for the store.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(B64.encode(out))
    }

    /// Opens a value sealed with [`RootKey::seal`] under the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let raw = B64.decode(sealed).map_err(|_| SealError::Open)?;
        if raw.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SealError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
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

    #[test]
    fn seal_open_round_trip_and_binding() {
        let (k, _) = RootKey::generate().unwrap();
        let s = k.seal("AKIA1", b"secret").unwrap();
        assert_eq!(&k.open("AKIA1", &s).unwrap()[..], b"secret");
        assert!(k.open("AKIA2", &s).is_err(), "bound to its context");
        let (other, _) = RootKey::generate().unwrap();
        assert!(other.open("AKIA1", &s).is_err(), "bound to its key");
        let mut tampered = base64::engine::general_purpose::STANDARD
            .decode(&s)
            .unwrap();
        tampered[20] ^= 1;
        assert!(
            k.open(
                "AKIA1",
                &base64::engine::general_purpose::STANDARD.encode(tampered)
            )
            .is_err()
        );
        assert!(!s.contains("secret"));
    }

    #[test]
    fn root_key_file_is_created_private_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let k1 = RootKey::load_or_create(d.path()).unwrap();
        let sealed = k1.seal("c", b"x").unwrap();
        let k2 = RootKey::load_or_create(d.path()).unwrap();
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
}
