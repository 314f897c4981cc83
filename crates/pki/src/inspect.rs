//! Reading certificates back: PEM decoding, serials, names, validity and the principal
//! URI, all through x509-parser.
//!
//! Nothing here verifies a signature. [`principal_from_client_cert`] must only be given a
//! certificate that the TLS stack has already verified against the CA.

use std::net::IpAddr;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::PkiError;
use crate::issue::PRINCIPAL_URI_PREFIX;

/// What Portcullis needs to know about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    /// Serial number, lowercase hex without separators or leading zero bytes.
    pub(crate) serial_hex: String,
    /// Subject common name (empty when absent).
    pub(crate) subject: String,
    /// DNS names and IP addresses from the subject alternative names, in order.
    pub(crate) names: Vec<String>,
    /// The principal ARN, when exactly one principal URI is present.
    pub(crate) principal: Option<String>,
    /// Start of validity.
    pub(crate) not_before: OffsetDateTime,
    /// End of validity.
    pub(crate) not_after: OffsetDateTime,
    /// Whether basic constraints mark it as a CA.
    pub(crate) is_ca: bool,
}

impl CertInfo {
    /// Parses a DER certificate; `what` names its origin for error messages.
    pub(crate) fn from_der(der: &[u8], what: &str) -> Result<Self, PkiError> {
        let cert = parse(der).map_err(|reason| PkiError::InvalidCertificate {
            what: what.to_owned(),
            reason,
        })?;
        let validity = cert.validity();
        Ok(Self {
            serial_hex: serial_hex(cert.tbs_certificate.raw_serial()),
            subject: common_name(&cert).unwrap_or_default(),
            names: san_names(&cert),
            principal: principal(&cert),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            is_ca: cert.is_ca(),
        })
    }

    /// Whether `now` lies within the validity period.
    pub(crate) fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// The principal ARN carried by a verified client certificate (DER of the end-entity
/// cert), if any.
///
/// The ARN is read from a subject-alternative-name URI `urn:portcullis:principal:<arn>`.
/// Returns `None` when the DER does not parse, when no such URI is present, or when the
/// certificate names more than one distinct principal (ambiguous, so it authorises no
/// one). This function does not verify the certificate: pass only the peer certificate
/// of a completed handshake whose verifier trusted it.
pub fn principal_from_client_cert(der: &[u8]) -> Option<String> {
    principal(&parse(der).ok()?)
}

/// Decodes the first certificate in a PEM string.
pub(crate) fn cert_der_from_pem(
    pem: &str,
    what: &str,
) -> Result<CertificateDer<'static>, PkiError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| PkiError::InvalidCertificate {
        what: what.to_owned(),
        reason: format!("no PEM certificate found ({e})"),
    })
}

/// Decodes a PEM private key (PKCS#8, SEC1 or PKCS#1). The error never echoes the input.
pub(crate) fn key_der_from_pem(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| PkiError::InvalidKey {
        what: what.to_owned(),
    })
}

/// Lowercase hex of a DER integer's content octets, without the sign-padding zero bytes.
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    let trimmed = raw.get(start..).unwrap_or_default();
    if trimmed.is_empty() {
        "00".to_owned()
    } else {
        hex::encode(trimmed)
    }
}

/// Normalises a user-supplied serial: case, `:` separators and leading zero bytes do not
/// matter. Returns `None` unless it is non-empty hexadecimal.
pub(crate) fn normalize_serial(input: &str) -> Option<String> {
    let digits: String = input.trim().chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 128 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes = hex::decode(padded).ok()?;
    Some(serial_hex(&bytes))
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("trailing bytes after the certificate".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

fn san_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

fn principal(cert: &X509Certificate<'_>) -> Option<String> {
    // A duplicated SAN extension makes this an error, which we treat as "no principal".
    let san = cert.subject_alternative_name().ok()??;
    let mut found: Option<&str> = None;
    for name in &san.value.general_names {
        let GeneralName::URI(uri) = name else {
            continue;
        };
        let Some(arn) = uri.strip_prefix(PRINCIPAL_URI_PREFIX) else {
            continue;
        };
        if arn.is_empty() {
            return None;
        }
        match found {
            Some(previous) if previous != arn => return None,
            _ => found = Some(arn),
        }
    }
    found.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_sign_padding() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x7f]), "7f");
        assert_eq!(serial_hex(&[]), "00");
        assert_eq!(serial_hex(&[0, 0]), "00");
    }

    #[test]
    fn normalize_serial_accepts_common_spellings() {
        assert_eq!(normalize_serial("0A:BC").as_deref(), Some("0abc"));
        assert_eq!(normalize_serial("abc").as_deref(), Some("0abc"));
        assert_eq!(normalize_serial(" 00ff ").as_deref(), Some("ff"));
        assert_eq!(normalize_serial(""), None);
        assert_eq!(normalize_serial("xyz"), None);
        assert_eq!(normalize_serial("../etc/passwd"), None);
        assert_eq!(normalize_serial(&"a".repeat(200)), None);
    }

    #[test]
    fn garbage_is_an_error_or_none_never_a_panic() {
        for input in [
            &b""[..],
            b"\x30",
            b"\x30\x82\xff\xff",
            b"not a certificate at all",
        ] {
            assert!(principal_from_client_cert(input).is_none());
            assert!(matches!(
                CertInfo::from_der(input, "test"),
                Err(PkiError::InvalidCertificate { .. })
            ));
        }
        assert!(matches!(
            cert_der_from_pem(
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "x"
            ),
            Err(PkiError::InvalidCertificate { .. })
        ));
        assert!(matches!(
            cert_der_from_pem("", "x"),
            Err(PkiError::InvalidCertificate { .. })
        ));
        let err = key_der_from_pem("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n", "k").unwrap_err();
        assert!(!err.to_string().contains("c2VjcmV0"));
    }

    #[test]
    fn ip_addresses_render_in_canonical_form() {
        assert_eq!(
            ip_from_bytes(&[127, 0, 0, 1]).unwrap().to_string(),
            "127.0.0.1"
        );
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_from_bytes(&v6).unwrap().to_string(), "::1");
        assert!(ip_from_bytes(&[1, 2, 3]).is_none());
    }
}
