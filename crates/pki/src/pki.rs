//! [`Pki`]: the PKI directory as one object — issue, rotate, list and revoke
//! certificates. Opening and first-use creation live in `init`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use portcullis_common::Clock;
use time::OffsetDateTime;

use crate::ca::Ca;
use crate::error::PkiError;
use crate::files::{Access, Layout, read_text, write_atomic};
use crate::inspect::{CertInfo, cert_der_from_pem, normalize_serial};
use crate::issue::{DEFAULT_SERVER_VALIDITY_DAYS, IssuedCert, Profile, issue};
use crate::registry::{CertRecord, Registry};

/// The built-in certificate authority and the files it keeps in its directory.
///
/// See the crate documentation for the directory layout. A `Pki` is cheap to share behind
/// an `Arc`; every method takes `&self`.
pub struct Pki {
    pub(crate) layout: Layout,
    pub(crate) ca: Ca,
    pub(crate) registry: Registry,
    pub(crate) clock: Arc<dyn Clock>,
    /// Bumped after every rotation in this process so that resolvers built by
    /// [`Pki::server_tls_config`] reload at once instead of at their next periodic check.
    pub(crate) server_generation: Arc<AtomicU64>,
    /// Serialises rotations within this process.
    pub(crate) rotate_lock: Mutex<()>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("dir", &self.layout.dir())
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// The CA certificate in PEM (the caller also writes it to `<data-dir>/ca.pem`).
    pub fn ca_cert_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// The certificate authority.
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// The PKI directory.
    pub fn dir(&self) -> &Path {
        self.layout.dir()
    }

    /// Issues a server certificate for DNS names and IP addresses and records it in the
    /// registry. The key is returned, not stored.
    pub fn issue_server(
        &self,
        names: &[String],
        validity_days: u32,
    ) -> Result<IssuedCert, PkiError> {
        self.issue_recorded(Profile::Server { names }, validity_days)
    }

    /// Client cert whose subject CN is `name` and that carries the principal ARN in a SAN
    /// URI `urn:portcullis:principal:<arn>`. Recorded in the registry; the key is
    /// returned, not stored.
    pub fn issue_client(
        &self,
        name: &str,
        principal_arn: &str,
        validity_days: u32,
    ) -> Result<IssuedCert, PkiError> {
        self.issue_recorded(
            Profile::Client {
                name,
                principal_arn,
            },
            validity_days,
        )
    }

    /// Re-issue the listener's server certificate (same names unless given) and
    /// atomically replace the server cert/key files; running listeners pick it up.
    ///
    /// The new certificate is valid for [`DEFAULT_SERVER_VALIDITY_DAYS`], or until the
    /// CA expires if that is sooner. Listeners in this process switch at their next
    /// handshake; listeners in other processes within a second.
    pub fn rotate_server(&self, names: Option<&[String]>) -> Result<IssuedCert, PkiError> {
        let _guard = self.rotate_lock.lock().unwrap_or_else(|e| e.into_inner());
        let names = match names {
            Some(names) => names.to_vec(),
            None => self.current_server_info()?.names,
        };
        let now = self.clock.now();
        let days = listener_validity_days(&self.ca, now);
        let (issued, record) = issue(&self.ca, Profile::Server { names: &names }, days, now)?;
        self.registry.put(&record)?;
        // Key first, then certificate: a reader that sees the new key with the old
        // certificate notices the mismatch and keeps serving the previous pair.
        write_atomic(
            &self.layout.server_key(),
            issued.key_pem.expose().as_bytes(),
            Access::Private,
        )?;
        write_atomic(
            &self.layout.server_cert(),
            issued.cert_pem.as_bytes(),
            Access::Public,
        )?;
        self.server_generation.fetch_add(1, Ordering::AcqRel);
        tracing::info!(serial = %issued.serial_hex, names = ?names, "rotated server certificate");
        Ok(issued)
    }

    /// Every certificate issued, oldest first: serial (hex), kind, subject,
    /// names/principal, validity and revocation.
    pub fn list(&self) -> Result<Vec<CertRecord>, PkiError> {
        self.registry.list()
    }

    /// Revokes a certificate by serial (hex; case and `:` separators are ignored).
    /// Revoked client certificates are refused by the listener's verifier from the next
    /// handshake on, also in running servers.
    pub fn revoke(&self, serial_hex: &str) -> Result<(), PkiError> {
        self.registry.revoke(serial_hex, self.clock.now())?;
        tracing::info!(serial = %normalize_serial(serial_hex).unwrap_or_default(), "revoked certificate");
        Ok(())
    }

    fn issue_recorded(
        &self,
        profile: Profile<'_>,
        validity_days: u32,
    ) -> Result<IssuedCert, PkiError> {
        let (issued, record) = issue(&self.ca, profile, validity_days, self.clock.now())?;
        self.registry.put(&record)?;
        tracing::info!(serial = %issued.serial_hex, kind = ?record.kind, subject = %record.subject, "issued certificate");
        Ok(issued)
    }

    pub(crate) fn current_server_info(&self) -> Result<CertInfo, PkiError> {
        let path = self.layout.server_cert();
        let what = path.display().to_string();
        let der = cert_der_from_pem(&read_text(&path)?, &what)?;
        CertInfo::from_der(&der, &what)
    }
}

/// The listener certificate's validity: the default, shortened to the CA's remaining life.
fn listener_validity_days(ca: &Ca, now: OffsetDateTime) -> u32 {
    let remaining = (ca.not_after() - now).whole_days();
    let remaining = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
    DEFAULT_SERVER_VALIDITY_DAYS.min(remaining)
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use crate::registry::CertKind;

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn issue_validity_and_revocation_rules() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
        let arn = "arn:aws:iam::000000000000:user/alice";
        for days in [0, 5000] {
            let err = pki.issue_client("alice", arn, days).unwrap_err();
            assert!(
                matches!(err, PkiError::InvalidValidity { .. }),
                "{days}: {err}"
            );
            let err = pki.issue_server(&names(&["svc"]), days).unwrap_err();
            assert!(
                matches!(err, PkiError::InvalidValidity { .. }),
                "{days}: {err}"
            );
        }
        assert!(matches!(pki.issue_server(&[], 1), Err(PkiError::NoNames)));
        assert_eq!(
            pki.list().unwrap().len(),
            2,
            "failed issues leave no records"
        );

        let alice = pki.issue_client("alice", arn, 7).unwrap();
        let record = pki
            .list()
            .unwrap()
            .into_iter()
            .find(|r| r.serial_hex == alice.serial_hex)
            .unwrap();
        assert_eq!(
            (record.kind, record.principal.as_deref()),
            (CertKind::Client, Some(arn))
        );
        assert!(
            (record.not_after - OffsetDateTime::now_utc() - Duration::days(7)).abs()
                < Duration::minutes(1)
        );

        pki.revoke(&alice.serial_hex).unwrap();
        assert!(
            pki.list()
                .unwrap()
                .iter()
                .any(|r| r.serial_hex == alice.serial_hex && r.revoked)
        );
        assert!(matches!(
            pki.revoke("feedface"),
            Err(PkiError::UnknownSerial { .. })
        ));
        assert!(matches!(
            pki.revoke("zz"),
            Err(PkiError::InvalidSerial { .. })
        ));
        let ca_serial = pki.ca().serial_hex().to_owned();
        assert!(matches!(
            pki.revoke(&ca_serial),
            Err(PkiError::CannotRevokeCa { .. })
        ));
    }

    #[test]
    fn listener_validity_never_outlives_the_ca() {
        let now = OffsetDateTime::now_utc();
        let ca = Ca::generate(now).unwrap();
        assert_eq!(
            listener_validity_days(&ca, now),
            DEFAULT_SERVER_VALIDITY_DAYS
        );
        assert_eq!(listener_validity_days(&ca, now + Duration::days(3600)), 49);
        assert_eq!(listener_validity_days(&ca, now + Duration::days(4000)), 0);
    }
}
