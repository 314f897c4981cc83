//! The certificate authority itself: an ECDSA P-256 key and its self-signed certificate.
//!
//! The CA key stays in a [`Secret`] as PKCS#8 PEM and is turned into a signing key only
//! for the duration of one signature; the transient key pair is zeroized on drop.

use std::fmt;

use portcullis_common::Secret;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::PkiError;
use crate::inspect::{CertInfo, cert_der_from_pem};

/// How long a newly created CA is valid.
pub(crate) const CA_VALIDITY: Duration = Duration::days(3650);

/// Backdating of every `not_before`, to tolerate clocks that lag ours.
pub(crate) const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The Portcullis certificate authority: its certificate (public) and key (secret).
pub struct Ca {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_pem: Secret<String>,
    info: CertInfo,
}

impl Ca {
    /// Creates a new CA valid for ten years from `now`, with a common name
    /// `Portcullis CA <random suffix>` so that CAs of different installations are told
    /// apart in trust stores.
    pub(crate) fn generate(now: OffsetDateTime) -> Result<Self, PkiError> {
        let key = Zeroizing::new(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?);
        let suffix = hex::encode(random_bytes::<4>()?);
        let params = ca_params(&format!("Portcullis CA {suffix}"), now)?;
        let cert = params.self_signed(&*key)?;
        let key_pem = Secret::new(key.serialize_pem());
        Self::from_parts(cert.pem(), key_pem, now)
    }

    /// Loads a CA from its certificate and key PEM, checking that they belong together,
    /// that the certificate is a CA and that it is valid at `now`.
    pub(crate) fn from_parts(
        cert_pem: String,
        key_pem: Secret<String>,
        now: OffsetDateTime,
    ) -> Result<Self, PkiError> {
        let cert_der = cert_der_from_pem(&cert_pem, "CA certificate")?;
        let info = CertInfo::from_der(&cert_der, "CA certificate")?;
        if !info.is_ca {
            return Err(PkiError::NotCa {
                what: "CA certificate".to_owned(),
            });
        }
        if !info.is_valid_at(now) {
            return Err(PkiError::CaNotValid {
                not_before: info.not_before,
                not_after: info.not_after,
            });
        }
        let key = signing_key(&key_pem, "CA key")?;
        let x509 = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| PkiError::InvalidCertificate {
                what: "CA certificate".to_owned(),
                reason: e.to_string(),
            })?
            .1;
        if x509.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(PkiError::KeyMismatch {
                what: "CA certificate and key".to_owned(),
            });
        }
        Ok(Self {
            cert_pem,
            cert_der,
            key_pem,
            info,
        })
    }

    /// The CA certificate in PEM, as clients put it in their trust store (`ca.pem`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate in DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA's common name.
    pub fn subject(&self) -> &str {
        &self.info.subject
    }

    /// The CA certificate's serial number in lowercase hex.
    pub fn serial_hex(&self) -> &str {
        &self.info.serial_hex
    }

    /// When the CA certificate stops being valid; nothing it issues outlives this.
    pub fn not_after(&self) -> OffsetDateTime {
        self.info.not_after
    }

    pub(crate) fn info(&self) -> &CertInfo {
        &self.info
    }

    pub(crate) fn key_pem(&self) -> &Secret<String> {
        &self.key_pem
    }

    /// Signs `params` for the subject key `subject`.
    pub(crate) fn sign(
        &self,
        params: &CertificateParams,
        subject: &KeyPair,
    ) -> Result<rcgen::Certificate, PkiError> {
        let key = signing_key(&self.key_pem, "CA key")?;
        let issuer = Issuer::from_ca_cert_der(&self.cert_der, &*key)?;
        Ok(params.signed_by(subject, &issuer)?)
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.info.subject)
            .field("serial", &self.info.serial_hex)
            .field("not_after", &self.info.not_after)
            .field("key", &self.key_pem)
            .finish()
    }
}

/// Parameters of a CA certificate: path length 0 (it signs only end-entity
/// certificates), key usages for signing certificates and CRLs.
pub(crate) fn ca_params(
    common_name: &str,
    now: OffsetDateTime,
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "Portcullis");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + CA_VALIDITY;
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// Parses a PEM private key into an rcgen key pair that is wiped when dropped.
pub(crate) fn signing_key(
    pem: &Secret<String>,
    what: &str,
) -> Result<Zeroizing<KeyPair>, PkiError> {
    KeyPair::from_pem(pem.expose())
        .map(Zeroizing::new)
        .map_err(|_| PkiError::InvalidKey {
            what: what.to_owned(),
        })
}

/// A fresh positive 128-bit serial number (RFC 5280 allows up to 20 octets; the top bit
/// is cleared so DER needs no padding byte, and the first byte is never zero).
pub(crate) fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = random_bytes::<16>()?;
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f).max(1);
    }
    Ok(SerialNumber::from_slice(&bytes))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ca_round_trips_and_debug_hides_the_key() {
        let now = OffsetDateTime::now_utc();
        let ca = Ca::generate(now).unwrap();
        assert!(ca.subject().starts_with("Portcullis CA "));
        assert_eq!(ca.subject().len(), "Portcullis CA ".len() + 8);
        assert!(ca.not_after() > now + Duration::days(3649));
        let again = Ca::from_parts(ca.cert_pem().to_owned(), ca.key_pem().clone(), now).unwrap();
        assert_eq!(again.serial_hex(), ca.serial_hex());
        let debug = format!("{ca:?}");
        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains("PRIVATE KEY"));
    }

    #[test]
    fn two_cas_differ() {
        let now = OffsetDateTime::now_utc();
        let (a, b) = (Ca::generate(now).unwrap(), Ca::generate(now).unwrap());
        assert_ne!(a.subject(), b.subject());
        assert_ne!(a.serial_hex(), b.serial_hex());
    }

    #[test]
    fn mismatched_key_expired_ca_and_garbage_are_typed_errors() {
        let now = OffsetDateTime::now_utc();
        let (a, b) = (Ca::generate(now).unwrap(), Ca::generate(now).unwrap());
        let err = Ca::from_parts(a.cert_pem().to_owned(), b.key_pem().clone(), now).unwrap_err();
        assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");

        let later = now + Duration::days(3651);
        let err = Ca::from_parts(a.cert_pem().to_owned(), a.key_pem().clone(), later).unwrap_err();
        assert!(matches!(err, PkiError::CaNotValid { .. }), "{err}");
        let earlier = now - Duration::days(1);
        let err =
            Ca::from_parts(a.cert_pem().to_owned(), a.key_pem().clone(), earlier).unwrap_err();
        assert!(matches!(err, PkiError::CaNotValid { .. }), "{err}");

        let err = Ca::from_parts("garbage".to_owned(), a.key_pem().clone(), now).unwrap_err();
        assert!(matches!(err, PkiError::InvalidCertificate { .. }), "{err}");
        let junk_key = Secret::new(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_owned(),
        );
        let err = Ca::from_parts(a.cert_pem().to_owned(), junk_key, now).unwrap_err();
        assert!(matches!(err, PkiError::InvalidKey { .. }), "{err}");
    }

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().unwrap().to_bytes();
        let b = random_serial().unwrap().to_bytes();
        assert_eq!(a.len(), 16);
        assert!(a[0] != 0 && a[0] < 0x80);
        assert_ne!(a, b);
    }
}
