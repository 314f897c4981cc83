//! The listener's certificate resolver: serves the server certificate from the PKI
//! directory and picks up a rotated one without a restart.
//!
//! At most once per second (and at once after a rotation in this process) the resolver
//! `stat`s `server.pem` and `server.key`; when either changed it loads the pair, checks that
//! key and certificate belong together, and swaps it in. A pair that fails to load — a
//! half-finished rotation by another process, a bad file — is logged and the previous
//! certificate keeps serving; the load is retried at the next check.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::PkiError;
use crate::files::{FileStamp, read_private, read_text};
use crate::inspect::{cert_der_from_pem, key_der_from_pem};

/// How often the certificate files are checked for changes.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A [`ResolvesServerCert`] that follows the server certificate files.
#[derive(Debug)]
pub(crate) struct ReloadingResolver {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    generation: Arc<AtomicU64>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    current: Arc<CertifiedKey>,
    stamps: (Option<FileStamp>, Option<FileStamp>),
    generation: u64,
    checked_at: Instant,
}

impl ReloadingResolver {
    /// Loads the current pair; fails if it cannot, so a listener never starts without a
    /// certificate.
    pub(crate) fn new(
        cert_path: PathBuf,
        key_path: PathBuf,
        provider: Arc<CryptoProvider>,
        generation: Arc<AtomicU64>,
    ) -> Result<Self, PkiError> {
        let seen = generation.load(Ordering::Acquire);
        let stamps = (FileStamp::of(&cert_path), FileStamp::of(&key_path));
        let current = Arc::new(load_pair(&cert_path, &key_path, &provider)?);
        Ok(Self {
            cert_path,
            key_path,
            provider,
            generation,
            state: Mutex::new(State {
                current,
                stamps,
                generation: seen,
                checked_at: Instant::now(),
            }),
        })
    }

    /// Reloads the pair if the files changed since the last successful load.
    fn refresh(&self, state: &mut State) {
        // Stat before reading: if the files change while we read, the stale stamps make
        // the next check load again rather than miss the change.
        let stamps = (
            FileStamp::of(&self.cert_path),
            FileStamp::of(&self.key_path),
        );
        if stamps == state.stamps {
            return;
        }
        match load_pair(&self.cert_path, &self.key_path, &self.provider) {
            Ok(pair) => {
                state.current = Arc::new(pair);
                state.stamps = stamps;
                tracing::info!(path = %self.cert_path.display(), "reloaded server certificate");
            }
            Err(error) => {
                tracing::warn!(
                    path = %self.cert_path.display(),
                    %error,
                    "server certificate reload failed; still serving the previous certificate"
                );
            }
        }
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        if generation != state.generation || state.checked_at.elapsed() >= CHECK_INTERVAL {
            state.generation = generation;
            state.checked_at = Instant::now();
            self.refresh(&mut state);
        }
        Some(Arc::clone(&state.current))
    }
}

/// Loads a certificate and its key, refusing a key that does not match.
fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, PkiError> {
    let cert_what = cert_path.display().to_string();
    let key_what = key_path.display().to_string();
    let cert = cert_der_from_pem(&read_text(cert_path)?, &cert_what)?;
    let key_pem = read_private(key_path)?;
    let key = key_der_from_pem(key_pem.expose(), &key_what)?;
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|_| PkiError::InvalidKey {
                what: key_what.clone(),
            })?;
    let pair = CertifiedKey::new(vec![cert], signing_key);
    pair.keys_match().map_err(|_| PkiError::KeyMismatch {
        what: format!("{cert_what} and {key_what}"),
    })?;
    Ok(pair)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pki;

    fn serial_of(pair: &CertifiedKey) -> String {
        crate::inspect::CertInfo::from_der(pair.end_entity_cert().unwrap(), "t")
            .unwrap()
            .serial_hex
    }

    fn resolver_for(pki: &Pki, generation: Arc<AtomicU64>) -> ReloadingResolver {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        ReloadingResolver::new(
            pki.layout.server_cert(),
            pki.layout.server_key(),
            provider,
            generation,
        )
        .unwrap()
    }

    fn current(resolver: &ReloadingResolver) -> Arc<CertifiedKey> {
        let mut state = resolver.state.lock().unwrap();
        resolver.refresh(&mut state);
        Arc::clone(&state.current)
    }

    #[test]
    fn mismatched_or_garbage_files_keep_the_previous_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
        let resolver = resolver_for(&pki, Arc::new(AtomicU64::new(0)));
        let before = serial_of(&current(&resolver));

        // A half-finished rotation: new key, old certificate.
        let issued = pki.issue_server(&["localhost".to_owned()], 1).unwrap();
        crate::files::write_atomic(
            &pki.layout.server_key(),
            issued.key_pem.expose().as_bytes(),
            crate::files::Access::Private,
        )
        .unwrap();
        assert_eq!(serial_of(&current(&resolver)), before);

        // Garbage certificate.
        crate::files::write_atomic(
            &pki.layout.server_cert(),
            b"junk",
            crate::files::Access::Public,
        )
        .unwrap();
        assert_eq!(serial_of(&current(&resolver)), before);

        // The rotation completes: the new pair is picked up.
        crate::files::write_atomic(
            &pki.layout.server_cert(),
            issued.cert_pem.as_bytes(),
            crate::files::Access::Public,
        )
        .unwrap();
        assert_eq!(serial_of(&current(&resolver)), issued.serial_hex);
    }

    #[test]
    fn a_resolver_cannot_start_without_a_valid_pair() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
        std::fs::remove_file(pki.layout.server_key()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let err = ReloadingResolver::new(
            pki.layout.server_cert(),
            pki.layout.server_key(),
            provider,
            Arc::new(AtomicU64::new(0)),
        )
        .unwrap_err();
        assert!(matches!(err, PkiError::Io { .. }), "{err}");
    }
}
