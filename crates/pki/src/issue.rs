//! Issuing end-entity certificates: input validation and the certificate profiles.
//!
//! Two profiles exist. A *server* certificate carries DNS names and IP addresses as
//! subject alternative names and the `serverAuth` extended key usage. A *client*
//! certificate carries the caller's name as its common name, the principal ARN as a SAN
//! URI `urn:portcullis:principal:<arn>` and the `clientAuth` extended key usage. Each
//! gets a fresh ECDSA P-256 key, a random 128-bit serial and a validity that never
//! outlives the CA.

use std::net::IpAddr;
use std::str::FromStr;

use portcullis_common::{Arn, Secret};
use rcgen::string::Ia5String;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::pki_types::DnsName;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::ca::{CLOCK_SKEW, Ca, random_serial};
use crate::error::PkiError;
use crate::inspect::CertInfo;
use crate::registry::{CertKind, CertRecord};

/// Prefix of the SAN URI that names a client certificate's IAM principal.
pub const PRINCIPAL_URI_PREFIX: &str = "urn:portcullis:principal:";

/// Names the listener's certificate covers when none are configured.
pub const DEFAULT_SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Validity of the listener's server certificate when it is created or rotated.
pub const DEFAULT_SERVER_VALIDITY_DAYS: u32 = 365;

/// Longest common name X.509 allows (`ub-common-name`).
const MAX_COMMON_NAME: usize = 64;

/// A freshly issued certificate and its private key, handed to the caller once.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Serial number, lowercase hex; the key for [`crate::Pki::revoke`].
    pub serial_hex: String,
    /// The end-entity certificate in PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM); write it owner-only and never log it.
    pub key_pem: Secret<String>,
    /// When the certificate expires.
    pub not_after: OffsetDateTime,
}

/// What to issue.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Profile<'a> {
    /// A TLS server certificate for these DNS names and IP addresses.
    Server { names: &'a [String] },
    /// A TLS client certificate for `name`, authenticating as `principal_arn`.
    Client {
        name: &'a str,
        principal_arn: &'a str,
    },
}

/// Issues one certificate under `ca`, returning it with the record to store.
pub(crate) fn issue(
    ca: &Ca,
    profile: Profile<'_>,
    validity_days: u32,
    now: OffsetDateTime,
) -> Result<(IssuedCert, CertRecord), PkiError> {
    let not_after = leaf_not_after(ca, validity_days, now)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    let kind = match profile {
        Profile::Server { names } => {
            params.subject_alt_names = server_sans(names)?;
            let first = names.first().map(String::as_str).unwrap_or_default();
            dn.push(DnType::CommonName, first);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            CertKind::Server
        }
        Profile::Client {
            name,
            principal_arn,
        } => {
            validate_client_name(name)?;
            params.subject_alt_names = vec![principal_san(principal_arn)?];
            dn.push(DnType::CommonName, name);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            CertKind::Client
        }
    };
    dn.push(DnType::OrganizationName, "Portcullis");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - CLOCK_SKEW;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);

    let key = Zeroizing::new(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?);
    let cert = ca.sign(&params, &key)?;
    let info = CertInfo::from_der(cert.der(), "issued certificate")?;
    let record = CertRecord::from_info(kind, &info);
    let issued = IssuedCert {
        serial_hex: info.serial_hex,
        cert_pem: cert.pem(),
        key_pem: Secret::new(key.serialize_pem()),
        not_after: info.not_after,
    };
    Ok((issued, record))
}

/// The end of a leaf's validity, refusing zero days or a date past the CA's expiry.
fn leaf_not_after(ca: &Ca, days: u32, now: OffsetDateTime) -> Result<OffsetDateTime, PkiError> {
    if days == 0 {
        return Err(PkiError::InvalidValidity {
            days,
            reason: "a certificate must be valid for at least one day",
        });
    }
    let not_after =
        now.checked_add(Duration::days(i64::from(days)))
            .ok_or(PkiError::InvalidValidity {
                days,
                reason: "the expiry date is out of range",
            })?;
    if not_after > ca.not_after() {
        return Err(PkiError::InvalidValidity {
            days,
            reason: "the certificate would outlive the CA",
        });
    }
    Ok(not_after)
}

/// Validates and deduplicates server names (DNS names lowercased, IPs canonical) and turns
/// them into SAN entries.
pub(crate) fn server_sans(names: &[String]) -> Result<Vec<SanType>, PkiError> {
    let canonical = canonical_server_names(names)?;
    canonical
        .into_iter()
        .map(|name| match IpAddr::from_str(&name) {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(Ia5String::try_from(name)?)),
        })
        .collect()
}

/// The canonical, deduplicated form of a list of server names, in the given order.
pub(crate) fn canonical_server_names(names: &[String]) -> Result<Vec<String>, PkiError> {
    if names.is_empty() {
        return Err(PkiError::NoNames);
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for raw in names {
        let name = canonical_server_name(raw)?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn canonical_server_name(raw: &str) -> Result<String, PkiError> {
    let invalid = |reason| PkiError::InvalidName {
        name: raw.to_owned(),
        reason,
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("empty name"));
    }
    let unbracketed = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    if let Ok(ip) = IpAddr::from_str(unbracketed) {
        return Ok(ip.to_string());
    }
    if trimmed.contains('*') {
        return Err(invalid("wildcard names are not issued"));
    }
    let lower = trimmed.to_ascii_lowercase();
    DnsName::try_from(lower.as_str()).map_err(|_| invalid("not a valid DNS name or IP address"))?;
    Ok(lower)
}

fn validate_client_name(name: &str) -> Result<(), PkiError> {
    let invalid = |reason| PkiError::InvalidClientName {
        name: name.to_owned(),
        reason,
    };
    if name.trim().is_empty() {
        return Err(invalid("empty name"));
    }
    if name.chars().count() > MAX_COMMON_NAME {
        return Err(invalid("longer than 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("contains control characters"));
    }
    Ok(())
}

fn principal_san(arn: &str) -> Result<SanType, PkiError> {
    let invalid = |reason| PkiError::InvalidPrincipal {
        arn: arn.to_owned(),
        reason,
    };
    if !arn.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid("must be printable ASCII without spaces"));
    }
    let parsed = Arn::from_str(arn)
        .map_err(|_| invalid("not of the form arn:partition:service:region:account:resource"))?;
    if parsed.to_string() != arn {
        return Err(invalid("not in canonical ARN form"));
    }
    let uri = Ia5String::try_from(format!("{PRINCIPAL_URI_PREFIX}{arn}"))
        .map_err(|_| invalid("must be printable ASCII without spaces"))?;
    Ok(SanType::URI(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn server_names_are_canonical_and_deduplicated() {
        let got = canonical_server_names(&names(&[
            "LocalHost",
            "localhost",
            "[::1]",
            "0:0::1",
            "10.0.0.1",
        ]))
        .unwrap();
        assert_eq!(got, names(&["localhost", "::1", "10.0.0.1"]));
    }

    #[test]
    fn bad_server_names_are_refused() {
        assert!(matches!(
            canonical_server_names(&[]),
            Err(PkiError::NoNames)
        ));
        for bad in [
            "",
            " ",
            "*.example.com",
            "exa mple.com",
            "-bad-.com",
            "a..b",
            "ünïcode.example",
        ] {
            let err = canonical_server_names(&names(&[bad])).unwrap_err();
            assert!(
                matches!(err, PkiError::InvalidName { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn client_names_and_principals_are_validated() {
        assert!(validate_client_name("agent-web-01").is_ok());
        for bad in ["", "  ", "a\nb", &"x".repeat(65)] {
            assert!(
                matches!(
                    validate_client_name(bad),
                    Err(PkiError::InvalidClientName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(principal_san("arn:aws:iam::000000000000:role/agent").is_ok());
        for bad in [
            "",
            "role/agent",
            "arn:aws:iam::0:role/a b",
            "arn::iam::0:x",
            "arn:aws:iam::0:r\u{e9}le",
        ] {
            assert!(
                matches!(principal_san(bad), Err(PkiError::InvalidPrincipal { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn validity_is_bounded_by_the_ca() {
        let now = OffsetDateTime::now_utc();
        let ca = Ca::generate(now).unwrap();
        assert!(leaf_not_after(&ca, 30, now).is_ok());
        for days in [0, 3651, u32::MAX] {
            assert!(
                matches!(
                    leaf_not_after(&ca, days, now),
                    Err(PkiError::InvalidValidity { .. })
                ),
                "{days}"
            );
        }
    }

    #[test]
    fn issued_certificates_follow_their_profile() {
        let now = OffsetDateTime::now_utc();
        let ca = Ca::generate(now).unwrap();
        let (server, record) = issue(
            &ca,
            Profile::Server {
                names: &names(&["svc.local", "10.1.2.3"]),
            },
            10,
            now,
        )
        .unwrap();
        assert_eq!(record.kind, CertKind::Server);
        assert_eq!(record.names, names(&["svc.local", "10.1.2.3"]));
        assert_eq!(record.serial_hex, server.serial_hex);
        assert!(!record.revoked);

        let arn = "arn:aws:iam::000000000000:user/alice";
        let (client, record) = issue(
            &ca,
            Profile::Client {
                name: "alice",
                principal_arn: arn,
            },
            10,
            now,
        )
        .unwrap();
        assert_eq!(record.kind, CertKind::Client);
        assert_eq!(record.subject, "alice");
        assert_eq!(record.principal.as_deref(), Some(arn));
        assert_ne!(client.serial_hex, server.serial_hex);
        assert!(client.key_pem.expose().contains("PRIVATE KEY"));
        assert_eq!(format!("{:?}", client.key_pem), "[redacted]");
        assert!(!format!("{client:?}").contains("PRIVATE KEY"));
    }
}
