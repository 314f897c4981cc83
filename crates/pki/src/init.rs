//! Opening the PKI directory: create the CA on first use, reuse it afterwards, and make
//! sure the listener has a server certificate that fits the configured names.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use portcullis_common::{Clock, SystemClock};
use time::OffsetDateTime;

use crate::ca::{Ca, signing_key};
use crate::error::PkiError;
use crate::files::{Access, Layout, ensure_dir, read_private, read_text, write_atomic};
use crate::inspect::{CertInfo, cert_der_from_pem};
use crate::issue::{DEFAULT_SERVER_NAMES, canonical_server_names};
use crate::pki::Pki;
use crate::registry::{CertKind, CertRecord, Registry};

impl Pki {
    /// Opens the PKI dir, creating the CA (ECDSA P-256, 10 years, CN `Portcullis CA
    /// <random suffix>`) and a server certificate for the given names (DNS names and IPs;
    /// an empty slice means [`DEFAULT_SERVER_NAMES`]) on first use. Private key files are
    /// 0600.
    ///
    /// On later opens the existing CA is reused; it must be valid now. The listener's
    /// server certificate is re-issued when it is missing, expired, issued by another CA,
    /// or does not cover exactly the requested names.
    pub fn open_or_init(dir: &Path, server_names: &[String]) -> Result<Pki, PkiError> {
        Self::open_or_init_with_clock(dir, server_names, Arc::new(SystemClock))
    }

    /// [`Pki::open_or_init`] with an injected clock, which decides validity periods and
    /// expiry checks (TLS handshakes still use the system time).
    pub fn open_or_init_with_clock(
        dir: &Path,
        server_names: &[String],
        clock: Arc<dyn Clock>,
    ) -> Result<Pki, PkiError> {
        let layout = Layout::new(dir);
        ensure_dir(layout.dir())?;
        let registry = Registry::new(layout.issued_dir());
        registry.ensure()?;
        let now = clock.now();
        let ca = open_or_create_ca(&layout, &registry, now)?;
        let pki = Pki {
            layout,
            ca,
            registry,
            clock,
            server_generation: Arc::new(AtomicU64::new(0)),
            rotate_lock: Mutex::new(()),
        };
        let wanted = if server_names.is_empty() {
            DEFAULT_SERVER_NAMES
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        } else {
            server_names.to_vec()
        };
        let wanted = canonical_server_names(&wanted)?;
        if !pki.server_cert_is_usable(&wanted, now)? {
            pki.rotate_server(Some(&wanted))?;
        }
        Ok(pki)
    }

    /// Whether the listener certificate on disk can keep serving `wanted` names.
    fn server_cert_is_usable(
        &self,
        wanted: &[String],
        now: OffsetDateTime,
    ) -> Result<bool, PkiError> {
        let (cert_path, key_path) = (self.layout.server_cert(), self.layout.server_key());
        if !cert_path.exists() || !key_path.exists() {
            return Ok(false);
        }
        // A garbage certificate or key is an error to fix, not something to overwrite.
        let cert_pem = read_text(&cert_path)?;
        let what = cert_path.display().to_string();
        let der = cert_der_from_pem(&cert_pem, &what)?;
        let info = CertInfo::from_der(&der, &what)?;
        let key = read_private(&key_path)?;
        signing_key(&key, &key_path.display().to_string())?;
        let same_names = info.names.iter().collect::<BTreeSet<_>>() == wanted.iter().collect();
        Ok(same_names && info.is_valid_at(now) && issued_by(&der, &self.ca))
    }
}

fn open_or_create_ca(
    layout: &Layout,
    registry: &Registry,
    now: OffsetDateTime,
) -> Result<Ca, PkiError> {
    let (cert_path, key_path) = (layout.ca_cert(), layout.ca_key());
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => Ca::from_parts(read_text(&cert_path)?, read_private(&key_path)?, now),
        (false, false) => {
            let ca = Ca::generate(now)?;
            write_atomic(&key_path, ca.key_pem().expose().as_bytes(), Access::Private)?;
            write_atomic(&cert_path, ca.cert_pem().as_bytes(), Access::Public)?;
            registry.put(&CertRecord::from_info(CertKind::Ca, ca.info()))?;
            tracing::info!(subject = %ca.subject(), serial = %ca.serial_hex(), "created certificate authority");
            Ok(ca)
        }
        (true, false) => Err(PkiError::IncompleteCa { missing: key_path }),
        (false, true) => Err(PkiError::IncompleteCa { missing: cert_path }),
    }
}

/// Whether `der` carries a valid signature by the CA's key.
fn issued_by(der: &[u8], ca: &Ca) -> bool {
    let (Ok((_, cert)), Ok((_, ca_cert))) = (
        x509_parser::parse_x509_certificate(der),
        x509_parser::parse_x509_certificate(ca.cert_der()),
    ) else {
        return false;
    };
    cert.verify_signature(Some(ca_cert.public_key())).is_ok()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use portcullis_common::FixedClock;
    use time::Duration;

    use super::*;

    fn mode(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(path).unwrap().permissions().mode() & 0o777
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            0o600
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn init_creates_owner_only_keys_and_reopen_reuses_everything() {
        let dir = tempfile::tempdir().unwrap();
        let pki_dir = dir.path().join("pki");
        let pki = Pki::open_or_init(&pki_dir, &[]).unwrap();
        for key in ["ca.key", "server.key"] {
            assert_eq!(mode(&pki_dir.join(key)), 0o600, "{key}");
        }
        for public in ["ca.pem", "server.pem"] {
            assert_eq!(mode(&pki_dir.join(public)), 0o644, "{public}");
        }
        assert_eq!(
            fs::read_to_string(pki_dir.join("ca.pem")).unwrap(),
            pki.ca_cert_pem()
        );
        let server = pki.current_server_info().unwrap();
        assert_eq!(server.names, names(&DEFAULT_SERVER_NAMES));

        let records = pki.list().unwrap();
        let kinds: Vec<_> = records.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [CertKind::Ca, CertKind::Server]);
        assert_eq!(records[0].serial_hex, pki.ca().serial_hex());

        let again =
            Pki::open_or_init(&pki_dir, &names(&["::1", "LOCALHOST", "127.0.0.1"])).unwrap();
        assert_eq!(again.ca_cert_pem(), pki.ca_cert_pem());
        assert_eq!(
            again.current_server_info().unwrap().serial_hex,
            server.serial_hex
        );
        assert_eq!(again.list().unwrap().len(), 2);
        assert!(!format!("{again:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn changed_names_expiry_or_foreign_issuer_reissue_the_server_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
        let first = pki.current_server_info().unwrap().serial_hex;

        let renamed = Pki::open_or_init(dir.path(), &names(&["api.internal"])).unwrap();
        let info = renamed.current_server_info().unwrap();
        assert_ne!(info.serial_hex, first);
        assert_eq!(info.names, names(&["api.internal"]));

        let later = Arc::new(FixedClock::new(
            OffsetDateTime::now_utc() + Duration::days(400),
        ));
        let aged =
            Pki::open_or_init_with_clock(dir.path(), &names(&["api.internal"]), later).unwrap();
        assert_ne!(
            aged.current_server_info().unwrap().serial_hex,
            info.serial_hex
        );

        // Server pair from another CA (e.g. a restored backup): re-issued under ours.
        let other = tempfile::tempdir().unwrap();
        Pki::open_or_init(other.path(), &names(&["api.internal"])).unwrap();
        for file in ["server.pem", "server.key"] {
            fs::copy(other.path().join(file), dir.path().join(file)).unwrap();
        }
        let foreign = CertInfo::from_der(
            &cert_der_from_pem(
                &fs::read_to_string(dir.path().join("server.pem")).unwrap(),
                "t",
            )
            .unwrap(),
            "t",
        )
        .unwrap();
        let fixed = Pki::open_or_init(dir.path(), &names(&["api.internal"])).unwrap();
        assert_ne!(
            fixed.current_server_info().unwrap().serial_hex,
            foreign.serial_hex
        );
    }

    #[test]
    fn expired_ca_missing_halves_and_garbage_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        Pki::open_or_init(dir.path(), &[]).unwrap();
        let expired = Arc::new(FixedClock::new(
            OffsetDateTime::now_utc() + Duration::days(3651),
        ));
        let err = Pki::open_or_init_with_clock(dir.path(), &[], expired).unwrap_err();
        assert!(matches!(err, PkiError::CaNotValid { .. }), "{err}");

        let err = Pki::open_or_init(dir.path(), &names(&["not a name"])).unwrap_err();
        assert!(matches!(err, PkiError::InvalidName { .. }), "{err}");

        fs::write(dir.path().join("server.pem"), "garbage").unwrap();
        let err = Pki::open_or_init(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, PkiError::InvalidCertificate { .. }), "{err}");

        fs::write(
            dir.path().join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = Pki::open_or_init(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, PkiError::InvalidCertificate { .. }), "{err}");

        fs::remove_file(dir.path().join("ca.key")).unwrap();
        let err = Pki::open_or_init(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, PkiError::IncompleteCa { .. }), "{err}");
        assert!(
            dir.path().join("ca.pem").exists(),
            "the remaining half must not be overwritten"
        );
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_ca_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Pki::open_or_init(dir.path(), &[]).unwrap();
        fs::set_permissions(dir.path().join("ca.key"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = Pki::open_or_init(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, PkiError::InsecureKeyFile { .. }), "{err}");
    }
}
